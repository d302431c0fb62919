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

    /// True when `entry` (stored already) comes after every other entry of `holder`'s
    /// licenses in the fold's order without changing their order, and no once-per-holder
    /// issue of the holder was voided: it saw every one of them (its context covers them),
    /// none claims to have seen it, and its hybrid clock reading, then origin and seq, is the
    /// largest. The fold would then apply the others as it did before, even where their
    /// contexts contradict each other (the clock order decides those), and this one last, to
    /// the states stored now; it is concurrent with none of them, so it adds no conflict and
    /// changes no other license: applying it to its own license's view is the whole refold
    /// (docs/CONFLICTS.md). One read of the holder's entries' positions, clocks and what each
    /// saw of this entry's origin, instead of decoding and folding them. The once-per-holder rule is the one step of the fold that
    /// runs after every event is applied and overrides them (it voids a license whatever
    /// was applied to it), so a holder for which it voided a license is folded in full.
    /// Other conflicts stay as they are: the entry is concurrent with no event of theirs.
    static func followsHolder(_ entry: Entry, _ holder: HolderRef, _ db: Database, memo: EntryMemo? = nil) throws -> Bool {
        let conflicted = try RawStatement(db, "SELECT EXISTS (SELECT 1 FROM conflicts WHERE holder_ref = ? AND rule = ?)")
            .exists { $0.bind(blob: holder.bytes); $0.bind(LicenseConflict.Rule.earliestOncePerHolderIssueStands.rawValue) }
        guard !conflicted else { return false }
        let body = entry.body
        let last = (body.hlc, body.origin, body.seq)
        return try RawStatement(db, """
            SELECT e.origin, e.seq, e.body, e.id FROM licenses l JOIN entries e ON e.license_row = l.row
            WHERE l.holder_key = ? AND l.holder_ref = ?
            """).forEach({ $0.bind(LicenseRow.holderKey(holder)); $0.bind(blob: holder.bytes) }) { row in
                guard let origin = row.text(0) else { return false }
                let seq = UInt64(row.int64(1))
                if origin == body.origin, seq == body.seq { return true }
                // Its own origin's earlier entries precede it in its chain; any other's it must have seen.
                guard origin == body.origin ? seq < body.seq : body.context[origin] >= seq else { return false }
                // And none may claim to have seen it: a context that contradicts its own (a liar's
                // doing) would make this entry hold that one back and reorder the others.
                let place: (clock: HybridTimestamp, seen: UInt64)?
                if let known = memoized(row, idAt: 3, in: memo) {
                    // A shared memo knows the entry decoded (its id is the hash of its bytes).
                    place = (known.body.hlc, known.body.context[body.origin])
                } else {
                    place = row.withBlob(2) { EntryBody.causalPlace(ofEncoded: $0, seenOf: body.origin) }
                }
                guard let place, place.seen < body.seq, (place.clock, origin, seq) < last else { return false }
                return true
            }
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
