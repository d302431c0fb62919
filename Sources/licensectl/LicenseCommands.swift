import ArgumentParser
import Foundation
import LicenseAPI

struct Issue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Issue a license; prints its id.")

    @OptionGroup var connection: Connection
    @Option(help: "License type code (see `licensectl catalog`).") var type: String
    @Option(help: "The holder's 18-character resident ID number, or - to read it from standard input.")
    var holder: String
    @Option(name: .customLong("attr"), help: "Attribute name=value; repeat for each.") var attributes: [String] = []
    @Option(help: "First day of validity, YYYY-MM-DD (default today).") var validFrom: String?
    @Option(help: "Last day of validity, YYYY-MM-DD (default from the catalog).") var validUntil: String?

    func run() async throws {
        try await reporting {
            let request = IssueRequest(type: type, holder: try idNumber(holder), attributes: try keyValues(attributes, option: "--attr"),
                                       validFrom: validFrom, validUntil: validUntil)
            let license: LicenseDocument = try await connection.client().post("v1/licenses", request)
            try connection.emit(license) { $0.id }
        }
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one license.")

    @OptionGroup var connection: Connection
    @Argument(help: "License id.") var id: String

    func run() async throws {
        try await reporting {
            let license: LicenseDocument = try await connection.client().get("v1/licenses/\(id)")
            try connection.emit(license, human: LicenseText.record)
        }
    }
}

struct Holder: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every license of a citizen (the lookup is written to the audit log).")

    @OptionGroup var connection: Connection
    @Argument(help: "Resident ID number, or - to read it from standard input (keeps it out of shell history).")
    var idNumber: String
    @Option(help: "Why the lookup is made (required; recorded in the audit log).") var purpose: String
    @Flag(help: "Decide recognition of each license for this node's province (\"one window\").") var recognize = false

    func run() async throws {
        try await reporting {
            let found: HolderLookupResponse = try await connection.client().post(
                "v1/holders/lookup", HolderLookupRequest(holder: try licensectl.idNumber(idNumber), purpose: purpose,
                                                         recognize: recognize ? true : nil))
            try connection.emit(found) { found in
                "holder \(found.holder): \(found.licenses.count) license(s)\n"
                    + LicenseText.list(found.licenses, recognitions: found.recognitions)
            }
        }
    }
}

struct Amend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Change attributes of a license.")

    @OptionGroup var connection: Connection
    @Argument(help: "License id.") var id: String
    @Option(name: .customLong("set"), help: "Attribute name=value to set; repeatable.") var set: [String] = []
    @Option(name: .customLong("remove"), help: "Optional attribute to remove; repeatable.") var remove: [String] = []
    @Option(help: "Why.") var reason: String?

    func run() async throws {
        try await reporting {
            let request = AmendRequest(set: try keyValues(set, option: "--set"), remove: remove, reason: reason)
            let license: LicenseDocument = try await connection.client().post("v1/licenses/\(id)/amend", request)
            try connection.emit(license, human: LicenseText.record)
        }
    }
}

struct Renew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Extend a license's validity.")

    @OptionGroup var connection: Connection
    @Argument(help: "License id.") var id: String
    @Option(help: "New last day of validity, YYYY-MM-DD.") var validUntil: String
    @Option(help: "Why.") var reason: String?

    func run() async throws {
        try await reporting {
            let license: LicenseDocument = try await connection.client().post(
                "v1/licenses/\(id)/renew", RenewRequest(validUntil: validUntil, reason: reason))
            try connection.emit(license, human: LicenseText.record)
        }
    }
}

struct Transfer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Supersede another province's license with one of this province's (a citizen moved here).",
        discussion: "The old license is superseded; the new one keeps its type and holder. Prints the new license's id.")

    @OptionGroup var connection: Connection
    @Argument(help: "The license to supersede.") var id: String
    @Option(help: "The holder's resident ID number, or - to read it from standard input.") var holder: String
    @Option(name: .customLong("attr"), help: "Attribute name=value of the new license (default: the old one's).")
    var attributes: [String] = []
    @Option(help: "First day of validity, YYYY-MM-DD (default today).") var validFrom: String?
    @Option(help: "Last day of validity, YYYY-MM-DD (default: the old license's).") var validUntil: String?
    @Option(help: "Why.") var reason: String?

    func run() async throws {
        try await reporting {
            let attrs = try keyValues(attributes, option: "--attr")
            let request = TransferRequest(holder: try idNumber(holder), attributes: attrs.isEmpty ? nil : attrs,
                                          validFrom: validFrom, validUntil: validUntil, reason: reason)
            let license: LicenseDocument = try await connection.client().post("v1/licenses/\(id)/transfer", request)
            try connection.emit(license) { $0.id }
        }
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a license's events with their causal relations: what each came after, what was concurrent.")

    @OptionGroup var connection: Connection
    @Argument(help: "License id.") var id: String

    func run() async throws {
        try await reporting {
            let history: HistoryDocument = try await connection.client().get("v1/licenses/\(id)/history")
            try connection.emit(history) { h in
                var out = Table(headers: ["ENTRY", "EVENT", "LICENSE", "AT", "AFTER", "CONCURRENT WITH"], rows: h.events.map {
                    [$0.entry, $0.kind, $0.licenseID, $0.at, $0.after.joined(separator: ","), $0.concurrentWith.joined(separator: ",")]
                }).render()
                out += "\n\n" + LicenseText.list(h.licenses)
                if !h.conflicts.isEmpty { out += "\n\nconflicts\n" + ConflictText.table(h.conflicts) }
                return out
            }
        }
    }
}

