import Foundation
@testable import LicenseCore
@_spi(Testing) @testable import LicenseStore
import Testing

/// Checkpoints beside the writer (docs/STORAGE.md, "Checkpoints beside the writer"): a
/// commit that fills the log asks a checkpointer of its own to copy it into the database;
/// the writer copies it itself only when the log reaches the fallback size. Either way the
/// log stays bounded and nothing committed is lost.
final class CheckpointerTests: TemporaryDirectoryTest, @unchecked Sendable {
    private typealias F = StoreFixtures
    /// A log threshold far below the daemon's, so that a few small transactions cross it.
    private static let thresholdPages = 16
    private static let transactions = 40
    private static let licensesPerTransaction = 8

    private func openStore() throws -> LedgerStore {
        let store = try LedgerStore(path: ledgerPath, identity: F.gd, mergeRule: .causal, signatureMemo: nil,
                                    walCheckpointPages: Self.thresholdPages)
        try store.registerIssuerKey(keyID: F.signer.keyID, origin: "gd", publicKey: F.key.publicKey)
        // The log's file keeps its largest size when it starts again: empty it, so that its
        // size measures what the transactions below made it hold.
        store.checkpointer?.waitForCheckpoints()
        try store.checkpoint()
        return store
    }

    private var logBytes: Int {
        ((try? FileManager.default.attributesOfItem(atPath: ledgerPath + "-wal"))?[.size] as? Int) ?? 0
    }

    /// The log's size in bytes when it holds `pages` frames of 4 KiB pages.
    private static func logBytes(pages: Int) -> Int { 32 + pages * (24 + 4096) }

    /// Writes the test's transactions, calling `afterEach` after each commit, and returns
    /// the licenses written, by holder.
    private func writeTransactions(_ store: LedgerStore, afterEach: () -> Void = {}) async throws -> [Int: Int] {
        var perHolder: [Int: Int] = [:]
        for transaction in 0..<Self.transactions {
            let holders = (0..<Self.licensesPerTransaction).map { (transaction * Self.licensesPerTransaction + $0) % 97 }
            _ = try await authorAll(store, holders.map { F.residencePermit(holder: $0) }, at: UInt64(transaction))
            for holder in holders { perHolder[holder, default: 0] += 1 }
            afterEach()
        }
        return perHolder
    }

    /// Every license written reads back, after the store is closed and opened again, and
    /// the ledger verifies from its bytes.
    private func expectEverythingKept(_ perHolder: [Int: Int]) throws {
        let store = try openStore()
        for (holder, count) in perHolder {
            #expect(try store.licenses(holder: F.holderRef(holder)).count == count)
        }
        #expect(try store.versionVector()["gd"] == UInt64(Self.transactions * Self.licensesPerTransaction))
        let report = try LedgerVerifier.verify(store)
        #expect(report.isValid, "\(report.problems)")
    }

    @Test func aCheckpointerThatKeepsUp_restartsTheLog_andTheWriterNeverCheckpoints() async throws {
        var largestLog = 0
        let perHolder: [Int: Int]
        do {
            let store = try openStore()
            let checkpointer = try #require(store.checkpointer)
            perHolder = try await writeTransactions(store) {
                // Each checkpoint asked for is done before the next transaction starts, as
                // when the writer pauses between batches.
                checkpointer.waitForCheckpoints()
                largestLog = max(largestLog, logBytes)
            }
            let counts = checkpointer.counts
            #expect(counts.background >= 2)
            #expect(counts.completed >= 2)
            #expect(counts.byWriter == 0)
            #expect(counts.failed == 0)
        }
        // Copied whole, the log starts again from its beginning: it never grew past the
        // threshold and the transaction that crossed it, far below what was written.
        #expect(largestLog > 0)
        #expect(largestLog < Self.logBytes(pages: 2 * Self.thresholdPages))
        try expectEverythingKept(perHolder)
    }

    @Test func aWriterThatOutrunsItsCheckpointer_checkpointsItself_atTheFallbackSize() async throws {
        var largestLog = 0
        let perHolder: [Int: Int]
        do {
            let store = try openStore()
            let checkpointer = try #require(store.checkpointer)
            let before = checkpointer.counts
            checkpointer.pause()
            perHolder = try await writeTransactions(store) { largestLog = max(largestLog, logBytes) }
            let held = checkpointer.counts
            checkpointer.resume()
            checkpointer.waitForCheckpoints()
            #expect(held.background == before.background)
            #expect(held.byWriter >= before.byWriter + 2)
            // The paused checkpointer ran once resumed.
            #expect(checkpointer.counts.background > before.background)
        }
        // The writer's own checkpoints bound the log: the fallback size and the transaction
        // that crossed it.
        let fallbackPages = Self.thresholdPages * Int(Checkpointer.fallbackFactor)
        #expect(largestLog >= Self.logBytes(pages: Self.thresholdPages))
        #expect(largestLog < Self.logBytes(pages: fallbackPages + Self.thresholdPages))
        try expectEverythingKept(perHolder)
    }

    @Test func storesThatDoNotWriteOnTheirOwnQueue_haveNone() throws {
        do {
            let store = try LedgerStore(path: ledgerPath, identity: F.gd, mergeRule: .causal, signatureMemo: nil,
                                        writeThread: .callerThread)
            #expect(store.checkpointer == nil)
        }
        let readOnly = try LedgerStore(path: ledgerPath, readOnly: true)
        #expect(readOnly.checkpointer == nil)
    }
}
