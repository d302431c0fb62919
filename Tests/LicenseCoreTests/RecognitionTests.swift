import LicenseCore
import Testing

/// The recognition rules, one check at a time: each passes on the good case and fails
/// (or cannot be decided) on its own bad case, and the decision follows.
@Suite struct RecognitionTests {
    typealias F = Fixtures
    static let root = try! SigningKey(seed: Array(100...131))
    static let day: UInt64 = 86_400_000
    /// 2026-01-01T00:00:00Z and 2026-02-01T00:00:00Z in Unix milliseconds.
    static let january: UInt64 = 1_767_225_600_000
    static let february: UInt64 = january + 31 * day

    static func certificate(key: SigningKey = F.key, node: String = "gd", province: String = "440000",
                            from: UInt64 = january - 365 * day, until: UInt64 = january + 3650 * day,
                            types: [String] = ["driving_licence", "professional_qualification"]) -> IssuerCertificate {
        IssuerCertificate.issue(.init(nodeID: node, province: province, publicKey: key.publicKey, notBeforeMilliseconds: from,
                                      notAfterMilliseconds: until, licenseTypes: types,
                                      rootKeyID: RootKeyID.derive(root.publicKey)), root: root)
    }

    static func revocation(of keyID: String, from: UInt64) -> KeyRevocation {
        KeyRevocation.issue(.init(keyID: keyID, compromisedAtMilliseconds: from, reason: "key leaked",
                                  rootKeyID: RootKeyID.derive(root.publicKey)), root: root)
    }

    /// gd issues a driving licence on 2026-02-01, then applies `later` events a day apart.
    static func license(_ later: [LicenseEvent] = [], key: SigningKey = F.key, issuedAt: UInt64 = february)
        -> (entries: [Entry], state: LicenseState)
    {
        var chain = ChainWriter(origin: "gd", key: key)
        var entries = [chain.append(.issue(F.drivingLicenceIssue()), hlc: F.hlc(issuedAt))]
        for (i, event) in later.enumerated() {
            entries.append(chain.append(event, hlc: F.hlc(issuedAt + UInt64(i + 1) * day)))
        }
        return (entries, LicenseFold.fold(entries)!.state)
    }

    static func evidence(_ license: (entries: [Entry], state: LicenseState),
                         certificates: [IssuerCertificate] = [certificate()], revocations: [KeyRevocation] = [],
                         agreement: RecognitionAgreement = .nationalDefault(province: "110000"),
                         holds: [String: UInt64] = [:], today: CivilDate = F.today) -> RecognitionEvidence {
        RecognitionEvidence(
            license: license.state, signatures: .verified(entries: license.entries.count),
            events: RecognitionEvidence.SignedEvent.ordered(license.entries.map(RecognitionEvidence.SignedEvent.init)),
            certificates: Dictionary(uniqueKeysWithValues: certificates.map { ($0.body.keyID, $0.body) }),
            revocations: Dictionary(uniqueKeysWithValues: revocations.map { ($0.body.keyID, $0.body) }),
            agreement: agreement, agreementSource: "test", holds: holds, holdSource: "no proof", today: today)
    }

    static func check(_ recognition: Recognition, _ name: String) -> RecognitionCheck {
        recognition.checks.first { $0.name == name }!
    }

    @Test func everyCheckPasses_theLicenseIsRecognized_andTheChecksComeInTheirFixedOrder() {
        let decision = RecognitionRules.decide(Self.evidence(Self.license()))
        #expect(decision.decision == .recognized)
        #expect(decision.checks.map(\.name) == Recognition.checkNames)
        #expect(decision.checks.allSatisfy { $0.passed })
        #expect(decision.decidingProvince == "110000")
    }

    @Test func signatureThatDoesNotVerify_isNotRecognized() {
        var evidence = Self.evidence(Self.license())
        evidence.signatures = .invalid("the signature of gd#1 does not verify")
        let decision = RecognitionRules.decide(evidence)
        #expect(decision.decision == .notRecognized)
        #expect(Self.check(decision, "signature_valid").outcome == .failed)
    }

    @Test func certificateNotArrived_isUndetermined() {
        let decision = RecognitionRules.decide(Self.evidence(Self.license(), certificates: []))
        #expect(decision.decision == .undetermined)
        #expect(Self.check(decision, "issuer_certified").outcome == .unknown)
        #expect(Self.check(decision, "issuer_certified").reason.contains("has arrived"))
    }

    @Test func signedOutsideTheCertificatesValidity_isNotRecognized() {
        let late = Self.certificate(from: Self.february + Self.day)
        let decision = RecognitionRules.decide(Self.evidence(Self.license(), certificates: [late]))
        #expect(decision.decision == .notRecognized)
        #expect(Self.check(decision, "issuer_certified").reason.contains("outside its certificate's validity"))
    }

