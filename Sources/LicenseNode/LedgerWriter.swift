import LicenseCore
import LicenseStore

/// Group commit for local license events. Concurrent callers are batched into one
/// store transaction (one fsync) instead of one each: the first caller that finds no
/// write in progress leads and writes its own event plus everything queued so far;
/// callers arriving meanwhile wait, and when the batch commits the first of them is
/// woken to lead the next batch. No background task: the callers do the work.
public actor LedgerWriter {
    public typealias Outcome = Result<LedgerStore.Authored, LicenseRequestError>

    /// Events per transaction; large enough to amortise the fsync, small enough to keep
    /// the transaction (and a waiting caller's latency) short.
    public static let batchEventsMax = 2048
    /// Callers allowed to wait for a batch; beyond this a write is refused at once
    /// (HTTP 503) rather than letting memory and latency grow without bound.
    public static let queueMax = 16 * batchEventsMax

    private enum Wake {
        case done(Outcome)
        case lead
    }

    private struct Waiter {
        let event: LicenseEvent
        let continuation: CheckedContinuation<Result<Wake, StoreError>, Never>
    }

    private let store: LedgerStore
    private let signer: IssuerSigner
    private let catalog: Catalog
    private let clock: any NodeClock
    private let onCommit: @Sendable () -> Void
    private var queue: [Waiter] = []
    private var writing = false

    /// `onCommit` runs after every committed batch (the node tells its gossip sessions).
    public init(store: LedgerStore, signer: IssuerSigner, catalog: Catalog, clock: any NodeClock,
                onCommit: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.signer = signer
        self.catalog = catalog
        self.clock = clock
        self.onCommit = onCommit
    }

    /// Signs and durably appends `event`; returns after the commit.
    public func write(_ event: LicenseEvent) async throws(StoreError) -> Outcome {
        let wake: Wake
        if writing {
            guard queue.count < Self.queueMax else { throw .overloaded(waiting: queue.count) }
            wake = try await withCheckedContinuation { queue.append(Waiter(event: event, continuation: $0)) }.get()
        } else {
            writing = true
            wake = .lead
        }
        switch wake {
        case let .done(outcome):
            return outcome
        case .lead:
            return try await lead(own: event)
        }
    }

    /// Writes one batch: the leader's own event and the queue's head, then hands
    /// leadership to the next waiter, or clears `writing`.
    private func lead(own event: LicenseEvent) async throws(StoreError) -> Outcome {
        // A leader woken from the queue is still its first element; a fresh one is not queued.
        let ownQueued = leaderIsQueued
        leaderIsQueued = false
        var batch = Array(queue.prefix(Self.batchEventsMax - (ownQueued ? 0 : 1)))
        queue.removeFirst(batch.count)
        if ownQueued { batch.removeFirst() }
        let results: [Outcome]
        do {
            results = try await store.author([event] + batch.map(\.event), signer: signer, catalog: catalog,
                                             physicalMilliseconds: clock.nowMilliseconds(), today: clock.today())
        } catch {
            for waiter in batch { waiter.continuation.resume(returning: .failure(error)) }
            handOn()
            throw error
        }
        for (waiter, result) in zip(batch, results.dropFirst()) {
            waiter.continuation.resume(returning: .success(.done(result)))
        }
        onCommit()
        handOn()
        return results[0]
    }

    /// True while the queue's first waiter has been woken to lead and not yet run.
    private var leaderIsQueued = false

    private func handOn() {
        if let next = queue.first {
            leaderIsQueued = true
            next.continuation.resume(returning: .success(.lead))
        } else {
            writing = false
        }
    }
}
