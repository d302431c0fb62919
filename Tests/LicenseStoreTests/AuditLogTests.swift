import Foundation
import LicenseCore
@testable import LicenseStore
import Testing

@Suite final class AuditLogTests: TemporaryDirectoryTest, @unchecked Sendable {
    typealias F = StoreFixtures

    func record(_ n: Int, holder: HolderRef? = F.holderRef(1), license: LicenseID? = nil) -> AuditRecord {
        AuditRecord(atMilliseconds: 1_772_323_200_000 + Int64(n), actor: "clerk-\(n)", action: "lookup",
                    holderRef: holder, licenseID: license, purpose: "counter service \(n)")
    }

    @Test func auditLog_shouldReturnRecordsNewestFirst() async throws {
        let store = try openStore()
        for n in 1...3 {
            try await store.recordAudit(record(n))
        }
        let log = try store.auditLog(limit: 10)
        #expect(log == [record(3), record(2), record(1)])
    }

    @Test func auditLog_shouldRespectTheLimit() async throws {
        let store = try openStore()
        for n in 1...5 {
            try await store.recordAudit(record(n))
        }
        #expect(try store.auditLog(limit: 2) == [record(5), record(4)])
        #expect(try store.auditLog(limit: 0).isEmpty)
    }

    @Test func auditLog_shouldOrderByInsertionNotByTimestamp() async throws {
        let store = try openStore()
        // A clock step backwards must not reorder the log.
        try await store.recordAudit(record(9))
        try await store.recordAudit(record(1))
        #expect(try store.auditLog(limit: 10) == [record(1), record(9)])
    }

    @Test func auditLog_shouldKeepOptionalHolderAndLicense() async throws {
        let store = try openStore()
        let license = LicenseID("gd-999-00112233")!
        let records = [
            record(1, holder: nil, license: nil),
            record(2, holder: F.holderRef(2), license: license),
            record(3, holder: nil, license: license),
        ]
        for r in records {
            try await store.recordAudit(r)
        }
        #expect(try store.auditLog(limit: 10) == records.reversed())
    }

    @Test func auditLog_shouldSurviveReopeningTheStore() async throws {
        do {
            let store = try openStore()
            try await store.recordAudit(record(1))
        }
        #expect(try LedgerStore(path: ledgerPath, identity: F.gd).auditLog(limit: 10) == [record(1)])
    }

    @Test func auditLog_shouldNeverStoreTheIDNumber() async throws {
        let store = try openStore()
        try await store.recordAudit(record(1))
        let number = F.idNumber(1)
        let rows = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT actor || action || purpose || hex(holder_ref) FROM audit")
        }
        #expect(rows.count == 1)
        #expect(rows.allSatisfy { !$0.contains(number) && !$0.contains(number.dropLast(1)) })
    }
}
