import Foundation
@_spi(Testing) import LicenseCore
import LicenseStore
import LicenseTransport
import Logging
import Synchronization

/// Catch-up: an empty node syncs `entries` entries from `origins` origins from one peer
/// over mutual TLS on loopback, `runs` times (a new node each time). Reported next to this
/// machine's all-core Ed25519 verify rate, measured around each run.
enum SyncBench {
    static func run(entries: Int, origins: Int, runs: Int, workDir: String, results: inout Results,
                    report: (String) -> Void) async throws {
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let provinces = Array(Province.all.prefix(max(1, min(origins, Province.all.count))))
        let signers = try provinces.map { province in
            IssuerSigner(origin: province.shortID, key: try SigningKey(seed: Sodium.blake2b256(Array(province.shortID.utf8))))
        }
        let source = try LedgerStore(path: workDir + "/source.sqlite", identity: .init(nodeID: "source", province: "110000"))
        let catalog = try LicenseCore.Catalog.bundled()
        let holderKey = try HolderKey(bytes: Array(64...95))
        let today = CivilDate(year: 2026, month: 3, day: 1)!
        let perOrigin = entries / signers.count
        var made = 0
        for signer in signers {
            var written = 0
            while written < perOrigin {
                let count = min(2048, perOrigin - written)
                let events = (made..<made + count).map { LicenseEvent.issue(Holders.issue($0, holderKey: holderKey, today: today)) }
                _ = try await source.author(events, signer: signer, catalog: catalog, physicalMilliseconds: 1_772_323_200_000, today: today)
                written += count
                made += count
            }
        }
        report("sync: source holds \(made) entries from \(signers.count) origins")

        // The machine's limit for this work, measured just before and just after each sync
        // (the machine is shared and its speed drifts): all-core verification of the very
        // entries being synced, a sample from every origin.
        let sample = try signers.flatMap { try source.entries(origin: $0.origin, after: 0, limit: 8_000 / signers.count) }
        let keys = Dictionary(uniqueKeysWithValues: signers.map { ($0.origin, $0.key.publicKey) })
        let decoding = decodeMicroseconds(sample)
        report(String(format: "entry decode (bodies of %d origins, context included): %.1f µs each, %.1f µs with the protobuf library alone",
                      signers.count, decoding.reader, decoding.library))
        var measured: [Run] = []
        for index in 1...max(1, runs) {
            let run = try await catchUp(from: source, signers: signers, into: workDir + "/target-\(index).sqlite",
                                        sample: sample, keys: keys)
            measured.append(run)
            report(String(format: "sync run %d: all-core verify rate of the synced entries %.0f/s before, %.0f/s after; %.0f entries/s = %.2f × their mean; %.2f of %d cores busy",
                          index, run.verifyBefore, run.verifyAfter, run.entriesPerSecond, run.ratio, run.cores,
                          ProcessInfo.processInfo.activeProcessorCount))
        }
        // The median run by ratio: one run's reference can catch the machine in a fast or a
        // slow minute that the sync beside it did not see.
        let median = measured.sorted { $0.ratio < $1.ratio }[measured.count / 2]
        results.syncVerifyReference = median.reference
        results.syncCoresBusy = median.cores
        results.syncEntriesPerSecond = median.entriesPerSecond
        results.syncRatioToVerifyAllCores = median.ratio
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        results.syncPeakRSSMegabytes = Double(usage.ru_maxrss) / 1024
        report(String(format: "sync catch-up over mTLS: %d entries; median of %d runs %.0f entries/s = %.2f × all-core verify rate (runs %@); peak RSS of the process (both nodes) %.0f MB",
                      made, measured.count, median.entriesPerSecond, median.ratio,
                      measured.map { String(format: "%.2f", $0.ratio) }.joined(separator: ", "), results.syncPeakRSSMegabytes))
    }

    struct Run {
        let entriesPerSecond: Double
        let verifyBefore: Double
        let verifyAfter: Double
        let cores: Double
        var reference: Double { (verifyBefore + verifyAfter) / 2 }
        var ratio: Double { entriesPerSecond / reference }
    }

