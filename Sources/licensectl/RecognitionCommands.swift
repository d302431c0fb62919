import ArgumentParser
import Foundation
import LicenseAPI
import LicenseCore

/// Exit codes of `licensectl verify`, so that scripts can branch on the decision.
enum DecisionExit {
    static func code(_ decision: String) -> Int32 {
        switch decision {
        case RecognitionDecision.recognized.rawValue: 0
        case RecognitionDecision.notRecognized.rawValue: 3
        default: 4
        }
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decide whether this node's province recognizes a license, check by check.",
        discussion: """
            Online, the node decides for its own province and records the decision in its audit log. \
            With --offline BUNDLE --root root.pub, the decision is made from an exported bundle alone, \
            with no node running. Exit status: 0 recognized, 3 not recognized, 4 undetermined, 1 error.
            """)

    @OptionGroup var connection: Connection
    @Argument(help: "License id (online).") var id: String?
    @Option(help: "Why the check is made (recorded in the audit log).") var purpose: String?
    @Option(help: "Offline: a bundle written by `licensectl export`.") var offline: String?
    @Option(help: "Offline: the national root public key file (root.pub).") var root: String?
    @Option(name: .customLong("as"), help: "Offline: decide as this province (GB/T 2260 code); default: the national agreement.")
    var decidingProvince: String?
    @Option(help: "Offline: the day to decide for, YYYY-MM-DD (default the network's today, in China Standard Time, as the nodes decide).") var today: String?

    func run() async throws {
        var decision = ""
        try await reporting {
            let document: RecognitionDocument
            if let offline {
                document = try offlineDecision(bundlePath: offline)
            } else {
                guard let id else { throw CLIError("give a license id, or --offline BUNDLE --root root.pub") }
                document = try await connection.client().post("v1/verify", VerifyRequest(licenseID: id, purpose: purpose))
            }
            decision = document.decision
            try connection.emit(document, human: RecognitionText.record)
        }
        let code = DecisionExit.code(decision)
        if code != 0 { throw ExitCode(code) }
    }

    private func offlineDecision(bundlePath: String) throws -> RecognitionDocument {
        guard id == nil else { throw CLIError("--offline takes the bundle file, not a license id") }
        guard let root else { throw CLIError("--offline needs --root root.pub, the national root public key") }
        guard let rootText = try? String(contentsOfFile: root, encoding: .utf8),
              let rootBytes = Hex.decode(rootText.trimmingCharacters(in: .whitespacesAndNewlines)),
              let rootKey = try? PublicKey(bytes: rootBytes)
        else { throw CLIError("\(root) must hold the root public key, 64 hex digits") }
        if let decidingProvince, Province.byCode[decidingProvince] == nil {
            throw CLIError("--as \(decidingProvince) is not a GB/T 2260 provincial code")
        }
        let day: CivilDate
        if let today {
            guard let parsed = CivilDate(iso: today) else { throw CLIError("--today '\(today)' is not YYYY-MM-DD") }
            day = parsed
        } else {
            // The day the nodes decide for: from 16:00 UTC on, China is a day ahead of UTC.
            day = CivilDate(networkDateAt: Int64(Date().timeIntervalSince1970 * 1000))
        }
        guard let data = FileManager.default.contents(atPath: bundlePath) else { throw CLIError("cannot read \(bundlePath)") }
        do {
            let bundle = try LicenseBundle(jsonData: data, root: rootKey)
            let (recognition, state) = try bundle.recognize(decidingProvince: decidingProvince, today: day)
            let catalog = try LicenseCore.Catalog.bundled()
            return RecognitionDocument(recognition, decidedAt: nil, license: LicenseDocument(state, catalog: catalog, today: day))
        } catch let error as BundleError {
            throw CLIError("\(bundlePath): \(error) [\(error.code)]")
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a license's self-contained bundle (entries, certificates, agreements) for offline verification.")

    @OptionGroup var connection: Connection
    @Argument(help: "License id.") var id: String
    @Option(help: "File to write (default: standard output).") var out: String?

    func run() async throws {
        try await reporting {
            let data = try await connection.client().getBytes("v1/licenses/\(id)/bundle")
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: data) else { throw CLIError("cannot write \(out)") }
            } else {
                FileHandle.standardOutput.write(data)
                FileHandle.standardOutput.write(Data("\n".utf8))
            }
        }
    }
}

struct Trust: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put root-signed trust material (certificates, key revocations) into the network.",
        subcommands: [TrustPublish.self])
}

