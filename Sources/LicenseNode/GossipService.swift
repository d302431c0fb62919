import Foundation
import LicenseSync
import LicenseTransport
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The gossip side of a configured node, as a lifecycle Service: accepts sessions on the
/// gossip port and keeps a session up with every peer of peers.json, reconnecting with
/// exponential backoff and jitter. SIGHUP reloads peers.json: new peers are dialled at
/// once; a removed peer is not dialled again (its open session ends at its next close).
final class GossipService: Service {
    /// Backoff between dial attempts to one peer.
    static let reconnectMillisecondsMin: UInt64 = 100
    static let reconnectMillisecondsMax: UInt64 = 30_000
    /// A session that lasted this long resets the backoff.
    static let stableSessionMilliseconds: UInt64 = 10_000
    /// Anti-entropy: every this often, one random live session re-announces this node's
    /// vector, so both sides re-plan and repair anything a push missed.
    static let antiEntropyMilliseconds: UInt64 = 10_000

    let node: GossipNode
    let listener: GossipListener
    let peersFile: String
    let selfID: String
    let logger: Logger
    /// Created before the node reports ready, so a SIGHUP right after "ready" is caught.
    let hangups: UnixSignalsSequence
    private let listed: Mutex<[String: GossipNode.Peer]>

    init(node: GossipNode, listener: GossipListener, peersFile: String, selfID: String, hangups: UnixSignalsSequence,
         logger: Logger) {
        self.listed = Mutex([:])
        self.hangups = hangups
        self.node = node
        self.listener = listener
        self.peersFile = peersFile
        self.selfID = selfID
        self.logger = logger
    }

    func run() async throws {
        // Only listed nodes may hold a session with this node, inbound as well.
        node.setPeerFilter { [weak self] id in self?.listed.withLock { $0[id] != nil } ?? false }
        do {
            try await runUntilShutdown()
        } catch {
            // A graceful shutdown cancels the listener and the dialers; whatever they
            // throw on the way out is the shutdown itself, not a failure.
            guard Task.isCancelled || Task.isShuttingDownGracefully else { throw error }
        }
    }

    private func runUntilShutdown() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.listener.serve() }
                group.addTask {
                    var random = SystemRandomNumberGenerator()
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(Self.antiEntropyMilliseconds))
                        self.node.board.announceToOne { Int.random(in: 0..<$0, using: &random) }
                    }
                }
                for peer in self.reload() { group.addTask { await self.maintain(peer) } }
                for await _ in self.hangups {
                    self.logger.notice("SIGHUP: reloading peers", metadata: ["file": "\(self.peersFile)"])
                    for peer in self.reload() { group.addTask { await self.maintain(peer) } }
                }
            }
        }
    }

    /// Reads peers.json and returns the peers that are new or have moved; a bad file keeps
    /// the current peers and is logged.
    private func reload() -> [GossipNode.Peer] {
        let loaded: PeerList
        do {
            loaded = try PeerList.load(path: peersFile, selfID: selfID)
        } catch {
            logger.error("peers file refused; keeping the current peers", metadata: ["error": "\(error)"])
            return []
        }
        let peers = loaded.peers.map { GossipNode.Peer(nodeID: $0.nodeID, host: $0.host, port: $0.port) }
        return listed.withLock { current in
            let fresh = peers.filter { current[$0.nodeID] != $0 }
            current = Dictionary(uniqueKeysWithValues: peers.map { ($0.nodeID, $0) })
            return fresh
        }
    }

    private func isListed(_ peer: GossipNode.Peer) -> Bool {
        listed.withLock { $0[peer.nodeID] == peer }
    }

    private func maintain(_ peer: GossipNode.Peer) async {
        var delay = Self.reconnectMillisecondsMin
        var random = SystemRandomNumberGenerator()
        while !Task.isCancelled && isListed(peer) {
            let started = ContinuousClock.now
            let reason = await node.dial(peer)
            let lasted = started.duration(to: .now)
            if lasted >= .milliseconds(Self.stableSessionMilliseconds) { delay = Self.reconnectMillisecondsMin }
            logger.debug("session with peer ended", metadata: ["peer.id": "\(peer.nodeID)", "reason": "\(reason.code)"])
            // Full jitter within [delay/2, delay], so peers that fail together do not retry together.
            let wait = delay / 2 + UInt64.random(in: 0...(delay / 2), using: &random)
            try? await Task.sleep(for: .milliseconds(wait))
            delay = min(delay * 2, Self.reconnectMillisecondsMax)
        }
    }
}
