import Synchronization

/// A value read from the database and kept until a write invalidates it. The generation
/// is read before the value is loaded: a write that commits in between bumps it, and the
/// older value is not kept. A writer invalidates inside its transaction and again after
/// the commit.
final class GenerationCache<Value: Sendable>: Sendable {
    private let state = Mutex<(generation: Int, value: Value?)>((0, nil))

    /// Bumped by every invalidation: a reader that saw one value can tell it changed.
    var generation: Int { state.withLock { $0.generation } }

    func value(load: () throws -> Value) rethrows -> Value {
        let (generation, cached) = state.withLock { ($0.generation, $0.value) }
        if let cached { return cached }
        let value = try load()
        state.withLock { cache in
            if cache.generation == generation { cache.value = value }
        }
        return value
    }

    func invalidate() {
        state.withLock { cache in
            cache.generation += 1
            cache.value = nil
        }
    }

    /// The invalidation after a commit, for a writer that read the new value inside its
    /// transaction, after its last invalidation there (at `generation`): the value is kept
    /// unless another write invalidated since, in which case it may be stale and is dropped.
    func invalidate(keeping value: Value, readAt generation: Int) {
        state.withLock { cache in
            let unchanged = cache.generation == generation
            cache.generation += 1
            cache.value = unchanged ? value : nil
        }
    }
}
