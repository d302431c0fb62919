import Foundation
import GRDB
import LicenseCore
@testable import LicenseStore
import Testing

private typealias F = StoreFixtures

/// Appending entries signed elsewhere: verified before stored, idempotent, ordered.
@Suite final class AppendTests: TemporaryDirectoryTest, @unchecked Sendable {
    /// A node "bj" that trusts gd's issuer key, in its own directory.
    private func openReceiver() throws -> LedgerStore {
        let path = directory.appendingPathComponent("receiver.sqlite").path
        let store = try LedgerStore(path: path, identity: LedgerStore.Identity(nodeID: "bj", province: "110000"))
        try store.registerIssuerKey(keyID: F.signer.keyID, origin: "gd", publicKey: F.key.publicKey)
        return store
    }

    /// "sh", a second origin, whose key `receiver` trusts.
    private func trustSh(_ receiver: LedgerStore) throws -> IssuerSigner {
        let sh = IssuerSigner(origin: "sh", key: try SigningKey(seed: Array(repeating: 9, count: 32)))
        try receiver.registerIssuerKey(keyID: sh.keyID, origin: "sh", publicKey: sh.key.publicKey)
        return sh
    }

    /// gd's ledger: two licenses, then a suspension of the first.
    private func authoredChain() async throws -> (store: LedgerStore, entries: [Entry]) {
        let author = try openStore()
        let issued = try await authorAll(author, [F.residencePermit(holder: 1), F.residencePermit(holder: 2)])
        _ = try await authorAll(author, [F.suspend(issued[0].state.id)], at: 1000)
        return (author, try author.entries(origin: "gd", after: 0, limit: 100))
    }

    @Test func append_aWholeChain_storesItAndBuildsTheSameViews() async throws {
        let (author, entries) = try await authoredChain()
        let receiver = try openReceiver()
        let outcomes = try await receiver.append(entries, physicalMilliseconds: F.now)
        #expect(outcomes == [.appended, .appended, .appended])
        #expect(try receiver.versionVector() == VersionVector(["gd": 3]))
        #expect(try receiver.ledgerDigest() == author.ledgerDigest())
        for holder in [1, 2] {
            #expect(try receiver.licenses(holder: F.holderRef(holder)) == author.licenses(holder: F.holderRef(holder)))
        }
        #expect(try receiver.licenses(holder: F.holderRef(1)).first?.status == .suspended)
        #expect(try LedgerVerifier.verify(receiver).isValid)
    }

    /// The vector is kept in memory between writes: every write that moves a head must
    /// show in the next read, whoever wrote it.
    @Test func versionVector_readBetweenWrites_showsEveryWrite() async throws {
        let (_, entries) = try await authoredChain()
        let receiver = try openReceiver()
        #expect(try receiver.versionVector() == VersionVector())
        _ = try await receiver.append(Array(entries.prefix(2)), physicalMilliseconds: F.now)
        #expect(try receiver.versionVector() == VersionVector(["gd": 2]))
        _ = try await receiver.append(Array(entries.prefix(2)), physicalMilliseconds: F.now)
        #expect(try receiver.versionVector() == VersionVector(["gd": 2]))
        _ = try await receiver.append(entries, physicalMilliseconds: F.now)
        #expect(try receiver.versionVector() == VersionVector(["gd": 3]))
        let signer = IssuerSigner(origin: "bj", key: F.key)
        try receiver.registerIssuerKey(keyID: signer.keyID, origin: "bj", publicKey: F.key.publicKey)
        _ = try await receiver.author([F.residencePermit(holder: 3)], signer: signer, catalog: F.catalog,
                                      physicalMilliseconds: F.now, today: F.today)
        #expect(try receiver.versionVector() == VersionVector(["gd": 3, "bj": 1]))
        _ = try await receiver.publishAgreement(.nationalDefault(province: "110000"), signer: signer, physicalMilliseconds: F.now)
        #expect(try receiver.versionVector() == VersionVector(["gd": 3, "bj": 2]))
    }

    @Test func append_sameEntriesTwice_isANoOp() async throws {
        let (_, entries) = try await authoredChain()
        let receiver = try openReceiver()
        _ = try await receiver.append(entries, physicalMilliseconds: F.now)
        let digest = try receiver.ledgerDigest()
        let again = try await receiver.append(entries, physicalMilliseconds: F.now)
        #expect(again == [.duplicate, .duplicate, .duplicate])
        #expect(try receiver.ledgerDigest() == digest)
        #expect(try receiver.entryCount() == 3)
    }

