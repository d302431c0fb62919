import Foundation
import GRDB
import LicenseCore
import Synchronization

/// Re-verifies a ledger from its bytes alone: every entry decodes, its stored id is its
/// hash, its signature verifies under a known issuer key of its origin, every origin's
/// chain is gap-free and linked by `prev`, the heads match, and every license view equals
/// the fold of its entries. Reads in bounded chunks, so memory does not grow with the ledger.
public struct LedgerVerifier {
    public struct Report: Sendable {
        public var entries: UInt64 = 0
        public var origins = 0
        public var licenses = 0
        public var conflicts = 0
        /// The state digest the entries give.
        public var stateDigest = ""
        public var problems: [String] = []
        /// Problems beyond this many are counted, not listed.
        public static let problemsListedMax = 100
        public var problemsNotListed = 0

        mutating func problem(_ text: String) {
            if problems.count < Self.problemsListedMax { problems.append(text) } else { problemsNotListed += 1 }
        }

        public var isValid: Bool { problems.isEmpty }
    }

    static let chunkEntries = 10_000

    public static func verify(_ store: LedgerStore) throws(StoreError) -> Report {
        var report = Report()
        let keys = try store.issuerKeys()
        try store.run {
            try store.pool.read { db in
                let heads = try Row.fetchAll(db, sql: "SELECT origin, head_seq, head_id FROM origins ORDER BY origin")
                report.origins = heads.count
                for head in heads {
                    try verifyChain(origin: head["origin"], headSeq: UInt64(head["head_seq"] as Int64),
                                    headID: [UInt8](head["head_id"] as Data), keys: keys, db: db, report: &report)
                }
                let stray = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM entries WHERE origin NOT IN (SELECT origin FROM origins)
                    """) ?? 0
                if stray > 0 { report.problem("\(stray) entries belong to no known origin head") }
                // Entries pointing at a license view that is not there.
                let dangling = try Row.fetchAll(db, sql: """
                    SELECT body, signature FROM entries
                    WHERE license_row != 0 AND license_row NOT IN (SELECT row FROM licenses) LIMIT 100
                    """)
                for row in dangling {
                    let entry = try? LedgerStore.entry(row)
                    report.problem("license \(entry.map { $0.licenseID.text } ?? "?"): its view is missing")
                }
            }
        }
        let states = try verifyStates(store)
        report.licenses = states.licenses
        report.conflicts = states.conflicts
        report.stateDigest = states.digest.reported
        for problem in states.problems { report.problem(problem) }
        return report
    }

    /// What refolding every holder's licenses from their entries gives.
    public struct StateCheck: Sendable {
        public var licenses = 0
        public var conflicts = 0
        public var digest = StateDigest()
        public var problems: [String] = []
    }

    /// Folds every holder's licenses again from their entries (`HolderFold`), on every core
    /// (one reader per range of holder keys), and compares the states, the conflicts and the
    /// state digest with what the ledger keeps.
    public static func verifyStates(_ store: LedgerStore) throws(StoreError) -> StateCheck {
        let parts = max(1, ProcessInfo.processInfo.activeProcessorCount)
        // Holder keys are the first 8 bytes of a hash: uniform over the signed 64-bit range.
        let width = UInt64.max / UInt64(parts)
        let results = Mutex([Result<StateCheck, StoreError>](repeating: .success(StateCheck()), count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let low = Int64(bitPattern: UInt64(part) * width ^ (1 << 63))
            let high = part == parts - 1 ? Int64.max : Int64(bitPattern: (UInt64(part + 1) * width ^ (1 << 63))) - 1
            let result = Result { () throws(StoreError) in
                try store.run { try store.pool.read { db in try checkStates(holderKeys: low...high, db) } }
            }
            results.withLock { $0[part] = result }
        }
        var total = StateCheck()
        for result in results.withLock({ $0 }) {
            let part = try result.get()
            total.licenses += part.licenses
            total.conflicts += part.conflicts
            total.problems += part.problems
            total.digest.add(part.digest)
        }
        let (stored, viewRows) = try store.run {
            try store.pool.read { db in (try LedgerStore.loadDigest(db), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM licenses") ?? 0) }
        }
        if viewRows != total.licenses { total.problems.append("\(viewRows) license views, \(total.licenses) folded") }
        if stored != total.digest {
            total.problems.append("the stored state digest differs from the one the entries give")
        }
        return total
    }

    private static func checkStates(holderKeys: ClosedRange<Int64>, _ db: Database) throws -> StateCheck {
        var check = StateCheck()
        // Conflicts are few: read them once, not once per holder.
        var storedConflicts: [Data: [LicenseConflict]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT \(LedgerStore.conflictColumns), holder_ref FROM conflicts") {
            storedConflicts[row["holder_ref"] as Data, default: []].append(try LedgerStore.conflict(row))
        }
        // One pass over the views of this range of holders, each joined with its entries
        // (no statement per holder): rows come grouped by holder, then by license.
        let prefixed = LicenseRow.columns.split(separator: ",").map { "licenses." + $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: ", ")
        let rows = try Row.fetchCursor(db, sql: """
            SELECT \(prefixed), entries.body, entries.signature
            FROM licenses JOIN entries ON entries.license_row = licenses.row
            WHERE licenses.holder_key BETWEEN ? AND ?
            ORDER BY licenses.holder_key, licenses.holder_ref, licenses.row
            """, arguments: [holderKeys.lowerBound, holderKeys.upperBound])
        let bodyColumn = LicenseRow.columns.split(separator: ",").count
        var group: [(row: Int64, state: LicenseState)] = []
        var entries: [Entry] = []
        func fold() {
            guard let holder = group.first?.state.holderRef else { return }
            let folded = HolderFold.fold(entries, distinct: true)
            let stored = Dictionary(group.map { ($0.state.id, $0.state) }) { a, _ in a }
            for state in folded.states {
                check.licenses += 1
                check.digest.add(StateDigest.hash(state))
                if stored[state.id] != state { check.problems.append("license \(state.id): stored view differs from the fold of its entries") }
            }
            if folded.states.count != group.count {
                check.problems.append("holder \(Hex.encode(holder.bytes.prefix(4)))…: \(group.count) views, \(folded.states.count) folded")
            }
            for conflict in folded.conflicts {
                check.conflicts += 1
                check.digest.add(StateDigest.hash(conflict))
            }
            if (storedConflicts[Data(holder.bytes)] ?? []).sorted(by: LicenseConflict.ordering) != folded.conflicts {
                check.problems.append("holder \(Hex.encode(holder.bytes.prefix(4)))…: stored conflicts differ from the fold")
            }
        }
        while let row = try rows.next() {
            let licenseRow: Int64 = row[0]
            if group.last?.row != licenseRow {
                let state = try LicenseRow.decode(row)
                if let first = group.first, first.state.holderRef != state.holderRef {
                    fold()
                    group = []
                    entries = []
                }
                group.append((licenseRow, state))
            }
            // An entry that no longer decodes is reported by the chain check.
            if let entry = try? Entry(bodyBytes: [UInt8](row[bodyColumn] as Data), signature: [UInt8](row[bodyColumn + 1] as Data)) {
                entries.append(entry)
            }
        }
        fold()
        return check
    }

    private static func verifyChain(
        origin: String, headSeq: UInt64, headID: [UInt8], keys: [String: LedgerStore.IssuerKeyRecord],
        db: Database, report: inout Report
    ) throws {
        var expectedSeq: UInt64 = 1
        var prev = EntryID.zero
        while true {
            let rows = try Row.fetchAll(db, sql: """
                SELECT seq, id, body, signature FROM entries WHERE origin = ? AND seq >= ? ORDER BY seq LIMIT ?
                """, arguments: [origin, Int64(expectedSeq), chunkEntries])
            if rows.isEmpty { break }
            for row in rows {
                let seq = UInt64(row["seq"] as Int64)
                let place = "\(origin)#\(seq)"
                guard seq == expectedSeq else {
                    report.problem("\(origin): gap, seq \(expectedSeq) is missing")
                    return
                }
                report.entries += 1
                let entry: Entry
                do {
                    entry = try Entry(bodyBytes: [UInt8](row["body"] as Data), signature: [UInt8](row["signature"] as Data))
                } catch {
                    report.problem("\(place): \(error)")
                    return
                }
                if entry.id.bytes != [UInt8](row["id"] as Data) { report.problem("\(place): stored id is not the entry's hash") }
                if entry.body.origin != origin || entry.body.seq != seq {
                    report.problem("\(place): body says \(entry.body.origin)#\(entry.body.seq)")
                }
                if entry.body.prev != prev { report.problem("\(place): prev does not match the previous entry's id") }
                if let key = keys[entry.body.keyID], key.origin == origin {
                    if !entry.hasValidSignature(by: key.publicKey) { report.problem("\(place): signature is invalid") }
                } else {
                    report.problem("\(place): unknown issuer key '\(entry.body.keyID)' for origin '\(origin)'")
                }
                prev = entry.id
                expectedSeq = seq + 1
            }
        }
        if expectedSeq - 1 != headSeq { report.problem("\(origin): head says seq \(headSeq), chain ends at \(expectedSeq - 1)") }
        if headSeq > 0, prev.bytes != headID { report.problem("\(origin): head id does not match the last entry") }
    }

}
