/// Names an issuer key: `<origin>-<first 4 bytes of BLAKE2b-256(public key), hex>`,
/// e.g. "gd-3f9a01c2". Deterministic, so the id never disagrees with the key.
public enum IssuerKeyID {
    public static func derive(origin: String, publicKey: PublicKey) -> String {
        origin + "-" + Hex.encode(Sodium.blake2b256(publicKey.bytes).prefix(4))
    }
}
