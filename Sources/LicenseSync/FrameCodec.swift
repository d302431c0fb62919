@_spi(Testing) import LicenseCore

/// Length-prefixed framing: a 4-byte big-endian length, then that many bytes of an
/// `lx.v1.Frame`. The decoder never allocates for a frame before its length has been
/// checked against the limit.
public enum FrameCodec {
    public static let lengthPrefixBytes = 4
    /// Largest frame either side accepts: a batch of entries is limited to this many bytes
    /// by its sender, and one entry (≤ 64 KiB body) always fits.
    public static let frameBytesMax = 1024 * 1024

    /// The bytes of `frame` on the wire, prefix included.
    public static func encode(_ frame: SyncFrame) -> [UInt8] {
        frame.encoded(lengthPrefixed: true)
    }

    /// The 4-byte big-endian prefix of a payload of `count` bytes.
    static func appendLengthPrefix(_ count: Int, to out: inout [UInt8]) {
        let length = UInt32(count)
        out += [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
    }
}

/// Accumulates bytes from a stream and cuts them into frames.
public struct FrameDecoder: Sendable {
    public let frameBytesMax: Int
    private var buffer: [UInt8] = []
    private var start = 0

    /// Decoded entries shared with other decoders of the process (the simulator's).
    private let entryMemo: EntryMemo?

    public init(frameBytesMax: Int = FrameCodec.frameBytesMax) {
        self.frameBytesMax = frameBytesMax
        entryMemo = nil
    }

    @_spi(Testing) public init(frameBytesMax: Int = FrameCodec.frameBytesMax, entryMemo: EntryMemo?) {
        self.frameBytesMax = frameBytesMax
        self.entryMemo = entryMemo
    }

    /// Bytes received but not yet part of a returned frame.
    public var bufferedBytes: Int { buffer.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        // Everything received so far was returned: start again at the front, in the same
        // storage, rather than grow it until the consumed prefix is worth compacting.
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame; nil when more bytes are needed. Throws, without waiting
    /// for the payload, when the announced length is 0 or above the limit, and when the
    /// payload is not a valid frame.
    public mutating func next() throws(SyncError) -> SyncFrame? {
        guard bufferedBytes >= FrameCodec.lengthPrefixBytes else { return nil }
        let length = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        guard length > 0 else { throw .malformedFrame("frame length is 0") }
        guard length <= frameBytesMax else { throw .frameTooLarge(bytes: length, limit: frameBytesMax) }
        guard bufferedBytes >= FrameCodec.lengthPrefixBytes + length else { return nil }
        let payloadStart = start + FrameCodec.lengthPrefixBytes
        let payload = Array(buffer[payloadStart..<(payloadStart + length)])
        start = payloadStart + length
        // Compact once the consumed prefix dominates, so the buffer stays bounded.
        if start > 64 * 1024 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return try SyncFrame(decoding: payload, entryMemo: entryMemo)
    }
}
