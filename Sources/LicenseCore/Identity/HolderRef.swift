/// The only holder identity the ledger stores and gossips:
/// `BLAKE2b-256(key: network holder key, "lx-holder-v1" || ID number)`.
///
/// Every node holds the same network holder key, so a service window anywhere computes
/// the same ref from the number a citizen gives; without the key, the ref cannot be
/// reversed by enumerating the (small) space of ID numbers.
public struct HolderRef: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    static let domain = Array("lx-holder-v1".utf8)
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .badLength(what: "holder ref", expected: Self.byteCount, actual: bytes.count)
        }
        self.bytes = bytes
    }

    public init(id: ResidentID, key: HolderKey) {
        bytes = Sodium.blake2b256(Self.domain, Array(id.number.utf8), key: key.bytes)
    }

    public var description: String { Hex.encode(bytes) }
}

/// The network-wide secret key of `HolderRef` (32 bytes).
public struct HolderKey: Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .badLength(what: "holder key", expected: Self.byteCount, actual: bytes.count)
        }
        self.bytes = bytes
    }
}