    @Test func append_gap_isRefusedAndStoresNothing() async throws {
        let (_, entries) = try await authoredChain()
        let receiver = try openReceiver()
        let outcomes = try await receiver.append([entries[1], entries[2]], physicalMilliseconds: F.now)
        #expect(outcomes == [.refused(.gap(origin: "gd", expected: 1, got: 2)), .refused(.gap(origin: "gd", expected: 1, got: 3))])
        #expect(try receiver.entryCount() == 0)
        #expect(try receiver.licenses(holder: F.holderRef(2)).isEmpty)
    }

    @Test func append_badSignature_isRefusedAndStoresNothing() async throws {
        let (_, entries) = try await authoredChain()
        var signature = entries[0].signature
        signature[10] ^= 0x01
        let forged = try Entry(bodyBytes: entries[0].bodyBytes, signature: signature)
        let receiver = try openReceiver()
        #expect(try await receiver.append([forged], physicalMilliseconds: F.now) == [.refused(.badSignature(origin: "gd", seq: 1))])
        #expect(try receiver.entryCount() == 0)
    }

    /// Batches a session appends together: one transaction, each batch's outcomes apart,
    /// and the same ledger as appending them one by one.
    @Test func severalBatches_appendTogether_withTheirOwnOutcomes() async throws {
        let (author, entries) = try await authoredChain()
        let receiver = try openReceiver()
        let batches = [try await receiver.checkSignatures([entries[0], entries[1]]),
                       try await receiver.checkSignatures([entries[0]]),
                       try await receiver.checkSignatures([entries[2]])]
        let outcomes = try await receiver.append(batches, physicalMilliseconds: F.now)
        #expect(outcomes == [[.appended, .appended], [.duplicate], [.appended]])
        #expect(try receiver.versionVector() == VersionVector(["gd": 3]))
        #expect(try receiver.ledgerDigest() == author.ledgerDigest())
        #expect(try receiver.stateDigest() == author.stateDigest())
        #expect(try LedgerVerifier.verify(receiver).isValid)
    }

    /// Batches every entry of which is among the newest held (a relayed copy) are answered
    /// from memory: no write transaction, so a writer holding the database up does not
    /// delay them.
    @Test func batchesHeldAlready_areAnsweredWithoutAWriteTransaction() async throws {
        let (_, entries) = try await authoredChain()
        let receiver = try openReceiver()
        _ = try await receiver.append(entries, physicalMilliseconds: F.now)
        var holding = Configuration()
        holding.allowsUnsafeTransactions = true
        let blocker = try DatabaseQueue(path: directory.appendingPathComponent("receiver.sqlite").path, configuration: holding)
        try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let batches = [try await receiver.checkSignatures([entries[0], entries[1]]), try await receiver.checkSignatures([entries[2]])]
        #expect(try await receiver.append(batches, physicalMilliseconds: F.now) == [[.duplicate, .duplicate], [.duplicate]])
        try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
    }

