import Foundation
@_spi(Testing) import LicenseCore
import SwiftProtobuf

/// One frame of the sync protocol, decoded and checked (Protos/lx/v1/sync.proto).
public enum SyncFrame: Equatable, Sendable {
    case hello(Hello)
    /// What the sender holds; `heads` names, for some or all origins, the id of the
    /// sender's entry at its seq (two branches of equal length differ only there).
    case vector(VersionVector, heads: [String: EntryID] = [:])
    case entries(batch: UInt64, [Entry])
    /// The same frame as `entries`, built from stored bytes that are not decoded again
    /// (what a node sends); it is received as `entries`.
    case entryBytes(batch: UInt64, [StoredEntry])
    case ack(batch: UInt64, VersionVector)
    case error(code: String, message: String)
    case ping(UInt64)
    case pong(UInt64)
    /// Root-signed trust material, as exact bytes: issuer certificates and key
    /// revocations. The receiver verifies them against its root.
    case trust(certificates: [SignedBytes], revocations: [SignedBytes])
    /// Evidence that an origin equivocated: one or two signed entries of one (origin,
    /// seq); two with different ids are a proof (docs/PROTOCOL.md, "Equivocation").
    case equivocation([Entry])

    /// A root-signed document's body and signature, not decoded.
    public struct SignedBytes: Equatable, Sendable {
        public let body: [UInt8]
        public let signature: [UInt8]

        public init(body: [UInt8], signature: [UInt8]) {
            self.body = body
            self.signature = signature
        }
    }

    /// Certificates, and revocations, per trust frame.
    public static let certificatesMax = 1024

    public static let protocolVersion: UInt32 = 1
    public static let batchEntriesLimit: UInt32 = 4096
    public static let batchesInFlightLimit: UInt32 = 64
    static let errorCodeBytesMax = 64
    static let errorMessageBytesMax = 1000

    public struct Hello: Equatable, Sendable {
        public var protocolVersion: UInt32
        public var nodeID: String
        public var province: String
        public var batchEntriesMax: UInt32
        public var batchesInFlightMax: UInt32

        public init(protocolVersion: UInt32 = SyncFrame.protocolVersion, nodeID: String, province: String,
                    batchEntriesMax: UInt32, batchesInFlightMax: UInt32) {
            self.protocolVersion = protocolVersion
            self.nodeID = nodeID
            self.province = province
            self.batchEntriesMax = batchEntriesMax
            self.batchesInFlightMax = batchesInFlightMax
        }
    }

    /// A short name for logs and metrics.
    public var kind: String {
        switch self {
        case .hello: "hello"
        case .vector: "vector"
        case .entries, .entryBytes: "entries"
        case .ack: "ack"
        case .error: "error"
        case .ping: "ping"
        case .pong: "pong"
        case .trust: "trust"
        case .equivocation: "equivocation"
        }
    }

    /// The frame's protobuf bytes; `lengthPrefixed`: after the prefix that frames them on
    /// the wire (`FrameCodec`), written into the same buffer, so a batch is not copied again.
    func encoded(lengthPrefixed: Bool = false) -> [UInt8] {
        // The frames of every batch are written by hand (`FrameWire`), byte for byte as the
        // library writes them.
        switch self {
        case let .entries(batch, entries):
            return FrameWire.entries(batch: batch, entries.map { ($0.bodyBytes, $0.signature) }, lengthPrefixed: lengthPrefixed)
        case let .entryBytes(batch, entries):
            return FrameWire.entries(batch: batch, entries.map { ($0.bodyBytes, $0.signature) }, lengthPrefixed: lengthPrefixed)
        case let .ack(batch, vector): return FrameWire.ack(batch: batch, vector, lengthPrefixed: lengthPrefixed)
        default: break
        }
        let payload = libraryEncoded()
        guard lengthPrefixed else { return payload }
        var out: [UInt8] = []
        out.reserveCapacity(4 + payload.count)
        FrameCodec.appendLengthPrefix(payload.count, to: &out)
        out += payload
        return out
    }

