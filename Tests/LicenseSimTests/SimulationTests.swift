import Foundation
import LicenseSim
import Testing

/// The simulator over the real sessions and stores: runs replay exactly, and networks
/// broken by every fault it has converge after healing (docs/SIMULATION.md).
/// Serialized: each run is one busy task; forty at once would starve the cooperative pool
/// that the real-TLS suites running beside them need for their timers.
@Suite(.serialized) struct SimulationTests {
    static func run(seed: UInt64, nodes: Int = 3, seconds: UInt64 = 10, faults: Simulation.Faults = .all,
                    rate: Double = 10) async throws -> Simulation.Summary {
        let directory = Simulation.scratchDirectory() + "/lx-sim-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = Simulation.Configuration(directory: directory)
        config.seed = seed
        config.nodes = nodes
        config.faultSeconds = seconds
        config.writesPerSecond = rate
        config.faults = faults
        return try await Simulation(config).run()
    }

    @Test func theSameSeed_replaysTheSameRun() async throws {
        let first = try await Self.run(seed: 42, nodes: 4)
        let second = try await Self.run(seed: 42, nodes: 4)
        #expect(first.traceHash == second.traceHash)
        #expect(first.stateDigest == second.stateDigest)
        #expect(first.events == second.events)
        let other = try await Self.run(seed: 43, nodes: 4)
        #expect(other.traceHash != first.traceHash)
    }

    /// Small networks, short runs, every fault on: each seed converges after healing to
    /// the same ledger, states and conflicts on every node, with no vector going down.
    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func everySeed_convergesAfterHealing(_ seed: UInt64) async throws {
        let summary = try await Self.run(seed: seed, nodes: 2 + Int(seed % 4))
        #expect(summary.failure == nil, "seed \(seed): \(summary.failure ?? "")")
        #expect(summary.entriesWritten > 0)
    }

    @Test func partitionsAndCrashes_happen_andTheNetworkStillConverges() async throws {
        let summary = try await Self.run(seed: 7, nodes: 6, seconds: 60)
        #expect(summary.failure == nil, "\(summary.failure ?? "")")
        #expect(summary.partitions > 0)
        #expect(summary.crashes > 0)
        #expect(summary.connectionsBroken > 0)
        #expect(summary.conflicts > 0)
    }

    @Test func withoutFaults_theNetworkConvergesAtOnce() async throws {
        let summary = try await Self.run(seed: 3, nodes: 5, faults: .none)
        #expect(summary.failure == nil)
        #expect(summary.connectionsBroken == 0 && summary.partitions == 0 && summary.crashes == 0)
    }
}
