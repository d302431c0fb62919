import Foundation
@_spi(Testing) import LicenseSim
import Testing

/// The simulator over the real sessions and stores: runs replay exactly, and networks
/// broken by every fault it has converge after healing (docs/SIMULATION.md).
/// Serialized: each run is one busy task; many at once would starve the cooperative pool
/// that the real-TLS suites running beside them need for their timers.
@Suite(.serialized) struct SimulationTests {
    static func run(seed: UInt64, nodes: Int = 3, seconds: UInt64 = 5, faults: Simulation.Faults = .all, rate: Double = 10,
                    script: [(seconds: UInt64, fault: Simulation.ScriptedFault)] = [],
                    brokenMergeRule: Bool = false) async throws -> (summary: Simulation.Summary, replay: Comment) {
        let directory = Simulation.scratchDirectory() + "/lx-sim-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = Simulation.Configuration(directory: directory)
        config.seed = seed
        config.nodes = nodes
        config.faultSeconds = seconds
        config.writesPerSecond = rate
        config.faults = faults
        config.script = script
        config.brokenMergeRule = brokenMergeRule
        let summary = try await Simulation(config).run()
        // What a failed run prints: the seed, the invariant, and how to replay it.
        return (summary, "seed \(seed): \(summary.failure ?? "") — replay: \(config.replayCommand)")
    }

    /// No fault but the frames' delays: what the scripted scenarios add their fault to.
    static let delaysOnly = try! Simulation.Faults(parsing: "delay")

    @Test func theSameSeed_replaysTheSameRun() async throws {
        let first = try await Self.run(seed: 42, nodes: 4, seconds: 10).summary
        let second = try await Self.run(seed: 42, nodes: 4, seconds: 10).summary
        #expect(first.traceHash == second.traceHash)
        #expect(first.stateDigest == second.stateDigest)
        #expect(first.events == second.events)
        let other = try await Self.run(seed: 43, nodes: 4, seconds: 10).summary
        #expect(other.traceHash != first.traceHash)
    }

    /// Small networks, short runs, every fault on: each seed converges after healing to
    /// the same ledger (and, when no origin equivocated, the same states and conflicts)
    /// on every honest node, with every invariant held at every step.
    @Test(arguments: 1...200 as ClosedRange<UInt64>)
    func everySeed_convergesAfterHealing(_ seed: UInt64) async throws {
        let nodes = 3 + Int(seed % 4)
        let (summary, replay) = try await Self.run(seed: seed, nodes: nodes)
        #expect(summary.failure == nil, replay)
        #expect(summary.entriesWritten > 0)
    }

    /// Over a handful of longer runs, every kind of fault is injected at least once: the
    /// seeds above are not passing because a fault never fires.
    @Test func longerRuns_injectEveryKindOfFault() async throws {
        var total = Simulation.Summary()
        for seed in 1...6 as ClosedRange<UInt64> {
            let (summary, replay) = try await Self.run(seed: seed, nodes: 5, seconds: 60, rate: 5)
            #expect(summary.failure == nil, replay)
            total.connectionsBroken += summary.connectionsBroken
            total.framesDuplicated += summary.framesDuplicated
            total.framesReordered += summary.framesReordered
            total.partitions += summary.partitions
            total.crashes += summary.crashes
            total.pauses += summary.pauses
            total.clockJumps += summary.clockJumps
            total.wipes += summary.wipes
            total.rollbacks += summary.rollbacks
            total.forgeries += summary.forgeries
            total.replays += summary.replays
            total.entriesRefused += summary.entriesRefused
            total.equivocatingOrigins += summary.equivocatingOrigins
        }
        #expect(total.connectionsBroken > 0 && total.framesDuplicated > 0 && total.framesReordered > 0)
        #expect(total.partitions > 0 && total.crashes > 0 && total.pauses > 0 && total.clockJumps > 0)
        #expect(total.wipes > 0 && total.rollbacks > 0)
        #expect(total.forgeries > 0 && total.replays > 0 && total.entriesRefused > 0)
        #expect(!total.equivocatingOrigins.isEmpty)
    }

    /// Two of five provinces are cut off for the whole fault phase and both sides keep
    /// writing; after the heal every node holds everything, with the same states.
    @Test func permanentMinorityPartition_thenHeal_converges() async throws {
        let (summary, replay) = try await Self.run(seed: 11, nodes: 5, seconds: 30, faults: Self.delaysOnly,
                                         script: [(seconds: 1, fault: .isolate(nodes: [3, 4]))])
        #expect(summary.failure == nil, replay)
        #expect(summary.partitions == 1)
        #expect(summary.entriesWritten > 100)
        #expect(summary.equivocatingOrigins.isEmpty)
    }

