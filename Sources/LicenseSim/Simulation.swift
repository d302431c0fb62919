import Foundation
import LicenseCore
import LicenseStore
import LicenseSync
import LicenseTransport

/// A deterministic simulation of a network of provinces: the real `SyncSession` state
/// machines and real `LedgerStore` databases, driven in one task by a virtual clock and a
/// seeded random source, over a network model that delays frames, breaks connections,
/// partitions nodes and crashes them. The same seed replays the same run, event for event
/// (the trace hash proves it). See docs/SIMULATION.md.
public final class Simulation {
    public struct Faults: Sendable, Equatable {
        /// Chance that a frame's connection breaks instead of delivering it (a lost segment
        /// TCP gives up on, a reset, a dead route): both sessions end, the link redials later.
        public var loss = 0.0
        /// Random partitions into two sides, for a random while, during the fault phase.
        public var partitions = false
        /// Nodes crash (their sessions and everything in flight to them are lost; what their
        /// ledger committed survives) and restart later.
        public var crashes = false
        /// Frame delay: a base plus a random extra, in milliseconds.
        public var delayMilliseconds: ClosedRange<UInt64> = 1...20

        public init() {}

        public static var none: Faults { Faults() }

        public static var all: Faults {
            var faults = Faults()
            faults.loss = 0.02
            faults.partitions = true
            faults.crashes = true
            faults.delayMilliseconds = 1...200
            return faults
        }
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
        /// Citizens the workload draws holders from: few, so that events meet on them.
        public var holders = 40
        /// Where the nodes' ledgers live (removed afterwards).
        public var directory: String

        public init(directory: String) {
            self.directory = directory
        }
    }

    public struct Summary: Sendable {
        public var seed: UInt64 = 0
        public var nodes = 0
        public var entriesWritten = 0
        public var writesRefused = 0
        public var framesDelivered = 0
        public var entriesAppended = 0
        public var entriesRefused = 0
        public var connectionsBroken = 0
        public var partitions = 0
        public var crashes = 0
        public var events = 0
        public var conflicts = 0
        public var convergedAfterHealMilliseconds: UInt64 = 0
        public var ledgerDigest = ""
        public var stateDigest = ""
        public var traceHash = ""
        /// The first invariant that failed, if any.
        public var failure: String?
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
    let start: UInt64
    var queue = EventQueue()
    var nodes: [SimNode] = []
    var links: [Link] = []
    var summary = Summary()
    var trace: [UInt8] = Array("lx-sim-trace-v1".utf8)
    var traceFile: FileHandle?
    var healing = false
    let catalog: Catalog
    /// The network's holder key: every node derives the same holder refs.
    let holderKey: HolderKey

    public init(_ config: Configuration, traceFile: FileHandle? = nil) throws {
        self.config = config
        random = SplitMix(seed: config.seed)
        start = now
        self.traceFile = traceFile
        summary.seed = config.seed
        summary.nodes = config.nodes
        try FileManager.default.createDirectory(atPath: config.directory, withIntermediateDirectories: true)
        let names = Self.names(config.nodes)
        let signers = try names.map { IssuerSigner(origin: $0.id, key: try SigningKey(seed: Sodium.blake2b256(Array("sim-\($0.id)".utf8)))) }
        catalog = try Catalog.bundled()
        holderKey = try HolderKey(bytes: Array(repeating: 7, count: 32))
        for (index, name) in names.enumerated() {
            let store = try LedgerStore(path: config.directory + "/\(name.id).sqlite",
                                        identity: .init(nodeID: name.id, province: name.province))
            for signer in signers {
                try store.registerIssuerKey(keyID: signer.keyID, origin: signer.origin, publicKey: signer.key.publicKey)
            }
            nodes.append(SimNode(index: index, id: name.id, province: name.province, signer: signers[index], store: store))
        }
        // A connected mesh: a ring, plus random chords.
        for a in 0..<config.nodes {
            for b in (a + 1)..<config.nodes where b == a + 1 || (a == 0 && b == config.nodes - 1) || random.chance(0.2) {
                links.append(Link(a: a, b: b))
            }
        }
    }

    // MARK: - Running

