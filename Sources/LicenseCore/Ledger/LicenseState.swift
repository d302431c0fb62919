/// The current state of one license: the fold of its events. A derived view; the
/// store recomputes it from entries whenever a license gains an event.
public struct LicenseState: Equatable, Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case active, suspended, revoked
        /// A transfer replaced it with a new license in another province.
        case superseded
        /// It lost a conflict (docs/CONFLICTS.md): it never took effect.
        case void
    }

    /// What a service window sees today: the recorded status, with the validity window applied.
    public enum EffectiveStatus: String, Sendable {
        case active, suspended, revoked, expired, superseded, void
        case notYetValid = "not_yet_valid"
    }

    public let id: LicenseID
    public let licenseType: String
    public let province: String
    public let issuerOrigin: String
    public let issuerKeyID: String
    public let holderRef: HolderRef
    public let holderMasked: String
    public let issuedAt: HybridTimestamp
    public internal(set) var attributes: [String: String]
    public internal(set) var validFrom: CivilDate
    public internal(set) var validUntil: CivilDate?
    public internal(set) var status: Status
    public internal(set) var statusReason: String
    public internal(set) var updatedAt: HybridTimestamp
    public internal(set) var eventCount: Int

    /// The state created by an issue entry, or by a transfer's new license.
    public init(issuing entry: Entry) throws(LicenseEventError) {
        guard let issue = entry.body.event.createdLicense else {
            throw .notAnIssue(entry.licenseID)
        }
        id = entry.licenseID
        licenseType = issue.licenseType
        province = issue.province
        issuerOrigin = entry.body.origin
        issuerKeyID = entry.body.keyID
        holderRef = issue.holderRef
        holderMasked = issue.holderMasked
        issuedAt = entry.body.hlc
        attributes = issue.attributes
        validFrom = issue.validFrom
        validUntil = issue.validUntil
        status = .active
        statusReason = ""
        updatedAt = entry.body.hlc
        eventCount = 1
    }

    /// Rebuilds a state from its stored columns (the store's materialized view).
    public init(id: LicenseID, licenseType: String, province: String, issuerOrigin: String, issuerKeyID: String,
                holderRef: HolderRef, holderMasked: String, issuedAt: HybridTimestamp, attributes: [String: String],
                validFrom: CivilDate, validUntil: CivilDate?, status: Status, statusReason: String,
                updatedAt: HybridTimestamp, eventCount: Int) {
        self.id = id
        self.licenseType = licenseType
        self.province = province
        self.issuerOrigin = issuerOrigin
        self.issuerKeyID = issuerKeyID
        self.holderRef = holderRef
        self.holderMasked = holderMasked
        self.issuedAt = issuedAt
        self.attributes = attributes
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.status = status
        self.statusReason = statusReason
        self.updatedAt = updatedAt
        self.eventCount = eventCount
    }

    public func effectiveStatus(today: CivilDate) -> EffectiveStatus {
        switch status {
        case .revoked: return .revoked
        case .suspended: return .suspended
        case .superseded: return .superseded
        case .void: return .void
        case .active:
            if today < validFrom { return .notYetValid }
            if let validUntil, today > validUntil { return .expired }
            return .active
        }
    }

    /// The state after a transfer by `author` (the receiving province) superseded this
    /// license with `successor`, or the rule the transfer breaks.
    public func superseded(by transfer: LicenseEvent.Transfer, author: String, successor: LicenseID,
                           at hlc: HybridTimestamp) throws(LicenseEventError) -> LicenseState {
        guard transfer.licenseID == id else { throw .unknownLicense(transfer.licenseID) }
        guard author != issuerOrigin else { throw .transferToItself(id) }
        switch status {
        case .revoked: throw .alreadyRevoked(id)
        case .superseded: throw .superseded(id)
        case .void: throw .void(id)
        case .active, .suspended: break
        }
        guard transfer.license.licenseType == licenseType, transfer.license.holderRef == holderRef else {
            throw .transferMismatch(id)
        }
        var next = self
        next.status = .superseded
        next.statusReason = "superseded by \(successor.text) (transfer to \(transfer.license.province))"
        next.updatedAt = max(updatedAt, hlc)
        next.eventCount += 1
        return next
    }

    /// The state after `event`, authored by `author`, or the rule it breaks.
    /// One rule set serves both sides: a node checks a local request with it before
    /// signing, and the fold applies received events with it.
    public func applying(_ event: LicenseEvent, author: String, at hlc: HybridTimestamp) throws(LicenseEventError) -> LicenseState {
        var next = self
        try next.apply(event, author: author, at: hlc)
        return next
    }

    /// Applies `event` in place; on a refusal nothing has changed (every check comes
    /// before the first change). The fold calls this on states it owns, so no copy is made.
    public mutating func apply(_ event: LicenseEvent, author: String, at hlc: HybridTimestamp) throws(LicenseEventError) {
        guard let target = event.targetLicense else { throw .notAnIssue(id) }
        guard target == id else { throw .unknownLicense(target) }
        try applyToThisLicense(event, author: author, at: hlc)
    }

    /// `apply` for a caller that found this license by the event's target.
    mutating func applyToThisLicense(_ event: LicenseEvent, author: String, at hlc: HybridTimestamp) throws(LicenseEventError) {
        // Only the issuing province's node writes later events of its licenses.
        guard author == issuerOrigin else {
            throw .notIssuer(license: id, issuer: issuerOrigin, author: author)
        }
        guard status != .revoked else { throw .alreadyRevoked(id) }
        guard status != .superseded else { throw .superseded(id) }
        guard status != .void else { throw .void(id) }
        switch event {
        case .issue, .agreement, .transfer:
            throw .notAnIssue(id)
        case let .amend(amend):
            guard !amend.set.isEmpty || !amend.remove.isEmpty else { throw .emptyAmendment(id) }
            for name in amend.remove { attributes[name] = nil }
            for (name, value) in amend.set { attributes[name] = value }
        case let .renew(renew):
            guard renew.validUntil >= validFrom else {
                throw .renewalBeforeStart(license: id, validFrom: validFrom, validUntil: renew.validUntil)
            }
            if let current = validUntil, renew.validUntil <= current {
                throw .renewalNotLater(license: id, current: current, requested: renew.validUntil)
            }
            if validUntil == nil { throw .doesNotExpire(id) }
            validUntil = renew.validUntil
        case let .suspend(change):
            guard status == .active else { throw .alreadySuspended(id) }
            status = .suspended
            statusReason = change.reason
        case let .reinstate(change):
            guard status == .suspended else { throw .notSuspended(id) }
            status = .active
            statusReason = change.reason
        case let .revoke(change):
            status = .revoked
            statusReason = change.reason
        }
        updatedAt = max(updatedAt, hlc)
        eventCount += 1
    }
}

