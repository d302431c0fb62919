/// The id of an entry: `BLAKE2b-256(body || signature)`.
public struct EntryID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public static let zero = EntryID(unchecked: [UInt8](repeating: 0, count: 32))
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(EntryError) {
        guard bytes.count == Self.byteCount else { throw .malformed("entry id must be 32 bytes, got \(bytes.count)") }
        self.bytes = bytes
    }

    init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var description: String { Hex.encode(bytes) }

    public static func < (a: EntryID, b: EntryID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

/// A license's id: the first 16 bytes of the id of the entry that issued it, as 32
/// lowercase hex digits. Derived, so it needs no coordination between provinces.
public struct LicenseID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let textLength = 32
    public let text: String

    /// Nil unless `text` is exactly 32 lowercase hex digits.
    public init?(_ text: String) {
        guard text.utf8.count == Self.textLength,
              text.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { return nil }
        self.text = text
    }

    public init(issuedBy entry: EntryID) {
        text = Hex.encode(entry.bytes.prefix(16))
    }

    public var description: String { text }

    public static func < (a: LicenseID, b: LicenseID) -> Bool { a.text < b.text }
}

/// Node ids name origins: 1–32 characters of lower-case letters, digits and '-',
/// starting with a letter ("gd", "beijing-2").
public enum NodeID {
    public static let lengthMax = 32

    public static func isValid(_ id: String) -> Bool {
        let u = Array(id.utf8)
        guard let first = u.first, u.count <= lengthMax, (97...122).contains(first) else { return false }
        return u.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "-") }
    }
}
