import LicenseCore
import Testing

/// Committed test vectors (also in docs/PROTOCOL.md, "Test vectors"). Any change to the
/// entry encoding, the signature domain, the id hash or the holder ref breaks these on
/// purpose: another province's implementation must produce exactly these bytes.
///
/// The values were computed once by this code and cross-checked with an independent
/// implementation (Python hashlib BLAKE2b and pyca/cryptography Ed25519).
@Suite struct TestVectorTests {
    // Inputs.
    static let seed: [UInt8] = Array(0...31) // 000102...1f
    static let holderKey: [UInt8] = Array(64...95) // 404142...5f
    static let idNumber = "11010519491231002X"
    static let wall: UInt64 = 1_767_225_600_000 // 2026-01-01T00:00:00Z

    // Expected outputs.
    static let publicKeyHex = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
    static let keyID = "gd-9d24e2ee"
    static let holderRefHex = "7a233c8c87304ea31ab897162a675c70be13b0fe660af780a8d93f0005be7f30"

    static let issueBodyHex = """
        08011202676418012220000000000000000000000000000000000000000000000000000000000000000032070880d0eab6b733\
        3a0b67642d3964323465326565429f010a9c010a0f64726976696e675f6c6963656e636512063434303030301a207a233c8c87\
        304ea31ab897162a675c70be13b0fe660af780a8d93f0005be7f30221231312a2a2a2a2a2a2a2a2a2a2a2a303032582a1e0a10\
        66697273745f69737375655f64617465120a323032362d30312d30312a130a0d6c6963656e63655f636c61737312024331320a\
        323032362d30312d30313a0a323033322d30312d3031
        """
    static let issueSignatureHex = """
        2f5f552043764a40ab2d52780d6a5797f307842343af3dc6944f8ba944e2b8ee\
        99a80fd63eecb4b81ac4c06e7ec3e14b6c44971cda73e5511a8fb82029a25b02
        """
    static let issueIDHex = "5a4e45425f098e9212cce889c668864bc2ef654cf742bcc6069daa7a82001df3"
    static let licenseIDText = "gd-1-5a4e4542"

    static let revokeBodyHex = """
        080112026764180222205a4e45425f098e9212cce889c668864bc2ef654cf742bcc6069daa7a82001df32a060a026764100132\
        0708e0a4eeb6b7333a0b67642d3964323465326565421e321c0a0d67642d312d3561346534353432120b746573742076656374\
        6f72
        """
    static let revokeSignatureHex = """
        7bde43e9d1ebce94c744ba75d5ec74033e153fb82996bc7d31a404b1c9005ea7\
        26a611526eb0576ec02af7b5f2b396c919a7732b037e0b71ae88cb847961620e
        """
    static let revokeIDHex = "db0b96be2c9335eb461f9698dcf313e7085c898b3740441c70f92086b1b50524"

    static func key() throws -> SigningKey { try SigningKey(seed: seed) }

    static func holderRef() throws -> HolderRef {
        let id = try ResidentID(idNumber, today: CivilDate(year: 2026, month: 1, day: 1)!)
        return HolderRef(id: id, key: try HolderKey(bytes: holderKey))
    }

    /// Vector 1: "gd" issues a driving licence at seq 1.
    static func issueBody() throws -> EntryBody {
        EntryBody(
            origin: "gd", seq: 1, prev: .zero, context: VersionVector(),
            hlc: HybridTimestamp(wallMilliseconds: wall, logical: 0), keyID: keyID,
            event: .issue(LicenseEvent.Issue(
                licenseType: "driving_licence", province: "440000", holderRef: try holderRef(),
                holderMasked: "11************002X",
                attributes: ["licence_class": "C1", "first_issue_date": "2026-01-01"],
                validFrom: CivilDate(year: 2026, month: 1, day: 1)!, validUntil: CivilDate(year: 2032, month: 1, day: 1)!)))
    }

    /// Vector 2: "gd" revokes that licence at seq 2, one minute later.
    static func revokeBody() throws -> EntryBody {
        EntryBody(
            origin: "gd", seq: 2, prev: try EntryID(bytes: Hex.decode(issueIDHex)!), context: VersionVector(["gd": 1]),
            hlc: HybridTimestamp(wallMilliseconds: wall + 60_000, logical: 0), keyID: keyID,
            event: .revoke(.init(licenseID: LicenseID(licenseIDText)!, reason: "test vector")))
    }

