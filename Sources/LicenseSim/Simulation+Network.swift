import Foundation
@_spi(Testing) import LicenseCore
import LicenseStore
@_spi(Testing) import LicenseSync
import LicenseTransport

/// Connections: each link carries one pair of real sessions at a time, frames go through
/// the real codec, and the network model decides what arrives, when, and how often.
extension Simulation {
    func connect(_ index: Int) async throws {
        let link = links[index]
        guard !link.connected, !link.cut, nodes[link.a].up, nodes[link.b].up else { return }
        let paused = max(nodes[link.a].pausedUntil, nodes[link.b].pausedUntil)
        if paused > now {
            schedule(at: paused + random.below(500), .connect(link: index))
            return
        }
        links[index].epoch += 1
        links[index].connected = true
        links[index].inbox = [[], []]
        links[index].lastDelivery = [now, now]
        links[index].established = [false, false]
        let a = nodes[link.a], b = nodes[link.b]
        links[index].dialer = SyncSession(role: .dialer, configuration: .init(nodeID: a.id, province: a.province, expectedPeer: b.id))
        links[index].acceptor = SyncSession(role: .acceptor, configuration: .init(nodeID: b.id, province: b.province, expectedPeer: a.id))
        record("connect \(a.id)-\(b.id)")
        let bHeads = try ledger(of: link.b, on: index).heads(), aHeads = try ledger(of: link.a, on: index).heads()
        try await process(index, atB: true, .connected(vector: bHeads.vector, heads: bHeads.ids, nowMilliseconds: clock(of: b)))
        try await process(index, atB: false, .connected(vector: aHeads.vector, heads: aHeads.ids, nowMilliseconds: clock(of: a)))
    }

    /// Ends the connection on both sides; what is in flight on it is lost. It is dialed
    /// again after a backoff (`connect` waits for a mend or a restart when needed).
    func disconnect(_ index: Int, why: String) {
        guard links[index].connected else { return }
        links[index].connected = false
        links[index].epoch += 1
        links[index].dialer = nil
        links[index].acceptor = nil
        links[index].inbox = [[], []]
        links[index].established = [false, false]
        record("disconnect \(nodes[links[index].a].id)-\(nodes[links[index].b].id) \(why)")
        schedule(at: now + 100 + random.below(900), .connect(link: index))
    }

    /// The ledger a node uses on a link: the liar's second machine serves every other of
    /// its links once it has split.
    func ledger(of node: Int, on link: Int) -> LedgerStore {
        if let twin = nodes[node].twin, nodes[node].twinLinks.contains(link) { return twin }
        return nodes[node].store
    }

    func deliver(_ index: Int, epoch: Int, toB: Bool) async throws {
        guard links[index].connected, links[index].epoch == epoch else { return }
        let target = nodes[toB ? links[index].b : links[index].a]
        if target.pausedUntil > now {
            // A paused node reads nothing; the bytes wait in its socket buffer.
            schedule(at: target.pausedUntil, .deliver(link: index, epoch: epoch, toB: toB))
            return
        }
        let side = toB ? 1 : 0
        let frame: SyncFrame
        switch links[index].inbox[side].removeFirst().received {
        case let .frame(decoded): frame = decoded
        case .incomplete: return
        case .undecodable:
            disconnect(index, why: "undecodable frame")
            return
        }
        summary.framesDelivered += 1
        try await process(index, atB: toB, .received(frame, nowMilliseconds: clock(of: target)))
        if target.recovering, case .vector = frame, let session = links[index].session(atB: toB) {
            // What this peer holds of the recovering node's own entries, kept after
            // the session ends.
            target.heardOn.insert(index)
            target.ownSeen = max(target.ownSeen, session.peerVector[target.id])
        }
    }

