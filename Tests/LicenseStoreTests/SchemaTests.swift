import Foundation
import GRDB
@testable import LicenseStore
import Testing

/// Migrations keep every stored byte and the keys the store relies on.
struct SchemaTests {
    @Test func v6_keepsEveryEntry_inArrivalOrder_withTheChainKeyUnique_andLicensesReadInChainOrder() throws {
        // SQLite as the ledger configures it, whichever test opens a database first.
        _ = LedgerStore.walBufferInstalled
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue, upTo: "v5-conflicts")
        // Three origins' entries, stored out of chain order, two licenses sharing rows.
        let rows: [(origin: String, seq: Int64, license: Int64)] = [
            ("gd", 2, 1), ("bj", 1, 2), ("gd", 1, 1), ("sh", 3, 0), ("bj", 2, 1), ("sh", 1, 2), ("sh", 2, 1),
        ]
        func bytes(_ row: (origin: String, seq: Int64, license: Int64), _ salt: UInt8) -> Data {
            Data(Array(row.origin.utf8) + [UInt8(row.seq), salt])
        }
        try queue.write { db in
            for row in rows {
                try db.execute(sql: "INSERT INTO entries (origin, seq, id, license_row, body, signature) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [row.origin, row.seq, bytes(row, 1), row.license, bytes(row, 2), bytes(row, 3)])
            }
        }
        try Schema.migrator.migrate(queue)

        try queue.read { db in
            let kept = try Row.fetchAll(db, sql: "SELECT origin, seq, id, license_row, body, signature FROM entries")
            #expect(kept.count == rows.count)
            for row in rows {
                let found = kept.first { $0["origin"] == row.origin && $0["seq"] == row.seq }
                #expect(found?["id"] == bytes(row, 1) && found?["body"] == bytes(row, 2) && found?["signature"] == bytes(row, 3))
                #expect(found?["license_row"] == row.license)
            }
            let definition = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE name = 'entries'") ?? ""
            #expect(!definition.contains("WITHOUT ROWID"))
            // A license's entries come in chain order, as the fold's readers expect.
            let license1 = try Row.fetchAll(db, sql: "SELECT origin, seq FROM entries WHERE license_row = 1")
                .map { "\($0["origin"] as String)#\($0["seq"] as Int64)" }
            #expect(license1 == ["bj#2", "gd#1", "gd#2", "sh#2"])
        }
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute(sql: "INSERT INTO entries (origin, seq, id, license_row, body, signature) VALUES ('gd', 1, x'00', 0, x'00', x'00')")
            }
        }
    }
}
