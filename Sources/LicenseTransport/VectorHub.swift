import LicenseCore
import Synchronization

/// Tells every live session when the local ledger gained entries, so each can push what
/// its peer lacks at once. Only the newest vector matters, so each subscriber keeps just
/// the latest one: a slow session never makes memory grow.
public final class VectorHub: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<VersionVector>.Continuation]>([:])
    private let nextID = Mutex(0)

    public init() {}

    public func publish(_ vector: VersionVector) {
        for continuation in subscribers.withLock({ Array($0.values) }) {
            continuation.yield(vector)
        }
    }

    /// A stream of vectors until the subscriber stops iterating.
    public func subscribe() -> AsyncStream<VersionVector> {
        let id = nextID.withLock { value in
            value += 1
            return value
        }
        let (stream, continuation) = AsyncStream.makeStream(of: VersionVector.self, bufferingPolicy: .bufferingNewest(1))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }
}
