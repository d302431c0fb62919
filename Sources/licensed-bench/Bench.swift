import ArgumentParser
import Foundation
import LicenseAPI
import LicenseCore
import LicenseNode
import LicenseStore

/// `licensed-bench`: measures the figures the issues name, next to this machine's own
/// Ed25519 rates measured in the same run. Run in release:
///
///     swift run -c release licensed-bench
///
/// Results go to standard output as a table and, with --json FILE, as JSON.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "licensed-bench",
                                                    abstract: "Benchmark the ledger on this machine.")

    @Option(help: "Licenses issued through the group-commit path.") var issues = 100_000
    @Option(help: "Concurrent issuing tasks.") var concurrency = 256
    @Option(help: "Licenses in the large ledger for lookup and restart figures (0 skips).") var licenses = 1_000_000
    @Option(help: "Holder lookups to time.") var lookups = 20_000
    @Option(help: "Recognition decisions to time against the large ledger.") var decisions = 100_000
    @Option(help: "Entries a new node catches up on over mutual TLS (0 skips).") var syncEntries = 200_000
    @Option(help: "Origins those entries come from.") var syncOrigins = 34
    @Option(help: "Catch-ups to run, each by a new node (the median is reported).") var syncRuns = 3
    @Option(help: "Seconds of issuing on a 5-node mesh for propagation latency (0 skips).") var propagationSeconds = 10
    @Option(help: "Issues per second during the propagation run.") var propagationRate = 200
    @Option(help: "Scratch directory (removed afterwards).") var workDir = NSTemporaryDirectory() + "licensed-bench"
    @Option(help: "Also write the results as JSON to this file.") var json: String?

    func run() async throws {
        try? FileManager.default.removeItem(atPath: workDir)
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        var results = Results()
        results.cores = ProcessInfo.processInfo.activeProcessorCount
        report("machine: \(results.cores) cores")

        let crypto = CryptoRates.measure()
        results.signPerSecond = crypto.sign
        results.verifyPerSecond = crypto.verify
        results.verifyPerSecondAllCores = crypto.verifyAllCores
        report(String(format: "ed25519: sign %.0f/s, verify %.0f/s (1 thread), verify %.0f/s (%d threads)",
                      crypto.sign, crypto.verify, crypto.verifyAllCores, results.cores))

        results.foldMicroseconds = try FoldBench.foldMicroseconds()
        let withDuplicateCheck = try FoldBench.foldMicroseconds(distinct: false)
        report(String(format: "fold of a holder whose license has 100 events (with a transfer and a conflict), as the store folds: %.1f µs; looking for duplicates too: %.1f µs",
                      results.foldMicroseconds, withDuplicateCheck))

        let throughput = try await freshIssueThroughput()
        results.issuesPerSecond = throughput
        report(String(format: "issue (sign + durable group commit): %.0f licenses/s = %.2f × single-thread sign rate",
                      throughput, throughput / crypto.sign))

        if syncEntries > 0 {
            try await SyncBench.run(entries: syncEntries, origins: syncOrigins, runs: syncRuns, workDir: workDir + "/sync",
                                    results: &results, report: report)
        }
        if propagationSeconds > 0 {
            let figures = try await PropagationBench.run(nodes: 5, rate: propagationRate, seconds: propagationSeconds, idleSeconds: 30,
                                                         workDir: workDir + "/propagation", report: report)
            results.propagationMillisecondsP50 = figures.p50Milliseconds
            results.propagationMillisecondsP99 = figures.p99Milliseconds
            results.idleBytesPerSecondPerLink = figures.idleBytesPerSecondPerLink
            report(String(format: "propagation, 5 nodes full mesh, %d issues/s: p50 %.1f ms, p99 %.1f ms; idle %.0f bytes/s per link",
                          propagationRate, figures.p50Milliseconds, figures.p99Milliseconds, figures.idleBytesPerSecondPerLink))
        }
        if licenses > 0 {
            try await largeLedger(&results)
        }
        if let json {
            let data = try JSONEncoder().encode(results)
            try data.write(to: URL(fileURLWithPath: json))
        }
    }

    func report(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Issues through LicenseService (validation, signing, group commit, synchronous=FULL)
    /// from `concurrency` tasks at once.
    func freshIssueThroughput() async throws -> Double {
        let (service, _, lock) = try NodeRuntime.prepare(
            NodeRuntime.Options(dataDirectory: workDir + "/issue", adminPort: 0), clock: SystemClock())
        defer { withExtendedLifetime(lock) {} }
        return try await issueThroughput(service, count: issues, firstHolder: 0)
    }

    func issueThroughput(_ service: LicenseService, count: Int, firstHolder: Int) async throws -> Double {
        let perTask = max(1, count / concurrency)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<concurrency {
                group.addTask {
                    for index in 0..<perTask {
                        let n = firstHolder + task * perTask + index
                        _ = try await service.issue(IssueRequest(
                            type: "residence_permit", holder: Holders.number(n),
                            attributes: ["city": "广州", "address": "No. \(n)"], validFrom: nil, validUntil: nil))
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(perTask * concurrency) / started.duration(to: .now).seconds
    }

    /// Builds a ledger of `licenses` licenses, then measures holder lookups, restart
    /// to ready, and bytes on disk per license.
    func largeLedger(_ results: inout Results) async throws {
        let path = workDir + "/large"
        try await fillAndQuery(path: path, &results)
        // The node of fillAndQuery is released (lock and database closed) by now.
        results.restartSeconds = try Self.timeRestart(path: path, expectedEntries: UInt64(licenses))
        report(String(format: "restart to ready with %d+ entries, in process: %.3f s", licenses, results.restartSeconds))
        if let seconds = try Self.timeDaemonStart(path: path) {
            results.daemonStartSeconds = seconds
            report(String(format: "restart to ready with %d+ entries, `licensed` process until its API serves: %.3f s",
                          licenses, seconds))
        } else {
            report("(build licensed in the same configuration to time a real daemon start: swift build -c release)")
        }
    }

    func fillAndQuery(path: String, _ results: inout Results) async throws {
        let (service, directory, lock) = try NodeRuntime.prepare(
            NodeRuntime.Options(dataDirectory: path, adminPort: 0), clock: SystemClock())
        let catalog = service.catalog
        let signer = service.material.signer
        let holderKey = service.material.holderKey
        let today = SystemClock().today()
        let fillStarted = ContinuousClock.now
        var written = 0
        let batch = LedgerWriter.batchEventsMax
        while written < licenses {
            let count = min(batch, licenses - written)
            let events: [LicenseEvent] = (written..<written + count).map { n in
                .issue(Holders.issue(n, holderKey: holderKey, today: today))
            }
            let outcome = try await service.store.author(events, signer: signer, catalog: catalog,
                                                         physicalMilliseconds: SystemClock().nowMilliseconds(), today: today)
            precondition(outcome.allSatisfy { if case .success = $0 { true } else { false } }, "fill refused an event")
            if (written + count) / 100_000 > written / 100_000 { report("  filled \(written + count) licenses") }
            written += count
        }
        let fillSeconds = fillStarted.duration(to: .now).seconds
        results.fillPerSecond = Double(licenses) / fillSeconds
        report(String(format: "fill: %d licenses in %.1f s (%.0f/s, batches of %d)", licenses, fillSeconds,
                      results.fillPerSecond, batch))

        // Lookups by holder: the store query alone, then the API path with its durable audit write.
        var generator = SplitMix64(seed: 42)
        var queryTimes: [Double] = []
        for _ in 0..<lookups {
            let n = Int(generator.next() % UInt64(licenses))
            let ref = HolderRef(id: try ResidentID(Holders.number(n), today: today), key: holderKey)
            let started = ContinuousClock.now
            let found = try service.store.licenses(holder: ref)
            queryTimes.append(started.duration(to: .now).seconds * 1000)
            precondition(!found.isEmpty, "holder \(n) has no license")
        }
        results.lookupMillisecondsP50 = percentile(queryTimes, 0.50)
        results.lookupMillisecondsP99 = percentile(queryTimes, 0.99)
        report(String(format: "holder lookup (store query, %d licenses): p50 %.3f ms, p99 %.3f ms", licenses,
                      results.lookupMillisecondsP50, results.lookupMillisecondsP99))
        let principal = Principal.benchmark
        var auditedTimes: [Double] = []
        for _ in 0..<min(lookups, 5_000) {
            let n = Int(generator.next() % UInt64(licenses))
            let started = ContinuousClock.now
            _ = try await service.lookup(holder: Holders.number(n), purpose: "benchmark", by: principal)
            auditedTimes.append(started.duration(to: .now).seconds * 1000)
        }
        results.auditedLookupMillisecondsP50 = percentile(auditedTimes, 0.50)
        results.auditedLookupMillisecondsP99 = percentile(auditedTimes, 0.99)
        report(String(format: "holder lookup with durable audit record: p50 %.3f ms, p99 %.3f ms",
                      results.auditedLookupMillisecondsP50, results.auditedLookupMillisecondsP99))

        if decisions > 0 {
            let figures = try await RecognitionBench.run(service: service, licenses: licenses, decisions: decisions,
                                                         concurrency: concurrency, report: report)
            results.decisionsPerSecond = figures.decisionsPerSecond
            results.decisionsPerSecondWithoutAudit = figures.decisionsPerSecondWithoutAudit
            results.bundlesPerSecond = figures.bundlesPerSecond
            report(String(format: "offline bundle verification (1 thread, %.1f signatures each): %.0f bundles/s = %.2f × the single-thread verify rate (%.0f/s)",
                          figures.verifiesPerBundle, figures.bundlesPerSecond, figures.bundlesPerSecond / results.verifyPerSecond,
                          results.verifyPerSecond))
        }

        let recompute = try FoldBench.recomputeSeconds(service.store)
        results.recomputeSeconds = recompute.seconds
        report(String(format: "recompute every license state and the state digest from the entries (%d licenses, %d cores): %.1f s",
                      recompute.licenses, results.cores, recompute.seconds))

        let largeIssues = max(concurrency, issues / 2)
        results.issuesPerSecondLargeLedger = try await issueThroughput(service, count: largeIssues, firstHolder: 2 * licenses)
        report(String(format: "issue into the %d-license ledger: %.0f licenses/s", licenses,
                      results.issuesPerSecondLargeLedger))

        try service.store.checkpoint()
        let bytes = ["ledger.sqlite", "ledger.sqlite-wal"].reduce(0) { sum, name in
            sum + ((try? FileManager.default.attributesOfItem(atPath: directory.path + "/" + name)[.size] as? Int) ?? 0)
        }
        results.bytesPerLicense = Double(bytes) / Double(licenses + largeIssues)
        report(String(format: "disk: %.0f bytes per license (%.0f MB for %d licenses, checkpointed)",
                      results.bytesPerLicense, Double(bytes) / 1e6, licenses + largeIssues))
        withExtendedLifetime(lock) {}
    }

    /// Times a start of the node in `path` up to the point where it can serve: data
    /// directory, lock, catalog, ledger open, and the first status.
    static func timeRestart(path: String, expectedEntries: UInt64) throws -> Double {
        let started = ContinuousClock.now
        let (service, _, lock) = try NodeRuntime.prepare(NodeRuntime.Options(dataDirectory: path, adminPort: 0),
                                                         clock: SystemClock())
        let status = try service.status()
        precondition(status.entries >= expectedEntries, "restart lost entries")
        let seconds = started.duration(to: .now).seconds
        withExtendedLifetime(lock) {}
        return seconds
    }

    /// Starts the `licensed` binary that sits beside this one on the ledger at `path`,
    /// waits for its "ready" line (printed once the admin API accepts connections), and
    /// stops it. Nil when no `licensed` binary was built.
    static func timeDaemonStart(path: String) throws -> Double? {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("licensed")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { return nil }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--data-dir", path, "--admin-port", "0", "--log-level", "warning"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let started = ContinuousClock.now
        try process.run()
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                process.waitUntilExit()
            }
        }
        var text = ""
        for _ in 0..<1000 where !text.contains("\nready") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard text.contains("\nready") else { throw BenchError("licensed did not start: \(text)") }
        return started.duration(to: .now).seconds
    }

    func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

struct Results: Codable {
    var cores = 0
    var signPerSecond = 0.0
    var verifyPerSecond = 0.0
    var verifyPerSecondAllCores = 0.0
    var issuesPerSecond = 0.0
    var issuesPerSecondLargeLedger = 0.0
    var fillPerSecond = 0.0
    var lookupMillisecondsP50 = 0.0
    var lookupMillisecondsP99 = 0.0
    var auditedLookupMillisecondsP50 = 0.0
    var auditedLookupMillisecondsP99 = 0.0
    var bytesPerLicense = 0.0
    var restartSeconds = 0.0
    var daemonStartSeconds = 0.0
    var syncEntriesPerSecond = 0.0
    var syncRatioToVerifyAllCores = 0.0
    /// All-core verification rate of the synced entries themselves, around the sync.
    var syncVerifyReference = 0.0
    var syncCoresBusy = 0.0
    var syncPeakRSSMegabytes = 0.0
    var foldMicroseconds = 0.0
    var recomputeSeconds = 0.0
    var decisionsPerSecond = 0.0
    var decisionsPerSecondWithoutAudit = 0.0
    var bundlesPerSecond = 0.0
    var propagationMillisecondsP50 = 0.0
    var propagationMillisecondsP99 = 0.0
    var idleBytesPerSecondPerLink = 0.0
}

struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Deterministic synthetic citizens: two licenses per holder.
enum Holders {
    static let epoch = CivilDate(year: 1950, month: 1, day: 1)!

    /// A valid ID number for holder slot `n / 2`.
    static func number(_ n: Int) -> String {
        let holder = n / 2
        let birth = epoch.adding(days: holder / 1000)
        let sequence = holder % 1000
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: w - s.count) + s
        }
        let first17 = "110105" + pad(birth.year, 4) + pad(birth.month, 2) + pad(birth.day, 2) + pad(sequence, 3)
        return first17 + String(UnicodeScalar(ResidentID.checkCharacter(for: Array(first17.utf8)[...])))
    }

    static func issue(_ n: Int, holderKey: HolderKey, today: CivilDate) -> LicenseEvent.Issue {
        let id: ResidentID
        do {
            id = try ResidentID(number(n), today: today)
        } catch {
            preconditionFailure("synthetic ID number \(n) is invalid: \(error)")
        }
        return LicenseEvent.Issue(
            licenseType: "residence_permit", province: "110000", holderRef: HolderRef(id: id, key: holderKey),
            holderMasked: id.masked, attributes: ["address": "No. \(n)", "city": "北京"], validFrom: today,
            validUntil: today.adding(years: 1))
    }
}

