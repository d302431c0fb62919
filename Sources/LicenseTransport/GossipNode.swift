import LicenseCore
import LicenseStore
import LicenseSync
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// TLS 1.3 with mutual authentication against the network CA. Hostnames are not checked:
/// a peer is identified by the node id in its certificate, which must match its Hello and
/// the peer list.
public struct GossipTLS: Sendable {
    let server: NIOSSLContext
    let client: NIOSSLContext

    public init(caCertificatePEM: String, certificatePEM: String, privateKeyPEM: String) throws {
        let ca = try NIOSSLCertificate(bytes: Array(caCertificatePEM.utf8), format: .pem)
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
        let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem))
        var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain
        client.privateKey = key
        // A peer that does not answer close_notify within a second is gone (a dead route):
        // do not hold the connection, and the dialer's next attempt, for NIOSSL's default 5 s.
        server.shutdownTimeout = .seconds(1)
        client.shutdownTimeout = .seconds(1)
        server.minimumTLSVersion = .tlsv13
        server.maximumTLSVersion = .tlsv13
        server.certificateVerification = .noHostnameVerification
        server.trustRoots = .certificates([ca])
        client.minimumTLSVersion = .tlsv13
        client.maximumTLSVersion = .tlsv13
        client.certificateVerification = .noHostnameVerification
        client.trustRoots = .certificates([ca])
        self.server = try NIOSSLContext(configuration: server)
        self.client = try NIOSSLContext(configuration: client)
    }
}

/// A node's gossip endpoint: accepts sessions, dials peers, and runs each connection's
/// session against the ledger.
public final class GossipNode: Sendable {
    public struct Peer: Sendable, Equatable {
        public let nodeID: String
        public let host: String
        public let port: Int

        public init(nodeID: String, host: String, port: Int) {
            self.nodeID = nodeID
            self.host = host
            self.port = port
        }
    }

    /// Entries per batch this node accepts: large enough to amortise a transaction's fsync,
    /// small enough (with ≤ 64 KiB entries, cut by bytes too) to stay under the frame limit.
    public static let batchEntriesMax: UInt32 = 1024
    /// Unacknowledged batches this node accepts: one being appended while the next ones
    /// are verified on the other cores, and enough behind them that the sender's reads and
    /// the commit's fsync never leave a core idle. At most 8 MiB of frames.
    public static let batchesInFlightMax: UInt32 = 8

    public let store: LedgerStore
    public let hub: VectorHub
    public let board: PeerBoard
    /// Which node ids may hold a session with this node (peers.json); all, until set.
    private let peerFilter = Mutex<@Sendable (String) -> Bool>({ _ in true })

    public func setPeerFilter(_ filter: @escaping @Sendable (String) -> Bool) {
        peerFilter.withLock { $0 = filter }
    }

    func isAllowed(_ nodeID: String) -> Bool {
        peerFilter.withLock { $0 }(nodeID)
    }
    let nodeID: String
    let province: String
    let tls: GossipTLS
    let clock: @Sendable () -> UInt64
    let logger: Logger
    let tickMilliseconds: UInt64
    let keepaliveMilliseconds: UInt64
    let idleTimeoutMilliseconds: UInt64

    /// The trust anchor: with it, sessions exchange issuer certificates.
    let root: PublicKey?

    public init(store: LedgerStore, nodeID: String, province: String, tls: GossipTLS, hub: VectorHub,
                board: PeerBoard = PeerBoard(), root: PublicKey? = nil, clock: @escaping @Sendable () -> UInt64,
                logger: Logger, tickMilliseconds: UInt64 = 1000, keepaliveMilliseconds: UInt64 = 15_000,
                idleTimeoutMilliseconds: UInt64 = 60_000) {
        self.keepaliveMilliseconds = keepaliveMilliseconds
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.board = board
        self.root = root
        self.store = store
        self.nodeID = nodeID
        self.province = province
        self.tls = tls
        self.hub = hub
        self.clock = clock
        self.logger = logger
        self.tickMilliseconds = tickMilliseconds
    }

    typealias Connection = (channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, raw: any Channel)

