import Foundation
import GRDB
import LicenseCore

/// Equivocation: an origin signed two different entries at one seq. The ledger keeps the
/// first it stored; the pair is kept as a proof that anyone holding the root can check,
/// the origin is flagged, and its entries from the fork on are held back until operators
/// resolve it (docs/PROTOCOL.md, "Equivocation").
extension LedgerStore {
    /// One flagged origin: where its chain forked, and the two signed entries that prove it.
    public struct Equivocation: Sendable, Equatable {
        public let origin: String
        public let seq: UInt64
        /// The entry this node stored first at (origin, seq), or, for a proof learnt from a
        /// peer about entries this node does not hold, the first entry of the proof.
        public let held: Entry
        public let other: Entry
        public let detectedMilliseconds: Int64

        public var entries: [Entry] { [held, other] }
    }

    /// What offered equivocation evidence amounted to.
    public enum EvidenceOutcome: Sendable, Equatable {
        /// A new proof: the origin is flagged here now. Every peer should hear of it.
        case recorded(Equivocation)
        /// This node already held a proof for that position.
        case known
        /// The entries agree with each other and with this node's entry at that position
        /// (or it holds none): nothing proven.
        case consistent
        /// Signed by a key this node does not know yet: nothing can be concluded, and the
        /// sender is not at fault (the certificate may still be on its way).
        case unverifiable(keyID: String, origin: String)
        /// A signature does not verify, or the entries are not of one (origin, seq): the
        /// sender offered something false.
        case refused(AppendRefusal)
    }

    /// Checks evidence that an origin equivocated: one or two signed entries of one
    /// (origin, seq). Each must carry a valid signature by the key the ledger binds to its
    /// origin. Two entries with different ids, or one whose id differs from this node's
    /// own entry at that position, prove the fork: the proof is stored (once per
    /// position) and the origin flagged. Nothing else is changed.
    public func recordEvidence(_ entries: [Entry], physicalMilliseconds: UInt64) async throws(StoreError) -> EvidenceOutcome {
        guard let first = entries.first else { return .consistent }
        let origin = first.body.origin, seq = first.body.seq
        if let stray = entries.first(where: { $0.body.origin != origin || $0.body.seq != seq }) {
            return .refused(.gap(origin: stray.body.origin, expected: seq, got: stray.body.seq))
        }
        // Signatures and what is already known are checked without the writer: most
        // evidence proves nothing new, and it must not hold up appends.
        let keys = try issuerKeys()
        for entry in entries {
            guard let key = keys[entry.body.keyID], key.origin == entry.body.origin else {
                return .unverifiable(keyID: entry.body.keyID, origin: entry.body.origin)
            }
            guard Self.isValid(entry, by: key.publicKey, memo: signatureMemo) else { return .refused(.badSignature(origin: origin, seq: seq)) }
        }
        @Sendable func decide(_ db: Database) throws -> (known: Bool, distinct: [Entry]) {
            if try Self.proofExists(origin: origin, seq: seq, db) { return (true, []) }
            var distinct: [Entry] = []
            for entry in (try Self.entry(origin: origin, seq: seq, db).map { [$0] } ?? []) + entries
            where !distinct.contains(where: { $0.id == entry.id }) {
                distinct.append(entry)
            }
            return (false, distinct)
        }
        let seen = try run { try read { db in try decide(db) } }
        if seen.known { return .known }
        guard seen.distinct.count >= 2 else { return .consistent }
        let outcome = try await runAsync {
            try await write { db in
                // Again under the writer: the ledger may have moved since the read.
                let now = try decide(db)
                if now.known { return EvidenceOutcome.known }
                guard now.distinct.count >= 2 else { return .consistent }
                invalidateTrust()
                return .recorded(try Self.saveProof(held: now.distinct[0], other: now.distinct[1],
                                                    detectedMilliseconds: physicalMilliseconds, db))
            }
        }
        if case .recorded = outcome { invalidateTrust() }
        return outcome
    }

    /// Every equivocation proof held, by origin and seq.
    public func equivocations() throws(StoreError) -> [Equivocation] {
        try run {
            try read { db in
                try Row.fetchAll(db, sql: Self.proofQuery + " ORDER BY q.origin, q.seq").map(Self.equivocation)
            }
        }
    }

    /// The proof for one position, if held.
    public func equivocation(origin: String, seq: UInt64) throws(StoreError) -> Equivocation? {
        try run { try read { db in try Self.proof(origin: origin, seq: seq, db) } }
    }

    /// The version vector with the id of each origin's newest entry, read together: what a
    /// peer needs to tell two branches of equal length apart.
    public func heads() throws(StoreError) -> (vector: VersionVector, ids: [String: EntryID]) {
        try run {
            try read { db in
                var vector = VersionVector()
                var ids: [String: EntryID] = [:]
                // Every connection starts with these: read in place.
                for (origin, seq, id) in try RawStatement(db, "SELECT origin, head_seq, head_id FROM origins")
                    .all({ _ in }, { (origin: $0.text(0) ?? "", seq: UInt64($0.int64(1)), id: $0.bytes(2)) }) {
                    vector[origin] = seq
                    ids[origin] = try EntryID(bytes: id)
                }
                return (vector, ids)
            }
        }
    }

