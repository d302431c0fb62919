import Foundation
import LicenseCore
import LicenseStore
import LicenseTransport
import Logging
import Synchronization

/// Propagation: `nodes` nodes in a full mesh over mutual TLS on loopback (one session per
/// pair), issues at `rate` per second spread over the nodes; for each entry, the time from
/// its commit until the last other node holds it. Then the mesh idles and the bytes each
/// link carries per second are counted.
/// When each entry reached how many other nodes, the last of them at what time.
final class Arrivals: Sendable {
    let times = Mutex<[String: (count: Int, last: ContinuousClock.Instant)]>([:])
}

enum PropagationBench {
    struct Figures {
        var p50Milliseconds = 0.0
        var p99Milliseconds = 0.0
        var idleBytesPerSecondPerLink = 0.0
    }

    static func run(nodes count: Int, rate: Int, seconds: Int, idleSeconds: Int, workDir: String,
                    report: (String) -> Void) async throws -> Figures {
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let provinces = Array(Province.all.prefix(count))
        let ca = try TransportPKI.makeCA(notBefore: Date(timeIntervalSinceNow: -3600), days: 2)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let clock: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }
        let signers = try provinces.map { IssuerSigner(origin: $0.shortID, key: try SigningKey(seed: Sodium.blake2b256(Array($0.shortID.utf8)))) }
        var stores: [LedgerStore] = []
        var gossips: [GossipNode] = []
        for (index, province) in provinces.enumerated() {
            let store = try LedgerStore(path: workDir + "/\(province.shortID).sqlite", identity: .init(nodeID: province.shortID, province: province.code))
            for signer in signers { try store.registerIssuerKey(keyID: signer.keyID, origin: signer.origin, publicKey: signer.key.publicKey) }
            let issued = try TransportPKI.makeNode(nodeID: province.shortID, caCertificatePEM: ca.certificatePEM, caKeyPEM: ca.privateKeyPEM,
                                                   notBefore: Date(timeIntervalSinceNow: -3600), days: 2)
            let tls = try GossipTLS(caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM)
            stores.append(store)
            gossips.append(GossipNode(store: store, nodeID: province.shortID, province: province.code, tls: tls, hub: VectorHub(),
                                      clock: clock, logger: logger))
            _ = index
        }
        // Arrival times: (origin, seq) -> commit time and the latest arrival on another node.
        let committed = Mutex<[String: ContinuousClock.Instant]>([:])
        let arrivals = Arrivals()
        let catalog = try LicenseCore.Catalog.bundled()
        let holderKey = try HolderKey(bytes: Array(64...95))
        let today = CivilDate(year: 2026, month: 3, day: 1)!
        var latencies: [Double] = []
        var idleRate = 0.0
        try await withThrowingTaskGroup(of: Void.self) { group in
            var listeners: [GossipListener] = []
            for gossip in gossips {
                let listener = try await gossip.bind(host: "127.0.0.1", port: 0)
                listeners.append(listener)
                group.addTask { try await listener.serve() }
            }
            // Watch every node's ledger grow.
            for index in stores.indices {
                let updates = gossips[index].hub.subscribe()
                let own = provinces[index].shortID
                group.addTask {
                    var seen = VersionVector()
                    for await vector in updates {
                        let now = ContinuousClock.now
                        for (origin, seq) in vector.sorted where origin != own && seq > seen[origin] {
                            for s in (seen[origin] + 1)...seq {
                                arrivals.times.withLock { all in
                                    let key = "\(origin)#\(s)"
                                    let previous = all[key]?.count ?? 0
                                    all[key] = (previous + 1, now)
                                }
                            }
                        }
                        seen = seen.merging(vector)
                    }
                }
            }
            for i in gossips.indices {
                for j in gossips.indices where j > i {
                    let peer = GossipNode.Peer(nodeID: provinces[j].shortID, host: "127.0.0.1", port: listeners[j].port)
                    let dialer = gossips[i]
                    group.addTask { while !Task.isCancelled { _ = await dialer.dial(peer) } }
                }
            }
            // Issue at the target rate, round-robin over the nodes, one license per tick.
            let total = rate * seconds
            let interval = Duration.nanoseconds(1_000_000_000 / rate)
            var next = ContinuousClock.now + .milliseconds(500)
            for n in 0..<total {
                try await Task.sleep(until: next)
                next += interval
                let index = n % count
                let event = LicenseEvent.issue(Holders.issue(n, holderKey: holderKey, today: today))
                let results = try await stores[index].author([event], signer: signers[index], catalog: catalog,
                                                             physicalMilliseconds: clock(), today: today)
                if case let .success(authored) = results[0] {
                    committed.withLock { $0["\(authored.entry.body.origin)#\(authored.entry.body.seq)"] = .now }
                    gossips[index].hub.publish(try stores[index].versionVector())
                }
            }
            // Let the last entries arrive, then measure.
            try await Task.sleep(for: .seconds(2))
            let commits = committed.withLock { $0 }
            let arrived = arrivals.times.withLock { $0 }
            for (key, start) in commits {
                guard let arrival = arrived[key], arrival.count == count - 1 else { continue }
                latencies.append(start.duration(to: arrival.last).seconds * 1000)
            }
            report(String(format: "propagation: %d of %d entries reached all %d other nodes", latencies.count, commits.count, count - 1))
            // Idle: count bytes on all links over a quiet period.
            func totalBytes() -> UInt64 {
                gossips.reduce(0) { sum, gossip in sum + gossip.board.snapshot().reduce(0) { $0 + $1.bytesOut } }
            }
            let before = totalBytes()
            try await Task.sleep(for: .seconds(idleSeconds))
            let links = count * (count - 1) / 2
            idleRate = Double(totalBytes() - before) / Double(idleSeconds) / Double(links)
            group.cancelAll()
        }
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return Figures(p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99), idleBytesPerSecondPerLink: idleRate)
    }
}