/// Ed25519 rates of this machine, measured with the same library calls the ledger uses.
enum CryptoRates {
    static func measure() -> (sign: Double, verify: Double, verifyAllCores: Double) {
        guard let key = try? SigningKey(seed: [UInt8](repeating: 7, count: 32)) else {
            preconditionFailure("a 32-byte seed is always a valid Ed25519 seed")
        }
        let message = [UInt8](repeating: 0x42, count: 220)
        let count = 20_000
        var started = ContinuousClock.now
        var signature: [UInt8] = []
        for _ in 0..<count { signature = key.signature(for: message) }
        let sign = Double(count) / started.duration(to: .now).seconds
        started = ContinuousClock.now
        var valid = 0
        for _ in 0..<count where key.publicKey.isValidSignature(signature, for: message) { valid += 1 }
        let verify = Double(count) / started.duration(to: .now).seconds
        precondition(valid == count)
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let signed = signature
        started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<count { _ = key.publicKey.isValidSignature(signed, for: message) }
        }
        let verifyAllCores = Double(count * threads) / started.duration(to: .now).seconds
        return (sign, verify, verifyAllCores)
    }
}

/// A small seeded generator, so every run looks up the same holders.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Principal {
    static var benchmark: Principal { Principal(name: "benchmark", roles: [.clerk]) }
}

