import CSodium

/// Random bytes from libsodium (getrandom(2) underneath). LicenseCore never draws
/// randomness; keys and tokens are made here, in the runtime layer.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(sodium_init() >= 0, "libsodium failed to initialise")
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }
}
