import LicenseCore
import Testing

/// GB 11643 resident ID numbers. The valid numbers below were computed independently
/// with the ISO 7064 MOD 11-2 rule (weights 2^(17-i) mod 11, check (12 - sum mod 11) mod 11).
@Suite struct ResidentIDTests {
    let today = Fixtures.today // 2026-03-01

    @Test(arguments: [
        "11010519491231002X", // Beijing, check character X
        "44030419900307123X", // Shenzhen, check character X
        "440106200002294519", // born on a leap day
        "310115199912313012",
        "830000198501010022", // residence permit for Taiwan residents
        "11010519000101001X", // born on the first day of birthYearMin
        "440304202603010021", // born "today"
    ])
    func init_shouldAcceptValidNumber(number: String) throws {
        let id = try ResidentID(number, today: today)
        #expect(id.number == number)
    }

    @Test func init_shouldNormaliseLowercaseX() throws {
        let id = try ResidentID("11010519491231002x", today: today)
        #expect(id.number == "11010519491231002X")
    }

    @Test func checkCharacter_shouldFollowISO7064Mod11_2() {
        #expect(ResidentID.checkCharacter(for: Array("11010519491231002".utf8)[...]) == UInt8(ascii: "X"))
        #expect(ResidentID.checkCharacter(for: Array("44010620000229451".utf8)[...]) == UInt8(ascii: "9"))
        #expect(ResidentID.checkCharacter(for: Array("83000019850101002".utf8)[...]) == UInt8(ascii: "2"))
    }

    @Test func init_shouldRefuseWrongLength() {
        #expect(throws: ResidentIDError.wrongLength(17)) { try ResidentID("11010519491231002", today: today) }
        #expect(throws: ResidentIDError.wrongLength(19)) { try ResidentID("11010519491231002X1", today: today) }
        #expect(throws: ResidentIDError.wrongLength(0)) { try ResidentID("", today: today) }
    }

    @Test func init_shouldRefuseNonDigitWithItsPosition() {
        #expect(throws: ResidentIDError.notADigit(position: 1)) { try ResidentID("A1010519491231002X", today: today) }
        #expect(throws: ResidentIDError.notADigit(position: 9)) { try ResidentID("11010519-91231002X", today: today) }
        #expect(throws: ResidentIDError.notADigit(position: 17)) { try ResidentID("1101051949123100XX", today: today) }
    }

    @Test func init_shouldRefuseBadCheckCharacter() {
        #expect(throws: ResidentIDError.badCheckCharacter) { try ResidentID("11010519491231002Y", today: today) }
        #expect(throws: ResidentIDError.badCheckCharacter) { try ResidentID("11010519491231002 ", today: today) }
    }

    @Test func init_shouldRefuseUnknownRegionPrefix() {
        #expect(throws: ResidentIDError.unknownRegion("99")) { try ResidentID("990105199001010014", today: today) }
        #expect(throws: ResidentIDError.unknownRegion("00")) { try ResidentID("000105199001010014", today: today) }
    }

    @Test func init_shouldRefuseImpossibleBirthDate() {
        // 1999-02-30; the check character is the correct one, so only the date is wrong.
        #expect(throws: ResidentIDError.invalidBirthDate("19990230")) {
            try ResidentID("440304199902301238", today: today)
        }
        // 29 February of a common year.
        let digits = "44010619990229451"
        let number = digits + String(UnicodeScalar(ResidentID.checkCharacter(for: Array(digits.utf8)[...])))
        #expect(throws: ResidentIDError.invalidBirthDate("19990229")) { try ResidentID(number, today: today) }
    }

    @Test func init_shouldRefuseBirthYearBefore1900() {
        #expect(throws: ResidentIDError.implausibleBirthDate("1899-12-31")) {
            try ResidentID("110105189912310015", today: today)
        }
    }

    @Test func init_shouldRefuseBirthDateAfterToday() {
        #expect(throws: ResidentIDError.implausibleBirthDate("2026-03-02")) {
            try ResidentID("440304202603020019", today: today)
        }
        // The same number is fine once "today" has caught up: the bound is the date passed in.
        #expect(throws: Never.self) {
            try ResidentID("440304202603020019", today: CivilDate(year: 2026, month: 3, day: 2)!)
        }
    }

    @Test func init_shouldRefuseChecksumMismatchNamingTheExpectedCharacter() {
        #expect(throws: ResidentIDError.checksumMismatch(expected: "9")) {
            try ResidentID("440106200002294518", today: today)
        }
        #expect(throws: ResidentIDError.checksumMismatch(expected: "X")) {
            try ResidentID("110105194912310020", today: today)
        }
    }

    @Test func masked_shouldHideBirthDateAndSequence() throws {
        let id = try ResidentID("440106200002294519", today: today)
        #expect(id.masked == "44************4519")
        #expect(id.masked.count == ResidentID.length)
        #expect(!id.masked.contains("20000229"))
        #expect(!id.masked.contains("2000"))
    }

    @Test func description_shouldNeverContainTheRawNumber() throws {
        let id = try ResidentID("11010519491231002X", today: today)
        #expect(id.description == id.masked)
        #expect(!id.description.contains("11010519491231002X"))
        #expect(!"\(id)".contains("19491231"))
    }

    @Test func errorDescriptions_shouldReadWellWithoutTheNumber() {
        let error = ResidentIDError.checksumMismatch(expected: "X")
        #expect(error.description.contains("'X'"))
        #expect(ResidentIDError.unknownRegion("99").description.contains("'99'"))
        #expect(ResidentIDError.wrongLength(17).description.contains("17"))
    }
}

struct IDNumberInTextTests {
    @Test func appears_findsAValidNumberInsideText() {
        #expect(ResidentID.appears(in: "call 11010519491231002X today"))
        #expect(ResidentID.appears(in: "11010519491231002x"))
        #expect(!ResidentID.appears(in: "110105194912310021"))  // wrong check character
        #expect(!ResidentID.appears(in: "order 12345"))
        #expect(!ResidentID.appears(in: "11************002X"))
    }

    @Test func isMasked_acceptsOnlyTheDisplayForm() {
        #expect(ResidentID.isMasked("11************002X"))
        #expect(ResidentID.isMasked("44************1234"))
        #expect(!ResidentID.isMasked("11010519491231002X"))
        #expect(!ResidentID.isMasked("11***********002X"))
        #expect(!ResidentID.isMasked("11************002x"))
    }

    @Test func catalog_refusesARawNumberInAMaskedIDAttribute() throws {
        let marriage = try #require(try Catalog.bundled()["marriage_certificate"])
        let spouse = try #require(marriage.attribute(named: "spouse_masked_id"))
        #expect(throws: LicenseValidationError.self) { try spouse.validate("11010519491231002X", licenseType: marriage.code) }
        #expect(throws: Never.self) { try spouse.validate("11************002X", licenseType: marriage.code) }
    }
}
