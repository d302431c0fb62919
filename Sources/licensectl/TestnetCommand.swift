import ArgumentParser
import Foundation
import LicenseAPI
import LicenseCore
import LicenseNode
import LicenseTransport

/// Offline: writes everything a local network of provinces on 127.0.0.1 needs — one
/// folder per province with its config, keys, certificates and peers — and prints the
/// command that starts each node (as `tendermint testnet` does).
struct Testnet: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Offline: write a local test network of provinces (configs, keys, certificates, peers).")

    enum Topology: String, ExpressibleByArgument, CaseIterable { case full, line, ring }

    @Option(help: "Comma-separated GB/T 2260 province codes, e.g. 440000,110000,310000.") var provinces: String
    @Option(help: "Directory to write the network into (must not exist or be empty).") var out: String
    @Option(help: "First port: node i gets admin port P+2i and gossip port P+2i+1. 0: every port 0 (free ports picked at start; peers.json left empty for the caller to fill).")
    var basePort = 7400
    @Option(help: "Who dials whom: full, line or ring.") var topology: Topology = .full

    struct NodeSummary: Codable {
        let id: String
        let province: String
        let gossip: String
        let admin_url: String
        let data_dir: String
        let token_file: String
        let config: String
        let command: String
    }

    func run() throws {
        do {
            let codes = provinces.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            guard codes.count >= 1, codes.count <= Province.all.count else { throw CLIError("--provinces must name 1–34 provinces") }
            for code in codes where Province.byCode[code] == nil { throw CLIError("--provinces: \(code) is not a GB/T 2260 provincial code") }
            guard Set(codes).count == codes.count else { throw CLIError("--provinces names a province twice") }
            guard basePort == 0 || (1024...(65_535 - 2 * codes.count)).contains(basePort) else {
                throw CLIError("--base-port must be 0 or leave room for \(2 * codes.count) ports below 65536")
            }
            if let existing = try? FileManager.default.contentsOfDirectory(atPath: out), !existing.isEmpty {
                throw CLIError("\(out) is not empty")
            }
            let root = URL(fileURLWithPath: out).standardizedFileURL.path
            try FileManager.default.createDirectory(atPath: root + "/ca", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            try FileManager.default.createDirectory(atPath: root + "/root", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let ca = try TransportPKI.makeCA(notBefore: Date(timeIntervalSinceNow: -300), days: 3650)
            try SecretFile.create(root + "/ca/ca.pem", ca.certificatePEM, mode: 0o644)
            try SecretFile.create(root + "/ca/ca.key", ca.privateKeyPEM, mode: 0o600)
            let rootSeed = randomSeed()
            let rootKey = try SigningKey(seed: rootSeed)
            try SecretFile.create(root + "/root/root.key", Hex.encode(rootSeed) + "\n", mode: 0o600)
            try SecretFile.create(root + "/root/root.pub", Hex.encode(rootKey.publicKey.bytes) + "\n", mode: 0o644)
            let holderKey = Hex.encode(randomSeed()) + "\n"
            let catalog = try LicenseCore.Catalog.bundled()
            let now = UInt64(Date().timeIntervalSince1970 * 1000) - 300_000
            let nodes = codes.map { Province.byCode[$0]! }
            func port(_ index: Int, gossip: Bool) -> Int { basePort == 0 ? 0 : basePort + 2 * index + (gossip ? 1 : 0) }

            // Issuer keys and certificates first: every node gets every certificate.
            var certificates: [String: String] = [:]
            var issuerSeeds: [String: [UInt8]] = [:]
            for province in nodes {
                let seed = randomSeed()
                issuerSeeds[province.shortID] = seed
                let certificate = IssuerCertificate.issue(.init(
                    nodeID: province.shortID, province: province.code, publicKey: try SigningKey(seed: seed).publicKey,
                    notBeforeMilliseconds: now, notAfterMilliseconds: now + 3650 * 86_400_000,
                    licenseTypes: catalog.types.map(\.code), rootKeyID: RootKeyID.derive(rootKey.publicKey)), root: rootKey)
                certificates[province.shortID] = certificate.jsonText()
            }
            var summaries: [NodeSummary] = []
            for (index, province) in nodes.enumerated() {
                let id = province.shortID
                let dir = root + "/" + id
                for sub in ["", "/tls", "/data", "/certificates"] {
                    try FileManager.default.createDirectory(atPath: dir + sub, withIntermediateDirectories: true,
                                                            attributes: [.posixPermissions: 0o700])
                }
                let tls = try TransportPKI.makeNode(nodeID: id, caCertificatePEM: ca.certificatePEM, caKeyPEM: ca.privateKeyPEM,
                                                    notBefore: Date(timeIntervalSinceNow: -300), days: 825)
                try SecretFile.create(dir + "/tls/node.pem", tls.certificatePEM, mode: 0o644)
                try SecretFile.create(dir + "/tls/node.key", tls.privateKeyPEM, mode: 0o600)
                try SecretFile.create(dir + "/tls/ca.pem", ca.certificatePEM, mode: 0o644)
                try SecretFile.create(dir + "/root.pub", Hex.encode(rootKey.publicKey.bytes) + "\n", mode: 0o644)
                let seed = issuerSeeds[id]!
                try SecretFile.create(dir + "/data/issuer.key", Hex.encode(seed) + "\n", mode: 0o600)
                try SecretFile.create(dir + "/data/issuer.pub", Hex.encode(try SigningKey(seed: seed).publicKey.bytes) + "\n", mode: 0o644)
                try SecretFile.create(dir + "/data/issuer.cert", certificates[id]!, mode: 0o644)
                try SecretFile.create(dir + "/data/holder.key", holderKey, mode: 0o600)
                for (other, text) in certificates.sorted(by: { $0.key < $1.key }) where other != id {
                    try SecretFile.create(dir + "/certificates/\(other).cert", text, mode: 0o644)
                }
                let token = try AccessTokens.add(name: "\(id)-admin", roles: Role.allCases, path: dir + "/data/tokens.json")
                try SecretFile.create(dir + "/data/admin.token", token + "\n", mode: 0o600)
                let neighbours: [Int] = switch topology {
                case .full: Array(nodes.indices).filter { $0 != index }
                case .line: [index - 1, index + 1].filter { nodes.indices.contains($0) }
                case .ring: Array(Set([(index + nodes.count - 1) % nodes.count, (index + 1) % nodes.count])).filter { $0 != index }.sorted()
                }
                let peers = basePort == 0 ? [] : neighbours.map { ["node_id": nodes[$0].shortID, "address": "127.0.0.1:\(port($0, gossip: true))"] }
                try SecretFile.create(dir + "/peers.json", try jsonText(["peers": peers]), mode: 0o644)
                let config: [String: Any] = [
                    "node_id": id, "province": province.code, "data_dir": "data",
                    "admin": ["host": "127.0.0.1", "port": port(index, gossip: false)],
                    "gossip": ["host": "127.0.0.1", "port": port(index, gossip: true)],
                    "peers": "peers.json", "root_public_key": "root.pub", "certificates_dir": "certificates",
                    "tls": ["ca": "tls/ca.pem", "certificate": "tls/node.pem", "key": "tls/node.key"],
                ]
                try SecretFile.create(dir + "/config.json", try jsonText(config), mode: 0o644)
                summaries.append(NodeSummary(
                    id: id, province: province.code, gossip: "127.0.0.1:\(port(index, gossip: true))",
                    admin_url: "http://127.0.0.1:\(port(index, gossip: false))", data_dir: dir + "/data",
                    token_file: dir + "/data/admin.token", config: dir + "/config.json",
                    command: "licensed --config \(dir)/config.json"))
            }
            let summary = try JSON.encoder(pretty: true).encode(["nodes": summaries])
            try SecretFile.create(root + "/testnet.json", String(decoding: summary, as: UTF8.self) + "\n", mode: 0o644)
            print("wrote a \(topology.rawValue) network of \(nodes.count) provinces to \(root) (summary: \(root)/testnet.json)")
            print("start each node:")
            for node in summaries { print("  \(node.command)") }
        } catch {
            throw reportAndExit("\(error)")
        }
    }

    private func jsonText(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), as: UTF8.self) + "\n"
    }
}
