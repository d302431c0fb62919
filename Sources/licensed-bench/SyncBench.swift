import Foundation
import LicenseCore
import LicenseStore
import LicenseTransport
import Logging

/// Catch-up: an empty node syncs `entries` entries from `origins` origins from one peer
/// over mutual TLS on loopback. Reported next to this machine's all-core Ed25519 verify
/// rate, measured in the same run.
enum SyncBench {
    static func run(entries: Int, origins: Int, workDir: String, verifyAllCores: Double, results: inout Results,
                    report: (String) -> Void) async throws {
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let provinces = Array(Province.all.prefix(max(1, min(origins, Province.all.count))))
        let signers = try provinces.map { province in
            IssuerSigner(origin: province.shortID, key: try SigningKey(seed: Sodium.blake2b256(Array(province.shortID.utf8))))
        }
        let source = try LedgerStore(path: workDir + "/source.sqlite", identity: .init(nodeID: "source", province: "110000"))
        let target = try LedgerStore(path: workDir + "/target.sqlite", identity: .init(nodeID: "target", province: "310000"))
        for signer in signers {
            try target.registerIssuerKey(keyID: signer.keyID, origin: signer.origin, publicKey: signer.key.publicKey)
        }
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
        let targetVector = try source.versionVector()
        report("sync: source holds \(made) entries from \(signers.count) origins")

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
        let started = ContinuousClock.now
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.serve() }
            group.addTask { _ = await targetNode.dial(.init(nodeID: "source", host: "127.0.0.1", port: listener.port)) }
            for await vector in updates where vector == targetVector { break }
            group.cancelAll()
        }
        let seconds = started.duration(to: .now).seconds
        results.syncEntriesPerSecond = Double(made) / seconds
        results.syncRatioToVerifyAllCores = results.syncEntriesPerSecond / verifyAllCores
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        results.syncPeakRSSMegabytes = Double(usage.ru_maxrss) / 1024
        report(String(format: "sync catch-up over mTLS: %d entries in %.1f s = %.0f entries/s = %.2f × all-core verify rate; peak RSS of the process (both nodes) %.0f MB",
                      made, seconds, results.syncEntriesPerSecond, results.syncRatioToVerifyAllCores, results.syncPeakRSSMegabytes))
    }
}
