import Foundation
import LicenseCore
import LicenseStore
import LicenseSync
import LicenseTransport

extension Simulation {
    func handle(_ event: SimEvent) async throws {
        switch event {
        case let .connect(link):
            try await connect(link)
        case let .deliver(link, epoch, toB, bytes):
            try await deliver(link, epoch: epoch, toB: toB, bytes)
        case let .tick(node):
            for link in links.indices where links[link].connected && (links[link].a == node || links[link].b == node) {
                try await process(link, atB: links[link].b == node, .tick(nowMilliseconds: now))
            }
            schedule(at: now + 1000, .tick(node: node))
        case .write:
            if !healing {
                try await write()
                scheduleNextWrite()
            }
        case .partition:
            guard !healing else { return }
            let side = Set(nodes.indices.filter { _ in random.chance(0.5) })
            summary.partitions += 1
            record("partition \(side.sorted().map { nodes[$0].id })")
            for link in links.indices where side.contains(links[link].a) != side.contains(links[link].b) {
                links[link].cut = true
                disconnect(link, why: "partition")
            }
            schedule(at: now + 2_000 + random.below(15_000), .mend)
        case .mend:
            mendAll()
            if !healing { schedule(at: now + 5_000 + random.below(20_000), .partition) }
        case let .crash(node):
            guard !healing, nodes[node].up else { return }
            summary.crashes += 1
            nodes[node].up = false
            record("crash \(nodes[node].id)")
            for link in links.indices where links[link].a == node || links[link].b == node { disconnect(link, why: "crash") }
            schedule(at: now + 1_000 + random.below(10_000), .restart(node: node))
            schedule(at: now + 5_000 + random.below(20_000), .crash(node: Int(random.below(UInt64(nodes.count)))))
        case let .restart(node):
            guard !nodes[node].up else { return }
            nodes[node].up = true
            record("restart \(nodes[node].id)")
            for link in links.indices where links[link].a == node || links[link].b == node {
                schedule(at: now + random.below(500), .connect(link: link))
            }
        case .heal:
            healing = true
            record("heal")
            mendAll()
            for node in nodes.indices where !nodes[node].up { schedule(at: now, .restart(node: node)) }
        }
    }

    private func mendAll() {
        for link in links.indices where links[link].cut {
            links[link].cut = false
            schedule(at: now + random.below(500), .connect(link: link))
        }
        record("mend")
    }

    // MARK: - Connections

    private func connect(_ index: Int) async throws {
        let link = links[index]
        guard !link.connected, !link.cut, nodes[link.a].up, nodes[link.b].up else { return }
        links[index].epoch += 1
        links[index].connected = true
        links[index].decoders = [FrameDecoder(), FrameDecoder()]
        links[index].lastDelivery = [now, now]
        let a = nodes[link.a], b = nodes[link.b]
        links[index].dialer = SyncSession(role: .dialer, configuration: .init(nodeID: a.id, province: a.province, expectedPeer: b.id))
        links[index].acceptor = SyncSession(role: .acceptor, configuration: .init(nodeID: b.id, province: b.province, expectedPeer: a.id))
        record("connect \(a.id)-\(b.id)")
        let bHeads = try b.store.heads(), aHeads = try a.store.heads()
        try await process(index, atB: true, .connected(vector: bHeads.vector, heads: bHeads.ids, nowMilliseconds: now))
        try await process(index, atB: false, .connected(vector: aHeads.vector, heads: aHeads.ids, nowMilliseconds: now))
    }

    /// Ends the connection on both sides; what is in flight on it is lost. It is dialed
    /// again after a backoff (`connect` waits for a mend or a restart when needed).
    func disconnect(_ index: Int, why: String) {
        guard links[index].connected else { return }
        links[index].connected = false
        links[index].epoch += 1
        links[index].dialer = nil
        links[index].acceptor = nil
        record("disconnect \(nodes[links[index].a].id)-\(nodes[links[index].b].id) \(why)")
        schedule(at: now + 100 + random.below(900), .connect(link: index))
    }

    private func deliver(_ index: Int, epoch: Int, toB: Bool, _ bytes: [UInt8]) async throws {
        guard links[index].connected, links[index].epoch == epoch else { return }
        let side = toB ? 1 : 0
        links[index].decoders[side].append(bytes[...])
        while links[index].connected, links[index].epoch == epoch {
            let frame: SyncFrame?
            do {
                frame = try links[index].decoders[side].next()
            } catch {
                disconnect(index, why: "undecodable frame")
                return
            }
            guard let frame else { return }
            summary.framesDelivered += 1
            try await process(index, atB: toB, .received(frame, nowMilliseconds: now))
        }
    }

