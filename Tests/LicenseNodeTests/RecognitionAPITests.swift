import Foundation
import LicenseCore
import LicenseNode
import Testing

/// Recognition through the admin API: decisions with their checks, the audit log, the
/// "one window" lookup, bundles, trust publication and agreements, and every bad input.
@Suite("Recognition API")
struct RecognitionAPITests {
    /// The standalone node's development root, which signs test certificates and revocations.
    static func root(of node: RunningNode) throws -> SigningKey {
        let text = try String(contentsOfFile: node.directory.rootKeyFile, encoding: .utf8)
        return try SigningKey(seed: Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines))!)
    }

    static func checks(_ result: HTTPResult) -> [String: String] {
        var out: [String: String] = [:]
        for check in result.json["checks"] as? [[String: Any]] ?? [] {
            out[check["name"] as! String] = check["outcome"] as? String
        }
        return out
    }

    @Test func verify_returnsTheDecisionWithEveryCheck_andAuditsIt() async throws {
        try await withRunningNode { node in
            let id = try await node.issueDrivingLicence()
            let result = try await node.post("/v1/verify", ["license_id": id, "purpose": "counter 3"], token: node.clerkToken)
            #expect(result.status == 200)
            #expect(result.json["decision"] as? String == "recognized")
            #expect(result.json["deciding_province"] as? String == "110000")
            let checks = result.json["checks"] as? [[String: Any]] ?? []
            #expect(checks.map { $0["name"] as? String } == Recognition.checkNames)
            #expect(checks.allSatisfy { $0["passed"] as? Bool == true && !(($0["reason"] as? String) ?? "").isEmpty })
            #expect((result.json["license"] as? [String: Any])?["id"] as? String == id)

            let audit = try await node.get("/v1/audit?limit=1")
            let record = (audit.json["records"] as? [[String: Any]])?.first
            #expect(record?["action"] as? String == "verify:recognized")
            #expect(record?["license_id"] as? String == id)
            #expect(record?["actor"] as? String == "window-1")
            #expect(record?["purpose"] as? String == "counter 3")
        }
    }

    @Test func verify_aRevokedLicense_isNotRecognized_withTheReason() async throws {
        try await withRunningNode { node in
            let id = try await node.issueDrivingLicence()
            _ = try await node.post("/v1/licenses/\(id)/revoke", ["reason": "obtained by fraud"])
            let result = try await node.post("/v1/verify", ["license_id": id])
            #expect(result.json["decision"] as? String == "not_recognized")
            let active = (result.json["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "license_active" }
            #expect(active?["passed"] as? Bool == false)
            #expect(active?["reason"] as? String == "revoked: obtained by fraud")
        }
    }

    @Test func verify_badInput_getsASpecificError_andIsNotAudited() async throws {
        try await withRunningNode { node in
            let id = try await node.issueDrivingLicence()
            let unknown = try await node.post("/v1/verify", ["license_id": "bj-99-00000000"])
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "unknown_license")
            let malformed = try await node.post("/v1/verify", ["license_id": "not an id"])
            #expect(malformed.errorCode == "invalid_license_id")
            let missing = try await node.post("/v1/verify", ["purpose": "x"])
            #expect(missing.errorCode == "malformed_request")
            let personal = try await node.post("/v1/verify", ["license_id": id, "purpose": "for \(holderA)"])
            #expect(personal.errorCode == "contains_id_number")
            let noToken = try await node.call("POST", "/v1/verify", token: nil,
                                              body: try JSONSerialization.data(withJSONObject: ["license_id": id]))
            #expect(noToken.status == 401)
            let audit = try await node.get("/v1/audit")
            #expect((audit.json["records"] as? [[String: Any]])?.contains { ($0["action"] as? String)?.hasPrefix("verify") == true } == false)
        }
    }

    @Test func holderLookupWithRecognize_decidesEveryLicense() async throws {
        try await withRunningNode { node in
            let first = try await node.issueDrivingLicence()
            _ = try await node.post("/v1/licenses/\(first)/suspend", ["reason": "unpaid fine"])
            let result = try await node.post("/v1/holders/lookup", ["holder": holderA, "purpose": "one window", "recognize": true],
                                             token: node.clerkToken)
            #expect(result.status == 200)
            let recognitions = result.json["recognitions"] as? [[String: Any]] ?? []
            #expect(recognitions.count == 1)
            #expect(recognitions.first?["license_id"] as? String == first)
            #expect(recognitions.first?["decision"] as? String == "not_recognized")
            let plain = try await node.post("/v1/holders/lookup", ["holder": holderA, "purpose": "one window"], token: node.clerkToken)
            #expect(plain.json["recognitions"] == nil)
        }
    }

    @Test func bundle_verifiesOfflineAgainstTheRootAlone() async throws {
        try await withRunningNode { node in
            let id = try await node.issueDrivingLicence()
            let result = try await node.get("/v1/licenses/\(id)/bundle", token: node.clerkToken)
            #expect(result.status == 200)
            let root = try Self.root(of: node).publicKey
            let bundle = try LicenseBundle(jsonData: result.body, root: root)
            #expect(bundle.licenseID.text == id)
            let (recognition, _) = try bundle.recognize(decidingProvince: "440000", today: CivilDate(iso: "2026-06-01")!)
            #expect(recognition.decision == .recognized)
            let other = try SigningKey(seed: Array(repeating: 9, count: 32)).publicKey
            #expect(throws: BundleError.self) { try LicenseBundle(jsonData: result.body, root: other) }
            #expect(try await node.get("/v1/licenses/bj-99-00000000/bundle").status == 404)
        }
    }

    @Test func aRevocationFromLaterThanTheLicense_leavesItRecognized_andIsPublishedOnce() async throws {
        try await withRunningNode { node in
            let before = try await node.issueDrivingLicence()
            let root = try Self.root(of: node)
            let keyID = node.service.material.signer.keyID
            // Compromised from one millisecond after the fixed clock's "now".
            let revocation = KeyRevocation.issue(.init(keyID: keyID, compromisedAtMilliseconds: FixedClock().milliseconds + 1,
                                                       reason: "HSM stolen", rootKeyID: RootKeyID.derive(root.publicKey)), root: root)
            let document = try JSONSerialization.jsonObject(with: Data(revocation.jsonText().utf8)) as! [String: Any]
            let published = try await node.post("/v1/trust", document, token: node.operatorToken)
            #expect(published.status == 201)
            #expect(published.json["key_id"] as? String == keyID)
            let again = try await node.post("/v1/trust", document, token: node.operatorToken)
            #expect(again.status == 200)
            #expect(again.json["added"] as? Bool == false)
            // The license signed before the compromise time is still recognized.
            let decision = try await node.post("/v1/verify", ["license_id": before])
            #expect(decision.json["decision"] as? String == "recognized")
            #expect(Self.checks(decision)["key_not_revoked"] == "passed")
            #expect((decision.json["checks"] as? [[String: Any]])?.contains {
                ($0["reason"] as? String)?.contains("signed before that") == true
            } == true)
        }
    }

    @Test func aNodeWhoseKeyIsRevokedNow_refusesToIssue() async throws {
        try await withRunningNode { node in
            let root = try Self.root(of: node)
            let revocation = KeyRevocation.issue(.init(keyID: node.service.material.signer.keyID, compromisedAtMilliseconds: 0,
                                                       reason: "", rootKeyID: RootKeyID.derive(root.publicKey)), root: root)
            let document = try JSONSerialization.jsonObject(with: Data(revocation.jsonText().utf8)) as! [String: Any]
            #expect(try await node.post("/v1/trust", document).status == 201)
            let entries = node.entries
            let refused = try await node.post("/v1/licenses", [
                "type": "driving_licence", "holder": holderA,
                "attributes": ["licence_class": "C1", "first_issue_date": "2010-05-01"],
            ])
            #expect(refused.status == 400)
            #expect(refused.errorCode == "key_revoked")
            #expect(node.entries == entries)
        }
    }

    @Test(arguments: [
        (["body": "AAAA", "signature": "AAAA"], "malformed_certificate"),
        (["type": "key_revocation", "body": "AAAA", "signature": "AAAA"], "malformed_certificate"),
        (["type": "root_key", "body": "AAAA", "signature": "AAAA"], "unknown_trust_type"),
        (["body": "not base64!", "signature": "AAAA"], "malformed_request"),
    ])
    func publishTrust_badDocuments_areRefused_andChangeNothing(_ document: [String: String], _ code: String) async throws {
        try await withRunningNode { node in
            let result = try await node.post("/v1/trust", document, token: node.operatorToken)
            #expect(result.status == 400)
            #expect(result.errorCode == code)
            #expect(try node.service.store.revocations(root: node.service.material.root).isEmpty)
        }
    }

    @Test func publishTrust_anotherNetworksCertificate_isRefusedAsOtherRoot() async throws {
        try await withRunningNode { node in
            let foreign = try SigningKey(seed: Array(repeating: 5, count: 32))
            let certificate = IssuerCertificate.issue(.init(
                nodeID: "sh", province: "310000", publicKey: foreign.publicKey, notBeforeMilliseconds: 0,
                notAfterMilliseconds: FixedClock().milliseconds * 2, licenseTypes: ["driving_licence"],
                rootKeyID: RootKeyID.derive(foreign.publicKey)), root: foreign)
            let document = try JSONSerialization.jsonObject(with: Data(certificate.jsonText().utf8)) as! [String: Any]
            let before = try node.service.store.certificates(root: node.service.material.root).count
            let result = try await node.post("/v1/trust", document, token: node.operatorToken)
            #expect(result.errorCode == "other_root")
            #expect(try node.service.store.certificates(root: node.service.material.root).count == before)
            let forbidden = try await node.post("/v1/trust", document, token: node.clerkToken)
            #expect(forbidden.status == 403)
        }
    }

    @Test func agreements_publishedByTheNode_decideItsWindows() async throws {
        try await withRunningNode { node in
            let initial = try await node.get("/v1/agreements", token: node.clerkToken)
            let provinces = initial.json["provinces"] as? [[String: Any]] ?? []
            #expect(provinces.first?["province"] as? String == "110000")
            #expect(provinces.first?["entry"] == nil)
            let set = try await node.post("/v1/agreements", ["terms": [
                ["province": "*", "license_types": ["*"]],
                ["province": "440000", "license_types": ["business_license"]],
            ]], token: node.operatorToken)
            #expect(set.status == 201)
            #expect(set.json["entry"] as? String == "bj#1")
            let after = try await node.get("/v1/agreements")
            let terms = (after.json["provinces"] as? [[String: Any]])?.first?["terms"] as? [[String: Any]]
            #expect(terms?.count == 2)
        }
    }

    @Test(arguments: [
        ([("990000", ["*"])], "unknown_province"),
        ([("*", ["no_such_type"])], "unknown_license_type"),
        ([("*", ["*"]), ("*", [])], "invalid_agreement"),
        ([], "invalid_agreement"),
    ] as [([(String, [String])], String)])
    func agreements_badTerms_areRefused_andNothingIsSigned(_ terms: [(String, [String])], _ code: String) async throws {
        try await withRunningNode { node in
            let body = terms.map { ["province": $0.0, "license_types": $0.1] as [String: Any] }
            let result = try await node.post("/v1/agreements", ["terms": body], token: node.operatorToken)
            #expect(result.status == 400)
            #expect(result.errorCode == code)
            #expect(node.entries == 0)
        }
    }
}
