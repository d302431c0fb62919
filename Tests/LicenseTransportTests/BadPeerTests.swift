import Foundation
import LicenseCore
import LicenseStore
import LicenseSync
@testable import LicenseTransport
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// A peer with a valid certificate that sends what an honest node never would, over real
/// TLS: the node refuses it with a specific error frame, stores nothing of it, and goes
/// on serving its other peers.
@Suite(.timeLimit(.minutes(2))) final class BadPeerTests: @unchecked Sendable {
    /// The nodes, keys and helpers of the TLS tests, in a directory of its own.
    let network: GossipTLSTests

    init() throws {
        network = try GossipTLSTests()
    }

    enum Attack: String, CaseIterable, Sendable {
        case forgedSignature, brokenChain, gapInSeq, oversizedFrame, garbageBytes

        var expectedCode: String {
            switch self {
            case .forgedSignature: "bad_signature"
            case .brokenChain: "wrong_prev"
            case .gapInSeq: "gap"
            case .oversizedFrame: "frame_too_large"
            case .garbageBytes: "malformed_frame"
            }
        }

        /// Honest entries the attack carries before its bad one: they are valid and kept.
        var honestPrefix: UInt64 { self == .brokenChain ? 1 : 0 }

        /// What the attacker sends after Hello and vector, made from gd's honest entries.
        func bytes(_ honest: [Entry], key: SigningKey) throws -> [UInt8] {
            switch self {
            case .forgedSignature:
                var signature = honest[0].signature
                signature[0] ^= 0x80
                return FrameCodec.encode(.entries(batch: 1, [try Entry(bodyBytes: honest[0].bodyBytes, signature: signature)]))
            case .brokenChain:
                var second = honest[1].body
                second.prev = honest[1].id
                return FrameCodec.encode(.entries(batch: 1, [honest[0], Entry.sign(second, with: key)]))
            case .gapInSeq:
                return FrameCodec.encode(.entries(batch: 1, [honest[1]]))
            case .oversizedFrame:
                // Only the length: the node refuses before any payload, and unread payload
                // bytes would turn its close into a reset that can swallow the error frame.
                return [0x00, 0x20, 0x00, 0x00]
            case .garbageBytes:
                return [0x00, 0x00, 0x00, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
            }
        }
    }

    @Test(arguments: Attack.allCases)
    func badPeer_isRefused_nothingIsStored_andOtherPeersAreStillServed(attack: Attack) async throws {
        let sh = try network.node("sh", province: "310000", trusting: ["gd", "bj"])
        let bj = try network.node("bj", province: "110000", trusting: ["sh"])
        // gd's honest history, signed with gd's real key, which sh trusts.
        let gd = try network.node("gd", province: "440000", trusting: [])
        try await network.issue(gd, 2, province: "440000")
        let honest = try gd.store.entries(origin: "gd", after: 0, limit: 10)
        let listener = try await sh.gossip.bind(host: "127.0.0.1", port: 0)
        let code = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.serve() }
            group.addTask { _ = await bj.gossip.dial(.init(nodeID: "sh", host: "127.0.0.1", port: listener.port)) }
            try await network.issue(sh, 1, province: "310000")
            sh.gossip.hub.publish(try sh.store.versionVector())
            try await network.waitUntil(bj, holds: VersionVector(["sh": 1]))

            let code = try await Self.attack(port: listener.port, as: try network.tls(for: "gd"),
                                             sending: try attack.bytes(honest, key: gd.signer.key))

            // The honest peer's session was never touched: it still receives.
            try await network.issue(store: sh.store, signer: sh.signer, 1, province: "310000", firstHolder: 50)
            sh.gossip.hub.publish(try sh.store.versionVector())
            try await network.waitUntil(bj, holds: VersionVector(["sh": 2]))
            group.cancelAll()
            return code
        }
        #expect(code == attack.expectedCode)
        #expect(try sh.store.versionVector()["gd"] == attack.honestPrefix)
        #expect(try sh.store.entries(origin: "gd", after: 0, limit: 10) == Array(honest.prefix(Int(attack.honestPrefix))))
        #expect(try sh.store.equivocations().isEmpty)
        #expect(try LedgerVerifier.verify(sh.store).isValid)
    }

    /// Connects as a node with `tls`, answers the acceptor's Hello, sends its vector and
    /// then `bytes`; returns the code of the error frame the node answers with.
    static func attack(port: Int, as tls: GossipTLS, sending bytes: [UInt8]) async throws -> String? {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls.client, serverHostname: nil))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var decoder = FrameDecoder()
            var incoming = inbound.makeAsyncIterator()
            // Bounded: the node sends a handful of frames before it closes the connection.
            for _ in 0..<1000 {
                if let frame = try decoder.next() {
                    switch frame {
                    case .hello:
                        try await outbound.write(ByteBuffer(bytes: FrameCodec.encode(.hello(.init(
                            nodeID: "gd", province: "440000", batchEntriesMax: 64, batchesInFlightMax: 2)))))
                        try await outbound.write(ByteBuffer(bytes: FrameCodec.encode(.vector(VersionVector()))))
                        try await outbound.write(ByteBuffer(bytes: bytes))
                    case let .error(code, _):
                        return code
                    default:
                        continue
                    }
                    continue
                }
                guard let buffer = try await incoming.next() else { return nil }
                decoder.append(buffer.readableBytesView)
            }
            return nil
        }
    }
}
