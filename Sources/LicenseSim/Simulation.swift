import Foundation
@_spi(Testing) import LicenseCore
@_spi(Testing) import LicenseStore
import LicenseSync
import LicenseTransport

/// A deterministic simulation of a network of provinces: the real `SyncSession` state
/// machines and real `LedgerStore` databases, driven in one task by a virtual clock and a
/// seeded random source, over a network model that loses, duplicates, reorders and delays
/// frames, partitions nodes, crashes, pauses, wipes and rolls them back, skews their
/// clocks, and lets one of them lie. The same seed replays the same run, event for event
/// (the trace hash proves it). See docs/SIMULATION.md.
public final class Simulation {
    /// Every fault can be switched on its own. `all` is what `--faults all` runs.
    public struct Faults: Sendable, Equatable {
        /// Chance that a frame's connection breaks instead of delivering it (a lost segment
        /// TCP gives up on, a reset, a dead route): both sessions end, the link redials later.
        public var loss = 0.0
        /// Chance that a frame is delivered twice.
        public var duplication = 0.0
        /// Chance that a frame overtakes the frames sent before it on its connection.
        public var reordering = 0.0
        /// Frame delay: a base plus a random extra, in milliseconds.
        public var delayMilliseconds: ClosedRange<UInt64> = 1...20
        /// Partitions during the fault phase: two random sides, a minority cut off, links
        /// that carry one direction only, a ring cut into arcs, a flapping link.
        public var partitions = false
        /// Nodes crash (their sessions and everything in flight to them are lost; what their
        /// ledger committed survives) and restart later, reopening their ledger.
        public var crashes = false
        /// Nodes stop for up to 90 s (a long pause, a stopped VM): frames wait for them,
        /// and peers may time them out.
        public var pauses = false
        /// Clocks start skewed by up to 2 minutes and jump, forwards and backwards, by up to
        /// 30 minutes.
        public var clocks = false
        /// A crashed node sometimes comes back with an empty disk.
        public var wipes = false
        /// A crashed node sometimes comes back with the backup taken early in the run.
        public var oldLedgers = false
        /// The last node lies: its issuer key runs on two machines that write independently
        /// (equivocation), and it sends entries with forged signatures and replays old ones.
        public var malicious = false

        public init() {}

        public static var none: Faults { Faults() }

        public static var all: Faults {
            var faults = Faults()
            faults.loss = 0.02
            faults.duplication = 0.005
            faults.reordering = 0.005
            faults.delayMilliseconds = 1...200
            faults.partitions = true
            faults.crashes = true
            faults.pauses = true
            faults.clocks = true
            faults.wipes = true
            faults.oldLedgers = true
            faults.malicious = true
            return faults
        }

        /// The names `--faults` takes, each switching one fault on at its `all` setting.
        public static let names = ["loss", "duplication", "reordering", "delay", "partitions", "crashes", "pauses",
                                   "clocks", "wipes", "old-ledgers", "malicious"]

        /// The faults switched on, in `--faults` form.
        public var argument: String {
            if self == .all { return "all" }
            let all = Faults.all
            let on = [loss > 0, duplication > 0, reordering > 0, delayMilliseconds == all.delayMilliseconds, partitions, crashes,
                      pauses, clocks, wipes, oldLedgers, malicious]
            let names = zip(Faults.names, on).filter(\.1).map(\.0)
            return names.isEmpty ? "none" : names.joined(separator: ",")
        }

        /// `all`, `none`, or a comma-separated list of `names`.
        public init(parsing text: String) throws(SimulationError) {
            switch text {
            case "all": self = .all
            case "none": self = .none
            default:
                self = .none
                let all = Faults.all
                for name in text.split(separator: ",").map(String.init) {
                    switch name {
                    case "loss": loss = all.loss
                    case "duplication": duplication = all.duplication
                    case "reordering": reordering = all.reordering
                    case "delay": delayMilliseconds = all.delayMilliseconds
                    case "partitions": partitions = true
                    case "crashes": crashes = true
                    case "pauses": pauses = true
                    case "clocks": clocks = true
                    case "wipes": wipes = true
                    case "old-ledgers": oldLedgers = true
                    case "malicious": malicious = true
                    default:
                        throw .badConfiguration("unknown fault '\(name)': expected all, none, or a list of \(Faults.names.joined(separator: ", "))")
                    }
                }
            }
        }
    }