struct TrustPublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Send a certificate or key revocation file to a node; it verifies it against the root and gossips it.")

    @OptionGroup var connection: Connection
    @Argument(help: "A file written by `licensectl root certify` or `licensectl root revoke-key`.") var file: String

    func run() async throws {
        try await reporting {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("cannot read \(file)") }
            // The node verifies it; here it is only read in its file form.
            guard let signed = try? SignedDocument(jsonText: text) else {
                throw CLIError("\(file) is not a certificate or revocation file ({\"type\", \"body\", \"signature\"})")
            }
            let document = TrustDocument(type: signed.type, body: Data(signed.body).base64EncodedString(),
                                         signature: Data(signed.signature).base64EncodedString())
            let published: TrustPublished = try await connection.client().post("v1/trust", document)
            try connection.emit(published) { p in
                "\(p.type.replacingOccurrences(of: "_", with: " ")) of key \(p.keyID): "
                    + (p.added ? "accepted; gossiping it to the network" : "already held; nothing changed")
            }
        }
    }
}

struct Agreements: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every province's recognition agreement (which license types it accepts from whom).",
        subcommands: [AgreementsShow.self, AgreementsSet.self], defaultSubcommand: AgreementsShow.self)
}

struct AgreementsShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the agreement matrix.")

    @OptionGroup var connection: Connection

    func run() async throws {
        try await reporting {
            let document: AgreementsDocument = try await connection.client().get("v1/agreements")
            try connection.emit(document, human: AgreementText.matrix)
        }
    }
}

struct AgreementsSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Publish this node's province's agreement; it replaces the earlier one.",
        discussion: """
            Each --accept is PROVINCE:TYPES, where PROVINCE is a GB/T 2260 code or * (every province not \
            named) and TYPES is * (the whole catalog), a comma-separated list of catalog codes, or empty \
            (none). Example: --accept '*:*' --accept 110000:business_license
            """)

    @OptionGroup var connection: Connection
    @Option(help: "PROVINCE:TYPES; repeat for each term.") var accept: [String]

    func run() async throws {
        try await reporting {
            var terms: [AgreementTermDocument] = []
            for item in accept {
                guard let colon = item.firstIndex(of: ":") else { throw CLIError("--accept '\(item)' must look like PROVINCE:TYPES") }
                let types = item[item.index(after: colon)...].split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                terms.append(AgreementTermDocument(province: String(item[..<colon]), licenseTypes: types.filter { !$0.isEmpty }))
            }
            let published: AgreementsDocument.Province = try await connection.client().post("v1/agreements", AgreementRequest(terms: terms))
            try connection.emit(published) { p in
                "agreement of \(p.province) published as entry \(p.entry ?? "-")\n" + AgreementText.terms(p.terms)
            }
        }
    }
}

enum RecognitionText {
    static func record(_ document: RecognitionDocument) -> String {
        var out = "\(document.licenseID): \(document.decision.uppercased().replacingOccurrences(of: "_", with: " "))"
            + " (for province \(document.decidingProvince))\n"
        if let license = document.license {
            out += "  \(license.type) issued by \(license.issuer.node) (\(license.issuer.province)) to \(license.holder)\n"
        }
        out += Table(headers: ["CHECK", "RESULT", "REASON"], rows: document.checks.map { [$0.name, $0.outcome, $0.reason] }).render()
        return out
    }

    static func summary(_ document: RecognitionDocument) -> String {
        let failing = document.checks.filter { !$0.passed }.map(\.name)
        return document.decision + (failing.isEmpty ? "" : " (\(failing.joined(separator: ", ")))")
    }
}

enum AgreementText {
    /// Each province's agreement, then the matrix: a row per deciding province, a column
    /// per issuing province, and in each cell what the row accepts from the column.
    static func matrix(_ document: AgreementsDocument) -> String {
        let list = Table(headers: ["PROVINCE", "NAME", "PUBLISHED", "ACCEPTS"], rows: document.provinces.map {
            [$0.province, $0.provinceName, $0.entry ?? "national default", terms($0.terms)]
        }).render()
        let codes = document.provinces.map(\.province)
        let matrix = Table(headers: ["ACCEPTS \\ ISSUED BY"] + codes, rows: document.provinces.map { row in
            [row.province] + codes.map { column in cell(row, from: column) }
        }).render()
        return list + "\n\n" + matrix + "\n(all: the whole catalog; -: nothing; otherwise the accepted type codes)"
    }

    static func cell(_ row: AgreementsDocument.Province, from issuing: String) -> String {
        if issuing == row.province { return "all" }
        let term = row.terms.first { $0.province == issuing } ?? row.terms.first { $0.province == RecognitionAgreement.wildcard }
        guard let types = term?.licenseTypes, !types.isEmpty else { return "-" }
        return types == [RecognitionAgreement.wildcard] ? "all" : types.joined(separator: ",")
    }

    static func terms(_ terms: [AgreementTermDocument]) -> String {
        terms.map { term in
            let from = term.province == RecognitionAgreement.wildcard ? "others" : term.province
            let types = term.licenseTypes == [RecognitionAgreement.wildcard] ? "all types"
                : term.licenseTypes.isEmpty ? "nothing" : term.licenseTypes.joined(separator: ",")
            return "\(from): \(types)"
        }.joined(separator: "; ")
    }
}
