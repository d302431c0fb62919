import LicenseAPI
import LicenseCore
import Foundation
import LicenseStore
import LicenseSync
import LicenseTransport
import Synchronization

/// The node's operations on licenses, independent of HTTP: what the admin API and the
/// benchmark call. Validates, writes through the group-commit writer, audits lookups.
public final class LicenseService: Sendable {
    public let store: LedgerStore
    public let material: DataDirectory.Material
    public let catalog: Catalog
    public let clock: any NodeClock
    public let writer: LedgerWriter
    /// The most of its own entries this node has held: `checkOwnEntriesCaughtUp` reads the
    /// ledger only when a peer claims more.
    private let ownEntriesSeen = Mutex<UInt64>(0)
    /// Group commit for audit records (every recognition decision is recorded).
    public let audit: AuditWriter
    /// Announces new local entries to the gossip sessions.
    public let hub: VectorHub
    /// What the gossip sessions report about each peer (empty for a standalone node).
    public let peerBoard = PeerBoard()
    public let startedAtMilliseconds: UInt64
    /// Prometheus metrics, served at `GET /metrics`.
    public let metrics = NodeMetrics()
    /// Set when the node runs with peers (a configured node): then it is ready only while
    /// at least one peer is connected.
    private let networked = Mutex(false)

    public func markNetworked() { networked.withLock { $0 = true } }

    /// Whether the node can serve: its ledger reads, and, for a networked node, at least
    /// one peer is connected. `reason` says what is missing.
    public func readiness() -> (ready: Bool, reason: String?, peersConnected: Int) {
        let connected = peerBoard.snapshot().filter(\.connected).count
        do {
            _ = try store.versionVector()
        } catch {
            return (false, "the ledger cannot be read: \(error)", connected)
        }
        if networked.withLock({ $0 }) && connected == 0 { return (false, "no peer is connected", 0) }
        return (true, nil, connected)
    }

    /// The audit purpose is free text but bounded.
    public static let purposeBytesMax = 200

    public init(store: LedgerStore, material: DataDirectory.Material, catalog: Catalog, clock: any NodeClock) {
        self.store = store
        self.material = material
        self.catalog = catalog
        self.clock = clock
        let hub = VectorHub()
        self.hub = hub
        self.writer = LedgerWriter(store: store, signer: material.signer, catalog: catalog, clock: clock) {
            if let vector = try? store.versionVector() { hub.publish(vector) }
        }
        self.audit = AuditWriter(store: store)
        self.startedAtMilliseconds = clock.nowMilliseconds()
        let metrics = self.metrics
        peerBoard.observe { metrics.record($0) }
    }

    public func issue(_ request: IssueRequest) async throws(ServiceError) -> LicenseState {
        let event: LicenseEvent.Issue
        do {
            event = try LicenseAuthoring.issue(
                type: request.type, holder: request.holder, attributes: request.attributes ?? [:],
                validFrom: request.validFrom, validUntil: request.validUntil, province: material.identity.province,
                catalog: catalog, holderKey: material.holderKey, today: clock.today())
        } catch {
            throw .request(error)
        }
        try checkSigningKey(for: event.licenseType)
        return try await write(.issue(event))
    }

    /// A license this node's own certificate would not cover is refused before it is
    /// signed: no other province would recognize it.
    private func checkSigningKey(for type: String) throws(ServiceError) {
        let certificate = material.certificate
        guard certificate.allows(licenseType: type) else {
            throw .badRequest(code: "type_not_certified", message: "this node's issuer key \(certificate.body.keyID) is not "
                              + "certified to issue '\(type)'; ask the root for a certificate that covers it (docs/OPERATIONS.md)")
        }
        let now = clock.nowMilliseconds()
        guard certificate.isValid(at: now) else {
            throw .badRequest(code: "certificate_not_valid", message: "this node's issuer certificate is not valid now "
                              + "(\(Timestamps.iso8601(milliseconds: Int64(clamping: certificate.body.notBeforeMilliseconds)))–"
                              + "\(Timestamps.iso8601(milliseconds: Int64(clamping: certificate.body.notAfterMilliseconds)))); "
                              + "install a new one (docs/OPERATIONS.md, key rotation)")
        }
        let revocation = try storeCall { () throws(StoreError) in try store.trustSnapshot(root: material.root) }
            .revocations[certificate.body.keyID]
        if let revocation, revocation.covers(signedAt: now) {
            throw .badRequest(code: "key_revoked", message: "this node's issuer key \(certificate.body.keyID) is revoked as "
                              + "compromised; install a new key and certificate (docs/OPERATIONS.md, key rotation)")
        }
    }

