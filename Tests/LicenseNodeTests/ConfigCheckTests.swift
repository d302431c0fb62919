import Foundation
import LicenseCore
@testable import LicenseNode
import Testing

/// `licensed check-config` and the same checks at start: every problem at once, each
/// naming its file, and nothing written.
@Suite struct ConfigCheckTests {
    /// A two-province test network written by `licensectl testnet`; returns gd's config.
    func network(_ scratch: TemporaryDirectory) async throws -> String {
        let made = try await CLI.run("testnet", "--provinces", "440000,110000", "--out", scratch.path + "/net", "--base-port", "0")
        #expect(made.status == 0, "\(made.stderr)")
        return scratch.path + "/net/gd/config.json"
    }

    @Test func generatedNetwork_passes() async throws {
        let scratch = TemporaryDirectory()
        let config = try await network(scratch)
        #expect(ConfigCheck.problems(configPath: config) == [])
        let result = try await CLI.run(binary: "licensed", ["check-config", "--config", config])
        #expect(result.status == 0 && result.stdout.contains("ok"), "\(result.stderr)")
    }

    @Test func everyProblem_isReportedAtOnce_withItsFile() async throws {
        let scratch = TemporaryDirectory()
        let config = try await network(scratch)
        let gd = scratch.path + "/net/gd", bj = scratch.path + "/net/bj"
        // A peer listed twice, the other node's TLS certificate, a tampered issuer certificate.
        try #"{"peers": [{"node_id": "bj", "address": "127.0.0.1:9"}, {"node_id": "bj", "address": "127.0.0.1:10"}]}"#
            .write(toFile: gd + "/peers.json", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: gd + "/tls/node.pem")
        try FileManager.default.copyItem(atPath: bj + "/tls/node.pem", toPath: gd + "/tls/node.pem")
        let certificateFile = gd + "/certificates/bj.cert"
        var certificate = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: certificateFile)))
            as? [String: String])
        let signature = try #require(certificate["signature"])
        certificate["signature"] = (signature.hasPrefix("A") ? "B" : "A") + signature.dropFirst()
        try JSONSerialization.data(withJSONObject: certificate).write(to: URL(fileURLWithPath: certificateFile))

        let problems = ConfigCheck.problems(configPath: config)
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.contains { $0.hasPrefix(gd + "/peers.json") && $0.contains("listed twice") })
        #expect(problems.contains { $0.hasPrefix(gd + "/tls/node.pem") && $0.contains("names 'bj', not 'gd'") })
        #expect(problems.contains { $0.hasPrefix(gd + "/certificates/bj.cert") })

        let checked = try await CLI.run(binary: "licensed", ["check-config", "--config", config])
        #expect(checked.status == 1)
        #expect(checked.stderr.contains("3 problems"))
        // The daemon refuses to start on the same problems, and writes nothing.
        let before = try FileManager.default.contentsOfDirectory(atPath: gd + "/data").sorted()
        let started = try await CLI.run(binary: "licensed", ["--config", config])
        #expect(started.status != 0)
        #expect(started.stderr.contains("listed twice") && started.stderr.contains("names 'bj', not 'gd'"), "\(started.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: gd + "/data").sorted() == before)
    }

    @Test func certificateFromAnotherCA_andMissingDataFiles_areReported() async throws {
        let scratch = TemporaryDirectory()
        let config = try await network(scratch)
        let gd = scratch.path + "/net/gd"
        let foreign = try await CLI.run("pki", "init", "--out", scratch.path + "/other-ca")
        #expect(foreign.status == 0, "\(foreign.stderr)")
        let issued = try await CLI.run("pki", "node", "--ca", scratch.path + "/other-ca", "--node-id", "gd", "--out", scratch.path + "/other-node")
        #expect(issued.status == 0, "\(issued.stderr)")
        try FileManager.default.removeItem(atPath: gd + "/tls/node.pem")
        try FileManager.default.copyItem(atPath: scratch.path + "/other-node/node.pem", toPath: gd + "/tls/node.pem")
        try FileManager.default.removeItem(atPath: gd + "/data/holder.key")

        let problems = ConfigCheck.problems(configPath: config)
        #expect(problems.contains { $0.hasPrefix(gd + "/tls/node.pem") && $0.contains("not signed by the network CA") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix(gd + "/data/holder.key is missing") }, "\(problems)")
    }
}
