import Foundation
import LicenseCore
@testable import LicenseStore
import Testing

/// The store applies an entry that follows all of its holder's without folding the holder
/// again (docs/CONFLICTS.md, "When a holder is not folded again"); whatever the order entries
/// arrive in, the views are those of the full fold.
@Suite final class HolderShortcutTests: TemporaryDirectoryTest, @unchecked Sendable {
    typealias F = StoreFixtures

    /// Writes a chain with whatever context it is told to claim.
    struct Writer {
        let origin: String
        let key: SigningKey
        var keyID: String { IssuerKeyID.derive(origin: origin, publicKey: key.publicKey) }
        var seq: UInt64 = 0
        var prev = EntryID.zero

        init(_ origin: String, seed: ClosedRange<UInt8>) {
            self.origin = origin
            key = try! SigningKey(seed: Array(seed))
        }

        mutating func write(_ event: LicenseEvent, claiming context: [String: UInt64], at offset: UInt64) -> Entry {
            seq += 1
            var vector = VersionVector(context)
            vector[origin] = seq - 1
            let body = EntryBody(origin: origin, seq: seq, prev: prev, context: vector,
                                 hlc: HybridTimestamp(wallMilliseconds: F.now + offset, logical: 0), keyID: keyID, event: event)
            let entry = Entry.sign(body, with: key)
            prev = entry.id
            return entry
        }
    }

    /// A liar's suspension claims to have seen an entry not yet written. The fold then holds
    /// that suspension back behind the entry once it arrives, which reorders the others: the
    /// entry must not take the shortcut, or the node that received it last would keep a
    /// state no other node computes.
    @Test func aContextClaimingALaterEntry_foldsAlike_inEitherArrivalOrder() async throws {
        var gd = Writer("gd", seed: 0...31), sh = Writer("sh", seed: 32...63), bj = Writer("bj", seed: 64...95)
        let issue = gd.write(F.residencePermit(holder: 1), claiming: [:], at: 100)
        let license = issue.licenseID
        let suspend = gd.write(F.suspend(license), claiming: ["bj": 1], at: 200)
        let moved = LicenseEvent.Issue(
            licenseType: "residence_permit", province: "310000", holderRef: F.holderRef(1), holderMasked: F.holder(1).masked,
            attributes: ["city": "Shanghai"], validFrom: CivilDate(iso: "2026-01-01")!, validUntil: CivilDate(iso: "2027-01-01")!)
        let transfer = sh.write(.transfer(.init(licenseID: license, license: moved, reason: "moved")), claiming: ["gd": 1], at: 300)
        let revoke = bj.write(F.revoke(license), claiming: ["gd": 2, "sh": 1], at: 400)
        var digests: [String] = []
        for (index, order) in [[issue, suspend, transfer, revoke], [issue, suspend, revoke, transfer]].enumerated() {
            let store = try LedgerStore(path: directory.appendingPathComponent("node\(index).sqlite").path)
            for writer in [gd, sh, bj] {
                try store.registerIssuerKey(keyID: writer.keyID, origin: writer.origin, publicKey: writer.key.publicKey)
            }
            for entry in order {
                #expect(try await store.append([entry], physicalMilliseconds: F.now + 500) == [.appended])
            }
            let folded = HolderFold.fold([issue, suspend, transfer, revoke], distinct: true)
            #expect(try store.licenses(holder: F.holderRef(1)).sorted { $0.id < $1.id } == folded.states, "arrival order \(index)")
            digests.append(try store.stateDigest())
        }
        #expect(digests[0] == digests[1])
    }
}
