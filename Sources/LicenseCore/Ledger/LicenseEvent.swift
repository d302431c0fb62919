/// What an entry says happened to a license, the payload of every ledger entry; or,
/// for `agreement`, a province's recognition policy (which names no license).
public enum LicenseEvent: Equatable, Sendable {
    case issue(Issue)
    case amend(Amend)
    case renew(Renew)
    case suspend(StatusChange)
    case reinstate(StatusChange)
    case revoke(StatusChange)
    case agreement(RecognitionAgreement)
    /// The receiving province supersedes a license with a new one (docs/CONFLICTS.md).
    case transfer(Transfer)

    /// Limits on what one event may carry (STYLE.md: put a limit on everything).
    public static let attributesMax = 64
    public static let reasonBytesMax = 500

    public enum Kind: String, Sendable, CaseIterable {
        case issue, amend, renew, suspend, reinstate, revoke, agreement, transfer
    }

    public struct Issue: Equatable, Sendable {
        public var licenseType: String
        public var province: String
        public var holderRef: HolderRef
        public var holderMasked: String
        public var attributes: [String: String]
        public var validFrom: CivilDate
        /// Nil when the license does not expire.
        public var validUntil: CivilDate?

        public init(licenseType: String, province: String, holderRef: HolderRef, holderMasked: String,
                    attributes: [String: String], validFrom: CivilDate, validUntil: CivilDate?) {
            self.licenseType = licenseType
            self.province = province
            self.holderRef = holderRef
            self.holderMasked = holderMasked
            self.attributes = attributes
            self.validFrom = validFrom
            self.validUntil = validUntil
        }
    }

    public struct Amend: Equatable, Sendable {
        public var licenseID: LicenseID
        public var set: [String: String]
        public var remove: [String]
        public var reason: String

        public init(licenseID: LicenseID, set: [String: String], remove: [String], reason: String) {
            self.licenseID = licenseID
            self.set = set
            // Sorted and distinct: the only form the entry decoder accepts.
            self.remove = Array(Set(remove)).sorted()
            self.reason = reason
        }
    }

    public struct Renew: Equatable, Sendable {
        public var licenseID: LicenseID
        public var validUntil: CivilDate
        public var reason: String

        public init(licenseID: LicenseID, validUntil: CivilDate, reason: String) {
            self.licenseID = licenseID
            self.validUntil = validUntil
            self.reason = reason
        }
    }

    public struct Transfer: Equatable, Sendable {
        /// The license superseded.
        public var licenseID: LicenseID
        /// The new license: same type and holder as the old; its province is the sender's.
        public var license: Issue
        public var reason: String

        public init(licenseID: LicenseID, license: Issue, reason: String) {
            self.licenseID = licenseID
            self.license = license
            self.reason = reason
        }
    }

    public struct StatusChange: Equatable, Sendable {
        public var licenseID: LicenseID
        public var reason: String

        public init(licenseID: LicenseID, reason: String) {
            self.licenseID = licenseID
            self.reason = reason
        }
    }

    public var kind: Kind {
        switch self {
        case .issue: .issue
        case .amend: .amend
        case .renew: .renew
        case .suspend: .suspend
        case .reinstate: .reinstate
        case .revoke: .revoke
        case .agreement: .agreement
        case .transfer: .transfer
        }
    }

    /// True for the events that create or change a license (all but `agreement`).
    public var isLicenseEvent: Bool {
        if case .agreement = self { return false }
        return true
    }

    /// True for the events whose entry creates a license: `issue`, and `transfer` (whose
    /// new license's id, like an issue's, is derived from the entry).
    public var createsLicense: Bool {
        switch self {
        case .issue, .transfer: true
        default: false
        }
    }

    /// The new license's fields, for the events that create one.
    public var createdLicense: Issue? {
        switch self {
        case let .issue(issue): issue
        case let .transfer(transfer): transfer.license
        default: nil
        }
    }

    /// The license a later event acts on; nil for `issue`, whose license id is derived
    /// from its entry id, and for `agreement`, which names no license.
    public var targetLicense: LicenseID? {
        switch self {
        case .issue, .agreement: nil
        case let .amend(a): a.licenseID
        case let .renew(r): r.licenseID
        case let .suspend(s), let .reinstate(s), let .revoke(s): s.licenseID
        case let .transfer(t): t.licenseID
        }
    }
}