    /// A batch that blames its sender ends the run: what it holds before the bad entry is
    /// kept, and nothing of the batches after it is stored, even a valid entry of another
    /// origin. An entry its sender cannot be blamed for does not end it.
    @Test func severalBatches_aBadOneEndsTheRun() async throws {
        let (_, entries) = try await authoredChain()
        let receiver = try openReceiver()
        let sh = try trustSh(receiver)
        func first(_ signer: IssuerSigner, holder: Int) -> Entry {
            Entry.sign(EntryBody(origin: signer.origin, seq: 1, prev: .zero, context: VersionVector(),
                                 hlc: HybridTimestamp(wallMilliseconds: F.now, logical: 0), keyID: signer.keyID,
                                 event: F.residencePermit(holder: holder)), with: signer.key)
        }
        let shIssue = first(sh, holder: 5)
        // An origin whose key the receiver does not know: held back, not the sender's fault.
        let unknown = first(IssuerSigner(origin: "xj", key: try SigningKey(seed: Array(repeating: 4, count: 32))), holder: 6)
        var signature = entries[1].signature
        signature[10] ^= 0x01
        let forged = try Entry(bodyBytes: entries[1].bodyBytes, signature: signature)
        let outcomes = try await receiver.append([try await receiver.checkSignatures([unknown]),
                                                  try await receiver.checkSignatures([entries[0], forged]),
                                                  try await receiver.checkSignatures([shIssue])],
                                                 physicalMilliseconds: F.now)
        #expect(outcomes == [[.refused(.unknownIssuerKey(keyID: unknown.body.keyID, origin: "xj"))],
                             [.appended, .refused(.badSignature(origin: "gd", seq: 2))]])
        #expect(try receiver.versionVector() == VersionVector(["gd": 1]))
        #expect(try receiver.entryCount() == 1)
        #expect(try receiver.licenses(holder: F.holderRef(5)).isEmpty)
    }

    @Test func append_unknownIssuerKey_isRefused() async throws {
        let (_, entries) = try await authoredChain()
        let path = directory.appendingPathComponent("stranger.sqlite").path
        let stranger = try LedgerStore(path: path, identity: LedgerStore.Identity(nodeID: "sh", province: "310000"))
        let outcomes = try await stranger.append([entries[0]], physicalMilliseconds: F.now)
        #expect(outcomes == [.refused(.unknownIssuerKey(keyID: F.signer.keyID, origin: "gd"))])
        #expect(try stranger.entryCount() == 0)
    }

    @Test func append_keyOfAnotherOrigin_isRefused() async throws {
        // An entry claiming origin "sh" but naming gd's key: the key is not bound to "sh".
        let body = EntryBody(origin: "sh", seq: 1, prev: .zero, context: VersionVector(), hlc: .zero,
                             keyID: F.signer.keyID, event: F.residencePermit(holder: 3))
        let entry = Entry.sign(body, with: F.key)
        let receiver = try openReceiver()
        #expect(try await receiver.append([entry], physicalMilliseconds: F.now)
            == [.refused(.unknownIssuerKey(keyID: F.signer.keyID, origin: "sh"))])
    }

    @Test func append_wrongPrev_isRefused() async throws {
        let (_, entries) = try await authoredChain()
        let receiver = try openReceiver()
        _ = try await receiver.append([entries[0]], physicalMilliseconds: F.now)
        // A seq-2 entry that chains to nothing the receiver holds.
        let body = EntryBody(origin: "gd", seq: 2, prev: entries[2].id, context: VersionVector(["gd": 1]),
                             hlc: .zero, keyID: F.signer.keyID, event: F.residencePermit(holder: 4))
        let outcomes = try await receiver.append([Entry.sign(body, with: F.key)], physicalMilliseconds: F.now)
        #expect(outcomes == [.refused(.wrongPrev(origin: "gd", seq: 2))])
        #expect(try receiver.entryCount() == 1)
    }

    @Test func append_differentEntryAtAHeldPosition_isAConflict() async throws {
        let (_, entries) = try await authoredChain()
        let receiver = try openReceiver()
        _ = try await receiver.append([entries[0]], physicalMilliseconds: F.now)
        // gd signs a second, different seq 1.
        let body = EntryBody(origin: "gd", seq: 1, prev: .zero, context: VersionVector(), hlc: .zero,
                             keyID: F.signer.keyID, event: F.residencePermit(holder: 5))
        let outcomes = try await receiver.append([Entry.sign(body, with: F.key)], physicalMilliseconds: F.now)
        #expect(outcomes == [.refused(.conflict(origin: "gd", seq: 1))])
        #expect(try receiver.entries(origin: "gd", after: 0, limit: 10).map(\.id) == [entries[0].id])
    }

    /// The entries a peer's announced heads differ from, whether the held entry is among
    /// the newest kept in memory (just appended) or only in the ledger (a store reopened).
    @Test func divergentEntries_areTheHeldEntriesAtHeadsAnnouncedWithAnotherID() async throws {
        let (_, entries) = try await authoredChain()
        let path = directory.appendingPathComponent("receiver.sqlite").path
        var receiver: LedgerStore? = try openReceiver()
        #expect(try await receiver!.append(entries, physicalMilliseconds: F.now) == [.appended, .appended, .appended])
        let other = Entry.sign(EntryBody(origin: "gd", seq: 2, prev: entries[0].id, context: VersionVector(["gd": 1]), hlc: .zero,
                                         keyID: F.signer.keyID, event: F.residencePermit(holder: 9)), with: F.key)
        let atTwo = VersionVector(["gd": 2])
        for reopened in [false, true] {
            if reopened {
                receiver = nil
                receiver = try LedgerStore(path: path, identity: LedgerStore.Identity(nodeID: "bj", province: "110000"))
            }
            #expect(try receiver!.divergentEntries(atTwo, heads: ["gd": entries[1].id]).isEmpty, "reopened: \(reopened)")
            #expect(try receiver!.divergentEntries(atTwo, heads: ["gd": other.id]).map(\.id) == [entries[1].id],
                    "reopened: \(reopened)")
        }
        // Once the fork at seq 2 is proven, the proof explains the difference.
        #expect(try await receiver!.append([other], physicalMilliseconds: F.now) == [.refused(.conflict(origin: "gd", seq: 2))])
        #expect(try receiver!.divergentEntries(atTwo, heads: ["gd": other.id]).isEmpty)
    }

    /// What a new session sends (the lowest proof per origin) and what the simulator's
    /// checks read (the origins alone), against the full list of proofs.
    @Test func earliestEquivocations_areTheLowestProofOfEachOrigin() async throws {
        let (_, entries) = try await authoredChain()
        let receiver = try openReceiver()
        let sh = try trustSh(receiver)
        func fork(_ origin: String, _ signer: IssuerSigner, seq: UInt64, prev: EntryID, holder: Int) -> Entry {
            let context = seq > 1 ? VersionVector([origin: seq - 1]) : VersionVector()
            let body = EntryBody(origin: origin, seq: seq, prev: prev, context: context, hlc: .zero,
                                 keyID: signer.keyID, event: F.residencePermit(holder: holder))
            return Entry.sign(body, with: signer.key)
        }
        #expect(try await receiver.append(entries, physicalMilliseconds: F.now) == [.appended, .appended, .appended])
        let shFirst = fork("sh", sh, seq: 1, prev: .zero, holder: 20)
        #expect(try await receiver.append([shFirst], physicalMilliseconds: F.now) == [.appended])
        #expect(try receiver.earliestEquivocations().isEmpty)
        #expect(try receiver.equivocatingOrigins().isEmpty)
        // gd forks at seq 3, then at seq 1; sh at seq 1.
        for (entry, seq) in [(fork("gd", F.signer, seq: 3, prev: entries[1].id, holder: 21), UInt64(3)),
                             (fork("gd", F.signer, seq: 1, prev: .zero, holder: 22), 1)] {
            #expect(try await receiver.append([entry], physicalMilliseconds: F.now) == [.refused(.conflict(origin: "gd", seq: seq))])
        }
        let shSecond = fork("sh", sh, seq: 1, prev: .zero, holder: 23)
        #expect(try await receiver.append([shSecond], physicalMilliseconds: F.now) == [.refused(.conflict(origin: "sh", seq: 1))])

        let all = try receiver.equivocations()
        #expect(all.map { "\($0.origin)#\($0.seq)" } == ["gd#1", "gd#3", "sh#1"])
        let earliest = try receiver.earliestEquivocations()
        #expect(earliest.map { "\($0.origin)#\($0.seq)" } == ["gd#1", "sh#1"])
        #expect(earliest.map(\.held.id) == [entries[0].id, shFirst.id])
        #expect(earliest.map(\.other.id) == [all[0].other.id, shSecond.id])
        #expect(try receiver.equivocatingOrigins() == ["gd", "sh"])
    }

    @Test func append_eventBeforeItsLicense_waitsAsAnOrphanAndIsFoldedWhenTheIssueArrives() async throws {
        let (_, entries) = try await authoredChain()
        let licenseID = entries[0].licenseID
        // "sh" (trusted) writes a revoke of gd's license: signed and stored, but the fold
        // skips it because only the issuing origin may change a license.
        let receiver = try openReceiver()
        let sh = try trustSh(receiver)
        let body = EntryBody(origin: "sh", seq: 1, prev: .zero, context: VersionVector(["gd": 1]),
                             hlc: HybridTimestamp(wallMilliseconds: F.now + 5000, logical: 0), keyID: sh.keyID,
                             event: F.revoke(licenseID))
        let revoke = Entry.sign(body, with: sh.key)
        #expect(try await receiver.append([revoke], physicalMilliseconds: F.now) == [.appended])
        #expect(try receiver.license(licenseID) == nil)
        #expect(try await receiver.append(entries, physicalMilliseconds: F.now) == [.appended, .appended, .appended])
        let state = try #require(try receiver.license(licenseID))
        #expect(state.status == .suspended)
        #expect(state.eventCount == 2)
        #expect(try receiver.entries(license: licenseID).count == 3)
        #expect(try LedgerVerifier.verify(receiver).isValid)
    }

    /// The same, with the event and its license in one batch (one transaction): the issue
    /// finds the event that started waiting earlier in that transaction.
    @Test func append_eventBeforeItsLicenseInTheSameBatch_isFoldedWithIt() async throws {
        let (author, entries) = try await authoredChain()
        let licenseID = entries[0].licenseID
        let receiver = try openReceiver()
        let sh = try trustSh(receiver)
        // sh's own issue first: the transaction learns then that nothing waits.
        let shIssue = Entry.sign(EntryBody(origin: "sh", seq: 1, prev: .zero, context: VersionVector(),
                                           hlc: HybridTimestamp(wallMilliseconds: F.now, logical: 0), keyID: sh.keyID,
                                           event: F.residencePermit(holder: 30)), with: sh.key)
        let body = EntryBody(origin: "sh", seq: 2, prev: shIssue.id, context: VersionVector(["gd": 1, "sh": 1]),
                             hlc: HybridTimestamp(wallMilliseconds: F.now + 5000, logical: 0), keyID: sh.keyID,
                             event: F.revoke(licenseID))
        let revoke = Entry.sign(body, with: sh.key)
        #expect(try await receiver.append([shIssue, revoke] + entries, physicalMilliseconds: F.now)
            == [.appended, .appended, .appended, .appended, .appended])
        let state = try #require(try receiver.license(licenseID))
        #expect(state.status == .suspended)
        #expect(try receiver.entries(license: licenseID).count == 3)
        #expect(try receiver.license(licenseID) == author.license(licenseID))
        #expect(try LedgerVerifier.verify(receiver).isValid)
    }

    @Test func append_farFutureClock_doesNotDragTheLocalClock() async throws {
        let receiver = try openReceiver()
        let future = F.now + LedgerStore.clockSkewToleratedMilliseconds + 60_000
        let body = EntryBody(origin: "gd", seq: 1, prev: .zero, context: VersionVector(),
                             hlc: HybridTimestamp(wallMilliseconds: future, logical: 0), keyID: F.signer.keyID,
                             event: F.residencePermit(holder: 6))
        #expect(try await receiver.append([Entry.sign(body, with: F.key)], physicalMilliseconds: F.now) == [.appended])
        #expect(receiver.clock.withLock { $0.last.wallMilliseconds } < future)
        // Nor after a restart: the clock is seeded only from heads within the skew.
        let reopened = try LedgerStore(path: receiver.path, physicalMilliseconds: F.now)
        #expect(reopened.clock.withLock { $0.last.wallMilliseconds } < future)
    }

    @Test func everyAuthoredEntry_decodesAsAReceivedOne() async throws {
        let store = try openStore()
        let issued = try await authorAll(store, [F.drivingLicence(holder: 7)])
        let id = issued[0].state.id
        _ = try await authorAll(store, [
            .amend(.init(licenseID: id, set: ["licence_class": "B2"], remove: ["restrictions", "restrictions"], reason: "")),
            F.suspend(id),
        ], at: 10)
        for entry in try store.entries(origin: "gd", after: 0, limit: 10) {
            #expect(throws: Never.self) { _ = try Entry(bodyBytes: entry.bodyBytes, signature: entry.signature) }
        }
        #expect(try LedgerVerifier.verify(store).isValid)
    }
}

