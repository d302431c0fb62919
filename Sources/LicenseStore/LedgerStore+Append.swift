import Foundation
import Synchronization
import GRDB
@_spi(Testing) import LicenseCore

/// What happened to one entry offered to `LedgerStore.append`.
public enum AppendOutcome: Sendable, Equatable {
    case appended
    /// The same entry was already held: appends are idempotent.
    case duplicate
    case refused(AppendRefusal)
}

/// Why a signed entry from elsewhere was not stored. Each names the entry.
public enum AppendRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownIssuerKey(keyID: String, origin: String)
    case badSignature(origin: String, seq: UInt64)
    case gap(origin: String, expected: UInt64, got: UInt64)
    case wrongPrev(origin: String, seq: UInt64)
    /// A different entry already holds this (origin, seq): the origin signed two entries
    /// at one position.
    case conflict(origin: String, seq: UInt64)
    /// The origin is flagged for equivocation; its entries are held back.
    case equivocatingOrigin(String)
    /// A recognition agreement for a province other than the one the root certified its
    /// signing key for.
    case agreementOfOtherProvince(origin: String, seq: UInt64, named: String, certified: String)

    /// True when the entry is false or misplaced: the peer that sent it is at fault. The
    /// others (an unknown key, an equivocating origin's entries) may be relayed in good faith.
    public var blamesSender: Bool {
        switch self {
        case .badSignature, .gap, .wrongPrev, .agreementOfOtherProvince: true
        case .unknownIssuerKey, .conflict, .equivocatingOrigin: false
        }
    }

    /// The origin of the entry refused.
    public var origin: String {
        switch self {
        case let .unknownIssuerKey(_, origin), let .badSignature(origin, _), let .gap(origin, _, _), let .wrongPrev(origin, _),
             let .conflict(origin, _), let .equivocatingOrigin(origin), let .agreementOfOtherProvince(origin, _, _, _):
            origin
        }
    }

    public var code: String {
        switch self {
        case .unknownIssuerKey: "unknown_issuer_key"
        case .badSignature: "bad_signature"
        case .gap: "gap"
        case .wrongPrev: "wrong_prev"
        case .conflict: "conflict"
        case .equivocatingOrigin: "equivocating_origin"
        case .agreementOfOtherProvince: "wrong_province"
        }
    }

    public var description: String {
        switch self {
        case let .unknownIssuerKey(keyID, origin): "unknown issuer key '\(keyID)' for origin '\(origin)'"
        case let .badSignature(origin, seq): "entry \(origin)#\(seq) has an invalid signature"
        case let .gap(origin, expected, got): "entry \(origin)#\(got) leaves a gap: the next entry of '\(origin)' is #\(expected)"
        case let .wrongPrev(origin, seq): "entry \(origin)#\(seq) does not chain to the entry before it"
        case let .conflict(origin, seq): "a different entry \(origin)#\(seq) is already held (equivocation, proof kept)"
        case let .equivocatingOrigin(origin): "origin '\(origin)' is flagged for equivocation; its entries are held back"
        case let .agreementOfOtherProvince(origin, seq, named, certified):
            "entry \(origin)#\(seq) publishes an agreement for province \(named), but its key is certified for \(certified)"
        }
    }
}

extension LedgerStore {
    /// Hybrid-clock readings further ahead of the local clock than this are stored (the
    /// entry is signed) but do not advance this node's clock.
    public static let clockSkewToleratedMilliseconds: UInt64 = 5 * 60 * 1000

    /// Appends signed entries authored elsewhere, in one transaction. Each entry is
    /// verified before it is stored, inside the transaction (no suspension between the
    /// check and the commit): its issuer key is known and bound to its origin, its
    /// signature is valid, its seq is the origin's next and its `prev` is the id of the
    /// origin's head. Entries are processed in order, so a batch may carry a whole chain.
    /// Returns one outcome per entry, after the commit.
    public func append(_ entries: [Entry], physicalMilliseconds: UInt64) async throws(StoreError) -> [AppendOutcome] {
        if let duplicates = heldAlready(entries) { return duplicates }
        return try await append(try await checkSignatures(entries), physicalMilliseconds: physicalMilliseconds)
    }

    /// All duplicates, when every entry is among the newest held (`RecentEntries`): a relayed
    /// copy of a batch another peer delivered first is answered without a transaction,
    /// exactly as the transaction would answer it. Nil otherwise.
    private func heldAlready(_ entries: [Entry]) -> [AppendOutcome]? {
        guard !entries.isEmpty, recentEntries.holdsAll(entries) else { return nil }
        return Array(repeating: .duplicate, count: entries.count)
    }