    public func run() async throws -> Summary {
        for index in links.indices { schedule(at: now + random.below(100), .connect(link: index)) }
        for node in nodes.indices { schedule(at: now + 1000 + random.below(1000), .tick(node: node)) }
        scheduleNextWrite()
        if config.faults.partitions { schedule(at: now + 5_000 + random.below(10_000), .partition) }
        if config.faults.crashes { schedule(at: now + 5_000 + random.below(10_000), .crash(node: Int(random.below(UInt64(nodes.count))))) }
        schedule(at: start + config.faultSeconds * 1000, .heal)
        while let (time, event) = queue.pop() {
            now = time
            summary.events += 1
            try await handle(event)
            if summary.failure != nil { break }
            if healing, try converged() {
                summary.convergedAfterHealMilliseconds = now - (start + config.faultSeconds * 1000)
                break
            }
            if now > start + (config.faultSeconds + config.healSecondsMax) * 1000 {
                summary.failure = "the network did not converge within \(config.healSecondsMax) s of healing"
                break
            }
        }
        if summary.failure == nil, !healing { summary.failure = "the run ended before healing" }
        summary.conflicts = try nodes[0].store.conflicts().count
        summary.ledgerDigest = try nodes[0].store.ledgerDigest()
        summary.stateDigest = try nodes[0].store.stateDigest()
        summary.traceHash = Hex.encode(Sodium.blake2b256(trace))
        return summary
    }

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

    /// Every live node holds the same entries and computed the same states and conflicts.
    func converged() throws -> Bool {
        guard nodes.allSatisfy(\.up) else { return false }
        let first = try nodes[0].store.ledgerDigest()
        for node in nodes.dropFirst() where try node.store.ledgerDigest() != first { return false }
        let state = try nodes[0].store.stateDigest()
        let conflicts = try nodes[0].store.conflicts()
        for node in nodes.dropFirst() {
            if try node.store.stateDigest() != state || node.store.conflicts() != conflicts {
                fail("nodes \(nodes[0].id) and \(node.id) hold the same entries but computed different states or conflicts")
                return false
            }
        }
        return true
    }
}

/// One simulated node: its ledger survives a crash; its sessions do not.
final class SimNode {
    let index: Int
    let id: String
    let province: String
    let signer: IssuerSigner
    let store: LedgerStore
    var up = true
    /// The highest vector this node acknowledged: it must never go down.
    var acknowledged = VersionVector()

    init(index: Int, id: String, province: String, signer: IssuerSigner, store: LedgerStore) {
        self.index = index
        self.id = id
        self.province = province
        self.signer = signer
        self.store = store
    }
}

/// A link between two nodes; `a` < `b` dials. Each connection has an epoch: frames of an
/// older connection are dropped when they arrive.
struct Link {
    let a: Int
    let b: Int
    var epoch = 0
    var connected = false
    var cut = false
    var dialer: SyncSession?
    var acceptor: SyncSession?
    var decoders: [FrameDecoder] = [FrameDecoder(), FrameDecoder()]
    /// Per direction (0: a → b, 1: b → a), when the last frame is delivered: TCP keeps order.
    var lastDelivery: [UInt64] = [0, 0]

    init(a: Int, b: Int) {
        self.a = a
        self.b = b
    }
}

enum SimEvent {
    case connect(link: Int)
    case deliver(link: Int, epoch: Int, toB: Bool, bytes: [UInt8])
    case tick(node: Int)
    case write
    case partition
    case mend
    case crash(node: Int)
    case restart(node: Int)
    case heal
}

/// Events by virtual time; ties in the order they were scheduled.
struct EventQueue {
    private var heap: [(time: UInt64, order: UInt64, event: SimEvent)] = []
    private var next: UInt64 = 0

    mutating func push(_ time: UInt64, _ event: SimEvent) {
        heap.append((time, next, event))
        next += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (UInt64, SimEvent)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && less(left, smallest) { smallest = left }
            if right < heap.count && less(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.event)
    }

    private func less(_ i: Int, _ j: Int) -> Bool {
        (heap[i].time, heap[i].order) < (heap[j].time, heap[j].order)
    }
}

/// SplitMix64: small, fast, and the same sequence for the same seed everywhere.
public struct SplitMix: Sendable {
    var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: UInt64) -> UInt64 {
        bound == 0 ? 0 : next() % bound
    }

    mutating func chance(_ p: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < p
    }
}
