/// A hybrid logical clock reading (Kulkarni et al., 2014): physical milliseconds plus
/// a logical counter. Ordered lexicographically; if event A happened before B then
/// A's timestamp is lower, which makes HLC order a valid linear extension of causality.
public struct HybridTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let wallMilliseconds: UInt64
    public let logical: UInt32

    public init(wallMilliseconds: UInt64, logical: UInt32) {
        self.wallMilliseconds = wallMilliseconds
        self.logical = logical
    }

    public static let zero = HybridTimestamp(wallMilliseconds: 0, logical: 0)

    public static func < (a: HybridTimestamp, b: HybridTimestamp) -> Bool {
        (a.wallMilliseconds, a.logical) < (b.wallMilliseconds, b.logical)
    }

    public var description: String { "\(wallMilliseconds).\(logical)" }
}

/// The clock state of one node. The physical time is always passed in: LicenseCore
/// reads no clock of its own.
public struct HybridClock: Sendable {
    public private(set) var last: HybridTimestamp

    public init(last: HybridTimestamp = .zero) {
        self.last = last
    }

    /// A timestamp for a local event at physical time `physicalMilliseconds`.
    public mutating func tick(physicalMilliseconds: UInt64) -> HybridTimestamp {
        if physicalMilliseconds > last.wallMilliseconds {
            last = HybridTimestamp(wallMilliseconds: physicalMilliseconds, logical: 0)
        } else {
            last = Self.successor(of: last)
        }
        return last
    }

    /// Advances past a timestamp seen on a received entry, so the next local event is
    /// ordered after it.
    public mutating func observe(_ remote: HybridTimestamp, physicalMilliseconds: UInt64) {
        let wall = max(last.wallMilliseconds, remote.wallMilliseconds, physicalMilliseconds)
        if wall == last.wallMilliseconds || wall == remote.wallMilliseconds {
            // Physical time is not ahead of both: step past the later of the two readings.
            last = Self.successor(of: max(last, remote))
        } else {
            last = HybridTimestamp(wallMilliseconds: wall, logical: 0)
        }
    }

    /// The smallest timestamp after `t`. When the logical counter is exhausted (a peer can
    /// sign any value, UInt32.max included) the wall component moves on one millisecond
    /// instead of wrapping the counter to 0, which would order the next event before `t`.
    static func successor(of t: HybridTimestamp) -> HybridTimestamp {
        if t.logical < .max {
            return HybridTimestamp(wallMilliseconds: t.wallMilliseconds, logical: t.logical + 1)
        }
        // At the very end of time there is no successor; stay put rather than trap.
        guard t.wallMilliseconds < .max else { return t }
        return HybridTimestamp(wallMilliseconds: t.wallMilliseconds + 1, logical: 0)
    }
}
