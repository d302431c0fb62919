/// A province's recognition agreement: which license types from which provinces its
/// service windows accept. Published as a signed ledger entry (`LicenseEvent.agreement`);
/// a province that published none follows the national default, the whole catalog from
/// every province. A province always accepts its own licenses.
public struct RecognitionAgreement: Equatable, Sendable {
    /// As a term's province: every province the agreement does not name. As its only
    /// license type: the whole catalog.
    public static let wildcard = "*"
    public static let termsMax = 64
    public static let typesMax = 256

    public enum AcceptedTypes: Equatable, Sendable {
        case all
        /// These catalog codes; none when empty.
        case only([String])
    }

    /// The province whose policy this is.
    public var province: String
    /// Issuing province code, or `wildcard`, to what is accepted from it.
    public var terms: [String: AcceptedTypes]

    public init(province: String, terms: [String: AcceptedTypes]) {
        self.province = province
        self.terms = terms.mapValues { types in
            if case let .only(codes) = types { return .only(Array(Set(codes)).sorted()) }
            return types
        }
    }

    public static func nationalDefault(province: String) -> RecognitionAgreement {
        RecognitionAgreement(province: province, terms: [wildcard: .all])
    }

    /// What the agreement accepts from `issuingProvince`.
    public func accepted(from issuingProvince: String) -> AcceptedTypes {
        if issuingProvince == province { return .all }
        return terms[issuingProvince] ?? terms[Self.wildcard] ?? .only([])
    }

    public func accepts(type: String, from issuingProvince: String) -> Bool {
        switch accepted(from: issuingProvince) {
        case .all: true
        case let .only(codes): codes.contains(type)
        }
    }
}

/// The three answers a recognition decision gives.
public enum RecognitionDecision: String, Sendable, Equatable {
    case recognized
    case notRecognized = "not_recognized"
    /// Something needed for the decision is missing or held (a certificate that has not
    /// arrived, an origin under an equivocation hold): ask again later.
    case undetermined
}

/// One check of a decision, with a reason a clerk can read.
public struct RecognitionCheck: Equatable, Sendable {
    public enum Outcome: String, Sendable {
        case passed, failed
        /// Cannot be decided with what this node holds.
        case unknown
    }

    public let name: String
    public let outcome: Outcome
    public let reason: String

    public var passed: Bool { outcome == .passed }

    public init(_ name: String, _ outcome: Outcome, _ reason: String) {
        self.name = name
        self.outcome = outcome
        self.reason = reason
    }
}

/// A recognition decision: every check, in a fixed order, and the answer they give.
public struct Recognition: Equatable, Sendable {
    /// The check names, in the order every decision lists them.
    public static let checkNames = ["signature_valid", "issuer_certified", "key_not_revoked", "type_allowed",
                                    "province_matches", "agreement_covers", "license_active", "origin_not_held"]

    public let licenseID: LicenseID
    public let decidingProvince: String
    public let decision: RecognitionDecision
    public let checks: [RecognitionCheck]

    /// Any failed check refuses recognition; otherwise any undecidable one leaves it
    /// undetermined.
    public init(licenseID: LicenseID, decidingProvince: String, checks: [RecognitionCheck]) {
        self.licenseID = licenseID
        self.decidingProvince = decidingProvince
        self.checks = checks
        decision = if checks.contains(where: { $0.outcome == .failed }) { .notRecognized }
                   else if checks.contains(where: { $0.outcome == .unknown }) { .undetermined }
                   else { .recognized }
    }
}

/// What a decision is made from: the license, when and with which key each of its entries
/// was signed, and the trust material and policy the deciding node holds. A node builds
/// it from its ledger; an offline verifier from a bundle.
public struct RecognitionEvidence: Sendable {
    /// How the entries' signatures were established.
    public enum Signatures: Sendable, Equatable {
        /// The ledger verified every entry against its certified key before storing it.
        case verifiedWhenStored(entries: Int)
        /// Verified just now (an offline bundle).
        case verified(entries: Int)
        /// These entries' signatures do not verify.
        case invalid(String)
    }

