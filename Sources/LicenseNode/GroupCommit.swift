import LicenseStore

/// Group commit: concurrent callers' items are written in one store transaction (one
/// fsync) instead of one each. The first caller that finds no write in progress leads and
/// writes its own item plus everything queued so far; callers arriving meanwhile wait, and
/// when the batch commits the first of them is woken to lead the next batch. No background
/// task: the callers do the work.
actor GroupCommit<Item: Sendable, Outcome: Sendable> {
    typealias Commit = @Sendable ([Item]) async throws(StoreError) -> [Outcome]

    private enum Wake {
        case done(Outcome)
        case lead
    }

    private struct Waiter {
        let item: Item
        let continuation: CheckedContinuation<Result<Wake, StoreError>, Never>
    }

    /// Items per transaction.
    let batchMax: Int
    /// Callers allowed to wait; beyond this a write is refused at once (`overloaded`,
    /// HTTP 503) rather than letting memory and latency grow without bound.
    let queueMax: Int
    private let commit: Commit
    private var queue: [Waiter] = []
    private var writing = false
    /// True while the queue's first waiter has been woken to lead and not yet run.
    private var leaderIsQueued = false

    /// `commit` writes a batch in one transaction and returns one outcome per item, in order.
    init(batchMax: Int, queueMax: Int, commit: @escaping Commit) {
        self.batchMax = batchMax
        self.queueMax = queueMax
        self.commit = commit
    }

    /// Writes `item` with whatever else is waiting; returns its outcome after the commit.
    func write(_ item: Item) async throws(StoreError) -> Outcome {
        let wake: Wake
        if writing {
            guard queue.count < queueMax else { throw .overloaded(waiting: queue.count) }
            wake = try await withCheckedContinuation { queue.append(Waiter(item: item, continuation: $0)) }.get()
        } else {
            writing = true
            wake = .lead
        }
        switch wake {
        case let .done(outcome):
            return outcome
        case .lead:
            return try await lead(own: item)
        }
    }

    /// Writes one batch: the leader's own item and the queue's head, then hands
    /// leadership to the next waiter, or clears `writing`.
    private func lead(own item: Item) async throws(StoreError) -> Outcome {
        // A leader woken from the queue is still its first element; a fresh one is not queued.
        let ownQueued = leaderIsQueued
        leaderIsQueued = false
        var batch = Array(queue.prefix(batchMax - (ownQueued ? 0 : 1)))
        queue.removeFirst(batch.count)
        if ownQueued { batch.removeFirst() }
        let results: [Outcome]
        do {
            results = try await commit([item] + batch.map(\.item))
        } catch {
            for waiter in batch { waiter.continuation.resume(returning: .failure(error)) }
            handOn()
            throw error
        }
        for (waiter, result) in zip(batch, results.dropFirst()) {
            waiter.continuation.resume(returning: .success(.done(result)))
        }
        handOn()
        return results[0]
    }

    private func handOn() {
        if let next = queue.first {
            leaderIsQueued = true
            next.continuation.resume(returning: .success(.lead))
        } else {
            writing = false
        }
    }
}
