import Foundation
import LicenseCore
import LicenseNode
@testable import LicenseTransport
import Testing

/// A node restored from an old backup (or with a wiped disk) must not sign new entries at
/// seqs it already used: while a connected peer holds more of its own entries, it writes
/// nothing (docs/OPERATIONS.md, backup and restore).
@Suite struct RestoredNodeTests {
    /// What a peer's session reports: connected, holding `seq` of `origin`'s entries.
    static func peer(_ board: PeerBoard, _ id: String, connected: Bool = true, holds origin: String, upTo seq: UInt64) {
        board.update(id, now: 0) { status in
            status.connected = connected
            status.peerVector = [origin: seq]
        }
    }

    @Test func aPeerHoldingMoreOfOurOwnEntries_blocksWrites_untilWeHoldThemToo() async throws {
        try await withRunningNode { node in
            _ = try await node.issueDrivingLicence()
            let own = node.service.material.identity.nodeID
            let board = node.service.peerBoard
            // A peer that is not connected says nothing about now.
            Self.peer(board, "sh", connected: false, holds: own, upTo: 9)
            _ = try await node.issueDrivingLicence(to: holderB)
            #expect(node.entries == 2)

            Self.peer(board, "gd", holds: own, upTo: 5)
            let refused = try await node.post("/v1/licenses", [
                "type": "driving_licence", "holder": residentID("31010419800101002"),
                "attributes": ["licence_class": "C1", "first_issue_date": "2010-05-01"],
            ])
            #expect(refused.status == 503)
            let error = refused.json["error"] as? [String: Any]
            #expect(error?["code"] as? String == "own_entries_behind")
            #expect((error?["message"] as? String)?.contains("peer gd holds this node's own entries up to #5 but this node only up to #2") == true)
            #expect(node.entries == 2)

            // An agreement is an entry of the node's own origin too.
            let agreement = try await node.post("/v1/agreements", ["terms": [["province": "*", "license_types": ["*"]]]],
                                                token: node.operatorToken)
            #expect(agreement.status == 503)
            #expect((agreement.json["error"] as? [String: Any])?["code"] as? String == "own_entries_behind")
            #expect(node.entries == 2)

            // Once the gossip has brought them back (here: the peer holds no more than we do),
            // writes go through again.
            Self.peer(board, "gd", holds: own, upTo: 2)
            _ = try await node.issueDrivingLicence(to: residentID("31010419800101002"))
            #expect(node.entries == 3)
        }
    }
}
