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

    /// The first 8 bytes as one word: the id is itself a BLAKE2b hash, so they spread as
    /// well as all 32 (equality still compares every byte), and an array's own hashing would
    /// feed the hasher one byte at a time.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    }

    public static func == (a: EntryID, b: EntryID) -> Bool { ByteStrings.equal(a.bytes, b.bytes) }
}

/// A license's id: `<origin>-<seq>-<check>`, naming the entry that issued it (origin
/// and seq) plus the first 4 bytes of that entry's id in hex as a check, e.g.
/// `gd-1042-5a4e4542`. Derived, so it needs no coordination between provinces; short
/// enough to read out at a service counter; and the store finds a license from it
/// through the ledger's (origin, seq) key, with no index of random ids to maintain.
public struct LicenseID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let checkHexDigits = 8
    /// Longest text: a 32-character origin, a 20-digit seq, the check, two dashes.
    public static let textLengthMax = NodeID.lengthMax + 20 + checkHexDigits + 2

    public let origin: String
    public let seq: UInt64
    /// Eight lower-case hex digits.
    public let check: String

    /// Nil unless `text` is a valid node id, a dash, a seq of at least 1 without leading
    /// zeros, a dash and 8 lower-case hex digits.
    public init?(_ text: String) {
        // Byte by byte: every decision and every license read parses one.
        let utf8 = text.utf8
        let dash = UInt8(ascii: "-")
        guard utf8.count <= Self.textLengthMax, let checkDash = utf8.lastIndex(of: dash) else { return nil }
        let checkBytes = utf8[utf8.index(after: checkDash)...]
        let head = utf8[..<checkDash]
        guard let seqDash = head.lastIndex(of: dash) else { return nil }
        let seqBytes = head[head.index(after: seqDash)...]
        guard checkBytes.count == Self.checkHexDigits,
              checkBytes.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              let firstDigit = seqBytes.first, firstDigit != UInt8(ascii: "0"), seqBytes.count <= 19
        else { return nil }
        var seq: UInt64 = 0
        for byte in seqBytes {
            guard (48...57).contains(byte) else { return nil }
            seq = seq * 10 + UInt64(byte - 48)
        }
        let origin = String(Substring(head[..<seqDash]))
        guard seq <= EntryBody.seqMax, NodeID.isValid(origin) else { return nil }
        self.origin = origin
        self.seq = seq
        self.check = String(Substring(checkBytes))
    }

    /// The id of the license issued by entry `id` at (`origin`, `seq`).
    public init(origin: String, seq: UInt64, issuingEntry id: EntryID) {
        self.origin = origin
        self.seq = seq
        self.check = Hex.encode(id.bytes.prefix(Self.checkHexDigits / 2))
    }

    public var text: String { "\(origin)-\(seq)-\(check)" }

    /// Seq and check identify a license all but surely; equality still compares the origin.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(seq)
        hasher.combine(check)
    }

    public var description: String { text }

    /// Whether `entryID` is the id of the entry this license id names.
    public func matches(issuingEntry entryID: EntryID) -> Bool {
        Hex.encode(entryID.bytes.prefix(Self.checkHexDigits / 2)) == check
    }

    public static func < (a: LicenseID, b: LicenseID) -> Bool {
        (a.origin, a.seq, a.check) < (b.origin, b.seq, b.check)
    }
}

/// Node ids name origins: 1–32 characters of lower-case letters, digits and '-',
/// starting with a letter ("gd", "beijing-2").
public enum NodeID {
    public static let lengthMax = 32

    public static func isValid(_ id: String) -> Bool {
        isValid(id.utf8)
    }

    /// The same check of an id's UTF-8 bytes.
    static func isValid(_ u: some Collection<UInt8>) -> Bool {
        guard let first = u.first, u.count <= lengthMax, (97...122).contains(first) else { return false }
        return u.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "-") }
    }
}
