/// One entry of a conflict: which event, by whom.
public struct EventRef: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let origin: String
    public let seq: UInt64
    public let kind: LicenseEvent.Kind

    public init(_ entry: Entry) {
        origin = entry.body.origin
        seq = entry.body.seq
        kind = entry.body.event.kind
    }

    public init(origin: String, seq: UInt64, kind: LicenseEvent.Kind) {
        self.origin = origin
        self.seq = seq
        self.kind = kind
    }

    public var description: String { "\(kind.rawValue) \(origin)#\(seq)" }

    public static func < (a: EventRef, b: EventRef) -> Bool { (a.origin, a.seq) < (b.origin, b.seq) }
}

/// Two concurrent events that the rules of docs/CONFLICTS.md had to reconcile, the rule
/// applied, and what it decided. Derived from the entries like the license states, so
/// every node holding the same entries lists the same conflicts.
public struct LicenseConflict: Hashable, Sendable {
    public enum Rule: String, Sendable, CaseIterable {
        /// A revoke and a transfer of one license: the revoke stands, the transfer's new license is void.
        case revokeBeatsTransfer = "revoke_beats_transfer"
        /// A suspension (or reinstatement) concurrent with a transfer applies to the new license too.
        case suspensionFollowsTransfer = "suspension_follows_transfer"
        /// An amendment or renewal concurrent with a transfer stays with the old license.
        case changesStayWithOldLicense = "changes_stay_with_old_license"
        /// A suspension and a concurrent amendment or renewal of one license: both apply.
        case suspendAndChangeBothApply = "suspend_and_change_both_apply"
        /// Two transfers of one license by different provinces: the earlier stands.
        case firstTransferWins = "first_transfer_wins"
        /// Two once-per-holder licenses of one type issued concurrently by different
        /// provinces to one holder: the earlier stands, the later is void.
        case earliestOncePerHolderIssueStands = "earliest_once_per_holder_issue_stands"
    }

    public let rule: Rule
    /// The license whose state the rule decided.
    public let license: LicenseID
    /// The two events, the earlier (hybrid clock, then origin) first.
    public let first: EventRef
    public let second: EventRef
    public let result: String

    public init(rule: Rule, license: LicenseID, first: EventRef, second: EventRef, result: String) {
        self.rule = rule
        self.license = license
        self.first = first
        self.second = second
        self.result = result
    }

    public static func ordering(_ a: LicenseConflict, _ b: LicenseConflict) -> Bool {
        (a.license, a.rule.rawValue, a.first, a.second) < (b.license, b.rule.rawValue, b.first, b.second)
    }
}

/// Causality between entries (DESIGN.md "License events and causality").
public enum Causality {
    /// A happened before B iff B's causal context covers A.
    public static func happenedBefore(_ a: Entry, _ b: Entry) -> Bool {
        b.body.context[a.body.origin] >= a.body.seq
    }

    public static func concurrent(_ a: Entry, _ b: Entry) -> Bool {
        !happenedBefore(a, b) && !happenedBefore(b, a)
    }
}

/// Folds every entry of one holder's licenses into their states and conflicts. A holder's
/// licenses are folded together because the rules cross licenses: a transfer supersedes
/// one license with another, and a once-per-holder type allows one license per citizen.
///
/// Deterministic: events are applied in hybrid-clock order, then (origin, seq), and the
/// conflict rules look only at the events and their causal contexts, so any two nodes
/// holding the same entries, in whatever order they arrived, compute the same states and
/// the same conflicts.
public enum HolderFold {
    /// The catalog's once-per-holder types (the same bundled catalog on every node).
    public static let oncePerHolderTypes: Set<String> = {
        guard let catalog = try? Catalog.bundled() else { return [] }
        return Set(catalog.types.filter(\.oncePerHolder).map(\.code))
    }()

    public struct Result: Sendable {
        /// Every license of the holder, by id.
        public var states: [LicenseState]
        /// Every conflict, in a fixed order.
        public var conflicts: [LicenseConflict]
        /// Events that break a rule of LicenseState and were not applied.
        public var skipped: [(Entry, LicenseEventError)]
    }