    @Test func keyRotation_aLicenseSignedWhileTheOldKeyWasValid_staysRecognizedAfterItExpires() {
        // The old key's certificate ended on 2026-03-01; the new key took over. Today is later.
        let old = Self.certificate(until: Self.february + 28 * Self.day)
        let new = Self.certificate(key: F.otherKey, from: Self.february + 20 * Self.day)
        let decision = RecognitionRules.decide(Self.evidence(Self.license(), certificates: [old, new],
                                                             today: F.date("2027-06-01")))
        #expect(decision.decision == .recognized)
        // A license signed with the old key after it expired is not.
        let lateLicense = Self.license(issuedAt: Self.february + 40 * Self.day)
        #expect(RecognitionRules.decide(Self.evidence(lateLicense, certificates: [old, new], today: F.date("2027-06-01")))
            .decision == .notRecognized)
    }

    @Test func keyRevokedForCompromise_entriesSignedBeforeStayRecognized_laterOnesDoNot() {
        let keyID = Self.certificate().body.keyID
        let afterIssue = Self.revocation(of: keyID, from: Self.february + Self.day / 2)
        let before = RecognitionRules.decide(Self.evidence(Self.license(), revocations: [afterIssue]))
        #expect(before.decision == .recognized)
        #expect(Self.check(before, "key_not_revoked").reason.contains("signed before that"))

        let beforeIssue = Self.revocation(of: keyID, from: Self.february - Self.day)
        let after = RecognitionRules.decide(Self.evidence(Self.license(), revocations: [beforeIssue]))
        #expect(after.decision == .notRecognized)
        #expect(Self.check(after, "key_not_revoked").outcome == .failed)
    }

    @Test func aLaterEventSignedAfterTheCompromise_leavesTheStateInDoubt() {
        let license = Self.license()
        let revoked = Self.license([.revoke(.init(licenseID: license.state.id, reason: "fraud"))])
        let keyID = Self.certificate().body.keyID
        // Compromised after the issue, before the revoke: the revoke may be the thief's.
        let revocation = Self.revocation(of: keyID, from: Self.february + Self.day / 2)
        let decision = RecognitionRules.decide(Self.evidence(revoked, revocations: [revocation]))
        #expect(Self.check(decision, "key_not_revoked").outcome == .unknown)
        // The revoke still fails license_active, which is definite.
        #expect(decision.decision == .notRecognized)
    }

    @Test func typeTheKeyIsNotCertifiedFor_isNotRecognized() {
        let narrow = Self.certificate(types: ["professional_qualification"])
        let decision = RecognitionRules.decide(Self.evidence(Self.license(), certificates: [narrow]))
        #expect(decision.decision == .notRecognized)
        #expect(Self.check(decision, "type_allowed").outcome == .failed)
    }

    @Test func provinceOtherThanTheCertificates_isNotRecognized() {
        let elsewhere = Self.certificate(province: "310000")
        let decision = RecognitionRules.decide(Self.evidence(Self.license(), certificates: [elsewhere]))
        #expect(decision.decision == .notRecognized)
        #expect(Self.check(decision, "province_matches").outcome == .failed)
    }

    @Test func agreement_namedProvinceOverridesTheWildcard_andOwnLicensesAreAlwaysAccepted() {
        let license = Self.license()
        let noDriving = RecognitionAgreement(province: "110000", terms: ["*": .all, "440000": .only(["business_license"])])
        let refused = RecognitionRules.decide(Self.evidence(license, agreement: noDriving))
        #expect(refused.decision == .notRecognized)
        #expect(Self.check(refused, "agreement_covers").outcome == .failed)

        let onlyDriving = RecognitionAgreement(province: "110000", terms: ["440000": .only(["driving_licence"])])
        #expect(RecognitionRules.decide(Self.evidence(license, agreement: onlyDriving)).decision == .recognized)

        let nothing = RecognitionAgreement(province: "110000", terms: ["*": .only([])])
        #expect(RecognitionRules.decide(Self.evidence(license, agreement: nothing)).decision == .notRecognized)

        // Guangdong's own windows accept Guangdong's licenses whatever its agreement says.
        let own = RecognitionAgreement(province: "440000", terms: ["*": .only([])])
        #expect(RecognitionRules.decide(Self.evidence(license, agreement: own)).decision == .recognized)
    }

    @Test(arguments: [
        ("suspended", "2026-03-01"), ("revoked", "2026-03-01"), ("expired", "2032-01-02"), ("not yet valid", "2025-12-31"),
    ])
    func licenseNotActive_isNotRecognized(_ kind: String, _ today: String) {
        let base = Self.license()
        let later: [LicenseEvent] = switch kind {
        case "suspended": [.suspend(.init(licenseID: base.state.id, reason: "unpaid fine"))]
        case "revoked": [.revoke(.init(licenseID: base.state.id, reason: "fraud"))]
        default: []
        }
        let decision = RecognitionRules.decide(Self.evidence(Self.license(later), today: F.date(today)))
        #expect(decision.decision == .notRecognized)
        #expect(Self.check(decision, "license_active").outcome == .failed)
        #expect(Self.check(decision, "license_active").reason.hasPrefix(kind))
    }

    @Test func originUnderAnEquivocationHold_isUndetermined_unlessTheLicensePrecedesTheFork() {
        let license = Self.license()
        let held = RecognitionRules.decide(Self.evidence(license, holds: ["gd": 1]))
        #expect(held.decision == .undetermined)
        #expect(Self.check(held, "origin_not_held").outcome == .unknown)

        let earlier = RecognitionRules.decide(Self.evidence(license, holds: ["gd": 5]))
        #expect(earlier.decision == .recognized)
        #expect(Self.check(earlier, "origin_not_held").reason.contains("precede"))
    }

    @Test func aDefiniteFailureOutweighsAnUndecidableCheck() {
        let revoked = Self.license([.revoke(.init(licenseID: Self.license().state.id, reason: "fraud"))])
        #expect(RecognitionRules.decide(Self.evidence(revoked, holds: ["gd": 1])).decision == .notRecognized)
    }
}

