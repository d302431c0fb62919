/// A calendar date (year, month, day) with no time zone: license validity, birth dates.
/// Text form is ISO 8601 `YYYY-MM-DD`; ordering is chronological.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Nil unless the triple names a real day of the proleptic Gregorian calendar
    /// between years 1 and 9999.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= CivilDate.daysIn(month: month, year: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD` exactly (four, two and two digits).
    public init?(iso text: some StringProtocol) {
        let u = Array(text.utf8)
        guard u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"),
              let y = CivilDate.number(u[0..<4]), let m = CivilDate.number(u[5..<7]),
              let d = CivilDate.number(u[8..<10])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Parses eight digits `YYYYMMDD` (the birth date inside a resident ID number).
    init?(compact u: ArraySlice<UInt8>) {
        guard u.count == 8, let y = CivilDate.number(u.prefix(4)),
              let m = CivilDate.number(u.dropFirst(4).prefix(2)), let d = CivilDate.number(u.suffix(2))
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// License validity dates are civil dates in China Standard Time, UTC+8 all year.
    public static let networkOffsetSeconds = 8 * 3600

    /// The network's civil date at a Unix time in milliseconds (`networkOffsetSeconds`).
    public init(networkDateAt unixMilliseconds: Int64) {
        self.init(unixMilliseconds: unixMilliseconds, offsetSeconds: Self.networkOffsetSeconds)
    }

    /// The civil date of a Unix time in milliseconds at a fixed UTC offset.
    /// China uses UTC+8 all year, so the network's "today" is `offsetSeconds: 8 * 3600`.
    public init(unixMilliseconds: Int64, offsetSeconds: Int) {
        // Floor division: Swift's `/` truncates toward zero, which would put the last
        // second before the epoch (-999...-1 ms) on 1970-01-01.
        let (quotient, remainder) = unixMilliseconds.quotientAndRemainder(dividingBy: 1000)
        let seconds = (remainder < 0 ? quotient - 1 : quotient) + Int64(offsetSeconds)
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        self = CivilDate(daysSinceEpoch: days)
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.year = y
        self.month = m
        self.day = d
    }

    public func adding(days: Int) -> CivilDate {
        CivilDate(daysSinceEpoch: daysSinceEpoch + days)
    }

    /// Adds whole years; 29 February becomes 28 February in a common year.
    public func adding(years: Int) -> CivilDate {
        let y = year + years
        return CivilDate(year: y, month: month, day: min(day, CivilDate.daysIn(month: month, year: y)))
            ?? self
    }

    /// `YYYY-MM-DD`, built byte by byte: every stored license writes two of these.
    public var description: String {
        guard (0...9999).contains(year) else {
            // Only date arithmetic reaches past the calendar's range; `init?` never does.
            let text = String(year)
            return String(repeating: "0", count: max(0, 4 - text.count)) + text
                + "-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
        }
        let zero = UInt8(ascii: "0"), dash = UInt8(ascii: "-")
        func digit(_ value: Int) -> UInt8 { zero + UInt8(value % 10) }
        let bytes: [UInt8] = [digit(year / 1000), digit(year / 100), digit(year / 10), digit(year), dash,
                              digit(month / 10), digit(month), dash, digit(day / 10), digit(day)]
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for c in digits {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(c - UInt8(ascii: "0"))
        }
        return value
    }
}
