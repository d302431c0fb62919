import Foundation
import LicenseAPI
import LicenseCore
import Testing

@Suite struct CatchUpProgressTests {
    func status(_ vector: [String: UInt64], peers: [[String: UInt64]]) -> StatusDocument {
        StatusDocument(nodeID: "sh", province: "310000", keyID: "sh-00000000", rootKeyID: "root-00000000",
                       entries: vector.values.reduce(0, +), versionVector: VersionVector(vector), ledgerDigest: "",
                       catalogVersion: 1, startedAt: "", peers: peers.enumerated().map { index, vector in
                           PeerDocument(nodeID: "p\(index)", connected: true, sinceMilliseconds: 0, sessions: 1,
                                        versionVector: vector, lag: [:], entriesIn: 0, entriesOut: 0, bytesIn: 0,
                                        bytesOut: 0, lastError: nil)
                       }, equivocations: [])
    }

    /// Behind = per origin, the furthest peer beyond this node; the rate comes from two
    /// readings, the time left from both.
    @Test func behindRateAndTimeLeft() {
        let first = status(["sh": 10, "gd": 100], peers: [["gd": 1_000, "bj": 50], ["gd": 600, "sh": 10]])
        let initial = CatchUpProgress(previous: nil, current: first, secondsBetween: 0)
        #expect(initial.behind == 900 + 50)
        #expect(initial.entriesPerSecond == 0 && initial.secondsLeft == nil)
        #expect(initial.summary == "catching up: 950 entries behind")
        let second = status(["sh": 10, "gd": 500, "bj": 50], peers: [["gd": 1_000, "bj": 50]])
        let moving = CatchUpProgress(previous: first, current: second, secondsBetween: 2)
        #expect(moving.behind == 500)
        #expect(moving.entriesPerSecond == 225)
        #expect(moving.summary == "catching up: 500 entries behind at 225 entries/s, about 3 s left")
        let done = CatchUpProgress(previous: second, current: status(["sh": 10, "gd": 1_000, "bj": 50], peers: [["gd": 1_000]]),
                                   secondsBetween: 2)
        #expect(done.summary == "caught up")
    }

    @Test func watch_refusesJSON_andTooShortAnInterval() async throws {
        let json = try await CLI.run("status", "--watch", "--json", "--data-dir", "/nonexistent")
        #expect(json.status != 0 && json.stderr.contains("--watch shows text"))
        let fast = try await CLI.run("status", "--watch", "--interval", "0.01", "--data-dir", "/nonexistent")
        #expect(fast.status != 0 && fast.stderr.contains("--interval must be at least 0.2 seconds"))
    }
}
