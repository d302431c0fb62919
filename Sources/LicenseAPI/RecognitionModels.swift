import Foundation
import LicenseCore

// The admin API's documents for recognition, trust material, agreements, transfers,
// histories and conflicts (docs/API.md).

/// `POST /v1/verify`: decide whether this node's province recognizes a license.
public struct VerifyRequest: Codable, Sendable, Equatable {
    public var licenseID: String
    /// Why (recorded in the audit log); optional.
    public var purpose: String?

    enum CodingKeys: String, CodingKey {
        case purpose
        case licenseID = "license_id"
    }

    public init(licenseID: String, purpose: String? = nil) {
        self.licenseID = licenseID
        self.purpose = purpose
    }
}

/// A recognition decision: `decision` is `recognized`, `not_recognized` or
/// `undetermined`; `checks` lists every check with its outcome and a plain reason.
public struct RecognitionDocument: Codable, Sendable, Equatable {
    public struct Check: Codable, Sendable, Equatable {
        public let name: String
        public let passed: Bool
        /// `passed`, `failed`, or `unknown` (cannot be decided with what the node holds).
        public let outcome: String
        public let reason: String
    }

    public let licenseID: String
    public let decision: String
    /// The province whose service windows the decision is for.
    public let decidingProvince: String
    public let checks: [Check]
    public let decidedAt: String?
    public let license: LicenseDocument?

    enum CodingKeys: String, CodingKey {
        case decision, checks, license
        case licenseID = "license_id"
        case decidingProvince = "deciding_province"
        case decidedAt = "decided_at"
    }

    public init(_ recognition: Recognition, decidedAt: String?, license: LicenseDocument?) {
        licenseID = recognition.licenseID.text
        decision = recognition.decision.rawValue
        decidingProvince = recognition.decidingProvince
        checks = recognition.checks.map { Check(name: $0.name, passed: $0.passed, outcome: $0.outcome.rawValue, reason: $0.reason) }
        self.decidedAt = decidedAt
        self.license = license
    }
}

/// `POST /v1/trust`: a root-signed certificate or key revocation in its file form
/// (`{"type", "body", "signature"}`).
public struct TrustDocument: Codable, Sendable, Equatable {
    public var type: String?
    public var body: String
    public var signature: String

    public init(type: String?, body: String, signature: String) {
        self.type = type
        self.body = body
        self.signature = signature
    }
}

public struct TrustPublished: Codable, Sendable, Equatable {
    /// `issuer_certificate` or `key_revocation`.
    public let type: String
    public let keyID: String
    /// False when the node already held it (nothing changed).
    public let added: Bool

    enum CodingKeys: String, CodingKey {
        case type, added
        case keyID = "key_id"
    }

    public init(type: String, keyID: String, added: Bool) {
        self.type = type
        self.keyID = keyID
        self.added = added
    }
}

/// One term of an agreement: what is accepted from a province (`*`: every other one).
public struct AgreementTermDocument: Codable, Sendable, Equatable {
    public let province: String
    /// Catalog codes; `["*"]` is the whole catalog, `[]` none.
    public let licenseTypes: [String]

    enum CodingKeys: String, CodingKey {
        case province
        case licenseTypes = "license_types"
    }

    public init(province: String, licenseTypes: [String]) {
        self.province = province
        self.licenseTypes = licenseTypes
    }
}

/// `POST /v1/agreements`: this node's province's new recognition agreement.
public struct AgreementRequest: Codable, Sendable, Equatable {
    public let terms: [AgreementTermDocument]

    public init(terms: [AgreementTermDocument]) {
        self.terms = terms
    }
}

/// `GET /v1/agreements`: every province's policy as this node knows it.
public struct AgreementsDocument: Codable, Sendable, Equatable {
    public struct Province: Codable, Sendable, Equatable {
        public let province: String
        public let provinceName: String
        /// The entry that published it; nil for the national default.
        public let entry: String?
        public let terms: [AgreementTermDocument]

