import Foundation
import LicenseCore
import Testing

/// The built `licensed` and `licensectl` binaries, driven as an operator would: real
/// processes, real signals. Each test cleans up the processes it started, by PID.
@Suite("Processes")
struct ProcessTests {
    @Test func standaloneNode_issueShowLookupStatusStopRestartVerify() async throws {
        let scratch = TemporaryDirectory()
        let data = scratch.path + "/node"
        let node = try await Daemon.start(["--data-dir", data, "--province", "310000", "--admin-port", "0"])
        defer { node.kill() }
        #expect(node.banner.contains("node 'sh'"))
        #expect(node.banner.contains("admin token  \(data)/admin.token"))

        let issued = try await CLI.run("issue", "--data-dir", data, "--type", "driving_licence", "--holder", holderB,
                                       "--attr", "licence_class=C1", "--attr", "first_issue_date=2015-01-01")
        #expect(issued.status == 0, "\(issued.stderr)")
        let id = issued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("sh-1-") && id.count == 13)

        let shown = try await CLI.run("show", id, "--data-dir", data, "--json")
        let license = try #require(shown.json)
        for key in ["id", "type", "status", "issuer", "valid_from", "valid_until"] {
            #expect(license[key] != nil, "license JSON lacks \(key)")
        }
        #expect(license["status"] as? String == "active")

        let table = try await CLI.run("holder", "-", "--purpose", "counter 2", "--data-dir", data, stdin: holderB + "\n")
        #expect(table.stdout.contains(id))
        #expect(table.stdout.contains("ID") && table.stdout.contains("VALID UNTIL"))
        #expect(!table.stdout.contains(holderB))

        let refused = try await CLI.run("issue", "--data-dir", data, "--type", "driving_licence",
                                        "--holder", "310104199001011230", "--attr", "licence_class=C1",
                                        "--attr", "first_issue_date=2015-01-01")
        #expect(refused.status != 0)
        #expect(refused.stdout.isEmpty)
        #expect(refused.stderr.contains("check character"))

        // Every refusal: a message on stderr naming the problem, exit code 1, nothing on stdout.
        let refusals: [([String], String)] = [
            (["issue", "--type", "pilot_licence", "--holder", holderB], "unknown license type 'pilot_licence'"),
            (["issue", "--type", "driving_licence", "--holder", holderB, "--attr", "licence_class=C1"],
             "requires attribute 'first_issue_date'"),
            (["issue", "--type", "driving_licence", "--holder", holderB, "--attr", "licence_class"], "must look like name=value"),
            (["revoke", id], "revoke requires a reason"),
            (["renew", id, "--valid-until", "2030-01-01"], "is not later than its current end"),
            (["show", "gd-99-00000000"], "no license with id gd-99-00000000"),
            (["holder", holderB, "--purpose", "x", "--token-file", "/nonexistent"], "cannot read token file"),
        ]
        for (arguments, message) in refusals {
            let result = try await CLI.run(arguments + ["--data-dir", data])
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stdout.isEmpty, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        try "lxt_not-a-token\n".write(toFile: scratch.path + "/bad.token", atomically: true, encoding: .utf8)
        let unauthorized = try await CLI.run(["status", "--data-dir", data, "--token-file", scratch.path + "/bad.token"])
        #expect(unauthorized.status == 1)
        #expect(unauthorized.stderr.contains("unauthorized"))

        let status = try #require(try await CLI.run("status", "--data-dir", data, "--json").json)
        for key in ["node_id", "province", "entries", "version_vector", "ledger_digest"] {
            #expect(status[key] != nil, "status JSON lacks \(key)")
        }
        #expect(status["entries"] as? Int == 1)

        #expect(try await node.stop(signal: SIGTERM) == 0)
        #expect(!FileManager.default.fileExists(atPath: data + "/admin.url"))
        let verified = try await CLI.run("verify-ledger", "--data-dir", data)
        #expect(verified.status == 0)
        #expect(verified.stdout.contains("valid"))

        let again = try await Daemon.start(["--data-dir", data, "--admin-port", "0"])
        defer { again.kill() }
        #expect(again.banner.contains("(1 entries)"))
        let afterRestart = try #require(try await CLI.run("show", id, "--data-dir", data, "--json").json)
        #expect(afterRestart["id"] as? String == id)
        #expect(try await again.stop(signal: SIGINT) == 0)

        // A ledger checked against another key than the node's own is not valid.
        try (String(repeating: "ab", count: 32) + "\n").write(toFile: data + "/issuer.key", atomically: true, encoding: .utf8)
        let foreign = try await CLI.run("verify-ledger", "--data-dir", data)
        #expect(foreign.status == 1)
        #expect(foreign.stdout.contains("do not include the key"))
    }

