#ifndef LICENSED_WAL_BUFFER_H
#define LICENSED_WAL_BUFFER_H

/// Registers the "licensed-wal" SQLite VFS and makes it the default, once per process.
/// It wraps the platform's default VFS and changes one thing: a write-ahead log's
/// frames are written to the operating system as one write per transaction, not two
/// writes per page (docs/STORAGE.md, "One write per commit"). Every other file, and
/// every other call, goes straight through. Returns SQLITE_OK or SQLite's error code.
int licensed_wal_buffer_register(void);

/// Turns off SQLite's process-wide memory statistics, which the ledger never reads: with
/// them on, every allocation and free inside SQLite takes a global mutex and asks the
/// allocator for the block's size (docs/STORAGE.md, "No memory statistics"). Only before
/// SQLite initializes; returns SQLITE_OK, or SQLITE_MISUSE when it is too late to change.
int licensed_sqlite_memory_statistics_off(void);

#endif
