import LicenseCore
@testable import LicenseSync
import Testing

struct FrameCodecTests {
    /// A valid frame payload of exactly `size` bytes: a ping padded with an unknown
    /// length-delimited field (protobuf keeps unknown fields, so it still decodes).
    static func paddedPing(size: Int) -> [UInt8] {
        let ping = SyncFrame.ping(7).encoded()
        // field 100, wire type 2: tag bytes 0xa2 0x06; then a varint length; then filler.
        var filler = size - ping.count - 2 - 2
        precondition(filler >= 128 && filler < 16384)
        var bytes = ping + [0xa2, 0x06]
        bytes += [UInt8(filler & 0x7f | 0x80), UInt8(filler >> 7)]
        while filler > 0 {
            bytes.append(0x41)
            filler -= 1
        }
        precondition(bytes.count == size)
        return bytes
    }

    static func prefixed(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + payload
    }

    @Test func decoder_acceptsAFrameOfExactlyTheLimit() throws {
        var decoder = FrameDecoder(frameBytesMax: 1000)
        decoder.append(Self.prefixed(Self.paddedPing(size: 1000)))
        #expect(try decoder.next() == .ping(7))
        #expect(decoder.bufferedBytes == 0)
    }

    @Test func decoder_refusesOneByteMoreBeforeThePayloadArrives() {
        var decoder = FrameDecoder(frameBytesMax: 1000)
        decoder.append([0, 0, 0x03, 0xe9])  // 1001, and nothing else yet
        #expect(throws: SyncError.frameTooLarge(bytes: 1001, limit: 1000)) { _ = try decoder.next() }
    }