    public func amend(_ id: String, _ request: AmendRequest) async throws(ServiceError) -> LicenseState {
        try await write(.amend(LicenseEvent.Amend(licenseID: try licenseID(id), set: request.set ?? [:],
                                                  remove: request.remove ?? [], reason: request.reason ?? "")))
    }

    public func renew(_ id: String, _ request: RenewRequest) async throws(ServiceError) -> LicenseState {
        guard let until = CivilDate(iso: request.validUntil) else {
            throw .request(.invalid(.badDate(field: "valid_until", value: request.validUntil)))
        }
        return try await write(.renew(LicenseEvent.Renew(licenseID: try licenseID(id), validUntil: until,
                                                         reason: request.reason ?? "")))
    }

    /// The receiving province supersedes another province's license with its own: same
    /// type and holder, its attributes and validity as given (docs/CONFLICTS.md).
    public func transfer(_ id: String, _ request: TransferRequest) async throws(ServiceError) -> LicenseState {
        let old = try license(id)
        let issue: LicenseEvent.Issue
        do {
            issue = try LicenseAuthoring.issue(
                type: old.licenseType, holder: request.holder, attributes: request.attributes ?? old.attributes,
                validFrom: request.validFrom, validUntil: request.validUntil ?? old.validUntil?.description,
                province: material.identity.province, catalog: catalog, holderKey: material.holderKey, today: clock.today())
        } catch {
            throw .request(error)
        }
        guard issue.holderRef == old.holderRef else {
            throw .badRequest(code: "holder_mismatch", message: "license \(old.id) belongs to another citizen than the ID number given")
        }
        let reason = request.reason ?? ""
        do {
            try LicenseAuthoring.checkFreeText(reason, field: "reason", bytesMax: LicenseEvent.reasonBytesMax)
        } catch {
            throw .request(.invalid(error))
        }
        try checkSigningKey(for: old.licenseType)
        return try await write(.transfer(LicenseEvent.Transfer(licenseID: old.id, license: issue, reason: reason)))
    }

    /// The events of license `id` and of the licenses transfers link it to, with their
    /// causal relations, and the conflicts among them.
    public func history(_ id: String) throws(ServiceError) -> (licenses: [LicenseState], events: [HistoryDocument.Event],
                                                              conflicts: [LicenseConflict]) {
        let licenseID = try licenseID(id)
        guard let group = try storeCall({ () throws(StoreError) in try store.holderEntries(license: licenseID) }) else {
            throw .request(.rejected(.unknownLicense(licenseID)))
        }
        let folded = HolderFold.fold(group.entries)
        let events = HolderFold.lineage(of: licenseID, in: group.entries)
            .sorted { ($0.body.hlc, $0.body.origin, $0.body.seq) < ($1.body.hlc, $1.body.origin, $1.body.seq) }
        let lineage = Set(events.map(\.licenseID))
        func name(_ e: Entry) -> String { "\(e.body.origin)#\(e.body.seq)" }
        let documents = events.map { event in
            let before = events.filter { Causality.happenedBefore($0, event) && $0.id != event.id }
            // Direct predecessors only: drop those another predecessor happened after.
            let direct = before.filter { a in !before.contains { b in b.id != a.id && Causality.happenedBefore(a, b) } }
            return HistoryDocument.Event(
                entry: name(event), kind: event.body.event.kind.rawValue, licenseID: event.licenseID.text,
                author: event.body.origin, at: Timestamps.iso8601(event.body.hlc), after: direct.map(name),
                concurrentWith: events.filter { $0.id != event.id && Causality.concurrent($0, event) }.map(name))
        }
        return (folded.states.filter { lineage.contains($0.id) }, documents,
                folded.conflicts.filter { lineage.contains($0.license) })
    }

