import Foundation
import LicenseCore
import LicenseNode
import Testing

@Suite("Admin API")
struct AdminAPITests {
    @Test func healthz_answersWithoutAToken() async throws {
        try await withRunningNode { node in
            let result = try await node.call("GET", "/healthz", token: nil)
            #expect(result.status == 200)
            #expect(result.json["status"] as? String == "ok")
        }
    }

    @Test func readyz_standaloneNodeIsReady_withoutAToken() async throws {
        try await withRunningNode { node in
            let result = try await node.call("GET", "/readyz", token: nil)
            #expect(result.status == 200)
            #expect(result.json["status"] as? String == "ready")
        }
    }

    /// A networked node with no peer connected cannot show other provinces' licenses:
    /// it says so with 503 and the reason, and its liveness is unaffected.
    @Test func readyz_networkedNodeWithoutPeers_isNotReady() async throws {
        try await withRunningNode { node in
            node.service.markNetworked()
            let result = try await node.call("GET", "/readyz", token: nil)
            #expect(result.status == 503)
            #expect(result.json["status"] as? String == "not_ready")
            #expect(result.json["reason"] as? String == "no peer is connected")
            #expect(try await node.call("GET", "/healthz", token: nil).status == 200)
        }
    }

    /// Prometheus text that promtool accepts, with the ledger's figures and the requests
    /// made, labelled by route pattern (never a license id or an ID number).
    @Test func metrics_passPromtool_andCountRequestsByRoute() async throws {
        try await withRunningNode { node in
            let license = try await node.issueDrivingLicence()
            _ = try await node.get("/v1/licenses/\(license)")
            _ = try await node.get("/v1/licenses/no-such-license")
            let result = try await node.call("GET", "/metrics", token: nil)
            #expect(result.status == 200)
            let text = String(decoding: result.body, as: UTF8.self)
            #expect(text.contains("lx_ledger_entries 1"))
            #expect(text.contains("lx_license_conflicts 0"))
            // A new ledger's log is far below its first checkpoint.
            #expect(text.contains("lx_ledger_log_checkpoints_runs{by=\"background\"} 0"), "\(text)")
            #expect(text.contains("lx_ledger_log_checkpoints_runs{by=\"writer\"} 0"))
            #expect(text.contains("lx_ledger_log_checkpoint_failures 0"))
            #expect(text.contains("lx_admin_requests_total{route=\"/v1/licenses/{id}\",status=\"200\"} 1"), "\(text)")
            #expect(text.contains("status=\"400\""))
            #expect(!text.contains(license) && !text.contains(holderA))

            let promtool = try await CLI.run(path: "/usr/bin/promtool", ["check", "metrics"], stdin: result.body)
            #expect(promtool.status == 0, "promtool: \(promtool.stdout)\(promtool.stderr)")
        }
    }

    @Test func status_reportsIdentityEntriesVersionVectorAndDigest() async throws {
        try await withRunningNode { node in
            _ = try await node.issueDrivingLicence()
            let status = try await node.get("/v1/status")
            #expect(status.status == 200)
            #expect(status.json["node_id"] as? String == "bj")
            #expect(status.json["province"] as? String == "110000")
            #expect(status.json["entries"] as? Int == 1)
            #expect((status.json["version_vector"] as? [String: Int]) == ["bj": 1])
            #expect((status.json["ledger_digest"] as? String)?.count == 64)
        }
    }

    @Test func roles_missingOrUnknownTokenIs401_wrongRoleIs403() async throws {
        try await withRunningNode { node in
            #expect(try await node.call("GET", "/v1/status", token: nil).status == 401)
            #expect(try await node.call("GET", "/v1/status", token: "lxt_wrong").status == 401)
            let forbidden = try await node.get("/v1/status", token: node.clerkToken)
            #expect(forbidden.status == 403)
            #expect(forbidden.errorCode == "forbidden")
            #expect(try await node.get("/v1/status", token: node.operatorToken).status == 200)

            let issueByClerk = try await node.post("/v1/licenses", ["type": "driving_licence", "holder": holderA],
                                                   token: node.clerkToken)
            #expect(issueByClerk.status == 403)
            let lookupByIssuer = try await node.post("/v1/holders/lookup", ["holder": holderA, "purpose": "x"],
                                                     token: node.issuerToken)
            #expect(lookupByIssuer.status == 403)
            #expect(node.entries == 0)
        }
    }