    /// Binds the gossip listener (port 0 picks a free one).
    public func bind(host: String, port: Int) async throws -> GossipListener {
        let context = tls.server
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    let wrapped = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    return (wrapped, channel) as (NIOAsyncChannel<ByteBuffer, ByteBuffer>, any Channel)
                }
            }
        return GossipListener(node: self, server: server)
    }

    /// Dials `peer` once and runs the session until it ends; returns why it ended.
    public func dial(_ peer: Peer) async -> SyncError {
        let context = tls.client
        do {
            let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: peer.host, port: peer.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                        let wrapped = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        return (wrapped, channel) as (NIOAsyncChannel<ByteBuffer, ByteBuffer>, any Channel)
                    }
                }
            return await run(connection, session: SyncSession(role: .dialer, configuration: sessionConfiguration(expecting: peer.nodeID)))
        } catch {
            logger.debug("dial failed", metadata: ["peer.id": "\(peer.nodeID)", "error": "\(error)"])
            board.recordUnreachable(peer.nodeID, error: "cannot connect to \(peer.host):\(peer.port): \(error)", now: clock())
            return .peerReported(code: "unreachable", message: "\(error)")
        }
    }

    /// Backoff between dial attempts to one peer: doubles from `minimum` to `maximum`; a
    /// session that lasted `stable` resets it.
    public struct Backoff: Sendable {
        public var minimum: Duration = .milliseconds(100)
        public var maximum: Duration = .seconds(30)
        public var stable: Duration = .seconds(10)

        public init() {}
    }

    /// Keeps a session up with `peer` while `wanted()` holds: dials, and when the session
    /// ends (closed, dropped, timed out, refused), dials again after the backoff, drawn
    /// uniformly from its upper half so that peers that fail together do not retry together.
    /// `ended` hears why each session ended.
    public func keepConnected(to peer: Peer, backoff: Backoff = Backoff(), while wanted: @Sendable () -> Bool,
                              ended: @Sendable (SyncError) -> Void = { _ in }) async {
        var delay = backoff.minimum
        var random = SystemRandomNumberGenerator()
        while !Task.isCancelled && wanted() {
            let started = ContinuousClock.now
            let reason = await dial(peer)
            if started.duration(to: .now) >= backoff.stable { delay = backoff.minimum }
            logger.debug("session with peer ended", metadata: ["peer.id": "\(peer.nodeID)", "reason": "\(reason.code)"])
            ended(reason)
            let wait = delay / 2 + (delay / 2) * Double.random(in: 0...1, using: &random)
            try? await Task.sleep(for: wait)
            delay = min(delay * 2, backoff.maximum)
        }
    }

    func sessionConfiguration(expecting peer: String? = nil) -> SyncSession.Configuration {
        var configuration = SyncSession.Configuration(nodeID: nodeID, province: province, expectedPeer: peer)
        configuration.batchEntriesMax = GossipNode.batchEntriesMax
        configuration.batchesInFlightMax = GossipNode.batchesInFlightMax
        configuration.keepaliveMilliseconds = keepaliveMilliseconds
        configuration.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        return configuration
    }

    func run(_ connection: Connection, session: SyncSession) async -> SyncError {
        let raw = connection.raw
        let runner = GossipConnection(store: store, hub: hub, board: board, root: root, clock: clock, logger: logger,
                                      tickMilliseconds: tickMilliseconds)
        return await runner.run(channel: connection.channel, session: session, allowed: { [self] in isAllowed($0) }) {
            // By the time a Hello arrives the handshake is complete and the peer verified.
            guard let certificate = try? await raw.nioSSL_peerCertificate().get(),
                  let der = try? certificate.toDERBytes()
            else { return nil }
            return TransportPKI.nodeID(ofCertificateDER: der)
        }
    }
}

/// A bound gossip listener; `serve()` accepts sessions until cancelled.
public struct GossipListener: Sendable {
    let node: GossipNode
    let server: NIOAsyncChannel<(NIOAsyncChannel<ByteBuffer, ByteBuffer>, any Channel), Never>

    public var port: Int { server.channel.localAddress?.port ?? 0 }

    public func serve() async throws {
        try await server.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in connections {
                    group.addTask {
                        _ = await node.run(connection, session: SyncSession(role: .acceptor, configuration: node.sessionConfiguration()))
                    }
                }
            }
        }
    }
}
