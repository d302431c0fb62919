import LicenseCore
import Testing

struct LicenseIDTests {
    @Test func parse_shouldAcceptOriginSeqAndCheck() throws {
        let id = try #require(LicenseID("gd-1042-5a4e4542"))
        #expect(id.origin == "gd")
        #expect(id.seq == 1042)
        #expect(id.check == "5a4e4542")
        #expect(id.text == "gd-1042-5a4e4542")
        // Node ids may contain dashes themselves.
        #expect(LicenseID("beijing-2-7-00ff00ff")?.origin == "beijing-2")
    }

    @Test(arguments: [
        "", "gd", "gd-1", "gd-0-5a4e4542", "gd-01-5a4e4542", "gd-1-5A4E4542", "gd-1-5a4e454", "gd-1-5a4e45420",
        "GD-1-5a4e4542", "-1-5a4e4542", "gd--5a4e4542", "gd-x-5a4e4542", "gd-9223372036854775808-5a4e4542",
        "5a4e45425f098e9212cce889c668864b",
    ])
    func parse_shouldRefuseMalformedIDs(_ text: String) {
        #expect(LicenseID(text) == nil)
    }

    @Test func largestSeq_shouldParse() {
        #expect(LicenseID("gd-9223372036854775807-00000000")?.seq == UInt64(Int64.max))
    }

    @Test func derived_shouldMatchOnlyItsIssuingEntry() throws {
        let entry = try EntryID(bytes: [0x5a, 0x4e, 0x45, 0x42] + [UInt8](repeating: 1, count: 28))
        let other = try EntryID(bytes: [UInt8](repeating: 2, count: 32))
        let id = LicenseID(origin: "gd", seq: 1, issuingEntry: entry)
        #expect(id.text == "gd-1-5a4e4542")
        #expect(id.matches(issuingEntry: entry))
        #expect(!id.matches(issuingEntry: other))
    }
}
