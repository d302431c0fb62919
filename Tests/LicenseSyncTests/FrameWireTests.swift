import Foundation
@_spi(Testing) import LicenseCore
@_spi(Testing) @testable import LicenseSync
import Testing

/// The frames written and read by hand (`FrameWire`) against the protobuf library: the
/// same bytes out, and on every input, valid or broken, the same frame or the same error.
struct FrameWireTests {
    /// A small seeded generator: the same cases on every run.
    struct Cases {
        private var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func below(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }

        mutating func bytes(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in UInt8(below(256)) }
        }
    }

    static let batches: [UInt64] = [0, 1, 127, 128, 16_383, 16_384, 1 << 35, .max]

    static func libraryEntries(batch: UInt64, _ entries: [(body: [UInt8], signature: [UInt8])]) throws -> [UInt8] {
        var m = LXEntryBatch()
        m.batch = batch
        m.entries = entries.map { entry in
            var signed = LXSignedEntry()
            signed.body = Data(entry.body)
            signed.signature = Data(entry.signature)
            return signed
        }
        var frame = LXFrame()
        frame.kind = .entries(m)
        return try frame.serializedBytes()
    }

    @Test func entriesFrames_areTheLibrarysBytes() throws {
        var cases = Cases(seed: 3)
        for batch in Self.batches {
            for count in [0, 1, 2, 7] {
                // Empty bodies and signatures (left out), and lengths of one and two bytes.
                let entries = (0..<count).map { _ in
                    (body: cases.bytes([0, 1, 127, 128, 300][cases.below(5)]), signature: cases.bytes([0, 64][cases.below(2)]))
                }
                #expect(FrameWire.entries(batch: batch, entries) == (try Self.libraryEntries(batch: batch, entries)))
            }
        }
    }

    @Test func ackFrames_areTheLibrarysBytes() throws {
        for batch in Self.batches {
            for vector in [VersionVector(), VersionVector(["gd": 1]),
                           VersionVector(Dictionary(uniqueKeysWithValues: (0..<40).map { ("n\($0)", UInt64(1) << UInt64($0)) }))] {
                var m = LXAcknowledgement()
                m.batch = batch
                m.components = vector.sorted.map { origin, seq in
                    var component = LXVersionVectorComponent()
                    component.origin = origin
                    component.seq = seq
                    return component
                }
                var frame = LXFrame()
                frame.kind = .ack(m)
                #expect(FrameWire.ack(batch: batch, vector) == (try frame.serializedBytes()))
            }
        }
    }

    static func signedEntries(_ count: Int) throws -> [Entry] {
        let key = try SigningKey(seed: Array(0...31))
        let signer = IssuerSigner(origin: "gd", key: key)
        var entries: [Entry] = []
        var prev = EntryID.zero
        let license = try #require(LicenseID("gd-1-00112233"))
        for seq in 1...UInt64(count) {
            // The context holds the origin's own previous entry.
            let context = VersionVector(seq > 1 ? ["bj": seq, "gd": seq - 1] : ["bj": seq])
            let body = EntryBody(origin: "gd", seq: seq, prev: prev, context: context,
                                 hlc: HybridTimestamp(wallMilliseconds: 1_000 + seq, logical: 0), keyID: signer.keyID,
                                 event: .suspend(.init(licenseID: license, reason: "audit")))
            let entry = Entry.sign(body, with: key)
            entries.append(entry)
            prev = entry.id
        }
        return entries
    }

    static func decode(_ payload: [UInt8]) -> Result<SyncFrame, SyncError> {
        Result { () throws(SyncError) in try SyncFrame(decoding: payload, entryMemo: nil) }
    }

    static func reference(_ payload: [UInt8]) -> Result<SyncFrame, SyncError> {
        Result { () throws(SyncError) in try SyncFrame(libraryDecoding: payload, entryMemo: nil) }
    }

    /// Flipped, dropped, inserted and repeated bytes of entries and ack frames: whatever the
    /// library makes of the result, the decoder makes too, and both readers are exercised.
    @Test func brokenFrames_decodeAsTheLibraryDecodesThem() throws {
        let frames = [SyncFrame.entries(batch: 9, try Self.signedEntries(3)), .ack(batch: 300, VersionVector(["bj": 4, "gd": 129]))]
        var cases = Cases(seed: 5)
        var readByHand = 0, accepted = 0
        for frame in frames {
            let bytes = frame.encoded()
            #expect(Self.decode(bytes) == .success(frame))
            for _ in 0..<2_000 {
                var broken = bytes
                switch cases.below(4) {
                case 0:
                    broken[cases.below(broken.count)] ^= UInt8(1 << cases.below(8))
                case 1:
                    broken.removeSubrange(cases.below(broken.count)..<broken.count)
                case 2:
                    let start = cases.below(broken.count)
                    let slice = broken[start..<min(broken.count, start + 1 + cases.below(24))]
                    broken.insert(contentsOf: slice, at: cases.below(broken.count + 1))
                default:
                    broken.insert(UInt8(cases.below(256)), at: cases.below(broken.count + 1))
                }
                let result = Self.decode(broken)
                #expect(result == Self.reference(broken), "bytes \(Hex.encode(broken))")
                if FrameWire.read(broken) != nil { readByHand += 1 }
                if case .success = result { accepted += 1 }
            }
        }
        #expect(readByHand > 500)
        #expect(accepted > 50)
    }

    /// Fields in another order mean the same, read by hand or not; forms the writer never
    /// makes (unknown fields, a singular field or a kind given twice) are left to the library.
    @Test func otherForms_meanWhatTheyMeanToTheLibrary() throws {
        let entry = try #require(try Self.signedEntries(1).first)
        let canonical = SyncFrame.entries(batch: 9, [entry])
        func field(_ number: UInt64, _ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            for value in [number << 3 | 2, UInt64(bytes.count)] {
                var value = value
                while value >= 0x80 { out.append(UInt8(value & 0x7f) | 0x80); value >>= 7 }
                out.append(UInt8(value))
            }
            return out + bytes
        }
        let signed = field(1, entry.bodyBytes) + field(2, entry.signature)
        let reordered = field(2, field(2, entry.signature) + field(1, entry.bodyBytes)) + [0x08, 9]
        #expect(FrameWire.read(field(3, reordered)) != nil)
        #expect(Self.decode(field(3, reordered)) == .success(canonical))
        for inner in [[0x08, 9] + field(2, signed) + field(15, [1, 2, 3]), [0x08, 1] + field(2, signed) + [0x08, 9]] {
            let payload = field(3, inner)
            #expect(FrameWire.read(payload) == nil)
            #expect(Self.decode(payload) == .success(canonical))
        }
        // A ping, then the entries: the last kind given is the frame's.
        let twoKinds = SyncFrame.ping(1).encoded() + canonical.encoded()
        #expect(FrameWire.read(twoKinds) == nil)
        #expect(Self.decode(twoKinds) == .success(canonical))
    }
}