    /// One entry of the license: who signed it, with which key, at what (hybrid clock) time.
    public struct SignedEvent: Sendable, Equatable {
        public let origin: String
        public let seq: UInt64
        public let keyID: String
        public let signedAtMilliseconds: UInt64
        public let kind: LicenseEvent.Kind
        /// The license the entry creates (issue, transfer) or acts on.
        public let license: LicenseID?

        public init(origin: String, seq: UInt64, keyID: String, signedAtMilliseconds: UInt64, kind: LicenseEvent.Kind,
                    license: LicenseID? = nil) {
            self.origin = origin
            self.seq = seq
            self.keyID = keyID
            self.signedAtMilliseconds = signedAtMilliseconds
            self.kind = kind
            self.license = license
        }

        public init(_ entry: Entry) {
            self.init(origin: entry.body.origin, seq: entry.body.seq, keyID: entry.body.keyID,
                      signedAtMilliseconds: entry.body.hlc.wallMilliseconds, kind: entry.body.event.kind,
                      license: entry.licenseID)
        }

        var createsLicense: Bool { kind == .issue || kind == .transfer }

        /// The issue first, then the others by (origin, seq).
        public static func ordered(_ events: [SignedEvent]) -> [SignedEvent] {
            events.sorted { a, b in
                (a.createsLicense ? 0 : 1, a.origin, a.seq) < (b.createsLicense ? 0 : 1, b.origin, b.seq)
            }
        }
    }

    public var license: LicenseState
    public var signatures: Signatures
    /// Every entry of the license, the issue first.
    public var events: [SignedEvent]
    /// Root-verified certificates, by key id; those of the events' keys suffice.
    public var certificates: [String: IssuerCertificate.Body]
    /// Root-verified key revocations, by key id.
    public var revocations: [String: KeyRevocation.Body]
    /// The deciding province's agreement, and where it comes from (for the reason).
    public var agreement: RecognitionAgreement
    public var agreementSource: String
    /// Origins under an equivocation hold, with the seq the hold starts at (the lowest
    /// forked position).
    public var holds: [String: UInt64]
    /// What the absence of a hold rests on, completed by the origins: "no equivocation
    /// proof against" (a node), "the bundle carries no equivocation proof against".
    public var holdSource: String
    public var today: CivilDate

    public init(license: LicenseState, signatures: Signatures, events: [SignedEvent],
                certificates: [String: IssuerCertificate.Body], revocations: [String: KeyRevocation.Body],
                agreement: RecognitionAgreement, agreementSource: String, holds: [String: UInt64],
                holdSource: String, today: CivilDate) {
        self.license = license
        self.signatures = signatures
        self.events = events
        self.certificates = certificates
        self.revocations = revocations
        self.agreement = agreement
        self.agreementSource = agreementSource
        self.holds = holds
        self.holdSource = holdSource
        self.today = today
    }
}

/// The recognition rules (DESIGN.md "Trust and mutual recognition"; docs/TRUST.md). Pure:
/// the same evidence gives the same decision on every node and offline.
public enum RecognitionRules {
    public static func decide(_ evidence: RecognitionEvidence) -> Recognition {
        let license = evidence.license
        // The entry that created this license (its issue, or the transfer that made it);
        // every other entry of its lineage is a later event its state may depend on.
        let issue = evidence.events.first { $0.createsLicense && $0.license == license.id }
            ?? RecognitionEvidence.SignedEvent(origin: license.issuerOrigin, seq: license.id.seq, keyID: license.issuerKeyID,
                                               signedAtMilliseconds: license.issuedAt.wallMilliseconds, kind: .issue,
                                               license: license.id)
        let later = evidence.events.filter { $0 != issue }
        let certificate = evidence.certificates[issue.keyID]
        let checks = [
            signature(evidence.signatures),
            certified(issue, certificate, later: later, evidence),
            notRevoked(issue, later: later, evidence.revocations),
            typeAllowed(license, issue, certificate),
            provinceMatches(license, issue, certificate),
            agreementCovers(license, evidence),
            active(license, today: evidence.today),
            notHeld(evidence),
        ]
        return Recognition(licenseID: license.id, decidingProvince: evidence.agreement.province, checks: checks)
    }

