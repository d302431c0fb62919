import Foundation
import GRDB
import LicenseCore
@testable import LicenseStore
import Testing

/// `LedgerVerifier` re-checks a ledger from its bytes. Each test writes a small valid
/// ledger, damages it with raw SQL (as a disk fault or an intruder would), and expects
/// the damage to be reported.
@Suite final class LedgerVerifierTests: TemporaryDirectoryTest, @unchecked Sendable {
    typealias F = StoreFixtures

    /// A ledger of four entries on three licenses: issue, issue, issue, suspend of the first.
    func writeLedger() async throws -> (LedgerStore, [LedgerStore.Authored]) {
        let store = try openStore()
        var authored = try await authorAll(store, [
            F.residencePermit(holder: 1), F.drivingLicence(holder: 2), F.residencePermit(holder: 3),
        ])
        authored += try await authorAll(store, [F.suspend(authored[0].state.id)], at: 1000)
        return (store, authored)
    }

    func update(_ store: LedgerStore, _ sql: String, _ arguments: StatementArguments = []) async throws {
        try await store.pool.write { db in try db.execute(sql: sql, arguments: arguments) }
    }

    func storedBody(_ store: LedgerStore, seq: Int) async throws -> [UInt8] {
        try await store.pool.read { db in
            [UInt8](try Data.fetchOne(db, sql: "SELECT body FROM entries WHERE origin = 'gd' AND seq = ?", arguments: [seq])!)
        }
    }

    func expectProblem(_ report: LedgerVerifier.Report, containing fragment: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!report.isValid, sourceLocation: sourceLocation)
        #expect(report.problems.contains { $0.contains(fragment) }, "problems: \(report.problems)",
                sourceLocation: sourceLocation)
    }

    @Test func verify_shouldAcceptAValidLedger() async throws {
        let (store, _) = try await writeLedger()
        let report = try LedgerVerifier.verify(store)
        #expect(report.isValid, "problems: \(report.problems)")
        #expect(report.entries == 4)
        #expect(report.origins == 1)
        #expect(report.licenses == 3)
        #expect(report.problemsNotListed == 0)
    }

    @Test func verify_shouldAcceptAnEmptyLedger() throws {
        let report = try LedgerVerifier.verify(try openStore())
        #expect(report.isValid)
        #expect(report.entries == 0)
    }

    @Test func verify_shouldReportATamperedBodyByte() async throws {
        let (store, _) = try await writeLedger()
        // Change the licence class "C1" to "C2" inside the stored body of seq 2: the body
        // still decodes, but neither the signature nor the id match any more.
        var body = try await storedBody(store, seq: 2)
        let at = try #require(body.firstRange(of: Array("C1".utf8)))
        body[at.lowerBound + 1] = UInt8(ascii: "2")
        try await update(store, "UPDATE entries SET body = ? WHERE origin = 'gd' AND seq = 2", [Data(body)])
        let report = try LedgerVerifier.verify(store)
        expectProblem(report, containing: "gd#2: signature is invalid")
        expectProblem(report, containing: "gd#2: stored id is not the entry's hash")
    }

    @Test func verify_shouldReportABodyThatNoLongerDecodes() async throws {
        let (store, _) = try await writeLedger()
        var body = try await storedBody(store, seq: 3)
        body[0] ^= 0xff
        try await update(store, "UPDATE entries SET body = ? WHERE origin = 'gd' AND seq = 3", [Data(body)])
        expectProblem(try LedgerVerifier.verify(store), containing: "gd#3: malformed entry")
    }

    @Test func verify_shouldReportATamperedSignature() async throws {
        let (store, _) = try await writeLedger()
        let signature = try await store.pool.read { db in
            [UInt8](try Data.fetchOne(db, sql: "SELECT signature FROM entries WHERE origin = 'gd' AND seq = 1")!)
        }
        var tampered = signature
        tampered[10] ^= 0x01
        try await update(store, "UPDATE entries SET signature = ? WHERE origin = 'gd' AND seq = 1", [Data(tampered)])
        let report = try LedgerVerifier.verify(store)
        expectProblem(report, containing: "gd#1: signature is invalid")
        // The next entry's prev named the original entry, which no longer hashes the same.
        expectProblem(report, containing: "gd#2: prev does not match")
    }

    @Test func verify_shouldReportADeletedMiddleEntry() async throws {
        let (store, _) = try await writeLedger()
        try await update(store, "DELETE FROM entries WHERE origin = 'gd' AND seq = 2")
        let report = try LedgerVerifier.verify(store)
        expectProblem(report, containing: "gd: gap, seq 2 is missing")
    }

    @Test func verify_shouldReportADeletedLastEntry() async throws {
        let (store, _) = try await writeLedger()
        try await update(store, "DELETE FROM entries WHERE origin = 'gd' AND seq = 4")
        expectProblem(try LedgerVerifier.verify(store), containing: "gd: head says seq 4, chain ends at 3")
    }

    @Test func verify_shouldReportAnUnknownIssuerKey() async throws {
        // The same ledger, but the verifying store was never told gd's key.
        do { _ = try await writeLedger() }
        try await update(try LedgerStore(path: ledgerPath), "DELETE FROM issuer_keys")
        let report = try LedgerVerifier.verify(try LedgerStore(path: ledgerPath))
        expectProblem(report, containing: "gd#1: unknown issuer key '\(F.signer.keyID)' for origin 'gd'")
        #expect(report.problems.count == 4)
    }

    @Test func verify_shouldReportAKeyRegisteredForAnotherOrigin() async throws {
        let (store, _) = try await writeLedger()
        try await update(store, "UPDATE issuer_keys SET origin = 'bj'")
        expectProblem(try LedgerVerifier.verify(store), containing: "unknown issuer key")
    }

    @Test func verify_shouldReportAWrongKey() async throws {
        let (store, _) = try await writeLedger()
        let other = try SigningKey(seed: Array(32...63))
        try await update(store, "UPDATE issuer_keys SET public_key = ?", [Data(other.publicKey.bytes)])
        let report = try LedgerVerifier.verify(store)
        #expect(report.problems.filter { $0.contains("signature is invalid") }.count == 4)
    }

    @Test func verify_shouldReportAViewThatDiffersFromTheFold() async throws {
        let (store, authored) = try await writeLedger()
        // The first license is the only suspended one; its view now claims it is active.
        #expect(authored[3].state.status == .suspended)
        try await update(store, "UPDATE licenses SET status = 'active' WHERE status = 'suspended'")
        expectProblem(try LedgerVerifier.verify(store),
                      containing: "license \(authored[0].state.id): stored view differs from the fold of its entries")
    }

    @Test func verify_shouldReportAMissingView() async throws {
        let (store, authored) = try await writeLedger()
        // The second license is the only driving licence.
        #expect(authored[1].state.licenseType == "driving_licence")
        try await update(store, "DELETE FROM licenses WHERE type = 'driving_licence'")
        expectProblem(try LedgerVerifier.verify(store), containing: "license \(authored[1].state.id)")
    }

    @Test func verify_shouldReportAWrongHead() async throws {
        let (store, _) = try await writeLedger()
        try await update(store, "UPDATE origins SET head_id = ? WHERE origin = 'gd'", [Data(repeating: 9, count: 32)])
        expectProblem(try LedgerVerifier.verify(store), containing: "gd: head id does not match the last entry")
    }
}
