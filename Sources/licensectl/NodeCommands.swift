import ArgumentParser
import Foundation
import LicenseAPI
import LicenseCore
import LicenseStore

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the node: identity, entries, version vector, ledger digest.")

    @OptionGroup var connection: Connection

    @Flag(help: "Refresh in place until interrupted; while the node catches up, show the rate and the time left.")
    var watch = false

    @Option(help: "Seconds between refreshes with --watch.")
    var interval: Double = 2

    func validate() throws {
        guard interval >= 0.2 else { throw ValidationError("--interval must be at least 0.2 seconds") }
        guard !(watch && connection.json) else { throw ValidationError("--watch shows text; use --json without it") }
    }

    func run() async throws {
        guard watch else {
            try await reporting {
                let status: StatusDocument = try await connection.client().get("v1/status")
                try connection.emit(status, human: Self.text)
            }
            return
        }
        try await reporting {
            var previous: (status: StatusDocument, at: ContinuousClock.Instant)?
            while !Task.isCancelled {
                let now = ContinuousClock.now
                let status: StatusDocument = try await connection.client().get("v1/status")
                let progress = CatchUpProgress(previous: previous?.status, current: status,
                                               secondsBetween: previous.map { $0.at.duration(to: now).seconds } ?? 0)
                // Home the cursor and clear the screen: each refresh replaces the last.
                FileHandle.standardOutput.write(Data(("\u{1B}[H\u{1B}[2J" + progress.summary + "\n\n" + Self.text(status) + "\n").utf8))
                previous = (status, now)
                try await Task.sleep(for: .seconds(interval))
            }
        }
    }

    static func text(_ status: StatusDocument) -> String {
        let head = Table.record([
            ("node", status.nodeID),
            ("province", "\(status.provinceName) \(status.province)"),
            ("issuer key", status.keyID),
            ("root key", status.rootKeyID),
            ("entries", String(status.entries)),
            ("ledger digest", status.ledgerDigest),
            ("state digest", status.stateDigest ?? "-"),
            ("conflicts", String(status.conflicts?.count ?? 0)),
            ("catalog", "version \(status.catalogVersion)"),
            ("started at", status.startedAt),
        ])
        let vector = Table(headers: ["ORIGIN", "SEQ"],
                           rows: status.versionVector.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] })
        let peers = status.peers.isEmpty ? "" : "\n\npeers\n" + PeerText.table(status.peers)
        let flags = status.equivocations.isEmpty ? "" : "\n\nEQUIVOCATION: these origins signed two entries at one seq\n"
            + Table(headers: ["ORIGIN", "SEQ", "DETECTED", "HELD ENTRY", "OTHER ENTRY"], rows: status.equivocations.map {
                [$0.origin, String($0.seq), $0.detectedAt, String($0.heldEntry.prefix(16)), String($0.otherEntry.prefix(16))]
            }).render()
        return head + "\n\nversion vector\n" + vector.render() + peers + flags
    }
}

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each peer: connected or not and since when, lag per origin, traffic, last error.")

    @OptionGroup var connection: Connection

    func run() async throws {
        try await reporting {
            let peers: PeersDocument = try await connection.client().get("v1/peers")
            try connection.emit(peers) { $0.peers.isEmpty ? "no peers (a standalone node)" : PeerText.table($0.peers) }
        }
    }
}

enum PeerText {
    static func table(_ peers: [PeerDocument]) -> String {
        Table(headers: ["PEER", "STATE", "SINCE", "LAG", "ENTRIES IN/OUT", "BYTES IN/OUT", "LAST ERROR"], rows: peers.map { peer in
            let lag = peer.lag.isEmpty ? "0" : peer.lag.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
            return [peer.nodeID, peer.connected ? "connected" : "disconnected", peer.since, lag,
                    "\(peer.entriesIn)/\(peer.entriesOut)", "\(peer.bytesIn)/\(peer.bytesOut)", peer.lastError ?? "-"]
        }).render()
    }
}

