import Foundation
import LicenseCore
import LicenseStore

/// Causal-history figures: folding one license with 100 events, and recomputing every
/// license state and the state digest of a large ledger from its entries.
enum FoldBench {
    /// Microseconds to fold a holder whose license has `events` events: an issue, then
    /// amendments, renewals, suspensions and reinstatements by the issuer, a transfer to
    /// another province and, concurrent with it, a suspension by the old issuer.
    /// `distinct`: as the store folds (a ledger holds each entry once); otherwise as an
    /// offline bundle or a test does, looking for duplicates too.
    static func foldMicroseconds(events: Int = 100, distinct: Bool = true) throws -> Double {
        let gdKey = try SigningKey(seed: Array(repeating: 11, count: 32))
        let shKey = try SigningKey(seed: Array(repeating: 12, count: 32))
        let holderKey = try HolderKey(bytes: Array(repeating: 13, count: 32))
        let today = CivilDate(year: 2026, month: 6, day: 1)!
        let id = try ResidentID("11010519491231002X", today: today)
        let issue = LicenseEvent.Issue(
            licenseType: "driving_licence", province: "440000", holderRef: HolderRef(id: id, key: holderKey),
            holderMasked: id.masked, attributes: ["licence_class": "C1", "first_issue_date": "2012-07-01"],
            validFrom: today, validUntil: today.adding(years: 6))
        var gd = Chain(origin: "gd", key: gdKey)
        var sh = Chain(origin: "sh", key: shKey)
        var entries = [gd.append(.issue(issue), wall: 1)]
        let license = entries[0].licenseID
        var until = today.adding(years: 6)
        for n in 1..<(events - 2) {
            let event: LicenseEvent = switch n % 4 {
            case 0: .amend(.init(licenseID: license, set: ["licence_class": n % 8 == 0 ? "B2" : "C1"], remove: [], reason: ""))
            case 1: .suspend(.init(licenseID: license, reason: "check \(n)"))
            case 2: .reinstate(.init(licenseID: license, reason: ""))
            default: { until = until.adding(days: 30); return .renew(.init(licenseID: license, validUntil: until, reason: "")) }()
            }
            entries.append(gd.append(event, wall: UInt64(n + 1)))
        }
        // sh saw everything gd wrote before its transfer; gd's last suspension is concurrent with it.
        sh.context = gd.context
        var moved = issue
        moved.province = "310000"
        entries.append(sh.append(.transfer(.init(licenseID: license, license: moved, reason: "moved")), wall: UInt64(events)))
        entries.append(gd.append(.suspend(.init(licenseID: license, reason: "late fine")), wall: UInt64(events + 1)))
        precondition(entries.count == events)
        let shuffled = entries.reversed().map { $0 }
        // Warm up (allocator, caches), then the median of five batches: one batch can land
        // on a busy moment of this shared machine.
        let rounds = 1_000
        var conflicts = 0
        for _ in 0..<rounds / 2 { conflicts += HolderFold.fold(shuffled, distinct: distinct).conflicts.count }
        var batches: [Double] = []
        for _ in 0..<5 {
            let started = ContinuousClock.now
            for _ in 0..<rounds { conflicts += HolderFold.fold(shuffled, distinct: distinct).conflicts.count }
            batches.append(started.duration(to: .now).seconds * 1e6 / Double(rounds))
        }
        precondition(conflicts == rounds / 2 + 5 * rounds, "the fold should find the one conflict")
        return batches.sorted()[2]
    }

    /// One origin's chain for the benchmark.
    struct Chain {
        let origin: String
        let key: SigningKey
        var seq: UInt64 = 0
        var prev = EntryID.zero
        var context = VersionVector()

        init(origin: String, key: SigningKey) {
            self.origin = origin
            self.key = key
        }

        mutating func append(_ event: LicenseEvent, wall: UInt64) -> Entry {
            seq += 1
            let body = EntryBody(origin: origin, seq: seq, prev: prev, context: context,
                                 hlc: HybridTimestamp(wallMilliseconds: 1_780_000_000_000 + wall, logical: 0),
                                 keyID: IssuerKeyID.derive(origin: origin, publicKey: key.publicKey), event: event)
            let entry = Entry.sign(body, with: key)
            prev = entry.id
            context[origin] = seq
            return entry
        }
    }

    /// Seconds to fold every holder of the ledger again from its entries and recompute the
    /// state digest (what `licensectl verify-ledger` does after the chains).
    static func recomputeSeconds(_ store: LedgerStore) throws -> (seconds: Double, licenses: Int) {
        let started = ContinuousClock.now
        let check = try LedgerVerifier.verifyStates(store)
        guard check.problems.isEmpty else { throw BenchError("state check failed: \(check.problems.prefix(3))") }
        return (started.duration(to: .now).seconds, check.licenses)
    }
}