    /// A fault at a fixed time: the named scenarios.
    public enum ScriptedFault: Sendable, Equatable {
        /// Cuts these nodes off from the rest until the heal.
        case isolate(nodes: [Int])
        /// Crashes the node, wipes its disk, and restarts it after `downSeconds`.
        case wipe(node: Int, downSeconds: UInt64)
    }

    public struct Configuration: Sendable {
        public var nodes = 5
        public var seed: UInt64 = 1
        /// Virtual seconds of the fault phase; the heal phase follows.
        public var faultSeconds: UInt64 = 60
        /// Virtual seconds the heal phase may take before the run fails.
        public var healSecondsMax: UInt64 = 600
        /// License events written per virtual second, across the network, in the fault phase.
        public var writesPerSecond = 20.0
        public var faults = Faults.all
        /// Faults at fixed virtual seconds into the run, besides the random ones.
        public var script: [(seconds: UInt64, fault: ScriptedFault)] = []
        /// Citizens the workload draws holders from: few, so that events meet on them.
        public var holders = 40
        /// Where the nodes' ledgers live (removed afterwards).
        public var directory: String
        /// The canary: every store merges events in arrival order, a broken rule the
        /// invariants must catch. Tests only.
        @_spi(Testing) public var brokenMergeRule = false

        public init(directory: String) {
            self.directory = directory
        }

        /// The `licensed-sim` command line that replays this run (scripted faults and the
        /// canary have no option; they are named after it).
        public var replayCommand: String {
            let loss = faults.loss > 0 && faults.loss != Faults.all.loss ? " --loss \(faults.loss)" : ""
            let scripted = script.isEmpty ? "" : " (plus scripted faults: \(script.map { "\($0.fault) at \($0.seconds) s" }.joined(separator: ", ")))"
            return "licensed-sim --nodes \(nodes) --seed \(seed) --duration \(faultSeconds)s --faults \(faults.argument)\(loss)"
                + " --rate \(writesPerSecond) --holders \(holders)\(scripted)\(brokenMergeRule ? " (with the broken merge rule)" : "")"
        }

        /// The node that lies when `faults.malicious` is on (the last; none in networks of
        /// fewer than three, where no honest pair would be left to compare).
        var maliciousNode: Int? { faults.malicious && nodes >= 3 ? nodes - 1 : nil }
    }

    public struct Summary: Sendable {
        public var seed: UInt64 = 0
        public var nodes = 0
        public var entriesWritten = 0
        public var writesRefused = 0
        /// Writes a wiped or rolled-back node held back until it had its own entries again.
        public var writesDeferred = 0
        public var framesDelivered = 0
        public var entriesAppended = 0
        public var entriesRefused = 0
        public var connectionsBroken = 0
        public var framesDuplicated = 0
        public var framesReordered = 0
        public var partitions = 0
        public var crashes = 0
        public var pauses = 0
        public var clockJumps = 0
        public var wipes = 0
        public var rollbacks = 0
        public var forgeries = 0
        public var replays = 0
        /// Origins every honest node flagged for equivocation.
        public var equivocatingOrigins: [String] = []
        public var events = 0
        public var conflicts = 0
        public var convergedAfterHealMilliseconds: UInt64 = 0
        public var ledgerDigest = ""
        public var stateDigest = ""
        public var traceHash = ""
        /// The first invariant that failed, if any.
        public var failure: String?

        public init() {}

