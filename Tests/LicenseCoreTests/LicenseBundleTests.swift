import Foundation
import LicenseCore
import Testing

/// Offline bundles: what an exporting node writes is decided the same way with the root
/// key alone, and every kind of tampering is refused or fails its check.
@Suite struct LicenseBundleTests {
    typealias F = Fixtures
    typealias R = RecognitionTests

    static func bundle(entries: [Entry]? = nil, certificates: [IssuerCertificate] = [R.certificate()],
                       agreements: [Entry] = [], equivocations: [[Entry]] = []) -> LicenseBundle {
        let license = R.license()
        return LicenseBundle(licenseID: license.state.id, exportedBy: "gd", exportedAtMilliseconds: R.february,
                             entries: entries ?? license.entries, certificates: certificates, revocations: [],
                             agreements: agreements, equivocations: equivocations)
    }

    static func read(_ bundle: LicenseBundle, root: PublicKey = R.root.publicKey) throws(BundleError) -> LicenseBundle {
        try LicenseBundle(jsonData: bundle.jsonData(), root: root)
    }

    @Test func anExportedBundle_isRecognizedOffline_withTheSameChecks() throws {
        let read = try Self.read(Self.bundle())
        #expect(read == Self.bundle())
        let (recognition, state) = try read.recognize(decidingProvince: "110000", today: F.today)
        #expect(recognition.decision == .recognized)
        #expect(recognition.checks.map(\.name) == Recognition.checkNames)
        #expect(state.id == R.license().state.id)
        #expect(recognition.checks[0].reason.contains("verifies"))
    }

    @Test func aChangedSignatureOnALaterEvent_failsTheSignatureCheck() throws {
        let base = R.license()
        let entries = R.license([.suspend(.init(licenseID: base.state.id, reason: "unpaid fine"))]).entries
        var signature = entries[1].signature
        signature[10] ^= 0x40
        let forged = try Entry(bodyBytes: entries[1].bodyBytes, signature: signature)
        let (recognition, _) = try Self.read(Self.bundle(entries: [entries[0], forged])).recognize(decidingProvince: nil, today: F.today)
        #expect(recognition.decision == .notRecognized)
        #expect(recognition.checks[0].outcome == .failed)
        #expect(recognition.checks[0].reason.contains("gd#2 (suspend)"))
        #expect(recognition.checks[0].reason.contains("altered"))
    }