    private static func signature(_ signatures: RecognitionEvidence.Signatures) -> RecognitionCheck {
        switch signatures {
        case let .verifiedWhenStored(count):
            RecognitionCheck("signature_valid", .passed,
                             "\(entries(count)) of the license verified against the issuer's key when this node stored it")
        case let .verified(count):
            RecognitionCheck("signature_valid", .passed, "the Ed25519 signature of \(entries(count)) verifies")
        case let .invalid(detail):
            RecognitionCheck("signature_valid", .failed, detail)
        }
    }

    private static func entries(_ count: Int) -> String {
        count == 1 ? "the one entry" : "each of the \(count) entries"
    }

    private static func certified(_ issue: RecognitionEvidence.SignedEvent, _ certificate: IssuerCertificate.Body?,
                                  later: [RecognitionEvidence.SignedEvent], _ evidence: RecognitionEvidence) -> RecognitionCheck {
        let name = "issuer_certified"
        guard let certificate else {
            return RecognitionCheck(name, .unknown, "no certificate of issuer key \(issue.keyID) has arrived at this node yet")
        }
        guard certificate.covers(issue.signedAtMilliseconds) else {
            return RecognitionCheck(name, .failed, "signed \(Instant(issue.signedAtMilliseconds)) with key \(issue.keyID), "
                                    + "outside its certificate's validity \(certificate.validity)")
        }
        for event in later {
            guard let other = evidence.certificates[event.keyID] else {
                return RecognitionCheck(name, .unknown, "no certificate of key \(event.keyID), which signed the \(event.kind.rawValue) "
                                        + "\(event.origin)#\(event.seq), has arrived yet")
            }
            guard other.covers(event.signedAtMilliseconds) else {
                return RecognitionCheck(name, .unknown, "the \(event.kind.rawValue) \(event.origin)#\(event.seq) was signed "
                                        + "\(Instant(event.signedAtMilliseconds)), outside its key's validity \(other.validity); "
                                        + "the license's state depends on it")
            }
        }
        return RecognitionCheck(name, .passed, "key \(issue.keyID) is certified by \(certificate.rootKeyID) for "
                                + "\(certificate.nodeID) (\(certificate.province)), valid \(certificate.validity); "
                                + "signed \(Instant(issue.signedAtMilliseconds))")
    }

    private static func notRevoked(_ issue: RecognitionEvidence.SignedEvent, later: [RecognitionEvidence.SignedEvent],
                                   _ revocations: [String: KeyRevocation.Body]) -> RecognitionCheck {
        let name = "key_not_revoked"
        if let revocation = revocations[issue.keyID], issue.signedAtMilliseconds >= revocation.compromisedAtMilliseconds {
            return RecognitionCheck(name, .failed, "key \(issue.keyID) is revoked as compromised from "
                                    + "\(Instant(revocation.compromisedAtMilliseconds)); the license was signed after that, "
                                    + "\(Instant(issue.signedAtMilliseconds))")
        }
        for event in later {
            if let revocation = revocations[event.keyID], event.signedAtMilliseconds >= revocation.compromisedAtMilliseconds {
                return RecognitionCheck(name, .unknown, "the \(event.kind.rawValue) \(event.origin)#\(event.seq) was signed with "
                                        + "key \(event.keyID) after its compromise (\(Instant(revocation.compromisedAtMilliseconds))); "
                                        + "the license's state depends on it")
            }
        }
        if let revocation = revocations[issue.keyID] {
            return RecognitionCheck(name, .passed, "key \(issue.keyID) is revoked as compromised from "
                                    + "\(Instant(revocation.compromisedAtMilliseconds)); the license was signed before that")
        }
        return RecognitionCheck(name, .passed, "no revocation of key \(issue.keyID)")
    }

    private static func typeAllowed(_ license: LicenseState, _ issue: RecognitionEvidence.SignedEvent,
                                    _ certificate: IssuerCertificate.Body?) -> RecognitionCheck {
        let name = "type_allowed"
        guard let certificate else { return RecognitionCheck(name, .unknown, "the certificate of key \(issue.keyID) is not known") }
        guard certificate.licenseTypes.contains(license.licenseType) else {
            return RecognitionCheck(name, .failed, "key \(issue.keyID) is not certified to issue '\(license.licenseType)'")
        }
        return RecognitionCheck(name, .passed, "key \(issue.keyID) is certified to issue '\(license.licenseType)'")
    }