    /// Entries whose signatures were checked ahead of their append (`checkSignatures`).
    public struct CheckedBatch: Sendable {
        public let entries: [Entry]
        let checks: [SignatureCheck?]
    }

    /// Checks the entries' signatures on every core, off the caller's thread: a pure
    /// function of the entries' bytes and the keys known now. A sync session checks the
    /// next batch while the one before it is being appended.
    public func checkSignatures(_ entries: [Entry]) async throws(StoreError) -> CheckedBatch {
        let keys = try issuerKeys()
        // Entries at or below this node's heads are most likely duplicates, found by id in
        // the transaction; the rare conflict among them is verified there.
        let held = try versionVector()
        // A small batch (a pushed entry or two) is checked at once: a thread hop would
        // cost more than it saves. A store that writes on its caller's thread checks there too
        // (still on every core).
        if entries.count <= Self.inlineVerifyMax || writeThread == .callerThread {
            return CheckedBatch(entries: entries, checks: Self.signatureChecks(entries, keys: keys, skipping: held, memo: signatureMemo))
        }
        let checks = await withCheckedContinuation { continuation in
            verifier.async { continuation.resume(returning: Self.signatureChecks(entries, keys: keys, skipping: held, memo: self.signatureMemo)) }
        }
        return CheckedBatch(entries: entries, checks: checks)
    }

    /// Appends a checked batch. Inside the transaction each entry's key is looked up
    /// again, so a signature counts only under the key the ledger binds to the entry's
    /// origin then; one checked under another key is checked again.
    public func append(_ batch: CheckedBatch, physicalMilliseconds: UInt64) async throws(StoreError) -> [AppendOutcome] {
        try await append([batch], physicalMilliseconds: physicalMilliseconds)[0]
    }

    /// Appends checked batches in order, in one transaction, and returns each one's
    /// outcomes. A transaction of several batches writes each page of a random index (the
    /// holders') once for all of them. A batch with an entry that blames its sender ends the
    /// run: the batches after it are not appended and get no outcomes, as if they had not
    /// arrived, so a peer that sent a bad batch gets nothing stored behind it.
    public func append(_ batches: [CheckedBatch], physicalMilliseconds: UInt64) async throws(StoreError) -> [[AppendOutcome]] {
        let duplicates = batches.compactMap { heldAlready($0.entries) }
        if duplicates.count == batches.count { return duplicates }
        let (outcomes, vector) = try await runAsync {
            try await write { db in
                let keys = try self.issuerKeys(db)
                var outcomes: [[AppendOutcome]] = []
                for batch in batches {
                    outcomes.append(try self.appendInTransaction(batch.entries, signatureValid: batch.checks, keys: keys,
                                                                 physicalMilliseconds: physicalMilliseconds, db: db))
                    if outcomes[outcomes.count - 1].contains(where: { if case let .refused(why) = $0 { why.blamesSender } else { false } }) {
                        break
                    }
                }
                // Every session asks for the vector after an append: read it here, in the
                // same transaction, rather than in a read transaction of its own after.
                let stored = outcomes.contains { $0.contains(.appended) }
                return (outcomes, stored ? (try Self.versionVector(db), self.vectorCache.generation) : nil)
            }
        }
        let entries = batches.prefix(outcomes.count).lazy.flatMap(\.entries)
        // Heads moved only if something was stored; duplicates, common in a mesh, keep the vector.
        if let (vector, generation) = vector {
            // Before the vector: a session that sees the new heads finds their entries here.
            recentEntries.record(zip(entries, outcomes.joined()).lazy.filter { $0.1 == .appended }.map(\.0))
            vectorCache.invalidate(keeping: vector, readAt: generation)
        }
        // Agreements and new equivocation proofs change what recognition decisions read.
        if entries.contains(where: { !$0.body.event.isLicenseEvent })
            || outcomes.joined().contains(where: { if case .refused(.conflict) = $0 { true } else { false } }) {
            invalidateTrust()
        }
        return outcomes
    }

    /// Batches of at most this many entries are verified on the caller's thread.
    static let inlineVerifyMax = 64
    /// Entries per chunk of a larger batch verified on every core. A batch's chunks are
    /// all done before the next batch's start, so its last chunk can leave a core idle: 32
    /// kept 1.93 of 2 cores busy through a catch-up where 64 kept 1.91 (docs/BENCHMARKS.md).
    static let parallelVerifyChunk = 32

