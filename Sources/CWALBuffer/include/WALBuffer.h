#ifndef LICENSED_WAL_BUFFER_H
#define LICENSED_WAL_BUFFER_H

/// Registers the "licensed-wal" SQLite VFS and makes it the default, once per process.
/// It wraps the platform's default VFS and changes one thing: a write-ahead log's
/// frames are written to the operating system as one write per transaction, not two
/// writes per page (docs/STORAGE.md, "One write per commit"). Every other file, and
/// every other call, goes straight through. Returns SQLITE_OK or SQLite's error code.
int licensed_wal_buffer_register(void);

#endif
