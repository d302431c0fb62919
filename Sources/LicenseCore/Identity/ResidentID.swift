/// A validated resident identity number (GB 11643-1999): 17 digits and a check character.
///
/// Layout: six digits of administrative region (the first two name the provincial-level
/// division), eight digits of birth date `YYYYMMDD`, three digits of sequence (odd for
/// men, even for women), and the ISO 7064 MOD 11-2 check character (`0`–`9` or `X`).
///
/// The raw number exists only in memory while a request is served: it is never stored,
/// logged or gossiped. See `HolderRef`.
public struct ResidentID: Sendable, CustomStringConvertible {
    public static let length = 18
    /// The region prefixes accepted: the 34 provincial-level divisions of GB/T 2260 plus
    /// `83`, which GB 11643 numbers of residence permits for Taiwan residents carry.
    public static let residencePermitPrefixes: Set<String> = ["83"]
    /// Birth years before this are refused as implausible.
    public static let birthYearMin = 1900

    /// The normalised number: upper-case `X`.
    public let number: String

    /// Validates `text` against every rule of GB 11643, in order, and throws the first
    /// rule it breaks. `today` bounds the birth date (no one is born in the future).
    public init(_ text: String, today: CivilDate) throws(ResidentIDError) {
        let u = Array(text.utf8)
        guard u.count == Self.length else { throw .wrongLength(u.count) }
        for (index, c) in u.prefix(17).enumerated() where !(c >= 48 && c <= 57) {
            throw .notADigit(position: index + 1)
        }
        let last = u[17]
        guard (last >= 48 && last <= 57) || last == UInt8(ascii: "X") || last == UInt8(ascii: "x") else {
            throw .badCheckCharacter
        }
        let prefix = String(decoding: u.prefix(2), as: UTF8.self)
        guard Province.byCode[prefix + "0000"] != nil || Self.residencePermitPrefixes.contains(prefix) else {
            throw .unknownRegion(prefix)
        }
        guard let birth = CivilDate(compact: u[6..<14]) else {
            throw .invalidBirthDate(String(decoding: u[6..<14], as: UTF8.self))
        }
        guard birth.year >= Self.birthYearMin, birth <= today else {
            throw .implausibleBirthDate(birth.description)
        }
        let expected = Self.checkCharacter(for: u.prefix(17))
        let actual = last == UInt8(ascii: "x") ? UInt8(ascii: "X") : last
        guard expected == actual else {
            throw .checksumMismatch(expected: Character(UnicodeScalar(expected)))
        }
        var normalised = u
        normalised[17] = actual
        self.number = String(decoding: normalised, as: UTF8.self)
    }

    /// ISO 7064 MOD 11-2 over the first 17 digits: weights 2^(17-i) mod 11, check value
    /// (12 - sum mod 11) mod 11, with 10 written `X`.
    public static func checkCharacter(for digits: ArraySlice<UInt8>) -> UInt8 {
        precondition(digits.count == 17)
        var sum = 0
        var weight = 1
        // Walk from the right: the rightmost digit has weight 2, then 4, 8, ... mod 11.
        for c in digits.reversed() {
            weight = (weight * 2) % 11
            sum += Int(c - 48) * weight
        }
        let check = (12 - sum % 11) % 11
        return check == 10 ? UInt8(ascii: "X") : UInt8(48 + check)
    }

    /// True when `text` contains 17 digits and a check character that pass the MOD 11-2
    /// check: a resident ID number typed where free text belongs (a reason, a string
    /// attribute, an audit purpose). Such text is refused so that the raw number never
    /// reaches the ledger by the side door.
    public static func appears(in text: String) -> Bool {
        let u = Array(text.utf8)
        guard u.count >= length else { return false }
        var start = 0
        while start + length <= u.count {
            let window = u[start..<(start + length)]
            let digits = window.prefix(17)
            let last = window.last!
            if digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
               (last >= 48 && last <= 57) || last == UInt8(ascii: "X") || last == UInt8(ascii: "x"),
               checkCharacter(for: digits) == (last == UInt8(ascii: "x") ? UInt8(ascii: "X") : last) {
                return true
            }
            start += 1
        }
        return false
    }

    /// True for the display form `masked` produces: two digits, twelve `*`, three digits
    /// and a digit or `X`.
    public static func isMasked(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard u.count == length else { return false }
        let isDigit = { (c: UInt8) in c >= 48 && c <= 57 }
        return u.prefix(2).allSatisfy(isDigit) && u[2..<14].allSatisfy { $0 == UInt8(ascii: "*") }
            && u[14..<17].allSatisfy(isDigit) && (isDigit(u[17]) || u[17] == UInt8(ascii: "X"))
    }

    /// The display form kept in the ledger: the province digits and the last four
    /// characters, everything else (the birth date above all) hidden.
    public var masked: String {
        let u = Array(number.utf8)
        return String(decoding: u.prefix(2), as: UTF8.self) + String(repeating: "*", count: 12)
            + String(decoding: u.suffix(4), as: UTF8.self)
    }

    /// Never prints the number itself, so an accidental log line leaks nothing.
    public var description: String { masked }
}

public enum ResidentIDError: Error, Equatable, CustomStringConvertible {
    case wrongLength(Int)
    case notADigit(position: Int)
    case badCheckCharacter
    case unknownRegion(String)
    case invalidBirthDate(String)
    case implausibleBirthDate(String)
    case checksumMismatch(expected: Character)

    public var description: String {
        switch self {
        case let .wrongLength(n):
            "an ID number has 18 characters, this one has \(n)"
        case let .notADigit(position):
            "character \(position) of the ID number must be a digit"
        case .badCheckCharacter:
            "the last character of the ID number must be a digit or X"
        case let .unknownRegion(prefix):
            "the ID number's region prefix '\(prefix)' is not a provincial-level division"
        case let .invalidBirthDate(text):
            "the ID number's birth date '\(text)' is not a real date"
        case let .implausibleBirthDate(date):
            "the ID number's birth date \(date) is before \(ResidentID.birthYearMin) or in the future"
        case let .checksumMismatch(expected):
            "the ID number's check character is wrong (ISO 7064 MOD 11-2 gives '\(expected)')"
        }
    }
}
