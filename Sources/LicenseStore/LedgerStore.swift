import Foundation
import GRDB
@_spi(Testing) import LicenseCore
import Synchronization

/// The SQLite ledger of one node: the signed entries, their per-origin hash chains, and
/// the views derived from them (license states, holder index), all updated in the same
/// transaction. Owns every byte on disk.
///
/// Durability: WAL with `synchronous=FULL`; a call returns only after its transaction
/// committed, so whatever it acknowledges survives a crash. Batch appends: one
/// transaction (one fsync) per batch, never one per entry.
public final class LedgerStore: Sendable {
    public let path: String
    let pool: DatabasePool
    /// The node's hybrid clock; advanced inside write transactions only.
    let clock: Mutex<HybridClock>
    /// The issuer keys, read once and kept until a key is added: every verified append
    /// needs them, and they change only when a key is registered or certified.
    let keyCache = GenerationCache<[String: IssuerKeyRecord]>()
    /// Changes whenever the issuer keys do (a certificate learned, a key registered): an
    /// entry held back for want of a key may be acceptable now.
    public var issuerKeysGeneration: Int { keyCache.generation }
    /// Certificates, revocations and agreements, for recognition decisions: every decision
    /// needs them, and they change rarely.
    let trustCache = GenerationCache<TrustSnapshot>()
    /// Each origin's earliest equivocation proof: every new session sends them.
    let earliestProofCache = GenerationCache<[Equivocation]>()
    /// The version vector: every session reads it after every append. Whatever moves a
    /// head (`saveHead`) invalidates it, inside its transaction and again after the commit.
    let vectorCache = GenerationCache<VersionVector>()
    /// The newest entries of each origin, for the sessions that push them.
    let recentEntries = RecentEntries()
    /// Large batches have their signatures checked one batch at a time, in the order they
    /// were handed in, each on every core (see `checkSignatures`).
    let verifier = DispatchQueue(label: "ledger.verify")
    private let authoredBatches = Mutex(0)

    /// Transactions `author` has committed since the store was opened (group-commit tests
    /// and metrics read it).
    public var authorTransactions: Int { authoredBatches.withLock { $0 } }

    /// Page size of a new ledger: SQLite's default, written down so another build's default
    /// cannot change it. Larger pages made point reads and random index inserts dearer
    /// (docs/DECISIONS.md, 60).
    static let pageBytes = 4096
    /// Page cache of the writer connection and of each reader connection.
    static let writerCacheKibibytes = 64 * 1024
    static let readerCacheKibibytes = 8 * 1024
    /// WAL size (in 4 KiB pages) that triggers a checkpoint: 32 MiB, so an index page
    /// that many batches dirty is written back once (docs/STORAGE.md).
    @_spi(Testing) public static let walCheckpointPages = 8192
    /// The same for a ledger among many in one process (the simulator's 34): SQLite's own
    /// default, 4 MiB. Thirty-four logs of 32 MiB were 1.1 GiB of memory-backed files whose
    /// every write reached memory no cache held (docs/STORAGE.md, "The simulator's logs").
    @_spi(Testing) public static let smallWALCheckpointPages = 1000

    public struct Identity: Equatable, Sendable {
        public let nodeID: String
        public let province: String

        public init(nodeID: String, province: String) {
            self.nodeID = nodeID
            self.province = province
        }
    }

    /// Opens (creating if needed) the ledger at `path`. With `identity`, a new ledger is
    /// stamped with it and an existing one must carry the same, so one node's data is
    /// never opened as another's. Read-only opens never create or migrate.
    ///
    /// `physicalMilliseconds`, when given, seeds the hybrid clock only from chain heads
    /// within the tolerated skew of it, so a far-future reading received earlier cannot
    /// drag this node's clock after a restart.
    public convenience init(path: String, identity: Identity? = nil, readOnly: Bool = false,
                            physicalMilliseconds: UInt64? = nil) throws(StoreError) {
        try self.init(path: path, identity: identity, readOnly: readOnly, physicalMilliseconds: physicalMilliseconds,
                      mergeRule: .causal, signatureMemo: nil)
    }

    /// How a later event of a license is merged into its view. `causal` is the product's
    /// rule: the holder's licenses are folded again in causal order (docs/CONFLICTS.md).
    /// `arrivalOrder` applies each event to the stored view as it arrives, ignoring
    /// concurrency: a deliberately broken rule that the simulator's canary test must catch.
    /// Only code that imports the store with `@_spi(Testing)` can choose it.
    @_spi(Testing) public enum MergeRule: Sendable {
        case causal
        case arrivalOrder
    }

