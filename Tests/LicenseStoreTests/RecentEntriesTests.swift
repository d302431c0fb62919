import Foundation
import LicenseCore
@testable import LicenseStore
import Testing

private typealias F = StoreFixtures

/// The newest entries kept in memory for the sessions that push them: served only when
/// they answer exactly what SQLite would.
@Suite final class RecentEntriesTests: TemporaryDirectoryTest, @unchecked Sendable {
    /// Signed entries at these seqs (not a chain: the windows do not check one).
    private func stored(_ origin: String, _ seqs: ClosedRange<UInt64>) -> [Entry] {
        seqs.map { seq in
            Entry.sign(EntryBody(origin: origin, seq: seq, prev: .zero, context: VersionVector(), hlc: .zero,
                                 keyID: F.signer.keyID, event: F.residencePermit(holder: Int(seq % 1_000))), with: F.key)
        }
    }

    private func size(_ entry: Entry) -> Int { entry.bodyBytes.count + entry.signature.count }

    @Test func aWindowReachingTheHead_answersFromAnyPointInIt() {
        let recent = RecentEntries()
        let entries = stored("gd", 1...10)
        recent.record(entries)
        #expect(recent.read(origin: "gd", after: 3, limit: 4, bytesMax: .max, through: 10) == entries[3...6].map(StoredEntry.init))
        #expect(recent.read(origin: "gd", after: 0, limit: 100, bytesMax: .max, through: 10)?.map(\.seq) == Array(1...10))
        // Nothing after the point: SQLite answers, in case the head was read before a commit.
        #expect(recent.read(origin: "gd", after: 10, limit: 100, bytesMax: .max, through: 10) == nil)
        // The first always, then while the total fits.
        let threeShort = entries.prefix(3).map(size).reduce(0, +) - 1
        #expect(recent.read(origin: "gd", after: 0, limit: 100, bytesMax: threeShort, through: 10)?.map(\.seq) == [1, 2])
        #expect(recent.read(origin: "gd", after: 0, limit: 100, bytesMax: 1, through: 10)?.map(\.seq) == [1])
    }

    @Test func aWindowShortOfTheHeadOrAfterThePoint_isNotUsed() {
        let recent = RecentEntries()
        recent.record(stored("gd", 5...10))
        // A head recorded later than the window (its commit's record has not run yet).
        #expect(recent.read(origin: "gd", after: 6, limit: 10, bytesMax: .max, through: 11) == nil)
        // Entries before the window.
        #expect(recent.read(origin: "gd", after: 3, limit: 10, bytesMax: .max, through: 10) == nil)
        #expect(recent.read(origin: "gd", after: 4, limit: 10, bytesMax: .max, through: 10)?.map(\.seq) == Array(5...10))
        #expect(recent.read(origin: "sh", after: 0, limit: 10, bytesMax: .max, through: 0) == nil)
        #expect(recent.read(origin: "gd", after: 4, limit: 0, bytesMax: .max, through: 10) == nil)
    }

    @Test func aRunThatDoesNotContinueTheWindow_replacesIt_unlessItIsOlder() {
        let recent = RecentEntries()
        recent.record(stored("gd", 1...4))
        recent.record(stored("gd", 8...9))          // entries 5...7 were stored without a record
        #expect(recent.read(origin: "gd", after: 4, limit: 10, bytesMax: .max, through: 9) == nil)
        #expect(recent.read(origin: "gd", after: 7, limit: 10, bytesMax: .max, through: 9)?.map(\.seq) == [8, 9])
        recent.record(stored("gd", 5...7))          // a record that was overtaken
        #expect(recent.read(origin: "gd", after: 7, limit: 10, bytesMax: .max, through: 9)?.map(\.seq) == [8, 9])
    }

    @Test func theIdAtASeq_isTheHeldEntrys_whileItsWindowHoldsIt() {
        let recent = RecentEntries()
        let entries = stored("gd", 1...3)
        recent.record(entries)
        #expect(recent.id(origin: "gd", seq: 2) == entries[1].id)
        #expect(recent.id(origin: "gd", seq: 4) == nil)
        #expect(recent.id(origin: "sh", seq: 1) == nil)
        recent.record(stored("gd", 1_000...1_000))
        #expect(recent.id(origin: "gd", seq: 2) == nil)
    }

    @Test func aLongRun_keepsOnlyTheNewest() {
        let recent = RecentEntries()
        recent.record(stored("gd", 1...1000))
        #expect(recent.read(origin: "gd", after: 0, limit: 10, bytesMax: .max, through: 1000) == nil)
        let kept = UInt64(RecentEntries.perOrigin)
        #expect(recent.read(origin: "gd", after: 1000 - kept, limit: 1000, bytesMax: .max, through: 1000)?.count == Int(kept))
    }

    /// Through the store: what `storedEntries` answers, from memory or not, is what the
    /// ledger holds, for reads inside and outside the window.
    @Test func storedEntries_matchTheLedger() async throws {
        let store = try openStore()
        for batch in 0..<3 {
            _ = try await authorAll(store, (0..<100).map { F.residencePermit(holder: batch * 100 + $0) }, at: UInt64(batch) * 1000)
        }
        let all = try store.entries(origin: "gd", after: 0, limit: 1000).map(StoredEntry.init)
        #expect(all.count == 300)
        for after in [0, 150, 236, 250, 299, 300] as [UInt64] {
            for limit in [1, 7, 1000] {
                for bytesMax in [1, 2000, Int.max] {
                    var expected: [StoredEntry] = []
                    var total = 0
                    for entry in all.dropFirst(Int(after)).prefix(limit) {
                        total += entry.bodyBytes.count + entry.signature.count
                        if total > bytesMax && !expected.isEmpty { break }
                        expected.append(entry)
                    }
                    #expect(try store.storedEntries(origin: "gd", after: after, limit: limit, bytesMax: bytesMax) == expected,
                            "after \(after), limit \(limit), bytes \(bytesMax)")
                }
            }
        }
        // The newest entries were served from memory.
        #expect(store.recentEntries.read(origin: "gd", after: 299, limit: 1, bytesMax: .max, through: 300)?.map(\.seq) == [300])
    }
}
