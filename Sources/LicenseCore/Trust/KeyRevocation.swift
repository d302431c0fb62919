import Foundation
import SwiftProtobuf

/// The national root's statement that an issuer key is compromised from a point in time.
/// Entries the key signed at or after that time (their hybrid clock's wall reading) are
/// not recognized; earlier ones still are. Signed by the root over
/// `"lx-key-revocation-v1" || body`; the body bytes are kept as signed (docs/TRUST.md).
public struct KeyRevocation: Sendable, Equatable {
    public static let signatureDomain = Array("lx-key-revocation-v1".utf8)
    public static let currentVersion: UInt32 = 1
    public static let encodedBytesMax = 4 * 1024
    /// The `type` its JSON form carries, which tells it from a certificate.
    public static let jsonType = "key_revocation"

    public struct Body: Sendable, Equatable {
        public var keyID: String
        public var compromisedAtMilliseconds: UInt64
        public var reason: String
        public var rootKeyID: String

        public init(keyID: String, compromisedAtMilliseconds: UInt64, reason: String, rootKeyID: String) {
            self.keyID = keyID
            self.compromisedAtMilliseconds = compromisedAtMilliseconds
            self.reason = reason
            self.rootKeyID = rootKeyID
        }

        /// The node whose key this is: the key id's prefix.
        public var nodeID: String { String(keyID[..<(keyID.lastIndex(of: "-") ?? keyID.endIndex)]) }

        func encoded() -> [UInt8] {
            var m = LXKeyRevocationBody()
            m.version = KeyRevocation.currentVersion
            m.keyID = keyID
            m.compromisedAtMs = compromisedAtMilliseconds
            m.reason = reason
            m.rootKeyID = rootKeyID
            do {
                return try m.serializedBytes()
            } catch {
                preconditionFailure("protobuf serialisation of a revocation body failed: \(error)")
            }
        }
    }

    public let bodyBytes: [UInt8]
    public let signature: [UInt8]
    public let body: Body

    /// The root signs a body.
    public static func issue(_ body: Body, root: SigningKey) -> KeyRevocation {
        precondition(body.rootKeyID == RootKeyID.derive(root.publicKey), "body names another root key")
        let bytes = body.encoded()
        return KeyRevocation(bodyBytes: bytes, signature: root.signature(for: signatureDomain + bytes), body: body)
    }

    private init(bodyBytes: [UInt8], signature: [UInt8], body: Body) {
        self.bodyBytes = bodyBytes
        self.signature = signature
        self.body = body
    }

    /// Decodes a revocation and verifies it against the root key.
    public init(bodyBytes: [UInt8], signature: [UInt8], root: PublicKey) throws(CertificateError) {
        guard bodyBytes.count <= Self.encodedBytesMax else { throw .malformed("key revocation is larger than 4 KiB") }
        let m: LXKeyRevocationBody
        do {
            m = try LXKeyRevocationBody(serializedBytes: bodyBytes)
        } catch {
            throw .malformed("not a valid lx.v1.KeyRevocationBody: \(error)")
        }
        guard m.unknownFields.data.isEmpty else { throw .malformed("key revocation has unknown fields") }
        guard m.version == Self.currentVersion else { throw .malformed("key revocation version \(m.version) is not supported") }
        guard let dash = m.keyID.lastIndex(of: "-"), IssuerKeyID.isValid(m.keyID, origin: String(m.keyID[..<dash])) else {
            throw .malformed("key id '\(m.keyID.prefix(80))' is not <node id>-<8 hex digits>")
        }
        guard m.compromisedAtMs <= EntryBody.wallMillisecondsMax else { throw .malformed("compromise time is after the year 9999") }
        guard m.reason.utf8.count <= LicenseEvent.reasonBytesMax else { throw .malformed("reason is longer than 500 bytes") }
        let rootID = RootKeyID.derive(root)
        guard m.rootKeyID == rootID else { throw .otherRoot(certificate: m.rootKeyID, trusted: rootID) }
        guard signature.count == Signature.byteCount, root.isValidSignature(signature, for: Self.signatureDomain + bodyBytes) else {
            throw .badRevocationSignature(keyID: m.keyID)
        }
        self.init(bodyBytes: bodyBytes, signature: signature,
                  body: Body(keyID: m.keyID, compromisedAtMilliseconds: m.compromisedAtMs, reason: m.reason, rootKeyID: m.rootKeyID))
    }

    /// True when an entry signed (by this key) at `milliseconds` is after the compromise.
    public func covers(signedAt milliseconds: UInt64) -> Bool {
        milliseconds >= body.compromisedAtMilliseconds
    }

    /// The portable text form: `{"type": "key_revocation", "body": base64, "signature": base64}`.
    public func jsonText() -> String {
        SignedDocument(type: Self.jsonType, body: bodyBytes, signature: signature).jsonText()
    }

    /// Reads the text form and verifies it against the root.
    public static func decode(jsonText: String, root: PublicKey) throws(CertificateError) -> KeyRevocation {
        let document = try SignedDocument(jsonText: jsonText)
        guard document.type == jsonType else { throw .malformed("expected \"type\": \"\(jsonType)\"") }
        return try KeyRevocation(bodyBytes: document.body, signature: document.signature, root: root)
    }
}

/// The JSON form every root-signed document takes on disk and in the admin API:
/// `{"type": ..., "body": base64, "signature": base64}`. Certificates may omit `type`.
public struct SignedDocument: Sendable, Equatable {
    public static let issuerCertificateType = "issuer_certificate"

    public let type: String
    public let body: [UInt8]
    public let signature: [UInt8]

    public init(type: String, body: [UInt8], signature: [UInt8]) {
        self.type = type
        self.body = body
        self.signature = signature
    }

    public init(jsonText: String) throws(CertificateError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(jsonText.utf8)) as? [String: Any],
              let body = (object["body"] as? String).flatMap({ Data(base64Encoded: $0) }),
              let signature = (object["signature"] as? String).flatMap({ Data(base64Encoded: $0) })
        else { throw .malformed("expected {\"type\": ..., \"body\": base64, \"signature\": base64}") }
        guard object["type"] == nil || object["type"] is String else { throw .malformed("\"type\" must be a string") }
        self.init(type: object["type"] as? String ?? Self.issuerCertificateType, body: [UInt8](body), signature: [UInt8](signature))
    }

    public func jsonText() -> String {
        "{\"type\": \"\(type)\", \"body\": \"\(Data(body).base64EncodedString())\", \"signature\": \"\(Data(signature).base64EncodedString())\"}\n"
    }
}