@Suite final class CertificateStoreTests: TemporaryDirectoryTest, @unchecked Sendable {
    @Test func addedCertificate_makesItsKeyTrustedForAppends() async throws {
        let root = try SigningKey(seed: Array(repeating: 1, count: 32))
        let author = try openStore()
        _ = try await authorAll(author, [F.residencePermit(holder: 1)])
        let entries = try author.entries(origin: "gd", after: 0, limit: 10)
        let path = directory.appendingPathComponent("receiver.sqlite").path
        let receiver = try LedgerStore(path: path, identity: LedgerStore.Identity(nodeID: "sh", province: "310000"))
        #expect(try await receiver.append(entries, physicalMilliseconds: F.now)
            == [.refused(.unknownIssuerKey(keyID: F.signer.keyID, origin: "gd"))])
        let certificate = IssuerCertificate.issue(.init(
            nodeID: "gd", province: "440000", publicKey: F.key.publicKey, notBeforeMilliseconds: 0,
            notAfterMilliseconds: F.now * 2, licenseTypes: ["residence_permit"], rootKeyID: RootKeyID.derive(root.publicKey)),
            root: root)
        #expect(try receiver.addCertificate(certificate))
        #expect(try !receiver.addCertificate(certificate))
        #expect(try await receiver.append(entries, physicalMilliseconds: F.now) == [.appended])
        #expect(try receiver.certificates(root: root.publicKey) == [certificate])
    }
}