struct Catalog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the license types of the national catalog.")

    @OptionGroup var connection: Connection

    func run() async throws {
        try await reporting {
            let catalog: CatalogDocument = try await connection.client().get("v1/catalog")
            try connection.emit(catalog) { catalog in
                Table(headers: ["CODE", "NAME", "VALIDITY", "ONCE", "REQUIRED", "OPTIONAL"], rows: catalog.types.map { type in
                    [type.code, "\(type.nameZH) \(type.nameEN)",
                     type.defaultValidityYears.map { "\($0) years" } ?? "none",
                     type.oncePerHolder ? "yes" : "no",
                     type.attributes.filter(\.required).map(\.name).joined(separator: ","),
                     type.attributes.filter { !$0.required }.map(\.name).joined(separator: ",")]
                }).render()
            }
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the most recent audit records (holder lookups).")

    @OptionGroup var connection: Connection
    @Option(help: "How many records (1–1000).") var limit = 50

    func run() async throws {
        try await reporting {
            let audit: AuditDocument = try await connection.client().get("v1/audit?limit=\(limit)")
            try connection.emit(audit) { audit in
                Table(headers: ["AT", "ACTOR", "ACTION", "HOLDER REF", "PURPOSE"], rows: audit.records.map {
                    [$0.at, $0.actor, $0.action, String(($0.holderRef ?? $0.licenseID ?? "-").prefix(16)), $0.purpose]
                }).render()
            }
        }
    }
}

/// Compares the ledger's registered keys for its own origin with `issuer.key` beside it.
private func ownKeyProblem(_ store: LedgerStore) throws -> String? {
    let keyFile = ((store.path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("issuer.key")
    guard let identity = try store.identity(),
          let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else { return nil }
    guard let seed = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)),
          let key = try? SigningKey(seed: seed) else {
        return "\(keyFile) is not a 64-hex-digit seed"
    }
    let ownKeys = try store.issuerKeys().values.filter { $0.origin == identity.nodeID }
    let expected = IssuerKeyID.derive(origin: identity.nodeID, publicKey: key.publicKey)
    guard ownKeys.contains(where: { $0.keyID == expected && $0.publicKey == key.publicKey }) else {
        return "the ledger's keys for its own origin '\(identity.nodeID)' do not include the key in \(keyFile)"
    }
    let others = ownKeys.filter { $0.keyID != expected }.map(\.keyID).sorted()
    return others.isEmpty ? nil : "the ledger lists keys for '\(identity.nodeID)' that \(keyFile) does not hold: \(others.joined(separator: ", "))"
}

/// Offline: opens the ledger read-only and re-verifies everything in it.
struct VerifyLedger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-ledger",
        abstract: "Offline: re-verify every signature, hash chain and license view of a ledger.")

    @Option(help: "Data directory holding ledger.sqlite.") var dataDir = "./licensed-data"
    @Flag(help: "Print JSON.") var json = false

    struct Result: Encodable {
        let valid: Bool
        let entries: UInt64
        let origins: Int
        let licenses: Int
        let problems: [String]
        let problemsNotListed: Int

        enum CodingKeys: String, CodingKey {
            case valid, entries, origins, licenses, problems
            case problemsNotListed = "problems_not_listed"
        }
    }

    func run() async throws {
        try await reporting {
            let path = (dataDir as NSString).appendingPathComponent("ledger.sqlite")
            var report: LedgerVerifier.Report
            do {
                let store = try LedgerStore(path: path, readOnly: true)
                report = try LedgerVerifier.verify(store)
                // The keys in the database are what the database says; the node's own key
                // is checked against its key file, so a rewritten ledger re-signed with
                // another key does not pass.
                if let problem = try ownKeyProblem(store) { report.problems.append(problem) }
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError("\(error)")
            }
            let result = Result(valid: report.isValid, entries: report.entries, origins: report.origins,
                                licenses: report.licenses, problems: report.problems,
                                problemsNotListed: report.problemsNotListed)
            if json {
                print(String(decoding: try JSON.encoder(pretty: true).encode(result), as: UTF8.self))
            } else {
                print(Table.record([
                    ("ledger", path), ("entries", String(report.entries)), ("origins", String(report.origins)),
                    ("licenses", String(report.licenses)), ("result", report.isValid ? "valid" : "INVALID"),
                ]))
                for problem in report.problems { print("  - \(problem)") }
                if report.problemsNotListed > 0 { print("  ... and \(report.problemsNotListed) more") }
            }
            if !report.isValid { throw ExitCode(1) }
        }
    }
}