    private static func provinceMatches(_ license: LicenseState, _ issue: RecognitionEvidence.SignedEvent,
                                        _ certificate: IssuerCertificate.Body?) -> RecognitionCheck {
        let name = "province_matches"
        guard let certificate else { return RecognitionCheck(name, .unknown, "the certificate of key \(issue.keyID) is not known") }
        guard certificate.province == license.province, certificate.nodeID == license.issuerOrigin else {
            return RecognitionCheck(name, .failed, "the license names province \(license.province) and node "
                                    + "\(license.issuerOrigin); the key is certified for \(certificate.nodeID) (\(certificate.province))")
        }
        return RecognitionCheck(name, .passed, "issued by \(license.issuerOrigin) for province \(license.province), as certified")
    }

    private static func agreementCovers(_ license: LicenseState, _ evidence: RecognitionEvidence) -> RecognitionCheck {
        let name = "agreement_covers"
        let agreement = evidence.agreement
        if license.province == agreement.province {
            return RecognitionCheck(name, .passed, "issued in \(agreement.province), the deciding province itself")
        }
        guard agreement.accepts(type: license.licenseType, from: license.province) else {
            return RecognitionCheck(name, .failed, "\(agreement.province) does not accept '\(license.licenseType)' from "
                                    + "\(license.province) (\(evidence.agreementSource))")
        }
        return RecognitionCheck(name, .passed, "\(agreement.province) accepts '\(license.licenseType)' from \(license.province) "
                                + "(\(evidence.agreementSource))")
    }

    private static func active(_ license: LicenseState, today: CivilDate) -> RecognitionCheck {
        let name = "license_active"
        let window = "valid \(license.validFrom)–\(license.validUntil?.description ?? "no end")"
        switch license.effectiveStatus(today: today) {
        case .active:
            return RecognitionCheck(name, .passed, "active, \(window)")
        case .suspended:
            return RecognitionCheck(name, .failed, "suspended" + (license.statusReason.isEmpty ? "" : ": \(license.statusReason)"))
        case .revoked:
            return RecognitionCheck(name, .failed, "revoked" + (license.statusReason.isEmpty ? "" : ": \(license.statusReason)"))
        case .superseded:
            return RecognitionCheck(name, .failed, license.statusReason.isEmpty ? "superseded" : license.statusReason)
        case .void:
            return RecognitionCheck(name, .failed, "void: \(license.statusReason)")
        case .expired:
            return RecognitionCheck(name, .failed, "expired: \(window), today is \(today)")
        case .notYetValid:
            return RecognitionCheck(name, .failed, "not yet valid: \(window), today is \(today)")
        }
    }

    private static func notHeld(_ evidence: RecognitionEvidence) -> RecognitionCheck {
        let name = "origin_not_held"
        for event in evidence.events {
            if let from = evidence.holds[event.origin], event.seq >= from {
                return RecognitionCheck(name, .unknown, "origin \(event.origin) is held for equivocation from #\(from); "
                                        + "this license's entry \(event.origin)#\(event.seq) is at or after the fork")
            }
        }
        let flagged = Set(evidence.events.map(\.origin)).filter { evidence.holds[$0] != nil }.sorted()
        if !flagged.isEmpty {
            return RecognitionCheck(name, .passed, "\(flagged.joined(separator: ", ")) forked later; this license's entries precede it")
        }
        let origins = Set(evidence.events.map(\.origin)).sorted().joined(separator: ", ")
        return RecognitionCheck(name, .passed, "\(evidence.holdSource) \(origins)")
    }
}

extension IssuerCertificate.Body {
    /// True when `milliseconds` lies in the validity window.
    public func covers(_ milliseconds: UInt64) -> Bool {
        notBeforeMilliseconds <= milliseconds && milliseconds < notAfterMilliseconds
    }
}

/// A Unix-millisecond time as UTC text, `2026-11-29T08:15:00Z`, for reasons.
struct Instant: CustomStringConvertible {
    let milliseconds: UInt64

    init(_ milliseconds: UInt64) { self.milliseconds = milliseconds }

    var description: String {
        let seconds = Int64(clamping: milliseconds / 1000)
        let date = CivilDate(daysSinceEpoch: Int(seconds / 86_400))
        let rest = Int(seconds % 86_400)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(date)T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))Z"
    }
}
