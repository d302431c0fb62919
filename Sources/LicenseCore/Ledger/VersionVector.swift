/// Map origin → highest contiguous seq held. A node's whole sync state, and the causal
/// context an author attaches to each entry. Missing origins read as 0.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    public private(set) var seqs: [String: UInt64]

    public init(_ seqs: [String: UInt64] = [:]) {
        self.seqs = seqs.filter { $0.value > 0 }
    }

    /// An empty vector with room for `capacity` origins, for decoders that know how many follow.
    public init(minimumCapacity capacity: Int) {
        seqs = Dictionary(minimumCapacity: capacity)
    }

    public subscript(origin: String) -> UInt64 {
        get { seqs[origin] ?? 0 }
        set { seqs[origin] = newValue == 0 ? nil : newValue }
    }

    /// Components in origin order: the only order in which a vector reaches the wire or disk.
    public var sorted: [(origin: String, seq: UInt64)] {
        seqs.sorted { $0.key < $1.key }.map { (origin: $0.key, seq: $0.value) }
    }

    /// True when this vector has seen entry (origin, seq).
    public func covers(origin: String, seq: UInt64) -> Bool {
        self[origin] >= seq
    }

    /// True when this vector has seen everything `other` has.
    public func dominates(_ other: VersionVector) -> Bool {
        other.seqs.allSatisfy { self[$0.key] >= $0.value }
    }

    /// Component-wise maximum.
    public func merging(_ other: VersionVector) -> VersionVector {
        var out = self
        for (origin, seq) in other.seqs where seq > out[origin] {
            out[origin] = seq
        }
        return out
    }

    /// Total number of entries the vector accounts for.
    public var total: UInt64 { seqs.values.reduce(0, +) }

    public var description: String {
        "{" + sorted.map { "\($0.origin):\($0.seq)" }.joined(separator: ", ") + "}"
    }
}
