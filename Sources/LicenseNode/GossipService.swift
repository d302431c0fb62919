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
/// once; a removed peer is not dialled again and its open sessions are closed (at their
/// next tick, within a second).
final class GossipService: Service {
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
    /// The listed peers, each with the number of the dial loop that serves it: a peer that
    /// is changed, or removed and listed again, gets a new loop and the old one stops.
    private let listed: Mutex<[String: (peer: GossipNode.Peer, loop: Int)]>
    private let loops = Mutex(0)

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
                for (peer, loop) in self.reload() { group.addTask { await self.maintain(peer, loop: loop) } }
                for await _ in self.hangups {
                    self.logger.notice("SIGHUP: reloading peers", metadata: ["file": "\(self.peersFile)"])
                    for (peer, loop) in self.reload() { group.addTask { await self.maintain(peer, loop: loop) } }
                }
            }
        }
    }

    /// Reads peers.json and returns the peers that are new or have moved, each with the
    /// number of its new dial loop; a bad file keeps the current peers and is logged.
    private func reload() -> [(GossipNode.Peer, Int)] {
        let loaded: PeerList
        do {
            loaded = try PeerList.load(path: peersFile, selfID: selfID)
        } catch {
            logger.error("peers file refused; keeping the current peers", metadata: ["error": "\(error)"])
            return []
        }
        let peers = loaded.peers.map { GossipNode.Peer(nodeID: $0.nodeID, host: $0.host, port: $0.port) }
        let (fresh, removed) = listed.withLock { current in
            var fresh: [(GossipNode.Peer, Int)] = []
            var next: [String: (peer: GossipNode.Peer, loop: Int)] = [:]
            for peer in peers {
                if let kept = current[peer.nodeID], kept.peer == peer {
                    next[peer.nodeID] = kept
                } else {
                    let loop = loops.withLock { value in
                        value += 1
                        return value
                    }
                    next[peer.nodeID] = (peer, loop)
                    fresh.append((peer, loop))
                }
            }
            let removed = current.keys.filter { next[$0] == nil }
            current = next
            return (fresh, removed)
        }
        for id in removed.sorted() {
            logger.notice("peer removed from the peer list; closing its sessions", metadata: ["peer.id": "\(id)"])
            node.board.closeSessions(with: id, reason: .unlistedPeer(id))
        }
        return fresh
    }

    /// Whether `loop` is still the one that serves its peer.
    private func isCurrent(_ peer: GossipNode.Peer, loop: Int) -> Bool {
        listed.withLock { $0[peer.nodeID]?.loop == loop }
    }

    private func maintain(_ peer: GossipNode.Peer, loop: Int) async {
        await node.keepConnected(to: peer, while: { self.isCurrent(peer, loop: loop) })
    }
}