    /// One catch-up: a new, empty node dials the source and syncs everything it holds.
    static func catchUp(from source: LedgerStore, signers: [IssuerSigner], into path: String, sample: [Entry],
                        keys: [String: PublicKey]) async throws -> Run {
        let target = try LedgerStore(path: path, identity: .init(nodeID: "target", province: "310000"))
        for signer in signers {
            try target.registerIssuerKey(keyID: signer.keyID, origin: signer.origin, publicKey: signer.key.publicKey)
        }
        let targetVector = try source.versionVector()
        let ca = try TransportPKI.makeCA(notBefore: Date(timeIntervalSinceNow: -3600), days: 2)
        func tls(_ id: String) throws -> GossipTLS {
            let issued = try TransportPKI.makeNode(nodeID: id, caCertificatePEM: ca.certificatePEM, caKeyPEM: ca.privateKeyPEM,
                                                   notBefore: Date(timeIntervalSinceNow: -3600), days: 2)
            return try GossipTLS(caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM,
                                 privateKeyPEM: issued.privateKeyPEM)
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let clock: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }
        let sourceNode = GossipNode(store: source, nodeID: "source", province: "110000", tls: try tls("source"), hub: VectorHub(),
                                    clock: clock, logger: logger)
        let targetNode = GossipNode(store: target, nodeID: "target", province: "310000", tls: try tls("target"), hub: VectorHub(),
                                    clock: clock, logger: logger)
        let listener = try await sourceNode.bind(host: "127.0.0.1", port: 0)
        let updates = targetNode.hub.subscribe()
        let verifyBefore = verifyRate(sample, keys: keys)
        let cpuBefore = cpuSeconds()
        let started = ContinuousClock.now
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.serve() }
            group.addTask { _ = await targetNode.dial(.init(nodeID: "source", host: "127.0.0.1", port: listener.port)) }
            for await vector in updates where vector == targetVector { break }
            group.cancelAll()
        }
        let seconds = started.duration(to: .now).seconds
        let cores = (cpuSeconds() - cpuBefore) / seconds
        let verifyAfter = verifyRate(sample, keys: keys)
        return Run(entriesPerSecond: Double(targetVector.total) / seconds, verifyBefore: verifyBefore, verifyAfter: verifyAfter,
                   cores: cores)
    }

    /// Microseconds per body decode on one thread, the best of three passes over the
    /// entries: as a node decodes, and with the protobuf library alone.
    static func decodeMicroseconds(_ entries: [Entry]) -> (reader: Double, library: Double) {
        func best(_ decode: ([UInt8]) throws -> EntryBody) -> Double {
            (0..<3).map { _ in
                var decoded: [EntryBody?] = []
                decoded.reserveCapacity(entries.count)
                let started = ContinuousClock.now
                for entry in entries { decoded.append(try? decode(entry.bodyBytes)) }
                let seconds = started.duration(to: .now).seconds
                precondition(zip(decoded, entries).allSatisfy { $0 == $1.body }, "every sampled body decodes")
                return seconds * 1_000_000 / Double(entries.count)
            }.min() ?? 0
        }
        return (best { try EntryBody(decoding: $0) }, best { try EntryBody(referenceDecoding: $0) })
    }

    /// Entries verified per second on every core, in the chunks a sync append uses.
    static func verifyRate(_ entries: [Entry], keys: [String: PublicKey]) -> Double {
        let chunk = 32
        let chunks = (entries.count + chunk - 1) / chunk
        let started = ContinuousClock.now
        let valid = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: chunks) { index in
            var count = 0
            for entry in entries[index * chunk..<min(entries.count, (index + 1) * chunk)]
            where keys[entry.body.origin].map(entry.hasValidSignature(by:)) == true {
                count += 1
            }
            valid.add(count, ordering: .relaxed)
        }
        precondition(valid.load(ordering: .relaxed) == entries.count, "every sampled entry verifies")
        return Double(entries.count) / started.duration(to: .now).seconds
    }

    /// User and system CPU time this process has used.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