    /// A node loses its disk mid-run and comes back empty: it writes nothing until it has
    /// its own entries back from its peers, so it never signs a seq twice, and the network
    /// converges with nothing lost that another node held.
    @Test func wipedNode_rejoins_withoutEquivocating() async throws {
        let (summary, replay) = try await Self.run(seed: 12, nodes: 4, seconds: 30, faults: Self.delaysOnly, rate: 20,
                                         script: [(seconds: 10, fault: .wipe(node: 1, downSeconds: 2))])
        #expect(summary.failure == nil, replay)
        #expect(summary.wipes == 1)
        #expect(summary.writesDeferred > 0)
        #expect(summary.equivocatingOrigins.isEmpty)
    }

    /// All 34 provinces, one frame in five breaking its connection.
    @Test func thirtyFourNodes_withTwentyPercentLoss_converge() async throws {
        var faults = Simulation.Faults.none
        faults.loss = 0.2
        faults.delayMilliseconds = 1...200
        let (summary, replay) = try await Self.run(seed: 34, nodes: 34, seconds: 5, faults: faults, rate: 20)
        #expect(summary.failure == nil, replay)
        #expect(summary.connectionsBroken > 100)
    }

    /// The liar's key signs on two machines that each write their own entries, sends
    /// forged signatures and replays old entries: no forged entry is stored, and every
    /// honest node flags the liar's origin.
    @Test func equivocatingNode_isFlaggedByEveryHonestNode() async throws {
        var faults = Simulation.Faults.none
        faults.malicious = true
        let (summary, replay) = try await Self.run(seed: 1, nodes: 5, seconds: 20, faults: faults, rate: 20)
        #expect(summary.failure == nil, replay)
        #expect(summary.equivocatingOrigins == ["nm"])
        #expect(summary.forgeries > 0 && summary.entriesRefused > 0)
    }

    /// The canary: with a merge rule that applies events in arrival order, nodes that
    /// received concurrent events in different orders disagree, and the seeds catch it.
    @Test func brokenMergeRule_isCaught() async throws {
        var caught: String?
        for seed in 1...40 as ClosedRange<UInt64> where caught == nil {
            caught = try await Self.run(seed: seed, nodes: 3 + Int(seed % 4), brokenMergeRule: true).summary.failure
        }
        let failure = try #require(caught)
        #expect(failure.contains("computed different states or conflicts"))
    }

    @Test func withoutFaults_theNetworkConvergesAtOnce() async throws {
        let (summary, replay) = try await Self.run(seed: 3, nodes: 5, faults: .none)
        #expect(summary.failure == nil, replay)
        #expect(summary.faultsInjected == 0)
    }

    /// A failed run's replay line gives `licensed-sim` every option of the run, and the
    /// faults it names parse back to the same faults.
    @Test func theReplayCommand_namesEveryOption() throws {
        var config = Simulation.Configuration(directory: NSTemporaryDirectory())
        config.nodes = 7
        config.seed = 9
        config.faultSeconds = 30
        config.writesPerSecond = 15
        config.holders = 80
        config.faults = try Simulation.Faults(parsing: "loss,wipes,malicious")
        config.faults.loss = 0.2
        #expect(config.replayCommand
                == "licensed-sim --nodes 7 --seed 9 --duration 30s --faults loss,wipes,malicious --loss 0.2 --rate 15.0 --holders 80")
        var parsed = try Simulation.Faults(parsing: config.faults.argument)
        parsed.loss = 0.2
        #expect(parsed == config.faults)
        #expect(Simulation.Faults.all.argument == "all" && Simulation.Faults.none.argument == "none")
    }

    @Test func badConfigurations_areRefused() throws {
        #expect(throws: SimulationError.badConfiguration(
            "unknown fault 'gremlins': expected all, none, or a list of \(Simulation.Faults.names.joined(separator: ", "))")) {
            try Simulation.Faults(parsing: "loss,gremlins")
        }
        var config = Simulation.Configuration(directory: NSTemporaryDirectory())
        config.nodes = 1
        #expect(throws: SimulationError.badConfiguration("nodes must be 2–34, got 1")) { try Simulation(config) }
        config.nodes = 3
        config.faults.loss = 0.5
        #expect(throws: SimulationError.badConfiguration("loss must be 0–0.3, got 0.5")) { try Simulation(config) }
        config.faults.loss = 0
        for rate in [0, -1, 3_000_000.0] {
            config.writesPerSecond = rate
            #expect(throws: SimulationError.badConfiguration("rate must be above 0 and at most 100000 writes per second, got \(rate)")) {
                try Simulation(config)
            }
        }
        #expect(try Simulation.Faults(parsing: "loss,wipes") == {
            var faults = Simulation.Faults.none
            faults.loss = Simulation.Faults.all.loss
            faults.wipes = true
            return faults
        }())
    }
}
