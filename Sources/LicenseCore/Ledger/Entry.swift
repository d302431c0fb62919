/// One signed, immutable ledger record: the author's exact body bytes and its Ed25519
/// signature over `"lx-entry-v1" || body`. The bytes are kept and forwarded as they
/// are; the decoded `body` is a view of them.
public struct Entry: Sendable {
    public static let signatureDomain = Array("lx-entry-v1".utf8)

    @inlinable public var bodyBytes: [UInt8] { _read { yield storage.bodyBytes } }
    @inlinable public var signature: [UInt8] { _read { yield storage.signature } }
    @inlinable public var id: EntryID { _read { yield storage.id } }
    @inlinable public var body: EntryBody { _read { yield storage.body } }

    /// The fields, behind one reference. An entry is copied several times between a frame
    /// and the store (the memo, the batch, the checks, the outcomes); a copy of the fields
    /// themselves retains each of their buffers, about ten, and a copy of this, one. The
    /// accessors yield the fields in place, so reading `entry.body.origin` copies nothing.
    @usableFromInline final class Storage: Sendable {
        @usableFromInline let bodyBytes: [UInt8]
        @usableFromInline let signature: [UInt8]
        @usableFromInline let id: EntryID
        @usableFromInline let body: EntryBody

        init(bodyBytes: [UInt8], signature: [UInt8], id: EntryID, body: EntryBody) {
            self.bodyBytes = bodyBytes
            self.signature = signature
            self.id = id
            self.body = body
        }
    }

    @usableFromInline let storage: Storage

    /// Encodes and signs a body. The caller guarantees that `key` is the key `body.keyID` names.
    public static func sign(_ body: EntryBody, with key: SigningKey) -> Entry {
        let bytes = body.encoded()
        let signature = key.signature(for: signedMessage(bytes))
        return Entry(bodyBytes: bytes, signature: signature, body: body)
    }

    /// Rebuilds an entry from stored or received bytes. Checks the shape of everything;
    /// the signature is checked separately, against a key the caller trusts.
    public init(bodyBytes: [UInt8], signature: [UInt8]) throws(EntryError) {
        guard signature.count == Signature.byteCount else {
            throw .malformed("signature must be \(Signature.byteCount) bytes, got \(signature.count)")
        }
        self.init(bodyBytes: bodyBytes, signature: signature, body: try EntryBody(decoding: bodyBytes))
    }

    private init(bodyBytes: [UInt8], signature: [UInt8], body: EntryBody) {
        storage = Storage(bodyBytes: bodyBytes, signature: signature,
                          id: EntryID(unchecked: Sodium.blake2b256(bodyBytes, signature)), body: body)
    }

    public func hasValidSignature(by key: PublicKey) -> Bool {
        key.isValidSignature(signature, for: Self.signedMessage(bodyBytes))
    }

    /// The license this entry creates (an issue or a transfer's new license) or acts on.
    public var licenseID: LicenseID {
        if body.event.createsLicense { return LicenseID(origin: body.origin, seq: body.seq, issuingEntry: id) }
        return body.event.targetLicense ?? LicenseID(origin: body.origin, seq: body.seq, issuingEntry: id)
    }

    static func signedMessage(_ body: [UInt8]) -> [UInt8] {
        signatureDomain + body
    }
}

public enum EntryError: Error, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case let .malformed(detail): "malformed entry: \(detail)"
        }
    }
}

/// Two entries are the same entry when their ids are: the id hashes body and signature.
extension Entry: Equatable {
    public static func == (a: Entry, b: Entry) -> Bool { a.id == b.id }
}

/// An entry's signed bytes as a ledger holds them, with its position, not decoded again:
/// what a node forwards to its peers. Only entries that were verified when stored (or
/// authored here) are read this way; a receiver decodes and verifies them as `Entry`.
public struct StoredEntry: Sendable, Equatable {
    public let origin: String
    public let seq: UInt64
    public let bodyBytes: [UInt8]
    public let signature: [UInt8]

    public init(origin: String, seq: UInt64, bodyBytes: [UInt8], signature: [UInt8]) {
        self.origin = origin
        self.seq = seq
        self.bodyBytes = bodyBytes
        self.signature = signature
    }

    /// The stored form of `entry`.
    public init(_ entry: Entry) {
        self.init(origin: entry.body.origin, seq: entry.body.seq, bodyBytes: entry.bodyBytes, signature: entry.signature)
    }
}
