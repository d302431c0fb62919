import Foundation
import Testing

/// `licensed-sim` as an operator runs it: the same seed gives the same trace hash in two
/// separate processes (Swift seeds its hashing per process, so this catches any order that
/// leaks from a Set or a Dictionary), and bad options exit non-zero with the reason.
@Suite struct SimProcessTests {
    static func traceHash(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.contains("trace hash") }.map { String($0.split(separator: " ").last ?? "") }
    }

    @Test func theSameSeed_printsTheSameTraceHash_inTwoProcesses() async throws {
        let arguments = ["--nodes", "4", "--seed", "5", "--duration", "10s", "--rate", "10"]
        let first = try await CLI.run(binary: "licensed-sim", arguments)
        let second = try await CLI.run(binary: "licensed-sim", arguments)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(second.status == 0)
        let hash = try #require(Self.traceHash(first.stdout))
        #expect(hash.count == 64)
        #expect(Self.traceHash(second.stdout) == hash)
        #expect(first.stdout.contains("faults injected"))
    }

    @Test func badOptions_exitNonZero_withTheReason() async throws {
        let fault = try await CLI.run(binary: "licensed-sim", ["--faults", "gremlins"])
        #expect(fault.status != 0)
        #expect(fault.stderr.contains("unknown fault 'gremlins'"))
        let loss = try await CLI.run(binary: "licensed-sim", ["--loss", "0.5"])
        #expect(loss.status != 0)
        #expect(loss.stderr.contains("--loss must be 0–0.3"))
    }
}