    @Test func rootInitAndCertify_writeAVerifiableCertificate() async throws {
        let scratch = TemporaryDirectory()
        let rootDir = scratch.path + "/root"
        let made = try await CLI.run("root", "init", "--out", rootDir)
        #expect(made.status == 0, "\(made.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: rootDir + "/root.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try await CLI.run("root", "init", "--out", rootDir)
        #expect(again.status == 1)
        #expect(again.stderr.contains("root.key"))

        let issuer = try SigningKey(seed: Array(repeating: 5, count: 32))
        let certified = try await CLI.run("root", "certify", "--root", rootDir, "--node-id", "gd", "--province", "440000",
                                          "--issuer-pub", Hex.encode(issuer.publicKey.bytes), "--type", "driving_licence",
                                          "--valid-days", "30", "--out", scratch.path + "/gd.cert")
        #expect(certified.status == 0, "\(certified.stderr)")
        let rootPub = try #require(Hex.decode(try String(contentsOfFile: rootDir + "/root.pub", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        let certificate = try IssuerCertificate.decode(
            jsonText: try String(contentsOfFile: scratch.path + "/gd.cert", encoding: .utf8), root: try PublicKey(bytes: rootPub))
        #expect(certificate.body.nodeID == "gd")
        #expect(certificate.body.publicKey == issuer.publicKey)
        #expect(certificate.body.licenseTypes == ["driving_licence"])
        #expect(certificate.body.notAfterMilliseconds - certificate.body.notBeforeMilliseconds == 30 * 86_400_000)

        let refused = try await CLI.run("root", "certify", "--root", rootDir, "--node-id", "gd", "--province", "999999",
                                        "--issuer-pub", Hex.encode(issuer.publicKey.bytes), "--out", scratch.path + "/x.cert")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("--province 999999"))
    }

    @Test func licensectl_withoutARunningNode_saysSoOnStderr() async throws {
        let scratch = TemporaryDirectory()
        let result = try await CLI.run("status", "--node", "http://127.0.0.1:1", "--data-dir", scratch.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot reach licensed"))
    }
}

/// Where `swift build` put the executables: beside the test binary.
enum Binaries {
    static func path(_ name: String) throws -> String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/debug").path,
        ]
        for directory in candidates where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
            return directory + "/" + name
        }
        throw TestFailure("\(name) is not built; run `swift build --build-tests` first (looked in \(candidates))")
    }
}

struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String

    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
    }
}

enum CLI {
    /// How long a command may run before it is killed and its test fails.
    static let deadlineSeconds = 60

    static func run(_ arguments: String..., stdin: String? = nil) async throws -> CLIResult {
        try await run(arguments, stdin: stdin)
    }

    /// Runs `binary` (licensectl unless named) to its exit. Only for commands that exit
    /// by themselves: a daemon that starts would be killed at the deadline (use `Daemon`).
    static func run(binary: String = "licensectl", _ arguments: [String], stdin: String? = nil) async throws -> CLIResult {
        var environment = ProcessInfo.processInfo.environment
        environment["LICENSECTL_TOKEN"] = nil
        environment["LICENSECTL_NODE"] = nil
        return try await run(path: try Binaries.path(binary), arguments, stdin: stdin.map { Data($0.utf8) },
                             environment: environment)
    }

