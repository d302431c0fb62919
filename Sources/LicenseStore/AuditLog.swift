import Foundation
import GRDB
import LicenseCore

/// One line of the audit log: who looked at or verified what, when, and why. The
/// holder is recorded by ref, never by ID number.
public struct AuditRecord: Sendable, Equatable {
    public let atMilliseconds: Int64
    public let actor: String
    public let action: String
    public let holderRef: HolderRef?
    public let licenseID: LicenseID?
    public let purpose: String

    public init(atMilliseconds: Int64, actor: String, action: String, holderRef: HolderRef?,
                licenseID: LicenseID?, purpose: String) {
        self.atMilliseconds = atMilliseconds
        self.actor = actor
        self.action = action
        self.holderRef = holderRef
        self.licenseID = licenseID
        self.purpose = purpose
    }
}

extension LedgerStore {
    /// Appends to the audit log; returns after the commit, so a lookup that was served
    /// has always been recorded first.
    public func recordAudit(_ record: AuditRecord) async throws(StoreError) {
        try await recordAudit([record])
    }

    /// Appends records to the audit log in one transaction.
    public func recordAudit(_ records: [AuditRecord]) async throws(StoreError) {
        try await runAsync {
            try await write { db in
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO audit (at_ms, actor, action, holder_ref, license_id, purpose) VALUES (?, ?, ?, ?, ?, ?)
                    """)
                for record in records {
                    try insert.execute(arguments: [
                        record.atMilliseconds, record.actor, record.action,
                        record.holderRef.map { Data($0.bytes) }, record.licenseID?.text, record.purpose,
                    ])
                }
            }
        }
    }

    /// The most recent audit records, newest first.
    public func auditLog(limit: Int) throws(StoreError) -> [AuditRecord] {
        try run {
            try read { db in
                try Row.fetchAll(db, sql: """
                    SELECT at_ms, actor, action, holder_ref, license_id, purpose FROM audit ORDER BY seq DESC LIMIT ?
                    """, arguments: [limit]).map { row in
                    let holder: Data? = row["holder_ref"]
                    let license: String? = row["license_id"]
                    return AuditRecord(
                        atMilliseconds: row["at_ms"], actor: row["actor"], action: row["action"],
                        holderRef: try holder.map { try HolderRef(bytes: [UInt8]($0)) },
                        licenseID: license.flatMap(LicenseID.init), purpose: row["purpose"])
                }
            }
        }
    }
}