    public func conflicts() throws(ServiceError) -> [LicenseConflict] {
        try storeCall { () throws(StoreError) in try store.conflicts() }
    }

    public enum StatusAction: String, Sendable { case suspend, reinstate, revoke }

    public func change(_ action: StatusAction, _ id: String, reason: String?) async throws(ServiceError) -> LicenseState {
        let change = LicenseEvent.StatusChange(licenseID: try licenseID(id), reason: reason ?? "")
        return switch action {
        case .suspend: try await write(.suspend(change))
        case .reinstate: try await write(.reinstate(change))
        case .revoke: try await write(.revoke(change))
        }
    }

    public func license(_ id: String) throws(ServiceError) -> LicenseState {
        let licenseID = try licenseID(id)
        guard let state = try storeCall({ () throws(StoreError) in try store.license(licenseID) }) else {
            throw .request(.rejected(.unknownLicense(licenseID)))
        }
        return state
    }

    /// All licenses of a citizen, by ID number. Recorded in the audit log (who, when,
    /// holder ref, purpose) before anything is read.
    public func lookup(holder: String, purpose: String, by principal: Principal)
        async throws(ServiceError) -> (masked: String, licenses: [LicenseState])
    {
        let id: ResidentID
        do {
            id = try ResidentID(holder, today: clock.today())
        } catch {
            throw .request(.invalidHolder(error))
        }
        let purpose = try auditPurpose(purpose, what: "a holder lookup")
        let ref = HolderRef(id: id, key: material.holderKey)
        let record = AuditRecord(atMilliseconds: Int64(clock.nowMilliseconds()), actor: principal.name,
                                 action: "holder_lookup", holderRef: ref, licenseID: nil, purpose: purpose)
        do {
            try await audit.record(record)
        } catch {
            throw .store(error)
        }
        let licenses = try storeCall { () throws(StoreError) in try store.licenses(holder: ref) }
        return (id.masked, licenses)
    }

    /// A purpose for the audit log: required, bounded, and never an ID number.
    private func auditPurpose(_ text: String, what: String) throws(ServiceError) -> String {
        let purpose = text.trimmedOfWhitespace
        guard !purpose.isEmpty else { throw .badRequest(code: "purpose_required", message: "\(what) requires a purpose") }
        do {
            try LicenseAuthoring.checkFreeText(purpose, field: "purpose", bytesMax: Self.purposeBytesMax)
        } catch {
            throw .request(.invalid(error))
        }
        return purpose
    }

    // MARK: - Recognition

    /// Decides whether this node's province recognizes license `id` now, and records the
    /// decision in the audit log before returning it.
    public func verify(_ id: String, purpose: String?, by principal: Principal)
        async throws(ServiceError) -> (recognition: Recognition, license: LicenseState)
    {
        let licenseID = try licenseID(id)
        let purpose = try auditPurpose(purpose ?? "recognition check", what: "a recognition check")
        return try await decide(licenseID, purpose: purpose, by: principal)
    }

