import Foundation
import LicenseCore
import LicenseStore
import LicenseSync

/// The events of a run: connections, ticks, writes, and the faults.
extension Simulation {
    func handle(_ event: SimEvent) async throws {
        switch event {
        case let .connect(link):
            try await connect(link)
        case let .deliver(link, epoch, toB):
            try await deliver(link, epoch: epoch, toB: toB)
        case let .tick(node):
            if nodes[node].up, nodes[node].pausedUntil <= now {
                let mine = links.indices.filter { links[$0].connected && (links[$0].a == node || links[$0].b == node) }
                for link in mine {
                    try await process(link, atB: links[link].b == node, .tick(nowMilliseconds: clock(of: nodes[node])))
                }
                try checkStates(of: nodes[node])
                // Anti-entropy, as the daemon runs it: every 10 s one random established
                // session tells its peer this node's vector, which repairs whatever a push missed.
                nodes[node].ticks += 1
                let established = mine.filter { links[$0].connected && links[$0].established[links[$0].b == node ? 1 : 0] }
                if nodes[node].ticks % 10 == 0, !established.isEmpty {
                    let link = established[Int(random.below(UInt64(established.count)))]
                    if links[link].connected {
                        let atB = links[link].b == node
                        let heads = try ledger(of: node, on: link).heads()
                        try await process(link, atB: atB, .announce(vector: heads.vector, heads: heads.ids))
                    }
                }
            }
            schedule(at: now + 1000, .tick(node: node))
        case .write:
            if !healing {
                try await write()
                scheduleNextWrite()
            }
        case .partition:
            guard !healing else { return }
            let mendAt = now + 2_000 + random.below(15_000)
            partition(until: mendAt)
            schedule(at: mendAt, .mend)
        case .mend:
            mendAll()
            if !healing { schedule(at: now + 5_000 + random.below(20_000), .partition) }
        case let .flap(link, remaining):
            guard !healing, remaining > 0, !links[link].pinned else { return }
            links[link].cut.toggle()
            if links[link].cut { disconnect(link, why: "flap") } else { schedule(at: now + random.below(200), .connect(link: link)) }
            schedule(at: now + 500 + random.below(2_500), .flap(link: link, remaining: remaining - 1))
        case let .crash(node):
            guard !healing else { return }
            if nodes[node].up {
                let faults = config.faults
                let liar = node == config.maliciousNode
                let wipe = !liar && faults.wipes && random.chance(0.3)
                let rollback = !liar && !wipe && faults.oldLedgers && nodes[node].backup != nil && random.chance(0.3)
                // Without plain crashes on, only the crashes that wipe or roll back happen.
                if faults.crashes || wipe || rollback {
                    crash(node)
                    schedule(at: now + 1_000 + random.below(10_000), .restart(node: node, wipe: wipe, rollback: rollback))
                }
            }
            schedule(at: now + 5_000 + random.below(20_000), .crash(node: Int(random.below(UInt64(nodes.count)))))
        case let .restart(node, wipe, rollback):
            try restart(node, wipe: wipe, rollback: rollback)
        case let .pause(node):
            guard !healing else { return }
            if nodes[node].up, nodes[node].pausedUntil <= now {
                nodes[node].pausedUntil = now + 1_000 + random.below(89_000)
                summary.pauses += 1
                record("pause \(nodes[node].id) until \(nodes[node].pausedUntil - start)")
            }
            schedule(at: now + 10_000 + random.below(30_000), .pause(node: Int(random.below(UInt64(nodes.count)))))
        case let .clockJump(node):
            guard !healing else { return }
            let jump = Int64(1_000 + random.below(1_800_000)) * (random.chance(0.5) ? -1 : 1)
            nodes[node].clockOffset += jump
            summary.clockJumps += 1
            record("clock \(nodes[node].id) \(jump)")
            schedule(at: now + 5_000 + random.below(15_000), .clockJump(node: Int(random.below(UInt64(nodes.count)))))
        case let .backup(node):
            guard nodes[node].up, nodes[node].backup == nil else { return }
            let path = nodes[node].directory + "/\(nodes[node].id).backup.sqlite"
            try nodes[node].store.backup(to: path)
            nodes[node].backup = path
            record("backup \(nodes[node].id)")
        case .split:
            try split()
        case let .scripted(fault):
            try scripted(fault)
        case .heal:
            healing = true
            record("heal")
            for index in links.indices { links[index].pinned = false }
            mendAll()
            for node in nodes {
                node.pausedUntil = min(node.pausedUntil, now)
            }
            for node in nodes.indices where !nodes[node].up {
                schedule(at: now, .restart(node: node, wipe: false, rollback: false))
            }
        }
    }

