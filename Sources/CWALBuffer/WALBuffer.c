// A VFS shim that coalesces a write-ahead log's writes (see include/WALBuffer.h).
//
// SQLite appends a transaction to the WAL as a 24-byte frame header and a page per
// dirty page, each its own write() call, then syncs. This shim keeps consecutive WAL
// writes in a buffer and hands them to the real file as one write:
//   - when the page that follows a commit frame's header has been buffered, so a
//     committed transaction reaches the operating system before SQLite publishes it to
//     readers in the wal-index, whatever the `synchronous` setting;
//   - before any other call that could observe the file (read, size, truncate, sync,
//     file control, close), and before a write that does not extend the buffer;
//   - when the buffer would grow past its cap.
// Durability is unchanged: a sync always finds the buffer empty and syncs the real
// file. A crash can lose only buffered frames of a transaction that had not committed,
// which SQLite's recovery ignores anyway (they are past the last commit frame).

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define WAL_BUFFER_VFS_NAME "licensed-wal"
#define WAL_FRAME_HEADER_BYTES 24
#define WAL_BUFFER_CAP (4 * 1024 * 1024)
// The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length with
// 0x1ffff, pages being 64 KiB at most), so a flush hands it pieces of this size.
#define REAL_WRITE_MAX 0x1ffff

typedef struct WalBufferFile {
    sqlite3_file base;
    sqlite3_file *real;
    int isWal;
    unsigned char *bytes;
    int count;
    int capacity;
    sqlite3_int64 start;
    // A commit frame's header is buffered: flush once its page follows it.
    int commitPending;
} WalBufferFile;

static sqlite3_vfs walBufferVfs;
// One table per interface version (1 to 3): a file offers no more than its real file does.
static sqlite3_io_methods walBufferMethods[3];

#define REAL_VFS ((sqlite3_vfs *)walBufferVfs.pAppData)
#define FILE_OF(f) ((WalBufferFile *)(f))
#define REAL(f) (FILE_OF(f)->real)

static int writeThrough(WalBufferFile *file, const unsigned char *bytes, int amount, sqlite3_int64 offset) {
    int rc = SQLITE_OK;
    for (int done = 0; done < amount && rc == SQLITE_OK; done += REAL_WRITE_MAX) {
        int piece = amount - done < REAL_WRITE_MAX ? amount - done : REAL_WRITE_MAX;
        rc = file->real->pMethods->xWrite(file->real, bytes + done, piece, offset + done);
    }
    return rc;
}

static int flush(WalBufferFile *file) {
    int rc = writeThrough(file, file->bytes, file->count, file->start);
    file->count = 0;
    file->commitPending = 0;
    return rc;
}

static int bufferedClose(sqlite3_file *f) {
    WalBufferFile *file = FILE_OF(f);
    int rc = flush(file);
    int closed = file->real->pMethods->xClose(file->real);
    free(file->bytes);
    file->bytes = NULL;
    file->capacity = 0;
    return rc != SQLITE_OK ? rc : closed;
}

static int bufferedRead(sqlite3_file *f, void *out, int amount, sqlite3_int64 offset) {
    int rc = flush(FILE_OF(f));
    if (rc != SQLITE_OK) return rc;
    return REAL(f)->pMethods->xRead(REAL(f), out, amount, offset);
}

static int reserve(WalBufferFile *file, int needed) {
    if (needed <= file->capacity) return SQLITE_OK;
    int capacity = file->capacity ? file->capacity : 64 * 1024;
    while (capacity < needed) capacity *= 2;
    unsigned char *grown = realloc(file->bytes, (size_t)capacity);
    if (grown == NULL) return SQLITE_NOMEM;
    file->bytes = grown;
    file->capacity = capacity;
    return SQLITE_OK;
}

