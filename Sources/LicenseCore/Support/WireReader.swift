/// Protobuf wire format, read by hand for the messages read by the hundred thousand (entry
/// bodies, the frames that carry them); every read returns nil rather than guess, and the
/// caller then leaves the bytes to the protobuf library and its full rules.

/// Field numbers below 64, as bits.
package struct FieldSet: ExpressibleByArrayLiteral {
    package let bits: UInt64

    package init(arrayLiteral numbers: UInt64...) {
        bits = numbers.reduce(0) { $0 | 1 << $1 }
    }
}

/// A cursor over protobuf wire bytes; every read returns nil rather than guess.
package struct WireReader {
    package let buffer: UnsafeBufferPointer<UInt8>
    package var index: Int
    package let end: Int

    package init(_ buffer: UnsafeBufferPointer<UInt8>, from index: Int, to end: Int) {
        self.buffer = buffer
        self.index = index
        self.end = end
    }

    package var atEnd: Bool { index == end }

    package mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < end {
            let byte = buffer[index]
            index += 1
            // The tenth byte may carry only the top bit of a 64-bit value.
            if shift == 63, byte > 1 { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    /// The next field's number and wire type. Every field this reader knows fits a tag of
    /// two bytes; a longer (padded) tag is left to the library, which reads tags by rules
    /// of its own (at most five bytes) and refuses some that a plain varint would read.
    package mutating func tag() -> (field: UInt64, wireType: UInt64)? {
        let start = index
        guard let key = varint(), index - start <= 2, key >> 3 > 0 else { return nil }
        return (key >> 3, key & 7)
    }

    /// A length-delimited field's bounds, after its tag was read with wire type 2.
    package mutating func delimited() -> Range<Int>? {
        guard let length = varint(), length <= UInt64(end - index) else { return nil }
        let range = index..<index + Int(length)
        index = range.upperBound
        return range
    }

    package mutating func string() -> String? {
        delimited().flatMap { Self.string(buffer, $0) }
    }

    /// The UTF-8 text at `range`; nil when it is not valid UTF-8.
    static func string(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String? {
        let bytes = UnsafeBufferPointer(rebasing: buffer[range])
        // Nearly every string in a body is ASCII, which is valid UTF-8 as it is; the generic
        // validating initialiser costs several times more than this check.
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }

    package mutating func bytes() -> [UInt8]? {
        delimited().map { Array(buffer[$0]) }
    }

    /// A nested message's reader.
    package mutating func message() -> WireReader? {
        delimited().map { WireReader(buffer, from: $0.lowerBound, to: $0.upperBound) }
    }

    /// Reads every field of the message, handing each to `field` with its wire type;
    /// `field` returns false to give up. A singular field seen twice gives up too.
    package mutating func fields(singular: FieldSet, _ field: (inout WireReader, UInt64, UInt64) -> Bool) -> Bool {
        var seen: UInt64 = 0
        while !atEnd {
            guard let (number, wireType) = tag(), number < 64 else { return false }
            if singular.bits & (1 << number) != 0 {
                guard seen & (1 << number) == 0 else { return false }
                seen |= 1 << number
            }
            guard field(&self, number, wireType) else { return false }
        }
        return true
    }

    /// An `lx.v1.VersionVectorComponent`.
    package mutating func component() -> (origin: String, seq: UInt64)? {
        var origin = "", seq: UInt64 = 0
        let complete = fields(singular: [1, 2]) { reader, number, wireType in
            switch (number, wireType) {
            case (1, 2):
                guard let value = reader.string() else { return false }
                origin = value
            case (2, 0):
                guard let value = reader.varint() else { return false }
                seq = value
            default:
                return false
            }
            return true
        }
        return complete ? (origin, seq) : nil
    }
}
