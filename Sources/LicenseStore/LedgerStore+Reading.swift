import Foundation
import GRDB
import LicenseCore

/// Reads of the ledger: vectors, digests, licenses, entries, and a consistent backup.
extension LedgerStore {
    public func versionVector() throws(StoreError) -> VersionVector {
        try run { try vectorCache.value { try read { db in try Self.versionVector(db) } } }
    }

    /// Number of entries held: the sum of the heads, without scanning the ledger.
    public func entryCount() throws(StoreError) -> UInt64 {
        try versionVector().total
    }

    /// A digest of the entries held: BLAKE2b-256 over, for each origin in order,
    /// `origin || 0x00 || head seq (8 bytes, big-endian) || head id`. Each head id
    /// commits to its whole chain, so two nodes with equal digests hold the same entries.
    /// `excluding`: origins left out (the simulator compares honest nodes without the
    /// origins flagged for equivocation, whose branches differ from node to node).
    public func ledgerDigest(excluding excluded: Set<String> = []) throws(StoreError) -> String {
        let heads = try run {
            try read { db in
                try Row.fetchAll(db, sql: "SELECT origin, head_seq, head_id FROM origins ORDER BY origin").map { row in
                    (origin: row["origin"] as String, seq: UInt64(row["head_seq"] as Int64), id: row["head_id"] as Data)
                }
            }
        }
        var input: [UInt8] = Array("lx-ledger-digest-v1".utf8)
        for head in heads where !excluded.contains(head.origin) {
            input += Array(head.origin.utf8)
            input.append(0)
            input += withUnsafeBytes(of: head.seq.bigEndian, Array.init)
            input += [UInt8](head.id)
        }
        return Hex.encode(Sodium.blake2b256(input))
    }

    /// Copies the ledger, consistently and while it is in use, into a new database at
    /// `path` (SQLite's online backup): what an operator's backup holds, and what the
    /// simulator restores a node from.
    public func backup(to path: String) throws(StoreError) {
        do {
            try run {
                let target = try DatabaseQueue(path: path)
                defer { try? target.close() }
                try pool.backup(to: target)
            }
        } catch {
            // No half-written backup is left to be mistaken for a good one.
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            throw error
        }
    }

    public func license(_ id: LicenseID) throws(StoreError) -> LicenseState? {
        try run { try read { db in try LicenseRow.fetch(id, in: db)?.state } }
    }

    /// Every license of one holder, oldest first.
    public func licenses(holder: HolderRef) throws(StoreError) -> [LicenseState] {
        try run {
            try read { db in
                try LicenseRow.fetch(holder: holder, in: db)
                    .sorted { ($0.issuedAt, $0.id) < ($1.issuedAt, $1.id) }
            }
        }
    }

    /// The entries of one license, in (origin, seq) order, exactly as stored.
    public func entries(license id: LicenseID) throws(StoreError) -> [Entry] {
        try run {
            try read { db in
                guard let row = try LicenseRow.fetch(id, in: db)?.row else { return [] }
                return try Row.fetchAll(db, sql: "SELECT body, signature FROM entries WHERE license_row = ? ORDER BY origin, seq",
                                        arguments: [row]).map(Self.entry)
            }
        }
    }

    /// Up to `limit` entries of `origin` with seq greater than `after`, in seq order.
    public func entries(origin: String, after: UInt64, limit: Int) throws(StoreError) -> [Entry] {
        try run {
            try read { db in
                try Row.fetchAll(db, sql: """
                    SELECT body, signature FROM entries WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?
                    """, arguments: [origin, Int64(after), limit]).map(Self.entry)
            }
        }
    }

    /// Up to `limit` entries of `origin` with seq greater than `after`, as stored (not
    /// decoded), stopping before their bytes (body and signature) pass `bytesMax`; the
    /// first entry is always returned. What a sync session reads to fill one batch.
    public func storedEntries(origin: String, after: UInt64, limit: Int, bytesMax: Int) throws(StoreError) -> [StoredEntry] {
        // What was just appended is usually still in memory (one read per peer's session).
        if let recent = recentEntries.read(origin: origin, after: after, limit: limit, bytesMax: bytesMax,
                                           through: try versionVector()[origin]) {
            return recent
        }
        return try run {
            try read { db in
                var total = 0
                var out: [StoredEntry] = []
                out.reserveCapacity(limit)
                // Blobs straight into the arrays a frame is written from: no `Data` between.
                _ = try RawStatement(db, """
                    SELECT seq, body, signature FROM entries WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?
                    """).forEach({ $0.bind(origin); $0.bind(Int64(after)); $0.bind(Int64(limit)) }) { row in
                        let body = row.bytes(1), signature = row.bytes(2)
                        total += body.count + signature.count
                        if total > bytesMax && !out.isEmpty { return false }
                        out.append(StoredEntry(origin: origin, seq: UInt64(row.int64(0)), bodyBytes: body, signature: signature))
                        return true
                    }
                return out
            }
        }
    }
}