    @Test func keyAndHolderRef_shouldMatchTheVectors() throws {
        let key = try Self.key()
        #expect(Hex.encode(key.publicKey.bytes) == Self.publicKeyHex)
        #expect(IssuerKeyID.derive(origin: "gd", publicKey: key.publicKey) == Self.keyID)
        #expect(Hex.encode(try Self.holderRef().bytes) == Self.holderRefHex)
    }

    @Test func issueEntry_shouldEncodeSignAndHashToTheVectors() throws {
        let entry = Entry.sign(try Self.issueBody(), with: try Self.key())
        #expect(Hex.encode(entry.bodyBytes) == Self.issueBodyHex)
        #expect(Hex.encode(entry.signature) == Self.issueSignatureHex)
        #expect(entry.id.description == Self.issueIDHex)
        #expect(entry.licenseID.text == Self.licenseIDText)
    }

    @Test func revokeEntry_shouldEncodeSignAndHashToTheVectors() throws {
        let entry = Entry.sign(try Self.revokeBody(), with: try Self.key())
        #expect(Hex.encode(entry.bodyBytes) == Self.revokeBodyHex)
        #expect(Hex.encode(entry.signature) == Self.revokeSignatureHex)
        #expect(entry.id.description == Self.revokeIDHex)
        #expect(entry.licenseID.text == Self.licenseIDText)
    }

    @Test func vectorBytes_shouldDecodeAndVerifyAsReceivedEntries() throws {
        let key = try Self.key()
        for (bodyHex, signatureHex, idHex, body) in [
            (Self.issueBodyHex, Self.issueSignatureHex, Self.issueIDHex, try Self.issueBody()),
            (Self.revokeBodyHex, Self.revokeSignatureHex, Self.revokeIDHex, try Self.revokeBody()),
        ] {
            let entry = try Entry(bodyBytes: try #require(Hex.decode(bodyHex)), signature: try #require(Hex.decode(signatureHex)))
            #expect(entry.body == body)
            #expect(entry.hasValidSignature(by: key.publicKey))
            #expect(entry.id.description == idHex)
        }
    }

    @Test func vectors_shouldFoldToARevokedLicense() throws {
        let key = try Self.key()
        let issue = Entry.sign(try Self.issueBody(), with: key)
        let revoke = Entry.sign(try Self.revokeBody(), with: key)
        let folded = try #require(LicenseFold.fold([revoke, issue]))
        #expect(folded.state.id.text == Self.licenseIDText)
        #expect(folded.state.status == .revoked)
        #expect(folded.state.statusReason == "test vector")
    }

    // The primitives underneath, against their published vectors, so a broken libsodium
    // binding is reported as such rather than as a changed entry encoding.

    @Test func ed25519_shouldMatchRFC8032TestVector1() throws {
        let key = try SigningKey(seed: try #require(Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")))
        #expect(Hex.encode(key.publicKey.bytes) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        #expect(Hex.encode(key.signature(for: [])) == """
            e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
            5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b
            """)
    }

    @Test func blake2b256_shouldMatchTheEmptyInputVector() {
        #expect(Hex.encode(Sodium.blake2b256([])) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
    }

    /// Parts are hashed as their concatenation, keyed or not (vectors from Python's hashlib).
    @Test func blake2b256_hashesPartsAsTheirConcatenation() {
        let abc = "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        #expect(Hex.encode(Sodium.blake2b256(Array("abc".utf8))) == abc)
        #expect(Hex.encode(Sodium.blake2b256(Array("a".utf8), [], Array("bc".utf8))) == abc)
        let keyed = "552893756a50d133eb9c1530ad408b9ea01c78707d2b5a2c1a1ac3db9a63c80c"
        let key = [UInt8](repeating: UInt8(ascii: "k"), count: 32)
        #expect(Hex.encode(Sodium.blake2b256(Array("abc".utf8), Array("def".utf8), key: key)) == keyed)
        // One part is hashed in one call, the same hash as the streamed parts.
        #expect(Hex.encode(Sodium.blake2b256(Array("abcdef".utf8), key: key)) == keyed)
    }
}
