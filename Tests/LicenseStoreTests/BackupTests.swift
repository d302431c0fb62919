import Foundation
import LicenseCore
@testable import LicenseStore
import Testing

/// `backup(to:)` (what an operator's backup and the simulator's rollbacks use) and
/// `ledgerDigest(excluding:)` (how the simulator compares honest nodes).
@Suite final class BackupTests: TemporaryDirectoryTest, @unchecked Sendable {
    typealias F = StoreFixtures

    @Test func aBackup_opensAsTheSameLedger_andLaterWritesStayOutOfIt() async throws {
        let store = try openStore()
        _ = try await author(store, [F.drivingLicence(holder: 1), F.residencePermit(holder: 2)])
        let copy = directory.appendingPathComponent("backup.sqlite").path
        try store.backup(to: copy)
        _ = try await author(store, [F.residencePermit(holder: 3)])
        let restored = try LedgerStore(path: copy, identity: F.gd)
        #expect(try restored.versionVector() == VersionVector(["gd": 2]))
        #expect(try restored.entryCount() == 2)
        #expect(try restored.stateDigest() != store.stateDigest())
        #expect(try LedgerVerifier.verify(restored).isValid)
    }

    @Test func aBackupThatCannotBeWritten_failsAndLeavesNoFile() throws {
        let store = try openStore()
        let copy = directory.appendingPathComponent("no-such-directory/backup.sqlite").path
        #expect(throws: StoreError.self) { try store.backup(to: copy) }
        #expect(!FileManager.default.fileExists(atPath: copy))
    }

    @Test func theLedgerDigest_leavesOutTheOriginsItIsTold() async throws {
        let store = try openStore()
        let empty = try store.ledgerDigest()
        _ = try await author(store, [F.drivingLicence(holder: 1)])
        let full = try store.ledgerDigest()
        #expect(full != empty)
        #expect(try store.ledgerDigest(excluding: ["gd"]) == empty)
        #expect(try store.ledgerDigest(excluding: ["sh"]) == full)
    }
}
