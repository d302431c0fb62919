import Dispatch
@_spi(Testing) import LicenseCore
@testable import LicenseSim
@_spi(Testing) import LicenseSync
import Testing

/// A frame in flight is encoded and decoded again on the codec thread; the delivery gets
/// what a receiver's decoder would, as many times as the frame is delivered.
struct FrameInFlightTests {
    private let codec = DispatchQueue(label: "frame-in-flight-tests")

    @Test func aFrame_isReceivedAsTheDecoderReadsIt_everyTimeItIsDelivered() {
        let vector = VersionVector(["bj": 3, "gd": 9])
        let inFlight = FrameInFlight(.vector(vector), decodedEntries: EntryMemo(), on: codec)
        for _ in 0..<2 {
            guard case let .frame(received) = inFlight.received else {
                Issue.record("the frame did not decode")
                return
            }
            #expect(received == .vector(vector))
        }
    }

    @Test func aFrameOverTheLimit_isUndecodable_asTheReceiverFindsIt() {
        let certificate = SyncFrame.SignedBytes(body: Array(repeating: 7, count: FrameCodec.frameBytesMax), signature: [1])
        let frame = SyncFrame.trust(certificates: [certificate], revocations: [])
        let inFlight = FrameInFlight(frame, decodedEntries: EntryMemo(), on: codec)
        guard case let .undecodable(error) = inFlight.received else {
            Issue.record("a frame over the limit was decoded")
            return
        }
        #expect(error == .frameTooLarge(bytes: FrameCodec.encode(frame).count - FrameCodec.lengthPrefixBytes,
                                        limit: FrameCodec.frameBytesMax))
    }
}