    /// The other frames, written by the protobuf library.
    private func libraryEncoded() -> [UInt8] {
        var frame = LXFrame()
        switch self {
        case let .hello(hello):
            var m = LXHello()
            m.protocolVersion = hello.protocolVersion
            m.nodeID = hello.nodeID
            m.province = hello.province
            m.batchEntriesMax = hello.batchEntriesMax
            m.batchesInFlightMax = hello.batchesInFlightMax
            frame.kind = .hello(m)
        case let .vector(vector, heads):
            var m = LXVectorAnnouncement()
            m.components = Self.components(vector)
            m.heads = heads.sorted { $0.key < $1.key }.map { origin, id in
                var head = LXOriginHead()
                head.origin = origin
                head.id = Data(id.bytes)
                return head
            }
            frame.kind = .vector(m)
        case let .entries(batch, entries):
            frame.kind = .entries(Self.batch(batch, entries.map { Self.signed($0.bodyBytes, $0.signature) }))
        case let .entryBytes(batch, entries):
            frame.kind = .entries(Self.batch(batch, entries.map { Self.signed($0.bodyBytes, $0.signature) }))
        case let .ack(batch, vector):
            var m = LXAcknowledgement()
            m.batch = batch
            m.components = Self.components(vector)
            frame.kind = .ack(m)
        case let .error(code, message):
            var m = LXErrorReport()
            m.code = String(code.utf8.prefix(Self.errorCodeBytesMax)) ?? code
            m.message = String(message.utf8.prefix(Self.errorMessageBytesMax)) ?? message
            frame.kind = .error(m)
        case let .ping(nonce):
            var m = LXPing()
            m.nonce = nonce
            frame.kind = .ping(m)
        case let .pong(nonce):
            var m = LXPong()
            m.nonce = nonce
            frame.kind = .pong(m)
        case let .trust(certificates, revocations):
            var m = LXCertificateSet()
            m.certificates = certificates.map { c in
                var cert = LXIssuerCertificate()
                cert.body = Data(c.body)
                cert.signature = Data(c.signature)
                return cert
            }
            m.revocations = revocations.map { r in
                var revocation = LXKeyRevocation()
                revocation.body = Data(r.body)
                revocation.signature = Data(r.signature)
                return revocation
            }
            frame.kind = .certificates(m)
        case let .equivocation(entries):
            var m = LXEquivocationEvidence()
            m.entries = entries.map { Self.signed($0.bodyBytes, $0.signature) }
            frame.kind = .equivocation(m)
        }
        do {
            return try frame.serializedBytes()
        } catch {
            preconditionFailure("protobuf serialisation of a frame failed: \(error)")
        }
    }

    /// Decodes a frame payload and checks every field; throws `.malformedFrame` naming
    /// what is wrong.
    public init(decoding payload: [UInt8]) throws(SyncError) {
        try self.init(decoding: payload, entryMemo: nil)
    }

    /// Decodes entries through `entryMemo` (the simulator's, shared by its nodes).
    @_spi(Testing) public init(decoding payload: [UInt8], entryMemo: EntryMemo?) throws(SyncError) {
        switch FrameWire.read(payload) {
        case let .entries(batch, entries)?:
            self = .entries(batch: batch, try Self.checkedBatch(entries, memo: entryMemo))
        case let .ack(batch, components)?:
            self = .ack(batch: batch, try Self.vector(components))
        case nil:
            try self.init(libraryDecoding: payload, entryMemo: entryMemo)
        }
    }

    /// Decodes with the protobuf library alone: every frame `FrameWire` does not read.
    init(libraryDecoding payload: [UInt8], entryMemo: EntryMemo?) throws(SyncError) {
        let frame: LXFrame
        do {
            frame = try LXFrame(serializedBytes: payload)
        } catch {
            throw .malformedFrame("not a valid lx.v1.Frame: \(error)")
        }
        guard let kind = frame.kind else { throw .malformedFrame("frame has no kind") }
        switch kind {
        case let .hello(m):
            guard NodeID.isValid(m.nodeID) else { throw .malformedFrame("hello: node id '\(m.nodeID.prefix(40))' is invalid") }
            guard Province.byCode[m.province] != nil else { throw .malformedFrame("hello: unknown province '\(m.province.prefix(10))'") }
            guard (1...Self.batchEntriesLimit).contains(m.batchEntriesMax),
                  (1...Self.batchesInFlightLimit).contains(m.batchesInFlightMax)
            else { throw .malformedFrame("hello: batch limits out of range") }
            self = .hello(Hello(protocolVersion: m.protocolVersion, nodeID: m.nodeID, province: m.province,
                                batchEntriesMax: m.batchEntriesMax, batchesInFlightMax: m.batchesInFlightMax))
        case let .vector(m):
            let vector = try Self.vector(m.components.map { ($0.origin, $0.seq) })
            self = .vector(vector, heads: try Self.heads(m.heads, of: vector))
        case let .entries(m):
            self = .entries(batch: m.batch, try Self.checkedBatch(m.entries.map(Self.pair), memo: entryMemo))
        case let .ack(m):
            self = .ack(batch: m.batch, try Self.vector(m.components.map { ($0.origin, $0.seq) }))
        case let .error(m):
            self = .error(code: String(m.code.prefix(Self.errorCodeBytesMax)),
                          message: String(m.message.prefix(Self.errorMessageBytesMax)))
        case let .ping(m):
            self = .ping(m.nonce)
        case let .pong(m):
            self = .pong(m.nonce)
        case let .certificates(m):
            guard m.certificates.count <= Self.certificatesMax, m.revocations.count <= Self.certificatesMax else {
                throw .malformedFrame("trust: more than \(Self.certificatesMax) certificates or revocations")
            }
            self = .trust(certificates: m.certificates.map { SignedBytes(body: [UInt8]($0.body), signature: [UInt8]($0.signature)) },
                          revocations: m.revocations.map { SignedBytes(body: [UInt8]($0.body), signature: [UInt8]($0.signature)) })
        case let .equivocation(m):
            guard (1...2).contains(m.entries.count) else { throw .malformedFrame("equivocation: needs 1 or 2 entries") }
            let entries = try Self.entries(m.entries.map(Self.pair), frame: "equivocation", memo: entryMemo)
            guard entries.allSatisfy({ $0.body.origin == entries[0].body.origin && $0.body.seq == entries[0].body.seq }) else {
                throw .malformedFrame("equivocation: entries must share one origin and seq")
            }
            guard entries.count == 1 || entries[0].id != entries[1].id else {
                throw .malformedFrame("equivocation: the two entries are the same entry")
            }
            self = .equivocation(entries)
        }
    }

