import ArgumentParser
import Foundation
import LicenseSim

/// `licensed-sim`: runs a simulated network of provinces (docs/SIMULATION.md).
@main
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "licensed-sim",
        abstract: "Run a deterministic simulation of a network of provinces under faults, then check it converged.")

    @Option(help: "Nodes (provinces), 2–34.") var nodes = 5
    @Option(help: "Seed of the run; the same seed replays the same run.") var seed: UInt64 = 1
    @Option(help: "Virtual seconds of the fault phase, e.g. 60 or 600s.") var duration = "60s"
    @Option(help: "Faults: all, none, or a comma-separated list of \(Simulation.Faults.names.joined(separator: ", ")).")
    var faults = "all"
    @Option(help: "Chance (0–0.3) that a frame's connection breaks instead of delivering it; with loss on, default 0.02.")
    var loss: Double?
    @Option(help: "License events written per virtual second across the network.") var rate = 20.0
    @Option(help: "Citizens the workload draws holders from (few: events meet on them).") var holders = 40
    @Option(help: "Write the event trace to this file.") var trace: String?

    func run() async throws {
        guard (2...34).contains(nodes) else { throw ValidationError("--nodes must be 2–34") }
        guard let seconds = UInt64(duration.hasSuffix("s") ? String(duration.dropLast()) : duration), seconds > 0 else {
            throw ValidationError("--duration must be a number of seconds, e.g. 600s")
        }
        let directory = Simulation.scratchDirectory() + "/licensed-sim-\(getpid())-\(seed)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = Simulation.Configuration(directory: directory)
        config.nodes = nodes
        config.seed = seed
        config.faultSeconds = seconds
        config.writesPerSecond = rate
        config.holders = holders
        do {
            config.faults = try Simulation.Faults(parsing: faults)
        } catch {
            throw ValidationError(error.description)
        }
        if let loss {
            guard (0...0.3).contains(loss) else { throw ValidationError("--loss must be 0–0.3") }
            config.faults.loss = loss
        }
        var traceFile: FileHandle?
        if let trace {
            guard FileManager.default.createFile(atPath: trace, contents: nil), let handle = FileHandle(forWritingAtPath: trace) else {
                throw ValidationError("cannot write \(trace)")
            }
            traceFile = handle
        }
        let started = ContinuousClock.now
        let summary = try await Simulation(config, traceFile: traceFile).run()
        let seconds2 = started.duration(to: .now)
        let wall = Double(seconds2.components.seconds) + Double(seconds2.components.attoseconds) / 1e18
        print("""
            seed \(summary.seed), \(summary.nodes) nodes, \(seconds) s of faults (\(faults))
              entries written \(summary.entriesWritten) (refused \(summary.writesRefused), deferred while recovering \(summary.writesDeferred))
              entries appended by peers \(summary.entriesAppended), refused \(summary.entriesRefused); frames delivered \(summary.framesDelivered)
              faults injected \(summary.faultsInjected): connections broken \(summary.connectionsBroken), frames duplicated \(summary.framesDuplicated), reordered \(summary.framesReordered)
                partitions \(summary.partitions), crashes \(summary.crashes), pauses \(summary.pauses), clock jumps \(summary.clockJumps), wipes \(summary.wipes), rollbacks \(summary.rollbacks)
                forged entries \(summary.forgeries), replays \(summary.replays); equivocating origins flagged \(summary.equivocatingOrigins)
              conflicts \(summary.conflicts); converged \(Double(summary.convergedAfterHealMilliseconds) / 1000) s after heal
              ledger digest \(summary.ledgerDigest)
              state digest  \(summary.stateDigest)
              trace hash    \(summary.traceHash)
              \(summary.events) events in \(String(format: "%.1f", wall)) s (\(String(format: "%.0f", Double(summary.events) / max(wall, 0.001))) events/s)
            """)
        if let failure = summary.failure {
            print("FAILED: \(failure)\nreplay: \(config.replayCommand)")
            throw ExitCode(1)
        }
    }
}

