import Synchronization

/// Decoded entries shared by the simulated nodes of one process. The simulator runs dozens
/// of nodes in one process, and each decodes every copy of every entry a peer sends it, as
/// a real node does: dozens of decodes of the same bytes. Decoding is a pure function of
/// the bytes, so each distinct (body, signature) is decoded once, by the real decoder, and
/// every later copy is read from here. Bytes that fail to decode are not kept: they are
/// decoded, and refused, every time. A daemon has no use for it (DECISIONS 45).
@_spi(Testing) public final class EntryMemo: Sendable {
    /// By signature; the body is compared on every hit, so two bodies that share a
    /// signature (a forger's doing) are never confused.
    private let entries = Mutex<(bySignature: [SignatureKey: Entry], byID: [EntryID: Entry])>(([:], [:]))

    /// A signature's bytes, hashed and compared whole (`ByteStrings`).
    private struct SignatureKey: Hashable {
        let bytes: [UInt8]

        func hash(into hasher: inout Hasher) { ByteStrings.hash(bytes, into: &hasher) }

        static func == (a: SignatureKey, b: SignatureKey) -> Bool { ByteStrings.equal(a.bytes, b.bytes) }
    }

    public init() {}

    /// The entry these bytes make, decoded as `Entry(bodyBytes:signature:)` decodes it.
    public func entry(bodyBytes: [UInt8], signature: [UInt8]) throws(EntryError) -> Entry {
        let key = SignatureKey(bytes: signature)
        if let known = entries.withLock({ $0.bySignature[key] }), ByteStrings.equal(known.bodyBytes, bodyBytes) { return known }
        let entry = try Entry(bodyBytes: bodyBytes, signature: signature)
        entries.withLock {
            $0.bySignature[key] = entry
            $0.byID[entry.id] = entry
        }
        return entry
    }

    /// The entry with this id, if one was decoded: for a ledger's stored entries, whose id
    /// was computed from their bytes when they were stored, so their bytes need not be read.
    public func entry(id: EntryID) -> Entry? {
        entries.withLock { $0.byID[id] }
    }
}
