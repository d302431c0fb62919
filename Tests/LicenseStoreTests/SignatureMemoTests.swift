import Foundation
import LicenseCore
@_spi(Testing) @testable import LicenseStore
import Testing

private typealias F = StoreFixtures

/// The simulator's shared signature checks (DECISIONS 43, 58): the memo answers as the
/// entry's own check does, whether the check was started ahead on another thread or made
/// when asked, and keeps answering so.
final class SignatureMemoTests: TemporaryDirectoryTest, @unchecked Sendable {
    @Test func checkedAhead_orWhenAsked_answersAsTheEntrysOwnCheck() async throws {
        let store = try openStore()
        let entries = try await authorAll(store, [F.drivingLicence(holder: 1), F.residencePermit(holder: 2)]).map(\.entry)
        var signature = entries[1].signature
        signature[10] ^= 0x01
        let forged = try Entry(bodyBytes: entries[1].bodyBytes, signature: signature)
        let otherKey = try SigningKey(seed: Array(32...63)).publicKey
        let cases: [(entry: Entry, key: PublicKey, valid: Bool)] = [
            (entries[0], F.key.publicKey, true), (forged, F.key.publicKey, false),
            (entries[1], otherKey, false), (entries[1], F.key.publicKey, true),
        ]
        let memo = SignatureMemo()
        // The first two are checked ahead, the others only when asked.
        for check in cases.prefix(2) { memo.checkAhead(check.entry, by: check.key) }
        for check in cases {
            #expect(check.entry.hasValidSignature(by: check.key) == check.valid)
            #expect(memo.isValid(check.entry, by: check.key) == check.valid)
            #expect(memo.isValid(check.entry, by: check.key) == check.valid)
        }
    }
}