    /// For each flagged origin, its proof at the lowest seq: enough for a peer to flag it
    /// from the same point on.
    /// Every new session sends these, so only they are read and decoded.
    public func earliestEquivocations() throws(StoreError) -> [Equivocation] {
        try run {
            try earliestProofCache.value {
                try read { db in
                    try Row.fetchAll(db, sql: Self.proofQuery + """
                         WHERE (q.origin, q.seq) IN (SELECT origin, MIN(seq) FROM equivocations GROUP BY origin)
                         ORDER BY q.origin
                        """).map(Self.equivocation)
                }
            }
        }
    }

    /// The origins proven to have equivocated, without reading their proofs.
    public func equivocatingOrigins() throws(StoreError) -> Set<String> {
        try run { try read { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT origin FROM equivocations")) } }
    }

    /// This node's entries at the positions a peer announced (the peer's seq of each
    /// origin in `heads`) whose id differs from the peer's head there: evidence of a fork
    /// that two equal vectors would hide. Origins already proven to have forked at or
    /// before that position are left out: the proof explains the difference, and peers
    /// learn it with every new session.
    public func divergentEntries(_ vector: VersionVector, heads: [String: EntryID]) throws(StoreError) -> [Entry] {
        // Nearly every announced head is one of the newest entries held, and the same one:
        // answered from memory, with no read of the ledger.
        let unmatched = heads.filter { origin, id in recentEntries.id(origin: origin, seq: vector[origin]) != id }
        guard !unmatched.isEmpty else { return [] }
        return try run {
            try read { db in
                // The ids first, compared where SQLite holds them: then nothing is copied or
                // decoded for a head that is the one held.
                let heldID = try RawStatement(db, "SELECT id FROM entries WHERE origin = ? AND seq = ?")
                return try unmatched.sorted { $0.key < $1.key }.compactMap { origin, id in
                    let differs = try heldID.first({ $0.bind(origin); $0.bind(Int64(vector[origin])) }) { row in
                        row.withBlob(0) { !$0.elementsEqual(id.bytes) }
                    }
                    guard differs == true,
                          let held = try Self.entry(origin: origin, seq: vector[origin], db), held.id != id,
                          try Self.lowestProof(of: origin, db).map({ $0 > vector[origin] }) ?? true
                    else { return nil }
                    return held
                }
            }
        }
    }

    static func entry(origin: String, seq: UInt64, _ db: Database) throws -> Entry? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT body, signature FROM entries WHERE origin = ? AND seq = ?"),
                         arguments: [origin, Int64(seq)]).map(Self.entry)
    }

    /// The lowest seq at which `origin` is proven to have forked: its entries from there
    /// on are held back. Nil when it is not flagged.
    static func lowestProof(of origin: String, _ db: Database) throws -> UInt64? {
        try RawStatement(db, "SELECT MIN(seq) FROM equivocations WHERE origin = ?")
            .first({ $0.bind(origin) }) { $0.isNull(0) ? nil : UInt64($0.int64(0)) } ?? nil
    }

    static func proofExists(origin: String, seq: UInt64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM equivocations WHERE origin = ? AND seq = ?)"),
                          arguments: [origin, Int64(seq)]) ?? false
    }

    /// Stores a proof unless one is already held for its position; returns the held proof.
    @discardableResult
    static func saveProof(held: Entry, other: Entry, detectedMilliseconds: UInt64, _ db: Database) throws -> Equivocation {
        try db.execute(sql: """
            INSERT OR IGNORE INTO equivocations
                (origin, seq, held_id, other_body, other_signature, detected_ms, held_body, held_signature)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [held.body.origin, Int64(held.body.seq), Data(held.id.bytes), Data(other.bodyBytes),
                             Data(other.signature), Int64(clamping: detectedMilliseconds), Data(held.bodyBytes),
                             Data(held.signature)])
        guard let proof = try proof(origin: held.body.origin, seq: held.body.seq, db) else {
            throw StoreError.database("equivocation proof for \(held.body.origin)#\(held.body.seq) vanished while stored")
        }
        return proof
    }

    static func proof(origin: String, seq: UInt64, _ db: Database) throws -> Equivocation? {
        try Row.fetchOne(db, sql: proofQuery + " WHERE q.origin = ? AND q.seq = ?", arguments: [origin, Int64(seq)])
            .map(equivocation)
    }

    /// Proofs with both sides' bytes; rows from before v3 hold the first side in `entries`.
    static let proofQuery = """
        SELECT q.origin, q.seq, q.other_body, q.other_signature, q.detected_ms,
               COALESCE(q.held_body, e.body) AS held_body, COALESCE(q.held_signature, e.signature) AS held_signature
        FROM equivocations q LEFT JOIN entries e ON e.origin = q.origin AND e.seq = q.seq
        """

    static func equivocation(_ row: Row) throws -> Equivocation {
        Equivocation(
            origin: row["origin"], seq: UInt64(row["seq"] as Int64),
            held: try Entry(bodyBytes: [UInt8](row["held_body"] as Data), signature: [UInt8](row["held_signature"] as Data)),
            other: try Entry(bodyBytes: [UInt8](row["other_body"] as Data), signature: [UInt8](row["other_signature"] as Data)),
            detectedMilliseconds: row["detected_ms"])
    }
}
