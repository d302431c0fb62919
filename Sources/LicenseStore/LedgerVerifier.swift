import Foundation
import GRDB
import LicenseCore

/// Re-verifies a ledger from its bytes alone: every entry decodes, its stored id is its
/// hash, its signature verifies under a known issuer key of its origin, every origin's
/// chain is gap-free and linked by `prev`, the heads match, and every license view equals
/// the fold of its entries. Reads in bounded chunks, so memory does not grow with the ledger.
public struct LedgerVerifier {
    public struct Report: Sendable {
        public var entries: UInt64 = 0
        public var origins = 0
        public var licenses = 0
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
                try verifyViews(db: db, report: &report)
            }
        }
        return report
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

    private static func verifyViews(db: Database, report: inout Report) throws {
        let cursor = try Row.fetchCursor(db, sql: "SELECT license_row, body, signature FROM entries ORDER BY license_row")
        var currentRow: Int64?
        var group: [Entry] = []
        func check() throws {
            // Row 0 holds entries whose license has not arrived yet; nothing to fold.
            guard let currentRow, currentRow != 0 else { return }
            report.licenses += 1
            let stored = try Row.fetchOne(db, sql: "SELECT \(LicenseRow.columns) FROM licenses WHERE row = ?",
                                          arguments: [currentRow]).map(LicenseRow.decode)
            guard let folded = LicenseFold.fold(group)?.state else {
                report.problem("license row \(currentRow): its entries hold no issue")
                return
            }
            if stored != folded { report.problem("license \(folded.id): stored view differs from the fold of its entries") }
        }
        while let row = try cursor.next() {
            let licenseRow: Int64 = row["license_row"]
            if licenseRow != currentRow {
                try check()
                currentRow = licenseRow
                group = []
            }
            if let entry = try? Entry(bodyBytes: [UInt8](row["body"] as Data), signature: [UInt8](row["signature"] as Data)) {
                group.append(entry)
            }
        }
        try check()
        let viewRows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM licenses") ?? 0
        if viewRows != report.licenses { report.problem("\(viewRows) license views for \(report.licenses) licenses in the ledger") }
    }
}
