import Foundation
import GRDB
import GRDBSQLite
@testable import LicenseStore
import Testing

/// The VFS that hands a transaction's write-ahead-log frames to the operating system in
/// one write (docs/STORAGE.md, "One write per commit"): every connection of the process
/// goes through it, and what it buffers never changes what a reader or a crash sees.
final class WALBufferTests: TemporaryDirectoryTest, @unchecked Sendable {
    /// A WAL database with no automatic checkpoint (every commit stays in the log) and
    /// `synchronous=NORMAL`, under which SQLite does not sync the log at a commit, so only
    /// the commit frame's flush puts the frames in the file before readers are told of them.
    private func pool(writerCachePages: Int = 2000) throws -> DatabasePool {
        #expect(LedgerStore.walBufferInstalled == SQLITE_OK)
        let pool = try sqlitePool("wal.sqlite", cachePages: writerCachePages)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            try db.execute(sql: "CREATE TABLE t (k INTEGER PRIMARY KEY, b BLOB NOT NULL)")
        }
        return pool
    }

    /// A value no two rows share, so a frame read from the wrong place cannot pass.
    private static func blob(_ key: Int, bytes: Int) -> Data {
        Data((0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ key &* 7) })
    }

    /// Every row a reader connection sees, checked against what was written.
    private func expectRows(_ pool: DatabasePool, _ keys: Range<Int>, bytes: Int) throws {
        let rows = try pool.read { db in try Row.fetchAll(db, sql: "SELECT k, b FROM t ORDER BY k") }
        #expect(rows.map { $0["k"] as Int } == Array(keys))
        for row in rows where row["b"] as Data != Self.blob(row["k"], bytes: bytes) {
            Issue.record("row \(row["k"] as Int) reads back different bytes")
        }
        #expect(try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } == "ok")
    }

    @Test func everyConnection_goesThroughIt() throws {
        let pool = try pool()
        for name in [try pool.write(Self.vfsName), try pool.read(Self.vfsName)] {
            #expect(name == "licensed-wal")
        }
    }

    private static func vfsName(_ db: Database) -> String? {
        var vfs: UnsafeMutablePointer<sqlite3_vfs>?
        guard sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) == SQLITE_OK,
              let name = vfs?.pointee.zName else { return nil }
        return String(cString: name)
    }

    @Test func aCommit_isInTheLogFile_whenItReturns_andEveryReaderSeesIt() throws {
        let pool = try pool()
        let wal = directory.appendingPathComponent("wal.sqlite-wal").path
        for batch in 0..<20 {
            try pool.write { db in
                for k in batch * 10..<batch * 10 + 10 {
                    try db.execute(sql: "INSERT INTO t (k, b) VALUES (?, ?)", arguments: [k, Self.blob(k, bytes: 900)])
                }
            }
            // The log ends with the commit's frames: its size is the header and whole
            // frames (24 bytes and a page each), and the last frame is a commit.
            let log = try Data(contentsOf: URL(fileURLWithPath: wal))
            #expect(log.count > 32 && (log.count - 32) % (24 + 4096) == 0)
            let last = log.count - (24 + 4096)
            #expect(log[last + 4..<last + 8] != Data([0, 0, 0, 0]), "the log's last frame is not a commit frame")
            try expectRows(pool, 0..<batch * 10 + 10, bytes: 900)
        }
    }

    @Test func aTransactionLargerThanTheBufferAndThanOneWrite_commitsWhole() throws {
        // 6 MiB: more than the 4 MiB buffer, and more than the 128 KiB the unix VFS
        // writes per call.
        let pool = try pool()
        try pool.write { db in
            for k in 0..<1500 {
                try db.execute(sql: "INSERT INTO t (k, b) VALUES (?, ?)", arguments: [k, Self.blob(k, bytes: 4000)])
            }
        }
        try expectRows(pool, 0..<1500, bytes: 4000)
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        try expectRows(pool, 0..<1500, bytes: 4000)
    }

    @Test func spilledFrames_readBackInTheirTransaction_andARollbackLeavesNoTrace() throws {
        // A 20-page cache spills a large transaction's pages to the log before its commit,
        // and reads them back from it.
        let pool = try pool(writerCachePages: 20)
        try pool.write { db in
            for k in 0..<400 {
                try db.execute(sql: "INSERT INTO t (k, b) VALUES (?, ?)", arguments: [k, Self.blob(k, bytes: 700)])
            }
            try db.execute(sql: "UPDATE t SET b = b WHERE k % 3 = 0")
            #expect(try Int.fetchOne(db, sql: "SELECT SUM(length(b)) FROM t") == 400 * 700)
        }
        try expectRows(pool, 0..<400, bytes: 700)
        do {
            try pool.write { db in
                for k in 400..<800 {
                    try db.execute(sql: "INSERT INTO t (k, b) VALUES (?, ?)", arguments: [k, Self.blob(k, bytes: 700)])
                }
                throw CancellationError()
            }
            Issue.record("the transaction should have rolled back")
        } catch is CancellationError {}
        try expectRows(pool, 0..<400, bytes: 700)
        try pool.write { db in
            try db.execute(sql: "INSERT INTO t (k, b) VALUES (?, ?)", arguments: [400, Self.blob(400, bytes: 700)])
        }
        try expectRows(pool, 0..<401, bytes: 700)
    }
}
