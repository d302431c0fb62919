import Foundation
import GRDB
import LicenseCore

/// The trust material and policies a recognition decision reads: kept in memory until a
/// certificate, revocation or agreement is added.
public struct TrustSnapshot: Sendable {
    /// Root-verified certificates by key id.
    public let certificates: [String: IssuerCertificate]
    /// Root-verified key revocations by key id.
    public let revocations: [String: KeyRevocation]
    /// Each province's latest published agreement, with the entry that carries it.
    public let agreements: [String: PublishedAgreement]
    /// Origins under an equivocation hold, with the lowest forked seq.
    public let holds: [String: UInt64]
    /// The certificates' and revocations' bodies: what decisions read.
    let certificateBodies: [String: IssuerCertificate.Body]
    let revocationBodies: [String: KeyRevocation.Body]

    init(certificates: [String: IssuerCertificate], revocations: [String: KeyRevocation],
         agreements: [String: PublishedAgreement], holds: [String: UInt64]) {
        self.certificates = certificates
        self.revocations = revocations
        self.agreements = agreements
        self.holds = holds
        certificateBodies = certificates.mapValues(\.body)
        revocationBodies = revocations.mapValues(\.body)
    }

    public struct PublishedAgreement: Sendable {
        public let entry: Entry
        public let agreement: RecognitionAgreement
    }

    /// The agreement a province decides by, and where it comes from.
    public func agreement(of province: String) -> (agreement: RecognitionAgreement, source: String) {
        if let published = agreements[province] {
            return (published.agreement, "agreement \(published.entry.body.origin)#\(published.entry.body.seq)")
        }
        return (.nationalDefault(province: province), "national default: \(province) has published no agreement")
    }
}

