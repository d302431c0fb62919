import ArgumentParser
import Foundation
import LicenseCore
import LicenseTransport

/// Offline: the transport PKI that authenticates gossip connections (docs/PKI.md).
struct PKI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Offline: create the network CA and node TLS certificates for gossip.",
        subcommands: [PKIInit.self, PKINode.self])
}

struct PKIInit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the network CA in DIR.")

    @Option(help: "Directory to write ca.pem and ca.key (0600) into.") var out: String
    @Option(help: "Days of validity.") var days = 3650

    func run() throws {
        do {
            guard (1...36_600).contains(days) else { throw CLIError("--days must be 1–36600") }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let ca = try TransportPKI.makeCA(notBefore: Date(timeIntervalSinceNow: -300), days: days)
            try SecretFile.create(out + "/ca.key", ca.privateKeyPEM, mode: 0o600)
            try SecretFile.create(out + "/ca.pem", ca.certificatePEM, mode: 0o644)
            print("network CA written to \(out)/ca.pem and \(out)/ca.key (keep the key offline)")
        } catch {
            throw reportAndExit("\(error)")
        }
    }
}

struct PKINode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Issue a node's TLS certificate, naming its node id, from the network CA.")

    @Option(help: "Directory holding ca.pem and ca.key.") var ca: String
    @Option(help: "Node id the certificate names.") var nodeID: String
    @Option(help: "Directory to write node.pem and node.key (0600) into.") var out: String
    @Option(help: "Days of validity.") var days = 825

    func run() throws {
        do {
            guard NodeID.isValid(nodeID) else { throw CLIError("--node-id '\(nodeID)' is not a valid node id") }
            guard (1...36_600).contains(days) else { throw CLIError("--days must be 1–36600") }
            let caPEM = try String(contentsOfFile: ca + "/ca.pem", encoding: .utf8)
            let caKey = try String(contentsOfFile: ca + "/ca.key", encoding: .utf8)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let issued = try TransportPKI.makeNode(nodeID: nodeID, caCertificatePEM: caPEM, caKeyPEM: caKey,
                                                   notBefore: Date(timeIntervalSinceNow: -300), days: days)
            try SecretFile.create(out + "/node.key", issued.privateKeyPEM, mode: 0o600)
            try SecretFile.create(out + "/node.pem", issued.certificatePEM, mode: 0o644, replace: true)
            print("TLS certificate of node '\(nodeID)' written to \(out)/node.pem and \(out)/node.key")
        } catch {
            throw reportAndExit("\(error)")
        }
    }
}
