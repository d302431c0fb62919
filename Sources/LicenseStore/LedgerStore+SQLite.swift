import CWALBuffer

/// SQLite's process-wide settings for the ledger (docs/STORAGE.md), made once, by the first
/// ledger opened, before SQLite initializes. Each result is SQLITE_OK (0), or SQLite's error
/// when something else in the process initialized SQLite first: then only the speed differs.
extension LedgerStore {
    /// The VFS that writes each commit to the write-ahead log in one call (docs/STORAGE.md,
    /// "One write per commit"); without it the platform's VFS is used as it is. Registering
    /// a VFS initializes SQLite, so the two settings below are made first: every connection
    /// opened after this is read has all three.
    static let walBufferInstalled: Int32 = {
        _ = memoryStatisticsOff
        _ = pageCacheInstalled
        return licensed_wal_buffer_register()
    }()

    /// SQLite's memory statistics, off (docs/STORAGE.md, "No memory statistics").
    static let memoryStatisticsOff: Int32 = licensed_sqlite_memory_statistics_off()

    /// SQLite's page cache, wrapped by one that skips the truncations that cannot drop a
    /// page (docs/STORAGE.md, "Commits that scan the page cache").
    @_spi(Testing) public static let pageCacheInstalled: Int32 = licensed_page_cache_install()
}
