/// The current state of one license: the fold of its events. A derived view; the
/// store recomputes it from entries whenever a license gains an event.
public struct LicenseState: Equatable, Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case active, suspended, revoked
    }

    /// What a service window sees today: the recorded status, with the validity window applied.
    public enum EffectiveStatus: String, Sendable {
        case active, suspended, revoked, expired
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

    /// The state created by an issue entry.
    public init(issuing entry: Entry) throws(LicenseEventError) {
        guard case let .issue(issue) = entry.body.event else {
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
        case .active:
            if today < validFrom { return .notYetValid }
            if let validUntil, today > validUntil { return .expired }
            return .active
        }
    }

    /// The state after `event`, authored by `author`, or the rule it breaks.
    /// One rule set serves both sides: a node checks a local request with it before
    /// signing, and the fold applies received events with it.
    public func applying(_ event: LicenseEvent, author: String, at hlc: HybridTimestamp) throws(LicenseEventError) -> LicenseState {
        guard let target = event.targetLicense else { throw .notAnIssue(id) }
        guard target == id else { throw .unknownLicense(target) }
        // Only the issuing province's node writes later events of its licenses.
        guard author == issuerOrigin else {
            throw .notIssuer(license: id, issuer: issuerOrigin, author: author)
        }
        guard status != .revoked else { throw .alreadyRevoked(id) }
        var next = self
        switch event {
        case .issue, .agreement:
            throw .notAnIssue(id)
        case let .amend(amend):
            guard !amend.set.isEmpty || !amend.remove.isEmpty else { throw .emptyAmendment(id) }
            for name in amend.remove { next.attributes[name] = nil }
            for (name, value) in amend.set { next.attributes[name] = value }
        case let .renew(renew):
            guard renew.validUntil >= validFrom else {
                throw .renewalBeforeStart(license: id, validFrom: validFrom, validUntil: renew.validUntil)
            }
            if let current = validUntil, renew.validUntil <= current {
                throw .renewalNotLater(license: id, current: current, requested: renew.validUntil)
            }
            if validUntil == nil { throw .doesNotExpire(id) }
            next.validUntil = renew.validUntil
        case let .suspend(change):
            guard status == .active else { throw .alreadySuspended(id) }
            next.status = .suspended
            next.statusReason = change.reason
        case let .reinstate(change):
            guard status == .suspended else { throw .notSuspended(id) }
            next.status = .active
            next.statusReason = change.reason
        case let .revoke(change):
            next.status = .revoked
            next.statusReason = change.reason
        }
        next.updatedAt = max(updatedAt, hlc)
        next.eventCount += 1
        return next
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
        case let .alreadyHoldsType(type, existing):
            "the holder already holds a '\(type)' (license \(existing)); a citizen may hold only one"
        }
    }
}

/// Folds the entries of one license into its state.
public enum LicenseFold {
    /// `entries` are all known entries of one license, in any order. Later events are
    /// applied in HLC order, then (origin, seq): a deterministic linear extension of
    /// causality, so every node holding the same entries computes the same state.
    /// Events that break a rule (see `LicenseState.applying`) are skipped and returned.
    public static func fold(_ entries: [Entry]) -> (state: LicenseState, skipped: [(Entry, LicenseEventError)])? {
        guard let issue = entries.first(where: { $0.body.event.kind == .issue }),
              var state = try? LicenseState(issuing: issue)
        else { return nil }
        let later = entries.filter { $0.body.event.kind != .issue && $0.body.event.isLicenseEvent }.sorted { a, b in
            (a.body.hlc, a.body.origin, a.body.seq) < (b.body.hlc, b.body.origin, b.body.seq)
        }
        var skipped: [(Entry, LicenseEventError)] = []
        for entry in later {
            do {
                state = try state.applying(entry.body.event, author: entry.body.origin, at: entry.body.hlc)
            } catch {
                skipped.append((entry, error))
            }
        }
        return (state, skipped)
    }
}