/// Why an event cannot apply to a license.
public enum LicenseEventError: Error, Equatable, CustomStringConvertible {
    case unknownLicense(LicenseID)
    case notAnIssue(LicenseID)
    case notIssuer(license: LicenseID, issuer: String, author: String)
    case alreadyRevoked(LicenseID)
    case alreadySuspended(LicenseID)
    case notSuspended(LicenseID)
    case emptyAmendment(LicenseID)
    case renewalNotLater(license: LicenseID, current: CivilDate, requested: CivilDate)
    case renewalBeforeStart(license: LicenseID, validFrom: CivilDate, validUntil: CivilDate)
    case doesNotExpire(LicenseID)
    case superseded(LicenseID)
    case void(LicenseID)
    case transferToItself(LicenseID)
    case transferMismatch(LicenseID)
    /// The catalog allows one license of this type per citizen nationally, and the
    /// holder already has one that is neither revoked nor expired.
    case alreadyHoldsType(type: String, existing: LicenseID)

    public var code: String {
        switch self {
        case .unknownLicense: "unknown_license"
        case .notAnIssue: "not_an_issue"
        case .notIssuer: "not_issuer"
        case .alreadyRevoked: "already_revoked"
        case .alreadySuspended: "not_active"
        case .notSuspended: "not_suspended"
        case .emptyAmendment: "empty_amendment"
        case .renewalNotLater: "renewal_not_later"
        case .renewalBeforeStart: "renewal_before_start"
        case .doesNotExpire: "does_not_expire"
        case .superseded: "superseded"
        case .void: "void"
        case .transferToItself: "transfer_to_issuer"
        case .transferMismatch: "transfer_mismatch"
        case .alreadyHoldsType: "already_holds_type"
        }
    }

    public var description: String {
        switch self {
        case let .unknownLicense(id): "no license with id \(id)"
        case let .notAnIssue(id): "entry for license \(id) does not issue it"
        case let .notIssuer(id, issuer, author):
            "license \(id) was issued by '\(issuer)'; '\(author)' may not change it"
        case let .alreadyRevoked(id): "license \(id) is already revoked"
        case let .alreadySuspended(id): "license \(id) is not active (already suspended)"
        case let .notSuspended(id): "license \(id) is not suspended"
        case let .emptyAmendment(id): "amendment of license \(id) changes nothing"
        case let .renewalNotLater(id, current, requested):
            "renewal of license \(id) to \(requested) is not later than its current end \(current)"
        case let .renewalBeforeStart(id, from, until):
            "renewal of license \(id) to \(until) ends before it starts (\(from))"
        case let .doesNotExpire(id): "license \(id) does not expire and cannot be renewed"
        case let .superseded(id): "license \(id) was transferred to another province and is superseded"
        case let .void(id): "license \(id) is void (it lost a conflict; see licensectl conflicts)"
        case let .transferToItself(id): "license \(id) is issued by this province; a transfer is written by the receiving province"
        case let .transferMismatch(id): "a transfer of license \(id) must keep its type and holder"
        case let .alreadyHoldsType(type, existing):
            "the holder already holds a '\(type)' (license \(existing)); a citizen may hold only one"
        }
    }
}

/// Folds the entries of one license into its state: the license's view of its holder's
/// fold (`HolderFold`), for callers that have one license's entries.
public enum LicenseFold {
    /// `entries` are all known entries of one license, in any order. The state of the
    /// license the first issue (or transfer) creates, and the events skipped as breaking a rule.
    public static func fold(_ entries: [Entry]) -> (state: LicenseState, skipped: [(Entry, LicenseEventError)])? {
        guard let creation = entries.first(where: { $0.body.event.kind == .issue })
                ?? entries.first(where: { $0.body.event.createsLicense }) else { return nil }
        let folded = HolderFold.fold(entries)
        guard let state = folded.states.first(where: { $0.id == creation.licenseID }) else { return nil }
        return (state, folded.skipped)
    }
}
