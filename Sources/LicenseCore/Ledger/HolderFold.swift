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

    /// What a transfer does to the license it supersedes (`old`) and to the one it creates
    /// (`new`), before any conflict with a concurrent event: `old` is superseded and `new`
    /// starts in its status (a suspension follows the holder), or, when `old` cannot be
    /// transferred, `new` is void and the error is thrown. The fold's step for a transfer,
    /// and the whole of it for a transfer that happened after every other event of the
    /// holder (the store applies such a transfer without folding the holder again).
    public static func applyTransfer(_ entry: Entry, _ transfer: LicenseEvent.Transfer,
                                     old: inout LicenseState, new: inout LicenseState) throws(LicenseEventError) {
        let before = old
        do {
            old = try before.superseded(by: transfer, author: entry.body.origin, successor: new.id, at: entry.body.hlc)
        } catch {
            new.status = .void
            new.statusReason = "\(before.id.text) could not be transferred: \(error)"
            throw error
        }
        if before.status == .suspended, new.status == .active {
            new.status = .suspended
            new.statusReason = before.statusReason
        }
    }

    /// The entries of license `id`'s lineage among `entries`: its own, and those of every
    /// license a transfer links to it, either way (what its history and its bundle show).
    public static func lineage(of id: LicenseID, in entries: [Entry]) -> [Entry] {
        var lineage: Set<LicenseID> = [id]
        var grew = true
        while grew {
            grew = false
            for entry in entries {
                guard case let .transfer(transfer) = entry.body.event,
                      lineage.contains(transfer.licenseID) != lineage.contains(entry.licenseID) else { continue }
                lineage.formUnion([transfer.licenseID, entry.licenseID])
                grew = true
            }
        }
        return entries.filter { entry in
            lineage.contains(entry.licenseID) || entry.body.event.targetLicense.map(lineage.contains) == true
        }
    }

    /// `distinct`: the caller guarantees no entry appears twice (a ledger's entries, each
    /// stored once), so the fold need not look for duplicates.
    public static func fold(_ input: [Entry], oncePerHolder: Set<String> = oncePerHolderTypes, distinct: Bool = false) -> Result {
        // Entries are referred to by index into `input`: copying an entry retains a dozen buffers.
        var live: [Int] = []
        live.reserveCapacity(input.count)
        if distinct {
            for i in input.indices where input[i].body.event.isLicenseEvent { live.append(i) }
        } else {
            var seen = Set<EntryID>(minimumCapacity: input.count)
            for i in input.indices where input[i].body.event.isLicenseEvent && seen.insert(input[i].id).inserted {
                live.append(i)
            }
        }
        var rank: [String: Int] = [:]
        for i in live where rank[input[i].body.origin] == nil { rank[input[i].body.origin] = 0 }
        for (position, origin) in rank.keys.sorted().enumerated() { rank[origin] = position }
        let entries = input
        var fold = Folding(entries: entries, live: live, rank: rank)
        for i in live where fold.kinds[i] == .issue || fold.kinds[i] == .transfer {
            fold.create(i)
        }
        let order = causalOrder(fold, live: live, origins: rank.sorted { $0.value < $1.value }.map(\.key))
        for index in order {
            if case let .transfer(transfer) = entries[index].body.event {
                fold.transfer(index, transfer)
            } else {
                fold.apply(index)
            }
        }
        fold.oncePerHolder(oncePerHolder)
        return Result(states: fold.states.sorted { $0.id < $1.id },
                      conflicts: fold.conflicts.sorted(by: LicenseConflict.ordering), skipped: fold.skipped)
    }

    /// The order events are applied in: a linear extension of causality (an event comes
    /// after every event of the group that happened before it, even when a skewed clock
    /// says otherwise), taking among the events that are ready the smallest (hybrid clock,
    /// origin, seq). Each origin's events are in seq order already; only the heads of the
    /// origins' queues are compared. Contexts that contradict each other (no head is ready)
    /// fall back to clock order.
    private static func causalOrder(_ fold: Folding, live: [Int], origins: [String]) -> [Int] {
        var queues = [[Int]](repeating: [], count: origins.count)
        for i in live where fold.kinds[i] != .issue { queues[fold.origin[i]].append(i) }
        for o in queues.indices { queues[o].sort { fold.seqs[$0] < fold.seqs[$1] } }
        let total = queues.reduce(0) { $0 + $1.count }
        let busy = queues.indices.filter { !queues[$0].isEmpty }
        if busy.count <= 1 { return busy.first.map { queues[$0] } ?? [] }
        let k = fold.originCount
        func precedes(_ a: Int, _ b: Int) -> Bool {
            (fold.walls[a], fold.logicals[a], fold.origin[a], fold.seqs[a]) < (fold.walls[b], fold.logicals[b], fold.origin[b], fold.seqs[b])
        }
        var heads = [Int](repeating: 0, count: k)
        var order: [Int] = []
        order.reserveCapacity(total)
        while order.count < total {
            var best: Int?
            var fallback: Int?
            for o in busy where heads[o] < queues[o].count {
                let candidate = queues[o][heads[o]]
                if fallback.map({ precedes(candidate, $0) }) ?? true { fallback = candidate }
                var ready = true
                for p in busy where p != o && heads[p] < queues[p].count
                    && fold.seen[candidate * k + p] >= fold.seqs[queues[p][heads[p]]] {
                    ready = false
                    break
                }
                if ready, best.map({ precedes(candidate, $0) }) ?? true { best = candidate }
            }
            let next = best ?? fallback!
            order.append(next)
            heads[fold.origin[next]] += 1
        }
        return order
    }

    /// The fold's working state. Licenses and entries are referred to by index.
    private struct Folding {
        let entries: [Entry]
        var states: [LicenseState] = []
        var index: [LicenseID: Int] = [:]
        /// Per license: the entry that created it, the transfer that superseded it, the
        /// events applied to it, and the status events carried to it across a transfer.
        var creation: [Int] = []
        var supersededBy: [Int?] = []
        var applied: [[Int]] = []
        var carried: [[Int]] = []
        var conflicts: [LicenseConflict] = []
        var skipped: [(Entry, LicenseEventError)] = []

        /// Per entry (by index into `entries`, duplicates included): its origin's rank, its
        /// seq and its kind, as plain values.
        var origin: [Int]
        var seqs: [UInt64]
        var kinds: [LicenseEvent.Kind]
        /// Hybrid clock readings as plain values: comparing through `entries[i].body` copies the body.
        var walls: [UInt64]
        var logicals: [UInt32]
        /// What each entry's causal context says of each origin (by rank): `seen[i * k + p]`.
        var seen: [UInt64]
        let originCount: Int

        init(entries: [Entry], live: [Int], rank: [String: Int]) {
            self.entries = entries
            origin = Array(repeating: 0, count: entries.count)
            seqs = Array(repeating: 0, count: entries.count)
            kinds = Array(repeating: .issue, count: entries.count)
            walls = Array(repeating: 0, count: entries.count)
            logicals = Array(repeating: 0, count: entries.count)
            originCount = rank.count
            seen = Array(repeating: 0, count: entries.count * rank.count)
            let names = rank.sorted { $0.value < $1.value }.map(\.key)
            // Field by field: binding `entries[i].body` to a name would copy the whole body.
            for i in live {
                let own = rank[entries[i].body.origin] ?? 0
                if names.count > 1 {
                    for p in names.indices where p != own { seen[i * names.count + p] = entries[i].body.context[names[p]] }
                }
                origin[i] = own
                seqs[i] = entries[i].body.seq
                kinds[i] = entries[i].body.event.kind
                walls[i] = entries[i].body.hlc.wallMilliseconds
                logicals[i] = entries[i].body.hlc.logical
            }
        }

        mutating func create(_ i: Int) {
            guard let state = try? LicenseState(issuing: entries[i]), index[state.id] == nil else { return }
            index[state.id] = states.count
            states.append(state)
            creation.append(i)
            supersededBy.append(nil)
            applied.append([])
            carried.append([])
        }

        /// `Causality.concurrent` of entries `a` and `b`.
        func concurrent(_ a: Int, _ b: Int) -> Bool {
            origin[a] != origin[b]
                && entries[b].body.context[entries[a].body.origin] < seqs[a] && entries[a].body.context[entries[b].body.origin] < seqs[b]
        }

        mutating func conflict(_ rule: LicenseConflict.Rule, _ license: Int, _ a: Int, _ b: Int, _ result: String) {
            let x = entries[a].body, y = entries[b].body
            let (first, second) = (x.hlc, x.origin, x.seq) <= (y.hlc, y.origin, y.seq) ? (a, b) : (b, a)
            conflicts.append(LicenseConflict(rule: rule, license: states[license].id, first: EventRef(entries[first]),
                                             second: EventRef(entries[second]), result: result))
        }

        mutating func transfer(_ t: Int, _ transfer: LicenseEvent.Transfer) {
            let entry = entries[t]
            guard let new = index[entry.licenseID] else { return }
            // A transfer stands only on its old license: until that has arrived (or when it
            // belongs to another holder, so it never joins this fold) the new one is void.
            guard let old = index[transfer.licenseID] else {
                void(new, because: "the license it supersedes, \(transfer.licenseID.text), is not known here")
                return
            }
            let before = states[old]
            var (oldState, newState) = (before, states[new])
            do {
                try HolderFold.applyTransfer(entry, transfer, old: &oldState, new: &newState)
            } catch {
                states[new] = newState
                skipped.append((entry, error))
                // Refused because of an event the transfer did not see: a conflict.
                if case .alreadyRevoked = error,
                   let revoke = applied[old].last(where: { kinds[$0] == .revoke }), concurrent(revoke, t) {
                    conflict(.revokeBeatsTransfer, old, revoke, t, "\(before.id.text) is revoked; \(states[new].id.text) is void")
                } else if case .superseded = error, let first = supersededBy[old], origin[first] != origin[t], concurrent(first, t) {
                    conflict(.firstTransferWins, old, first, t,
                             "\(entries[first].licenseID.text) stands; \(states[new].id.text) is void")
                }
                return
            }
            (states[old], states[new]) = (oldState, newState)
            supersededBy[old] = t
            for earlier in applied[old] where origin[earlier] != origin[t] && concurrent(earlier, t) {
                switch kinds[earlier] {
                case .suspend, .reinstate:
                    conflict(.suspensionFollowsTransfer, new, earlier, t,
                             "\(states[new].id.text) starts \(states[new].status.rawValue), as \(before.id.text) was")
                case .amend, .renew:
                    conflict(.changesStayWithOldLicense, old, earlier, t,
                             "the \(entries[earlier].body.event.kind.rawValue) stays with \(before.id.text); "
                             + "\(states[new].id.text) keeps what the transfer says")
                default:
                    break
                }
            }
        }

        mutating func apply(_ e: Int) {
            guard let targetID = entries[e].body.event.targetLicense, let target = index[targetID] else { return }
            if states[target].status == .superseded, let t = supersededBy[target],
               entries[e].body.origin == states[target].issuerOrigin, concurrent(t, e) {
                carryAcrossTransfer(e, from: target, transfer: t)
                return
            }
            do {
                try states[target].applyToThisLicense(entries[e].body.event, author: entries[e].body.origin, at: entries[e].body.hlc)
                applied[target].append(e)
            } catch {
                skipped.append((entries[e], error))
                return
            }
            // A change of a license that a concurrent suspension was carried to.
            if !carried[target].isEmpty, kinds[e] == .amend || kinds[e] == .renew {
                for suspension in carried[target] where concurrent(suspension, e) {
                    conflict(.suspendAndChangeBothApply, target, suspension, e, "both apply to \(states[target].id.text)")
                }
            }
        }

        /// An event the old issuer wrote without seeing the transfer of its license.
        mutating func carryAcrossTransfer(_ e: Int, from old: Int, transfer t: Int) {
            let entry = entries[e]
            guard let new = index[entries[t].licenseID] else { return }
            let oldID = states[old].id.text, newID = states[new].id.text
            switch entry.body.event {
            case .revoke(let change):
                states[old].status = .revoked
                states[old].statusReason = change.reason
                states[old].updatedAt = max(states[old].updatedAt, entry.body.hlc)
                states[old].eventCount += 1
                applied[old].append(e)
                voidChain(from: new, because: "\(oldID) was revoked by its issuer concurrently with its transfer")
                conflict(.revokeBeatsTransfer, old, e, t, "\(oldID) is revoked; \(newID) is void")
            case .suspend(let change), .reinstate(let change):
                guard states[new].status == .active || states[new].status == .suspended else { return }
                states[new].status = entry.body.event.kind == .suspend ? .suspended : .active
                states[new].statusReason = change.reason
                states[new].updatedAt = max(states[new].updatedAt, entry.body.hlc)
                states[new].eventCount += 1
                carried[new].append(e)
                conflict(.suspensionFollowsTransfer, new, e, t,
                         "\(newID) is \(states[new].status.rawValue), as the \(entry.body.event.kind.rawValue) of \(oldID) says")
                for change in applied[new] where (kinds[change] == .amend || kinds[change] == .renew) && concurrent(change, e) {
                    conflict(.suspendAndChangeBothApply, new, e, change, "both apply to \(newID)")
                }
            case .amend, .renew:
                // Applied to the old license's record as if it had not been superseded.
                let kept = (states[old].status, states[old].statusReason)
                var record = states[old]
                record.status = .active
                if (try? record.apply(entry.body.event, author: entry.body.origin, at: entry.body.hlc)) != nil {
                    (record.status, record.statusReason) = kept
                    states[old] = record
                }
                applied[old].append(e)
                conflict(.changesStayWithOldLicense, old, e, t,
                         "the \(entry.body.event.kind.rawValue) stays with \(oldID); \(newID) keeps what the transfer says")
            default:
                skipped.append((entry, .superseded(states[old].id)))
            }
        }

        mutating func void(_ license: Int, because reason: String) {
            states[license].status = .void
            states[license].statusReason = reason
        }

        mutating func voidChain(from license: Int, because reason: String) {
            var next: Int? = license
            var steps = 0
            while let current = next, steps < 64 {
                void(current, because: reason)
                next = supersededBy[current].flatMap { index[entries[$0].licenseID] }
                steps += 1
            }
        }

        /// Two once-per-holder licenses of one type issued concurrently by different
        /// provinces: the earlier (hybrid clock, then origin, seq) stands.
        mutating func oncePerHolder(_ types: Set<String>) {
            let issues = states.indices.filter { license in
                if case let .issue(issue) = entries[creation[license]].body.event { return types.contains(issue.licenseType) }
                return false
            }
            guard issues.count > 1 else { return }
            let ordered = issues.sorted { a, b in
                let x = creation[a], y = creation[b]
                return (entries[x].body.hlc, origin[x], seqs[x]) < (entries[y].body.hlc, origin[y], seqs[y])
            }
            for (position, later) in ordered.enumerated() {
                let type = states[later].licenseType
                for earlier in ordered[..<position] where states[earlier].licenseType == type
                    && origin[creation[earlier]] != origin[creation[later]]
                    && concurrent(creation[earlier], creation[later]) && states[earlier].status != .void {
                    voidChain(from: later, because: "a citizen may hold one '\(type)'; \(states[earlier].id.text) was issued concurrently and stands")
                    conflict(.earliestOncePerHolderIssueStands, later, creation[earlier], creation[later],
                             "\(states[earlier].id.text) stands; \(states[later].id.text) is void")
                    break
                }
            }
        }
    }
}
