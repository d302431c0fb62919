import ArgumentParser
import Foundation
import LicenseAPI

/// `licensectl`: operate a LicenseExchange node through its admin API.
@main
struct Licensectl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "licensectl",
        abstract: "Operate a LicenseExchange node through its admin API.",
        discussion: """
            The node is --node URL, else $LICENSECTL_NODE, else the admin.url file of --data-dir, \
            else http://127.0.0.1:7400. The token is read from --token-file, else $LICENSECTL_TOKEN, \
            else the admin.token file of --data-dir (a local development node).
            """,
        subcommands: [
            Issue.self, Show.self, Holder.self, Amend.self, Renew.self, Suspend.self, Reinstate.self, Revoke.self,
            Transfer.self, History.self, Conflicts.self,
            Verify.self, Export.self, Agreements.self, Trust.self, IssuerKeyCommand.self,
            Status.self, Peers.self, Catalog.self, Audit.self, VerifyLedger.self, Root.self, PKI.self, Testnet.self,
        ])
}

/// Where the node is and how to authenticate.
struct Connection: ParsableArguments {
    @Option(help: "Admin API URL of the node.")
    var node: String?

    @Option(help: "File holding a bearer token.")
    var tokenFile: String?

    @Option(help: "Data directory of a local node (finds its admin.url and admin.token).")
    var dataDir = "./licensed-data"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func client() throws -> AdminClient {
        let environment = ProcessInfo.processInfo.environment
        let urlText = node ?? environment["LICENSECTL_NODE"] ?? Self.firstLine(of: dataDir + "/admin.url") ?? "http://127.0.0.1:7400"
        guard let url = URL(string: urlText), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CLIError("--node '\(urlText)' is not an http(s) URL")
        }
        var token: String?
        if let tokenFile {
            guard let text = Self.firstLine(of: tokenFile) else { throw CLIError("cannot read token file \(tokenFile)") }
            token = text
        } else {
            token = environment["LICENSECTL_TOKEN"] ?? Self.firstLine(of: dataDir + "/admin.token")
        }
        return AdminClient(baseURL: url, token: token)
    }

    static func firstLine(of path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces)
        return line?.isEmpty == false ? line : nil
    }

    /// Prints `value` as JSON, or its human form.
    func emit<T: Encodable>(_ value: T, human: (T) -> String) throws {
        if json {
            let data = try JSON.encoder(pretty: true).encode(value)
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(human(value))
        }
    }
}

/// Runs a command body; a failure prints `licensectl: <message>` to stderr and exits 1.
func reporting(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("licensectl: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}

/// Parses repeated `key=value` options.
func keyValues(_ items: [String], option: String) throws -> [String: String] {
    var out: [String: String] = [:]
    for item in items {
        guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
            throw CLIError("\(option) '\(item)' must look like name=value")
        }
        let key = String(item[..<equals])
        guard out[key] == nil else { throw CLIError("\(option) names '\(key)' twice") }
        out[key] = String(item[item.index(after: equals)...])
    }
    return out
}
