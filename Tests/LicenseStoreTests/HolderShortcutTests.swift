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

    /// Every arrival order of `chains` (each origin's entries in seq order, the origins
    /// interleaved every way) into a new store.
    func interleavings(_ chains: [[Entry]]) -> [[Entry]] {
        guard chains.contains(where: { !$0.isEmpty }) else { return [[]] }
        var orders: [[Entry]] = []
        for (index, chain) in chains.enumerated() where !chain.isEmpty {
            var rest = chains
            rest[index] = Array(chain.dropFirst())
            orders += interleavings(rest).map { [chain[0]] + $0 }
        }
        return orders
    }

    func newStore(_ name: String, trusting writers: [Writer]) throws -> LedgerStore {
        let store = try LedgerStore(path: directory.appendingPathComponent("\(name).sqlite").path)
        for writer in writers {
            try store.registerIssuerKey(keyID: writer.keyID, origin: writer.origin, publicKey: writer.key.publicKey)
        }
        return store
    }

    /// Stores `chains` in every arrival order and checks each ends with the full fold's views.
    func expectEveryArrivalOrderFolds(_ chains: [[Entry]], writers: [Writer], holder: Int = 1) async throws {
        let folded = HolderFold.fold(chains.flatMap { $0 }, distinct: true)
        var digests: Set<String> = []
        for (index, order) in interleavings(chains).enumerated() {
            let store = try newStore("order\(index)", trusting: writers)
            for entry in order {
                #expect(try await store.append([entry], physicalMilliseconds: F.now + 1_000) == [.appended])
            }
            #expect(try store.licenses(holder: F.holderRef(holder)).sorted { $0.id < $1.id } == folded.states, "order \(index)")
            digests.insert(try store.stateDigest())
        }
        #expect(digests.count == 1)
    }

    func appliesLast(_ entry: Entry, in store: LedgerStore, holder: Int = 1) throws -> Bool {
        try store.read { db in try LedgerStore.appliesLast(entry, F.holderRef(holder), db) }
    }

    /// Events of a holder's other licenses that an entry did not see do not send the holder
    /// to a full refold: the fold's steps for them change only their own licenses.
    @Test func anEventConcurrentOnlyWithAnotherLicense_isAppliedLast() async throws {
        var gd = Writer("gd", seed: 0...31), bj = Writer("bj", seed: 64...95)
        let permit = gd.write(F.residencePermit(holder: 1), claiming: [:], at: 100)
        let licence = bj.write(F.drivingLicence(holder: 1), claiming: [:], at: 110)
        let suspendLicence = bj.write(F.suspend(licence.licenseID), claiming: [:], at: 150)
        let suspendPermit = gd.write(F.suspend(permit.licenseID), claiming: [:], at: 200)
        let store = try newStore("shortcut", trusting: [gd, bj])
        for entry in [permit, licence, suspendLicence, suspendPermit] {
            #expect(try await store.append([entry], physicalMilliseconds: F.now + 1_000) == [.appended])
        }
        // Neither suspension saw the other license's entries; each comes last among its own license's.
        #expect(try appliesLast(suspendPermit, in: store))
        #expect(try appliesLast(suspendLicence, in: store))
        try await expectEveryArrivalOrderFolds([[permit, suspendPermit], [licence, suspendLicence]], writers: [gd, bj])
    }

    /// An entry that did not see an event of its own license's lineage may be concurrent with
    /// it: the holder is folded again, whichever arrives last.
    @Test func anEventConcurrentWithItsLineage_isNotAppliedLast() async throws {
        var gd = Writer("gd", seed: 0...31), sh = Writer("sh", seed: 32...63)
        let permit = gd.write(F.residencePermit(holder: 1), claiming: [:], at: 100)
        let suspend = gd.write(F.suspend(permit.licenseID), claiming: [:], at: 200)
        let moved = LicenseEvent.Issue(
            licenseType: "residence_permit", province: "310000", holderRef: F.holderRef(1), holderMasked: F.holder(1).masked,
            attributes: ["city": "Shanghai"], validFrom: CivilDate(iso: "2026-01-01")!, validUntil: CivilDate(iso: "2027-01-01")!)
        let transfer = sh.write(.transfer(.init(licenseID: permit.licenseID, license: moved, reason: "moved")), claiming: ["gd": 1], at: 300)
        let store = try newStore("lineage", trusting: [gd, sh])
        for entry in [permit, suspend, transfer] {
            #expect(try await store.append([entry], physicalMilliseconds: F.now + 1_000) == [.appended])
        }
        #expect(try !appliesLast(transfer, in: store))
        try await expectEveryArrivalOrderFolds([[permit, suspend], [transfer]], writers: [gd, sh])
    }

    /// Where contexts contradict each other the fold falls back to clock order, so an entry
    /// must read later than everything up to its lineage's last entry in each chain; an entry
    /// with a later reading in a chain without any of its lineage does not matter.
    @Test func aSeenEntryWithALaterClock_mattersOnlyInItsLineagesChains() async throws {
        var gd = Writer("gd", seed: 0...31), sh = Writer("sh", seed: 32...63), bj = Writer("bj", seed: 64...95)
        let permit = gd.write(F.residencePermit(holder: 1), claiming: [:], at: 100)
        // A licence from a province whose clock runs far ahead.
        let licence = bj.write(F.drivingLicence(holder: 1), claiming: [:], at: 900)
        let moved = LicenseEvent.Issue(
            licenseType: "residence_permit", province: "310000", holderRef: F.holderRef(1), holderMasked: F.holder(1).masked,
            attributes: ["city": "Shanghai"], validFrom: CivilDate(iso: "2026-01-01")!, validUntil: CivilDate(iso: "2027-01-01")!)
        let transfer = sh.write(.transfer(.init(licenseID: permit.licenseID, license: moved, reason: "moved")),
                                claiming: ["gd": 1, "bj": 1], at: 300)
        let store = try newStore("clock", trusting: [gd, sh, bj])
        for entry in [permit, licence, transfer] {
            #expect(try await store.append([entry], physicalMilliseconds: F.now + 1_000) == [.appended])
        }
        #expect(try appliesLast(transfer, in: store))
        try await expectEveryArrivalOrderFolds([[permit], [licence], [transfer]], writers: [gd, sh, bj])

        // The same transfer after a permit whose issuer's clock ran ahead of the transfer's.
        var gd2 = Writer("gd", seed: 0...31), sh2 = Writer("sh", seed: 32...63)
        let early = gd2.write(F.residencePermit(holder: 2), claiming: [:], at: 800)
        let movedAgain = LicenseEvent.Issue(
            licenseType: "residence_permit", province: "310000", holderRef: F.holderRef(2), holderMasked: F.holder(2).masked,
            attributes: ["city": "Shanghai"], validFrom: CivilDate(iso: "2026-01-01")!, validUntil: CivilDate(iso: "2027-01-01")!)
        let behind = sh2.write(.transfer(.init(licenseID: early.licenseID, license: movedAgain, reason: "moved")),
                               claiming: ["gd": 1], at: 300)
        let skewed = try newStore("skewed", trusting: [gd2, sh2])
        for entry in [early, behind] {
            #expect(try await skewed.append([entry], physicalMilliseconds: F.now + 1_000) == [.appended])
        }
        #expect(try !appliesLast(behind, in: skewed, holder: 2))
    }

    /// A node's own event is checked against the view it holds and written with a context
    /// covering everything held, so the fold nearly always applies it last. Not when held
    /// contexts contradict each other and held clocks run far ahead of its own: the fold's
    /// clock-order fallback then takes the node's event first. The holder is folded again,
    /// and the node keeps the state every other node computes.
    @Test func anAuthoredEvent_thatTheFoldDoesNotApplyLast_foldsTheHolder() async throws {
        var gd = Writer("gd", seed: 0...31), sh = Writer("sh", seed: 32...63)
        let bj = IssuerSigner(origin: "bj", key: try SigningKey(seed: Array(64...95)))
        let store = try LedgerStore(path: directory.appendingPathComponent("author.sqlite").path)
        for writer in [gd, sh] {
            try store.registerIssuerKey(keyID: writer.keyID, origin: writer.origin, publicKey: writer.key.publicKey)
        }
        try store.registerIssuerKey(keyID: bj.keyID, origin: "bj", publicKey: bj.key.publicKey)
        let physical = F.now + 1_000
        let permit = gd.write(F.residencePermit(holder: 1), claiming: [:], at: 100)
        #expect(try await store.append([permit], physicalMilliseconds: physical) == [.appended])
        let moved = LicenseEvent.Issue(
            licenseType: "residence_permit", province: "110000", holderRef: F.holderRef(1), holderMasked: F.holder(1).masked,
            attributes: ["city": "Beijing"], validFrom: CivilDate(iso: "2026-01-01")!, validUntil: CivilDate(iso: "2027-01-01")!)
        let transfer = try #require(try await store.author([.transfer(.init(licenseID: permit.licenseID, license: moved, reason: "moved"))],
                                                           signer: bj, catalog: F.catalog, physicalMilliseconds: physical,
                                                           today: F.today).first?.get())
        let successor = transfer.entry.licenseID
        // Two entries whose contexts each claim the other, with clocks ten minutes ahead
        // (beyond what moves this node's clock): gd's suspension, concurrent with the
        // transfer, is carried to the new license.
        let licence = sh.write(F.drivingLicence(holder: 1), claiming: [:], at: 110)
        let suspendLicence = sh.write(F.suspend(licence.licenseID), claiming: ["gd": 2], at: 700_000)
        let suspendPermit = gd.write(F.suspend(permit.licenseID), claiming: ["sh": 2], at: 600_000)
        for entry in [licence, suspendLicence, suspendPermit] {
            #expect(try await store.append([entry], physicalMilliseconds: physical) == [.appended])
        }
        #expect(try store.licenses(holder: F.holderRef(1)).first { $0.id == successor }?.status == .suspended)

        // The new license's issuer reinstates it: checked against the suspended view, but
        // the fold takes the reinstatement (the smallest clock) before the suspension.
        let reinstated = try #require(try await store.author([.reinstate(.init(licenseID: successor, reason: "cleared"))],
                                                             signer: bj, catalog: F.catalog, physicalMilliseconds: physical,
                                                             today: F.today).first?.get())
        let folded = HolderFold.fold([permit, transfer.entry, licence, suspendLicence, suspendPermit, reinstated.entry],
                                     distinct: true)
        #expect(folded.states.first { $0.id == successor }?.status == .suspended)
        #expect(try store.licenses(holder: F.holderRef(1)).sorted { $0.id < $1.id } == folded.states)
        #expect(reinstated.state == folded.states.first { $0.id == successor })
    }
}