struct Conflicts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the conflicts between concurrent events and how the rules resolved them (docs/CONFLICTS.md).")

    @OptionGroup var connection: Connection

    func run() async throws {
        try await reporting {
            let document: ConflictsDocument = try await connection.client().get("v1/conflicts")
            try connection.emit(document) { d in d.conflicts.isEmpty ? "no conflicts" : ConflictText.table(d.conflicts) }
        }
    }
}

enum ConflictText {
    static func table(_ conflicts: [ConflictDocument]) -> String {
        Table(headers: ["LICENSE", "RULE", "FIRST", "SECOND", "RESULT"], rows: conflicts.map {
            [$0.licenseID, $0.rule, $0.first, $0.second, $0.result]
        }).render()
    }
}

/// suspend, reinstate and revoke differ only in their path and whether a reason is required.
protocol StatusChangeCommand: AsyncParsableCommand {
    static var action: String { get }
    var connection: Connection { get }
    var id: String { get }
    var reason: String? { get }
}

extension StatusChangeCommand {
    func run() async throws {
        try await reporting {
            let license: LicenseDocument = try await connection.client().post(
                "v1/licenses/\(id)/\(Self.action)", ReasonRequest(reason: reason))
            try connection.emit(license, human: LicenseText.record)
        }
    }
}

struct Suspend: StatusChangeCommand {
    static let configuration = CommandConfiguration(abstract: "Suspend an active license.")
    static let action = "suspend"
    @OptionGroup var connection: Connection
    @Argument(help: "License id.") var id: String
    @Option(help: "Why (required).") var reason: String?
}

struct Reinstate: StatusChangeCommand {
    static let configuration = CommandConfiguration(abstract: "Reinstate a suspended license.")
    static let action = "reinstate"
    @OptionGroup var connection: Connection
    @Argument(help: "License id.") var id: String
    @Option(help: "Why.") var reason: String?
}

struct Revoke: StatusChangeCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke a license (final).")
    static let action = "revoke"
    @OptionGroup var connection: Connection
    @Argument(help: "License id.") var id: String
    @Option(help: "Why (required).") var reason: String?
}

/// An ID number argument; `-` reads it from standard input, which keeps it out of shell
/// history and of `ps`.
func idNumber(_ argument: String) throws -> String {
    guard argument == "-" else { return argument }
    guard let line = readLine(strippingNewline: true) else { throw CLIError("no ID number on standard input") }
    return line.trimmingCharacters(in: .whitespaces)
}

/// Human forms of licenses.
enum LicenseText {
    static func record(_ license: LicenseDocument) -> String {
        var pairs: [(String, String)] = [
            ("id", license.id),
            ("type", "\(license.type) (\(license.typeName))"),
            ("status", license.status + (license.statusReason.isEmpty ? "" : " — \(license.statusReason)")),
            ("holder", license.holder),
            ("issuer", "\(license.issuer.node) \(license.issuer.provinceName) \(license.issuer.province) (key \(license.issuer.keyID))"),
            ("valid from", license.validFrom),
            ("valid until", license.validUntil ?? "does not expire"),
        ]
        for (name, value) in license.attributes.sorted(by: { $0.key < $1.key }) {
            pairs.append(("  " + name, value))
        }
        pairs += [("issued at", license.issuedAt), ("updated at", license.updatedAt), ("events", String(license.events))]
        return Table.record(pairs)
    }

    static func list(_ licenses: [LicenseDocument], recognitions: [RecognitionDocument]? = nil) -> String {
        let headers = ["ID", "TYPE", "STATUS", "ISSUER", "VALID FROM", "VALID UNTIL"] + (recognitions == nil ? [] : ["RECOGNITION"])
        return Table(headers: headers, rows: licenses.enumerated().map { index, license in
            [license.id, license.type, license.status, "\(license.issuer.node) \(license.issuer.province)", license.validFrom,
             license.validUntil ?? "-"] + (recognitions.map { [RecognitionText.summary($0[index])] } ?? [])
        }).render()
    }
}
