import Foundation

/// A self-contained export of one license, verifiable offline against the root key alone:
/// the license's signed entries, the root's certificates (and revocations) of the keys
/// that signed them, every province's current recognition agreement, and any equivocation
/// proof against the license's origins. Everything in it is signed; nothing is trusted
/// because of where the file came from. See docs/TRUST.md ("License bundles").
public struct LicenseBundle: Sendable, Equatable {
    public static let format = "lx-license-bundle-v1"
    /// Limits on what one bundle may carry.
    public static let entriesMax = 4096
    public static let documentsMax = 1024
    public static let encodedBytesMax = 16 * 1024 * 1024

    public let licenseID: LicenseID
    public let exportedBy: String
    public let exportedAtMilliseconds: UInt64
    public let entries: [Entry]
    public let certificates: [IssuerCertificate]
    public let revocations: [KeyRevocation]
    public let agreements: [Entry]
    /// Each proof: two entries of one origin at one seq.
    public let equivocations: [[Entry]]

    public init(licenseID: LicenseID, exportedBy: String, exportedAtMilliseconds: UInt64, entries: [Entry],
                certificates: [IssuerCertificate], revocations: [KeyRevocation], agreements: [Entry],
                equivocations: [[Entry]]) {
        self.licenseID = licenseID
        self.exportedBy = exportedBy
        self.exportedAtMilliseconds = exportedAtMilliseconds
        self.entries = entries
        self.certificates = certificates
        self.revocations = revocations
        self.agreements = agreements
        self.equivocations = equivocations
    }

    // MARK: - JSON

    private struct Signed: Codable {
        let body: String
        let signature: String
    }

    private struct Document: Codable {
        let format: String
        let license_id: String
        let exported_by: String
        let exported_at_ms: UInt64
        let entries: [Signed]
        let certificates: [Signed]
        let revocations: [Signed]
        let agreements: [Signed]
        let equivocations: [[Signed]]
    }

    public func jsonData() -> Data {
        func signed(_ body: [UInt8], _ signature: [UInt8]) -> Signed {
            Signed(body: Data(body).base64EncodedString(), signature: Data(signature).base64EncodedString())
        }
        func entry(_ e: Entry) -> Signed { signed(e.bodyBytes, e.signature) }
        let document = Document(
            format: Self.format, license_id: licenseID.text, exported_by: exportedBy, exported_at_ms: exportedAtMilliseconds,
            entries: entries.map(entry), certificates: certificates.map { signed($0.bodyBytes, $0.signature) },
            revocations: revocations.map { signed($0.bodyBytes, $0.signature) }, agreements: agreements.map(entry),
            equivocations: equivocations.map { $0.map(entry) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain strings and integers cannot fail.
        return (try? encoder.encode(document)) ?? Data()
    }

    /// Reads a bundle and verifies every certificate and revocation in it against `root`.
    /// Entries are decoded here and their signatures checked by `recognize`.
    public init(jsonData data: Data, root: PublicKey) throws(BundleError) {
        guard data.count <= Self.encodedBytesMax else { throw .malformed("the bundle is larger than 16 MiB") }
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: data)
        } catch {
            throw .malformed("not a license bundle (JSON with format, license_id, entries, certificates, ...)")
        }
        guard document.format == Self.format else { throw .malformed("format '\(document.format.prefix(40))' is not \(Self.format)") }
        guard let id = LicenseID(document.license_id) else { throw .malformed("license_id '\(document.license_id.prefix(80))' is not a license id") }
        guard document.entries.count <= Self.entriesMax,
              [document.certificates.count, document.revocations.count, document.agreements.count,
               document.equivocations.count].allSatisfy({ $0 <= Self.documentsMax })
        else { throw .malformed("the bundle carries more entries or documents than a license can need") }
        func bytes(_ text: String, _ what: String) throws(BundleError) -> [UInt8] {
            guard let data = Data(base64Encoded: text) else { throw .malformed("\(what) is not base64") }
            return [UInt8](data)
        }
        func entry(_ signed: Signed, _ what: String) throws(BundleError) -> Entry {
            let body = try bytes(signed.body, what), signature = try bytes(signed.signature, what)
            do {
                return try Entry(bodyBytes: body, signature: signature)
            } catch {
                throw .tampered("\(what): \(error)")
            }
        }
        var certificates: [IssuerCertificate] = []
        for (i, c) in document.certificates.enumerated() {
            let body = try bytes(c.body, "certificate \(i + 1)"), signature = try bytes(c.signature, "certificate \(i + 1)")
            do {
                certificates.append(try IssuerCertificate(bodyBytes: body, signature: signature, root: root))
            } catch {
                throw .trust(error)
            }
        }
        var revocations: [KeyRevocation] = []
        for (i, r) in document.revocations.enumerated() {
            let body = try bytes(r.body, "revocation \(i + 1)"), signature = try bytes(r.signature, "revocation \(i + 1)")
            do {
                revocations.append(try KeyRevocation(bodyBytes: body, signature: signature, root: root))
            } catch {
                throw .trust(error)
            }
        }
        var entries: [Entry] = []
        for (i, e) in document.entries.enumerated() { entries.append(try entry(e, "entry \(i + 1)")) }
        var agreements: [Entry] = []
        for (i, e) in document.agreements.enumerated() { agreements.append(try entry(e, "agreement \(i + 1)")) }
        var proofs: [[Entry]] = []
        for (i, pair) in document.equivocations.enumerated() {
            var proof: [Entry] = []
            for e in pair { proof.append(try entry(e, "equivocation proof \(i + 1)")) }
            proofs.append(proof)
        }
        self.init(licenseID: id, exportedBy: document.exported_by, exportedAtMilliseconds: document.exported_at_ms,
                  entries: entries, certificates: certificates, revocations: revocations, agreements: agreements,
                  equivocations: proofs)
    }

