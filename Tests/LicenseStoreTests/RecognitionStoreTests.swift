import Foundation
import LicenseCore
@testable import LicenseStore
import Testing

/// What the ledger keeps for recognition: agreements as entries, revocations, and the
/// evidence and bundles it assembles.
@Suite final class RecognitionStoreTests: TemporaryDirectoryTest, @unchecked Sendable {
    typealias F = StoreFixtures
    let root = try! SigningKey(seed: Array(repeating: 1, count: 32))
    let bjKey = try! SigningKey(seed: Array(repeating: 2, count: 32))

    func certificate(_ node: String, _ province: String, _ key: SigningKey) -> IssuerCertificate {
        IssuerCertificate.issue(.init(nodeID: node, province: province, publicKey: key.publicKey, notBeforeMilliseconds: 0,
                                      notAfterMilliseconds: F.now * 2, licenseTypes: ["driving_licence", "residence_permit"],
                                      rootKeyID: RootKeyID.derive(root.publicKey)), root: root)
    }

    /// A receiving node "sh" that holds the certificates of gd and bj.
    func receiver() throws -> LedgerStore {
        let store = try LedgerStore(path: directory.appendingPathComponent("sh.sqlite").path,
                                    identity: LedgerStore.Identity(nodeID: "sh", province: "310000"))
        try store.addCertificate(certificate("gd", "440000", F.key))
        try store.addCertificate(certificate("bj", "110000", bjKey))
        return store
    }

    @Test func agreementsFromPeers_areStoredAsEntries_andTheLatestOfEachProvinceCounts() async throws {
        let bj = try LedgerStore(path: directory.appendingPathComponent("bj.sqlite").path,
                                 identity: LedgerStore.Identity(nodeID: "bj", province: "110000"))
        let signer = IssuerSigner(origin: "bj", key: bjKey)
        _ = try await bj.publishAgreement(RecognitionAgreement(province: "110000", terms: ["*": .all]), signer: signer,
                                          physicalMilliseconds: F.now)
        _ = try await bj.publishAgreement(RecognitionAgreement(province: "110000", terms: ["440000": .only(["residence_permit"])]),
                                          signer: signer, physicalMilliseconds: F.now + 1)
        let sh = try receiver()
        let entries = try bj.entries(origin: "bj", after: 0, limit: 10)
        #expect(try await sh.append(entries, physicalMilliseconds: F.now) == [.appended, .appended])
        let trust = try sh.trustSnapshot(root: root.publicKey)
        let (agreement, source) = trust.agreement(of: "110000")
        #expect(agreement.terms == ["440000": .only(["residence_permit"])])
        #expect(source == "agreement bj#2")
        #expect(trust.agreement(of: "310000").source.hasPrefix("national default"))
        // Agreements are ledger entries, not licenses.
        #expect(try sh.versionVector()["bj"] == 2)
        #expect(try LedgerVerifier.verify(sh).isValid)
    }

    @Test func anAgreementSignedForAnotherProvince_isRefused_andNothingIsStored() async throws {
        let gd = try openStore()
        // gd's key, certified for 440000, signs an "agreement of Beijing".
        _ = try await gd.publishAgreement(RecognitionAgreement(province: "110000", terms: ["*": .all]), signer: F.signer,
                                          physicalMilliseconds: F.now)
        let sh = try receiver()
        let outcomes = try await sh.append(try gd.entries(origin: "gd", after: 0, limit: 10), physicalMilliseconds: F.now)
        #expect(outcomes == [.refused(.agreementOfOtherProvince(origin: "gd", seq: 1, named: "110000", certified: "440000"))])
        #expect(try sh.versionVector()["gd"] == 0)
        #expect(try sh.trustSnapshot(root: root.publicKey).agreements.isEmpty)
    }

    @Test func revocations_areKeptOnce_andReachTheEvidence() async throws {
        let gd = try openStore()
        let issued = try await authorAll(gd, [F.drivingLicence(holder: 1)])[0]
        try gd.addCertificate(certificate("gd", "440000", F.key))
        let revocation = KeyRevocation.issue(.init(keyID: F.signer.keyID, compromisedAtMilliseconds: F.now - 1, reason: "",
                                                   rootKeyID: RootKeyID.derive(root.publicKey)), root: root)
        // Cached before the revocation arrives: the revocation must invalidate it.
        _ = try gd.trustSnapshot(root: root.publicKey)
        #expect(try gd.addRevocation(revocation))
        #expect(try !gd.addRevocation(revocation))
        #expect(try gd.revocations(root: root.publicKey) == [revocation])
        let evidence = try #require(try gd.recognitionEvidence(issued.state.id, decidingProvince: "110000",
                                                               root: root.publicKey, today: F.today))
        #expect(evidence.revocations[F.signer.keyID] == revocation.body)
        let decision = RecognitionRules.decide(evidence)
        #expect(decision.decision == .notRecognized)
        #expect(decision.checks.first { $0.name == "key_not_revoked" }?.outcome == .failed)
        #expect(try gd.recognitionEvidence(LicenseID(origin: "gd", seq: 99, issuingEntry: issued.entry.id),
                                           decidingProvince: "110000", root: root.publicKey, today: F.today) == nil)
    }

    @Test func evidenceOfALicenseWithLaterEvents_listsEveryEntry_issueFirst() async throws {
        let gd = try openStore()
        try gd.addCertificate(certificate("gd", "440000", F.key))
        let issued = try await authorAll(gd, [F.drivingLicence(holder: 1)])[0]
        _ = try await authorAll(gd, [F.suspend(issued.state.id)], at: 10)
        let evidence = try #require(try gd.recognitionEvidence(issued.state.id, decidingProvince: "440000",
                                                               root: root.publicKey, today: F.today))
        #expect(evidence.events.map(\.kind) == [.issue, .suspend])
        #expect(evidence.signatures == .verifiedWhenStored(entries: 2))
        #expect(RecognitionRules.decide(evidence).decision == .notRecognized)
    }

    @Test func theBundle_carriesTheLicenseTheKeysAndTheAgreements_andVerifiesOffline() async throws {
        let gd = try openStore()
        try gd.addCertificate(certificate("gd", "440000", F.key))
        try gd.addCertificate(certificate("bj", "110000", bjKey))
        let issued = try await authorAll(gd, [F.drivingLicence(holder: 1)])[0]
        _ = try await gd.publishAgreement(RecognitionAgreement(province: "440000", terms: ["*": .all]), signer: F.signer,
                                          physicalMilliseconds: F.now + 5)
        let bundle = try #require(try gd.bundle(issued.state.id, root: root.publicKey, exportedBy: "gd",
                                                exportedAtMilliseconds: F.now))
        #expect(bundle.entries == [issued.entry])
        #expect(bundle.certificates.map(\.body.nodeID) == ["gd"])
        #expect(bundle.agreements.count == 1)
        let read = try LicenseBundle(jsonData: bundle.jsonData(), root: root.publicKey)
        let (recognition, _) = try read.recognize(decidingProvince: "440000", today: F.today)
        #expect(recognition.decision == .recognized)
    }
}