    /// Runs the program at `path` to its exit, in `environment` (this process's unless
    /// given). The reads and the wait happen off the cooperative pool; a program still
    /// running after `deadlineSeconds` is killed by PID, and the call throws naming it.
    static func run(path: String, _ arguments: [String], stdin: Data? = nil,
                    environment: [String: String]? = nil) async throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        let watchdog = Watchdog(killing: process, afterSeconds: deadlineSeconds)
        // Both pipes are drained at once: a child filling one while the other is read would stall.
        async let output = offThePool { out.fileHandleForReading.readDataToEndOfFile() }
        async let errors = offThePool { err.fileHandleForReading.readDataToEndOfFile() }
        try await offThePool {
            if let stdin { input.fileHandleForWriting.write(stdin) }
            try input.fileHandleForWriting.close()
        }
        let (stdout, stderr) = try await (output, errors)
        try await offThePool { process.waitUntilExit() }
        if watchdog.disarm() {
            let command = ([URL(fileURLWithPath: path).lastPathComponent] + arguments).joined(separator: " ")
            throw TestFailure("`\(command)` did not exit within \(deadlineSeconds) s; killed it (pid "
                              + "\(process.processIdentifier)). It wrote on stderr: \(String(decoding: stderr, as: UTF8.self))")
        }
        return CLIResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// A `licensed` process, started and waited for until it prints its "ready" line.
final class Daemon {
    /// How long a daemon may take to print its ready line, or to exit once signalled,
    /// before it is killed and its test fails.
    static let deadlineSeconds = 30

    let process: Process
    let banner: String
    /// The command line, to name the process in a failure.
    let command: String

    private init(process: Process, banner: String, command: String) {
        self.process = process
        self.banner = banner
        self.command = command
    }

    static func start(_ arguments: [String]) async throws -> Daemon {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Binaries.path("licensed"))
        process.arguments = arguments + ["--log-level", "warning"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let command = (["licensed"] + arguments).joined(separator: " ")
        // If the daemon hangs without printing, the reads below would wait forever: the
        // watchdog kills it at the deadline, which ends the reads with EOF.
        let watchdog = Watchdog(killing: process, afterSeconds: deadlineSeconds)
        let text = try await offThePool {
            var text = ""
            // Bounded: each read returns what arrived or, once the process is gone, nothing.
            for _ in 0..<1000 where !text.contains("\nready") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text
        }
        let daemon = Daemon(process: process, banner: text, command: command)
        if watchdog.disarm() {
            throw TestFailure("`\(command)` did not print its ready line within \(deadlineSeconds) s; killed it (pid "
                              + "\(process.processIdentifier)). It printed: \(text)")
        }
        guard text.contains("\nready") else {
            _ = try await daemon.stop(signal: SIGTERM)
            throw TestFailure("`\(command)` did not become ready; it printed: \(text)")
        }
        return daemon
    }

    func signal(_ signal: Int32) {
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Sends `signal` and waits for the exit; returns the exit status (the signal's number
    /// if it ended the process). A process still running `deadlineSeconds` later is killed
    /// by PID, and the call throws naming it.
    func stop(signal: Int32) async throws -> Int32 {
        Foundation.kill(process.processIdentifier, signal)
        let watchdog = Watchdog(killing: process, afterSeconds: Self.deadlineSeconds)
        try await offThePool { [process] in process.waitUntilExit() }
        if watchdog.disarm() {
            throw TestFailure("`\(command)` did not exit within \(Self.deadlineSeconds) s of signal \(signal); "
                              + "killed it (pid \(process.processIdentifier))")
        }
        return process.terminationStatus
    }

    /// Cleanup by PID, whatever state the test left the process in. It does not wait, so
    /// that it can run in a `defer`: SIGKILL cannot be caught, and Foundation reaps the
    /// process once it is gone. A test that needs it gone waits with `stop(signal: SIGKILL)`.
    func kill() {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
    }
}