    @Test func issueShowAndHolderLookup_roundTripWithStableKeys() async throws {
        try await withRunningNode { node in
            let id = try await node.issueDrivingLicence()
            let shown = try await node.get("/v1/licenses/\(id)", token: node.clerkToken)
            #expect(shown.status == 200)
            #expect(shown.json["id"] as? String == id)
            #expect(shown.json["type"] as? String == "driving_licence")
            #expect(shown.json["status"] as? String == "active")
            #expect((shown.json["issuer"] as? [String: Any])?["node"] as? String == "bj")
            #expect(shown.json["valid_from"] as? String == "2026-06-01")
            #expect(shown.json["valid_until"] as? String == "2032-06-01")
            #expect(shown.json["holder"] as? String == "11************002X")
            #expect(!String(decoding: shown.body, as: UTF8.self).contains(holderA))

            let found = try await node.post("/v1/holders/lookup", ["holder": holderA, "purpose": "counter 3"],
                                            token: node.clerkToken)
            #expect(found.status == 200)
            let licenses = found.json["licenses"] as? [[String: Any]] ?? []
            #expect(licenses.map { $0["id"] as? String } == [id])
            let other = try await node.post("/v1/holders/lookup", ["holder": holderB, "purpose": "counter 3"],
                                            token: node.clerkToken)
            #expect((other.json["licenses"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func holderLookup_isWrittenToTheAuditLogWithActorAndPurpose() async throws {
        try await withRunningNode { node in
            _ = try await node.post("/v1/holders/lookup", ["holder": holderA, "purpose": "marriage registration"],
                                    token: node.clerkToken)
            let records = try node.service.auditLog(limit: 10)
            #expect(records.count == 1)
            #expect(records.first?.actor == "window-1")
            #expect(records.first?.action == "holder_lookup")
            #expect(records.first?.purpose == "marriage registration")
            let expectedRef = HolderRef(id: try ResidentID(holderA, today: FixedClock().today()),
                                        key: node.service.material.holderKey)
            #expect(records.first?.holderRef == expectedRef)

            let audit = try await node.get("/v1/audit", token: node.operatorToken)
            #expect(audit.status == 200)
            #expect(!String(decoding: audit.body, as: UTF8.self).contains(holderA))
        }
    }

    @Test func lifecycle_amendRenewSuspendReinstateRevoke() async throws {
        try await withRunningNode { node in
            let id = try await node.issueDrivingLicence()
            let amended = try await node.post("/v1/licenses/\(id)/amend", ["set": ["licence_class": "B2"], "reason": "upgrade"])
            #expect(amended.status == 200)
            #expect((amended.json["attributes"] as? [String: String])?["licence_class"] == "B2")
            let renewed = try await node.post("/v1/licenses/\(id)/renew", ["valid_until": "2038-06-01"])
            #expect(renewed.json["valid_until"] as? String == "2038-06-01")
            let suspended = try await node.post("/v1/licenses/\(id)/suspend", ["reason": "12 points"])
            #expect(suspended.json["status"] as? String == "suspended")
            let reinstated = try await node.post("/v1/licenses/\(id)/reinstate", ["reason": "course done"])
            #expect(reinstated.json["status"] as? String == "active")
            let revoked = try await node.post("/v1/licenses/\(id)/revoke", ["reason": "court order"])
            #expect(revoked.json["status"] as? String == "revoked")
            #expect(revoked.json["events"] as? Int == 6)
            #expect(node.entries == 6)
        }
    }

    /// Every refusal gets its status and code, and stores nothing.
    @Test(arguments: [
        ("unknown type", #"{"type": "pilot_licence", "holder": "HOLDER"}"#, 400, "unknown_license_type"),
        ("missing attribute", #"{"type": "driving_licence", "holder": "HOLDER", "attributes": {"licence_class": "C1"}}"#,
         400, "missing_attribute"),
        ("bad enum value", #"{"type": "driving_licence", "holder": "HOLDER", "attributes": {"licence_class": "Z9", "first_issue_date": "2010-05-01"}}"#,
         400, "bad_attribute_value"),
        ("bad date value", #"{"type": "driving_licence", "holder": "HOLDER", "attributes": {"licence_class": "C1", "first_issue_date": "2010-13-01"}}"#,
         400, "bad_attribute_value"),
        ("unknown attribute", #"{"type": "driving_licence", "holder": "HOLDER", "attributes": {"licence_class": "C1", "first_issue_date": "2010-05-01", "colour": "red"}}"#,
         400, "unknown_attribute"),
        ("invalid ID checksum", #"{"type": "driving_licence", "holder": "110105194912310021", "attributes": {"licence_class": "C1", "first_issue_date": "2010-05-01"}}"#,
         400, "invalid_id_number"),
        ("ID too short", #"{"type": "driving_licence", "holder": "1101051949", "attributes": {"licence_class": "C1", "first_issue_date": "2010-05-01"}}"#,
         400, "invalid_id_number"),
        ("validity ends before start", #"{"type": "driving_licence", "holder": "HOLDER", "valid_from": "2026-06-01", "valid_until": "2026-05-01", "attributes": {"licence_class": "C1", "first_issue_date": "2010-05-01"}}"#,
         400, "validity_ends_before_start"),
        ("missing holder field", #"{"type": "driving_licence"}"#, 400, "malformed_request"),
    ])
    func issue_refusals(name: String, body: String, status: Int, code: String) async throws {
        try await withRunningNode { node in
            let json = Data(body.replacingOccurrences(of: "HOLDER", with: holderA).utf8)
            let result = try await node.call("POST", "/v1/licenses", token: node.adminToken, body: json)
            #expect(result.status == status, "\(name)")
            #expect(result.errorCode == code, "\(name): \(result.errorMessage ?? "")")
            #expect(!(result.errorMessage ?? "").isEmpty)
            #expect(node.entries == 0)
        }
    }

    @Test func invalidIDNumber_messageSaysWhichRuleFailed() async throws {
        try await withRunningNode { node in
            let result = try await node.post("/v1/holders/lookup", ["holder": "110105194902300021", "purpose": "x"],
                                             token: node.clerkToken)
            #expect(result.status == 400)
            #expect(result.errorCode == "invalid_id_number")
            #expect(result.errorMessage?.contains("birth date") == true)
            #expect(try node.service.auditLog(limit: 10).isEmpty)
        }
    }

    @Test func eventsOnUnknownOrRevokedLicenses_areRefusedAndStoreNothing() async throws {
        try await withRunningNode { node in
            let unknown = try await node.post("/v1/licenses/bj-77-0123abcd/revoke", ["reason": "x"])
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "unknown_license")
            let badID = try await node.post("/v1/licenses/not-an-id/revoke", ["reason": "x"])
            #expect(badID.status == 400)
            #expect(badID.errorCode == "invalid_license_id")

            let id = try await node.issueDrivingLicence()
            #expect(try await node.post("/v1/licenses/\(id)/revoke", ["reason": "fraud"]).status == 200)
            let again = try await node.post("/v1/licenses/\(id)/revoke", ["reason": "fraud"])
            #expect(again.status == 409)
            #expect(again.errorCode == "already_revoked")
            let noReason = try await node.post("/v1/licenses/\(id)/suspend", [:])
            #expect(noReason.status == 400)
            #expect(node.entries == 2)
        }
    }

    @Test func oncePerHolderType_secondActiveLicenceIsRefused() async throws {
        try await withRunningNode { node in
            let first = try await node.issueDrivingLicence()
            let second = try await node.post("/v1/licenses", [
                "type": "driving_licence", "holder": holderA,
                "attributes": ["licence_class": "C1", "first_issue_date": "2010-05-01"],
            ])
            #expect(second.status == 409)
            #expect(second.errorCode == "already_holds_type")
            #expect(second.errorMessage?.contains(first) == true)
            _ = try await node.post("/v1/licenses/\(first)/revoke", ["reason": "replaced"])
            _ = try await node.issueDrivingLicence()
            #expect(node.entries == 3)
        }
    }

    @Test func malformedAndOversizedBodies_areRefusedBeforeAnythingIsStored() async throws {
        try await withRunningNode { node in
            let garbage = try await node.call("POST", "/v1/licenses", token: node.adminToken, body: Data("{not json".utf8))
            #expect(garbage.status == 400)
            #expect(garbage.errorCode == "malformed_request")
            let wrongType = try await node.call("POST", "/v1/licenses", token: node.adminToken,
                                                body: Data(#"{"type": 7, "holder": "x"}"#.utf8))
            #expect(wrongType.errorCode == "malformed_request")
            let huge = Data(("{\"type\":\"" + String(repeating: "a", count: AdminAPI.requestBytesMax) + "\"}").utf8)
            let oversized = try await node.call("POST", "/v1/licenses", token: node.adminToken, body: huge)
            #expect(oversized.status == 413)
            #expect(oversized.errorCode == "request_too_large")
            #expect(node.entries == 0)
        }
    }

    @Test func rawIDNumber_neverReachesTheLedgerFiles() async throws {
        try await withRunningNode { node in
            let id = try await node.issueDrivingLicence(to: holderA)
            _ = try await node.post("/v1/licenses/\(id)/suspend", ["reason": "points"])
            _ = try await node.post("/v1/holders/lookup", ["holder": holderA, "purpose": "counter 1"], token: node.clerkToken)
            for file in [node.directory.ledgerFile, node.directory.ledgerFile + "-wal"] {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(bytes.range(of: Data(holderA.utf8)) == nil, "\(file) holds the raw ID number")
                #expect(bytes.range(of: Data("19491231".utf8)) == nil, "\(file) holds the birth date")
            }
        }
    }

    @Test func idNumberInFreeText_isRefused() async throws {
        try await withRunningNode { node in
            let id = try await node.issueDrivingLicence()
            let reason = try await node.post("/v1/licenses/\(id)/suspend", ["reason": "holder \(holderB) asked"])
            #expect(reason.status == 400)
            #expect(reason.errorCode == "contains_id_number")
            let attribute = try await node.post("/v1/licenses/\(id)/amend", ["set": ["restrictions": holderB]])
            #expect(attribute.errorCode == "contains_id_number")
            let purpose = try await node.post("/v1/holders/lookup", ["holder": holderA, "purpose": "for \(holderB)"],
                                              token: node.clerkToken)
            #expect(purpose.errorCode == "contains_id_number")
            #expect(node.entries == 1)
            #expect(try node.service.auditLog(limit: 10).isEmpty)
        }
    }

    @Test func unknownRoute_isAJSON404() async throws {
        try await withRunningNode { node in
            let result = try await node.get("/v1/nothing-here")
            #expect(result.status == 404)
            #expect(result.errorCode == "not_found")
        }
    }

    @Test func catalog_listsTheNationalTypes() async throws {
        try await withRunningNode { node in
            let result = try await node.get("/v1/catalog", token: node.clerkToken)
            let types = result.json["types"] as? [[String: Any]] ?? []
            #expect(types.count >= 8)
            #expect(types.contains { $0["code"] as? String == "business_license" && $0["name_zh"] as? String == "营业执照" })
        }
    }
}
