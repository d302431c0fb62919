import Foundation
import GRDB
@_spi(Testing) import LicenseCore

extension LedgerStore {
    /// The running state digest (meta 'state_digest'), read once per write transaction.
    static func loadDigest(_ db: Database) throws -> StateDigest {
        let hex = try RawStatement(db, "SELECT value FROM meta WHERE key = 'state_digest'").first({ _ in }) { $0.text(0) } ?? nil
        return hex.flatMap(StateDigest.init(hex:)) ?? StateDigest()
    }

    static func saveDigest(_ digest: StateDigest, _ db: Database) throws {
        try RawStatement(db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('state_digest', ?)").execute { $0.bind(digest.hex) }
    }

    /// Folds every license of `holder` again from its entries (`HolderFold`), and writes what
    /// changed: the license rows, the holder's conflicts, and the digest.
    /// `memo`: decoded entries shared with other stores (the simulator's).
    static func refoldHolder(_ holder: HolderRef, digest: inout StateDigest, _ db: Database, memo: EntryMemo? = nil) throws {
        let current = try LicenseRow.fetchRows(holder: holder, in: db)
        guard !current.isEmpty else { return }
        let entries = try Self.entries(licenseRows: current.map(\.row), db, memo: memo)
        let folded = HolderFold.fold(entries, distinct: true)
        let byID = Dictionary(current.map { ($0.state.id, $0) }) { a, _ in a }
        for state in folded.states {
            guard let (row, old) = byID[state.id] else { continue }
            try rewrite(row: row, from: old, to: state, digest: &digest, db)
        }
        let held = try conflicts(holder: holder, db)
        guard held != folded.conflicts else { return }
        for conflict in held { digest.subtract(StateDigest.hash(conflict)) }
        try RawStatement(db, "DELETE FROM conflicts WHERE holder_ref = ?").execute { $0.bind(blob: holder.bytes) }
        for conflict in folded.conflicts {
            digest.add(StateDigest.hash(conflict))
            try db.cachedStatement(sql: """
                INSERT INTO conflicts (holder_ref, license_id, rule, first_origin, first_seq, first_kind,
                                       second_origin, second_seq, second_kind, result)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                    Data(holder.bytes), conflict.license.text, conflict.rule.rawValue,
                    conflict.first.origin, Int64(conflict.first.seq), conflict.first.kind.rawValue,
                    conflict.second.origin, Int64(conflict.second.seq), conflict.second.kind.rawValue, conflict.result,
                ])
        }
    }

    /// Rewrites a license's view and moves the digest by the difference; nothing when the
    /// state did not change.
    static func rewrite(row: Int64, from stored: LicenseState, to next: LicenseState, digest: inout StateDigest,
                        _ db: Database) throws {
        guard next != stored else { return }
        digest.subtract(StateDigest.hash(stored))
        digest.add(StateDigest.hash(next))
        try LicenseRow.update(next, row: row, in: db)
    }

    /// True when the holder's fold would apply `entry` (stored already) after every event of
    /// the licenses it is folded with, and everything else in the same order as before, so
    /// applying it to the stored views of its own license (a transfer's two) is the whole
    /// refold (docs/CONFLICTS.md, "When a holder is not folded again"). One read of the
    /// holder's entries' positions, clocks, what each saw of this entry's origin and which
    /// license a transfer supersedes, instead of decoding and folding them.
    ///
    /// The licenses it is folded with are its license's lineage (those a transfer links to
    /// it, either way), and for a once-per-holder issue every license of its type. The
    /// fold's steps for other licenses change only their own licenses, so only the order
    /// among their own events matters. It holds when:
    /// - none of the holder's entries claims to have seen it: such a context would make the
    ///   fold hold that entry back until this one, and reorder the others;
    /// - it saw every entry of the licenses it is folded with (its context covers them), so
    ///   it is concurrent with none of them and adds no conflict;
    /// - where contexts contradict each other the fold takes the entry with the smallest
    ///   (hybrid clock, origin, seq) first, so that of every entry up to the last one of its
    ///   lineage in each other origin's chain is smaller than its own (and that of every
    ///   issue of its type, for a once-per-holder issue): it cannot be taken before them.
    ///
    /// The caller also checks that the stored view is what the fold had before its last
    /// step, the once-per-holder rule (`appliesToStoredView`).
    static func appliesLast(_ entry: Entry, _ holder: HolderRef, _ db: Database, memo: EntryMemo? = nil) throws -> Bool {
        let body = entry.body
        let last = (body.hlc, body.origin, body.seq)
        // The once-per-holder rule orders an issue of such a type among the issues of its type.
        let oncePerHolderType = if case let .issue(issue) = body.event { issue.licenseType } else { "" }
        var ownLicense: Int64?
        var scanned: [(key: EntryKey, license: Int64, saw: Bool, later: Bool)] = []
        var transfers: [(license: Int64, supersedes: EntryKey)] = []
        var unseen = false, later = false
        let inOrder = try RawStatement(db, """
            SELECT e.origin, e.seq, e.body, e.id, e.license_row, l.type = ? FROM licenses l JOIN entries e ON e.license_row = l.row
            WHERE l.holder_key = ? AND l.holder_ref = ?
            """).forEach({ $0.bind(oncePerHolderType); $0.bind(LicenseRow.holderKey(holder)); $0.bind(blob: holder.bytes) }) { row in
                guard let origin = row.text(0) else { return false }
                let seq = UInt64(row.int64(1))
                let license = row.int64(4)
                if origin == body.origin, seq == body.seq {
                    ownLicense = license
                    if case let .transfer(transfer) = body.event { transfers.append((license, EntryKey(transfer.licenseID))) }
                    return true
                }
                // Its own origin's earlier entries precede it in its chain; any other's it may have seen.
                let saw = origin == body.origin ? seq < body.seq : body.context[origin] >= seq
                let place: EntryBody.CausalPlace?
                if let known = memoized(row, idAt: 3, in: memo) {
                    // A shared memo knows the entry decoded (its id is the hash of its bytes).
                    let transferred = if case let .transfer(transfer) = known.body.event { transfer.licenseID } else { LicenseID?.none }
                    place = .init(clock: known.body.hlc, seen: known.body.context[body.origin], transferred: transferred)
                } else {
                    place = row.withBlob(2) { EntryBody.causalPlace(ofEncoded: $0, seenOf: body.origin) }
                }
                guard let place, place.seen < body.seq else { return false }
                let isLater = (place.clock, origin, seq) > last
                // An issue of its type must come before it, and have been seen.
                guard row.int64(5) == 0 || (saw && !isLater) else { return false }
                unseen = unseen || !saw
                later = later || isLater
                scanned.append((EntryKey(origin: origin, seq: seq), license, saw, isLater))
                if let transferred = place.transferred {
                    transfers.append((license, EntryKey(transferred)))
                }
                return true
            }
        guard inOrder, let ownLicense else { return false }
        // Nearly always: it saw every entry of its holder and comes after each of them.
        if !unseen, !later { return true }
        // Its lineage: the licenses transfers link to its own, either way. A license id names
        // the entry that created it, so a superseded license is found by its creating entry.
        var licenseOf = Dictionary(scanned.lazy.map { ($0.key, $0.license) }) { first, _ in first }
        licenseOf[EntryKey(origin: body.origin, seq: body.seq)] = ownLicense
        var lineage: Set<Int64> = [ownLicense]
        var grew = true
        while grew {
            grew = false
            for transfer in transfers {
                guard let superseded = licenseOf[transfer.supersedes],
                      lineage.contains(transfer.license) != lineage.contains(superseded) else { continue }
                lineage.formUnion([transfer.license, superseded])
                grew = true
            }
        }
        // In each other origin's chain, up to the last entry of its lineage.
        var reach: [String: UInt64] = [:]
        for row in scanned where lineage.contains(row.license) {
            guard row.saw else { return false }
            reach[row.key.origin] = max(reach[row.key.origin] ?? 0, row.key.seq)
        }
        return !scanned.contains { row in
            row.later && row.key.origin != body.origin && row.key.seq <= reach[row.key.origin] ?? 0
        }
    }

    /// An entry's place in its origin's chain; a license id names its creating entry's.
    struct EntryKey: Hashable {
        let origin: String
        let seq: UInt64

        init(origin: String, seq: UInt64) {
            self.origin = origin
            self.seq = seq
        }

        init(_ license: LicenseID) {
            self.init(origin: license.origin, seq: license.seq)
        }
    }

    /// Whether an event the fold applies last (`appliesLast`) can be applied to the stored
    /// view of the license it changes: any view but a void one, which the once-per-holder
    /// rule may have voided after events the fold applies before the new one. The rule
    /// changes nothing but the licenses it voids. Other voids (a refused transfer's new
    /// license, one a revocation voids across a transfer) happen in the fold's order, so
    /// their stored views would do; they are rare, and folded in full all the same.
    static func appliesToStoredView(_ state: LicenseState) -> Bool {
        state.status != .void
    }

    #if DEBUG
    /// Debug builds (every test) check each view written without a refold against the full
    /// fold of the holder: the same states and the same conflicts.
    static func checkHolderIsFolded(_ holder: HolderRef, _ db: Database) throws {
        let current = try LicenseRow.fetchRows(holder: holder, in: db)
        let folded = HolderFold.fold(try entries(licenseRows: current.map(\.row), db), distinct: true)
        let byID = Dictionary(current.map { ($0.state.id, $0.state) }) { a, _ in a }
        for state in folded.states where byID[state.id].map({ $0 != state }) ?? false {
            preconditionFailure("the view of \(state.id.text) differs from its holder's fold: \(byID[state.id]!) != \(state)")
        }
        let held = try conflicts(holder: holder, db)
        precondition(folded.conflicts == held, "the holder's fold finds conflicts \(folded.conflicts), the views hold \(held)")
    }
    #endif

    /// The decoded entry a shared memo holds for the stored id in `column` of `row`: the id
    /// is the hash of the stored bytes, so they need not be read.
    private static func memoized(_ row: RawStatement.Columns, idAt column: Int32, in memo: EntryMemo?) -> Entry? {
        guard let memo, let id = try? EntryID(bytes: row.bytes(column)) else { return nil }
        return memo.entry(id: id)
    }

    /// The entries of some license rows (a holder's), row by row: one prepared statement,
    /// where a statement for the rows together would be prepared anew for each holder.
    static func entries(licenseRows rows: [Int64], _ db: Database, memo: EntryMemo? = nil) throws -> [Entry] {
        let statement = try RawStatement(db, "SELECT body, signature, id FROM entries WHERE license_row = ?")
        var entries: [Entry] = []
        for row in rows {
            entries += try statement.all({ $0.bind(row) }) { columns in
                // A shared memo knows most entries by their id: their bytes are not even read.
                try memoized(columns, idAt: 2, in: memo) ?? entry(columns, memo: memo)
            }
        }
        return entries
    }

    /// Every refold reads its holder's conflicts, and most holders have none: one prepared
    /// statement through SQLite directly.
    static func conflicts(holder: HolderRef, _ db: Database) throws -> [LicenseConflict] {
        try RawStatement(db, "SELECT \(conflictColumns) FROM conflicts WHERE holder_ref = ?")
            .all({ $0.bind(blob: holder.bytes) }) { try conflict($0) }
            .sorted(by: LicenseConflict.ordering)
    }

    /// The columns `conflict` reads, in its order.
    static let conflictColumns = """
        license_id, rule, first_origin, first_seq, first_kind, second_origin, second_seq, second_kind, result
        """

    static func conflict(_ row: some ColumnReader) throws -> LicenseConflict {
        guard let rule = row.text(1).flatMap(LicenseConflict.Rule.init(rawValue:)), let license = row.text(0).flatMap(LicenseID.init),
              let firstOrigin = row.text(2), let firstKind = row.text(4).flatMap(LicenseEvent.Kind.init(rawValue:)),
              let secondOrigin = row.text(5), let secondKind = row.text(7).flatMap(LicenseEvent.Kind.init(rawValue:)),
              let result = row.text(8)
        else { throw StoreError.database("a conflict row is unreadable") }
        return LicenseConflict(
            rule: rule, license: license,
            first: EventRef(origin: firstOrigin, seq: UInt64(row.int64(3)), kind: firstKind),
            second: EventRef(origin: secondOrigin, seq: UInt64(row.int64(6)), kind: secondKind),
            result: result)
    }

    /// Every conflict held, by license.
    public func conflicts() throws(StoreError) -> [LicenseConflict] {
        try run {
            try read { db in
                try Row.fetchAll(db, sql: "SELECT \(Self.conflictColumns) FROM conflicts").map { try Self.conflict($0) }
                    .sorted(by: LicenseConflict.ordering)
            }
        }
    }

    public func conflictCount() throws(StoreError) -> Int {
        try run { try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM conflicts") ?? 0 } }
    }

    /// The conflicts that concern one license's holder group.
    public func conflicts(license id: LicenseID) throws(StoreError) -> [LicenseConflict] {
        try run {
            try read { db in
                guard let state = try LicenseRow.fetch(id, in: db)?.state else { return [] }
                return try Self.conflicts(holder: state.holderRef, db)
            }
        }
    }

    /// `state_digest`: the digest of every license state and conflict (`StateDigest`).
    public func stateDigest() throws(StoreError) -> String {
        try run { try read { db in try Self.loadDigest(db).reported } }
    }

    /// Every entry of license `id`'s holder group (the license, what transferred it and
    /// what it was transferred to), for its history.
    public func holderEntries(license id: LicenseID) throws(StoreError) -> (license: LicenseState, entries: [Entry])? {
        try run {
            try read { db in
                guard let state = try LicenseRow.fetch(id, in: db)?.state else { return nil }
                let rows = try LicenseRow.fetchRows(holder: state.holderRef, in: db).map(\.row)
                return (state, try Self.entries(licenseRows: rows, db))
            }
        }
    }
}
