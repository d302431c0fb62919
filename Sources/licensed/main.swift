import ArgumentParser
import Foundation
import LicenseCore
import LicenseNode
import Logging

/// `licensed`: the LicenseExchange daemon. With no arguments it starts a standalone
/// development node in ./licensed-data.
@main
struct Licensed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "licensed",
        abstract: "The LicenseExchange node daemon.",
        subcommands: [Run.self, CheckConfig.self, Token.self],
        defaultSubcommand: Run.self)
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a network node's config, peers, certificates, keys and root key without starting it.",
        discussion: "Reports every problem at once, each with its file, field and what is expected; exits 1 if there is any. The daemon makes the same checks and refuses to start on any of them.")

    @Option(help: "Config file of a network node (docs/CONFIG.md).")
    var config: String

    func run() throws {
        let problems = ConfigCheck.problems(configPath: config)
        guard problems.isEmpty else {
            FileHandle.standardError.write(Data(("\(config): \(problems.count) problem\(problems.count == 1 ? "" : "s")\n"
                + problems.map { "  " + $0 }.joined(separator: "\n") + "\n").utf8))
            throw ExitCode(1)
        }
        print("\(config): ok (config, peers, TLS certificate and key, data directory keys and certificate, root key, issuer certificates)")
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a node (a standalone development node unless configured otherwise).")

    @Option(help: "Config file of a network node (docs/CONFIG.md); without it, a standalone development node.")
    var config: String?

    @Option(help: "Data directory (created on first start).")
    var dataDir = "./licensed-data"

    @Option(help: "Node id on first start (default: the province's short id, e.g. bj).")
    var nodeID: String?

    @Option(help: "GB/T 2260 province code on first start (default 110000).")
    var province: String?

    @Option(help: "Admin API listen address.")
    var adminHost = "127.0.0.1"

    @Option(help: "Admin API port (0 picks a free one and writes it to <data-dir>/admin.url).")
    var adminPort = 7400

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log format on stderr: text, or json (one object per line, for log collectors).")
    var logFormat: LogFormat = .text

    func run() async throws {
        let level = logLevel
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "licensed")
        let options = NodeRuntime.Options(dataDirectory: dataDir, nodeID: nodeID, province: province,
                                          adminHost: adminHost, adminPort: adminPort)
        let announce: @Sendable (NodeRuntime.Ready) -> Void = { ready in
            let identity = ready.material.identity
            let province = Province.byCode[identity.province]
            var lines = [
                "licensed: node '\(identity.nodeID)' of \(province?.nameZH ?? "") \(province?.nameEN ?? "") (\(identity.province))",
                "  data dir     \(ready.directory.path) (\(ready.entries) entries)",
                "  ledger       \(ready.directory.ledgerFile)",
                "  issuer key   \(ready.directory.issuerKeyFile) (key id \(ready.material.signer.keyID))",
                "  holder key   \(ready.directory.holderKeyFile)",
                "  admin token  \(ready.directory.adminTokenFile)",
                "  admin API    \(ready.adminURL)",
            ]
            if let gossip = ready.gossipAddress { lines.append("  gossip       \(gossip) (TLS 1.3, mutual)") }
            if !ready.material.created.isEmpty {
                lines.append("  created      " + ready.material.created.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))
            }
            lines.append("ready; Ctrl-C stops the node")
            // Write unbuffered: scripts wait for the "ready" line through a pipe.
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        do {
            if let config {
                try await NodeRuntime.run(configuration: config, logger: logger, onReady: announce)
            } else {
                try await NodeRuntime.run(options, logger: logger, onReady: announce)
            }
        } catch let error as NodeSetupError {
            FileHandle.standardError.write(Data("licensed: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage admin API tokens.",
        subcommands: [Add.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token with the given roles and print it (shown once; restart the node to load it).")

        @Option(help: "Data directory of the node.")
        var dataDir = "./licensed-data"

        @Option(help: "Name recorded in the audit log for this token's requests.")
        var name: String

        @Option(name: .customLong("role"), help: "operator, clerk or issuer; repeat for several.")
        var roles: [Role]

        func run() throws {
            do {
                let directory = DataDirectory(path: dataDir)
                print(try AccessTokens.add(name: name, roles: roles, path: directory.tokensFile))
            } catch {
                FileHandle.standardError.write(Data("licensed: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
    }
}

extension Role: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
