import CSodium

/// Thin, typed wrappers over the libsodium calls the ledger needs. No hand-written crypto:
/// every operation is one libsodium call.
public enum Sodium {
    /// libsodium must be initialised once per process before use; `sodium_init` is
    /// idempotent and thread-safe, so every entry point calls this.
    static let initialised: Bool = {
        sodium_init() >= 0
    }()

    static func ensureInitialised() {
        precondition(initialised, "libsodium failed to initialise")
    }

    /// BLAKE2b with a 32-byte output, optionally keyed, over the concatenation of `parts`.
    public static func blake2b256(_ parts: [UInt8]..., key: [UInt8] = []) -> [UInt8] {
        ensureInitialised()
        var out = [UInt8](repeating: 0, count: 32)
        // One part (an entry's id, a license's state hash: two per entry appended) is hashed
        // in one call, with no state to allocate.
        if parts.count == 1 {
            let rc = parts[0].withUnsafeBufferPointer { p in
                key.withUnsafeBufferPointer { k in
                    crypto_generichash(&out, 32, p.baseAddress, UInt64(p.count), key.isEmpty ? nil : k.baseAddress, key.count)
                }
            }
            precondition(rc == 0, "crypto_generichash failed")
            return out
        }
        // libsodium's streaming state is an over-aligned struct that Swift imports as
        // opaque: it lives in memory allocated with its alignment. Each part is hashed where
        // it lies, without joining the parts into one buffer first.
        let state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        defer { state.deallocate() }
        let typed = OpaquePointer(state)
        var rc = key.withUnsafeBufferPointer { k in
            crypto_generichash_init(typed, key.isEmpty ? nil : k.baseAddress, key.count, 32)
        }
        for part in parts where rc == 0 {
            rc = part.withUnsafeBufferPointer { crypto_generichash_update(typed, $0.baseAddress, UInt64($0.count)) }
        }
        if rc == 0 { rc = crypto_generichash_final(typed, &out, 32) }
        precondition(rc == 0, "crypto_generichash failed")
        return out
    }

    /// Compares two byte strings in time independent of their contents.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        ensureInitialised()
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                sodium_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0
            }
        }
    }
}

/// An Ed25519 public key (32 bytes).
public struct PublicKey: Hashable, Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .badLength(what: "Ed25519 public key", expected: Self.byteCount, actual: bytes.count)
        }
        self.bytes = bytes
    }

    public func hash(into hasher: inout Hasher) { ByteStrings.hash(bytes, into: &hasher) }

    public static func == (a: PublicKey, b: PublicKey) -> Bool { ByteStrings.equal(a.bytes, b.bytes) }

    /// Verifies an Ed25519 signature over `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        Sodium.ensureInitialised()
        guard signature.count == Signature.byteCount else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), bytes) == 0
    }
}

public enum Signature {
    public static let byteCount = 64
}

/// An Ed25519 signing key, held as its 32-byte seed and the expanded secret key.
public struct SigningKey: Sendable {
    public static let seedByteCount = 32
    public let seed: [UInt8]
    public let publicKey: PublicKey
    private let secretKey: [UInt8]

    /// Derives the key pair from a 32-byte seed. Randomness is the caller's business:
    /// LicenseCore never draws random numbers itself.
    public init(seed: [UInt8]) throws(CryptoError) {
        guard seed.count == Self.seedByteCount else {
            throw .badLength(what: "Ed25519 seed", expected: Self.seedByteCount, actual: seed.count)
        }
        Sodium.ensureInitialised()
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        let rc = crypto_sign_seed_keypair(&pk, &sk, seed)
        precondition(rc == 0, "crypto_sign_seed_keypair failed")
        self.seed = seed
        self.secretKey = sk
        self.publicKey = try PublicKey(bytes: pk)
    }

    public func signature(for message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: Signature.byteCount)
        let rc = crypto_sign_detached(&sig, nil, message, UInt64(message.count), secretKey)
        precondition(rc == 0, "crypto_sign_detached failed")
        return sig
    }
}

public enum CryptoError: Error, Equatable, CustomStringConvertible {
    case badLength(what: String, expected: Int, actual: Int)

    public var description: String {
        switch self {
        case let .badLength(what, expected, actual):
            "\(what) must be \(expected) bytes, got \(actual)"
        }
    }
}
