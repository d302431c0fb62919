import Foundation
import LicenseCore
import LicenseStore
@testable import LicenseSync
import LicenseTransport
import Testing

@Suite final class SyncSessionTests: @unchecked Sendable {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lx-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    func nodes(_ names: [(String, String)]) throws -> [TestNode] {
        let nodes = try names.map { try TestNode($0.0, province: $0.1, directory: directory) }
        for a in nodes { for b in nodes where a !== b { try a.trust(b) } }
        return nodes
    }

    @Test func twoNodes_exchangeWhatTheOtherLacks_andConverge() async throws {
        let n = try nodes([("gd", "440000"), ("sh", "310000")])
        try await n[0].issue(50)
        try await n[1].issue(20)
        let outcome = try await SyncHarness.run(dialer: n[0], acceptor: n[1])
        #expect(outcome.dialer.closedBecause == nil && outcome.acceptor.closedBecause == nil)
        #expect(try n[0].store.versionVector() == VersionVector(["gd": 50, "sh": 20]))
        #expect(try n[0].store.ledgerDigest() == n[1].store.ledgerDigest())
        #expect(try LedgerVerifier.verify(n[1].store).isValid)
        // Flow control: never more unacknowledged batches than agreed.
        #expect(outcome.maxInFlight <= 3)
        // Nothing is sent twice, and nothing goes back to where it came from.
        let sentByDialer = outcome.framesSent["dialer", default: []].flatMap { frame -> [StoredEntry] in
            if case let .entryBytes(_, e) = frame { e } else { [] }
        }
        #expect(sentByDialer.count == 50)
        #expect(sentByDialer.allSatisfy { $0.origin == "gd" })
    }

    @Test func acceptorSpeaksFirst_dialerWaitsForItsHello() {
        var dialer = SyncSession(role: .dialer, configuration: .init(nodeID: "gd", province: "440000"))
        var acceptor = SyncSession(role: .acceptor, configuration: .init(nodeID: "sh", province: "310000"))
        #expect(dialer.handle(.connected(vector: VersionVector(), nowMilliseconds: 0)).isEmpty)
        let greeting = acceptor.handle(.connected(vector: VersionVector(), nowMilliseconds: 0))
        guard case let .send(.hello(hello))? = greeting.first else {
            Issue.record("acceptor did not send its hello first")
            return
        }
        let answer = dialer.handle(.received(.hello(hello), nowMilliseconds: 0))
        #expect(answer.first.map { if case .send(.hello) = $0 { true } else { false } } == true)
    }