    let mergeRule: MergeRule
    /// Signature checks shared with the other ledgers of the process (the simulator's).
    let signatureMemo: SignatureMemo?

    /// Where a write transaction runs. `writerQueue` is the product's: the caller suspends
    /// while the database's writer queue runs it, so no thread of the concurrency pool waits
    /// on SQLite. `callerThread` runs it, and large batches' signature checks, on the
    /// caller's thread, which blocks: for the simulator, which drives every ledger from one
    /// task, and to which each hop to a queue and back costs two thread switches (a quarter
    /// of its run time, measured) and buys nothing. Such a store also reads on its writer
    /// connection (see `read`).
    @_spi(Testing) public enum WriteThread: Sendable {
        case writerQueue
        case callerThread
    }

    let writeThread: WriteThread
    /// Checkpoints the log beside the writer (docs/STORAGE.md, "Checkpoints beside the
    /// writer"); nil for a read-only store, and for one that writes on its caller's thread,
    /// whose commits checkpoint in place as SQLite's do.
    let checkpointer: Checkpointer?
    /// Decoded entries shared with the other ledgers of the process (the simulator's): a
    /// holder's refold reads its entries through it.
    let entryMemo: EntryMemo?

    /// A store for the simulator: it merges with `mergeRule` (`arrivalOrder` for the canary
    /// test only), shares signature checks through `signatureMemo` and decoded entries through
    /// `entryMemo`, writes on `writeThread`, and checkpoints its log at `walCheckpointPages`.
    @_spi(Testing) public convenience init(path: String, identity: Identity?, physicalMilliseconds: UInt64? = nil,
                                           mergeRule: MergeRule, signatureMemo: SignatureMemo?,
                                           writeThread: WriteThread = .writerQueue, entryMemo: EntryMemo? = nil,
                                           walCheckpointPages: Int = LedgerStore.walCheckpointPages) throws(StoreError) {
        try self.init(path: path, identity: identity, readOnly: false, physicalMilliseconds: physicalMilliseconds,
                      mergeRule: mergeRule, signatureMemo: signatureMemo, writeThread: writeThread, entryMemo: entryMemo,
                      walCheckpointPages: walCheckpointPages)
    }