    public static func fold(_ input: [Entry], oncePerHolder: Set<String> = oncePerHolderTypes) -> Result {
        var seen = Set<EntryID>()
        let entries = input.filter { $0.body.event.isLicenseEvent && seen.insert($0.id).inserted }
        var states: [LicenseID: LicenseState] = [:]
        var creations: [LicenseID: Entry] = [:]
        for entry in entries where entry.body.event.createsLicense {
            guard let state = try? LicenseState(issuing: entry) else { continue }
            states[state.id] = state
            creations[state.id] = entry
        }
        var fold = Folding(states: states, creations: creations)
        let ordered = entries.filter { $0.body.event.kind != .issue }.sorted { a, b in
            (a.body.hlc, a.body.origin, a.body.seq) < (b.body.hlc, b.body.origin, b.body.seq)
        }
        for entry in ordered {
            if case let .transfer(transfer) = entry.body.event {
                fold.transfer(entry, transfer)
            } else {
                fold.apply(entry)
            }
        }
        fold.oncePerHolder(oncePerHolder)
        return Result(states: fold.states.values.sorted { $0.id < $1.id },
                      conflicts: fold.conflicts.sorted(by: LicenseConflict.ordering), skipped: fold.skipped)
    }

    /// The fold's working state.
    private struct Folding {
        var states: [LicenseID: LicenseState]
        let creations: [LicenseID: Entry]
        var conflicts: [LicenseConflict] = []
        var skipped: [(Entry, LicenseEventError)] = []
        /// The transfer that superseded each license.
        var supersededBy: [LicenseID: Entry] = [:]
        /// Events applied to each license, for the concurrency checks.
        var applied: [LicenseID: [Entry]] = [:]
        /// Status events carried from a superseded license to its successor.
        var carried: [LicenseID: [Entry]] = [:]

        mutating func conflict(_ rule: LicenseConflict.Rule, _ license: LicenseID, _ a: Entry, _ b: Entry, _ result: String) {
            let (first, second) = (a.body.hlc, a.body.origin, a.body.seq) <= (b.body.hlc, b.body.origin, b.body.seq) ? (a, b) : (b, a)
            conflicts.append(LicenseConflict(rule: rule, license: license, first: EventRef(first), second: EventRef(second),
                                             result: result))
        }

        /// The license a transfer chain from `id` ends in.
        func successor(of id: LicenseID) -> LicenseID? {
            supersededBy[id]?.licenseID
        }

        mutating func transfer(_ entry: Entry, _ transfer: LicenseEvent.Transfer) {
            let successor = entry.licenseID
            guard let old = states[transfer.licenseID] else { return } // the old license has not arrived: the new one stands alone
            do {
                let after = try old.superseded(by: transfer, author: entry.body.origin, successor: successor, at: entry.body.hlc)
                states[old.id] = after
                supersededBy[old.id] = entry
                // The new license starts in the old one's status: a suspension follows the holder.
                if old.status == .suspended, var new = states[successor] {
                    new.status = .suspended
                    new.statusReason = old.statusReason
                    states[successor] = new
                }
                for earlier in applied[old.id, default: []] where earlier.body.origin != entry.body.origin
                    && Causality.concurrent(earlier, entry) {
                    switch earlier.body.event.kind {
                    case .suspend, .reinstate:
                        conflict(.suspensionFollowsTransfer, successor, earlier, entry,
                                 "\(successor.text) starts \(states[successor]?.status.rawValue ?? "?"), as \(old.id.text) was")
                    case .amend, .renew:
                        conflict(.changesStayWithOldLicense, old.id, earlier, entry,
                                 "the \(earlier.body.event.kind.rawValue) stays with \(old.id.text); \(successor.text) keeps what the transfer says")
                    default:
                        break
                    }
                }
            } catch {
                void(successor, because: "\(transfer.licenseID.text) could not be transferred: \(error)")
                skipped.append((entry, error))
                // Refused because of an event the transfer did not see: a conflict.
                if case .alreadyRevoked = error, let revoke = applied[old.id, default: []].last(where: { $0.body.event.kind == .revoke }),
                   Causality.concurrent(revoke, entry) {
                    conflict(.revokeBeatsTransfer, old.id, revoke, entry, "\(old.id.text) is revoked; \(successor.text) is void")
                } else if case .superseded = error, let first = supersededBy[old.id], first.body.origin != entry.body.origin,
                          Causality.concurrent(first, entry) {
                    conflict(.firstTransferWins, old.id, first, entry,
                             "\(first.licenseID.text) stands; \(successor.text) is void")
                }
            }
        }