    private static func batch(_ number: UInt64, _ entries: [LXSignedEntry]) -> LXEntryBatch {
        var m = LXEntryBatch()
        m.batch = number
        m.entries = entries
        return m
    }

    private static func signed(_ body: [UInt8], _ signature: [UInt8]) -> LXSignedEntry {
        var e = LXSignedEntry()
        e.body = Data(body)
        e.signature = Data(signature)
        return e
    }

    private static func pair(_ signed: LXSignedEntry) -> (body: [UInt8], signature: [UInt8]) {
        ([UInt8](signed.body), [UInt8](signed.signature))
    }

    /// An entries frame's batch: not empty, within the limit, every entry decodable.
    private static func checkedBatch(_ signed: [(body: [UInt8], signature: [UInt8])], memo: EntryMemo?) throws(SyncError) -> [Entry] {
        guard !signed.isEmpty else { throw .malformedFrame("entries: empty batch") }
        guard signed.count <= Int(batchEntriesLimit) else { throw .malformedFrame("entries: too many") }
        return try entries(signed, frame: "entries", memo: memo)
    }

    private static func entries(_ signed: [(body: [UInt8], signature: [UInt8])], frame: String,
                                memo: EntryMemo?) throws(SyncError) -> [Entry] {
        var entries: [Entry] = []
        entries.reserveCapacity(signed.count)
        for (body, signature) in signed {
            do {
                entries.append(try memo?.entry(bodyBytes: body, signature: signature) ?? Entry(bodyBytes: body, signature: signature))
            } catch {
                throw .malformedFrame("\(frame): \(error)")
            }
        }
        return entries
    }

    /// Heads: distinct, sorted origins that the vector names, each with a 32-byte id.
    private static func heads(_ list: [LXOriginHead], of vector: VersionVector) throws(SyncError) -> [String: EntryID] {
        var heads: [String: EntryID] = [:]
        var previous = ""
        for head in list {
            guard head.origin > previous, vector[head.origin] > 0, let id = try? EntryID(bytes: [UInt8](head.id)) else {
                throw .malformedFrame("vector: heads must be distinct origins of the vector, sorted, with 32-byte ids")
            }
            heads[head.origin] = id
            previous = head.origin
        }
        return heads
    }

    private static func components(_ vector: VersionVector) -> [LXVersionVectorComponent] {
        vector.sorted.map { component in
            var c = LXVersionVectorComponent()
            c.origin = component.origin
            c.seq = component.seq
            return c
        }
    }

    /// Origins distinct, valid and sorted; seqs positive. A vector names at most
    /// `originsMax` origins (34 provinces, with room for re-keyed nodes).
    static let originsMax = 256

    private static func vector(_ components: [(origin: String, seq: UInt64)]) throws(SyncError) -> VersionVector {
        guard components.count <= originsMax else { throw .malformedFrame("vector: too many origins") }
        var vector = VersionVector()
        var previous = ""
        for c in components {
            guard NodeID.isValid(c.origin), c.origin > previous, c.seq > 0, c.seq <= EntryBody.seqMax else {
                throw .malformedFrame("vector: components must be distinct valid origins, sorted, with positive seqs")
            }
            vector[c.origin] = c.seq
            previous = c.origin
        }
        return vector
    }
}
