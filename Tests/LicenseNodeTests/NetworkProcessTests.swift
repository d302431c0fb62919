import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Three `licensed` processes of a test network, wired as a line gd – bj – sh over
/// mutual TLS on loopback (every port picked at start, so nothing is fixed). Each test
/// cleans up its processes by PID.
@Suite("Network processes", .timeLimit(.minutes(5)))
struct NetworkProcessTests {
    struct Network {
        let root: String
        let ids = ["gd", "bj", "sh"]

        func config(_ id: String) -> String { "\(root)/\(id)/config.json" }
        func data(_ id: String) -> String { "\(root)/\(id)/data" }

        func gossipAddress(_ id: String) throws -> String {
            try String(contentsOfFile: data(id) + "/gossip.addr", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func writePeers(_ id: String, _ peers: [String]) throws {
            let entries = try peers.map { "{\"node_id\": \"\($0)\", \"address\": \"\(try gossipAddress($0))\"}" }
            try "{\"peers\": [\(entries.joined(separator: ", "))]}\n"
                .write(toFile: "\(root)/\(id)/peers.json", atomically: true, encoding: .utf8)
        }

        func status(_ id: String) async throws -> [String: Any] {
            try await CLI.run("status", "--data-dir", data(id), "--json").json ?? [:]
        }

        /// Polls (bounded) until every node reports `entries` entries and one digest.
        func converged(entries: Int) async throws -> Bool {
            for _ in 0..<600 {
                var statuses: [[String: Any]] = []
                for id in ids { statuses.append(try await status(id)) }
                let digests = Set(statuses.compactMap { $0["ledger_digest"] as? String })
                if statuses.allSatisfy({ $0["entries"] as? Int == entries }) && digests.count == 1 { return true }
            }
            return false
        }
    }

    @Test func lineOfThree_converges_andANodeKilledHardCatchesUp() async throws {
        let scratch = TemporaryDirectory()
        let network = Network(root: scratch.path + "/net")
        let made = try await CLI.run("testnet", "--provinces", "440000,110000,310000", "--out", network.root,
                                     "--base-port", "0", "--topology", "line")
        #expect(made.status == 0, "\(made.stderr)")
        var daemons: [String: Daemon] = [:]
        defer { for daemon in daemons.values { daemon.kill() } }
        for id in network.ids { daemons[id] = try await Daemon.start(["--config", network.config(id)]) }
        // Wire the line now that every gossip port is known, and tell each node.
        try network.writePeers("gd", ["bj"])
        try network.writePeers("bj", ["gd", "sh"])
        try network.writePeers("sh", ["bj"])
        for daemon in daemons.values { daemon.signal(SIGHUP) }

        var issued: [String] = []
        for (index, id) in network.ids.enumerated() {
            let result = try await CLI.run("issue", "--data-dir", network.data(id), "--type", "residence_permit",
                                           "--holder", holderB, "--attr", "city=\(id)", "--attr", "address=No. \(index)")
            #expect(result.status == 0, "\(result.stderr)")
            issued.append(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(try await network.converged(entries: 3))
        // One window: sh sees gd's license, relayed through bj.
        let window = try await CLI.run("holder", holderB, "--purpose", "test", "--data-dir", network.data("sh"), "--json")
        let licenses = (window.json?["licenses"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(Set(licenses) == Set(issued))

        // bj sees both neighbours connected, with nothing left to send them.
        let peers = try await CLI.run("peers", "--data-dir", network.data("bj"), "--json").json?["peers"] as? [[String: Any]] ?? []
        #expect(Set(peers.compactMap { $0["node_id"] as? String }) == ["gd", "sh"])
        #expect(peers.allSatisfy { $0["connected"] as? Bool == true })
        let status = try await network.status("bj")
        #expect((status["peers"] as? [Any])?.count == 2)
        // Ready: its ledger reads and its peers are connected (no token needed).
        let adminURL = try String(contentsOfFile: network.data("bj") + "/admin.url", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let (readyz, _) = try await URLSession.shared.data(from: URL(string: adminURL + "/readyz")!)
        let ready = try JSONSerialization.jsonObject(with: readyz) as? [String: Any]
        #expect(ready?["status"] as? String == "ready" && ready?["peers_connected"] as? Int == 2, "\(String(describing: ready))")

        // kill -9 sh, write more elsewhere, restart sh: it catches up, nothing acknowledged is lost.
        #expect(try await daemons["sh"]!.stop(signal: SIGKILL) == SIGKILL)
        for n in 0..<2 {
            let result = try await CLI.run("issue", "--data-dir", network.data("gd"), "--type", "residence_permit",
                                           "--holder", holderB, "--attr", "city=gd", "--attr", "address=later \(n)")
            #expect(result.status == 0)
            issued.append(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        daemons["sh"] = try await Daemon.start(["--config", network.config("sh")])
        #expect(try await network.converged(entries: 5))
        for id in network.ids {
            for license in issued {
                #expect(try await CLI.run("show", license, "--data-dir", network.data(id)).status == 0, "\(license) on \(id)")
            }
            #expect(try await CLI.run("verify-ledger", "--data-dir", network.data(id)).status == 0)
        }

        // SIGHUP after sh is taken out of bj's peer list: bj closes sh's open session and
        // refuses its redials.
        try network.writePeers("bj", ["gd"])
        daemons["bj"]!.signal(SIGHUP)
        var shSeenByBJ: [String: Any] = [:]
        for _ in 0..<600 {
            let peers = try await CLI.run("peers", "--data-dir", network.data("bj"), "--json").json?["peers"] as? [[String: Any]] ?? []
            shSeenByBJ = peers.first { $0["node_id"] as? String == "sh" } ?? [:]
            if shSeenByBJ["connected"] as? Bool == false { break }
        }
        #expect(shSeenByBJ["connected"] as? Bool == false)
        #expect((shSeenByBJ["last_error"] as? String)?.contains("not in this node's peer list") == true, "\(shSeenByBJ)")
        for daemon in daemons.values { #expect(try await daemon.stop(signal: SIGTERM) == 0) }
    }
}