        mutating func apply(_ entry: Entry) {
            guard let target = entry.body.event.targetLicense, let state = states[target] else { return }
            if state.status == .superseded, let transfer = supersededBy[target], entry.body.origin == state.issuerOrigin,
               Causality.concurrent(transfer, entry) {
                carryAcrossTransfer(entry, from: state, transfer: transfer)
                return
            }
            do {
                states[target] = try state.applying(entry.body.event, author: entry.body.origin, at: entry.body.hlc)
                applied[target, default: []].append(entry)
            } catch {
                skipped.append((entry, error))
                return
            }
            // A change of a license that a concurrent suspension was carried to.
            if [.amend, .renew].contains(entry.body.event.kind) {
                for suspension in carried[target, default: []] where Causality.concurrent(suspension, entry) {
                    conflict(.suspendAndChangeBothApply, target, suspension, entry, "both apply to \(target.text)")
                }
            }
        }

        /// An event the old issuer wrote without seeing the transfer of its license.
        mutating func carryAcrossTransfer(_ entry: Entry, from old: LicenseState, transfer: Entry) {
            let successor = transfer.licenseID
            switch entry.body.event {
            case .revoke(let change):
                var revoked = old
                revoked.status = .revoked
                revoked.statusReason = change.reason
                revoked.updatedAt = max(old.updatedAt, entry.body.hlc)
                revoked.eventCount += 1
                states[old.id] = revoked
                applied[old.id, default: []].append(entry)
                voidChain(from: successor, because: "\(old.id.text) was revoked by its issuer concurrently with its transfer")
                conflict(.revokeBeatsTransfer, old.id, entry, transfer, "\(old.id.text) is revoked; \(successor.text) is void")
            case .suspend(let change), .reinstate(let change):
                guard let live = states[successor], live.status == .active || live.status == .suspended else { return }
                var next = live
                next.status = entry.body.event.kind == .suspend ? .suspended : .active
                next.statusReason = change.reason
                next.updatedAt = max(live.updatedAt, entry.body.hlc)
                next.eventCount += 1
                states[successor] = next
                carried[successor, default: []].append(entry)
                conflict(.suspensionFollowsTransfer, successor, entry, transfer,
                         "\(successor.text) is \(next.status.rawValue), as the \(entry.body.event.kind.rawValue) of \(old.id.text) says")
                for change in applied[successor, default: []] where [.amend, .renew].contains(change.body.event.kind)
                    && Causality.concurrent(change, entry) {
                    conflict(.suspendAndChangeBothApply, successor, entry, change, "both apply to \(successor.text)")
                }
            case .amend, .renew:
                // Applied to the old license's record as if it had not been superseded.
                var active = old
                active.status = .active
                if let changed = try? active.applying(entry.body.event, author: entry.body.origin, at: entry.body.hlc) {
                    var kept = changed
                    kept.status = old.status
                    kept.statusReason = old.statusReason
                    states[old.id] = kept
                }
                applied[old.id, default: []].append(entry)
                conflict(.changesStayWithOldLicense, old.id, entry, transfer,
                         "the \(entry.body.event.kind.rawValue) stays with \(old.id.text); \(successor.text) keeps what the transfer says")
            default:
                skipped.append((entry, .superseded(old.id)))
            }
        }

        mutating func void(_ id: LicenseID, because reason: String) {
            guard var state = states[id] else { return }
            state.status = .void
            state.statusReason = reason
            states[id] = state
        }

        mutating func voidChain(from id: LicenseID, because reason: String) {
            var next: LicenseID? = id
            var steps = 0
            while let current = next, steps < 64 {
                void(current, because: reason)
                next = successor(of: current)
                steps += 1
            }
        }

        /// Two once-per-holder licenses of one type issued concurrently by different
        /// provinces: the earlier (hybrid clock, then origin, seq) stands.
        mutating func oncePerHolder(_ types: Set<String>) {
            let issues = creations.values.filter { entry in
                if case let .issue(issue) = entry.body.event { return types.contains(issue.licenseType) }
                return false
            }.sorted { a, b in (a.body.hlc, a.body.origin, a.body.seq) < (b.body.hlc, b.body.origin, b.body.seq) }
            for (index, later) in issues.enumerated() {
                guard let type = later.body.event.createdLicense?.licenseType else { continue }
                for earlier in issues[..<index] where earlier.body.event.createdLicense?.licenseType == type
                    && earlier.body.origin != later.body.origin && Causality.concurrent(earlier, later)
                    && states[earlier.licenseID]?.status != .void {
                    voidChain(from: later.licenseID, because: "a citizen may hold one '\(type)'; \(earlier.licenseID.text) was issued concurrently and stands")
                    conflict(.earliestOncePerHolderIssueStands, later.licenseID, earlier, later,
                             "\(earlier.licenseID.text) stands; \(later.licenseID.text) is void")
                    break
                }
            }
        }
    }
}
