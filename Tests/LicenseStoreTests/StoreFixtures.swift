import Foundation
import GRDB
import LicenseCore
@testable import LicenseStore

/// Keys, holders and events shared by the store tests. Constants only: every test passes
/// its physical time and "today" in, so runs are reproducible.
enum StoreFixtures {
    static let gd = LedgerStore.Identity(nodeID: "gd", province: "440000")
    static let key = try! SigningKey(seed: Array(0...31))
    static let signer = IssuerSigner(origin: "gd", key: key)
    static let holderKey = try! HolderKey(bytes: Array(64...95))
    static let catalog = try! Catalog.bundled()
    static let today = CivilDate(year: 2026, month: 3, day: 1)!
    /// 2026-03-01T00:00:00Z.
    static let now: UInt64 = 1_772_323_200_000

    /// A valid ID number for holder `n` (Shenzhen, born 1990-03-07, sequence `n`).
    static func idNumber(_ n: Int) -> String {
        precondition((0..<1000).contains(n))
        let sequence = String(n)
        let digits = "44030419900307" + String(repeating: "0", count: 3 - sequence.count) + sequence
        return digits + String(UnicodeScalar(ResidentID.checkCharacter(for: Array(digits.utf8)[...])))
    }

    static func holder(_ n: Int) -> ResidentID {
        try! ResidentID(idNumber(n), today: today)
    }

    static func holderRef(_ n: Int) -> HolderRef {
        HolderRef(id: holder(n), key: holderKey)
    }

    /// A driving licence (once per holder) for holder `n`.
    static func drivingLicence(holder n: Int, validUntil: String = "2032-01-01") -> LicenseEvent {
        .issue(LicenseEvent.Issue(
            licenseType: "driving_licence", province: "440000", holderRef: holderRef(n), holderMasked: holder(n).masked,
            attributes: ["licence_class": "C1", "first_issue_date": "2020-01-01"],
            validFrom: CivilDate(iso: "2026-01-01")!, validUntil: CivilDate(iso: validUntil)!))
    }

    /// A residence permit for holder `n`; a holder may have any number of them.
    static func residencePermit(holder n: Int, city: String = "Shenzhen") -> LicenseEvent {
        .issue(LicenseEvent.Issue(
            licenseType: "residence_permit", province: "440000", holderRef: holderRef(n), holderMasked: holder(n).masked,
            attributes: ["city": city, "address": "1 Shennan Road"],
            validFrom: CivilDate(iso: "2026-01-01")!, validUntil: CivilDate(iso: "2027-01-01")!))
    }

    static func suspend(_ id: LicenseID, reason: String = "court order") -> LicenseEvent {
        .suspend(.init(licenseID: id, reason: reason))
    }

    static func revoke(_ id: LicenseID, reason: String = "fraud") -> LicenseEvent {
        .revoke(.init(licenseID: id, reason: reason))
    }
}

/// A fresh directory per test, removed by `deinit` when the test's suite instance goes away.
class TemporaryDirectoryTest: @unchecked Sendable {
    let directory: URL
    var ledgerPath: String { directory.appendingPathComponent("ledger.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("lx-store-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A database of the test's own beside the ledger, `name` in the test's directory, on
    /// SQLite as the ledger configures it, with a page cache of `cachePages` pages.
    func sqlitePool(_ name: String, cachePages: Int) throws -> DatabasePool {
        _ = LedgerStore.walBufferInstalled
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = \(cachePages)")
        }
        return try DatabasePool(path: directory.appendingPathComponent(name).path, configuration: configuration)
    }

    /// Opens the test's ledger as node "gd", with gd's issuer key registered.
    func openStore(identity: LedgerStore.Identity? = StoreFixtures.gd) throws -> LedgerStore {
        let store = try LedgerStore(path: ledgerPath, identity: identity)
        try store.registerIssuerKey(keyID: StoreFixtures.signer.keyID, origin: "gd",
                                    publicKey: StoreFixtures.key.publicKey)
        return store
    }

    /// Authors a batch at `now + offset` and returns the results.
    @discardableResult
    func author(_ store: LedgerStore, _ events: [LicenseEvent], at offset: UInt64 = 0,
                today: CivilDate = StoreFixtures.today) async throws -> [Result<LedgerStore.Authored, LicenseRequestError>] {
        try await store.author(events, signer: StoreFixtures.signer, catalog: StoreFixtures.catalog,
                               physicalMilliseconds: StoreFixtures.now + offset, today: today)
    }

    /// Authors a batch whose events must all be accepted.
    func authorAll(_ store: LedgerStore, _ events: [LicenseEvent], at offset: UInt64 = 0) async throws -> [LedgerStore.Authored] {
        try await author(store, events, at: offset).map { try $0.get() }
    }
}
