@_spi(Testing) import LicenseCore
import Testing

/// The simulator's shared decoder: the same entries as decoding each copy, never a
/// confusion between bodies, and nothing kept of bytes that do not decode.
@Suite struct EntryMemoTests {
    private static func entries() -> [Entry] {
        var writer = ChainWriter(Fixtures.signer)
        return [writer.append(.issue(Fixtures.drivingLicenceIssue()), hlc: Fixtures.hlc(1_000)),
                writer.append(.issue(Fixtures.qualificationIssue()), hlc: Fixtures.hlc(2_000))]
    }

    @Test func everyCopy_decodesToTheEntryItsBytesMake() throws {
        let memo = EntryMemo()
        for entry in Self.entries() {
            for _ in 0..<3 {
                let decoded = try memo.entry(bodyBytes: entry.bodyBytes, signature: entry.signature)
                #expect(decoded.id == entry.id && decoded.body == entry.body && decoded.bodyBytes == entry.bodyBytes)
            }
        }
    }

    @Test func aBodyUnderAnotherBodysSignature_isItsOwnEntry() throws {
        let memo = EntryMemo()
        let (first, second) = (Self.entries()[0], Self.entries()[1])
        _ = try memo.entry(bodyBytes: first.bodyBytes, signature: first.signature)
        // A forger's pairing: the second body with the first body's signature.
        let forged = try memo.entry(bodyBytes: second.bodyBytes, signature: first.signature)
        #expect(forged.body == second.body)
        #expect(forged.id == (try Entry(bodyBytes: second.bodyBytes, signature: first.signature)).id)
        #expect(!forged.hasValidSignature(by: Fixtures.key.publicKey))
        let again = try memo.entry(bodyBytes: first.bodyBytes, signature: first.signature)
        #expect(again.id == first.id && again.body == first.body)
    }

    @Test func bytesThatDoNotDecode_areRefusedEveryTime() {
        let memo = EntryMemo()
        let entry = Self.entries()[0]
        let truncated = Array(entry.bodyBytes.dropLast(3))
        for _ in 0..<2 {
            #expect(throws: EntryError.self) { try memo.entry(bodyBytes: truncated, signature: entry.signature) }
        }
        #expect(throws: EntryError.self) { try memo.entry(bodyBytes: entry.bodyBytes, signature: Array(entry.signature.prefix(10))) }
        #expect((try? memo.entry(bodyBytes: entry.bodyBytes, signature: entry.signature))?.id == entry.id)
    }

    /// A ledger's refold finds entries by the id it stored: each id leads to the entry
    /// whose bytes hash to it, forgeries included, and to nothing never decoded.
    @Test func entriesAreFoundByTheirIDs_onceDecoded() throws {
        let memo = EntryMemo()
        let (first, second) = (Self.entries()[0], Self.entries()[1])
        #expect(memo.entry(id: first.id) == nil)
        _ = try memo.entry(bodyBytes: first.bodyBytes, signature: first.signature)
        let forged = try memo.entry(bodyBytes: second.bodyBytes, signature: first.signature)
        #expect(memo.entry(id: first.id)?.bodyBytes == first.bodyBytes)
        #expect(memo.entry(id: forged.id)?.bodyBytes == second.bodyBytes)
        #expect(memo.entry(id: second.id) == nil)
        _ = try? memo.entry(bodyBytes: Array(second.bodyBytes.dropLast(3)), signature: second.signature)
        #expect(memo.entry(id: second.id) == nil)
    }
}