        enum CodingKeys: String, CodingKey {
            case province, entry, terms
            case provinceName = "province_name"
        }

        public init(province: String, provinceName: String, entry: String?, terms: [AgreementTermDocument]) {
            self.province = province
            self.provinceName = provinceName
            self.entry = entry
            self.terms = terms
        }
    }

    /// Every province that has a node in this network (by its certificates), then any
    /// other that published an agreement, by code.
    public let provinces: [Province]

    public init(provinces: [Province]) {
        self.provinces = provinces
    }
}

extension AgreementTermDocument {
    public static func terms(of agreement: RecognitionAgreement) -> [AgreementTermDocument] {
        agreement.terms.sorted { $0.key < $1.key }.map { province, types in
            switch types {
            case .all: AgreementTermDocument(province: province, licenseTypes: [RecognitionAgreement.wildcard])
            case let .only(codes): AgreementTermDocument(province: province, licenseTypes: codes)
            }
        }
    }
}

/// `POST /v1/licenses/{id}/transfer`: the receiving province supersedes another
/// province's license with one of its own. The holder's ID number proves the clerk has
/// the citizen in front of them; it must be the old license's holder.
public struct TransferRequest: Codable, Sendable, Equatable {
    public var holder: String
    public var attributes: [String: String]?
    public var validFrom: String?
    public var validUntil: String?
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case holder, attributes, reason
        case validFrom = "valid_from"
        case validUntil = "valid_until"
    }

    public init(holder: String, attributes: [String: String]?, validFrom: String?, validUntil: String?, reason: String?) {
        self.holder = holder
        self.attributes = attributes
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.reason = reason
    }
}

/// One conflict, as `licensectl conflicts` and `GET /v1/conflicts` show it.
public struct ConflictDocument: Codable, Sendable, Equatable {
    public let licenseID: String
    public let rule: String
    public let first: String
    public let second: String
    public let result: String

    enum CodingKeys: String, CodingKey {
        case rule, first, second, result
        case licenseID = "license_id"
    }

    public init(_ conflict: LicenseConflict) {
        licenseID = conflict.license.text
        rule = conflict.rule.rawValue
        first = conflict.first.description
        second = conflict.second.description
        result = conflict.result
    }
}

public struct ConflictsDocument: Codable, Sendable, Equatable {
    public let conflicts: [ConflictDocument]

    public init(conflicts: [ConflictDocument]) {
        self.conflicts = conflicts
    }
}

/// `GET /v1/licenses/{id}/history`: the events of a license and of the licenses a transfer
/// links it to, in the order they were applied, each with what it happened after (its
/// direct causal predecessors among them) and what it was concurrent with.
public struct HistoryDocument: Codable, Sendable, Equatable {
    public struct Event: Codable, Sendable, Equatable {
        public let entry: String
        public let kind: String
        public let licenseID: String
        public let author: String
        public let at: String
        public let after: [String]
        public let concurrentWith: [String]

        enum CodingKeys: String, CodingKey {
            case entry, kind, author, at, after
            case licenseID = "license_id"
            case concurrentWith = "concurrent_with"
        }

        public init(entry: String, kind: String, licenseID: String, author: String, at: String, after: [String],
                    concurrentWith: [String]) {
            self.entry = entry
            self.kind = kind
            self.licenseID = licenseID
            self.author = author
            self.at = at
            self.after = after
            self.concurrentWith = concurrentWith
        }
    }

    public let licenseID: String
    public let licenses: [LicenseDocument]
    public let events: [Event]
    public let conflicts: [ConflictDocument]

    enum CodingKeys: String, CodingKey {
        case licenses, events, conflicts
        case licenseID = "license_id"
    }

    public init(licenseID: String, licenses: [LicenseDocument], events: [Event], conflicts: [ConflictDocument]) {
        self.licenseID = licenseID
        self.licenses = licenses
        self.events = events
        self.conflicts = conflicts
    }
}
