/// Map origin → highest contiguous seq held. A node's whole sync state, and the causal
/// context an author attaches to each entry. Missing origins read as 0.
///
/// Kept as components sorted by origin, zeros left out: the order in which a vector
/// reaches the wire and the disk, so encoding needs no sort and decoding no hashing, and
/// merging and comparing are one pass over both. A network has a few dozen origins, so a
/// binary search finds one as fast as a hash would.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    private var components: [(origin: String, seq: UInt64)]

    public init(_ seqs: [String: UInt64] = [:]) {
        components = seqs.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { (origin: $0.key, seq: $0.value) }
    }

    /// The vector of these components, which the caller has checked: valid origins,
    /// strictly ascending, every seq positive. A decoder that checked them on the wire's
    /// bytes hands its array over as it is.
    init(checkedComponents components: [(origin: String, seq: UInt64)]) {
        self.components = components
    }

    /// An empty vector with room for `capacity` origins, for decoders that know how many follow.
    public init(minimumCapacity capacity: Int) {
        components = []
        components.reserveCapacity(capacity)
    }

    /// The components as a dictionary.
    public var seqs: [String: UInt64] {
        Dictionary(uniqueKeysWithValues: components.map { ($0.origin, $0.seq) })
    }

    /// Where `origin` is, or would be inserted.
    private func position(of origin: String) -> (index: Int, found: Bool) {
        // Decoders and merges add origins in order: the end is the common answer.
        if let last = components.last, last.origin < origin { return (components.count, false) }
        var low = 0, high = components.count
        while low < high {
            let middle = (low + high) / 2
            if components[middle].origin < origin { low = middle + 1 } else { high = middle }
        }
        return (low, low < components.count && components[low].origin == origin)
    }

    public subscript(origin: String) -> UInt64 {
        get {
            let (index, found) = position(of: origin)
            return found ? components[index].seq : 0
        }
        set {
            let (index, found) = position(of: origin)
            switch (found, newValue) {
            case (true, 0): components.remove(at: index)
            case (true, _): components[index].seq = newValue
            case (false, 0): break
            case (false, _): components.insert((origin, newValue), at: index)
            }
        }
    }

    /// Components in origin order: the only order in which a vector reaches the wire or disk.
    public var sorted: [(origin: String, seq: UInt64)] { components }

    /// True when this vector has seen entry (origin, seq).
    public func covers(origin: String, seq: UInt64) -> Bool {
        self[origin] >= seq
    }

    /// True when this vector has seen everything `other` has.
    public func dominates(_ other: VersionVector) -> Bool {
        var mine = 0
        for theirs in other.components {
            while mine < components.count, components[mine].origin < theirs.origin { mine += 1 }
            guard mine < components.count, components[mine].origin == theirs.origin, components[mine].seq >= theirs.seq else {
                return false
            }
        }
        return true
    }

    /// Hands `visit` each component of this vector whose seq is above both `a`'s and `b`'s
    /// for its origin, in origin order, with the higher of those two; `visit` returns false
    /// to stop. One walk over the three sorted component lists: a session asks this after
    /// every event it handles, where a lookup per origin in each vector cost a binary search
    /// of string comparisons each.
    public func forEachAhead(of a: VersionVector, _ b: VersionVector,
                             _ visit: (_ origin: String, _ seq: UInt64, _ behind: UInt64) -> Bool) {
        var i = 0, j = 0
        for component in components {
            while i < a.components.count, a.components[i].origin < component.origin { i += 1 }
            while j < b.components.count, b.components[j].origin < component.origin { j += 1 }
            let inA = i < a.components.count && a.components[i].origin == component.origin ? a.components[i].seq : 0
            let inB = j < b.components.count && b.components[j].origin == component.origin ? b.components[j].seq : 0
            let behind = max(inA, inB)
            if component.seq > behind, !visit(component.origin, component.seq, behind) { return }
        }
    }

    /// Component-wise maximum.
    public func merging(_ other: VersionVector) -> VersionVector {
        if other.components.isEmpty { return self }
        if components.isEmpty { return other }
        var out = VersionVector(minimumCapacity: max(components.count, other.components.count))
        var a = 0, b = 0
        while a < components.count || b < other.components.count {
            if b == other.components.count || (a < components.count && components[a].origin < other.components[b].origin) {
                out.components.append(components[a])
                a += 1
            } else if a == components.count || other.components[b].origin < components[a].origin {
                out.components.append(other.components[b])
                b += 1
            } else {
                out.components.append((components[a].origin, max(components[a].seq, other.components[b].seq)))
                a += 1
                b += 1
            }
        }
        return out
    }

    /// Total number of entries the vector accounts for.
    public var total: UInt64 { components.reduce(0) { $0 + $1.seq } }

    public var description: String {
        "{" + components.map { "\($0.origin):\($0.seq)" }.joined(separator: ", ") + "}"
    }

    public static func == (a: VersionVector, b: VersionVector) -> Bool {
        a.components.count == b.components.count
            && zip(a.components, b.components).allSatisfy { $0.origin == $1.origin && $0.seq == $1.seq }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(components.count)
        for component in components {
            hasher.combine(component.origin)
            hasher.combine(component.seq)
        }
    }
}