    /// Hands `event` to one side's session and carries out what it asks, as the daemon's
    /// connection does, through the same store calls.
    func process(_ index: Int, atB: Bool, _ event: SyncSession.Event) async throws {
        var pending: [SyncSession.Event] = [event]
        let node = atB ? links[index].b : links[index].a
        let store = nodes[node].store
        let epoch = links[index].epoch
        var changed = false
        while !pending.isEmpty, links[index].connected, links[index].epoch == epoch {
            let next = pending.removeFirst()
            let actions: [SyncSession.Action]
            if atB {
                actions = links[index].acceptor?.handle(next) ?? []
            } else {
                actions = links[index].dialer?.handle(next) ?? []
            }
            for action in actions {
                guard links[index].connected, links[index].epoch == epoch else { break }
                switch action {
                case let .send(frame):
                    if !healing, random.chance(config.faults.loss) {
                        summary.connectionsBroken += 1
                        disconnect(index, why: "lost \(frame.kind)")
                        break
                    }
                    let direction = atB ? 1 : 0
                    let delay = config.faults.delayMilliseconds.lowerBound
                        + random.below(config.faults.delayMilliseconds.upperBound - config.faults.delayMilliseconds.lowerBound + 1)
                    let at = max(now + delay, links[index].lastDelivery[direction])
                    links[index].lastDelivery[direction] = at
                    schedule(at: at, .deliver(link: index, epoch: epoch, toB: !atB, bytes: FrameCodec.encode(frame)))
                case let .readEntries(origin, after, limit, bytesMax):
                    pending.append(.entriesRead(origin: origin, try store.storedEntries(origin: origin, after: after, limit: limit,
                                                                                         bytesMax: bytesMax)))
                case let .append(batch, entries):
                    let outcomes = try await store.append(entries, physicalMilliseconds: now)
                    for outcome in outcomes {
                        switch outcome {
                        case .appended: summary.entriesAppended += 1
                        case .duplicate: break
                        case .refused: summary.entriesRefused += 1
                        }
                    }
                    let vector = try store.versionVector()
                    try checkMonotone(node, vector)
                    changed = changed || outcomes.contains(.appended)
                    pending.append(.appended(batch: batch, AppendMapping.result(outcomes, vector: vector)))
                case let .compareHeads(vector, heads):
                    pending.append(.headsCompared(divergent: try store.divergentEntries(vector, heads: heads)))
                case let .checkEvidence(entries):
                    let outcome = try await store.recordEvidence(entries, physicalMilliseconds: now)
                    pending.append(.evidenceChecked(AppendMapping.result(outcome)))
                case let .close(reason):
                    record("close \(nodes[node].id) \(reason.code)")
                    disconnect(index, why: reason.code)
                case .established, .storeTrust, .checkSignatures:
                    break
                }
            }
        }
        if changed { try await announce(from: node) }
    }

    /// What the daemon's vector hub does: a node that appended tells every session it has.
    func announce(from node: Int) async throws {
        let vector = try nodes[node].store.versionVector()
        for link in links.indices where links[link].connected && (links[link].a == node || links[link].b == node) {
            try await process(link, atB: links[link].b == node, .localVectorChanged(vector))
        }
    }

    /// No acknowledged entry disappears: a node's vector never goes down.
    func checkMonotone(_ node: Int, _ vector: VersionVector) throws {
        for (origin, seq) in nodes[node].acknowledged.seqs where vector[origin] < seq {
            fail("\(nodes[node].id)'s vector went down for \(origin): \(seq) → \(vector[origin])")
        }
        nodes[node].acknowledged = nodes[node].acknowledged.merging(vector)
    }

    // MARK: - Workload

    func scheduleNextWrite() {
        let mean = 1000.0 / max(config.writesPerSecond, 0.001)
        schedule(at: now + 1 + random.below(UInt64(2 * mean)), .write)
    }

    /// Citizen `n` of the workload's pool (a valid ID number: born 1990-03-07, sequence `n`).
    func holder(_ n: Int) throws -> (ref: HolderRef, masked: String) {
        let digits = "44030419900307" + String(format: "%03d", n % 1000)
        let number = digits + String(UnicodeScalar(ResidentID.checkCharacter(for: Array(digits.utf8)[...])))
        let id = try ResidentID(number, today: CivilDate(year: 2026, month: 6, day: 1)!)
        return (HolderRef(id: id, key: holderKey), id.masked)
    }

    /// One local write at a random live node: an issue, a change of one of its licenses,
    /// or a transfer of another province's license to it.
    private func write() async throws {
        let live = nodes.indices.filter { nodes[$0].up }
        guard !live.isEmpty else { return }
        let node = nodes[live[Int(random.below(UInt64(live.count)))]]
        let holder = try holder(Int(random.below(UInt64(config.holders))))
        let today = CivilDate(unixMilliseconds: Int64(now), offsetSeconds: 8 * 3600)
        let held = try node.store.licenses(holder: holder.ref)
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
                var moved = LicenseEvent.Issue(licenseType: license.licenseType, province: node.province, holderRef: license.holderRef,
                                               holderMasked: license.holderMasked, attributes: license.attributes,
                                               validFrom: today, validUntil: license.validUntil)
                moved.attributes = license.attributes
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
        let results = try await node.store.author([event], signer: node.signer, catalog: catalog,
                                                  physicalMilliseconds: now, today: today)
        if case .success = results[0] {
            summary.entriesWritten += 1
            record("write \(node.id) \(event.kind.rawValue)")
            try checkMonotone(node.index, try node.store.versionVector())
            try await announce(from: node.index)
        } else {
            summary.writesRefused += 1
        }
    }
}
