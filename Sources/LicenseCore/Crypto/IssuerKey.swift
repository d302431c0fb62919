/// Names an issuer key: `<origin>-<first 4 bytes of BLAKE2b-256(public key), hex>`,
/// e.g. "gd-3f9a01c2". Deterministic, so the id never disagrees with the key.
public enum IssuerKeyID {
    public static func derive(origin: String, publicKey: PublicKey) -> String {
        origin + "-" + Hex.encode(Sodium.blake2b256(publicKey.bytes).prefix(4))
    }

    /// True when `keyID` has the derived form for `origin` (which key it names is checked
    /// against the trusted keys, not here).
    public static func isValid(_ keyID: String, origin: String) -> Bool {
        let prefix = origin + "-"
        guard keyID.hasPrefix(prefix) else { return false }
        let suffix = keyID.utf8.dropFirst(prefix.utf8.count)
        return suffix.count == 8 && suffix.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