    /// The decision on each license of a holder lookup, each recorded in the audit log.
    public func recognize(_ licenses: [LicenseState], purpose: String, by principal: Principal)
        async throws(ServiceError) -> [Recognition]
    {
        var decided: [(Recognition, LicenseState)] = []
        for license in licenses {
            decided.append(try decision(on: license.id))
        }
        // Recorded together: one group commit, not one fsync per license.
        let records = decided.map { auditRecord($0.0, holder: $0.1.holderRef, purpose: purpose, by: principal) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for record in records { group.addTask { try await self.audit.record(record) } }
                try await group.waitForAll()
            }
        } catch let error as StoreError {
            throw .store(error)
        } catch {
            throw .store(.database("\(error)"))
        }
        for (recognition, _) in decided { metrics.recordDecision(recognition.decision) }
        return decided.map(\.0)
    }

    private func decide(_ id: LicenseID, purpose: String, by principal: Principal)
        async throws(ServiceError) -> (recognition: Recognition, license: LicenseState)
    {
        let (recognition, license) = try decision(on: id)
        do {
            try await audit.record(auditRecord(recognition, holder: license.holderRef, purpose: purpose, by: principal))
        } catch {
            throw .store(error)
        }
        metrics.recordDecision(recognition.decision)
        return (recognition, license)
    }

    /// The decision on license `id` for this node's province, not yet recorded.
    private func decision(on id: LicenseID) throws(ServiceError) -> (Recognition, LicenseState) {
        let evidence = try storeCall { () throws(StoreError) in
            try store.recognitionEvidence(id, decidingProvince: material.identity.province, root: material.root,
                                          today: clock.today())
        }
        guard let evidence else { throw .request(.rejected(.unknownLicense(id))) }
        return (RecognitionRules.decide(evidence), evidence.license)
    }

    private func auditRecord(_ recognition: Recognition, holder: HolderRef, purpose: String, by principal: Principal) -> AuditRecord {
        AuditRecord(atMilliseconds: Int64(clock.nowMilliseconds()), actor: principal.name,
                    action: "verify:\(recognition.decision.rawValue)", holderRef: holder, licenseID: recognition.licenseID,
                    purpose: purpose)
    }

    /// A self-contained, offline-verifiable bundle of license `id` (recorded in the audit log).
    public func bundle(_ id: String, by principal: Principal) async throws(ServiceError) -> LicenseBundle {
        let licenseID = try licenseID(id)
        let bundle = try storeCall { () throws(StoreError) in
            try store.bundle(licenseID, root: material.root, exportedBy: material.identity.nodeID,
                             exportedAtMilliseconds: clock.nowMilliseconds())
        }
        guard let bundle else { throw .request(.rejected(.unknownLicense(licenseID))) }
        let holder = try storeCall { () throws(StoreError) in try store.license(licenseID) }?.holderRef
        do {
            try await audit.record(AuditRecord(atMilliseconds: Int64(clock.nowMilliseconds()), actor: principal.name,
                                               action: "export", holderRef: holder, licenseID: licenseID, purpose: "bundle export"))
        } catch {
            throw .store(error)
        }
        return bundle
    }

    /// Verifies a root-signed certificate or key revocation, keeps it, and gossips it.
    public func publishTrust(_ document: TrustDocument) throws(ServiceError) -> TrustPublished {
        guard let body = Data(base64Encoded: document.body), let signature = Data(base64Encoded: document.signature) else {
            throw .badRequest(code: "malformed_request", message: "body and signature must be base64")
        }
        let bytes = SyncFrame.SignedBytes(body: [UInt8](body), signature: [UInt8](signature))
        do {
            switch document.type ?? SignedDocument.issuerCertificateType {
            case SignedDocument.issuerCertificateType:
                let certificate = try IssuerCertificate(bodyBytes: bytes.body, signature: bytes.signature, root: material.root)
                let added = try storeCall { () throws(StoreError) in try store.addCertificate(certificate) }
                if added { hub.publishTrust(certificates: [bytes], revocations: []) }
                return TrustPublished(type: SignedDocument.issuerCertificateType, keyID: certificate.body.keyID, added: added)
            case KeyRevocation.jsonType:
                let revocation = try KeyRevocation(bodyBytes: bytes.body, signature: bytes.signature, root: material.root)
                let added = try storeCall { () throws(StoreError) in try store.addRevocation(revocation) }
                if added { hub.publishTrust(certificates: [], revocations: [bytes]) }
                return TrustPublished(type: KeyRevocation.jsonType, keyID: revocation.body.keyID, added: added)
            case let other:
                throw ServiceError.badRequest(code: "unknown_trust_type", message: "type '\(other.prefix(40))' is neither "
                                              + "\(SignedDocument.issuerCertificateType) nor \(KeyRevocation.jsonType)")
            }
        } catch let error as CertificateError {
            throw .badRequest(code: error.code, message: error.description)
        } catch let error as ServiceError {
            throw error
        } catch {
            throw .badRequest(code: "malformed_request", message: "\(error)")
        }
    }

    /// Every province's recognition agreement as this node knows it.
    public func agreements() throws(ServiceError) -> AgreementsDocument {
        let trust = try storeCall { () throws(StoreError) in try store.trustSnapshot(root: material.root) }
        let provinces = Set(trust.certificates.values.map(\.body.province)).union(trust.agreements.keys)
            .union([material.identity.province]).sorted()
        return AgreementsDocument(provinces: provinces.map { province in
            let (agreement, _) = trust.agreement(of: province)
            let entry = trust.agreements[province].map { "\($0.entry.body.origin)#\($0.entry.body.seq)" }
            return AgreementsDocument.Province(province: province, provinceName: Province.byCode[province]?.nameZH ?? province,
                                               entry: entry, terms: AgreementTermDocument.terms(of: agreement))
        })
    }

    /// Signs and publishes this province's recognition agreement; it replaces the earlier one.
    public func setAgreement(_ request: AgreementRequest) async throws(ServiceError) -> AgreementsDocument.Province {
        guard !request.terms.isEmpty, request.terms.count <= RecognitionAgreement.termsMax else {
            throw .badRequest(code: "invalid_agreement", message: "an agreement has 1–\(RecognitionAgreement.termsMax) terms")
        }
        var terms: [String: RecognitionAgreement.AcceptedTypes] = [:]
        for term in request.terms {
            guard term.province == RecognitionAgreement.wildcard || Province.byCode[term.province] != nil else {
                throw .badRequest(code: "unknown_province", message: "term province '\(term.province.prefix(10))' is not a GB/T 2260 provincial code or *")
            }
            guard terms[term.province] == nil else {
                throw .badRequest(code: "invalid_agreement", message: "province \(term.province) appears in two terms")
            }
            if term.licenseTypes == [RecognitionAgreement.wildcard] {
                terms[term.province] = .all
                continue
            }
            for code in term.licenseTypes where catalog[code] == nil {
                throw .request(.invalid(.unknownLicenseType(code)))
            }
            terms[term.province] = .only(term.licenseTypes)
        }
        let agreement = RecognitionAgreement(province: material.identity.province, terms: terms)
        // An agreement is an entry of this node's own origin, signed like a license event.
        try checkOwnEntriesCaughtUp()
        let entry: Entry
        do {
            entry = try await store.publishAgreement(agreement, signer: material.signer, physicalMilliseconds: clock.nowMilliseconds())
        } catch {
            throw .store(error)
        }
        if let vector = try? store.versionVector() { hub.publish(vector) }
        return AgreementsDocument.Province(province: agreement.province,
                                           provinceName: Province.byCode[agreement.province]?.nameZH ?? agreement.province,
                                           entry: "\(entry.body.origin)#\(entry.body.seq)", terms: AgreementTermDocument.terms(of: agreement))
    }

    public func status() throws(ServiceError) -> StatusDocument {
        try storeCall { () throws(StoreError) in
            let vv = try store.versionVector()
            return StatusDocument(
                nodeID: material.identity.nodeID, province: material.identity.province, keyID: material.signer.keyID,
                rootKeyID: RootKeyID.derive(material.root), entries: vv.total, versionVector: vv, ledgerDigest: try store.ledgerDigest(),
                catalogVersion: catalog.version,
                startedAt: Timestamps.iso8601(milliseconds: Int64(startedAtMilliseconds)), peers: peers(local: vv),
                equivocations: try store.equivocations().map {
                    EquivocationDocument(origin: $0.origin, seq: $0.seq, heldEntry: $0.held.id.description,
                                         otherEntry: $0.other.id.description,
                                         detectedAt: Timestamps.iso8601(milliseconds: $0.detectedMilliseconds))
                },
                recentRefusals: peerBoard.recentRefusals().map {
                    RefusalDocument(at: Timestamps.iso8601(milliseconds: Int64(clamping: $0.atMilliseconds)), peer: $0.peer,
                                    code: $0.code, detail: $0.detail)
                },
                stateDigest: try store.stateDigest(), conflicts: try store.conflicts().map(ConflictDocument.init))
        }
    }

    public func peers() throws(ServiceError) -> [PeerDocument] {
        peers(local: try storeCall { () throws(StoreError) in try store.versionVector() })
    }

    private func peers(local: VersionVector) -> [PeerDocument] {
        peerBoard.snapshot().map { peer in
            PeerDocument(nodeID: peer.nodeID, connected: peer.connected, sinceMilliseconds: peer.sinceMilliseconds,
                         sessions: peer.sessions, versionVector: peer.peerVector, lag: peer.lag(behind: local),
                         entriesIn: peer.entriesIn, entriesOut: peer.entriesOut, bytesIn: peer.bytesIn,
                         bytesOut: peer.bytesOut, lastError: peer.lastError)
        }
    }

    /// A node restored from an old backup, or whose disk was wiped, would sign new entries
    /// at seqs it already used, and the network would flag its origin for equivocation.
    /// While a connected peer holds more of this node's own entries than it does, it writes
    /// nothing; the entries come back with the gossip.
    ///
    /// Every write of a networked node passes here, and peers always report some of this
    /// node's entries: the ledger is read only when a peer claims more than this node has
    /// already seen of its own (its own head never goes down while it runs).
    private func checkOwnEntriesCaughtUp() throws(ServiceError) {
        let own = material.identity.nodeID
        guard let (peer, theirs) = peerBoard.mostEntries(of: own), theirs > ownEntriesSeen.withLock({ $0 }) else { return }
        let ours = try storeCall { () throws(StoreError) in try store.versionVector() }[own]
        ownEntriesSeen.withLock { $0 = max($0, ours) }
        if theirs > ours { throw .ownEntriesBehind(peer: peer, peerHolds: theirs, localHolds: ours) }
    }

    public func auditLog(limit: Int) throws(ServiceError) -> [AuditRecord] {
        try storeCall { () throws(StoreError) in try store.auditLog(limit: limit) }
    }

    // MARK: -

    private func write(_ event: LicenseEvent) async throws(ServiceError) -> LicenseState {
        try checkOwnEntriesCaughtUp()
        let outcome: LedgerWriter.Outcome
        do {
            outcome = try await writer.write(event)
        } catch {
            throw .store(error)
        }
        switch outcome {
        case let .success(authored):
            ownEntriesSeen.withLock { $0 = max($0, authored.entry.body.seq) }
            return authored.state
        case let .failure(error): throw .request(error)
        }
    }

    private func licenseID(_ text: String) throws(ServiceError) -> LicenseID {
        guard let id = LicenseID(text) else {
            throw .badRequest(code: "invalid_license_id", message: "license id '\(text.prefix(80))' is not <origin>-<seq>-<8 hex digits>, e.g. gd-1042-5a4e4542")
        }
        return id
    }

    private func storeCall<T>(_ work: () throws(StoreError) -> T) throws(ServiceError) -> T {
        do {
            return try work()
        } catch {
            throw .store(error)
        }
    }
}

/// Why an operation was refused.
public enum ServiceError: Error, CustomStringConvertible {
    case request(LicenseRequestError)
    case badRequest(code: String, message: String)
    case store(StoreError)
    /// A peer holds more of this node's own entries than it does (see `write`).
    case ownEntriesBehind(peer: String, peerHolds: UInt64, localHolds: UInt64)

    public var description: String {
        switch self {
        case let .request(e): e.description
        case let .badRequest(_, message): message
        case let .store(e): e.description
        case let .ownEntriesBehind(peer, theirs, ours):
            "peer \(peer) holds this node's own entries up to #\(theirs) but this node only up to #\(ours) "
                + "(restored from a backup, or a wiped disk?): it writes nothing until the gossip has brought them back, "
                + "or it would sign a seq twice; retry shortly (docs/OPERATIONS.md, backup and restore)"
        }
    }
}

import Foundation

extension String {
    /// Without leading and trailing white space (Unicode White_Space, newlines included),
    /// and without a round trip through NSString: it runs on every audited request.
    var trimmedOfWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
