import Foundation
import GRDB
import LicenseCore
@_spi(Testing) @testable import LicenseStore
import Testing

/// The SQLite ledger: opening, durability settings, identity, authoring batches,
/// restart, and the derived views. Each test works in its own temporary directory.
@Suite final class LedgerStoreTests: TemporaryDirectoryTest, @unchecked Sendable {
    typealias F = StoreFixtures

    // MARK: - Opening

    @Test func open_shouldCreateTheSchemaAndStartEmpty() throws {
        let store = try LedgerStore(path: ledgerPath, identity: F.gd)
        #expect(FileManager.default.fileExists(atPath: ledgerPath))
        let tables = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        for table in ["audit", "entries", "issuer_keys", "licenses", "meta", "origins"] {
            #expect(tables.contains(table), "table \(table) is missing")
        }
        #expect(try store.entryCount() == 0)
        #expect(try store.versionVector() == VersionVector())
        #expect(try store.licenses(holder: F.holderRef(1)).isEmpty)
        #expect(try store.auditLog(limit: 10).isEmpty)
    }

    @Test func synchronousMode_shouldBeFullForDurability() throws {
        let store = try LedgerStore(path: ledgerPath, identity: F.gd)
        #expect(try store.synchronousMode() == 2)
        let journal = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    @Test func synchronousMode_shouldStayFullAfterReopening() throws {
        do { _ = try LedgerStore(path: ledgerPath, identity: F.gd) }
        let store = try LedgerStore(path: ledgerPath, identity: F.gd)
        #expect(try store.synchronousMode() == 2)
    }

    @Test func pageSize_shouldBe4KiBForANewLedger_andStayAsCreatedForAnOldOne() async throws {
        func pageSize(_ store: LedgerStore) throws -> Int? {
            try store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") }
        }
        #expect(try pageSize(openStore()) == 4096)
        // A file written with other pages keeps them: the size is set once, at creation.
        let other = directory.appendingPathComponent("other.sqlite").path
        try DatabaseQueue(path: other).inDatabase { db in
            try db.execute(sql: "PRAGMA page_size = 8192; CREATE TABLE scratch (a); DROP TABLE scratch")
        }
        let reopened = try LedgerStore(path: other, identity: F.gd)
        try reopened.registerIssuerKey(keyID: F.signer.keyID, origin: "gd", publicKey: F.key.publicKey)
        #expect(try pageSize(reopened) == 8192)
        let authored = try await authorAll(reopened, [F.residencePermit(holder: 1)])
        #expect(try reopened.license(authored[0].state.id) == authored[0].state)
    }

    @Test func walCheckpoint_shouldBe32MiBForANode_andSmallerWhenAsked() throws {
        func autocheckpoint(_ store: LedgerStore) throws -> Int? {
            try store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
        }
        // A node's checkpoints run beside its writer, whose commits do not checkpoint.
        let node = try LedgerStore(path: ledgerPath, identity: F.gd)
        #expect(node.checkpointer?.thresholdPages == 8192)
        #expect(try autocheckpoint(node) == 0)
        // The simulator's ledgers write on their caller's thread and checkpoint in their commits.
        let small = try LedgerStore(path: directory.appendingPathComponent("small.sqlite").path, identity: F.gd, mergeRule: .causal, signatureMemo: nil,
                                    writeThread: .callerThread, walCheckpointPages: LedgerStore.smallWALCheckpointPages)
        #expect(small.checkpointer == nil)
        #expect(try autocheckpoint(small) == 1000)
    }

    @Test func open_shouldStampTheIdentityOnANewLedger() throws {
        do { _ = try LedgerStore(path: ledgerPath, identity: F.gd) }
        // Opening without an identity reads the stamped one and changes nothing.
        let store = try LedgerStore(path: ledgerPath)
        #expect(try store.identity() == F.gd)
        // The same identity opens it again.
        #expect(try LedgerStore(path: ledgerPath, identity: F.gd).identity() == F.gd)
    }

    @Test func open_shouldLeaveALedgerWithoutIdentityUnstamped() throws {
        let store = try LedgerStore(path: ledgerPath)
        #expect(try store.identity() == nil)
    }

    @Test func open_shouldRefuseALedgerOfAnotherNode() throws {
        do { _ = try LedgerStore(path: ledgerPath, identity: F.gd) }
        #expect(throws: StoreError.belongsToAnotherNode(path: ledgerPath, nodeID: "gd", province: "440000")) {
            try LedgerStore(path: ledgerPath, identity: .init(nodeID: "bj", province: "110000"))
        }
        #expect(throws: StoreError.belongsToAnotherNode(path: ledgerPath, nodeID: "gd", province: "440000")) {
            try LedgerStore(path: ledgerPath, identity: .init(nodeID: "gd", province: "110000"))
        }
        // The refusal left the stamp alone.
        #expect(try LedgerStore(path: ledgerPath).identity() == F.gd)
    }

    @Test func open_shouldReportAGarbageFileAsCorrupt() throws {
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: ledgerPath))
        let error = #expect(throws: StoreError.self) { try LedgerStore(path: ledgerPath, identity: F.gd) }
        guard case let .corrupt(path, _) = error else {
            Issue.record("expected StoreError.corrupt, got \(String(describing: error))")
            return
        }
        #expect(path == ledgerPath)
    }

    @Test func openReadOnly_shouldFailForAMissingFileWithoutCreatingIt() throws {
        let error = #expect(throws: StoreError.self) { try LedgerStore(path: ledgerPath, readOnly: true) }
        guard case let .cannotOpen(path, _) = error else {
            Issue.record("expected StoreError.cannotOpen, got \(String(describing: error))")
            return
        }
        #expect(path == ledgerPath)
        #expect(!FileManager.default.fileExists(atPath: ledgerPath))
    }

    @Test func openReadOnly_shouldReadAnExistingLedger() async throws {
        let authored: [LedgerStore.Authored]
        do {
            let store = try openStore()
            authored = try await authorAll(store, [F.residencePermit(holder: 1)])
        }
        let readOnly = try LedgerStore(path: ledgerPath, readOnly: true)
        #expect(try readOnly.entryCount() == 1)
        #expect(try readOnly.license(authored[0].state.id) == authored[0].state)
    }

    // MARK: - Authoring

    @Test func author_shouldChainABatchOfIssues() async throws {
        let store = try openStore()
        let emptyDigest = try store.ledgerDigest()
        let authored = try await authorAll(store, [
            F.residencePermit(holder: 1), F.residencePermit(holder: 2), F.drivingLicence(holder: 3),
        ])
        #expect(authored.map(\.entry.body.seq) == [1, 2, 3])
        #expect(authored[0].entry.body.prev == .zero)
        #expect(authored[1].entry.body.prev == authored[0].entry.id)
        #expect(authored[2].entry.body.prev == authored[1].entry.id)
        #expect(authored.map { $0.entry.body.context["gd"] } == [0, 1, 2])
        #expect(authored.allSatisfy { $0.entry.body.origin == "gd" && $0.entry.body.keyID == F.signer.keyID })
        #expect(authored.allSatisfy { $0.entry.hasValidSignature(by: F.key.publicKey) })
        // One physical time for the batch: the logical counter orders the entries.
        #expect(authored.map(\.entry.body.hlc) == [
            HybridTimestamp(wallMilliseconds: F.now, logical: 0),
            HybridTimestamp(wallMilliseconds: F.now, logical: 1),
            HybridTimestamp(wallMilliseconds: F.now, logical: 2),
        ])
        #expect(try store.versionVector() == VersionVector(["gd": 3]))
        #expect(try store.entryCount() == 3)
        #expect(try store.ledgerDigest() != emptyDigest)
        // The stored bytes are the signed bytes, unchanged.
        let stored = try store.entries(origin: "gd", after: 0, limit: 10)
        #expect(stored.map(\.id) == authored.map(\.entry.id))
        #expect(stored.map(\.bodyBytes) == authored.map(\.entry.bodyBytes))
        #expect(stored.map(\.signature) == authored.map(\.entry.signature))
        #expect(try store.entries(origin: "gd", after: 1, limit: 1).map(\.body.seq) == [2])
        #expect(try store.entries(origin: "bj", after: 0, limit: 10).isEmpty)
    }

    @Test func author_shouldContinueTheChainAcrossBatches() async throws {
        let store = try openStore()
        let first = try await authorAll(store, [F.residencePermit(holder: 1)])
        let digestAfterFirst = try store.ledgerDigest()
        let second = try await authorAll(store, [F.residencePermit(holder: 2), F.revoke(first[0].state.id)], at: 1000)
        #expect(second.map(\.entry.body.seq) == [2, 3])
        #expect(second[0].entry.body.prev == first[0].entry.id)
        #expect(second[0].entry.body.context == VersionVector(["gd": 1]))
        #expect(second[1].entry.body.context == VersionVector(["gd": 2]))
        #expect(second[0].entry.body.hlc == HybridTimestamp(wallMilliseconds: F.now + 1000, logical: 0))
        #expect(try store.entryCount() == 3)
        #expect(try store.ledgerDigest() != digestAfterFirst)
        #expect(try store.license(first[0].state.id)?.status == .revoked)
    }

    @Test func author_shouldLetLaterEventsOfABatchSeeEarlierOnes() async throws {
        let store = try openStore()
        // The license id comes from the issue entry's id. Signing is deterministic and a
        // fresh store's first entry is stamped (now, 0), so the id can be computed first.
        let issue = F.drivingLicence(holder: 1)
        let predicted = Entry.sign(EntryBody(
            origin: "gd", seq: 1, prev: .zero, context: VersionVector(),
            hlc: HybridTimestamp(wallMilliseconds: F.now, logical: 0), keyID: F.signer.keyID, event: issue), with: F.key)
        let id = predicted.licenseID
        let authored = try await authorAll(store, [issue, F.suspend(id), .reinstate(.init(licenseID: id, reason: "")),
                                                   F.revoke(id)])
        #expect(authored[0].entry.bodyBytes == predicted.bodyBytes)
        #expect(authored.map(\.state.status) == [.active, .suspended, .active, .revoked])
        #expect(authored.map(\.state.eventCount) == [1, 2, 3, 4])
        let stored = try #require(try store.license(id))
        #expect(stored == authored[3].state)
        #expect(try store.entries(license: id).count == 4)
    }

    @Test func author_shouldNotSpendASeqOnRefusedEvents() async throws {
        let store = try openStore()
        let unknown = LicenseID("gd-999-00112233")!
        let results = try await author(store, [
            F.residencePermit(holder: 1),
            F.revoke(unknown),
            F.residencePermit(holder: 2),
        ])
        #expect(results.count == 3)
        let first = try results[0].get()
        #expect(results[1].failure == .rejected(.unknownLicense(unknown)))
        let third = try results[2].get()
        #expect(first.entry.body.seq == 1)
        #expect(third.entry.body.seq == 2)
        #expect(third.entry.body.prev == first.entry.id)
        #expect(try store.entryCount() == 2)
        #expect(try store.entries(license: unknown).isEmpty)
    }

    @Test func author_shouldRefuseRuleBreakingEventsAndStoreNothingForThem() async throws {
        let store = try openStore()
        let issued = try await authorAll(store, [F.residencePermit(holder: 1)])
        let id = issued[0].state.id
        let digest = try store.ledgerDigest()
        let results = try await author(store, [
            F.suspend(id, reason: " "), // a reason is required
            F.suspend(id, reason: "fraud\u{0}"), // text the store would cut short
            .reinstate(.init(licenseID: id, reason: "")), // not suspended
            .amend(.init(licenseID: id, set: [:], remove: [], reason: "")), // changes nothing
            .amend(.init(licenseID: id, set: ["colour": "red"], remove: [], reason: "")), // unknown attribute
            .renew(.init(licenseID: id, validUntil: CivilDate(iso: "2026-06-01")!, reason: "")), // not later
        ], at: 1000)
        #expect(results.map(\.failure) == [
            .invalid(.reasonRequired("suspend")),
            .invalid(.containsNUL(field: "reason")),
            .rejected(.notSuspended(id)),
            .rejected(.emptyAmendment(id)),
            .invalid(.unknownAttribute(type: "residence_permit", name: "colour")),
            .rejected(.renewalNotLater(license: id, current: CivilDate(iso: "2027-01-01")!,
                                       requested: CivilDate(iso: "2026-06-01")!)),
        ])
        #expect(try store.entryCount() == 1)
        #expect(try store.ledgerDigest() == digest)
        #expect(try store.license(id) == issued[0].state)
        #expect(try store.entries(license: id).count == 1)
    }

    @Test func author_shouldStoreNothingWhenEveryEventIsRefused() async throws {
        let store = try openStore()
        let digest = try store.ledgerDigest()
        let results = try await author(store, [F.revoke(LicenseID("gd-999-00112233")!)])
        #expect(results.map(\.failure) == [.rejected(.unknownLicense(LicenseID("gd-999-00112233")!))])
        #expect(try store.versionVector() == VersionVector())
        #expect(try store.ledgerDigest() == digest)
        let origins = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM origins") }
        #expect(origins == 0)
        // The next accepted event still gets seq 1.
        #expect(try await authorAll(store, [F.residencePermit(holder: 1)])[0].entry.body.seq == 1)
    }

    @Test func author_shouldAllowOneDrivingLicencePerHolder() async throws {
        let store = try openStore()
        let first = try await authorAll(store, [F.drivingLicence(holder: 1)])[0]
        // A second one for the same holder is refused, in a later batch and in the same batch.
        let refused = try await author(store, [F.drivingLicence(holder: 1), F.drivingLicence(holder: 2),
                                               F.drivingLicence(holder: 2)], at: 10)
        #expect(refused[0].failure == .rejected(.alreadyHoldsType(type: "driving_licence", existing: first.state.id)))
        let second = try refused[1].get()
        #expect(refused[2].failure == .rejected(.alreadyHoldsType(type: "driving_licence", existing: second.state.id)))
        // Types that are not once-per-holder are not limited.
        #expect(try await authorAll(store, [F.residencePermit(holder: 1), F.residencePermit(holder: 1)], at: 20).count == 2)
        // A suspended licence is still held.
        _ = try await authorAll(store, [F.suspend(first.state.id)], at: 30)
        #expect(try await author(store, [F.drivingLicence(holder: 1)], at: 40)[0].failure
            == .rejected(.alreadyHoldsType(type: "driving_licence", existing: first.state.id)))
        // Once revoked, the holder may be issued a new one.
        _ = try await authorAll(store, [F.revoke(first.state.id)], at: 50)
        #expect(try await authorAll(store, [F.drivingLicence(holder: 1)], at: 60).count == 1)
    }

    @Test func author_shouldAllowANewDrivingLicenceOnceTheOldOneExpired() async throws {
        let store = try openStore()
        _ = try await authorAll(store, [F.drivingLicence(holder: 1, validUntil: "2026-02-01")])
        // "today" is 2026-03-01: the first licence has expired.
        #expect(try await authorAll(store, [F.drivingLicence(holder: 1)], at: 10).count == 1)
    }

    // MARK: - Restart

    @Test func reopen_shouldKeepEveryEntryAndView() async throws {
        let licenseIDs: [LicenseID]
        let vv: VersionVector
        let digest: String
        let states: [LicenseState]
        let bodies: [[UInt8]]
        let lastHLC: HybridTimestamp
        do {
            let store = try openStore()
            let issued = try await authorAll(store, [F.residencePermit(holder: 1), F.drivingLicence(holder: 1),
                                                     F.residencePermit(holder: 2)])
            licenseIDs = issued.map(\.state.id)
            let later = try await authorAll(store, [F.suspend(licenseIDs[1]), F.revoke(licenseIDs[2])], at: 5000)
            lastHLC = later.last!.entry.body.hlc
            vv = try store.versionVector()
            digest = try store.ledgerDigest()
            states = try licenseIDs.map { try #require(try store.license($0)) }
            bodies = try store.entries(origin: "gd", after: 0, limit: 100).map(\.bodyBytes)
        }
        let reopened = try LedgerStore(path: ledgerPath, identity: F.gd)
        #expect(try reopened.versionVector() == vv)
        #expect(try reopened.entryCount() == 5)
        #expect(try reopened.ledgerDigest() == digest)
        #expect(try licenseIDs.map { try reopened.license($0) } == states)
        #expect(try reopened.entries(origin: "gd", after: 0, limit: 100).map(\.bodyBytes) == bodies)
        #expect(try reopened.synchronousMode() == 2)
        #expect(try LedgerVerifier.verify(reopened).isValid)
        // The clock resumes after the last stored timestamp even if the wall clock went back.
        let next = try await authorAll(reopened, [F.residencePermit(holder: 3)], at: 0)
        #expect(next[0].entry.body.seq == 6)
        #expect(next[0].entry.body.hlc > lastHLC)
    }

    // MARK: - Reading

    @Test func licensesOfHolder_shouldReturnAllOfThatHoldersLicensesOnlyOldestFirst() async throws {
        let store = try openStore()
        let issued = try await authorAll(store, [
            F.residencePermit(holder: 1, city: "Shenzhen"), F.residencePermit(holder: 2), F.drivingLicence(holder: 1),
        ])
        let later = try await authorAll(store, [F.residencePermit(holder: 1, city: "Guangzhou"), F.revoke(issued[0].state.id)],
                                        at: 1000)
        let mine = try store.licenses(holder: F.holderRef(1))
        #expect(mine.map(\.id) == [issued[0].state.id, issued[2].state.id, later[0].state.id])
        #expect(mine.allSatisfy { $0.holderRef == F.holderRef(1) })
        #expect(mine.first?.status == .revoked) // revoked licenses are still listed
        #expect(try store.licenses(holder: F.holderRef(2)).map(\.id) == [issued[1].state.id])
        #expect(try store.licenses(holder: F.holderRef(3)).isEmpty)
        // The holder's view never carries the number, only the masked form.
        #expect(mine.allSatisfy { $0.holderMasked == F.holder(1).masked && !$0.holderMasked.contains("19900307") })
    }

    @Test func entriesOfLicense_shouldReturnExactlyItsEntriesInOrder() async throws {
        let store = try openStore()
        let issued = try await authorAll(store, [F.residencePermit(holder: 1), F.residencePermit(holder: 2)])
        let id = issued[0].state.id
        let later = try await authorAll(store, [
            .amend(.init(licenseID: id, set: ["city": "Foshan"], remove: [], reason: "moved")),
            F.suspend(issued[1].state.id),
            F.suspend(id),
        ], at: 1000)
        let entries = try store.entries(license: id)
        #expect(entries.map(\.id) == [issued[0].entry.id, later[0].entry.id, later[2].entry.id])
        #expect(entries.allSatisfy { $0.licenseID == id })
        let folded = try #require(LicenseFold.fold(entries))
        #expect(try folded.state == store.license(id))
        #expect(folded.state.attributes["city"] == "Foshan")
        #expect(try store.license(LicenseID("gd-999-00112233")!) == nil)
    }

    @Test func ledgerDigest_shouldBeEqualForEqualLedgers() async throws {
        let other = directory.appendingPathComponent("other.sqlite").path
        let a = try openStore()
        let b = try LedgerStore(path: other, identity: F.gd)
        for store in [a, b] {
            _ = try await authorAll(store, [F.residencePermit(holder: 1), F.drivingLicence(holder: 2)])
        }
        #expect(try a.ledgerDigest() == b.ledgerDigest())
        _ = try await authorAll(b, [F.residencePermit(holder: 3)], at: 10)
        #expect(try a.ledgerDigest() != b.ledgerDigest())
    }

    // MARK: - Issuer keys

    @Test func registerIssuerKey_shouldBeIdempotentAndNeverRebindAKeyID() throws {
        let store = try openStore()
        try store.registerIssuerKey(keyID: F.signer.keyID, origin: "gd", publicKey: F.key.publicKey)
        let other = try SigningKey(seed: Array(32...63))
        #expect(throws: StoreError.self) {
            try store.registerIssuerKey(keyID: F.signer.keyID, origin: "gd", publicKey: other.publicKey)
        }
        #expect(throws: StoreError.self) {
            try store.registerIssuerKey(keyID: F.signer.keyID, origin: "bj", publicKey: F.key.publicKey)
        }
        let keys = try store.issuerKeys()
        #expect(keys.count == 1)
        #expect(keys[F.signer.keyID]?.publicKey == F.key.publicKey)
        #expect(keys[F.signer.keyID]?.origin == "gd")
    }
}

extension Result {
    /// The error of a failed result, nil on success.
    var failure: Failure? {
        if case let .failure(error) = self { return error }
        return nil
    }
}
