import Foundation
import SwiftProtobuf

/// A root key id: `root-<first 4 bytes of BLAKE2b-256(public key), hex>`.
public enum RootKeyID {
    public static func derive(_ publicKey: PublicKey) -> String {
        "root-" + Hex.encode(Sodium.blake2b256(publicKey.bytes).prefix(4))
    }
}

/// The national root's statement that an Ed25519 key signs for one node of one province,
/// within a validity window, for some license types. Signed by the root over
/// `"lx-issuer-cert-v1" || body`; the body bytes are kept as signed (docs/TRUST.md).
public struct IssuerCertificate: Sendable, Equatable {
    public static let signatureDomain = Array("lx-issuer-cert-v1".utf8)
    public static let currentVersion: UInt32 = 1
    public static let encodedBytesMax = 16 * 1024

    public struct Body: Sendable, Equatable {
        public var nodeID: String
        public var province: String
        public var publicKey: PublicKey
        public let notBeforeMilliseconds: UInt64
        public let notAfterMilliseconds: UInt64
        /// Sorted, distinct catalog codes.
        public var licenseTypes: [String]
        public var rootKeyID: String

        /// The validity window as text, for recognition reasons (made once, read per decision).
        public let validity: String

        public init(nodeID: String, province: String, publicKey: PublicKey, notBeforeMilliseconds: UInt64,
                    notAfterMilliseconds: UInt64, licenseTypes: [String], rootKeyID: String) {
            validity = "\(Instant(notBeforeMilliseconds))–\(Instant(notAfterMilliseconds))"
            self.nodeID = nodeID
            self.province = province
            self.publicKey = publicKey
            self.notBeforeMilliseconds = notBeforeMilliseconds
            self.notAfterMilliseconds = notAfterMilliseconds
            self.licenseTypes = Array(Set(licenseTypes)).sorted()
            self.rootKeyID = rootKeyID
        }

        /// The key id entries signed with this key carry.
        public var keyID: String { IssuerKeyID.derive(origin: nodeID, publicKey: publicKey) }

        func encoded() -> [UInt8] {
            var m = LXIssuerCertificateBody()
            m.version = IssuerCertificate.currentVersion
            m.nodeID = nodeID
            m.province = province
            m.publicKey = Data(publicKey.bytes)
            m.notBeforeMs = notBeforeMilliseconds
            m.notAfterMs = notAfterMilliseconds
            m.licenseTypes = licenseTypes
            m.rootKeyID = rootKeyID
            do {
                return try m.serializedBytes()
            } catch {
                preconditionFailure("protobuf serialisation of a certificate body failed: \(error)")
            }
        }
    }

    public let bodyBytes: [UInt8]
    public let signature: [UInt8]
    public let body: Body

    /// The root signs a body.
    public static func issue(_ body: Body, root: SigningKey) -> IssuerCertificate {
        precondition(body.rootKeyID == RootKeyID.derive(root.publicKey), "body names another root key")
        let bytes = body.encoded()
        return IssuerCertificate(bodyBytes: bytes, signature: root.signature(for: signatureDomain + bytes), body: body)
    }

    private init(bodyBytes: [UInt8], signature: [UInt8], body: Body) {
        self.bodyBytes = bodyBytes
        self.signature = signature
        self.body = body
    }

    /// Decodes a certificate and verifies it against the root key: every refusal names
    /// what is wrong.
    public init(bodyBytes: [UInt8], signature: [UInt8], root: PublicKey) throws(CertificateError) {
        guard bodyBytes.count <= Self.encodedBytesMax else { throw .malformed("certificate is larger than 16 KiB") }
        let m: LXIssuerCertificateBody
        do {
            m = try LXIssuerCertificateBody(serializedBytes: bodyBytes)
        } catch {
            throw .malformed("not a valid lx.v1.IssuerCertificateBody: \(error)")
        }
        guard m.unknownFields.data.isEmpty else { throw .malformed("certificate has unknown fields") }
        guard m.version == Self.currentVersion else { throw .malformed("certificate version \(m.version) is not supported") }
        guard NodeID.isValid(m.nodeID) else { throw .malformed("node id '\(m.nodeID.prefix(40))' is invalid") }
        guard Province.byCode[m.province] != nil else { throw .unknownProvince(m.province) }
        let key: PublicKey
        do {
            key = try PublicKey(bytes: [UInt8](m.publicKey))
        } catch {
            throw .malformed("\(error)")
        }
        guard m.notBeforeMs < m.notAfterMs else { throw .malformed("validity window is empty") }
        guard m.licenseTypes == Array(Set(m.licenseTypes)).sorted(), !m.licenseTypes.isEmpty else {
            throw .malformed("license types must be a non-empty sorted list of distinct codes")
        }
        let rootID = RootKeyID.derive(root)
        guard m.rootKeyID == rootID else { throw .otherRoot(certificate: m.rootKeyID, trusted: rootID) }
        guard signature.count == Signature.byteCount, root.isValidSignature(signature, for: Self.signatureDomain + bodyBytes) else {
            throw .badSignature(nodeID: m.nodeID)
        }
        self.bodyBytes = bodyBytes
        self.signature = signature
        self.body = Body(nodeID: m.nodeID, province: m.province, publicKey: key, notBeforeMilliseconds: m.notBeforeMs,
                         notAfterMilliseconds: m.notAfterMs, licenseTypes: m.licenseTypes, rootKeyID: m.rootKeyID)
    }

    /// True when `milliseconds` lies in the validity window.
    public func isValid(at milliseconds: UInt64) -> Bool {
        body.covers(milliseconds)
    }

    public func allows(licenseType: String) -> Bool {
        body.licenseTypes.contains(licenseType)
    }

    /// The portable text form: `{"type": "issuer_certificate", "body": base64, "signature": base64}`.
    public func jsonText() -> String {
        SignedDocument(type: SignedDocument.issuerCertificateType, body: bodyBytes, signature: signature).jsonText()
    }

    /// Reads the text form and verifies it against the root.
    public static func decode(jsonText: String, root: PublicKey) throws(CertificateError) -> IssuerCertificate {
        let document = try SignedDocument(jsonText: jsonText)
        guard document.type == SignedDocument.issuerCertificateType else {
            throw .malformed("expected \"type\": \"\(SignedDocument.issuerCertificateType)\", got \"\(document.type.prefix(40))\"")
        }
        return try IssuerCertificate(bodyBytes: document.body, signature: document.signature, root: root)
    }
}

public enum CertificateError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case unknownProvince(String)
    case otherRoot(certificate: String, trusted: String)
    case badSignature(nodeID: String)
    case badRevocationSignature(keyID: String)

    public var code: String {
        switch self {
        case .malformed: "malformed_certificate"
        case .unknownProvince: "unknown_province"
        case .otherRoot: "other_root"
        case .badSignature: "bad_certificate_signature"
        case .badRevocationSignature: "bad_revocation_signature"
        }
    }

    public var description: String {
        switch self {
        case let .malformed(detail): "malformed issuer certificate: \(detail)"
        case let .unknownProvince(code): "issuer certificate names unknown province '\(code.prefix(10))'"
        case let .otherRoot(certificate, trusted):
            "issuer certificate is signed by root '\(certificate.prefix(40))', this network trusts '\(trusted)'"
        case let .badSignature(nodeID): "issuer certificate for '\(nodeID)' is not signed by the trusted root"
        case let .badRevocationSignature(keyID): "revocation of key '\(keyID)' is not signed by the trusted root"
        }
    }
}
