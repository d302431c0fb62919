@_spi(Testing) import LicenseCore

/// The frames every batch of a sync carries, entries and their acknowledgement, in protobuf
/// wire format written and read by hand: the same bytes the protobuf library writes (fields
/// in number order, defaults left out), and a reader for exactly that form. Anything else a
/// peer sends (fields in another order, unknown or repeated fields, other kinds of frame)
/// goes to the library and its full rules, refusals included, so the two cannot disagree on
/// what a frame means. A mesh sends a frame and an acknowledgement per pushed batch; the
/// library's message trees were most of the cost of both.
enum FrameWire {
    // Field numbers of lx.v1.Frame's kinds and of the messages inside them (sync.proto).
    private static let entriesField: UInt64 = 3, ackField: UInt64 = 4

    // MARK: Writing

    /// An `entries` frame.
    static func entries(batch: UInt64, _ entries: [(body: [UInt8], signature: [UInt8])], lengthPrefixed: Bool = false) -> [UInt8] {
        func signedSize(_ entry: (body: [UInt8], signature: [UInt8])) -> Int {
            bytesFieldSize(entry.body) + bytesFieldSize(entry.signature)
        }
        let elementBytes = entries.reduce(0) { $0 + messageFieldSize(signedSize($1)) }
        return batchFrame(entriesField, batch: batch, elementBytes, lengthPrefixed: lengthPrefixed) { out in
            for entry in entries {
                appendTag(2, wireType: 2, to: &out)
                appendVarint(UInt64(signedSize(entry)), to: &out)
                appendBytesField(1, entry.body, to: &out)
                appendBytesField(2, entry.signature, to: &out)
            }
        }
    }

    /// An `ack` frame.
    static func ack(batch: UInt64, _ vector: VersionVector, lengthPrefixed: Bool = false) -> [UInt8] {
        func componentSize(_ component: (origin: String, seq: UInt64)) -> Int {
            bytesFieldSize(component.origin.utf8) + (component.seq == 0 ? 0 : 1 + varintSize(component.seq))
        }
        let elementBytes = vector.sorted.reduce(0) { $0 + messageFieldSize(componentSize($1)) }
        return batchFrame(ackField, batch: batch, elementBytes, lengthPrefixed: lengthPrefixed) { out in
            for component in vector.sorted {
                appendTag(2, wireType: 2, to: &out)
                appendVarint(UInt64(componentSize(component)), to: &out)
                appendBytesField(1, component.origin.utf8, to: &out)
                if component.seq != 0 {
                    appendTag(2, wireType: 0, to: &out)
                    appendVarint(component.seq, to: &out)
                }
            }
        }
    }

    /// A frame of kind `field` whose message is a batch number (field 1) and then
    /// `elementBytes` of repeated messages (field 2), which `elements` writes; after the
    /// wire's length prefix if `lengthPrefixed`.
    private static func batchFrame(_ field: UInt64, batch: UInt64, _ elementBytes: Int, lengthPrefixed: Bool,
                                   _ elements: (inout [UInt8]) -> Void) -> [UInt8] {
        let inner = (batch == 0 ? 0 : 1 + varintSize(batch)) + elementBytes
        let size = messageFieldSize(inner)
        var out: [UInt8] = []
        out.reserveCapacity((lengthPrefixed ? 4 : 0) + size)
        if lengthPrefixed { FrameCodec.appendLengthPrefix(size, to: &out) }
        appendTag(field, wireType: 2, to: &out)
        appendVarint(UInt64(inner), to: &out)
        if batch != 0 {
            appendTag(1, wireType: 0, to: &out)
            appendVarint(batch, to: &out)
        }
        elements(&out)
        return out
    }

    private static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    /// A length-delimited field of `count` bytes, tag included (field numbers below 16).
    private static func messageFieldSize(_ count: Int) -> Int {
        1 + varintSize(UInt64(count)) + count
    }

    /// A bytes or string field, left out when empty (proto3).
    private static func bytesFieldSize(_ bytes: some Collection<UInt8>) -> Int {
        bytes.isEmpty ? 0 : messageFieldSize(bytes.count)
    }

    private static func appendTag(_ field: UInt64, wireType: UInt64, to out: inout [UInt8]) {
        appendVarint(field << 3 | wireType, to: &out)
    }

    private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    private static func appendBytesField(_ field: UInt64, _ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        appendTag(field, wireType: 2, to: &out)
        appendVarint(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    // MARK: Reading

    /// What a frame in the writer's form holds, before any check; nil for any other form.
    enum Read {
        case entries(batch: UInt64, [(body: [UInt8], signature: [UInt8])])
        case ack(batch: UInt64, [(origin: String, seq: UInt64)])
    }

    static func read(_ payload: [UInt8]) -> Read? {
        payload.withUnsafeBufferPointer { buffer in
            var frame = WireReader(buffer, from: 0, to: buffer.count)
            // One kind, filling the frame: a second kind would replace the first (oneof).
            guard let (field, wireType) = frame.tag(), wireType == 2, var inner = frame.message(), frame.atEnd else { return nil }
            switch field {
            case entriesField: return inner.batchOfEntries()
            case ackField: return inner.acknowledgement()
            default: return nil
            }
        }
    }
}

private extension WireReader {
    /// An EntryBatch or an Acknowledgement: a batch number (field 1), then repeated
    /// messages (field 2), each read by `element`.
    mutating func batch<Element>(of element: (inout WireReader) -> Element?) -> (batch: UInt64, [Element])? {
        var batch: UInt64 = 0
        var elements: [Element] = []
        let complete = fields(singular: [1]) { reader, number, wireType in
            switch (number, wireType) {
            case (1, 0):
                guard let value = reader.varint() else { return false }
                batch = value
            case (2, 2):
                guard var message = reader.message(), let value = element(&message) else { return false }
                elements.append(value)
            default:
                return false
            }
            return true
        }
        return complete ? (batch, elements) : nil
    }

    mutating func batchOfEntries() -> FrameWire.Read? {
        batch { $0.signedEntry() }.map { .entries(batch: $0.batch, $0.1) }
    }

    mutating func acknowledgement() -> FrameWire.Read? {
        batch { $0.component() }.map { .ack(batch: $0.batch, $0.1) }
    }

    mutating func signedEntry() -> (body: [UInt8], signature: [UInt8])? {
        var body: [UInt8] = [], signature: [UInt8] = []
        let complete = fields(singular: [1, 2]) { reader, number, wireType in
            switch (number, wireType) {
            case (1, 2):
                guard let value = reader.bytes() else { return false }
                body = value
            case (2, 2):
                guard let value = reader.bytes() else { return false }
                signature = value
            default:
                return false
            }
            return true
        }
        return complete ? (body, signature) : nil
    }
}
