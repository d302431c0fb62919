import Foundation
import LicenseCore

/// A configured (production or test network) node: `licensed --config FILE`.
/// Paths are relative to the config file's directory. docs/CONFIG.md describes every
/// field; `peers.example.json` at the repository root shows a peer list.
public struct NodeConfig: Sendable, Equatable {
    public var nodeID: String
    public var province: String
    public var dataDirectory: String
    public var adminHost: String
    public var adminPort: Int
    public var gossipHost: String
    public var gossipPort: Int
    public var peersFile: String
    public var caCertificate: String
    public var nodeCertificate: String
    public var nodeKey: String
    public var rootPublicKey: String
    /// Issuer certificates of the network (every province's), one file each.
    public var certificatesDirectory: String

    struct Document: Codable {
        var node_id: String?
        var province: String?
        var data_dir: String?
        var admin: Endpoint?
        var gossip: Endpoint?
        var peers: String?
        var tls: TLSFiles?
        var root_public_key: String?
        var certificates_dir: String?

        struct Endpoint: Codable {
            var host: String?
            var port: Int?
        }

        struct TLSFiles: Codable {
            var ca: String?
            var certificate: String?
            var key: String?
        }
    }

    /// Reads and checks a config file, reporting every problem at once.
    public static func load(path: String) throws(NodeSetupError) -> NodeConfig {
        let text = try Files.read(path)
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(text.utf8))
        } catch {
            throw .badFile(path: path, field: "(document)", expected: "a JSON object as in docs/CONFIG.md (\(error))")
        }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ file: String) -> String {
            file.hasPrefix("/") ? file : (base as NSString).appendingPathComponent(file)
        }
        var problems: [String] = []
        func require<T>(_ value: T?, _ field: String, _ expected: String) -> T? {
            if value == nil { problems.append("\(path): \(field) is missing; expected \(expected)") }
            return value
        }
        let nodeID = require(document.node_id, "node_id", "a node id such as \"gd\"") ?? ""
        if !nodeID.isEmpty && !NodeID.isValid(nodeID) {
            problems.append("\(path): node_id '\(nodeID)' must be 1–32 lower-case letters, digits or '-'")
        }
        let province = require(document.province, "province", "a GB/T 2260 code such as \"440000\"") ?? ""
        if !province.isEmpty && Province.byCode[province] == nil {
            problems.append("\(path): province '\(province)' is not a GB/T 2260 provincial code")
        }
        let adminPort = document.admin?.port ?? 7400
        let gossipPort = require(document.gossip?.port, "gossip.port", "a TCP port") ?? 0
        for (field, port) in [("admin.port", adminPort), ("gossip.port", gossipPort)] where !(0...65_535).contains(port) {
            problems.append("\(path): \(field) \(port) is not a TCP port (0–65535)")
        }
        let files: [(String, String?)] = [
            ("peers", document.peers), ("tls.ca", document.tls?.ca), ("tls.certificate", document.tls?.certificate),
            ("tls.key", document.tls?.key), ("root_public_key", document.root_public_key),
        ]
        var resolved: [String: String] = [:]
        for (field, value) in files {
            guard let value = require(value, field, "a file path") else { continue }
            let file = resolve(value)
            resolved[field] = file
            if !Files.exists(file) { problems.append("\(path): \(field) names \(file), which does not exist") }
        }
        let certificates = resolve(document.certificates_dir ?? "certificates")
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: certificates, isDirectory: &isDirectory) || !isDirectory.boolValue {
            problems.append("\(path): certificates_dir names \(certificates), which is not a directory (the other nodes' issuer certificates)")
        }
        guard problems.isEmpty else { throw .invalidConfiguration(problems) }
        return NodeConfig(
            nodeID: nodeID, province: province, dataDirectory: resolve(document.data_dir ?? "data"),
            adminHost: document.admin?.host ?? "127.0.0.1", adminPort: adminPort,
            gossipHost: document.gossip?.host ?? "127.0.0.1", gossipPort: gossipPort,
            peersFile: resolved["peers"]!, caCertificate: resolved["tls.ca"]!, nodeCertificate: resolved["tls.certificate"]!,
            nodeKey: resolved["tls.key"]!, rootPublicKey: resolved["root_public_key"]!, certificatesDirectory: certificates)
    }
}

/// `peers.json`: the peers a node dials.
public struct PeerList: Sendable, Equatable {
    public struct Peer: Sendable, Equatable {
        public let nodeID: String
        public let host: String
        public let port: Int
    }

    public let peers: [Peer]
    public static let peersMax = 256

    struct Document: Codable {
        struct Entry: Codable {
            var node_id: String
            var address: String
        }

        var peers: [Entry]
    }

    /// Reads a peer list, reporting every bad entry at once.
    public static func load(path: String, selfID: String) throws(NodeSetupError) -> PeerList {
        let text = try Files.read(path)
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(text.utf8))
        } catch {
            throw .badFile(path: path, field: "peers", expected: "{\"peers\": [{\"node_id\", \"address\": \"host:port\"}]} (\(error))")
        }
        var problems: [String] = []
        var seen: Set<String> = []
        var peers: [Peer] = []
        if document.peers.count > peersMax { problems.append("\(path): more than \(peersMax) peers") }
        for (index, entry) in document.peers.enumerated() {
            let place = "\(path): peers[\(index)]"
            guard NodeID.isValid(entry.node_id) else {
                problems.append("\(place).node_id '\(entry.node_id)' is not a valid node id")
                continue
            }
            if entry.node_id == selfID { problems.append("\(place) is this node itself ('\(selfID)')") }
            if !seen.insert(entry.node_id).inserted { problems.append("\(place): node '\(entry.node_id)' is listed twice") }
            guard let colon = entry.address.lastIndex(of: ":"), let port = Int(entry.address[entry.address.index(after: colon)...]),
                  (1...65_535).contains(port), colon != entry.address.startIndex
            else {
                problems.append("\(place).address '\(entry.address)' must be host:port")
                continue
            }
            peers.append(Peer(nodeID: entry.node_id, host: String(entry.address[..<colon]), port: port))
        }
        guard problems.isEmpty else { throw .invalidConfiguration(problems) }
        return PeerList(peers: peers)
    }
}
