/// A hand-written protobuf writer, independent of SwiftProtobuf, for crafting entry
/// bodies the canonical encoder never produces (unsorted context, unknown fields,
/// wrong versions). It writes proto3 the way the canonical encoder does: fields in
/// number order, default scalar values omitted, set sub-messages always written.
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    init() {}

    init(_ build: (inout ProtoWriter) -> Void) {
        build(&self)
    }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: Int, wireType: UInt64) {
        varint(UInt64(field) << 3 | wireType)
    }

    /// A varint field; omitted when zero, as proto3 does, unless `force`.
    mutating func uint(_ field: Int, _ value: UInt64, force: Bool = false) {
        guard value != 0 || force else { return }
        key(field, wireType: 0)
        varint(value)
    }

    /// A length-delimited field; omitted when empty, as proto3 does, unless `force`.
    mutating func bytes(_ field: Int, _ value: [UInt8], force: Bool = false) {
        guard !value.isEmpty || force else { return }
        key(field, wireType: 2)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func string(_ field: Int, _ value: String, force: Bool = false) {
        bytes(field, Array(value.utf8), force: force)
    }

    /// A sub-message; always written, even when empty (it is "set").
    mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
        bytes(field, ProtoWriter(build).bytes, force: true)
    }
}
