import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP relay between a dialer and a listener that a test can break: drop every
/// connection at once (a network cut), or stop forwarding while keeping connections open
/// (a black hole, as a dead route looks to TCP).
final class TCPProxy: Sendable {
    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let target: (host: String, port: Int)
    private let forwarding = Atomic(true)
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    var port: Int { server.channel.localAddress?.port ?? 0 }

    init(to host: String, port: Int) async throws {
        target = (host, port)
        server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Drops (true) or passes (false) every byte from now on, in both directions, and
    /// (true) closes new connections at once.
    func blackhole(_ on: Bool) {
        forwarding.store(!on, ordering: .sequentiallyConsistent)
    }

    /// Closes every relayed connection, both halves.
    func dropAll() {
        for channel in open.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }

    /// Relays connections until cancelled.
    func serve() async throws {
        try await server.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await client in inbound {
                    // A black hole takes no new connections either: they are closed at once,
                    // so a redial waits for the route to come back instead of stalling in a
                    // handshake whose first bytes were dropped.
                    guard forwarding.load(ordering: .sequentiallyConsistent) else {
                        try? await client.channel.close()
                        continue
                    }
                    group.addTask { try? await self.relay(client) }
                }
            }
        }
    }

    private func relay(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws {
        let upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let pair = [client.channel, upstream.channel]
        open.withLock { for channel in pair { $0[ObjectIdentifier(channel)] = channel } }
        defer { open.withLock { for channel in pair { $0.removeValue(forKey: ObjectIdentifier(channel)) } } }
        try await client.executeThenClose { clientIn, clientOut in
            try await upstream.executeThenClose { upstreamIn, upstreamOut in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.copy(clientIn, to: upstreamOut) }
                    group.addTask { try await self.copy(upstreamIn, to: clientOut) }
                    // Either half ending ends the relay: close both.
                    _ = try await group.next()
                    group.cancelAll()
                    for channel in pair { channel.close(promise: nil) }
                }
            }
        }
    }

    private func copy(_ source: NIOAsyncChannelInboundStream<ByteBuffer>, to sink: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        for try await buffer in source where forwarding.load(ordering: .sequentiallyConsistent) {
            try await sink.write(buffer)
        }
    }
}

/// A flag set once, read from any task.
final class Latch: Sendable {
    private let value = Atomic(false)

    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }

    func set() { value.store(true, ordering: .sequentiallyConsistent) }
}
