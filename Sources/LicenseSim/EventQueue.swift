/// What happens in a run, at a virtual time.
enum SimEvent {
    case connect(link: Int)
    /// The next frame in the link's inbox towards one side arrives.
    case deliver(link: Int, epoch: Int, toB: Bool)
    case tick(node: Int)
    case write
    case partition
    case mend
    case flap(link: Int, remaining: Int)
    case crash(node: Int)
    case restart(node: Int, wipe: Bool, rollback: Bool)
    case pause(node: Int)
    case clockJump(node: Int)
    case backup(node: Int)
    case split
    case scripted(Simulation.ScriptedFault)
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
        p > 0 && Double(next() >> 11) / Double(1 << 53) < p
    }
}
