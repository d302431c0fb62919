import Foundation

/// Byte strings compared and hashed whole. `[UInt8]`'s own `==` and `hash(into:)` go one
/// element at a time; keys and comparisons the simulator makes by the million (signatures,
/// ids, keys, bodies) take one `memcmp` and one hasher call instead. Not for secrets (see
/// `Sodium.constantTimeEqual`).
package enum ByteStrings {
    package static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                pa.baseAddress == pb.baseAddress || a.isEmpty || memcmp(pa.baseAddress!, pb.baseAddress!, a.count) == 0
            }
        }
    }

    package static func hash(_ bytes: [UInt8], into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