static int bufferedWrite(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset) {
    WalBufferFile *file = FILE_OF(f);
    if (!file->isWal) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    int rc;
    if (file->count > 0 && (offset != file->start + file->count || file->count + amount > WAL_BUFFER_CAP)) {
        if ((rc = flush(file)) != SQLITE_OK) return rc;
    }
    if (amount > WAL_BUFFER_CAP || reserve(file, file->count + amount) != SQLITE_OK) {
        // Larger than the buffer, or no memory for it: write through.
        if ((rc = flush(file)) != SQLITE_OK) return rc;
        return writeThrough(file, data, amount, offset);
    }
    if (file->count == 0) file->start = offset;
    memcpy(file->bytes + file->count, data, (size_t)amount);
    file->count += amount;
    if (file->commitPending) return flush(file);
    if (amount == WAL_FRAME_HEADER_BYTES) {
        // Bytes 4-7 of a frame header: the database size after a commit, 0 otherwise.
        const unsigned char *header = data;
        file->commitPending = (header[4] | header[5] | header[6] | header[7]) != 0;
    }
    return SQLITE_OK;
}

static int bufferedTruncate(sqlite3_file *f, sqlite3_int64 size) {
    int rc = flush(FILE_OF(f));
    if (rc != SQLITE_OK) return rc;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int bufferedSync(sqlite3_file *f, int flags) {
    int rc = flush(FILE_OF(f));
    if (rc != SQLITE_OK) return rc;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int bufferedFileSize(sqlite3_file *f, sqlite3_int64 *size) {
    int rc = flush(FILE_OF(f));
    if (rc != SQLITE_OK) return rc;
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int bufferedLock(sqlite3_file *f, int lock) { return REAL(f)->pMethods->xLock(REAL(f), lock); }
static int bufferedUnlock(sqlite3_file *f, int lock) { return REAL(f)->pMethods->xUnlock(REAL(f), lock); }
static int bufferedCheckReservedLock(sqlite3_file *f, int *out) {
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int bufferedFileControl(sqlite3_file *f, int op, void *argument) {
    int rc = flush(FILE_OF(f));
    if (rc != SQLITE_OK) return rc;
    return REAL(f)->pMethods->xFileControl(REAL(f), op, argument);
}

static int bufferedSectorSize(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int bufferedDeviceCharacteristics(sqlite3_file *f) {
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int bufferedShmMap(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
    return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, out);
}
static int bufferedShmLock(sqlite3_file *f, int offset, int n, int flags) {
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}
static void bufferedShmBarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int bufferedShmUnmap(sqlite3_file *f, int deleteFlag) {
    return REAL(f)->pMethods->xShmUnmap(REAL(f), deleteFlag);
}
static int bufferedFetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
    int rc = flush(FILE_OF(f));
    if (rc != SQLITE_OK) return rc;
    return REAL(f)->pMethods->xFetch(REAL(f), offset, amount, out);
}
static int bufferedUnfetch(sqlite3_file *f, sqlite3_int64 offset, void *page) {
    return REAL(f)->pMethods->xUnfetch(REAL(f), offset, page);
}

static int bufferedOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outFlags) {
    (void)vfs;
    WalBufferFile *file = FILE_OF(f);
    memset(file, 0, sizeof(*file));
    file->real = (sqlite3_file *)&file[1];
    file->isWal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = REAL_VFS->xOpen(REAL_VFS, name, file->real, flags, outFlags);
    if (file->real->pMethods == NULL) {
        file->base.pMethods = NULL;
        return rc;
    }
    int version = file->real->pMethods->iVersion;
    file->base.pMethods = &walBufferMethods[(version < 1 ? 1 : version > 3 ? 3 : version) - 1];
    return rc;
}

static int passDelete(sqlite3_vfs *v, const char *name, int syncDir) {
    (void)v;
    return REAL_VFS->xDelete(REAL_VFS, name, syncDir);
}
static int passAccess(sqlite3_vfs *v, const char *name, int flags, int *out) {
    (void)v;
    return REAL_VFS->xAccess(REAL_VFS, name, flags, out);
}
static int passFullPathname(sqlite3_vfs *v, const char *name, int size, char *out) {
    (void)v;
    return REAL_VFS->xFullPathname(REAL_VFS, name, size, out);
}
static void *passDlOpen(sqlite3_vfs *v, const char *name) {
    (void)v;
    return REAL_VFS->xDlOpen(REAL_VFS, name);
}
static void passDlError(sqlite3_vfs *v, int size, char *out) {
    (void)v;
    REAL_VFS->xDlError(REAL_VFS, size, out);
}
static void (*passDlSym(sqlite3_vfs *v, void *handle, const char *symbol))(void) {
    (void)v;
    return REAL_VFS->xDlSym(REAL_VFS, handle, symbol);
}
static void passDlClose(sqlite3_vfs *v, void *handle) {
    (void)v;
    REAL_VFS->xDlClose(REAL_VFS, handle);
}
static int passRandomness(sqlite3_vfs *v, int size, char *out) {
    (void)v;
    return REAL_VFS->xRandomness(REAL_VFS, size, out);
}
static int passSleep(sqlite3_vfs *v, int microseconds) {
    (void)v;
    return REAL_VFS->xSleep(REAL_VFS, microseconds);
}
static int passCurrentTime(sqlite3_vfs *v, double *out) {
    (void)v;
    return REAL_VFS->xCurrentTime(REAL_VFS, out);
}
static int passGetLastError(sqlite3_vfs *v, int size, char *out) {
    (void)v;
    return REAL_VFS->xGetLastError ? REAL_VFS->xGetLastError(REAL_VFS, size, out) : 0;
}
static int passCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) {
    (void)v;
    return REAL_VFS->xCurrentTimeInt64(REAL_VFS, out);
}

int licensed_sqlite_memory_statistics_off(void) {
    // Must come before SQLite initializes; afterwards SQLite refuses it (SQLITE_MISUSE).
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int licensed_wal_buffer_register(void) {
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK) return rc;
    // Called once per process (the caller's `static let`); sqlite3_vfs_register takes
    // SQLite's own lock.
    if (sqlite3_vfs_find(WAL_BUFFER_VFS_NAME) != NULL) return SQLITE_OK;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (real == NULL || real->iVersion < 2) return SQLITE_ERROR;
    walBufferMethods[2] = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = bufferedClose,
        .xRead = bufferedRead,
        .xWrite = bufferedWrite,
        .xTruncate = bufferedTruncate,
        .xSync = bufferedSync,
        .xFileSize = bufferedFileSize,
        .xLock = bufferedLock,
        .xUnlock = bufferedUnlock,
        .xCheckReservedLock = bufferedCheckReservedLock,
        .xFileControl = bufferedFileControl,
        .xSectorSize = bufferedSectorSize,
        .xDeviceCharacteristics = bufferedDeviceCharacteristics,
        .xShmMap = bufferedShmMap,
        .xShmLock = bufferedShmLock,
        .xShmBarrier = bufferedShmBarrier,
        .xShmUnmap = bufferedShmUnmap,
        .xFetch = bufferedFetch,
        .xUnfetch = bufferedUnfetch,
    };
    walBufferMethods[0] = walBufferMethods[2];
    walBufferMethods[0].iVersion = 1;
    walBufferMethods[1] = walBufferMethods[2];
    walBufferMethods[1].iVersion = 2;
    walBufferVfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(WalBufferFile) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = WAL_BUFFER_VFS_NAME,
        .pAppData = real,
        .xOpen = bufferedOpen,
        .xDelete = passDelete,
        .xAccess = passAccess,
        .xFullPathname = passFullPathname,
        .xDlOpen = passDlOpen,
        .xDlError = passDlError,
        .xDlSym = passDlSym,
        .xDlClose = passDlClose,
        .xRandomness = passRandomness,
        .xSleep = passSleep,
        .xCurrentTime = passCurrentTime,
        .xGetLastError = passGetLastError,
        .xCurrentTimeInt64 = passCurrentTimeInt64,
    };
    return sqlite3_vfs_register(&walBufferVfs, 1);
}
