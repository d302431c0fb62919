import Foundation
import LicenseCore
import LicenseNode
import LicenseStore
import Testing

/// Transfers, history and conflicts through the admin API, on a node ("bj") that holds a
/// license issued by another province ("gd").
@Suite("Transfer API")
struct TransferAPITests {
    /// Stores a driving licence that gd issued to `holder`, as if it had arrived by gossip.
    static func licenseFromGuangdong(_ node: RunningNode, holder: String = holderA) async throws -> String {
        let key = try SigningKey(seed: Array(repeating: 21, count: 32))
        let keyID = IssuerKeyID.derive(origin: "gd", publicKey: key.publicKey)
        try node.service.store.registerIssuerKey(keyID: keyID, origin: "gd", publicKey: key.publicKey)
        let today = CivilDate(iso: "2026-06-01")!
        let id = try ResidentID(holder, today: today)
        let issue = LicenseEvent.Issue(
            licenseType: "driving_licence", province: "440000", holderRef: HolderRef(id: id, key: node.service.material.holderKey),
            holderMasked: id.masked, attributes: ["licence_class": "C1", "first_issue_date": "2012-07-01"],
            validFrom: today, validUntil: CivilDate(iso: "2032-06-01")!)
        let entry = Entry.sign(EntryBody(origin: "gd", seq: 1, prev: .zero, context: VersionVector(),
                                         hlc: HybridTimestamp(wallMilliseconds: FixedClock().milliseconds - 1000, logical: 0),
                                         keyID: keyID, event: .issue(issue)), with: key)
        let outcomes = try await node.service.store.append([entry], physicalMilliseconds: FixedClock().milliseconds)
        guard outcomes == [.appended] else { throw TestFailure("append: \(outcomes)") }
        return entry.licenseID.text
    }

    @Test func transfer_supersedesTheOldLicense_andTheHistoryShowsTheCausalOrder() async throws {
        try await withRunningNode { node in
            let old = try await Self.licenseFromGuangdong(node)
            let before = try await node.get("/v1/status").json["state_digest"] as? String
            let moved = try await node.post("/v1/licenses/\(old)/transfer", ["holder": holderA, "reason": "moved to Beijing"],
                                            token: node.issuerToken)
            #expect(moved.status == 201)
            let new = try #require(moved.json["id"] as? String)
            #expect(new.hasPrefix("bj-"))
            #expect((moved.json["issuer"] as? [String: Any])?["province"] as? String == "110000")
            #expect(try await node.get("/v1/licenses/\(old)").json["status"] as? String == "superseded")

            let history = try await node.get("/v1/licenses/\(old)/history", token: node.clerkToken)
            let events = history.json["events"] as? [[String: Any]] ?? []
            #expect(events.map { $0["entry"] as? String } == ["gd#1", "bj#1"])
            #expect(events.last?["after"] as? [String] == ["gd#1"])
            #expect(events.last?["concurrent_with"] as? [String] == [])
            #expect((history.json["licenses"] as? [[String: Any]])?.count == 2)

            let conflicts = try await node.get("/v1/conflicts", token: node.operatorToken)
            #expect((conflicts.json["conflicts"] as? [Any])?.isEmpty == true)
            let after = try await node.get("/v1/status").json["state_digest"] as? String
            #expect(before != nil && after != nil && before != after)
            // The old license's bundle carries its transfer: offline, too, it is superseded.
            let bundle = try LicenseBundle(jsonData: try await node.get("/v1/licenses/\(old)/bundle").body,
                                           root: try RecognitionAPITests.root(of: node).publicKey)
            #expect(bundle.entries.count == 2)
            let (decision, state) = try bundle.recognize(decidingProvince: "110000", today: CivilDate(iso: "2026-06-01")!)
            #expect(state.status == .superseded)
            #expect(decision.decision == .notRecognized)
            // The new license's bundle is decided on the transfer that created it, under bj's key.
            let newBundle = try LicenseBundle(jsonData: try await node.get("/v1/licenses/\(new)/bundle").body,
                                              root: try RecognitionAPITests.root(of: node).publicKey)
            #expect(newBundle.entries.count == 2)
            let online = try await node.post("/v1/verify", ["license_id": new])
            #expect(online.json["decision"] as? String == "recognized", "\(String(decoding: online.body, as: UTF8.self))")
            // The stored digest is what refolding every license from the entries gives.
            #expect(try LedgerVerifier.verifyStates(node.service.store).problems.isEmpty)
        }
    }

    @Test func transfer_badRequests_areRefused_andWriteNothing() async throws {
        try await withRunningNode { node in
            let old = try await Self.licenseFromGuangdong(node)
            let own = try await node.issueDrivingLicence(to: holderB)
            let entries = node.entries
            let ownTransfer = try await node.post("/v1/licenses/\(own)/transfer", ["holder": holderB])
            #expect(ownTransfer.status == 409)
            #expect(ownTransfer.errorCode == "transfer_to_issuer")
            let otherHolder = try await node.post("/v1/licenses/\(old)/transfer", ["holder": holderB])
            #expect(otherHolder.errorCode == "holder_mismatch")
            let badID = try await node.post("/v1/licenses/\(old)/transfer", ["holder": "110105194912310021"])
            #expect(badID.errorCode == "invalid_id_number")
            let unknown = try await node.post("/v1/licenses/gd-9-00000000/transfer", ["holder": holderA])
            #expect(unknown.status == 404)
            #expect(node.entries == entries)
            // Transferred once, it cannot be transferred again.
            #expect(try await node.post("/v1/licenses/\(old)/transfer", ["holder": holderA]).status == 201)
            let again = try await node.post("/v1/licenses/\(old)/transfer", ["holder": holderA])
            #expect(again.errorCode == "superseded")
        }
    }
}