    @Test func decoder_refusesAMaliciousLengthWithoutAllocating() {
        var decoder = FrameDecoder()
        decoder.append([0xff, 0xff, 0xff, 0xff])
        #expect(throws: SyncError.frameTooLarge(bytes: Int(UInt32.max), limit: FrameCodec.frameBytesMax)) {
            _ = try decoder.next()
        }
        #expect(decoder.bufferedBytes == 4)
    }

    @Test func decoder_refusesZeroLengthAndGarbage() {
        var zero = FrameDecoder()
        zero.append([0, 0, 0, 0])
        #expect(throws: SyncError.malformedFrame("frame length is 0")) { _ = try zero.next() }
        var garbage = FrameDecoder()
        garbage.append(Self.prefixed([0xff, 0xff, 0xff, 0xff, 0xff]))
        #expect(throws: SyncError.self) { _ = try garbage.next() }
    }

    @Test func decoder_waitsForPartialFramesByteByByte() throws {
        let frames: [SyncFrame] = [.ping(1), .pong(2), .vector(VersionVector(["gd": 3, "bj": 9]))]
        let bytes = frames.flatMap(FrameCodec.encode)
        var decoder = FrameDecoder()
        var out: [SyncFrame] = []
        for byte in bytes {
            decoder.append([byte])
            while let frame = try decoder.next() { out.append(frame) }
        }
        #expect(out == frames)
    }

    @Test func everyFrameKind_roundTrips() throws {
        let key = try SigningKey(seed: Array(0...31))
        let signer = IssuerSigner(origin: "gd", key: key)
        let id = try ResidentID("11010519491231002X", today: CivilDate(year: 2026, month: 1, day: 1)!)
        let body = EntryBody(origin: "gd", seq: 1, prev: .zero, context: VersionVector(), hlc: .zero, keyID: signer.keyID,
                             event: .issue(.init(licenseType: "residence_permit", province: "440000",
                                                 holderRef: HolderRef(id: id, key: try HolderKey(bytes: Array(64...95))),
                                                 holderMasked: id.masked, attributes: ["city": "x", "address": "y"],
                                                 validFrom: CivilDate(year: 2026, month: 1, day: 1)!, validUntil: nil)))
        var forked = body
        forked.hlc = HybridTimestamp(wallMilliseconds: 1, logical: 0)
        let frames: [SyncFrame] = [
            .hello(.init(nodeID: "gd", province: "440000", batchEntriesMax: 256, batchesInFlightMax: 4)),
            .vector(VersionVector(["gd": 1, "sh": 40])),
            .vector(VersionVector(["gd": 1, "sh": 40]), heads: ["gd": Entry.sign(body, with: key).id]),
            .entries(batch: 9, [Entry.sign(body, with: key)]),
            .equivocation([Entry.sign(body, with: key)]),
            .equivocation([Entry.sign(body, with: key), Entry.sign(forked, with: key)]),
            .ack(batch: 9, VersionVector(["gd": 1])),
            .error(code: "bad_signature", message: "entry gd#1 has an invalid signature"),
            .ping(5), .pong(5),
        ]
        var decoder = FrameDecoder()
        decoder.append(frames.flatMap(FrameCodec.encode))
        for frame in frames { #expect(try decoder.next() == frame) }
        // On the wire: the payload's length, big-endian, then the payload (written in one buffer
        // for batches and acknowledgements, appended to the prefix for the rest).
        for frame in frames {
            let payload = frame.encoded()
            #expect(FrameCodec.encode(frame) == [0, 0, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)] + payload, "\(frame.kind)")
        }
    }

    @Test func hello_withBadFields_isMalformed() {
        for hello in [
            SyncFrame.Hello(nodeID: "Bad Id", province: "440000", batchEntriesMax: 1, batchesInFlightMax: 1),
            SyncFrame.Hello(nodeID: "gd", province: "999999", batchEntriesMax: 1, batchesInFlightMax: 1),
            SyncFrame.Hello(nodeID: "gd", province: "440000", batchEntriesMax: 0, batchesInFlightMax: 1),
            SyncFrame.Hello(nodeID: "gd", province: "440000", batchEntriesMax: 1, batchesInFlightMax: 1000),
        ] {
            #expect(throws: SyncError.self) { _ = try SyncFrame(decoding: SyncFrame.hello(hello).encoded()) }
        }
    }

    /// Evidence must be one or two entries of one position; two must differ.
    @Test func equivocation_withBadShape_isMalformed() throws {
        let key = try SigningKey(seed: Array(0...31))
        let signer = IssuerSigner(origin: "gd", key: key)
        func entry(seq: UInt64, wall: UInt64) throws -> Entry {
            let id = try ResidentID("11010519491231002X", today: CivilDate(year: 2026, month: 1, day: 1)!)
            return Entry.sign(EntryBody(origin: "gd", seq: seq, prev: try EntryID(bytes: Array(repeating: 7, count: 32)),
                                        context: VersionVector(["gd": seq - 1]),
                                        hlc: HybridTimestamp(wallMilliseconds: wall, logical: 0), keyID: signer.keyID,
                                        event: .issue(.init(licenseType: "residence_permit", province: "440000",
                                                            holderRef: HolderRef(id: id, key: try HolderKey(bytes: Array(64...95))),
                                                            holderMasked: id.masked, attributes: ["city": "x", "address": "y"],
                                                            validFrom: CivilDate(year: 2026, month: 1, day: 1)!, validUntil: nil))),
                              with: key)
        }
        let a = try entry(seq: 2, wall: 1), b = try entry(seq: 2, wall: 2), c = try entry(seq: 3, wall: 3)
        let cases: [([Entry], String)] = [
            ([], "equivocation: needs 1 or 2 entries"),
            ([a, b, a], "equivocation: needs 1 or 2 entries"),
            ([a, c], "equivocation: entries must share one origin and seq"),
            ([a, a], "equivocation: the two entries are the same entry"),
        ]
        for (entries, reason) in cases {
            #expect(throws: SyncError.malformedFrame(reason)) { _ = try SyncFrame(decoding: SyncFrame.equivocation(entries).encoded()) }
        }
    }

    /// A head must name an origin of the vector it comes with.
    @Test func vector_withAHeadOutsideTheVector_isMalformed() throws {
        let frame = SyncFrame.vector(VersionVector(["gd": 1]), heads: ["sh": EntryID.zero])
        #expect(throws: SyncError.malformedFrame("vector: heads must be distinct origins of the vector, sorted, with 32-byte ids")) {
            _ = try SyncFrame(decoding: frame.encoded())
        }
    }
}