        /// Faults injected, of every kind.
        public var faultsInjected: Int {
            connectionsBroken + framesDuplicated + framesReordered + partitions + crashes + pauses + clockJumps
                + wipes + rollbacks + forgeries + replays
        }
    }

    /// Where simulated ledgers go: memory-backed /dev/shm when there is one (a simulated
    /// fsync need not wait for a disk), else the temporary directory.
    public static func scratchDirectory() -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory), isDirectory.boolValue,
           FileManager.default.isWritableFile(atPath: "/dev/shm") {
            return "/dev/shm"
        }
        return NSTemporaryDirectory()
    }

    /// Nodes' names: the provinces' short ids, in GB/T 2260 order.
    static func names(_ count: Int) -> [(id: String, province: String)] {
        Province.all.prefix(count).map { ($0.shortID, $0.code) }
    }

    // MARK: - State

    let config: Configuration
    var random: SplitMix
    var now: UInt64 = 1_780_000_000_000
    /// When the next write is due, in fractions of a virtual millisecond (`scheduleNextWrite`).
    var nextWriteAt: Double = 0
    let start: UInt64
    var queue = EventQueue()
    var nodes: [SimNode] = []
    var links: [Link] = []
    var summary = Summary()
    var trace: [UInt8] = Array("lx-sim-trace-v1".utf8)
    var traceFile: FileHandle?
    var healing = false
    var lastConvergenceCheck: UInt64 = 0
    let catalog: Catalog
    /// The network's holder key: every node derives the same holder refs.
    let holderKey: HolderKey
    /// Every node's issuer key, by key id: what the invariants check signatures against.
    var keys: [String: (origin: String, key: PublicKey)] = [:]
    /// The invariant checker's own signature checks (an id covers body and signature, so
    /// one check holds on every node), apart from the nodes' below.
    let checkedSignatures = SignatureMemo()
    /// The nodes' own signature checks, shared: each entry's signature is checked once in
    /// the process rather than once per simulated node (the checker above stays apart).
    let signatures = SignatureMemo()
    /// The nodes' frame decoders share decoded entries too: each distinct entry is decoded
    /// once in the process rather than once per copy a node receives.
    let decodedEntries = EntryMemo()
    /// Where frames in flight are encoded and decoded again (`FrameInFlight`): one thread
    /// beside the simulation's, which would otherwise leave the second core idle.
    let codec = DispatchQueue(label: "licensed-sim.codec")
    /// Per origin, the highest seq some node held that was not wiped or rolled back since:
    /// none of it may be missing after the heal.
    var networkHeld = VersionVector()
    /// Per ledger digest, the state digest the first node holding those entries computed.
    var statesSeen: [String: (node: String, state: String)] = [:]
    /// The workload's citizens, derived once each (formatting and checking an ID number
    /// cost as much as a twentieth of a write).
    var holders: [Int: (ref: HolderRef, masked: String)] = [:]

    /// The fastest workload `--rate` asks for: a write every 10 µs of virtual time on average.
    public static let writesPerSecondMax = 100_000.0

    public init(_ config: Configuration, traceFile: FileHandle? = nil) throws {
        guard (2...Province.all.count).contains(config.nodes) else {
            throw SimulationError.badConfiguration("nodes must be 2–\(Province.all.count), got \(config.nodes)")
        }
        guard (0...0.3).contains(config.faults.loss) else {
            throw SimulationError.badConfiguration("loss must be 0–0.3, got \(config.faults.loss)")
        }
        // Above this, writes would be due faster than the microseconds their gaps are drawn in.
        guard config.writesPerSecond > 0, config.writesPerSecond <= Self.writesPerSecondMax else {
            throw SimulationError.badConfiguration("rate must be above 0 and at most \(Int(Self.writesPerSecondMax)) writes per second, got \(config.writesPerSecond)")
        }
        self.config = config
        random = SplitMix(seed: config.seed)
        start = now
        self.traceFile = traceFile
        summary.seed = config.seed
        summary.nodes = config.nodes
        try FileManager.default.createDirectory(atPath: config.directory, withIntermediateDirectories: true)
        let names = Self.names(config.nodes)
        let signers = try names.map { IssuerSigner(origin: $0.id, key: try SigningKey(seed: Sodium.blake2b256(Array("sim-\($0.id)".utf8)))) }
        for signer in signers { keys[signer.keyID] = (signer.origin, signer.key.publicKey) }
        catalog = try Catalog.bundled()
        holderKey = try HolderKey(bytes: Array(repeating: 7, count: 32))
        for (index, name) in names.enumerated() {
            let node = SimNode(index: index, id: name.id, province: name.province, signer: signers[index],
                               directory: config.directory)
            node.store = try openStore(node, file: node.ledgerPath)
            if config.faults.clocks { node.clockOffset = Int64(random.below(240_001)) - 120_000 }
            nodes.append(node)
        }
        // A connected mesh: a ring, plus random chords.
        for a in 0..<config.nodes {
            for b in (a + 1)..<config.nodes where b == a + 1 || (a == 0 && b == config.nodes - 1) || random.chance(0.2) {
                links.append(Link(a: a, b: b))
            }
        }
    }

    /// Opens (or creates) a node's ledger file, with every node's key registered as the
    /// network's certificates would.
    func openStore(_ node: SimNode, file: String) throws -> LedgerStore {
        let identity = LedgerStore.Identity(nodeID: node.id, province: node.province)
        let store = try LedgerStore(path: file, identity: identity, physicalMilliseconds: clock(of: node),
                                    mergeRule: config.brokenMergeRule ? .arrivalOrder : .causal, signatureMemo: signatures,
                                    writeThread: .callerThread, entryMemo: decodedEntries,
                                    walCheckpointPages: LedgerStore.smallWALCheckpointPages)
        for (keyID, key) in keys.sorted(by: { $0.key < $1.key }) {
            try store.registerIssuerKey(keyID: keyID, origin: key.origin, publicKey: key.key)
        }
        return store
    }

    /// The node's wall clock: the virtual time plus its skew.
    func clock(of node: SimNode) -> UInt64 {
        UInt64(clamping: Int64(clamping: now) + node.clockOffset)
    }

    // MARK: - Running

    public func run() async throws -> Summary {
        defer { for node in nodes { node.close() } }
        for index in links.indices { schedule(at: now + random.below(100), .connect(link: index)) }
        for node in nodes.indices { schedule(at: now + 1000 + random.below(1000), .tick(node: node)) }
        scheduleNextWrite()
        let faults = config.faults
        let seconds = config.faultSeconds * 1000
        if faults.partitions { schedule(at: now + 5_000 + random.below(10_000), .partition) }
        if faults.crashes || faults.wipes || faults.oldLedgers { schedule(at: now + 5_000 + random.below(10_000), .crash(node: Int(random.below(UInt64(nodes.count))))) }
        if faults.pauses { schedule(at: now + 3_000 + random.below(seconds / 2 + 1), .pause(node: Int(random.below(UInt64(nodes.count))))) }
        if faults.clocks { schedule(at: now + 2_000 + random.below(10_000), .clockJump(node: Int(random.below(UInt64(nodes.count))))) }
        if faults.oldLedgers {
            for node in nodes.indices { schedule(at: now + 2_000 + random.below(3_000), .backup(node: node)) }
        }
        if faults.malicious, config.maliciousNode != nil { schedule(at: now + 2_000 + random.below(seconds / 3 + 1), .split) }
        for (at, fault) in config.script { schedule(at: start + at * 1000, .scripted(fault)) }
        schedule(at: start + seconds, .heal)
        while let (time, event) = queue.pop() {
            now = time
            summary.events += 1
            try await handle(event)
            if summary.failure != nil { break }
            // Convergence is checked every 100 virtual ms, not after every event: reading
            // every node's digests is the dearest thing the loop does.
            if healing, now >= lastConvergenceCheck + 100 {
                lastConvergenceCheck = now
                if try converged() {
                    summary.convergedAfterHealMilliseconds = now - (start + seconds)
                    try checkNothingLost()
                    break
                }
            }
            if now > start + (config.faultSeconds + config.healSecondsMax) * 1000 {
                fail("the network did not converge within \(config.healSecondsMax) s of healing: \(try divergence())")
                break
            }
        }
        if summary.failure == nil, !healing { fail("the run ended before healing") }
        let reference = nodes[honest[0]].store!
        summary.conflicts = try reference.conflicts().count
        summary.ledgerDigest = try reference.ledgerDigest(excluding: Set(summary.equivocatingOrigins))
        summary.stateDigest = try reference.stateDigest()
        summary.traceHash = Hex.encode(Sodium.blake2b256(trace))
        return summary
    }

    /// The nodes whose word the invariants compare: all but the liar.
    var honest: [Int] { nodes.indices.filter { $0 != config.maliciousNode } }

    func schedule(at time: UInt64, _ event: SimEvent) {
        queue.push(time, event)
    }

    func record(_ line: @autoclosure () -> String) {
        let text = "\(now - start) \(line())"
        trace = Sodium.blake2b256(trace, Array(text.utf8))
        traceFile?.write(Data((text + "\n").utf8))
    }

    func fail(_ invariant: String) {
        if summary.failure == nil { summary.failure = invariant }
        record("FAIL \(invariant)")
    }

    // MARK: - Invariants

    /// Every live honest node holds the same entries of every honest origin, has flagged
    /// every origin that equivocated, and (when none did) computed the same states and
    /// conflicts.
    func converged() throws -> Bool {
        guard nodes.allSatisfy({ $0.up && $0.pausedUntil <= now }) else { return false }
        // Cheap first: the honest nodes' heads (one small table each) must agree on every
        // origin no node has flagged, or there is nothing more to read.
        var proofs: [Set<String>] = []
        for index in honest { proofs.append(try nodes[index].store.equivocatingOrigins()) }
        let known = proofs.reduce(into: Set<String>()) { $0.formUnion($1) }
        let first = try nodes[honest[0]].store.ledgerDigest(excluding: known)
        for index in honest.dropFirst() where try nodes[index].store.ledgerDigest(excluding: known) != first { return false }
        let flagged = try equivocatingOrigins(provenTo: known)
        guard proofs.allSatisfy({ $0 == flagged }) else { return false }
        summary.equivocatingOrigins = flagged.sorted()
        let liar = config.maliciousNode.map { nodes[$0].id }
        if let honestOrigin = flagged.sorted().first(where: { $0 != liar }) {
            fail("honest origin \(honestOrigin) signed two entries at one seq")
            return false
        }
        // Branches of an equivocating origin differ from node to node, and so do the
        // states built on them: nodes are compared with those that hold the same entries.
        var groups: [String: SimNode] = [:]
        for index in honest {
            let node = nodes[index]
            let digest = try node.store.ledgerDigest()
            guard let reference = groups[digest] else {
                groups[digest] = node
                continue
            }
            if try node.store.stateDigest() != reference.store.stateDigest() || node.store.conflicts() != reference.store.conflicts() {
                fail("nodes \(reference.id) and \(node.id) hold the same entries but computed different states or conflicts")
                return false
            }
        }
        return true
    }

    /// Nodes holding the same entries compute the same states and conflicts, at any
    /// moment of the run: each node's (ledger digest, state digest) is compared, once a
    /// second, with what any node computed for the same ledger digest. (The state digest
    /// covers the conflicts.)
    func checkStates(of node: SimNode) throws {
        let ledger = try node.store.ledgerDigest()
        let state = try node.store.stateDigest()
        if let seen = statesSeen[ledger] {
            if seen.state != state {
                fail("nodes \(seen.node) and \(node.id) hold the same entries but computed different states or conflicts")
            }
        } else {
            statesSeen[ledger] = (node.id, state)
        }
    }

    /// Origins that signed two entries at one seq: every one some honest node holds a
    /// proof for, and the liar's if its two machines' ledgers forked.
    /// `provenTo`: the origins honest nodes hold proofs for, when the caller has read them.
    func equivocatingOrigins(provenTo proven: Set<String>? = nil) throws -> Set<String> {
        var origins = Set<String>()
        if let proven {
            origins = proven
        } else {
            for index in honest { origins.formUnion(try nodes[index].store.equivocatingOrigins()) }
        }
        if let liar = config.maliciousNode, let twin = nodes[liar].twin {
            let node = nodes[liar]
            let a = try node.store.versionVector()[node.id], b = try twin.versionVector()[node.id]
            let common = min(a, b)
            if common > 0,
               try node.store.storedEntries(origin: node.id, after: common - 1, limit: 1, bytesMax: .max)
                != twin.storedEntries(origin: node.id, after: common - 1, limit: 1, bytesMax: .max) {
                origins.insert(node.id)
            }
        }
        return origins
    }

    /// After convergence: every entry some node held (and did not lose to a wipe or a
    /// rollback of the only node that held it) is held by every honest node.
    func checkNothingLost() throws {
        let flagged = Set(summary.equivocatingOrigins)
        for index in honest {
            let vector = try nodes[index].store.versionVector()
            for (origin, seq) in networkHeld.sorted where !flagged.contains(origin) && vector[origin] < seq {
                fail("\(origin)#\(seq) was held by a node and is missing at \(nodes[index].id) after the heal (it holds #\(vector[origin]))")
                return
            }
        }
    }

    /// What differs when a run does not converge, for the failure message.
    func divergence() throws -> String {
        let down = nodes.filter { !$0.up }.map(\.id)
        if !down.isEmpty { return "nodes still down: \(down)" }
        let flagged = try equivocatingOrigins()
        var groups: [String: [String]] = [:]
        for index in honest {
            let store = nodes[index].store!
            let vector = try store.versionVector().sorted.map { "\($0.origin):\($0.seq)" }.joined(separator: ",")
            let flags = try store.equivocatingOrigins().sorted()
            let digest = try store.ledgerDigest(excluding: flagged).prefix(8)
            groups["[\(vector)] flags \(flags) digest \(digest)", default: []].append(nodes[index].id)
        }
        return "equivocating \(flagged.sorted()); " + groups.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: "; ")
    }

    /// No node stores an entry without a valid signature from a known key.
    func checkSigned(_ entry: Entry, at node: SimNode) {
        guard let key = keys[entry.body.keyID], key.origin == entry.body.origin,
              checkedSignatures.isValid(entry, by: key.key) else {
            fail("\(node.id) stored \(entry.body.origin)#\(entry.body.seq) without a valid signature from a certified key")
            return
        }
    }

    /// No acknowledged entry disappears: a ledger's vector never goes down (a wiped or
    /// rolled-back ledger starts over, on purpose).
    func checkMonotone(_ node: SimNode, twin: Bool, _ vector: VersionVector) {
        let acknowledged = twin ? node.twinAcknowledged : node.acknowledged
        for (origin, seq) in acknowledged.sorted where vector[origin] < seq {
            fail("\(node.id)'s vector went down for \(origin): \(seq) → \(vector[origin])")
        }
        if twin { node.twinAcknowledged = acknowledged.merging(vector) } else { node.acknowledged = acknowledged.merging(vector) }
        // What the liar holds may never be passed on: only honest nodes' holdings count.
        if node.index != config.maliciousNode { networkHeld = networkHeld.merging(vector) }
    }
}

public enum SimulationError: Error, Equatable, CustomStringConvertible {
    case badConfiguration(String)

    public var description: String {
        switch self {
        case let .badConfiguration(detail): "bad simulation configuration: \(detail)"
        }
    }
}