    @Test func lineTopology_relaysEveryOrigin() async throws {
        let n = try nodes([("gd", "440000"), ("bj", "110000"), ("sh", "310000")])
        try await n[0].issue(30)
        try await n[2].issue(10)
        // gd – bj – sh: gd and sh never connect.
        _ = try await SyncHarness.run(dialer: n[0], acceptor: n[1])
        _ = try await SyncHarness.run(dialer: n[2], acceptor: n[1])
        _ = try await SyncHarness.run(dialer: n[0], acceptor: n[1])
        let expected = VersionVector(["gd": 30, "sh": 10])
        for node in n { #expect(try node.store.versionVector() == expected) }
        #expect(try n[0].store.ledgerDigest() == n[2].store.ledgerDigest())
    }

    @Test func forgedEntry_isRefused_peerGetsAnErrorFrame_nothingStored() async throws {
        let n = try nodes([("gd", "440000"), ("sh", "310000")])
        try await n[0].issue(5)
        let outcome = try await SyncHarness.run(dialer: n[0], acceptor: n[1]) { side, frame in
            guard side == .dialer, case let .entryBytes(batch, entries) = frame else { return frame }
            var signature = entries[0].signature
            signature[0] ^= 0xff
            let forged = StoredEntry(origin: entries[0].origin, seq: entries[0].seq, bodyBytes: entries[0].bodyBytes,
                                     signature: signature)
            return .entryBytes(batch: batch, [forged] + entries.dropFirst())
        }
        #expect(outcome.acceptor.closedBecause == .refusedEntry(code: "bad_signature", detail: "entry gd#1 has an invalid signature"))
        #expect(outcome.framesSent["acceptor", default: []].contains { if case .error(code: "bad_signature", _) = $0 { true } else { false } })
        #expect(outcome.dialer.closedBecause?.code == "peer_bad_signature")
        #expect(try n[1].store.entryCount() == 0)
    }

    @Test func wrongPeerIdentity_isRefused() async throws {
        let n = try nodes([("gd", "440000"), ("sh", "310000")])
        let dialer = SyncSession(role: .dialer, configuration: n[0].configuration(expecting: "bj"))
        let outcome = try await SyncHarness.run(dialer: n[0], dialerSession: dialer, acceptor: n[1])
        #expect(outcome.dialer.closedBecause == .wrongPeer(expected: "bj", got: "sh"))
        #expect(outcome.acceptor.closedBecause?.code == "peer_wrong_peer")
    }

    @Test func selfConnection_isRefused() {
        var a = SyncSession(role: .dialer, configuration: .init(nodeID: "gd", province: "440000"))
        _ = a.handle(.connected(vector: VersionVector(), nowMilliseconds: 0))
        let hello = SyncFrame.Hello(nodeID: "gd", province: "440000", batchEntriesMax: 1, batchesInFlightMax: 1)
        _ = a.handle(.received(.hello(hello), nowMilliseconds: 0))
        #expect(a.closedBecause == .selfConnection)
    }

    @Test func frameBeforeHello_isAProtocolError() {
        var a = SyncSession(role: .acceptor, configuration: .init(nodeID: "gd", province: "440000"))
        _ = a.handle(.connected(vector: VersionVector(), nowMilliseconds: 0))
        let actions = a.handle(.received(.vector(VersionVector()), nowMilliseconds: 0))
        #expect(a.closedBecause == .expectedHello(got: "vector"))
        #expect(actions.first == .send(.error(code: "expected_hello", message: "expected a hello frame first, got vector")))
    }

    @Test func batchBeyondTheAgreedLimits_isRefused() throws {
        var a = SyncSession(role: .acceptor, configuration: { var c = SyncSession.Configuration(nodeID: "sh", province: "310000"); c.batchEntriesMax = 1; c.batchesInFlightMax = 1; return c }())
        _ = a.handle(.connected(vector: VersionVector(), nowMilliseconds: 0))
        _ = a.handle(.received(.hello(.init(nodeID: "gd", province: "440000", batchEntriesMax: 1, batchesInFlightMax: 1)), nowMilliseconds: 0))
        _ = a.handle(.received(.vector(VersionVector()), nowMilliseconds: 0))
        let key = try SigningKey(seed: Array(0...31))
        let signer = IssuerSigner(origin: "gd", key: key)
        func entry(_ seq: UInt64, prev: EntryID) -> Entry {
            let id = try! ResidentID("11010519491231002X", today: CivilDate(year: 2026, month: 1, day: 1)!)
            return Entry.sign(EntryBody(origin: "gd", seq: seq, prev: prev, context: VersionVector(["gd": seq - 1]), hlc: .zero,
                                        keyID: signer.keyID, event: .issue(.init(licenseType: "residence_permit", province: "440000", holderRef: HolderRef(id: id, key: try! HolderKey(bytes: Array(64...95))), holderMasked: id.masked, attributes: [:], validFrom: CivilDate(year: 2026, month: 1, day: 1)!, validUntil: nil))), with: key)
        }
        let first = entry(1, prev: .zero)
        let second = entry(2, prev: first.id)
        var big = a
        _ = big.handle(.received(.entries(batch: 1, [first, second]), nowMilliseconds: 0))
        #expect(big.closedBecause == .batchTooLarge(entries: 2, limit: 1))
        #expect(a.handle(.received(.entries(batch: 1, [first]), nowMilliseconds: 0)) == [.append([.init(number: 1, entries: [first])])])
        _ = a.handle(.received(.entries(batch: 2, [second]), nowMilliseconds: 0))
        #expect(a.closedBecause == .tooManyBatchesInFlight(limit: 1))
    }

    /// Batches that arrive while one is appended have their signatures checked at once,
    /// and are then appended together, at most half the window at a time; each is
    /// acknowledged, in order, once its append is reported.
    @Test func batchesWaitingBehindAnAppend_areAppendedTogether_halfTheWindowAtATime() throws {
        var configuration = SyncSession.Configuration(nodeID: "sh", province: "310000")
        configuration.batchesInFlightMax = 8
        var a = SyncSession(role: .acceptor, configuration: configuration)
        #expect(a.appendGroupMax == 4)
        _ = a.handle(.connected(vector: VersionVector(), nowMilliseconds: 0))
        _ = a.handle(.received(.hello(.init(nodeID: "gd", province: "440000", batchEntriesMax: 8, batchesInFlightMax: 8)),
                               nowMilliseconds: 0))
        _ = a.handle(.received(.vector(VersionVector()), nowMilliseconds: 0))
        let key = try SigningKey(seed: Array(0...31))
        let signer = IssuerSigner(origin: "gd", key: key)
        let id = try ResidentID("11010519491231002X", today: CivilDate(year: 2026, month: 1, day: 1)!)
        var entries: [Entry] = []
        for seq in UInt64(1)...7 {
            let body = EntryBody(origin: "gd", seq: seq, prev: entries.last?.id ?? .zero, context: VersionVector(["gd": seq - 1]),
                                 hlc: .zero, keyID: signer.keyID,
                                 event: .issue(.init(licenseType: "residence_permit", province: "440000",
                                                     holderRef: HolderRef(id: id, key: try HolderKey(bytes: Array(64...95))),
                                                     holderMasked: id.masked, attributes: [:],
                                                     validFrom: CivilDate(year: 2026, month: 1, day: 1)!, validUntil: nil)))
            entries.append(Entry.sign(body, with: key))
        }
        func batch(_ number: UInt64) -> SyncSession.Batch { .init(number: number, entries: [entries[Int(number) - 1]]) }
        #expect(a.handle(.received(.entries(batch: 1, batch(1).entries), nowMilliseconds: 0)) == [.append([batch(1)])])
        for number in UInt64(2)...7 {
            #expect(a.handle(.received(.entries(batch: number, batch(number).entries), nowMilliseconds: 0))
                    == [.checkSignatures(batch: number, batch(number).entries)])
        }
        func vector(_ seq: UInt64) -> VersionVector { VersionVector(["gd": seq]) }
        #expect(a.handle(.appended(batch: 1, .stored(vector: vector(1))))
                == [.send(.ack(batch: 1, vector(1))), .append([batch(2), batch(3), batch(4), batch(5)])])
        for number in UInt64(2)...4 {
            #expect(a.handle(.appended(batch: number, .stored(vector: vector(5)))) == [.send(.ack(batch: number, vector(5)))])
        }
        #expect(a.handle(.appended(batch: 5, .stored(vector: vector(5))))
                == [.send(.ack(batch: 5, vector(5))), .append([batch(6), batch(7)])])
        // Two batches are being appended: six more fit the window, and the seventh does not.
        for number in UInt64(8)...13 {
            #expect(a.handle(.received(.entries(batch: number, [entries[6]]), nowMilliseconds: 0))
                    == [.checkSignatures(batch: number, [entries[6]])])
        }
        _ = a.handle(.received(.entries(batch: 14, [entries[6]]), nowMilliseconds: 0))
        #expect(a.closedBecause == .tooManyBatchesInFlight(limit: 8))
    }

    /// A session that has seen the peer's Hello, with `vector` as what it holds.
    func established(holding vector: VersionVector = VersionVector(["gd": 2])) -> SyncSession {
        var a = SyncSession(role: .acceptor, configuration: .init(nodeID: "sh", province: "310000"))
        _ = a.handle(.connected(vector: vector, nowMilliseconds: 0))
        _ = a.handle(.received(.hello(.init(nodeID: "gd", province: "440000", batchEntriesMax: 8, batchesInFlightMax: 4)),
                               nowMilliseconds: 0))
        return a
    }

    @Test func reusedBatchNumber_isAProtocolError() throws {
        var a = established(holding: VersionVector())
        _ = a.handle(.received(.vector(VersionVector()), nowMilliseconds: 0))
        let key = try SigningKey(seed: Array(0...31))
        let id = try ResidentID("11010519491231002X", today: CivilDate(year: 2026, month: 1, day: 1)!)
        let body = EntryBody(origin: "gd", seq: 1, prev: .zero, context: VersionVector(), hlc: .zero,
                             keyID: IssuerSigner(origin: "gd", key: key).keyID,
                             event: .issue(.init(licenseType: "residence_permit", province: "440000",
                                                 holderRef: HolderRef(id: id, key: try HolderKey(bytes: Array(64...95))),
                                                 holderMasked: id.masked, attributes: [:],
                                                 validFrom: CivilDate(year: 2026, month: 1, day: 1)!, validUntil: nil)))
        let entry = Entry.sign(body, with: key)
        #expect(a.handle(.received(.entries(batch: 7, [entry]), nowMilliseconds: 0)) == [.append([.init(number: 7, entries: [entry])])])
        _ = a.handle(.received(.entries(batch: 7, [entry]), nowMilliseconds: 0))
        #expect(a.closedBecause == .malformedFrame("batch 7 is already waiting to be appended"))
    }

    /// Announced heads are compared before any batch goes out (evidence of a fork must
    /// reach the peer before entries that would not chain to its branch), and an origin's
    /// head at most once per comparison period, whatever the peer announces.
    @Test func headComparison_comesBeforeBatches_andIsRateLimited() throws {
        var a = established()
        let made = try EntryID(bytes: Array(repeating: 9, count: 32))
        let first = a.handle(.received(.vector(VersionVector(["gd": 1]), heads: ["gd": made]), nowMilliseconds: 0))
        #expect(first == [.compareHeads(VersionVector(["gd": 1]), heads: ["gd": made])])
        let after = a.handle(.headsCompared(divergent: []))
        #expect(after.contains { if case .readEntries(origin: "gd", after: 1, _, _) = $0 { true } else { false } })
        let other = try EntryID(bytes: Array(repeating: 8, count: 32))
        let soon = a.handle(.received(.vector(VersionVector(["gd": 1]), heads: ["gd": other]), nowMilliseconds: 5_000))
        #expect(!soon.contains { if case .compareHeads = $0 { true } else { false } })
        let later = a.handle(.received(.vector(VersionVector(["gd": 1]), heads: ["gd": other]), nowMilliseconds: 10_000))
        #expect(later.contains { if case .compareHeads = $0 { true } else { false } })
    }

    @Test func keepaliveAndIdleTimeout_followTheTimeInEvents() {
        var a = SyncSession(role: .acceptor, configuration: .init(nodeID: "gd", province: "440000"))
        _ = a.handle(.connected(vector: VersionVector(), nowMilliseconds: 1_000))
        #expect(a.handle(.tick(nowMilliseconds: 2_000)).isEmpty)
        #expect(a.handle(.tick(nowMilliseconds: 16_000)) == [.send(.ping(1))])
        #expect(a.handle(.tick(nowMilliseconds: 20_000)).isEmpty)
        let closing = a.handle(.tick(nowMilliseconds: 61_000))
        #expect(a.closedBecause == .idleTimeout(milliseconds: 60_000))
        #expect(closing.last == .close(.idleTimeout(milliseconds: 60_000)))
    }

    @Test func newLocalEntries_arePushedToAConnectedPeer() async throws {
        let n = try nodes([("gd", "440000"), ("sh", "310000")])
        var outcome = try await SyncHarness.run(dialer: n[0], acceptor: n[1])
        try await n[0].issue(3, first: 100)
        let actions = outcome.dialer.handle(.localVectorChanged(try n[0].store.versionVector()))
        #expect(actions == [.readEntries(origin: "gd", after: 0, limit: 16, bytesMax: outcome.dialer.configuration.batchBytesMax)])
    }
}

