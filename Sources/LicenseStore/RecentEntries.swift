import LicenseCore
import Synchronization

/// The newest entries of each origin, as stored, kept after their commit: a session that
/// pushes what was just appended (every session of the node, one per peer) reads them
/// here instead of from SQLite.
///
/// A stored entry never changes, so a window is either a contiguous run of an origin's
/// entries or nothing. It is recorded after the commit, so a read can find a window that
/// ends before the newest head: the caller serves from it only when it reaches the head it
/// knows (`read(...through:)`), and reads SQLite otherwise. Even so the head it knows may be
/// a moment old (the vector cache is refilled after the commit too), so an answer is a
/// prefix of what SQLite holds, which is what a sync session asks for; it is never empty,
/// so a session that knows of more entries (from another read) is answered by SQLite
/// rather than asking again and again.
///
/// The same windows answer whether a batch that arrived is already held, entry for entry:
/// in a mesh most batches are relayed copies of what another peer delivered first. And
/// they answer which entry is held at a head a peer announces, which is nearly always
/// one of the newest.
final class RecentEntries: Sendable {
    /// Entries kept per origin: a few pushes' worth.
    static let perOrigin = 64

    private struct Window {
        /// Contiguous seqs, oldest first, as stored (the bytes alone: a decoded body, its
        /// context and event, would weigh several times as much) ...
        var entries: [StoredEntry]
        /// ... and their ids, in the same order.
        var ids: [EntryID]
        var last: UInt64 { entries.last?.seq ?? 0 }

        mutating func add(_ entry: Entry) {
            let seq = entry.body.seq
            guard seq > last else { return }
            if seq != last + 1 {
                entries.removeAll(keepingCapacity: true)
                ids.removeAll(keepingCapacity: true)
            }
            entries.append(StoredEntry(entry))
            ids.append(entry.id)
            // Trimmed in steps, not per entry.
            if entries.count >= 2 * RecentEntries.perOrigin {
                entries.removeFirst(entries.count - RecentEntries.perOrigin)
                ids.removeFirst(ids.count - RecentEntries.perOrigin)
            }
        }

        /// Where `seq` is in the window, if it is there.
        func index(of seq: UInt64) -> Int? {
            guard let first = entries.first?.seq, seq >= first, seq <= last else { return nil }
            return Int(seq - first)
        }
    }

    private let windows = Mutex<[String: Window]>([:])

    /// Records entries just committed, in seq order within each origin. A run that does not
    /// continue its origin's window replaces it unless it is older (another commit's record
    /// overtook this one).
    func record(_ stored: some Sequence<Entry>) {
        windows.withLock { windows in
            for entry in stored {
                // In place: a copy of the window taken out of the dictionary would make every
                // append copy its entries.
                windows[entry.body.origin, default: Window(entries: [], ids: [])].add(entry)
            }
        }
    }

    /// Whether every one of `entries` is held, byte for byte, in a window: such a batch is
    /// all duplicates (what is in a window was committed, and nothing stored is removed).
    /// False when any entry is outside its window, so the caller asks SQLite.
    func holdsAll(_ entries: [Entry]) -> Bool {
        windows.withLock { windows in
            entries.allSatisfy { entry in
                guard let window = windows[entry.body.origin], let index = window.index(of: entry.body.seq) else { return false }
                let held = window.entries[index]
                return ByteStrings.equal(held.signature, entry.signature) && ByteStrings.equal(held.bodyBytes, entry.bodyBytes)
            }
        }
    }

    /// The id of the entry held at `seq` of `origin`, if it is in a window.
    func id(origin: String, seq: UInt64) -> EntryID? {
        windows.withLock { windows in windows[origin].flatMap { window in window.index(of: seq).map { window.ids[$0] } } }
    }

    /// What `LedgerStore.storedEntries` would read, if the window of `origin` covers
    /// everything after `after` up to `head` (and then possibly more) and that is not
    /// nothing; nil otherwise.
    func read(origin: String, after: UInt64, limit: Int, bytesMax: Int, through head: UInt64) -> [StoredEntry]? {
        windows.withLock { windows -> [StoredEntry]? in
            guard limit > 0, let window = windows[origin], let first = window.entries.first?.seq,
                  first - 1 <= after, window.last >= head else { return nil }
            var out: [StoredEntry] = []
            var total = 0
            let start = after >= first ? Int(after - first) + 1 : 0
            for entry in window.entries.dropFirst(start) {
                guard out.count < limit else { break }
                total += entry.bodyBytes.count + entry.signature.count
                if total > bytesMax && !out.isEmpty { break }
                out.append(entry)
            }
            return out.isEmpty ? nil : out
        }
    }
}