    /// For each entry, the key its signature was checked against (the key its `key_id`
    /// names, bound to its origin) and the result; nil when no such key was known, or when
    /// the entry lies within `held` (most likely a duplicate; checked in the transaction).
    static func signatureChecks(_ entries: [Entry], keys: [String: IssuerKeyRecord],
                                skipping held: VersionVector, memo: SignatureMemo?) -> [SignatureCheck?] {
        @Sendable func check(_ entry: Entry) -> SignatureCheck? {
            guard entry.body.seq > held[entry.body.origin], let key = keys[entry.body.keyID], key.origin == entry.body.origin else { return nil }
            return SignatureCheck(key: key.publicKey, valid: isValid(entry, by: key.publicKey, memo: memo))
        }
        guard entries.count > inlineVerifyMax else { return entries.map(check) }
        let chunks = (entries.count + parallelVerifyChunk - 1) / parallelVerifyChunk
        let results = Mutex([[SignatureCheck?]](repeating: [], count: chunks))
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * parallelVerifyChunk
            let part = entries[start..<min(start + parallelVerifyChunk, entries.count)].map(check)
            results.withLock { $0[chunk] = part }
        }
        return results.withLock { $0.flatMap { $0 } }
    }

    struct SignatureCheck: Sendable {
        let key: PublicKey
        let valid: Bool
    }

    private func appendInTransaction(
        _ entries: [Entry], signatureValid checked: [SignatureCheck?], keys: [String: IssuerKeyRecord],
        physicalMilliseconds: UInt64, db: Database
    ) throws -> [AppendOutcome] {

        var heads: [String: (seq: UInt64, id: EntryID, hlc: HybridTimestamp)] = [:]
        // Where each origin's flag starts (its lowest proof), read once per origin and
        // lowered when this batch finds a proof.
        var flags: [String: UInt64?] = [:]
        func flaggedFrom(_ origin: String) throws -> UInt64? {
            if let known = flags[origin] { return known }
            let seq = try Self.lowestProof(of: origin, db)
            flags[origin] = seq
            return seq
        }
        var outcomes: [AppendOutcome] = []
        outcomes.reserveCapacity(entries.count)
        var digest = try Self.loadDigest(db)
        let digestBefore = digest
        var orphans: Bool?
        for (index, entry) in entries.enumerated() {
            // Not `let body = entry.body`: that copies the body, event and all, for every entry.
            let (origin, seq) = (entry.body.origin, entry.body.seq)
            let head = try heads[origin] ?? Self.head(of: origin, db)
            // An entry already held, byte for byte (its id hashes body and signature), is a
            // duplicate: its signature was verified when it was stored. Relays make these
            // common, so they cost one lookup, not a verification.
            // Whether an entry is held at (origin, seq), and whether it is this one.
            var stored: Bool?
            if seq <= head.seq {
                stored = try RawStatement(db, "SELECT id FROM entries WHERE origin = ? AND seq = ?")
                    .first({ $0.bind(origin); $0.bind(Int64(seq)) }) { $0.blob(0, equals: entry.id.bytes) }
                if stored == true {
                    outcomes.append(.duplicate)
                    continue
                }
            }
            // Then the signature: nothing an unsigned forgery says is worth a classification.
            guard let key = keys[entry.body.keyID], key.origin == origin else {
                outcomes.append(.refused(.unknownIssuerKey(keyID: entry.body.keyID, origin: origin)))
                continue
            }
            let valid = if let early = checked[index], early.key == key.publicKey { early.valid }
                        else { Self.isValid(entry, by: key.publicKey, memo: signatureMemo) }
            guard valid else {
                outcomes.append(.refused(.badSignature(origin: origin, seq: seq)))
                continue
            }
            if seq <= head.seq {
                // Two validly signed entries at one position: keep the proof.
                if stored != nil, let held = try Self.entry(origin: origin, seq: seq, db) {
                    invalidateTrust()
                    try Self.saveProof(held: held, other: entry, detectedMilliseconds: physicalMilliseconds, db)
                    flags[origin] = min(try flaggedFrom(origin) ?? seq, seq)
                }
                outcomes.append(.refused(.conflict(origin: origin, seq: seq)))
                continue
            }
            if try flaggedFrom(origin).map({ $0 <= seq }) ?? false {
                // The origin's chain forked; entries after the fork are not exchanged until
                // operators resolve it.
                outcomes.append(.refused(.equivocatingOrigin(origin)))
                continue
            }
            guard seq == head.seq + 1 else {
                outcomes.append(.refused(.gap(origin: origin, expected: head.seq + 1, got: seq)))
                continue
            }
            guard entry.body.prev == head.id else {
                outcomes.append(.refused(.wrongPrev(origin: origin, seq: seq)))
                continue
            }
            if case let .agreement(agreement) = entry.body.event,
               let certified = try Self.certifiedProvince(keyID: entry.body.keyID, db), certified != agreement.province {
                outcomes.append(.refused(.agreementOfOtherProvince(origin: origin, seq: seq, named: agreement.province,
                                                                   certified: certified)))
                continue
            }
            try store(entry, digest: &digest, orphans: &orphans, db: db)
            heads[origin] = (seq, entry.id, entry.body.hlc)
            if entry.body.hlc.wallMilliseconds <= physicalMilliseconds + Self.clockSkewToleratedMilliseconds {
                clock.withLock { $0.observe(entry.body.hlc, physicalMilliseconds: physicalMilliseconds) }
            }
            outcomes.append(.appended)
        }
        for (origin, head) in heads {
            try saveHead(origin: origin, seq: head.seq, id: head.id, hlc: head.hlc, db)
        }
        if digest != digestBefore { try Self.saveDigest(digest, db) }
        return outcomes
    }

    /// Inserts a verified entry and refolds what it changes: a new license's view alone when
    /// nothing waits for it, otherwise its holder's licenses and conflicts (`HolderFold`).
    /// `orphans`: whether any event may wait for its license, read once per transaction
    /// (nearly always none: then no issue looks for its own).
    private func store(_ entry: Entry, digest: inout StateDigest, orphans: inout Bool?, db: Database) throws {
        if case let .agreement(agreement) = entry.body.event {
            try storeAgreement(entry, agreement, db)
            return
        }
        if mergeRule == .arrivalOrder {
            try storeInArrivalOrder(entry, digest: &digest, db: db)
            return
        }
        let licenseID = entry.licenseID
        guard entry.body.event.createsLicense else {
            // A later event: refold its license's holder, or wait for the license.
            guard let (row, state) = try LicenseRow.fetch(licenseID, in: db) else {
                try Self.insert(entry, licenseRow: 0, db)
                try Self.waitFor(licenseID, entry, db)
                orphans = true
                return
            }
            try Self.insert(entry, licenseRow: row, db)
            guard Self.appliesToStoredView(state), try Self.appliesLast(entry, state.holderRef, db, memo: entryMemo) else {
                try Self.refoldHolder(state.holderRef, digest: &digest, db, memo: entryMemo)
                return
            }
            // The fold would apply it last, to the state stored now, and it is concurrent
            // with nothing: no conflict, no other license changes. A refused event changes nothing.
            if let next = try? state.applying(entry.body.event, author: entry.body.origin, at: entry.body.hlc) {
                try Self.rewrite(row: row, from: state, to: next, digest: &digest, db)
            }
            #if DEBUG
            try Self.checkHolderIsFolded(state.holderRef, db)
            #endif
            return
        }
        // An issue, or a transfer's new license: the fold of its entry alone first.
        let state = try LicenseState(issuing: entry)
        let row = try LicenseRow.insert(state, in: db)
        digest.add(StateDigest.hash(state))
        try Self.insert(entry, licenseRow: row, db)
        var refold = false
        // Most issues have no event waiting for them: then the view just inserted is the fold.
        let anyWaiting = try orphans ?? RawStatement(db, "SELECT EXISTS (SELECT 1 FROM orphan_events)").exists { _ in }
        orphans = anyWaiting
        let waiting = try anyWaiting
            && RawStatement(db, "SELECT EXISTS (SELECT 1 FROM orphan_events WHERE license_id = ?)").exists { $0.bind(licenseID.text) }
        if waiting {
            // Later events of this license move to its row; a transfer that was waiting for
            // it keeps its own (it created the new license), and is refolded with it below.
            try RawStatement(db, """
                UPDATE entries SET license_row = ?
                WHERE (origin, seq) IN (SELECT origin, seq FROM orphan_events WHERE license_id = ?) AND license_row = 0
                """).execute { $0.bind(row); $0.bind(licenseID.text) }
            try RawStatement(db, "DELETE FROM orphan_events WHERE license_id = ?").execute { $0.bind(licenseID.text) }
            refold = true
        }
        if case let .transfer(transfer) = entry.body.event {
            if let (oldRow, before) = try LicenseRow.fetch(transfer.licenseID, in: db) {
                // A transfer that happened after everything of its holder's is applied as the
                // fold would apply it, last and concurrent with nothing (see `appliesLast`).
                if !refold, before.holderRef == state.holderRef, Self.appliesToStoredView(before),
                   try Self.appliesLast(entry, state.holderRef, db, memo: entryMemo) {
                    var (old, new) = (before, state)
                    try? HolderFold.applyTransfer(entry, transfer, old: &old, new: &new)
                    try Self.rewrite(row: oldRow, from: before, to: old, digest: &digest, db)
                    try Self.rewrite(row: row, from: state, to: new, digest: &digest, db)
                    #if DEBUG
                    try Self.checkHolderIsFolded(state.holderRef, db)
                    #endif
                    return
                }
            } else {
                try Self.waitFor(transfer.licenseID, entry, db)
                orphans = true
            }
            refold = true
        } else if !refold, HolderFold.oncePerHolderTypes.contains(state.licenseType) {
            // Another license of a once-per-holder type: an issue concurrent with it may void
            // one of them; one that happened after everything of the holder's cannot.
            refold = try RawStatement(db, """
                SELECT EXISTS (SELECT 1 FROM licenses WHERE holder_key = ? AND holder_ref = ? AND type = ? AND row != ?)
                """).exists {
                    $0.bind(LicenseRow.holderKey(state.holderRef))
                    $0.bind(blob: state.holderRef.bytes)
                    $0.bind(state.licenseType)
                    $0.bind(row)
                }
            refold = try refold && !Self.appliesLast(entry, state.holderRef, db, memo: entryMemo)
            #if DEBUG
            if !refold { try Self.checkHolderIsFolded(state.holderRef, db) }
            #endif
        }
        if refold { try Self.refoldHolder(state.holderRef, digest: &digest, db, memo: entryMemo) }
    }

    /// The canary's broken merge rule: each event is applied to the stored views as it
    /// arrives, and whatever does not apply is dropped, so concurrent events end up in
    /// whichever order they reached this node.
    private func storeInArrivalOrder(_ entry: Entry, digest: inout StateDigest, db: Database) throws {
        func change(_ old: LicenseState, row: Int64, to new: LicenseState) throws {
            digest.subtract(StateDigest.hash(old))
            digest.add(StateDigest.hash(new))
            try LicenseRow.update(new, row: row, in: db)
        }
        var row: Int64 = 0
        if entry.body.event.createsLicense {
            let state = try LicenseState(issuing: entry)
            row = try LicenseRow.insert(state, in: db)
            digest.add(StateDigest.hash(state))
            if case let .transfer(transfer) = entry.body.event, let (oldRow, old) = try LicenseRow.fetch(transfer.licenseID, in: db),
               let superseded = try? old.superseded(by: transfer, author: entry.body.origin, successor: entry.licenseID,
                                                    at: entry.body.hlc) {
                try change(old, row: oldRow, to: superseded)
            }
        } else if let (found, state) = try LicenseRow.fetch(entry.licenseID, in: db) {
            row = found
            if let applied = try? state.applying(entry.body.event, author: entry.body.origin, at: entry.body.hlc) {
                try change(state, row: found, to: applied)
            }
        }
        try Self.insert(entry, licenseRow: row, db)
    }

    /// Records that `entry` waits for license `id`, which has not arrived.
    static func waitFor(_ id: LicenseID, _ entry: Entry, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO orphan_events (license_id, origin, seq) VALUES (?, ?, ?)")
            .execute(arguments: [id.text, entry.body.origin, Int64(entry.body.seq)])
    }

    /// Moves an origin's head; the caller invalidates `vectorCache` again after its commit.
    func saveHead(origin: String, seq: UInt64, id: EntryID, hlc: HybridTimestamp, _ db: Database) throws {
        vectorCache.invalidate()
        try RawStatement(db, """
            INSERT OR REPLACE INTO origins (origin, head_seq, head_id, head_hlc_wall, head_hlc_logical)
            VALUES (?, ?, ?, ?, ?)
            """).execute {
                $0.bind(origin)
                $0.bind(Int64(seq))
                $0.bind(blob: id.bytes)
                $0.bind(Int64(hlc.wallMilliseconds))
                $0.bind(Int64(hlc.logical))
            }
    }
}

extension LedgerStore {
    /// Stores an entry's signed bytes, pointing at its license's view (0: none yet, or an
    /// agreement). Every way an entry is stored (appended, authored, an agreement) goes here.
    static func insert(_ entry: Entry, licenseRow: Int64, _ db: Database) throws {
        try RawStatement(db, """
            INSERT INTO entries (origin, seq, id, license_row, body, signature) VALUES (?, ?, ?, ?, ?, ?)
            """).execute {
                $0.bind(entry.body.origin)
                $0.bind(Int64(entry.body.seq))
                $0.bind(blob: entry.id.bytes)
                $0.bind(licenseRow)
                $0.bind(blob: entry.bodyBytes)
                $0.bind(blob: entry.signature)
            }
    }
}