    private init(path: String, identity: Identity?, readOnly: Bool, physicalMilliseconds: UInt64?,
                 mergeRule: MergeRule, signatureMemo: SignatureMemo?, writeThread: WriteThread = .writerQueue,
                 entryMemo: EntryMemo? = nil, walCheckpointPages: Int = LedgerStore.walCheckpointPages) throws(StoreError) {
        self.path = path
        self.mergeRule = mergeRule
        self.signatureMemo = signatureMemo
        self.writeThread = writeThread
        self.entryMemo = entryMemo
        let checkpointer = readOnly || writeThread == .callerThread ? nil : Checkpointer(path: path, thresholdPages: walCheckpointPages)
        self.checkpointer = checkpointer
        _ = Self.walBufferInstalled
        var config = Configuration()
        config.readonly = readOnly
        config.label = "ledger"
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            // Takes effect only in a file not yet written: a ledger's page size is set once.
            if !readOnly { try db.execute(sql: "PRAGMA page_size = \(Self.pageBytes)") }
            try db.execute(sql: "PRAGMA cache_size = -\(Self.readerCacheKibibytes)")
        }
        do {
            if readOnly, !FileManager.default.fileExists(atPath: path) {
                throw StoreError.cannotOpen(path: path, detail: "no such file")
            }
            pool = try DatabasePool(path: path, configuration: config)
            if !readOnly {
                // GRDB's DatabasePool puts the writer back to synchronous=NORMAL after
                // opening; FULL is what makes an acknowledged commit survive power loss.
                // Refuse another node's ledger before writing anything to it.
                if let identity {
                    try Self.checkStoredIdentity(identity, path: path, pool: pool)
                }
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = FULL")
                    // The writer keeps the hot index pages of a large ledger in memory, and
                    // checkpoints less often so a page dirtied by many batches is written back once.
                    try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKibibytes)")
                    if let checkpointer {
                        checkpointer.install(on: db)
                    } else {
                        try db.execute(sql: "PRAGMA wal_autocheckpoint = \(walCheckpointPages)")
                    }
                }
                try Schema.migrator.migrate(pool)
            }
            try Self.checkHeads(path: path, pool: pool)
            let horizon = physicalMilliseconds.map { Int64(clamping: $0 + Self.clockSkewToleratedMilliseconds) } ?? Int64.max
            let lastHLC = try pool.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT head_hlc_wall, head_hlc_logical FROM origins WHERE head_hlc_wall <= ?
                    ORDER BY head_hlc_wall DESC, head_hlc_logical DESC LIMIT 1
                    """, arguments: [horizon])
            }
            let last = lastHLC.map {
                HybridTimestamp(wallMilliseconds: UInt64($0[0] as Int64), logical: UInt32($0[1] as Int64))
            }
            clock = Mutex(HybridClock(last: last ?? .zero))
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB, .SQLITE_CORRUPT:
                throw .corrupt(path: path, detail: error.message ?? "\(error.resultCode)")
            default:
                throw .cannotOpen(path: path, detail: error.message ?? "\(error)")
            }
        } catch {
            throw .cannotOpen(path: path, detail: "\(error)")
        }
        if let identity {
            try checkIdentity(identity)
        }
    }

    /// A cheap consistency check at every open (one (origin, seq) key read per origin, so it
    /// costs nothing at a million entries): each origin's recorded head is the last entry
    /// of its chain. A torn or damaged database fails here, at start, with a clear message,
    /// instead of later in the middle of a request.
    private static func checkHeads(path: String, pool: DatabasePool) throws {
        try pool.read { db in
            guard try db.tableExists("origins") else { return }
            for head in try Row.fetchAll(db, sql: "SELECT origin, head_seq, head_id FROM origins") {
                let origin: String = head["origin"]
                let seq: Int64 = head["head_seq"]
                let stored = try Data.fetchOne(db, sql: "SELECT id FROM entries WHERE origin = ? AND seq = ?",
                                               arguments: [origin, seq])
                let beyond = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM entries WHERE origin = ? AND seq > ?)",
                                               arguments: [origin, seq]) ?? false
                guard stored == (head["head_id"] as Data), !beyond else {
                    throw StoreError.corrupt(path: path, detail: "the chain of origin '\(origin)' does not end at its recorded head #\(seq)")
                }
            }
        }
    }

    /// Compares `identity` with the one stamped on an existing ledger, reading only.
    private static func checkStoredIdentity(_ identity: Identity, path: String, pool: DatabasePool) throws {
        try pool.read { db in
            if let stored = try storedIdentity(db), stored != identity {
                throw StoreError.belongsToAnotherNode(path: path, nodeID: stored.nodeID, province: stored.province)
            }
        }
    }

    /// Stamps `identity` on a ledger that has none yet (the mismatch was refused before migrating).
    private func checkIdentity(_ identity: Identity) throws(StoreError) {
        try run {
            try pool.write { db in
                if let stored = try Self.storedIdentity(db) {
                    guard stored == identity else {
                        throw StoreError.belongsToAnotherNode(path: path, nodeID: stored.nodeID, province: stored.province)
                    }
                } else {
                    try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('node_id', ?), ('province', ?)",
                                   arguments: [identity.nodeID, identity.province])
                }
            }
        }
    }

    /// The identity stamped on this ledger, if any.
    public func identity() throws(StoreError) -> Identity? {
        try run { try read { db in try Self.storedIdentity(db) } }
    }

    static func storedIdentity(_ db: Database) throws -> Identity? {
        guard try db.tableExists("meta") else { return nil }
        var stored: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta WHERE key IN ('node_id', 'province')") {
            stored[row["key"]] = row["value"]
        }
        guard let nodeID = stored["node_id"], let province = stored["province"] else { return nil }
        return Identity(nodeID: nodeID, province: province)
    }

    /// The writer connection's `synchronous` setting (2 = FULL). Tests assert it.
    public func synchronousMode() throws(StoreError) -> Int {
        try run { try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 } }
    }

    /// Moves the WAL's content into the main database file and truncates the WAL, so
    /// that the file sizes measure the ledger (used by the benchmark and backups).
    public func checkpoint() throws(StoreError) {
        try run { try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") } }
    }

    // MARK: - Issuer keys

    /// Records an issuer key this node trusts. Idempotent; a key id is never rebound.
    public func registerIssuerKey(keyID: String, origin: String, publicKey: PublicKey) throws(StoreError) {
        try run {
            try pool.write { db in
                if let existing = try Row.fetchOne(db, sql: "SELECT origin, public_key FROM issuer_keys WHERE key_id = ?",
                                                   arguments: [keyID]) {
                    let bytes: Data = existing["public_key"]
                    guard existing["origin"] == origin, [UInt8](bytes) == publicKey.bytes else {
                        throw StoreError.database("issuer key id '\(keyID)' is already bound to another key")
                    }
                    return
                }
                invalidateIssuerKeys()
                try db.execute(sql: "INSERT INTO issuer_keys (key_id, origin, public_key) VALUES (?, ?, ?)",
                               arguments: [keyID, origin, Data(publicKey.bytes)])
            }
        }
        invalidateIssuerKeys()
    }

    public struct IssuerKeyRecord: Sendable, Equatable {
        public let keyID: String
        public let origin: String
        public let publicKey: PublicKey
    }

    public func issuerKeys() throws(StoreError) -> [String: IssuerKeyRecord] {
        try run { try keyCache.value { try read { db in try Self.issuerKeys(db) } } }
    }

    /// The issuer keys inside a write transaction: the writer sees every committed key
    /// write and no key write can run beside it, so what it loads is current.
    func issuerKeys(_ db: Database) throws -> [String: IssuerKeyRecord] {
        try keyCache.value { try Self.issuerKeys(db) }
    }

    func invalidateIssuerKeys() {
        keyCache.invalidate()
    }

    static func issuerKeys(_ db: Database) throws -> [String: IssuerKeyRecord] {
        var out: [String: IssuerKeyRecord] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT key_id, origin, public_key FROM issuer_keys")) {
            let bytes: Data = row["public_key"]
            let record = IssuerKeyRecord(keyID: row["key_id"], origin: row["origin"],
                                         publicKey: try PublicKey(bytes: [UInt8](bytes)))
            out[record.keyID] = record
        }
        return out
    }

    // MARK: - Authoring local events

    /// One authored event: the signed entry and the license's state after it.
    public struct Authored: Sendable {
        public let entry: Entry
        public let state: LicenseState
    }

    /// Signs and appends a batch of local events in one transaction (group commit).
    /// Issue events must come from `LicenseAuthoring.issue`, which validates them against
    /// the catalog; later events are checked here, against the license's current state.
    /// Each event is checked against the license's state as the earlier events of the
    /// same batch left it; a refused event gets its error and is not written, the others
    /// are. Returns only after the commit, one result per event, in order.
    public func author(
        _ events: [LicenseEvent],
        signer: IssuerSigner,
        catalog: Catalog,
        physicalMilliseconds: UInt64,
        today: CivilDate
    ) async throws(StoreError) -> [Result<Authored, LicenseRequestError>] {
        try await runAsync {
            let (results, vector, generation) = try await write { db in
                let results = try self.authorInTransaction(events, signer: signer, catalog: catalog,
                                                           physicalMilliseconds: physicalMilliseconds, today: today, db: db)
                // As an append does: the vector that the sessions ask for next, read here.
                return (results, try Self.versionVector(db), self.vectorCache.generation)
            }
            recentEntries.record(results.lazy.compactMap { try? $0.get().entry })
            vectorCache.invalidate(keeping: vector, readAt: generation)
            authoredBatches.withLock { $0 += 1 }
            return results
        }
    }

    private func authorInTransaction(
        _ events: [LicenseEvent], signer: IssuerSigner, catalog: Catalog, physicalMilliseconds: UInt64,
        today: CivilDate, db: Database
    ) throws -> [Result<Authored, LicenseRequestError>] {
        var context = try Self.versionVector(db)
        var head = try Self.head(of: signer.origin, db)
        // Licenses this batch touched, with their row numbers.
        var states: [LicenseID: (row: Int64, state: LicenseState)] = [:]
        var results: [Result<Authored, LicenseRequestError>] = []
        results.reserveCapacity(events.count)
        var digest = try Self.loadDigest(db)
        /// Folds a holder in full, and keeps its new views for the batch's later events.
        func refold(_ holder: HolderRef) throws {
            try Self.refoldHolder(holder, digest: &digest, db, memo: entryMemo)
            for (id, state) in try LicenseRow.fetchRows(holder: holder, in: db).map({ ($0.state.id, $0) }) {
                states[id] = state
            }
        }
        for event in events {
            precondition(event.isLicenseEvent, "agreements are published with publishAgreement")
            let hlc = Self.after(head.hlc, clock.withLock { $0.tick(physicalMilliseconds: physicalMilliseconds) })
            var current: (row: Int64, state: LicenseState)?
            var after: LicenseState?
            if case let .issue(issue) = event, catalog[issue.licenseType]?.oncePerHolder == true,
               let existing = try Self.heldLicense(of: issue, today: today, batch: states, db) {
                results.append(.failure(.rejected(.alreadyHoldsType(type: issue.licenseType, existing: existing))))
                continue
            }
            if case let .transfer(transfer) = event {
                // The receiving province supersedes a license of another: checked against the
                // old license, written with a row of its own, then the holder is refolded.
                guard let old = try states[transfer.licenseID] ?? LicenseRow.fetch(transfer.licenseID, in: db) else {
                    results.append(.failure(.rejected(.unknownLicense(transfer.licenseID))))
                    continue
                }
                let body = EntryBody(origin: signer.origin, seq: head.seq + 1, prev: head.id, context: context,
                                     hlc: hlc, keyID: signer.keyID, event: event)
                let entry = Entry.sign(body, with: signer.key)
                do {
                    _ = try old.state.superseded(by: transfer, author: signer.origin, successor: entry.licenseID, at: hlc)
                } catch {
                    results.append(.failure(.rejected(error)))
                    continue
                }
                let fresh = try LicenseState(issuing: entry)
                let row = try LicenseRow.insert(fresh, in: db)
                digest.add(StateDigest.hash(fresh))
                try Self.insert(entry, licenseRow: row, db)
                try refold(fresh.holderRef)
                head = (body.seq, entry.id, hlc)
                context[signer.origin] = body.seq
                results.append(.success(Authored(entry: entry, state: states[entry.licenseID]?.state ?? fresh)))
                continue
            }
            if let target = event.targetLicense {
                current = try states[target] ?? LicenseRow.fetch(target, in: db)
                guard let current else {
                    results.append(.failure(.rejected(.unknownLicense(target))))
                    continue
                }
                do {
                    after = try LicenseAuthoring.check(event, on: current.state, author: signer.origin, at: hlc,
                                                       catalog: catalog)
                } catch {
                    results.append(.failure(error))
                    continue
                }
            }
            let body = EntryBody(origin: signer.origin, seq: head.seq + 1, prev: head.id, context: context,
                                 hlc: hlc, keyID: signer.keyID, event: event)
            let entry = Entry.sign(body, with: signer.key)
            let state = try after ?? LicenseState(issuing: entry)
            let row: Int64
            if let current {
                row = current.row
                digest.subtract(StateDigest.hash(current.state))
                try LicenseRow.update(state, row: row, in: db)
            } else {
                row = try LicenseRow.insert(state, in: db)
            }
            digest.add(StateDigest.hash(state))
            try Self.insert(entry, licenseRow: row, db)
            states[state.id] = (row, state)
            // Its context covers every entry held, so the fold applies it last, to the view
            // it was checked on, unless a held context claims to have seen it or a held clock
            // reads ahead of it (a misbehaving or badly skewed node): then the holder is folded.
            var stored = state
            if current != nil || HolderFold.oncePerHolderTypes.contains(state.licenseType),
               try !Self.appliesLast(entry, state.holderRef, db, memo: entryMemo) {
                try refold(state.holderRef)
                stored = states[state.id]?.state ?? state
            }
            #if DEBUG
            try Self.checkHolderIsFolded(state.holderRef, db)
            #endif
            head = (body.seq, entry.id, hlc)
            context[signer.origin] = body.seq
            results.append(.success(Authored(entry: entry, state: stored)))
        }
        if head.seq > 0 {
            try saveHead(origin: signer.origin, seq: head.seq, id: head.id, hlc: head.hlc, db)
            try Self.saveDigest(digest, db)
        }
        return results
    }

    /// `reading`, or just after `head` when the clock reads earlier (it was set back, and the
    /// node restarted): an origin's own entries always carry increasing clock readings.
    static func after(_ head: HybridTimestamp, _ reading: HybridTimestamp) -> HybridTimestamp {
        reading > head ? reading : HybridTimestamp(wallMilliseconds: head.wallMilliseconds, logical: head.logical + 1)
    }

    /// A license of the issue's type that its holder still holds (not revoked, not
    /// expired), looking at this batch's states before the stored ones.
    private static func heldLicense(of issue: LicenseEvent.Issue, today: CivilDate,
                                    batch: [LicenseID: (row: Int64, state: LicenseState)],
                                    _ db: Database) throws -> LicenseID? {
        func holds(_ state: LicenseState) -> Bool {
            guard state.holderRef == issue.holderRef, state.licenseType == issue.licenseType else { return false }
            switch state.effectiveStatus(today: today) {
            case .active, .suspended, .notYetValid: return true
            case .revoked, .expired, .superseded, .void: return false
            }
        }
        let stored = try LicenseRow.fetch(holder: issue.holderRef, in: db).map { batch[$0.id]?.state ?? $0 }
        let fresh = batch.values.map(\.state).filter { state in !stored.contains { $0.id == state.id } }
        return (stored + fresh).filter(holds).map(\.id).min()
    }

    // MARK: - Helpers

    static func versionVector(_ db: Database) throws -> VersionVector {
        // In key order, so each origin goes to the vector's end. Every append transaction
        // reads it: through SQLite directly, not a GRDB row per origin.
        var vv = VersionVector(minimumCapacity: 64)
        _ = try RawStatement(db, "SELECT origin, head_seq FROM origins ORDER BY origin").forEach({ _ in }) { columns in
            guard let origin = columns.text(0) else { throw StoreError.database("an origin row is unreadable") }
            vv[origin] = UInt64(columns.int64(1))
            return true
        }
        return vv
    }

    static func head(of origin: String, _ db: Database) throws -> (seq: UInt64, id: EntryID, hlc: HybridTimestamp) {
        let head = try RawStatement(db, """
            SELECT head_seq, head_id, head_hlc_wall, head_hlc_logical FROM origins WHERE origin = ?
            """).first({ $0.bind(origin) }) { columns in
                (seq: UInt64(columns.int64(0)), id: columns.bytes(1),
                 hlc: HybridTimestamp(wallMilliseconds: UInt64(columns.int64(2)), logical: UInt32(columns.int64(3))))
            }
        guard let head else { return (0, .zero, .zero) }
        return (head.seq, try EntryID(bytes: head.id), head.hlc)
    }

    static func entry(_ row: Row) throws -> Entry {
        try entry(row, memo: nil)
    }

    /// `row` starts with the columns `body, signature` (read by position: a lookup by name
    /// lower-cases every column name).
    static func entry(_ row: some ColumnReader, memo: EntryMemo?) throws -> Entry {
        let body = row.bytes(0), signature = row.bytes(1)
        return try memo?.entry(bodyBytes: body, signature: signature) ?? Entry(bodyBytes: body, signature: signature)
    }

    func run<T>(_ work: () throws -> T) throws(StoreError) -> T {
        do {
            return try work()
        } catch {
            throw Self.wrap(error)
        }
    }

    /// Runs `updates` in a write transaction on `writeThread`; returns after the commit.
    func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        switch writeThread {
        case .writerQueue: try await pool.writeWithoutTransaction { db in try Self.transaction(db, updates) }
        case .callerThread: try writeBlocking(updates)
        }
    }

    /// The synchronous write (within an async function, Swift would pick the async one).
    private func writeBlocking<T>(_ updates: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in try Self.transaction(db, updates) }
    }

    /// What GRDB's `write` does, with BEGIN and COMMIT prepared once per connection rather
    /// than once per transaction: every append and authoring is one transaction, and at a
    /// few entries each (a mesh's pushes) preparing the two cost as much as an insert.
    /// Whatever fails rolls the whole transaction back.
    private static func transaction<T>(_ db: Database, _ updates: (Database) throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let value = try updates(db)
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return value
        } catch {
            if db.isInsideTransaction { try? db.rollback() }
            throw error
        }
    }

    /// Runs `value` on a snapshot of the ledger. A store that writes on its caller's thread
    /// reads on its writer connection too: nothing else writes to it meanwhile, and the writer's
    /// page cache stays warm, where a reader's is dropped after every commit (WAL mode).
    func read<T>(_ value: (Database) throws -> T) throws -> T {
        switch writeThread {
        case .writerQueue: try pool.read(value)
        case .callerThread: try pool.writeWithoutTransaction(value)
        }
    }

    /// Drops what is kept of the trust material and the proofs; whatever writes either calls
    /// this inside its transaction and again after the commit.
    func invalidateTrust() {
        trustCache.invalidate()
        earliestProofCache.invalidate()
    }

    func runAsync<T>(_ work: () async throws -> T) async throws(StoreError) -> T {
        do {
            return try await work()
        } catch {
            throw Self.wrap(error)
        }
    }

    static func wrap(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError: error
        case let error as DatabaseError: .database(error.message ?? "\(error.resultCode)")
        default: .database("\(error)")
        }
    }
}