    /// Cuts the network one of five ways.
    private func partition(until mendAt: UInt64) {
        summary.partitions += 1
        let count = nodes.count
        switch random.below(5) {
        case 0:
            let side = Set(nodes.indices.filter { _ in random.chance(0.5) })
            record("partition halves \(side.sorted().map { nodes[$0].id })")
            cut { side.contains($0) != side.contains($1) }
        case 1:
            let size = 1 + Int(random.below(UInt64(max(1, (count - 1) / 2))))
            var minority = Set<Int>()
            while minority.count < size { minority.insert(Int(random.below(UInt64(count)))) }
            record("partition minority \(minority.sorted().map { nodes[$0].id })")
            cut { minority.contains($0) != minority.contains($1) }
        case 2:
            // One direction stops carrying frames while the connection stays up: TCP keeps
            // what is sent and delivers it when the route is back, unless the far side,
            // hearing nothing, times the session out first.
            var deafened: [String] = []
            for index in links.indices where random.chance(0.3) {
                let direction = Int(random.below(2))
                links[index].deafUntil[direction] = mendAt
                deafened.append("\(nodes[links[index].a].id)\(direction == 0 ? "→" : "←")\(nodes[links[index].b].id)")
            }
            record("partition one-way \(deafened)")
        case 3:
            // The ring cut into arcs: each arc keeps its own links.
            let arcs = 2 + Int(random.below(3))
            let cuts = Set((0..<arcs - 1).map { _ in 1 + Int(random.below(UInt64(max(1, count - 1)))) })
            let arc = (0..<count).map { node in cuts.filter { $0 <= node }.count }
            record("partition ring at \(cuts.sorted())")
            cut { arc[$0] != arc[$1] }
        default:
            let link = Int(random.below(UInt64(links.count)))
            record("partition flapping \(nodes[links[link].a].id)-\(nodes[links[link].b].id)")
            schedule(at: now, .flap(link: link, remaining: 6 + Int(random.below(15))))
        }
    }

    private func cut(_ separates: (Int, Int) -> Bool) {
        for link in links.indices where separates(links[link].a, links[link].b) {
            links[link].cut = true
            disconnect(link, why: "partition")
        }
    }

    private func mendAll() {
        for link in links.indices {
            links[link].deafUntil = [0, 0]
            if links[link].cut, !links[link].pinned {
                links[link].cut = false
                schedule(at: now + random.below(500), .connect(link: link))
            }
        }
        record("mend")
    }

    private func crash(_ node: Int) {
        summary.crashes += 1
        nodes[node].up = false
        nodes[node].pausedUntil = 0
        record("crash \(nodes[node].id)")
        for link in links.indices where links[link].a == node || links[link].b == node { disconnect(link, why: "crash") }
    }

    /// Brings a node back: its ledger reopened from disk, or an empty disk, or its backup.
    private func restart(_ node: Int, wipe: Bool, rollback: Bool) throws {
        let sim = nodes[node]
        guard !sim.up else { return }
        sim.store = nil
        if wipe || rollback {
            let old = sim.ledgerPath
            sim.incarnation += 1
            if rollback, let backup = sim.backup { try FileManager.default.copyItem(atPath: backup, toPath: sim.ledgerPath) }
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: old + suffix) }
            sim.recovering = true
            sim.lastWritten = nil
            if wipe { summary.wipes += 1 } else { summary.rollbacks += 1 }
        }
        sim.store = try openStore(sim, file: sim.ledgerPath)
        if let twin = sim.twin {
            sim.twin = nil
            sim.twin = try openStore(sim, file: twin.path)
        }
        sim.up = true
        record("restart \(sim.id)\(wipe ? " wiped" : rollback ? " rolled back" : "")")
        if wipe || rollback {
            // What only this node held is gone, on purpose; the rest must survive.
            sim.acknowledged = try sim.store.versionVector()
            networkHeld = sim.acknowledged
            sim.heardOn = []
            sim.ownSeen = 0
            // Down nodes included: their disks survive a crash.
            for other in nodes where other !== sim && other.index != config.maliciousNode {
                networkHeld = networkHeld.merging(other.acknowledged)
            }
        }
        for link in links.indices where links[link].a == node || links[link].b == node {
            schedule(at: now + random.below(500), .connect(link: link))
        }
    }

    /// The liar's key starts working on a second machine, from a copy of its ledger; every
    /// other of its links talks to that machine from now on.
    private func split() throws {
        guard let liar = config.maliciousNode, nodes[liar].twin == nil, !healing else { return }
        guard nodes[liar].up else {
            schedule(at: now + 1_000, .split)
            return
        }
        let node = nodes[liar]
        let path = node.ledgerPath + ".twin"
        try node.store.backup(to: path)
        node.twin = try openStore(node, file: path)
        node.twinAcknowledged = try node.twin!.versionVector()
        // Every other of its links, so that each machine has peers.
        let own = links.indices.filter { links[$0].a == liar || links[$0].b == liar }
        node.twinLinks = Set(own.enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
        record("split \(node.id)")
        for link in links.indices where links[link].a == liar || links[link].b == liar { disconnect(link, why: "split") }
    }

    private func scripted(_ fault: ScriptedFault) throws {
        switch fault {
        case let .isolate(isolated):
            let side = Set(isolated)
            record("isolate \(isolated.map { nodes[$0].id })")
            summary.partitions += 1
            for link in links.indices where side.contains(links[link].a) != side.contains(links[link].b) {
                links[link].cut = true
                links[link].pinned = true
                disconnect(link, why: "isolated")
            }
        case let .wipe(node, downSeconds):
            guard nodes[node].up else { return }
            crash(node)
            schedule(at: now + downSeconds * 1000, .restart(node: node, wipe: true, rollback: false))
        }
    }
}
