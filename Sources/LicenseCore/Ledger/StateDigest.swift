/// The state digest: one hash over every license state and every conflict a node holds,
/// so two nodes can show they computed the same (`state_digest` in `licensectl status`).
///
/// It is a multiset hash: the 256-bit sum, modulo 2^256, of the BLAKE2b-256 hash of each
/// license's canonical encoding and of each conflict's, then hashed once more. A sum can be
/// kept up to date as licenses change (subtract the old state's hash, add the new one's)
/// without reading the other million, and it does not depend on the order of anything.
public struct StateDigest: Equatable, Sendable {
    /// Four little-endian 64-bit words.
    public private(set) var words: [UInt64] = [0, 0, 0, 0]

    public init() {}

    public init?(hex: String) {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        words = Self.words(bytes)
    }

    public var hex: String { Hex.encode(Self.bytes(words)) }

    /// The digest a node reports: BLAKE2b-256 of a label and the sum.
    public var reported: String { Hex.encode(Sodium.blake2b256(Array("lx-state-digest-v1".utf8) + Self.bytes(words))) }

    public mutating func add(_ hash: [UInt8]) {
        let other = Self.words(hash)
        var carry: UInt64 = 0
        for i in 0..<4 {
            let (partial, overflow1) = words[i].addingReportingOverflow(other[i])
            let (sum, overflow2) = partial.addingReportingOverflow(carry)
            words[i] = sum
            carry = (overflow1 ? 1 : 0) + (overflow2 ? 1 : 0)
        }
    }

    /// Adds another sum (the digest of a disjoint set of licenses).
    public mutating func add(_ other: StateDigest) {
        add(Self.bytes(other.words))
    }

    public mutating func subtract(_ hash: [UInt8]) {
        let other = Self.words(hash)
        var borrow: UInt64 = 0
        for i in 0..<4 {
            let (partial, overflow1) = words[i].subtractingReportingOverflow(other[i])
            let (difference, overflow2) = partial.subtractingReportingOverflow(borrow)
            words[i] = difference
            borrow = (overflow1 ? 1 : 0) + (overflow2 ? 1 : 0)
        }
    }

    /// Every license written moves the sum twice: read the words in place.
    static func words(_ bytes: [UInt8]) -> [UInt64] {
        precondition(bytes.count == 32, "a state hash is 32 bytes")
        return bytes.withUnsafeBytes { raw in
            (0..<4).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
    }

    static func bytes(_ words: [UInt64]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: words.count * 8)
        bytes.withUnsafeMutableBytes { raw in
            for (index, word) in words.enumerated() { raw.storeBytes(of: word.littleEndian, toByteOffset: index * 8, as: UInt64.self) }
        }
        return bytes
    }

    /// The hash of a license's canonical encoding: every field, length-prefixed, in a fixed order.
    public static func hash(_ state: LicenseState) -> [UInt8] {
        var out = Canonical(label: "lx-license-state-v1")
        out.text(state.id.text)
        out.text(state.licenseType)
        out.text(state.province)
        out.text(state.issuerOrigin)
        out.text(state.issuerKeyID)
        out.bytes(state.holderRef.bytes)
        out.text(state.holderMasked)
        out.timestamp(state.issuedAt)
        out.number(UInt64(state.attributes.count))
        for (name, value) in state.attributes.sorted(by: { $0.key < $1.key }) {
            out.text(name)
            out.text(value)
        }
        out.text(state.validFrom.description)
        out.text(state.validUntil?.description ?? "")
        out.text(state.status.rawValue)
        out.text(state.statusReason)
        out.timestamp(state.updatedAt)
        out.number(UInt64(state.eventCount))
        return Sodium.blake2b256(out.bytes)
    }

    public static func hash(_ conflict: LicenseConflict) -> [UInt8] {
        var out = Canonical(label: "lx-conflict-v1")
        out.text(conflict.rule.rawValue)
        out.text(conflict.license.text)
        for event in [conflict.first, conflict.second] {
            out.text(event.origin)
            out.number(event.seq)
            out.text(event.kind.rawValue)
        }
        out.text(conflict.result)
        return Sodium.blake2b256(out.bytes)
    }

    private struct Canonical {
        var bytes: [UInt8]

        init(label: String) {
            bytes = Array(label.utf8)
            bytes.reserveCapacity(512)
        }

        mutating func number(_ value: UInt64) {
            withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func bytes(_ value: [UInt8]) {
            number(UInt64(value.count))
            bytes += value
        }

        mutating func text(_ value: String) {
            var value = value
            value.withUTF8 { utf8 in
                number(UInt64(utf8.count))
                bytes.append(contentsOf: utf8)
            }
        }

        mutating func timestamp(_ value: HybridTimestamp) {
            number(value.wallMilliseconds)
            number(UInt64(value.logical))
        }
    }
}
