import Foundation
import GRDB
import LicenseCore
@testable import LicenseStore
import Testing

private typealias F = StoreFixtures

/// A damaged ledger stops the open with a clear message instead of failing later.
@Suite final class CorruptionTests: TemporaryDirectoryTest, @unchecked Sendable {
    private func damage(_ sql: String) async throws {
        let store = try openStore()
        _ = try await authorAll(store, [F.residencePermit(holder: 1), F.residencePermit(holder: 2), F.residencePermit(holder: 3)])
        try await store.pool.write { db in try db.execute(sql: sql) }
    }

    @Test func lostLastEntry_isReportedAtOpen() async throws {
        try await damage("DELETE FROM entries WHERE origin = 'gd' AND seq = 3")
        #expect(throws: StoreError.corrupt(path: ledgerPath, detail: "the chain of origin 'gd' does not end at its recorded head #3")) {
            _ = try LedgerStore(path: ledgerPath, identity: F.gd)
        }
    }

    @Test func entryBeyondTheHead_isReportedAtOpen() async throws {
        try await damage("UPDATE origins SET head_seq = 2")
        #expect(throws: StoreError.corrupt(path: ledgerPath, detail: "the chain of origin 'gd' does not end at its recorded head #2")) {
            _ = try LedgerStore(path: ledgerPath, identity: F.gd)
        }
    }

    @Test func anotherNodesLedger_isRefusedAndKeepsItsIdentity() async throws {
        _ = try openStore()
        #expect(throws: StoreError.belongsToAnotherNode(path: ledgerPath, nodeID: "gd", province: "440000")) {
            _ = try LedgerStore(path: ledgerPath, identity: LedgerStore.Identity(nodeID: "sh", province: "310000"))
        }
        #expect(try LedgerStore(path: ledgerPath, readOnly: true).identity() == F.gd)
    }
}
