/// A node's signing identity: the origin it writes as, and the issuer key it signs with.
public struct IssuerSigner: Sendable {
    public let origin: String
    public let keyID: String
    public let key: SigningKey

    public init(origin: String, key: SigningKey) {
        precondition(NodeID.isValid(origin), "invalid node id \(origin)")
        self.origin = origin
        self.key = key
        self.keyID = IssuerKeyID.derive(origin: origin, publicKey: key.publicKey)
    }
}
