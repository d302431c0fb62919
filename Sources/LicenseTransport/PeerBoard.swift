import Foundation
import LicenseCore
import LicenseSync
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
        for (origin, seq) in local.sorted where seq > peerVector[origin, default: 0] {
            lag[origin] = seq - peerVector[origin, default: 0]
        }
        return lag
    }
}

/// Requests to a running session from outside it (anti-entropy, a peer list reload, a
/// duplicate session), taken by the session's next tick.
final class SessionControl: Sendable {
    private let requests = Mutex<(announce: Bool, close: SyncError?)>((false, nil))

    func requestAnnounce() { requests.withLock { $0.announce = true } }

    func requestClose(_ reason: SyncError) { requests.withLock { $0.close = $0.close ?? reason } }

    func takeAnnounce() -> Bool {
        requests.withLock { value in
            defer { value.announce = false }
            return value.announce
        }
    }

    func takeClose() -> SyncError? {
        requests.withLock { $0.close }
    }
}

public final class PeerBoard: Sendable {
    private struct LiveSession {
        let nodeID: String
        let dialedHere: Bool
        let control: SessionControl
    }

    /// What the sessions report for metrics, as it happens.
    public enum Event: Sendable {
        /// A received batch was appended: how many entries were stored, and how long
        /// checking and appending took.
        case appended(entries: Int, seconds: Double)
        /// A received entry was refused (the peer was disconnected), by reason code.
        case refused(reason: String)
    }

    private let observer = Mutex<(@Sendable (Event) -> Void)?>(nil)

    /// Hears every `Event` from now on (one observer: the node's metrics).
    public func observe(_ handler: @escaping @Sendable (Event) -> Void) {
        observer.withLock { $0 = handler }
    }

    func report(_ event: Event) {
        observer.withLock { $0 }?(event)
    }

    /// Why a session with a peer was ended by this node because of what the peer did.
    public struct Refusal: Sendable, Equatable {
        public let atMilliseconds: UInt64
        public let peer: String
        public let code: String
        public let detail: String
    }

    /// Refusals kept for the status page and `status --json`: the most recent ones.
    public static let refusalsKept = 50
    private let refusals = Mutex<[Refusal]>([])

    /// Records that this node ended a session because of what the peer sent or did.
    /// Ends that are nobody's fault (a duplicate session, an idle link, a local close) or
    /// the peer's own report are not refusals.
    func recordEnd(_ reason: SyncError, peer: String, now: UInt64) {
        switch reason {
        case .duplicateSession, .idleTimeout, .closedByLocalNode, .peerReported:
            return
        default:
            refusals.withLock { list in
                list.append(Refusal(atMilliseconds: now, peer: peer, code: reason.code, detail: reason.description))
                if list.count > Self.refusalsKept { list.removeFirst(list.count - Self.refusalsKept) }
            }
        }
    }

    /// The most recent refusals, newest first.
    public func recentRefusals() -> [Refusal] {
        refusals.withLock { Array($0.reversed()) }
    }

    private let peers = Mutex<[String: PeerStatus]>([:])
    /// Established sessions, by a session number.
    private let live = Mutex<[Int: LiveSession]>([:])
    private let nextSession = Mutex(0)

    public init() {}

    /// The connected peer that holds the most of `origin`'s entries, and how many, when a
    /// connected peer holds any.
    public func mostEntries(of origin: String) -> (peer: String, seq: UInt64)? {
        peers.withLock { all in
            all.values.filter(\.connected)
                .compactMap { status in status.peerVector[origin].map { (peer: status.nodeID, seq: $0) } }
                .max { ($0.seq, $1.peer) < ($1.seq, $0.peer) }
        }
    }

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

    /// Registers an established session. One session per pair of nodes: when both have
    /// dialed, each side keeps the session dialed by the node with the smaller id (both
    /// sides decide alike, whatever order the sessions came up in). A new session in the
    /// same direction as an old one replaces it: the peer dialed again, so the old one is
    /// dead or dying. Returns nil when this session is the one to drop; a registered
    /// session displaces the others, which are asked to close.
    func register(nodeID: String, dialedHere: Bool, localNodeID: String, control: SessionControl) -> Int? {
        let preferred = dialedHere == (localNodeID < nodeID)
        return live.withLock { sessions in
            let others = sessions.filter { $0.value.nodeID == nodeID }
            if !preferred && others.values.contains(where: { $0.dialedHere != dialedHere }) { return nil }
            for other in others.values { other.control.requestClose(.duplicateSession(peer: nodeID)) }
            let id = nextSession.withLock { value in
                value += 1
                return value
            }
            sessions[id] = LiveSession(nodeID: nodeID, dialedHere: dialedHere, control: control)
            return id
        }
    }

    func unregister(_ id: Int) {
        _ = live.withLock { $0.removeValue(forKey: id) }
    }

    /// Asks every session with `nodeID` to close (it was removed from the peer list).
    public func closeSessions(with nodeID: String, reason: SyncError) {
        for session in live.withLock({ Array($0.values) }) where session.nodeID == nodeID {
            session.control.requestClose(reason)
        }
    }

    /// Anti-entropy: asks one live session, chosen by `pick` among `count`, to announce
    /// this node's vector, so that both sides re-plan. Returns the peer asked, if any.
    @discardableResult
    public func announceToOne(pick: (Int) -> Int) -> String? {
        let sessions = live.withLock { Array($0.values) }.sorted { $0.nodeID < $1.nodeID }
        guard !sessions.isEmpty else { return nil }
        let chosen = sessions[pick(sessions.count) % sessions.count]
        chosen.control.requestAnnounce()
        return chosen.nodeID
    }
}
