import Foundation
import LicenseCore
@_spi(Testing) import LicenseStore
import LicenseSync

/// The workload: license events written at random live nodes through the store's
/// authoring path, on a small pool of citizens so that events meet.
extension Simulation {
    /// Writes arrive at uniformly random gaps whose mean is the configured rate's. The gaps
    /// are drawn in microseconds and added up before they are rounded to the queue's
    /// milliseconds: whole-millisecond gaps made `--rate 370` write 333 times a second and
    /// 440 write 400. Writes due in one millisecond run one after another.
    func scheduleNextWrite() {
        let meanMicroseconds = 1_000_000 / config.writesPerSecond
        nextWriteAt = max(nextWriteAt, Double(now)) + Double(random.below(UInt64(2 * meanMicroseconds) + 1)) / 1000
        schedule(at: max(now, UInt64(nextWriteAt)), .write)
    }

    /// Citizen `n` of the workload's pool: a valid ID number, born on 7 March of a year
    /// that changes every thousand citizens, sequence `n`.
    func holder(_ n: Int) throws -> (ref: HolderRef, masked: String) {
        if let known = holders[n] { return known }
        let digits = "440304" + String(1950 + (n / 1000) % 60) + "0307" + String(format: "%03d", n % 1000)
        let number = digits + String(UnicodeScalar(ResidentID.checkCharacter(for: Array(digits.utf8)[...])))
        let id = try ResidentID(number, today: CivilDate(year: 2026, month: 6, day: 1)!)
        let holder = (ref: HolderRef(id: id, key: holderKey), masked: id.masked)
        holders[n] = holder
        return holder
    }

    /// A wiped or rolled-back node may write again once every peer has told it its vector
    /// since it came back (its own entries left it through them) and it holds at least as
    /// many of its own entries as any of them showed.
    func caughtUp(_ node: SimNode) throws -> Bool {
        for link in links.indices where (links[link].a == node.index || links[link].b == node.index) && !node.heardOn.contains(link) {
            return false
        }
        return try node.store.versionVector()[node.id] >= node.ownSeen
    }

    /// One local write at a random live node: an issue, a change of one of its licenses,
    /// or a transfer of another province's license to it.
    func write() async throws {
        let live = nodes.indices.filter { nodes[$0].up && nodes[$0].pausedUntil <= now }
        guard !live.isEmpty else { return }
        let node = nodes[live[Int(random.below(UInt64(live.count)))]]
        if node.recovering {
            guard try caughtUp(node) else {
                summary.writesDeferred += 1
                return
            }
            node.recovering = false
            record("caught up \(node.id)")
        }
        // Once split, the liar writes on both of its machines at once: two entries signed for
        // one place in its chain. (Writing on either in turn, each machine would have learnt
        // the other's entries from the network before its next write, and never forked.)
        for onTwin in node.twin == nil ? [false] : [false, true] {
            try await write(at: node, onTwin: onTwin)
        }
    }

    /// One write on one of the node's machines (the liar's second, `onTwin`).
    private func write(at node: SimNode, onTwin: Bool) async throws {
        let store: LedgerStore = onTwin ? node.twin! : node.store
        let holder = try holder(Int(random.below(UInt64(config.holders))))
        let time = clock(of: node)
        let today = CivilDate(networkDateAt: Int64(time))
        let held = try store.licenses(holder: holder.ref)
        let roll = random.below(100)
        let event: LicenseEvent
        if roll < 45 || held.isEmpty {
            let driving = random.chance(0.3)
            event = .issue(LicenseEvent.Issue(
                licenseType: driving ? "driving_licence" : "residence_permit", province: node.province, holderRef: holder.ref,
                holderMasked: holder.masked,
                attributes: driving ? ["licence_class": "C1", "first_issue_date": "2020-01-01"] : ["city": node.id, "address": "No. \(roll)"],
                validFrom: today, validUntil: today.adding(years: 2)))
        } else {
            let license = held[Int(random.below(UInt64(held.count)))]
            if license.issuerOrigin != node.id || roll >= 90 {
                let moved = LicenseEvent.Issue(licenseType: license.licenseType, province: node.province, holderRef: license.holderRef,
                                               holderMasked: license.holderMasked, attributes: license.attributes,
                                               validFrom: today, validUntil: license.validUntil)
                event = .transfer(.init(licenseID: license.id, license: moved, reason: "moved"))
            } else {
                event = switch roll % 5 {
                case 0: .suspend(.init(licenseID: license.id, reason: "check"))
                case 1: .reinstate(.init(licenseID: license.id, reason: ""))
                case 2: .revoke(.init(licenseID: license.id, reason: "fraud"))
                case 3: .renew(.init(licenseID: license.id, validUntil: today.adding(years: 5), reason: ""))
                default: .amend(.init(licenseID: license.id, set: ["address": "No. \(random.below(1000))"], remove: [], reason: ""))
                }
            }
        }
        let results = try await store.author([event], signer: node.signer, catalog: catalog, physicalMilliseconds: time, today: today)
        guard case let .success(authored) = results[0] else {
            summary.writesRefused += 1
            return
        }
        summary.entriesWritten += 1
        record("write \(node.id)\(onTwin ? "'" : "") \(event.kind.rawValue)")
        if let key = keys[authored.entry.body.keyID] {
            // Every peer's ledger checks the new entry's signature, and so does the invariant
            // checker: both start now, on the core this thread leaves idle.
            signatures.checkAhead(authored.entry, by: key.key)
            checkedSignatures.checkAhead(authored.entry, by: key.key)
        }
        // A node's own entries carry ever later hybrid clock readings, whatever its wall
        // clock did.
        let hlc = authored.entry.body.hlc
        if let last = onTwin ? node.twinLastWritten : node.lastWritten, hlc <= last {
            fail("\(node.id) wrote #\(authored.entry.body.seq) at hybrid time \(hlc), not after its previous entry's \(last)")
        }
        if onTwin { node.twinLastWritten = hlc } else { node.lastWritten = hlc }
        checkMonotone(node, twin: onTwin, try store.versionVector())
        try await announce(from: node.index, ledger: store)
    }
}
