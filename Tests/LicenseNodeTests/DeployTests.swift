import Foundation
@testable import LicenseNode
import Testing

/// deploy/: the systemd unit passes `systemd-analyze verify` and keeps its hardening; the
/// example configs are complete network-node configs of three provinces that list each other.
@Suite struct DeployTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy").path

    @Test func systemdUnit_verifies_andIsHardened() async throws {
        let unit = try String(contentsOfFile: Self.deploy + "/licensed.service", encoding: .utf8)
        for directive in ["User=licensed", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                          "StateDirectory=licensed", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM",
                          "CapabilityBoundingSet=", "ProtectHome=yes"] {
            #expect(unit.split(separator: "\n").contains { $0 == directive }, "missing \(directive)")
        }
        #expect(unit.contains("ExecStartPre=/usr/local/bin/licensed check-config --config /etc/licensed/config.json"))
        // verify checks that the commands exist: point them at the binary this build made.
        let scratch = TemporaryDirectory()
        let copy = scratch.path + "/licensed.service"
        try unit.replacingOccurrences(of: "/usr/local/bin/licensed", with: try Binaries.path("licensed"))
            .write(toFile: copy, atomically: true, encoding: .utf8)
        let verified = try await CLI.run(path: "/usr/bin/systemd-analyze", ["verify", copy])
        let text = verified.stdout + verified.stderr
        #expect(verified.status == 0, "\(text)")
        #expect(!text.contains("licensed.service"), "systemd-analyze has remarks on the unit: \(text)")
    }

    @Test func exampleConfigs_areThreeProvincesThatListEachOther() throws {
        var ids: [String] = []
        for id in ["gd", "bj", "sh"] {
            let directory = Self.deploy + "/examples/" + id
            let config = try JSONDecoder().decode(NodeConfig.Document.self,
                                                  from: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json")))
            #expect(config.node_id == id)
            #expect(config.data_dir == "/var/lib/licensed")
            #expect(config.province != nil && config.gossip?.port != nil && config.tls?.certificate != nil
                    && config.root_public_key != nil)
            let peers = try PeerList.load(path: directory + "/peers.json", selfID: id)
            #expect(Set(peers.peers.map(\.nodeID)) == Set(["gd", "bj", "sh"]).subtracting([id]))
            ids.append(id)
        }
        #expect(ids.count == 3)
    }
}
