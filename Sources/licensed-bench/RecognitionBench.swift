import Foundation
import LicenseCore
import LicenseNode
import LicenseStore

/// Recognition figures against a large ledger: decisions through the service (evidence
/// from the store, the rules, and the durable audit record, group-committed) from many
/// concurrent callers; and offline bundle verification, next to the raw verify rate.
enum RecognitionBench {
    struct Figures {
        var decisionsPerSecond = 0.0
        var decisionsPerSecondWithoutAudit = 0.0
        var bundlesPerSecond = 0.0
        var verifiesPerBundle = 0.0
    }

    static func run(service: LicenseService, licenses: Int, decisions: Int, concurrency: Int,
                    report: (String) -> Void) async throws -> Figures {
        var figures = Figures()
        // Random licenses of the ledger, by id (a license id names its issue entry).
        var generator = SplitMix64(seed: 7)
        let origin = service.material.identity.nodeID
        var ids: [LicenseID] = []
        for _ in 0..<min(decisions, 10_000) {
            let seq = generator.next() % UInt64(licenses)
            guard let entry = try service.store.entries(origin: origin, after: seq, limit: 1).first,
                  entry.body.event.kind == .issue else { continue }
            ids.append(entry.licenseID)
        }
        guard !ids.isEmpty else { throw BenchError("no licenses to decide on") }
        let root = service.material.root
        let province = service.material.identity.province
        let today = SystemClock().today()

        // The rules on the store's evidence, no audit: what a decision costs to compute.
        var started = ContinuousClock.now
        let pure = min(decisions, 50_000)
        for i in 0..<pure {
            guard let evidence = try service.store.recognitionEvidence(ids[i % ids.count], decidingProvince: province,
                                                                       root: root, today: today),
                  RecognitionRules.decide(evidence).decision == .recognized
            else { throw BenchError("license \(ids[i % ids.count]) is not recognized") }
        }
        figures.decisionsPerSecondWithoutAudit = Double(pure) / started.duration(to: .now).seconds
        report(String(format: "recognition decisions (store evidence + rules, 1 thread, %d licenses): %.0f/s",
                      licenses, figures.decisionsPerSecondWithoutAudit))

        // Through the service from `concurrency` callers: each decision audited durably.
        let perTask = max(1, decisions / concurrency)
        let principal = Principal.benchmark
        let sample = ids
        started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<concurrency {
                group.addTask {
                    for i in 0..<perTask {
                        let id = sample[(task * perTask + i) % sample.count]
                        let decided = try await service.verify(id.text, purpose: "benchmark", by: principal)
                        guard decided.recognition.decision == .recognized else { throw BenchError("\(id) not recognized") }
                    }
                }
            }
            try await group.waitForAll()
        }
        figures.decisionsPerSecond = Double(perTask * concurrency) / started.duration(to: .now).seconds
        report(String(format: "recognition decisions with durable audit record, %d concurrent callers: %.0f/s",
                      concurrency, figures.decisionsPerSecond))

        // Offline: bundles exported beforehand, each decoded, verified against the root and decided.
        let bundles = try ids.prefix(2_000).map { id in
            guard let bundle = try service.store.bundle(id, root: root, exportedBy: origin, exportedAtMilliseconds: 0) else {
                throw BenchError("no bundle for \(id)")
            }
            return bundle.jsonData()
        }
        started = ContinuousClock.now
        var signatures = 0
        for data in bundles {
            let bundle = try LicenseBundle(jsonData: data, root: root)
            let (recognition, _) = try bundle.recognize(decidingProvince: province, today: today)
            guard recognition.decision == .recognized else { throw BenchError("bundle of \(bundle.licenseID) not recognized") }
            signatures += bundle.entries.count + bundle.certificates.count + bundle.revocations.count + bundle.agreements.count
        }
        figures.bundlesPerSecond = Double(bundles.count) / started.duration(to: .now).seconds
        figures.verifiesPerBundle = Double(signatures) / Double(bundles.count)
        return figures
    }
}
