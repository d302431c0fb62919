import LicenseCore
import LicenseSync
import Synchronization

/// Tells every live session what changed in the local ledger, so each can push it to its
/// peer at once:
/// - the version vector, when entries were appended (authored here or received). Only the
///   newest vector matters, so each subscriber keeps just the latest one: a slow session
///   never makes memory grow;
/// - equivocation proofs, when this node recorded a new one. Proofs are rare (one per
///   forked origin and position) and each must reach every peer, so none is dropped;
/// - certificates and key revocations this node learned, likewise.
public final class VectorHub: Sendable {
    private let vectors = Subscribers<VersionVector>(buffering: .bufferingNewest(1))
    private let proofs = Subscribers<[Entry]>(buffering: .unbounded)
    private let trust = Subscribers<TrustUpdate>(buffering: .unbounded)

    /// Root-signed certificates and revocations, as exact bytes.
    public typealias TrustUpdate = (certificates: [SyncFrame.SignedBytes], revocations: [SyncFrame.SignedBytes])

    public init() {}

    public func publish(_ vector: VersionVector) {
        vectors.publish(vector)
    }

    /// A stream of vectors until the subscriber stops iterating.
    public func subscribe() -> AsyncStream<VersionVector> {
        vectors.subscribe()
    }

    /// A new equivocation proof: its two signed entries.
    public func publishEquivocation(_ entries: [Entry]) {
        proofs.publish(entries)
    }

    public func subscribeEquivocations() -> AsyncStream<[Entry]> {
        proofs.subscribe()
    }

    /// Trust material this node learned (published here, or from a peer): every peer must
    /// hear of it, and it is as rare as proofs.
    public func publishTrust(certificates: [SyncFrame.SignedBytes], revocations: [SyncFrame.SignedBytes]) {
        trust.publish((certificates, revocations))
    }

    public func subscribeTrust() -> AsyncStream<TrustUpdate> {
        trust.subscribe()
    }
}

private final class Subscribers<Value: Sendable>: Sendable {
    private let continuations = Mutex<[Int: AsyncStream<Value>.Continuation]>([:])
    private let nextID = Mutex(0)
    private let buffering: AsyncStream<Value>.Continuation.BufferingPolicy

    init(buffering: AsyncStream<Value>.Continuation.BufferingPolicy) {
        self.buffering = buffering
    }

    func publish(_ value: Value) {
        for continuation in continuations.withLock({ Array($0.values) }) {
            continuation.yield(value)
        }
    }

    func subscribe() -> AsyncStream<Value> {
        let id = nextID.withLock { value in
            value += 1
            return value
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Value.self, bufferingPolicy: buffering)
        continuation.onTermination = { [weak self] _ in
            _ = self?.continuations.withLock { $0.removeValue(forKey: id) }
        }
        continuations.withLock { $0[id] = continuation }
        return stream
    }
}
