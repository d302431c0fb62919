import Foundation
import LicenseCore

/// Where the node reads the time. Injected, so tests and the simulator can set it.
public protocol NodeClock: Sendable {
    func nowMilliseconds() -> UInt64
}

extension NodeClock {
    /// The network's civil date: China keeps UTC+8 all year.
    public func today() -> CivilDate {
        CivilDate(networkDateAt: Int64(nowMilliseconds()))
    }
}

public struct SystemClock: NodeClock {
    public init() {}

    public func nowMilliseconds() -> UInt64 {
        UInt64(Date().timeIntervalSince1970 * 1000)
    }
}
