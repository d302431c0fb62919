import Foundation
import LicenseCore
import Synchronization

/// What a node knows about each peer, for `licensectl peers` and `status`: connection
/// state, the peer's version vector, traffic, and the last error.
public struct PeerStatus: Sendable, Equatable, Codable {
    public var nodeID: String
    public var connected: Bool
    /// Unix milliseconds of the current session's start, or of the last disconnection.
    public var sinceMilliseconds: UInt64
    public var sessions: Int
    public var peerVector: [String: UInt64]
    public var entriesIn: UInt64
    public var entriesOut: UInt64
    public var bytesIn: UInt64
    public var bytesOut: UInt64
    public var lastError: String?

    init(nodeID: String, now: UInt64) {
        self.nodeID = nodeID
        connected = false
        sinceMilliseconds = now
        sessions = 0
        peerVector = [:]
        entriesIn = 0
        entriesOut = 0
        bytesIn = 0
        bytesOut = 0
        lastError = nil
    }

    /// Per origin, how many of this node's entries the peer lacks.
    public func lag(behind local: VersionVector) -> [String: UInt64] {
        var lag: [String: UInt64] = [:]
        for (origin, seq) in local.seqs where seq > peerVector[origin, default: 0] {
            lag[origin] = seq - peerVector[origin, default: 0]
        }
        return lag
    }
}

public final class PeerBoard: Sendable {
    private let peers = Mutex<[String: PeerStatus]>([:])
    /// Live sessions' anti-entropy triggers, by a session number.
    private let announcers = Mutex<[Int: (nodeID: String, trigger: @Sendable () -> Void)]>([:])
    private let nextSession = Mutex(0)

    public init() {}

    public func snapshot() -> [PeerStatus] {
        peers.withLock { Array($0.values) }.sorted { $0.nodeID < $1.nodeID }
    }

    func update(_ nodeID: String, now: UInt64, _ change: (inout PeerStatus) -> Void) {
        peers.withLock { all in
            var status = all[nodeID] ?? PeerStatus(nodeID: nodeID, now: now)
            change(&status)
            all[nodeID] = status
        }
    }

    /// Records a failed dial of a peer that never reached a session.
    public func recordUnreachable(_ nodeID: String, error: String, now: UInt64) {
        update(nodeID, now: now) { status in
            if status.sessions == 0 {
                status.connected = false
                status.lastError = error
            }
        }
    }

    func register(nodeID: String, trigger: @escaping @Sendable () -> Void) -> Int {
        let id = nextSession.withLock { value in
            value += 1
            return value
        }
        announcers.withLock { $0[id] = (nodeID, trigger) }
        return id
    }

    func unregister(_ id: Int) {
        _ = announcers.withLock { $0.removeValue(forKey: id) }
    }

    /// Anti-entropy: asks one live session, chosen by `pick` among `count`, to announce
    /// this node's vector, so that both sides re-plan. Returns the peer asked, if any.
    @discardableResult
    public func announceToOne(pick: (Int) -> Int) -> String? {
        let live = announcers.withLock { Array($0.values) }.sorted { $0.nodeID < $1.nodeID }
        guard !live.isEmpty else { return nil }
        let chosen = live[pick(live.count) % live.count]
        chosen.trigger()
        return chosen.nodeID
    }
}