@Suite final class EquivocationTests: @unchecked Sendable {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lx-equivocation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// gd signs two different histories (two stores with gd's key). A node holding one
    /// that receives the other keeps the proof, flags gd, holds back gd's later entries,
    /// and is not told to blame the peer that relayed them.
    @Test func forkedOrigin_isFlaggedWithProof_andLaterEntriesAreHeldBack() async throws {
        for sub in ["a", "b"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let gdA = try TestNode("gd", province: "440000", directory: directory.appendingPathComponent("a"))
        let gdB = try TestNode("gd", province: "440000", directory: directory.appendingPathComponent("b"))
        let bj = try TestNode("bj", province: "110000", directory: directory)
        try bj.trust(gdA)
        try await gdA.issue(2, first: 0)
        try await gdB.issue(4, first: 500)
        _ = try await SyncHarness.run(dialer: gdA, acceptor: bj)
        let other = try gdB.store.entries(origin: "gd", after: 0, limit: 10)
        let outcomes = try await bj.store.append(other, physicalMilliseconds: TestNode.now)
        #expect(outcomes == [.refused(.conflict(origin: "gd", seq: 1)), .refused(.conflict(origin: "gd", seq: 2)),
                             .refused(.equivocatingOrigin("gd")), .refused(.equivocatingOrigin("gd"))])
        let proofs = try bj.store.equivocations()
        #expect(proofs.map(\.seq) == [1, 2])
        #expect(proofs.allSatisfy { $0.held.id != $0.other.id && $0.held.body.seq == $0.other.body.seq })
        #expect(try bj.store.versionVector()["gd"] == 2)
        #expect(AppendMapping.result(outcomes, vector: try bj.store.versionVector())
            == .heldBack(origin: "gd", vector: try bj.store.versionVector()))
    }

    /// gd signs two branches and hands each to a different node (bj, zj).
    func forkedOrigin(length: Int, otherLength: Int) async throws -> (a: [Entry], b: [Entry], bj: TestNode, zj: TestNode) {
        for sub in ["a", "b"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let gdA = try TestNode("gd", province: "440000", directory: directory.appendingPathComponent("a"))
        let gdB = try TestNode("gd", province: "440000", directory: directory.appendingPathComponent("b"))
        let bj = try TestNode("bj", province: "110000", directory: directory)
        let zj = try TestNode("zj", province: "330000", directory: directory)
        for node in [bj, zj] {
            try node.trust(gdA)
            try node.trust(node === bj ? zj : bj)
        }
        try await gdA.issue(length, first: 0)
        try await gdB.issue(otherLength, first: 500)
        _ = try await SyncHarness.run(dialer: gdA, acceptor: bj)
        _ = try await SyncHarness.run(dialer: gdB, acceptor: zj)
        return (try gdA.store.entries(origin: "gd", after: 0, limit: 100), try gdB.store.entries(origin: "gd", after: 0, limit: 100),
                bj, zj)
    }

    /// Two branches of equal length give equal vectors: only the heads tell them apart.
    /// Each side sends its head entry as evidence; each then holds the proof.
    @Test func equalLengthFork_isFoundByComparingHeads_andBothSidesKeepTheProof() async throws {
        let fork = try await forkedOrigin(length: 3, otherLength: 3)
        #expect(try fork.bj.store.versionVector() == fork.zj.store.versionVector())
        let outcome = try await SyncHarness.run(dialer: fork.bj, acceptor: fork.zj)
        #expect(outcome.dialer.closedBecause == nil && outcome.acceptor.closedBecause == nil)
        for node in [fork.bj, fork.zj] {
            let proofs = try node.store.equivocations()
            #expect(proofs.map(\.seq) == [3])
            #expect(Set(proofs.flatMap(\.entries).map(\.id)) == [fork.a[2].id, fork.b[2].id])
        }
        #expect(outcome.evidence.values.flatMap { $0 }.contains { if case .recorded = $0 { true } else { false } })
        // Once both hold the proof, the differing heads are explained: later sessions send
        // no evidence about them again.
        let again = try await SyncHarness.run(dialer: fork.bj, acceptor: fork.zj)
        #expect(again.framesSent.values.flatMap { $0 }.allSatisfy { $0.kind != "equivocation" })
    }

    /// The control: the same history on both sides is no evidence of anything.
    @Test func equalHeads_sendNoEvidence() async throws {
        let fork = try await forkedOrigin(length: 3, otherLength: 3)
        let sh = try TestNode("sh", province: "310000", directory: directory)
        try sh.trust(fork.bj)
        try sh.store.registerIssuerKey(keyID: fork.a[0].body.keyID, origin: "gd",
                                       publicKey: try #require(fork.bj.store.issuerKeys()[fork.a[0].body.keyID]).publicKey)
        #expect(try await sh.store.append(fork.a, physicalMilliseconds: TestNode.now) == [.appended, .appended, .appended])
        let outcome = try await SyncHarness.run(dialer: fork.bj, acceptor: sh)
        #expect(outcome.framesSent.values.flatMap { $0 }.allSatisfy { $0.kind != "equivocation" })
        #expect(try sh.store.equivocations().isEmpty && fork.bj.store.equivocations().isEmpty)
    }

    /// A proof about entries this node never held flags the origin from the fork on:
    /// entries before it are still stored, entries from it on are held back.
    @Test func proofFromAPeer_flagsTheOriginFromTheForkOn() async throws {
        let fork = try await forkedOrigin(length: 3, otherLength: 3)
        let sh = try TestNode("sh", province: "310000", directory: directory)
        try sh.store.registerIssuerKey(keyID: fork.a[0].body.keyID, origin: "gd",
                                       publicKey: try #require(fork.bj.store.issuerKeys()[fork.a[0].body.keyID]).publicKey)
        let recorded = try await sh.store.recordEvidence([fork.a[1], fork.b[1]], physicalMilliseconds: TestNode.now)
        guard case let .recorded(proof) = recorded else { Issue.record("not recorded: \(recorded)"); return }
        #expect(proof.seq == 2 && proof.held.id == fork.a[1].id && proof.other.id == fork.b[1].id)
        #expect(try await sh.store.recordEvidence([fork.b[1], fork.a[1]], physicalMilliseconds: TestNode.now) == .known)
        #expect(try await sh.store.append(fork.a, physicalMilliseconds: TestNode.now)
            == [.appended, .refused(.equivocatingOrigin("gd")), .refused(.equivocatingOrigin("gd"))])
        #expect(try sh.store.equivocations() == [proof])
    }

    @Test func evidenceWithABadSignature_isRefused_andNothingIsStored() async throws {
        let fork = try await forkedOrigin(length: 2, otherLength: 2)
        var signature = fork.b[1].signature
        signature[5] ^= 0x01
        let forged = try Entry(bodyBytes: fork.b[1].bodyBytes, signature: signature)
        #expect(try await fork.bj.store.recordEvidence([forged], physicalMilliseconds: TestNode.now)
            == .refused(.badSignature(origin: "gd", seq: 2)))
        #expect(try fork.bj.store.equivocations().isEmpty)
        #expect(AppendMapping.result(.refused(.badSignature(origin: "gd", seq: 2)))
            == .refused(code: "bad_signature", detail: "entry gd#2 has an invalid signature"))
    }

    @Test func evidenceSignedByAnUnknownKey_provesNothing_andIsNotThePeersFault() async throws {
        let fork = try await forkedOrigin(length: 2, otherLength: 2)
        let sh = try TestNode("sh", province: "310000", directory: directory)
        let outcome = try await sh.store.recordEvidence([fork.a[1], fork.b[1]], physicalMilliseconds: TestNode.now)
        #expect(outcome == .unverifiable(keyID: fork.a[1].body.keyID, origin: "gd"))
        #expect(AppendMapping.result(outcome) == .accepted)
        #expect(try sh.store.equivocations().isEmpty)
    }

    @Test func evidenceThatMatchesTheHeldEntry_provesNothing() async throws {
        let fork = try await forkedOrigin(length: 2, otherLength: 2)
        #expect(try await fork.bj.store.recordEvidence([fork.a[1]], physicalMilliseconds: TestNode.now) == .consistent)
        #expect(try fork.bj.store.equivocations().isEmpty)
    }

    @Test func entriesOfAnUncertifiedOrigin_areHeldBack_notBlamedOnThePeer() {
        let vector = VersionVector(["bj": 1])
        #expect(AppendMapping.result([.refused(.unknownIssuerKey(keyID: "zj-00000000", origin: "zj"))], vector: vector)
            == .heldBack(origin: "zj", vector: vector))
        #expect(AppendMapping.result([.appended, .refused(.badSignature(origin: "zj", seq: 2))], vector: vector)
            == .refused(code: "bad_signature", detail: "entry zj#2 has an invalid signature"))
    }

    @Test func heldBackBatch_isAcknowledged_andTheSessionGoesOn() {
        var session = SyncSession(role: .acceptor, configuration: .init(nodeID: "bj", province: "110000"))
        _ = session.handle(.connected(vector: VersionVector(), nowMilliseconds: 0))
        _ = session.handle(.received(.hello(.init(nodeID: "sh", province: "310000", batchEntriesMax: 8,
                                                 batchesInFlightMax: 2)), nowMilliseconds: 0))
        _ = session.handle(.received(.vector(VersionVector()), nowMilliseconds: 0))
        let actions = session.handle(.appended(batch: 1, .heldBack(origin: "gd", vector: VersionVector(["gd": 2]))))
        #expect(actions.first == .send(.ack(batch: 1, VersionVector(["gd": 2]))))
        #expect(!actions.contains { if case .close = $0 { true } else { false } })
        #expect(session.closedBecause == nil)
    }
}
