import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints a ledger's write-ahead log on a thread of its own, beside the writer
/// (docs/STORAGE.md, "Checkpoints beside the writer").
///
/// SQLite's own checkpoint runs in the connection that commits, inside the commit that
/// crossed the threshold: a catch-up's writer stopped for 15–65 ms at every 32 MiB of log
/// while the entries behind it waited, verified, for the transaction to end. Here the
/// writer's commit only asks; a second connection copies the log's pages into the database
/// (a PASSIVE checkpoint, which neither waits for nor blocks the writer), and the writer's
/// next transaction starts the log again from its beginning once every page is copied.
/// Should the copies fall behind (a writer that never pauses, a machine too busy to run
/// them), the writer checkpoints itself at `fallbackFactor` times the threshold, as SQLite
/// would have at the threshold: the log stays bounded either way.
final class Checkpointer: Sendable {
    /// Log frames (pages) at which a commit asks for a checkpoint.
    let thresholdPages: Int32
    /// The writer checkpoints itself once the log holds this many times `thresholdPages`.
    static let fallbackFactor: Int32 = 4

    private let path: String
    private let queue = DispatchQueue(label: "ledger.checkpoint")
    private let state = Mutex(State())
    /// The checkpointer's own connection, opened at its first checkpoint. Used only on
    /// `queue`, one block at a time, and closed when this object goes, after its last block.
    nonisolated(unsafe) private var connection: OpaquePointer?

    private struct State {
        var scheduled = false
        /// A commit asked again while a checkpoint ran.
        var again = false
        var counts = Counts()
    }

    typealias Counts = LedgerStore.CheckpointCounts

    var counts: Counts { state.withLock { $0.counts } }

    init(path: String, thresholdPages: Int) {
        self.path = path
        self.thresholdPages = Int32(clamping: max(1, thresholdPages))
    }

    deinit {
        // The store is gone, and with it every commit that could ask for a checkpoint; a
        // checkpoint in progress holds this object until it ends.
        if let connection { sqlite3_close_v2(connection) }
    }

    /// Makes the writer connection report its commits here instead of checkpointing in them.
    /// Replaces SQLite's own checkpoint-on-commit (`wal_autocheckpoint`), which is itself a WAL hook.
    func install(on writer: Database) {
        sqlite3_wal_hook(writer.sqliteConnection, { context, connection, database, pages in
            guard let context else { return SQLITE_OK }
            Unmanaged<Checkpointer>.fromOpaque(context).takeUnretainedValue()
                .committed(logPages: pages, connection: connection, database: database)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Called by SQLite after each commit of the writer, with the frames now in the log.
    /// The writer's connection is between transactions here, and so free to checkpoint.
    ///
    /// The hook's context is unretained: the store owns this object and the pool whose
    /// writer calls it, and every commit runs inside a call on the store, so no commit can
    /// run after the store, and this object with it, is gone.
    private func committed(logPages pages: Int32, connection: OpaquePointer?, database: UnsafePointer<CChar>?) {
        if pages >= thresholdPages * Self.fallbackFactor {
            let code = sqlite3_wal_checkpoint_v2(connection, database, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            if code == SQLITE_OK { state.withLock { $0.counts.byWriter += 1 } }
            return
        }
        guard pages >= thresholdPages else { return }
        let start = state.withLock { state -> Bool in
            if state.scheduled {
                state.again = true
                return false
            }
            state.scheduled = true
            return true
        }
        if start { queue.async { self.run() } }
    }

    /// Returns once every checkpoint asked for so far has run (tests).
    func waitForCheckpoints() {
        queue.sync {}
    }

    /// Holds back the checkpoints asked for from now on, until `resume` (tests: a writer
    /// that outruns its checkpointer).
    func pause() {
        queue.suspend()
    }

    func resume() {
        queue.resume()
    }

    /// Checkpoints until no commit asked again meanwhile.
    private func run() {
        while true {
            let result = checkpointOnce()
            let more = state.withLock { state -> Bool in
                switch result {
                case let .copied(all):
                    state.counts.background += 1
                    if all { state.counts.completed += 1 }
                case .failed:
                    state.counts.failed += 1
                case .busy:
                    break
                }
                if state.again {
                    state.again = false
                    return true
                }
                state.scheduled = false
                return false
            }
            if !more { return }
        }
    }

    private enum Result {
        case copied(all: Bool)
        case failed
        /// Another checkpoint (the writer's) held the log: nothing to count.
        case busy
    }

    private func checkpointOnce() -> Result {
        guard let connection = connection ?? open() else { return .failed }
        var logFrames: Int32 = 0
        var copied: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(connection, "main", SQLITE_CHECKPOINT_PASSIVE, &logFrames, &copied)
        if code == SQLITE_BUSY { return .busy }
        guard code == SQLITE_OK else { return .failed }
        return .copied(all: copied == logFrames)
    }

    /// Opens the checkpointer's connection: the ledger's file, read-write, never created.
    /// `synchronous = FULL`, as the writer's: the database file is synced before the log
    /// may be started again.
    private func open() -> OpaquePointer? {
        var connection: OpaquePointer?
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
              sqlite3_exec(connection, "PRAGMA synchronous = FULL", nil, nil, nil) == SQLITE_OK
        else {
            sqlite3_close_v2(connection)
            return nil
        }
        self.connection = connection
        return connection
    }
}

extension LedgerStore {
    /// What a node's checkpoints did since its ledger opened (metrics read it).
    public struct CheckpointCounts: Sendable, Equatable {
        /// Checkpoints run beside the writer, and how many of them copied the whole log.
        public var background = 0
        public var completed = 0
        /// Checkpoints the writer ran itself because the log reached the fallback size.
        public var byWriter = 0
        /// Checkpoints beside the writer that could not run (the ledger could not be opened
        /// a second time, or SQLite refused the checkpoint).
        public var failed = 0
    }

    /// Nil for a store whose commits checkpoint in place (see `checkpointer`).
    public var checkpointCounts: CheckpointCounts? { checkpointer?.counts }
}