    // MARK: - Offline recognition

    /// Decides recognition from the bundle alone, as `decidingProvince`'s service windows
    /// would (with no province given, by the national default agreement). Entries of
    /// another license, agreements or proofs that do not verify are refused; an entry of
    /// the license whose signature does not verify fails the signature check.
    public func recognize(decidingProvince: String?, today: CivilDate) throws(BundleError) -> (Recognition, LicenseState) {
        let certificates = Dictionary(certificates.map { ($0.body.keyID, $0.body) }) { a, _ in a }
        /// An entry counts only with a valid signature under a certificate the bundle carries.
        func verified(_ entry: Entry) -> Bool {
            guard let certificate = certificates[entry.body.keyID], certificate.nodeID == entry.body.origin else { return false }
            return entry.hasValidSignature(by: certificate.publicKey)
        }
        var positions = Set<String>()
        for entry in entries + agreements where !positions.insert("\(entry.body.origin)#\(entry.body.seq)").inserted {
            throw .tampered("two entries at \(entry.body.origin)#\(entry.body.seq)")
        }
        // Every entry must belong to the license or to a license a transfer links to it, or
        // be the holder's issue of the same once-per-holder type (which decides whether it stands).
        let lineage = HolderFold.lineage(of: licenseID, in: entries)
        let created = entries.first { $0.body.event.createsLicense && $0.licenseID == licenseID }?.body.event.createdLicense
        func competes(_ entry: Entry) -> Bool {
            guard let created, HolderFold.oncePerHolderTypes.contains(created.licenseType),
                  case let .issue(issue) = entry.body.event else { return false }
            return issue.licenseType == created.licenseType && issue.holderRef == created.holderRef
        }
        for entry in entries where !entry.body.event.isLicenseEvent || !(lineage.contains(entry) || competes(entry)) {
            throw .notThisLicense("entry \(entry.body.origin)#\(entry.body.seq) belongs to \(entry.licenseID.text), not \(licenseID.text)")
        }
        guard let state = HolderFold.fold(entries).states.first(where: { $0.id == licenseID }) else {
            throw .notThisLicense("the bundle has no entry that creates \(licenseID.text)")
        }
        let invalid = entries.filter { !verified($0) }
        let signatures: RecognitionEvidence.Signatures = invalid.isEmpty
            ? .verified(entries: entries.count)
            : .invalid("the signature of " + invalid.map { "\($0.body.origin)#\($0.body.seq) (\($0.body.event.kind.rawValue))" }
                .joined(separator: ", ") + " does not verify: the bundle was altered")

        var agreement = RecognitionAgreement.nationalDefault(province: decidingProvince ?? "national")
        var source = decidingProvince.map { "national default: the bundle carries no agreement of \($0)" }
            ?? "national default: no deciding province given"
        // Each province's latest agreement (highest seq of its origin) counts, whatever the file's order.
        var latest: Entry?
        for entry in agreements {
            guard case let .agreement(published) = entry.body.event, verified(entry),
                  let certificate = certificates[entry.body.keyID], certificate.province == published.province
            else { throw .tampered("agreement \(entry.body.origin)#\(entry.body.seq) is not signed by its province's certified key") }
            if published.province == decidingProvince, latest.map({ entry.body.seq > $0.body.seq }) ?? true {
                latest = entry
            }
        }
        if let latest, case let .agreement(published) = latest.body.event {
            agreement = published
            source = "agreement \(latest.body.origin)#\(latest.body.seq)"
        }
        var holds: [String: UInt64] = [:]
        for proof in equivocations {
            guard proof.count == 2, proof[0].body.origin == proof[1].body.origin, proof[0].body.seq == proof[1].body.seq,
                  proof[0].id != proof[1].id, proof.allSatisfy(verified)
            else { throw .tampered("an equivocation proof is not two validly signed entries at one position") }
            holds[proof[0].body.origin] = min(holds[proof[0].body.origin] ?? .max, proof[0].body.seq)
        }
        let events = RecognitionEvidence.SignedEvent.ordered(entries.map(RecognitionEvidence.SignedEvent.init))
        let evidence = RecognitionEvidence(
            license: state, signatures: signatures, events: events, certificates: certificates,
            revocations: Dictionary(revocations.map { ($0.body.keyID, $0.body) }) { a, _ in a },
            agreement: agreement, agreementSource: source, holds: holds,
            holdSource: "the bundle carries no equivocation proof against", today: today)
        return (RecognitionRules.decide(evidence), state)
    }
}

/// Why a bundle was refused before any decision.
public enum BundleError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    /// A certificate or revocation in it does not verify against the root.
    case trust(CertificateError)
    case notThisLicense(String)
    case tampered(String)

    public var code: String {
        switch self {
        case .malformed: "malformed_bundle"
        case let .trust(error): error.code
        case .notThisLicense: "not_this_license"
        case .tampered: "tampered_bundle"
        }
    }

    public var description: String {
        switch self {
        case let .malformed(detail): "malformed bundle: \(detail)"
        case let .trust(error): "bundle refused: \(error)"
        case let .notThisLicense(detail): "bundle refused: \(detail)"
        case let .tampered(detail): "bundle refused as altered: \(detail)"
        }
    }
}
