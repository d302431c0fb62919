import Foundation
import LicenseCore
import Testing

struct IssuerCertificateTests {
    let root = try! SigningKey(seed: Array(repeating: 1, count: 32))
    let otherRoot = try! SigningKey(seed: Array(repeating: 2, count: 32))
    let issuer = try! SigningKey(seed: Array(0...31))

    func body(province: String = "440000", types: [String] = ["driving_licence", "business_license"],
              root: SigningKey? = nil) -> IssuerCertificate.Body {
        IssuerCertificate.Body(nodeID: "gd", province: province, publicKey: issuer.publicKey,
                               notBeforeMilliseconds: 1_000, notAfterMilliseconds: 2_000, licenseTypes: types,
                               rootKeyID: RootKeyID.derive((root ?? self.root).publicKey))
    }

    @Test func issued_verifiesAgainstItsRoot_andRoundTripsAsText() throws {
        let certificate = IssuerCertificate.issue(body(), root: root)
        let decoded = try IssuerCertificate.decode(jsonText: certificate.jsonText(), root: root.publicKey)
        #expect(decoded == certificate)
        #expect(decoded.body.keyID == IssuerKeyID.derive(origin: "gd", publicKey: issuer.publicKey))
        #expect(decoded.body.licenseTypes == ["business_license", "driving_licence"])
    }

    @Test func anotherRoot_isRefusedByName() {
        let certificate = IssuerCertificate.issue(body(root: otherRoot), root: otherRoot)
        #expect(throws: CertificateError.otherRoot(certificate: RootKeyID.derive(otherRoot.publicKey),
                                                   trusted: RootKeyID.derive(root.publicKey))) {
            _ = try IssuerCertificate(bodyBytes: certificate.bodyBytes, signature: certificate.signature, root: root.publicKey)
        }
    }

    @Test func tamperedBody_isNotSignedByTheRoot() {
        let certificate = IssuerCertificate.issue(body(), root: root)
        var bytes = certificate.bodyBytes
        bytes[bytes.count - 1] ^= 0x01
        #expect(throws: CertificateError.self) {
            _ = try IssuerCertificate(bodyBytes: bytes, signature: certificate.signature, root: root.publicKey)
        }
        var signature = certificate.signature
        signature[0] ^= 0x01
        #expect(throws: CertificateError.badSignature(nodeID: "gd")) {
            _ = try IssuerCertificate(bodyBytes: certificate.bodyBytes, signature: signature, root: root.publicKey)
        }
    }

    @Test func unknownProvince_isRefused() {
        let certificate = IssuerCertificate.issue(body(province: "999999"), root: root)
        #expect(throws: CertificateError.unknownProvince("999999")) {
            _ = try IssuerCertificate(bodyBytes: certificate.bodyBytes, signature: certificate.signature, root: root.publicKey)
        }
    }

    @Test func garbage_isMalformed() {
        #expect(throws: CertificateError.self) {
            _ = try IssuerCertificate(bodyBytes: [0xff, 0x01], signature: [], root: root.publicKey)
        }
        #expect(throws: CertificateError.self) { _ = try IssuerCertificate.decode(jsonText: "{}", root: root.publicKey) }
    }

    @Test func validityWindowAndTypes() {
        let certificate = IssuerCertificate.issue(body(), root: root)
        #expect(!certificate.isValid(at: 999))
        #expect(certificate.isValid(at: 1_000))
        #expect(certificate.isValid(at: 1_999))
        #expect(!certificate.isValid(at: 2_000))
        #expect(certificate.allows(licenseType: "driving_licence"))
        #expect(!certificate.allows(licenseType: "marriage_certificate"))
    }
}
