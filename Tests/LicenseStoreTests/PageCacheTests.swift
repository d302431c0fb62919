import CWALBuffer
import Foundation
import GRDB
import GRDBSQLite
@_spi(Testing) @testable import LicenseStore
import Testing

/// The page cache that skips truncations with nothing to drop (docs/STORAGE.md, "Commits
/// that scan the page cache"): commits after B-tree splits no longer scan the cache, and
/// whatever the pager drops (a rolled-back transaction's new pages) is still dropped.
final class PageCacheTests: TemporaryDirectoryTest, @unchecked Sendable {
    /// A table with a random-key index, so most transactions split index pages out of
    /// page-number order, and a cache of `cachePages`.
    private func pool(cachePages: Int) throws -> DatabasePool {
        let pool = try sqlitePool("cache.sqlite", cachePages: cachePages)
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE t (k INTEGER PRIMARY KEY, r INTEGER NOT NULL, b BLOB NOT NULL)")
            try db.execute(sql: "CREATE INDEX t_by_r ON t(r)")
        }
        return pool
    }

    /// A key spread over the whole range, as a holder key is.
    private static func spread(_ k: Int) -> Int { (k &* 2_654_435_761) % 1_000_003 }

    private static func blob(_ k: Int) -> Data { Data((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ k) }) }

    private func insert(_ keys: Range<Int>, _ db: Database) throws {
        for k in keys {
            try db.execute(sql: "INSERT INTO t (k, r, b) VALUES (?, ?, ?)", arguments: [k, Self.spread(k), Self.blob(k)])
        }
    }

    /// Every row, through the random index and through the table, against what was written.
    private func expectRows(_ pool: DatabasePool, _ keys: [Int]) throws {
        try pool.read { db in
            let byIndex = try Row.fetchAll(db, sql: "SELECT k, r, b FROM t INDEXED BY t_by_r ORDER BY r")
            #expect(byIndex.map { $0["k"] as Int } == keys.sorted { Self.spread($0) < Self.spread($1) })
            for row in byIndex where row["r"] as Int != Self.spread(row["k"]) || row["b"] as Data != Self.blob(row["k"]) {
                Issue.record("row \(row["k"] as Int) reads back different values")
            }
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") == keys.count)
            #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
        }
    }

    @Test func isInstalled_beforeSQLiteInitializes() {
        #expect(LedgerStore.pageCacheInstalled == SQLITE_OK)
    }

    @Test func commitsAfterSplits_skipTheTruncation_andEveryRowReadsBack() throws {
        let pool = try pool(cachePages: 2000)
        let before = Self.truncations()
        for batch in 0..<60 {
            try pool.write { db in try insert(batch * 40..<batch * 40 + 40, db) }
        }
        let after = Self.truncations()
        // Sixty commits, each after splits of the random index: each has nothing to drop.
        #expect(after.skipped - before.skipped >= 60)
        try expectRows(pool, Array(0..<2400))
    }

    @Test func aRolledBackTransactionsNewPages_areDropped_andTheNextOneWritesItsOwn() throws {
        // A cache smaller than the table: pages are evicted and read again.
        let pool = try pool(cachePages: 30)
        try pool.write { db in try insert(0..<1000, db) }
        let size = try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") }
        let before = Self.truncations()
        for attempt in 0..<3 {
            // Grows the file by many pages, then rolls back: those pages must leave the cache.
            do {
                try pool.write { db in
                    try insert(10_000 + attempt * 1000..<11_000 + attempt * 1000, db)
                    throw CancellationError()
                }
                Issue.record("the transaction should have rolled back")
            } catch is CancellationError {}
            #expect(try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") } == size)
            try expectRows(pool, Array(0..<1000))
        }
        // Each rollback's truncation had pages to drop, and went to SQLite's cache.
        #expect(Self.truncations().passed - before.passed >= 3)
        // The same page numbers, written again with other content.
        try pool.write { db in try insert(1000..<2000, db) }
        try expectRows(pool, Array(0..<2000))
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        try expectRows(pool, Array(0..<2000))
    }

    private static func truncations() -> (skipped: UInt64, passed: UInt64) {
        var skipped: UInt64 = 0, passed: UInt64 = 0
        licensed_page_cache_truncations(&skipped, &passed)
        return (skipped, passed)
    }
}
