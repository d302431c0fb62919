import LicenseCore
import LicenseStore

/// Group commit for local license events (see `GroupCommit`): concurrent callers' events
/// are signed and appended in one store transaction, one fsync.
public struct LedgerWriter: Sendable {
    public typealias Outcome = Result<LedgerStore.Authored, LicenseRequestError>

    /// Events per transaction; large enough to amortise the fsync, small enough to keep
    /// the transaction (and a waiting caller's latency) short.
    public static let batchEventsMax = 2048
    /// Callers allowed to wait for a batch; beyond this a write is refused at once.
    public static let queueMax = 16 * batchEventsMax

    private let commits: GroupCommit<LicenseEvent, Outcome>

    /// `onCommit` runs after every committed batch (the node tells its gossip sessions).
    public init(store: LedgerStore, signer: IssuerSigner, catalog: Catalog, clock: any NodeClock,
                onCommit: @escaping @Sendable () -> Void = {}) {
        commits = GroupCommit(batchMax: Self.batchEventsMax, queueMax: Self.queueMax) { events throws(StoreError) in
            let results = try await store.author(events, signer: signer, catalog: catalog,
                                                 physicalMilliseconds: clock.nowMilliseconds(), today: clock.today())
            onCommit()
            return results
        }
    }

    /// Signs and durably appends `event`; returns after the commit.
    public func write(_ event: LicenseEvent) async throws(StoreError) -> Outcome {
        try await commits.write(event)
    }
}

/// Group commit for audit records: every recognition decision is recorded before it is
/// answered, and one fsync per decision would cap the node at the disk's fsync rate.
public struct AuditWriter: Sendable {
    public static let batchRecordsMax = 4096
    public static let queueMax = 16 * batchRecordsMax

    private let commits: GroupCommit<AuditRecord, Void>

    public init(store: LedgerStore) {
        commits = GroupCommit(batchMax: Self.batchRecordsMax, queueMax: Self.queueMax) { records throws(StoreError) in
            try await store.recordAudit(records)
            return Array(repeating: (), count: records.count)
        }
    }

    /// Returns once `record` is durably in the audit log.
    public func record(_ record: AuditRecord) async throws(StoreError) {
        try await commits.write(record)
    }
}
