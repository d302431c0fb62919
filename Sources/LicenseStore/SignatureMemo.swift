import Dispatch
import LicenseCore
import Synchronization

/// Signature checks shared by the ledgers of one process. The simulator runs dozens of
/// nodes in one process, and each checks every entry it stores, as a real node does; a
/// check is a pure function of the entry's bytes (its id hashes body and signature) and
/// the key, so its result is computed once and read by every simulated node. A daemon has
/// no use for it: a node checks each entry once, and duplicates are found by id first.
@_spi(Testing) public final class SignatureMemo: Sendable {
    private struct Check: Hashable {
        let entry: EntryID
        let key: PublicKey
    }

    private let results = Mutex<[Check: Bool]>([:])
    /// Where `checkAhead` checks: one thread, beside the simulator's.
    private let ahead = DispatchQueue(label: "signature-memo.ahead")

    public init() {}

    /// Whether `entry`'s signature is valid under `key`: checked once, then remembered.
    public func isValid(_ entry: Entry, by key: PublicKey) -> Bool {
        let check = Check(entry: entry.id, key: key)
        if let known = results.withLock({ $0[check] }) { return known }
        let valid = entry.hasValidSignature(by: key)
        results.withLock { $0[check] = valid }
        return valid
    }

    /// Starts checking `entry` under `key` on another thread, so that whoever asks later
    /// finds the result here. The answer is the same whoever computes it: one who asks
    /// before the check is done checks it again, and nothing waits.
    public func checkAhead(_ entry: Entry, by key: PublicKey) {
        ahead.async { _ = self.isValid(entry, by: key) }
    }
}

extension LedgerStore {
    /// An entry's signature under `key`, through the shared memo when the store has one.
    static func isValid(_ entry: Entry, by key: PublicKey, memo: SignatureMemo?) -> Bool {
        memo?.isValid(entry, by: key) ?? entry.hasValidSignature(by: key)
    }
}
