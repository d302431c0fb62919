import Crypto
import Foundation
import SwiftASN1
import X509

/// The transport PKI: one network CA, and one TLS certificate per node that names the
/// node id (SAN URI `lx-node:<id>`, also the common name). P-256 ECDSA, PEM files;
/// docs/PKI.md describes every file. Independent of the national root, which certifies
/// issuer keys (signing), not connections.
public enum TransportPKI {
    public static let nodeURIPrefix = "lx-node:"

    public struct Issued: Sendable {
        public let certificatePEM: String
        public let privateKeyPEM: String
    }

    /// A self-signed network CA, valid from `notBefore` for `days`.
    public static func makeCA(name: String = "LicenseExchange network CA", notBefore: Date, days: Int) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("LicenseExchange")
            CommonName(name)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: notBefore, notValidAfter: notBefore.addingTimeInterval(Double(days) * 86_400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// A node certificate for `nodeID`, signed by the CA, usable as TLS server and client.
    public static func makeNode(nodeID: String, caCertificatePEM: String, caKeyPEM: String, notBefore: Date, days: Int)
        throws -> Issued
    {
        let caCertificate = try Certificate(pemEncoded: caCertificatePEM)
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM)
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("LicenseExchange")
            CommonName(nodeID)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: notBefore, notValidAfter: notBefore.addingTimeInterval(Double(days) * 86_400),
            issuer: caCertificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.uniformResourceIdentifier(nodeURIPrefix + nodeID)])
            },
            issuerPrivateKey: .init(caKey))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// The DER bytes of the first certificate of a PEM text.
    public static func derOfFirstCertificate(pem: String) throws -> [UInt8] {
        try X509Bridge.der(fromPEM: pem)
    }

    /// The node id a certificate names, from its `lx-node:` SAN URI; nil if it names none
    /// or more than one.
    public static func nodeID(ofCertificateDER der: [UInt8]) -> String? {
        guard let certificate = try? Certificate(derEncoded: der),
              let names = try? certificate.extensions.subjectAlternativeNames
        else { return nil }
        let ids = names.compactMap { name -> String? in
            if case let .uniformResourceIdentifier(uri) = name, uri.hasPrefix(nodeURIPrefix) {
                return String(uri.dropFirst(nodeURIPrefix.count))
            }
            return nil
        }
        return ids.count == 1 ? ids[0] : nil
    }
}

extension TransportPKI {
    /// Why a node's TLS certificate would not get it into the network, each as a phrase;
    /// empty when it would: it must parse, be issued and signed by the CA, be valid `now`,
    /// and name `nodeID`.
    public static func problems(certificatePEM: String, caCertificatePEM: String, nodeID: String, now: Date) -> [String] {
        let ca: Certificate
        do {
            ca = try Certificate(pemEncoded: caCertificatePEM)
        } catch {
            return ["the CA certificate is not a PEM X.509 certificate (\(error))"]
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            return ["the node certificate is not a PEM X.509 certificate (\(error))"]
        }
        var problems: [String] = []
        if certificate.issuer != ca.subject || !ca.publicKey.isValidSignature(certificate.signature, for: certificate) {
            problems.append("the node certificate is not signed by the network CA (issued by '\(certificate.issuer)')")
        }
        if now < certificate.notValidBefore || now > certificate.notValidAfter {
            problems.append("the node certificate is valid from \(certificate.notValidBefore) to \(certificate.notValidAfter), not now")
        }
        if now < ca.notValidBefore || now > ca.notValidAfter {
            problems.append("the CA certificate is valid from \(ca.notValidBefore) to \(ca.notValidAfter), not now")
        }
        var serializer = DER.Serializer()
        let named = (try? serializer.serialize(certificate)).flatMap { TransportPKI.nodeID(ofCertificateDER: serializer.serializedBytes) }
        if named != nodeID {
            problems.append("the node certificate names '\(named ?? "no node id")', not '\(nodeID)' "
                            + "(licensectl pki node --node-id \(nodeID))")
        }
        return problems
    }
}

/// PEM to DER through swift-certificates.
enum X509Bridge {
    static func der(fromPEM pem: String) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(try Certificate(pemEncoded: pem))
        return serializer.serializedBytes
    }
}
