import LicenseCore
import Testing

@Suite struct CivilDateTests {
    @Test func initIso_shouldParseExactFormat() throws {
        let date = try #require(CivilDate(iso: "2026-03-01"))
        #expect(date.year == 2026)
        #expect(date.month == 3)
        #expect(date.day == 1)
        #expect(date.description == "2026-03-01")
    }

    @Test(arguments: [
        "2026-3-01", "2026-03-1", "26-03-01", "2026/03/01", "2026-03-01 ", " 2026-03-01", "20260301",
        "2026-0a-01", "+026-03-01", "2026-03-01T00:00", "", "２０２６-03-01",
    ])
    func initIso_shouldRefuseMalformedText(text: String) {
        #expect(CivilDate(iso: text) == nil)
    }

    @Test(arguments: ["2026-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00", "2026-01-32", "0000-01-01"])
    func initIso_shouldRefuseImpossibleDates(text: String) {
        #expect(CivilDate(iso: text) == nil)
    }

    @Test func init_shouldKnowLeapYears() {
        #expect(CivilDate(year: 2024, month: 2, day: 29) != nil)
        #expect(CivilDate(year: 2000, month: 2, day: 29) != nil) // divisible by 400
        #expect(CivilDate(year: 1900, month: 2, day: 29) == nil) // divisible by 100 only
        #expect(CivilDate(year: 2100, month: 2, day: 29) == nil)
        #expect(CivilDate(year: 2023, month: 2, day: 29) == nil)
        #expect(CivilDate(year: 10_000, month: 1, day: 1) == nil)
    }

    @Test func description_shouldPadToFourTwoTwo() {
        #expect(CivilDate(year: 7, month: 1, day: 2)!.description == "0007-01-02")
        #expect(CivilDate(year: 2026, month: 11, day: 30)!.description == "2026-11-30")
        // Arithmetic can step past the calendar's range; the text still names the day.
        #expect(CivilDate(year: 9999, month: 12, day: 31)!.adding(days: 1).description == "10000-01-01")
    }

    @Test func compare_shouldBeChronological() {
        #expect(Fixtures.date("2025-12-31") < Fixtures.date("2026-01-01"))
        #expect(Fixtures.date("2026-01-31") < Fixtures.date("2026-02-01"))
        #expect(!(Fixtures.date("2026-02-01") < Fixtures.date("2026-02-01")))
    }

    @Test func daysSinceEpoch_shouldMatchKnownValues() {
        #expect(Fixtures.date("1970-01-01").daysSinceEpoch == 0)
        #expect(Fixtures.date("1970-01-02").daysSinceEpoch == 1)
        #expect(Fixtures.date("1969-12-31").daysSinceEpoch == -1)
        #expect(Fixtures.date("2000-03-01").daysSinceEpoch == 11_017)
        #expect(Fixtures.date("2026-01-01").daysSinceEpoch == 20_454)
        #expect(Fixtures.date("0001-01-01").daysSinceEpoch == -719_162)
    }

    @Test func daysSinceEpoch_shouldRoundTripEveryDayFrom1600To2400() {
        let start = Fixtures.date("1600-01-01").daysSinceEpoch
        let end = Fixtures.date("2400-12-31").daysSinceEpoch
        var previous: CivilDate?
        var failures = 0
        for days in start...end {
            let date = CivilDate(daysSinceEpoch: days)
            if date.daysSinceEpoch != days || CivilDate(year: date.year, month: date.month, day: date.day) != date {
                failures += 1
            }
            if let previous, !(previous < date) { failures += 1 }
            previous = date
        }
        #expect(failures == 0)
    }

    @Test func addingDays_shouldCrossMonthAndYearEnds() {
        #expect(Fixtures.date("2024-02-28").adding(days: 1) == Fixtures.date("2024-02-29"))
        #expect(Fixtures.date("2023-02-28").adding(days: 1) == Fixtures.date("2023-03-01"))
        #expect(Fixtures.date("2025-12-31").adding(days: 1) == Fixtures.date("2026-01-01"))
        #expect(Fixtures.date("2026-01-01").adding(days: -1) == Fixtures.date("2025-12-31"))
    }

    @Test func addingYears_shouldTurn29FebruaryInto28FebruaryInCommonYear() {
        let leapDay = Fixtures.date("2024-02-29")
        #expect(leapDay.adding(years: 1) == Fixtures.date("2025-02-28"))
        #expect(leapDay.adding(years: 4) == Fixtures.date("2028-02-29"))
        #expect(leapDay.adding(years: 6) == Fixtures.date("2030-02-28"))
        #expect(Fixtures.date("2026-03-01").adding(years: 6) == Fixtures.date("2032-03-01"))
    }

    @Test func initUnixMilliseconds_shouldUseUtcPlus8AroundMidnight() {
        let offset = 8 * 3600
        // 2025-12-31T16:00:00Z is 2026-01-01T00:00:00+08:00.
        let midnightBeijing: Int64 = 1_767_196_800_000
        #expect(CivilDate(unixMilliseconds: midnightBeijing, offsetSeconds: offset) == Fixtures.date("2026-01-01"))
        #expect(CivilDate(unixMilliseconds: midnightBeijing - 1, offsetSeconds: offset) == Fixtures.date("2025-12-31"))
        #expect(CivilDate(unixMilliseconds: midnightBeijing + 86_400_000 - 1, offsetSeconds: offset)
            == Fixtures.date("2026-01-01"))
        // The same instant is still the old day in UTC.
        #expect(CivilDate(unixMilliseconds: midnightBeijing, offsetSeconds: 0) == Fixtures.date("2025-12-31"))
    }

    @Test func initUnixMilliseconds_shouldFloorTimesBeforeTheEpoch() {
        #expect(CivilDate(unixMilliseconds: 0, offsetSeconds: 0) == Fixtures.date("1970-01-01"))
        // 1969-12-31T23:59:59.999Z is still 31 December.
        #expect(CivilDate(unixMilliseconds: -1, offsetSeconds: 0) == Fixtures.date("1969-12-31"))
        #expect(CivilDate(unixMilliseconds: -999, offsetSeconds: 0) == Fixtures.date("1969-12-31"))
        #expect(CivilDate(unixMilliseconds: -86_400_000, offsetSeconds: 0) == Fixtures.date("1969-12-31"))
        #expect(CivilDate(unixMilliseconds: -86_400_001, offsetSeconds: 0) == Fixtures.date("1969-12-30"))
        // 1970-01-01T00:00:00+08:00 is -8 h in UTC.
        #expect(CivilDate(unixMilliseconds: -8 * 3_600_000, offsetSeconds: 8 * 3600) == Fixtures.date("1970-01-01"))
        #expect(CivilDate(unixMilliseconds: -8 * 3_600_000 - 1, offsetSeconds: 8 * 3600) == Fixtures.date("1969-12-31"))
    }

    /// The network's date is China's: from 16:00 UTC it is the next day there.
    @Test func networkDate_isChinaStandardTime() {
        // 2026-11-30T15:59:59.999Z and 2026-11-30T16:00:00Z.
        let fourPM: Int64 = 1_796_054_400_000
        #expect(CivilDate(networkDateAt: fourPM - 1) == Fixtures.date("2026-11-30"))
        #expect(CivilDate(networkDateAt: fourPM) == Fixtures.date("2026-12-01"))
        #expect(CivilDate(unixMilliseconds: fourPM, offsetSeconds: 0) == Fixtures.date("2026-11-30"))
    }
}