@Suite struct KeyRevocationTests {
    typealias R = RecognitionTests

    @Test func roundTripsThroughItsFileForm_andIsVerifiedAgainstTheRoot() throws {
        let revocation = R.revocation(of: "gd-1a2b3c4d", from: R.february)
        let read = try KeyRevocation.decode(jsonText: revocation.jsonText(), root: R.root.publicKey)
        #expect(read == revocation)
        #expect(read.body.nodeID == "gd")
        #expect(read.covers(signedAt: R.february))
        #expect(!read.covers(signedAt: R.february - 1))
    }

    @Test func anotherRootsRevocation_isRefusedAsOtherRoot() {
        let revocation = R.revocation(of: "gd-1a2b3c4d", from: R.february)
        #expect(throws: CertificateError.otherRoot(certificate: RootKeyID.derive(R.root.publicKey),
                                                   trusted: RootKeyID.derive(Fixtures.key.publicKey))) {
            try KeyRevocation(bodyBytes: revocation.bodyBytes, signature: revocation.signature, root: Fixtures.key.publicKey)
        }
    }

    @Test func aForgedSignature_isRefused() {
        let revocation = R.revocation(of: "gd-1a2b3c4d", from: R.february)
        var signature = revocation.signature
        signature[0] ^= 1
        #expect(throws: CertificateError.badRevocationSignature(keyID: "gd-1a2b3c4d")) {
            try KeyRevocation(bodyBytes: revocation.bodyBytes, signature: signature, root: R.root.publicKey)
        }
    }

    @Test func aCertificateFileIsNotARevocation_andTheOtherWayRound() {
        let certificate = R.certificate()
        #expect(throws: CertificateError.self) { try KeyRevocation.decode(jsonText: certificate.jsonText(), root: R.root.publicKey) }
        let revocation = R.revocation(of: "gd-1a2b3c4d", from: R.february)
        #expect(throws: CertificateError.self) { try IssuerCertificate.decode(jsonText: revocation.jsonText(), root: R.root.publicKey) }
    }
}

@Suite struct AgreementEntryTests {
    typealias F = Fixtures

    @Test func anAgreementEntryRoundTrips_andNamesNoLicense() throws {
        let agreement = RecognitionAgreement(province: "440000", terms: ["*": .all, "110000": .only(["driving_licence", "business_license"]),
                                                                      "310000": .only([])])
        var chain = ChainWriter(F.signer)
        let entry = chain.append(.agreement(agreement), hlc: F.hlc(1))
        let read = try Entry(bodyBytes: entry.bodyBytes, signature: entry.signature)
        #expect(read.body.event == .agreement(agreement))
        #expect(!read.body.event.isLicenseEvent)
        #expect(read.body.event.targetLicense == nil)
    }

    /// A body whose agreement is written field by field, bypassing the encoder's sorting.
    static func body(terms: [(String, [String])], province: String = "440000") -> [UInt8] {
        RawBody(event: { event in
            event.message(7) { m in
                m.string(1, province)
                for (termProvince, types) in terms {
                    m.message(2) { t in
                        t.string(1, termProvince)
                        for type in types { t.string(2, type) }
                    }
                }
            }
        }).encoded()
    }

    @Test(arguments: [
        ([("110000", ["driving_licence"]), ("*", ["*"])], "440000", "sorted by province"),
        ([("990000", ["driving_licence"])], "440000", "unknown province"),
        ([("*", ["*", "driving_licence"])], "440000", "must stand alone"),
        ([("*", ["driving_licence", "business_license"])], "440000", "sorted, distinct"),
        ([("*", ["*"])], "990000", "unknown province"),
    ] as [([(String, [String])], String, String)])
    func aMalformedAgreement_isRefusedNamingWhatIsWrong(_ terms: [(String, [String])], _ province: String, _ detail: String) {
        #expect {
            _ = try EntryBody(decoding: Self.body(terms: terms, province: province))
        } throws: { error in
            "\(error)".contains(detail)
        }
    }
}
