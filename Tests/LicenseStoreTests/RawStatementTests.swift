import Foundation
import GRDB
@testable import LicenseStore
import Testing

/// The C-API path for the append's statements stores and reads values as GRDB does, and
/// fails as GRDB fails.
struct RawStatementTests {
    private func database() throws -> DatabaseQueue {
        // SQLite as the ledger configures it, whichever test opens a database first.
        _ = LedgerStore.walBufferInstalled
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (k INTEGER PRIMARY KEY, s TEXT, b BLOB, UNIQUE (s))")
        }
        return queue
    }

    @Test func valuesRoundTrip_emptyIsNotNull_nilIsNull() throws {
        let queue = try database()
        try queue.write { db in
            let insert = try RawStatement(db, "INSERT INTO t (k, s, b) VALUES (?, ?, ?)")
            try insert.execute { $0.bind(Int64(1)); $0.bind("" as String?); $0.bind(blob: []) }
            try insert.execute { $0.bind(Int64(2)); $0.bind(nil as String?); $0.bind(blob: [0, 1, 255]) }
            try insert.execute { $0.bind(Int64(-3)); $0.bind("省 ASCII \u{1F600}"); $0.bind(blob: Array(repeating: 7, count: 300)) }
            // What GRDB reads back.
            #expect(try String?.fetchOne(db, sql: "SELECT s FROM t WHERE k = 1") == "")
            #expect(try Data?.fetchOne(db, sql: "SELECT b FROM t WHERE k = 1") == Data())
            #expect(try Bool.fetchOne(db, sql: "SELECT s IS NULL FROM t WHERE k = 2") == true)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t WHERE b IS NULL") == 0)
            // What the raw reader reads back.
            let read = try RawStatement(db, "SELECT k, s, b FROM t ORDER BY k")
            let rows = try read.all({ _ in }) { (k: $0.int64(0), s: $0.text(1), b: $0.bytes(2), null: $0.isNull(1)) }
            #expect(rows.map(\.k) == [-3, 1, 2])
            #expect(rows.map(\.s) == ["省 ASCII \u{1F600}", "", nil])
            #expect(rows.map(\.null) == [false, false, true])
            #expect(rows.map(\.b) == [Array(repeating: 7, count: 300), [], [0, 1, 255]])
            let equal = try RawStatement(db, "SELECT b FROM t WHERE k = ?")
            #expect(try equal.first({ $0.bind(Int64(2)) }) { $0.blob(0, equals: [0, 1, 255]) } == true)
            #expect(try equal.first({ $0.bind(Int64(2)) }) { $0.blob(0, equals: [0, 1, 254]) } == false)
            #expect(try equal.first({ $0.bind(Int64(9)) }) { $0.blob(0, equals: []) } == nil)
        }
    }

    @Test func aFailedStep_throwsSQLitesError_andTheStatementRunsAgain() throws {
        let queue = try database()
        try queue.write { db in
            let insert = try RawStatement(db, "INSERT INTO t (k, s, b) VALUES (?, ?, ?)")
            try insert.execute { $0.bind(Int64(1)); $0.bind("a"); $0.bind(blob: [1]) }
            #expect {
                try insert.execute { $0.bind(Int64(2)); $0.bind("a"); $0.bind(blob: [2]) }
            } throws: { error in
                guard let error = error as? DatabaseError else { return false }
                return error.resultCode == .SQLITE_CONSTRAINT && (error.message ?? "").contains("UNIQUE")
            }
            try insert.execute { $0.bind(Int64(2)); $0.bind("b"); $0.bind(blob: [2]) }
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") == 2)
        }
    }

    @Test func forEach_stopsWhereItsBodySays() throws {
        let queue = try database()
        try queue.write { db in
            let insert = try RawStatement(db, "INSERT INTO t (k, s, b) VALUES (?, ?, ?)")
            for k in 1...5 { try insert.execute { $0.bind(Int64(k)); $0.bind("\(k)"); $0.bind(blob: []) } }
            var seen: [Int64] = []
            let scan = try RawStatement(db, "SELECT k FROM t ORDER BY k")
            #expect(try scan.forEach({ _ in }) { seen.append($0.int64(0)); return $0.int64(0) < 3 } == false)
            #expect(seen == [1, 2, 3])
            // Reset after stopping: the next run starts at the first row.
            #expect(try scan.forEach({ _ in }) { _ in true } == true)
            #expect(try RawStatement(db, "SELECT EXISTS (SELECT 1 FROM t WHERE k = ?)").exists { $0.bind(Int64(4)) })
        }
    }
}
