import Foundation
import GRDB
import LicenseCore

extension LedgerStore {
    /// Stores a root-verified issuer certificate and trusts its key for its node's entries.
    /// Idempotent; returns false when the certificate was already held.
    @discardableResult
    public func addCertificate(_ certificate: IssuerCertificate) throws(StoreError) -> Bool {
        let body = certificate.body
        let added = try run {
            try pool.write { db in
                if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM certificates WHERE key_id = ?)",
                                     arguments: [body.keyID]) == true {
                    return false
                }
                try db.execute(sql: """
                    INSERT INTO certificates (key_id, node_id, province, not_before, not_after, body, signature)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [body.keyID, body.nodeID, body.province, Int64(clamping: body.notBeforeMilliseconds),
                                     Int64(clamping: body.notAfterMilliseconds), Data(certificate.bodyBytes),
                                     Data(certificate.signature)])
                invalidateIssuerKeys()
                try db.execute(sql: "INSERT OR IGNORE INTO issuer_keys (key_id, origin, public_key) VALUES (?, ?, ?)",
                               arguments: [body.keyID, body.nodeID, Data(body.publicKey.bytes)])
                return true
            }
        }
        invalidateIssuerKeys()
        return added
    }

    /// Every certificate held, verified again against `root`, in key-id order: what a
    /// node sends its peers so that they can verify entries of every origin.
    public func certificates(root: PublicKey) throws(StoreError) -> [IssuerCertificate] {
        try run {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT body, signature FROM certificates ORDER BY key_id").map { row in
                    try IssuerCertificate(bodyBytes: [UInt8](row["body"] as Data),
                                          signature: [UInt8](row["signature"] as Data), root: root)
                }
            }
        }
    }
}