    @Test func aChangedIssueEntry_isNoLongerTheLicenseItClaims() throws {
        // A license id commits to its issue entry's id, a hash of body and signature.
        let good = R.license().entries[0]
        var signature = good.signature
        signature[10] ^= 0x40
        let forged = try Entry(bodyBytes: good.bodyBytes, signature: signature)
        #expect {
            _ = try Self.read(Self.bundle(entries: [forged])).recognize(decidingProvince: nil, today: F.today)
        } throws: { error in
            (error as? BundleError)?.code == "not_this_license"
        }
    }

    @Test func aBodyThatNoLongerDecodes_isRefusedAsAltered() throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Self.bundle().jsonData()) as? [String: Any])
        var entries = try #require(object["entries"] as? [[String: String]])
        entries[0]["body"] = Data([0, 0, 0]).base64EncodedString()
        object["entries"] = entries
        #expect {
            _ = try LicenseBundle(jsonData: try JSONSerialization.data(withJSONObject: object), root: R.root.publicKey)
        } throws: { error in
            (error as? BundleError)?.code == "tampered_bundle"
        }
    }

    @Test func aBundleForAnotherRoot_isRefused() {
        #expect {
            _ = try Self.read(Self.bundle(), root: F.otherKey.publicKey)
        } throws: { error in
            (error as? BundleError)?.code == "other_root"
        }
    }

    @Test func anEntryOfAnotherLicense_isRefused() throws {
        // gd's next entry issues another license (a qualification, not the same type).
        var chain = ChainWriter(origin: "gd", key: F.key)
        let first = chain.append(.issue(F.drivingLicenceIssue()), hlc: F.hlc(R.february))
        let other = chain.append(.issue(F.qualificationIssue()), hlc: F.hlc(R.february + 1))
        #expect(first == R.license().entries[0])
        let bundle = try Self.read(Self.bundle(entries: [first, other]))
        #expect {
            _ = try bundle.recognize(decidingProvince: nil, today: F.today)
        } throws: { error in
            (error as? BundleError)?.code == "not_this_license"
        }
    }

    @Test func theDecidingProvincesAgreement_isUsed_andOneSignedForAnotherProvinceIsRefused() throws {
        // Beijing accepts nothing from Guangdong; its agreement is signed by bj's certified key.
        let bjKey = try SigningKey(seed: Array(200...231))
        var bj = ChainWriter(origin: "bj", key: bjKey)
        let agreement = bj.append(.agreement(RecognitionAgreement(province: "110000", terms: ["440000": .only([])])), hlc: F.hlc(5))
        let bjCertificate = R.certificate(key: bjKey, node: "bj", province: "110000")
        let bundle = try Self.read(Self.bundle(certificates: [R.certificate(), bjCertificate], agreements: [agreement]))
        let (asBeijing, _) = try bundle.recognize(decidingProvince: "110000", today: F.today)
        #expect(asBeijing.decision == .notRecognized)
        #expect(asBeijing.checks.first { $0.name == "agreement_covers" }?.reason.contains("bj#1") == true)
        let (asShanghai, _) = try bundle.recognize(decidingProvince: "310000", today: F.today)
        #expect(asShanghai.decision == .recognized)

        // gd signs an "agreement of Beijing": refused.
        var gd = ChainWriter(F.signer)
        let forged = gd.append(.agreement(RecognitionAgreement(province: "110000", terms: ["*": .all])), hlc: F.hlc(5))
        let tampered = try Self.read(Self.bundle(agreements: [forged]))
        #expect {
            _ = try tampered.recognize(decidingProvince: "110000", today: F.today)
        } throws: { error in
            (error as? BundleError)?.code == "tampered_bundle"
        }
    }

    @Test func anEquivocationProofInTheBundle_leavesTheDecisionUndetermined() throws {
        var a = ChainWriter(F.signer)
        var b = ChainWriter(F.signer)
        let fork = [a.append(.issue(F.qualificationIssue()), hlc: F.hlc(1)), b.append(.issue(F.qualificationIssue()), hlc: F.hlc(2))]
        let (recognition, _) = try Self.read(Self.bundle(equivocations: [fork])).recognize(decidingProvince: nil, today: F.today)
        #expect(recognition.decision == .undetermined)

        let (mismatched, _) = (fork[0], fork[0])
        #expect {
            _ = try Self.read(Self.bundle(equivocations: [[mismatched, mismatched]])).recognize(decidingProvince: nil, today: F.today)
        } throws: { error in
            (error as? BundleError)?.code == "tampered_bundle"
        }
    }

    @Test func twoEntriesAtOnePosition_areRefusedAsAltered() throws {
        let other = R.license(issuedAt: R.february + 1).entries[0]
        let bundle = try Self.read(Self.bundle(entries: R.license().entries + [other]))
        #expect {
            _ = try bundle.recognize(decidingProvince: nil, today: F.today)
        } throws: { error in
            (error as? BundleError)?.code == "tampered_bundle"
        }
    }

    @Test(arguments: ["", "{}", "[1, 2]", #"{"format": "lx-license-bundle-v0"}"#])
    func somethingThatIsNotABundle_isRefusedAsMalformed(_ text: String) {
        #expect {
            _ = try LicenseBundle(jsonData: Data(text.utf8), root: R.root.publicKey)
        } throws: { error in
            (error as? BundleError)?.code == "malformed_bundle"
        }
    }
}