    /// Hands `event` to one side's session and carries out what it asks, as the daemon's
    /// connection does, through the same store calls.
    func process(_ index: Int, atB: Bool, _ event: SyncSession.Event) async throws {
        var pending: [SyncSession.Event] = [event]
        let node = atB ? links[index].b : links[index].a
        let store = ledger(of: node, on: index)
        let epoch = links[index].epoch
        var changed = false
        // New equivocation proofs, for every session of this node (as the daemon's hub does).
        var proofs: [[Entry]] = []
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
                    try send(frame, on: index, from: node, atB: atB, epoch: epoch, store: store)
                case let .readEntries(origin, after, limit, bytesMax):
                    pending.append(.entriesRead(origin: origin, try store.storedEntries(origin: origin, after: after, limit: limit,
                                                                                         bytesMax: bytesMax)))
                case let .append(batches):
                    // One at a time: a batch that arrives here is appended before the next
                    // is delivered, so none waits to be grouped with another.
                    for batch in batches {
                        let outcomes = try await store.append(batch.entries, physicalMilliseconds: clock(of: nodes[node]))
                        for (entry, outcome) in zip(batch.entries, outcomes) {
                            switch outcome {
                            case .appended:
                                summary.entriesAppended += 1
                                checkSigned(entry, at: nodes[node])
                            case .duplicate: break
                            case .refused: summary.entriesRefused += 1
                            }
                        }
                        var told = Set<String>()
                        for case let .refused(.conflict(origin, seq)) in outcomes where told.insert(origin).inserted {
                            if let proof = try store.equivocation(origin: origin, seq: seq) { proofs.append(proof.entries) }
                        }
                        let vector = try store.versionVector()
                        checkMonotone(nodes[node], twin: store === nodes[node].twin, vector)
                        changed = changed || outcomes.contains(.appended)
                        pending.append(.appended(batch: batch.number, AppendMapping.result(outcomes, vector: vector)))
                    }
                case let .compareHeads(vector, heads):
                    pending.append(.headsCompared(divergent: try store.divergentEntries(vector, heads: heads)))
                case let .checkEvidence(entries):
                    let outcome = try await store.recordEvidence(entries, physicalMilliseconds: clock(of: nodes[node]))
                    if case let .recorded(proof) = outcome { proofs.append(proof.entries) }
                    pending.append(.evidenceChecked(AppendMapping.result(outcome)))
                case let .close(reason):
                    record("close \(nodes[node].id) \(reason.code)")
                    disconnect(index, why: reason.code)
                case .established:
                    links[index].established[atB ? 1 : 0] = true
                    // Proofs travel with the gossip: a node that never saw both branches
                    // still flags the origin.
                    for proof in try store.earliestEquivocations() { pending.append(.equivocationFound(proof.entries)) }
                case .storeTrust, .checkSignatures:
                    break
                }
            }
        }
        if changed { try await announce(from: node, ledger: store) }
        for proof in proofs { try await spread(proof, from: node, ledger: store) }
    }

    /// Passes a new equivocation proof to every session the ledger serves.
    func spread(_ proof: [Entry], from node: Int, ledger store: LedgerStore) async throws {
        for link in links.indices where links[link].connected && (links[link].a == node || links[link].b == node)
            && ledger(of: node, on: link) === store {
            try await process(link, atB: links[link].b == node, .equivocationFound(proof))
        }
    }

    /// Puts a frame on the wire, where the network (and a lying sender) may change its fate.
    private func send(_ frame: SyncFrame, on index: Int, from node: Int, atB: Bool, epoch: Int, store: LedgerStore) throws {
        var frame = frame
        if !healing, random.chance(config.faults.loss) {
            summary.connectionsBroken += 1
            disconnect(index, why: "lost \(frame.kind)")
            return
        }
        if node == config.maliciousNode, !healing { frame = try tamper(frame, store: store) }
        let direction = atB ? 1 : 0
        let faults = config.faults
        let delay = faults.delayMilliseconds.lowerBound
            + random.below(faults.delayMilliseconds.upperBound - faults.delayMilliseconds.lowerBound + 1)
        let inFlight = FrameInFlight(frame, decodedEntries: decodedEntries, on: codec)
        let at = max(now + delay, links[index].lastDelivery[direction], links[index].deafUntil[direction])
        links[index].lastDelivery[direction] = at
        var inbox = links[index].inbox[1 - direction]
        if !healing, random.chance(faults.reordering), !inbox.isEmpty {
            // Overtakes the frame sent before it on this connection.
            inbox.insert(inFlight, at: inbox.count - 1)
            summary.framesReordered += 1
            record("reorder \(frame.kind)")
        } else {
            inbox.append(inFlight)
        }
        schedule(at: at, .deliver(link: index, epoch: epoch, toB: !atB))
        if !healing, random.chance(faults.duplication) {
            summary.framesDuplicated += 1
            record("duplicate \(frame.kind)")
            inbox.append(inFlight)
            schedule(at: at, .deliver(link: index, epoch: epoch, toB: !atB))
        }
        links[index].inbox[1 - direction] = inbox
    }

    /// The liar's sender: now and then a forged signature, or old entries replayed ahead
    /// of the new ones.
    private func tamper(_ frame: SyncFrame, store: LedgerStore) throws -> SyncFrame {
        guard case let .entryBytes(batch, entries) = frame, let first = entries.first, let last = entries.last else { return frame }
        if random.chance(0.05) {
            var signature = last.signature
            signature[Int(random.below(UInt64(signature.count)))] ^= 0x01
            let forged = StoredEntry(origin: last.origin, seq: last.seq, bodyBytes: last.bodyBytes, signature: signature)
            summary.forgeries += 1
            record("forge \(last.origin)#\(last.seq)")
            return .entryBytes(batch: batch, Array(entries.dropLast()) + [forged])
        }
        if random.chance(0.1), first.seq > 1 {
            let from = first.seq > 6 ? first.seq - 6 : 0
            let old = try store.storedEntries(origin: first.origin, after: from, limit: Int(first.seq - 1 - from), bytesMax: .max)
            guard !old.isEmpty else { return frame }
            summary.replays += 1
            record("replay \(first.origin)#\(from + 1)-\(first.seq - 1)")
            return .entryBytes(batch: batch, old + entries)
        }
        return frame
    }

    /// What the daemon's vector hub does: a node that appended tells every session its
    /// ledger serves.
    func announce(from node: Int, ledger store: LedgerStore) async throws {
        let vector = try store.versionVector()
        for link in links.indices where links[link].connected && (links[link].a == node || links[link].b == node)
            && ledger(of: node, on: link) === store {
            try await process(link, atB: links[link].b == node, .localVectorChanged(vector))
        }
    }
}