extension LedgerStore {
    /// Stores a root-verified issuer certificate and trusts its key for its node's entries.
    /// Idempotent; returns false when the certificate was already held.
    @discardableResult
    public func addCertificate(_ certificate: IssuerCertificate) throws(StoreError) -> Bool {
        let body = certificate.body
        let added = try run {
            try pool.write { db in
                if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM certificates WHERE key_id = ?)",
                                     arguments: [body.keyID]) == true {
                    return false
                }
                try db.execute(sql: """
                    INSERT INTO certificates (key_id, node_id, province, not_before, not_after, body, signature)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [body.keyID, body.nodeID, body.province, Int64(clamping: body.notBeforeMilliseconds),
                                     Int64(clamping: body.notAfterMilliseconds), Data(certificate.bodyBytes),
                                     Data(certificate.signature)])
                invalidateIssuerKeys()
                invalidateTrust()
                try db.execute(sql: "INSERT OR IGNORE INTO issuer_keys (key_id, origin, public_key) VALUES (?, ?, ?)",
                               arguments: [body.keyID, body.nodeID, Data(body.publicKey.bytes)])
                return true
            }
        }
        invalidateIssuerKeys()
        invalidateTrust()
        return added
    }

    /// Every certificate held, verified again against `root`, in key-id order: what a
    /// node sends its peers so that they can verify entries of every origin.
    public func certificates(root: PublicKey) throws(StoreError) -> [IssuerCertificate] {
        try run {
            try read { db in
                try Row.fetchAll(db, sql: "SELECT body, signature FROM certificates ORDER BY key_id").map { row in
                    try IssuerCertificate(bodyBytes: [UInt8](row["body"] as Data),
                                          signature: [UInt8](row["signature"] as Data), root: root)
                }
            }
        }
    }

    /// Stores a root-verified key revocation. Idempotent; returns false when one for the
    /// key was already held (the root revokes a key once).
    @discardableResult
    public func addRevocation(_ revocation: KeyRevocation) throws(StoreError) -> Bool {
        let added = try run {
            try pool.write { db in
                if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM key_revocations WHERE key_id = ?)",
                                     arguments: [revocation.body.keyID]) == true {
                    return false
                }
                invalidateTrust()
                try db.execute(sql: "INSERT INTO key_revocations (key_id, compromised_at, body, signature) VALUES (?, ?, ?, ?)",
                               arguments: [revocation.body.keyID, Int64(clamping: revocation.body.compromisedAtMilliseconds),
                                           Data(revocation.bodyBytes), Data(revocation.signature)])
                return true
            }
        }
        invalidateTrust()
        return added
    }

    /// Every key revocation held, verified again against `root`, in key-id order.
    public func revocations(root: PublicKey) throws(StoreError) -> [KeyRevocation] {
        try run {
            try read { db in
                try Row.fetchAll(db, sql: "SELECT body, signature FROM key_revocations ORDER BY key_id").map { row in
                    try KeyRevocation(bodyBytes: [UInt8](row["body"] as Data), signature: [UInt8](row["signature"] as Data),
                                      root: root)
                }
            }
        }
    }

    /// Certificates, revocations and agreements, read once and kept until one is added.
    public func trustSnapshot(root: PublicKey) throws(StoreError) -> TrustSnapshot {
        try run {
            try trustCache.value {
                let certificates = try self.certificates(root: root)
                let revocations = try self.revocations(root: root)
                let (agreements, holds) = try read { db in
                    let agreements = try Row.fetchAll(db, sql: "SELECT origin, seq FROM agreements").compactMap { row in
                        try Self.entry(origin: row["origin"], seq: UInt64(row["seq"] as Int64), db)
                    }
                    var holds: [String: UInt64] = [:]
                    for row in try Row.fetchAll(db, sql: "SELECT origin, MIN(seq) FROM equivocations GROUP BY origin") {
                        holds[row[0]] = UInt64(row[1] as Int64)
                    }
                    return (agreements, holds)
                }
                var byProvince: [String: TrustSnapshot.PublishedAgreement] = [:]
                for entry in agreements {
                    guard case let .agreement(agreement) = entry.body.event else { continue }
                    byProvince[agreement.province] = TrustSnapshot.PublishedAgreement(entry: entry, agreement: agreement)
                }
                return TrustSnapshot(certificates: Dictionary(certificates.map { ($0.body.keyID, $0) }) { a, _ in a },
                                     revocations: Dictionary(revocations.map { ($0.body.keyID, $0) }) { a, _ in a },
                                     agreements: byProvince, holds: holds)
            }
        }
    }

    /// Signs and appends this node's recognition agreement, replacing its earlier one.
    public func publishAgreement(_ agreement: RecognitionAgreement, signer: IssuerSigner,
                                 physicalMilliseconds: UInt64) async throws(StoreError) -> Entry {
        let entry = try await runAsync {
            try await write { db in
                let head = try Self.head(of: signer.origin, db)
                let hlc = Self.after(head.hlc, clock.withLock { $0.tick(physicalMilliseconds: physicalMilliseconds) })
                let body = EntryBody(origin: signer.origin, seq: head.seq + 1, prev: head.id, context: try Self.versionVector(db),
                                     hlc: hlc, keyID: signer.keyID, event: .agreement(agreement))
                let entry = Entry.sign(body, with: signer.key)
                try self.storeAgreement(entry, agreement, db)
                try self.saveHead(origin: signer.origin, seq: body.seq, id: entry.id, hlc: hlc, db)
                return entry
            }
        }
        vectorCache.invalidate()
        invalidateTrust()
        return entry
    }

    /// Inserts an agreement entry and makes it its origin's current one.
    func storeAgreement(_ entry: Entry, _ agreement: RecognitionAgreement, _ db: Database) throws {
        invalidateTrust()
        try Self.insert(entry, licenseRow: 0, db)
        try db.execute(sql: "INSERT OR REPLACE INTO agreements (origin, province, seq) VALUES (?, ?, ?)",
                       arguments: [entry.body.origin, agreement.province, Int64(entry.body.seq)])
    }

    /// The province the root certified `keyID` for, if its certificate is held.
    static func certifiedProvince(keyID: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT province FROM certificates WHERE key_id = ?"), arguments: [keyID])
    }

    // MARK: - Recognition

    /// What a recognition decision on license `id` needs, as this node holds it; nil when
    /// the license is not known here.
    public func recognitionEvidence(_ id: LicenseID, decidingProvince: String, root: PublicKey,
                                    today: CivilDate) throws(StoreError) -> RecognitionEvidence? {
        let trust = try trustSnapshot(root: root)
        return try run {
            // Without a read transaction: one statement reads the license, and a license
            // with later events reads them in a second. An event appended in between is
            // at worst listed without being in the state, or the other way round: the next
            // decision sees both. A transaction per decision cost a fifth of its time.
            try pool.unsafeRead { db in
                guard let state = try LicenseRow.fetch(id, in: db)?.state else { return nil }
                // A license with one event depends on its issue alone, which its state describes.
                let events: [RecognitionEvidence.SignedEvent]
                if state.eventCount == 1 {
                    events = [.init(origin: state.issuerOrigin, seq: id.seq, keyID: state.issuerKeyID,
                                    signedAtMilliseconds: state.issuedAt.wallMilliseconds,
                                    kind: .issue, license: id)]
                } else {
                    // Its lineage: events carried to it across a transfer live on the old license's row.
                    let rows = try LicenseRow.fetchRows(holder: state.holderRef, in: db).map(\.row)
                    let entries = try Self.entries(licenseRows: rows, db)
                    events = RecognitionEvidence.SignedEvent.ordered(HolderFold.lineage(of: id, in: entries)
                        .map(RecognitionEvidence.SignedEvent.init))
                }
                let agreement = trust.agreement(of: decidingProvince)
                return RecognitionEvidence(
                    license: state, signatures: .verifiedWhenStored(entries: events.count), events: events,
                    certificates: trust.certificateBodies, revocations: trust.revocationBodies,
                    agreement: agreement.agreement, agreementSource: agreement.source, holds: trust.holds,
                    holdSource: "no equivocation proof against", today: today)
            }
        }
    }

    /// A self-contained bundle of license `id`: its entries, the certificates and
    /// revocations of their keys, every province's current agreement (with its signer's
    /// certificate) and the equivocation proofs against the license's origins.
    public func bundle(_ id: LicenseID, root: PublicKey, exportedBy nodeID: String,
                       exportedAtMilliseconds: UInt64) throws(StoreError) -> LicenseBundle? {
        let trust = try trustSnapshot(root: root)
        // The license's lineage: a transfer of it, or the license it was transferred from, decides its state.
        guard let group = try holderEntries(license: id) else { return nil }
        var license = HolderFold.lineage(of: id, in: group.entries)
        guard !license.isEmpty else { return nil }
        // A type a citizen may hold once: the holder's other issues of it decide whether
        // this one stands (docs/CONFLICTS.md), so they travel with it.
        if HolderFold.oncePerHolderTypes.contains(group.license.licenseType) {
            let included = Set(license.map(\.id))
            license += group.entries.filter { entry in
                guard case let .issue(issue) = entry.body.event else { return false }
                return issue.licenseType == group.license.licenseType && !included.contains(entry.id)
            }
        }
        let origins = Set(license.map(\.body.origin))
        let proofs = try equivocations().filter { origins.contains($0.origin) }
        let agreements = trust.agreements.values.map(\.entry).sorted { $0.body.origin < $1.body.origin }
        let keys = Set((license + agreements).map(\.body.keyID))
        return LicenseBundle(
            licenseID: id, exportedBy: nodeID, exportedAtMilliseconds: exportedAtMilliseconds, entries: license,
            certificates: trust.certificates.filter { keys.contains($0.key) }.values.sorted { $0.body.keyID < $1.body.keyID },
            revocations: trust.revocations.filter { keys.contains($0.key) }.values.sorted { $0.body.keyID < $1.body.keyID },
            agreements: agreements, equivocations: proofs.map(\.entries))
    }
}
