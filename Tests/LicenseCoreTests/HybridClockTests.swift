import LicenseCore
import Testing

@Suite struct HybridClockTests {
    @Test func tick_shouldFollowPhysicalTimeWhenItAdvances() {
        var clock = HybridClock()
        #expect(clock.tick(physicalMilliseconds: 1000) == Fixtures.hlc(1000, 0))
        #expect(clock.tick(physicalMilliseconds: 1005) == Fixtures.hlc(1005, 0))
        #expect(clock.last == Fixtures.hlc(1005, 0))
    }

    @Test func tick_shouldStayMonotonicWhenPhysicalTimeStandsStillOrGoesBackwards() {
        var clock = HybridClock()
        let a = clock.tick(physicalMilliseconds: 1000)
        let b = clock.tick(physicalMilliseconds: 1000)
        let c = clock.tick(physicalMilliseconds: 400) // the wall clock was stepped back
        let d = clock.tick(physicalMilliseconds: 999)
        let e = clock.tick(physicalMilliseconds: 1001)
        #expect(b == Fixtures.hlc(1000, 1))
        #expect(c == Fixtures.hlc(1000, 2))
        #expect(d == Fixtures.hlc(1000, 3))
        #expect(e == Fixtures.hlc(1001, 0))
        #expect(a < b && b < c && c < d && d < e)
    }

    @Test func tick_shouldResumeFromARestoredTimestamp() {
        var clock = HybridClock(last: Fixtures.hlc(5000, 7))
        #expect(clock.tick(physicalMilliseconds: 10) == Fixtures.hlc(5000, 8))
    }

    @Test func observe_shouldJumpToARemoteFutureTimestamp() {
        var clock = HybridClock()
        _ = clock.tick(physicalMilliseconds: 1000)
        clock.observe(Fixtures.hlc(9000, 4), physicalMilliseconds: 1001)
        #expect(clock.last == Fixtures.hlc(9000, 5))
        // The next local event is ordered after the remote one, though our wall clock is behind.
        let next = clock.tick(physicalMilliseconds: 1002)
        #expect(next == Fixtures.hlc(9000, 6))
        #expect(next > Fixtures.hlc(9000, 4))
    }

    @Test func observe_shouldIgnoreARemotePastTimestampButStillAdvance() {
        var clock = HybridClock()
        _ = clock.tick(physicalMilliseconds: 5000)
        clock.observe(Fixtures.hlc(100, 50), physicalMilliseconds: 5000)
        #expect(clock.last == Fixtures.hlc(5000, 1))
    }

    @Test func observe_shouldTakeMaxLogicalWhenWallsTie() {
        var clock = HybridClock(last: Fixtures.hlc(7000, 2))
        clock.observe(Fixtures.hlc(7000, 9), physicalMilliseconds: 6000)
        #expect(clock.last == Fixtures.hlc(7000, 10))
        clock.observe(Fixtures.hlc(7000, 3), physicalMilliseconds: 6000)
        #expect(clock.last == Fixtures.hlc(7000, 11))
    }

    @Test func observe_shouldUsePhysicalTimeWhenItIsAheadOfBoth() {
        var clock = HybridClock(last: Fixtures.hlc(7000, 2))
        clock.observe(Fixtures.hlc(8000, 9), physicalMilliseconds: 9000)
        #expect(clock.last == Fixtures.hlc(9000, 0))
    }

    @Test func tick_shouldStayMonotonicWhenTheLogicalCounterIsExhausted() {
        var clock = HybridClock(last: Fixtures.hlc(5000, .max))
        let next = clock.tick(physicalMilliseconds: 5000)
        #expect(next > Fixtures.hlc(5000, .max))
        #expect(next == Fixtures.hlc(5001, 0))
    }

    @Test func observe_shouldOrderAfterARemoteTimestampWithMaximalLogical() {
        // Any peer can sign an entry with logical = UInt32.max; the clock must still move
        // past it, or our next event would be ordered before one we have already seen.
        var clock = HybridClock()
        _ = clock.tick(physicalMilliseconds: 1000)
        let remote = Fixtures.hlc(9000, .max)
        clock.observe(remote, physicalMilliseconds: 1000)
        #expect(clock.last > remote)
        #expect(clock.tick(physicalMilliseconds: 1000) > remote)
        var tied = HybridClock(last: Fixtures.hlc(9000, 3))
        tied.observe(remote, physicalMilliseconds: 1000)
        #expect(tied.last > remote)
    }

    @Test func timestamps_shouldOrderByWallThenLogical() {
        #expect(Fixtures.hlc(1, 9) < Fixtures.hlc(2, 0))
        #expect(Fixtures.hlc(2, 0) < Fixtures.hlc(2, 1))
        #expect(Fixtures.hlc(2, 1).description == "2.1")
        #expect(HybridTimestamp.zero == Fixtures.hlc(0, 0))
    }
}
