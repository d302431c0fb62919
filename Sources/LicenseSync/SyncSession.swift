import LicenseCore

/// One gossip session with one peer, as a state machine: the driver (the daemon's NIO
/// channel, or the simulator) feeds it events and performs the actions it returns. It
/// reads no socket, no clock and no database: time arrives in events, entries arrive in
/// `entriesRead` after a `readEntries` action, and appends are reported back with
/// `appended` after an `append` action.
///
/// Protocol (docs/PROTOCOL.md): the acceptor sends Hello first; the dialer answers with
/// its Hello only after it has seen the acceptor's. Each side then sends its version
/// vector and streams, per origin in seq order, the entries the other side lacks, at most
/// `batchesInFlightMax` unacknowledged batches at a time. The receiver appends a batch
/// (verifying every entry) before it acknowledges it with its new vector; it never has
/// more than the agreed number of batches waiting, so memory does not grow with the
/// ledger being synced.
public struct SyncSession: Sendable {
    public enum Role: Sendable { case acceptor, dialer }

    public struct Configuration: Sendable {
        public var nodeID: String
        public var province: String
        /// The node id the peer must present (from peers.json); nil accepts any.
        public var expectedPeer: String?
        public var batchEntriesMax: UInt32 = 256
        public var batchesInFlightMax: UInt32 = 4
        /// Bytes of entry data per batch, below the frame limit.
        public var batchBytesMax = FrameCodec.frameBytesMax - 64 * 1024
        public var keepaliveMilliseconds: UInt64 = 15_000
        /// An origin's head is compared with the peer's at most this often: a peer that
        /// announces made-up heads cannot make this node send evidence without pause.
        public var headComparisonMilliseconds: UInt64 = 10_000
        public var idleTimeoutMilliseconds: UInt64 = 60_000

        public init(nodeID: String, province: String, expectedPeer: String? = nil) {
            self.nodeID = nodeID
            self.province = province
            self.expectedPeer = expectedPeer
        }
    }

    public enum Event: Sendable {
        /// The transport is up (TLS handshake done). `vector` is the local store's, and
        /// `heads` the id of its entry at each origin's seq.
        case connected(vector: VersionVector, heads: [String: EntryID] = [:], nowMilliseconds: UInt64)
        case received(SyncFrame, nowMilliseconds: UInt64)
        /// Answer to `readEntries`: a prefix of the origin's entries after the requested seq.
        case entriesRead(origin: String, [StoredEntry])
        /// Answer to `append`.
        case appended(batch: UInt64, AppendResult)
        /// The local store gained entries (authored here or received from any peer).
        case localVectorChanged(VersionVector)
        /// Anti-entropy: tell the peer our vector (with the store's current heads) so that
        /// both sides re-plan and either can spot a fork of equal length.
        case announce(vector: VersionVector, heads: [String: EntryID])
        /// Answer to `compareHeads`: this node's entries at positions where the peer
        /// announced a different head.
        case headsCompared(divergent: [Entry])
        /// Answer to `checkEvidence`.
        case evidenceChecked(EvidenceResult)
        /// This node recorded a new equivocation proof (here or from any peer): pass it on.
        case equivocationFound([Entry])
        case tick(nowMilliseconds: UInt64)
        case close
    }

    /// A batch of entries from the peer, by the number it came with.
    public struct Batch: Sendable, Equatable {
        public var number: UInt64
        public var entries: [Entry]

        public init(number: UInt64, entries: [Entry]) {
            self.number = number
            self.entries = entries
        }
    }

    public enum AppendResult: Sendable, Equatable {
        case stored(vector: VersionVector)
        /// Entries of an origin that equivocated were not stored (the proof was kept);
        /// the peer is not at fault for relaying them, so the session goes on.
        case heldBack(origin: String, vector: VersionVector)
        case refused(code: String, detail: String)
    }

    public enum EvidenceResult: Sendable, Equatable {
        /// Recorded, already known, consistent with what this node holds, or not yet
        /// verifiable (unknown key): the session goes on.
        case accepted
        /// A bad signature: the peer offered something false.
        case refused(code: String, detail: String)
    }

    public enum Action: Sendable, Equatable {
        case send(SyncFrame)
        /// Read up to `limit` entries of `origin` with seq > `after`, at most `bytesMax`
        /// bytes of body and signature (always at least one entry), and report them.
        case readEntries(origin: String, after: UInt64, limit: Int, bytesMax: Int)
        /// Verify and append these batches' entries, in order and in one transaction, then
        /// report `appended(batch:)` for each batch, in order. Batches that waited behind an
        /// append go together (`appendGroupMax`): a commit writes each random index page
        /// once for all of them (docs/DECISIONS.md 55).
        case append([Batch])
        /// A batch is waiting behind the one being appended: its signatures may be checked
        /// now, in parallel, for the `append` of the same batch that follows. A driver may
        /// ignore this.
        case checkSignatures(batch: UInt64, [Entry])
        /// Both Hellos are exchanged and valid.
        case established(peer: SyncFrame.Hello)
        /// Verify these certificates and revocations against the root and keep them.
        case storeTrust(certificates: [SyncFrame.SignedBytes], revocations: [SyncFrame.SignedBytes])
        /// The peer announced these head ids: report, with `headsCompared`, this node's
        /// entries at those positions (the peer's seq for each origin) whose id differs.
        case compareHeads(VersionVector, heads: [String: EntryID])
        /// Verify this equivocation evidence and record the proof it makes, then report
        /// `evidenceChecked`.
        case checkEvidence([Entry])
        /// Close the transport (after sending what precedes this action).
        case close(SyncError)
    }

    private enum State: Sendable {
        case idle
        case awaitingHello
        case awaitingVector(peer: SyncFrame.Hello)
        case syncing(peer: SyncFrame.Hello)
        case closed(SyncError)
    }

    public let role: Role
    public let configuration: Configuration
    private var state = State.idle
    private var now: UInt64 = 0
    private var lastReceived: UInt64 = 0
    private var lastSent: UInt64 = 0
    private var pingNonce: UInt64 = 0

    /// What this node holds, and what the peer is known to hold or to have been sent.
    public private(set) var localVector = VersionVector()
    private var localHeads: [String: (seq: UInt64, id: EntryID)] = [:]
    /// When each origin's head was last compared with the peer's, and whether a comparison
    /// is out: batches wait for it, so that evidence of a fork reaches the peer before
    /// entries that would not chain to its branch.
    private var headsComparedAt: [String: UInt64] = [:]
    private var comparingHeads = false
    public private(set) var peerVector = VersionVector()
    private var sentUpTo = VersionVector()
    private var reading: String?
    private var lastServedOrigin = ""
    private var inFlight: [UInt64: (origin: String, lastSeq: UInt64)] = [:]
    private var nextBatch: UInt64 = 1
    /// The batches being appended, in order; each leaves when its append is reported.
    private var appendingBatches: [UInt64] = []
    private var appending: Bool { !appendingBatches.isEmpty }
    private var appendQueue: [Batch] = []

    /// At most this many waiting batches are appended together: half the batches this node
    /// lets the peer have unacknowledged, so the other half can arrive and be verified on the
    /// other cores while their transaction commits.
    public var appendGroupMax: Int { max(1, Int(configuration.batchesInFlightMax) / 2) }

    public init(role: Role, configuration: Configuration) {
        self.role = role
        self.configuration = configuration
    }

    /// The peer's Hello once it has been accepted.
    public var peer: SyncFrame.Hello? {
        switch state {
        case let .awaitingVector(peer), let .syncing(peer): peer
        case .idle, .awaitingHello, .closed: nil
        }
    }

    public var closedBecause: SyncError? {
        if case let .closed(error) = state { error } else { nil }
    }

    public var batchesInFlight: Int { inFlight.count }

    private var isEstablished: Bool {
        switch state {
        case .awaitingVector, .syncing: true
        case .idle, .awaitingHello, .closed: false
        }
    }

    private mutating func noteHeads(_ heads: [String: EntryID], of vector: VersionVector) {
        for (origin, id) in heads where vector[origin] > 0 { localHeads[origin] = (vector[origin], id) }
    }

    /// The heads that go with `localVector`: only those still at the seq the vector names.
    private var announcedHeads: [String: EntryID] {
        var heads: [String: EntryID] = [:]
        for (origin, head) in localHeads where head.seq == localVector[origin] { heads[origin] = head.id }
        return heads
    }

    public mutating func handle(_ event: Event) -> [Action] {
        if case .closed = state { return [] }
        var actions: [Action]
        switch event {
        case let .connected(vector, heads, time):
            now = time
            lastReceived = time
            localVector = vector
            noteHeads(heads, of: vector)
            state = .awaitingHello
            actions = role == .acceptor ? [.send(.hello(ownHello))] : []
        case let .received(frame, time):
            now = max(now, time)
            lastReceived = now
            actions = receive(frame)
        case let .entriesRead(origin, entries):
            actions = entriesRead(origin: origin, entries)
        case let .appended(batch, result):
            actions = appended(batch: batch, result)
        case let .localVectorChanged(vector):
            localVector = localVector.merging(vector)
            actions = pump()
        case let .announce(vector, heads):
            localVector = localVector.merging(vector)
            noteHeads(heads, of: vector)
            if case .syncing = state { actions = [.send(.vector(localVector, heads: announcedHeads))] } else { actions = [] }
        case let .headsCompared(divergent):
            comparingHeads = false
            actions = isEstablished ? divergent.map { .send(.equivocation([$0])) } + pump() : []
        case let .evidenceChecked(result):
            switch result {
            case .accepted: actions = []
            case let .refused(code, detail): actions = fail(.refusedEntry(code: code, detail: detail))
            }
        case let .equivocationFound(entries):
            actions = isEstablished ? [.send(.equivocation(entries))] : []
        case let .tick(time):
            now = max(now, time)
            actions = tick()
        case .close:
            state = .closed(.closedByLocalNode)
            actions = [.close(.closedByLocalNode)]
        }
        if actions.contains(where: { if case .send = $0 { true } else { false } }) { lastSent = now }
        return actions
    }

    private var ownHello: SyncFrame.Hello {
        SyncFrame.Hello(nodeID: configuration.nodeID, province: configuration.province,
                        batchEntriesMax: configuration.batchEntriesMax,
                        batchesInFlightMax: configuration.batchesInFlightMax)
    }

    /// The transport found a problem the session cannot see (an undecodable frame, a
    /// certificate that names another node): the session ends as if it had found it.
    public mutating func failFromTransport(_ error: SyncError) -> [Action] {
        if case .closed = state { return [] }
        return fail(error)
    }

    private mutating func fail(_ error: SyncError) -> [Action] {
        state = .closed(error)
        if case .peerReported = error { return [.close(error)] }
        return [.send(.error(code: error.code, message: error.description)), .close(error)]
    }

    private mutating func receive(_ frame: SyncFrame) -> [Action] {
        if case let .error(code, message) = frame { return fail(.peerReported(code: code, message: message)) }
        if case let .ping(nonce) = frame { return [.send(.pong(nonce))] }
        if case .pong = frame { return [] }
        if case let .trust(certificates, revocations) = frame {
            switch state {
            case .awaitingVector, .syncing: return [.storeTrust(certificates: certificates, revocations: revocations)]
            case .idle, .awaitingHello, .closed: return fail(.expectedHello(got: frame.kind))
            }
        }
        if case let .equivocation(entries) = frame {
            guard isEstablished else { return fail(.expectedHello(got: frame.kind)) }
            return [.checkEvidence(entries)]
        }
        switch state {
        case .idle, .closed:
            return []
        case .awaitingHello:
            guard case let .hello(hello) = frame else { return fail(.expectedHello(got: frame.kind)) }
            guard hello.protocolVersion == SyncFrame.protocolVersion else {
                return fail(.unsupportedProtocol(hello.protocolVersion))
            }
            guard hello.nodeID != configuration.nodeID else { return fail(.selfConnection) }
            if let expected = configuration.expectedPeer, expected != hello.nodeID {
                return fail(.wrongPeer(expected: expected, got: hello.nodeID))
            }
            state = .awaitingVector(peer: hello)
            let greeting: [Action] = role == .dialer ? [.send(.hello(ownHello))] : []
            return greeting + [.established(peer: hello), .send(.vector(localVector, heads: announcedHeads))]
        case .awaitingVector(let peer):
            switch frame {
            case let .vector(vector, heads):
                peerVector = vector
                sentUpTo = vector
                state = .syncing(peer: peer)
                return compare(vector, heads) + pump()
            case .hello:
                return fail(.unexpectedHello)
            case .entries, .entryBytes, .ack, .error, .ping, .pong, .trust, .equivocation:
                return fail(.malformedFrame("\(frame.kind) before the peer's vector"))
            }
        case .syncing:
            switch frame {
            case let .entries(batch, entries):
                return receiveBatch(batch, entries)
            case .entryBytes:
                // Only a sender builds this form; what arrives is decoded into `entries`.
                return fail(.malformedFrame("entries that were not decoded"))
            case let .ack(batch, vector):
                guard inFlight.removeValue(forKey: batch) != nil else { return fail(.unknownBatchAcknowledged(batch)) }
                peerVector = peerVector.merging(vector)
                return pump()
            case let .vector(vector, heads):
                // The peer's word on what it holds (it may have lost data); what is in
                // flight to it still counts as sent.
                peerVector = vector
                sentUpTo = vector
                for batch in inFlight.values where batch.lastSeq > sentUpTo[batch.origin] {
                    sentUpTo[batch.origin] = batch.lastSeq
                }
                return compare(vector, heads) + pump()
            case .hello:
                return fail(.unexpectedHello)
            case .error, .ping, .pong, .trust, .equivocation:
                return []
            }
        }
    }

    /// Heads the peer announced at positions this node also holds can be compared: the
    /// driver reads this node's entries there.
    private mutating func compare(_ vector: VersionVector, _ heads: [String: EntryID]) -> [Action] {
        guard !comparingHeads else { return [] }
        let comparable = heads.filter { origin, _ in
            vector[origin] <= localVector[origin]
                && headsComparedAt[origin].map { now >= $0 + configuration.headComparisonMilliseconds } ?? true
        }
        guard !comparable.isEmpty else { return [] }
        for origin in comparable.keys { headsComparedAt[origin] = now }
        comparingHeads = true
        return [.compareHeads(vector, heads: comparable)]
    }

    private mutating func receiveBatch(_ batch: UInt64, _ entries: [Entry]) -> [Action] {
        guard entries.count <= Int(configuration.batchEntriesMax) else {
            return fail(.batchTooLarge(entries: entries.count, limit: Int(configuration.batchEntriesMax)))
        }
        guard appendQueue.count + appendingBatches.count < Int(configuration.batchesInFlightMax) else {
            return fail(.tooManyBatchesInFlight(limit: Int(configuration.batchesInFlightMax)))
        }
        guard let first = entries.first, let last = entries.last else { return fail(.malformedFrame("empty batch")) }
        // Batch numbers name a batch until it is acknowledged: a reused one would mix up
        // which entries an acknowledgement (and a signature check) is for.
        guard !appendingBatches.contains(batch), !appendQueue.contains(where: { $0.number == batch }) else {
            return fail(.malformedFrame("batch \(batch) is already waiting to be appended"))
        }
        for (index, entry) in entries.enumerated()
        where entry.body.origin != first.body.origin || entry.body.seq != first.body.seq + UInt64(index) {
            return fail(.batchNotConsecutive("entry \(index) is \(entry.body.origin)#\(entry.body.seq)"))
        }
        // The peer holds what it sends: never send these back.
        if last.body.seq > peerVector[first.body.origin] { peerVector[first.body.origin] = last.body.seq }
        if last.body.seq > sentUpTo[first.body.origin] { sentUpTo[first.body.origin] = last.body.seq }
        if appending {
            appendQueue.append(Batch(number: batch, entries: entries))
            return [.checkSignatures(batch: batch, entries)]
        }
        appendingBatches = [batch]
        return [.append([Batch(number: batch, entries: entries)])]
    }

    private mutating func appended(batch: UInt64, _ result: AppendResult) -> [Action] {
        appendingBatches.removeAll { $0 == batch }
        switch result {
        case let .refused(code, detail):
            return fail(.refusedEntry(code: code, detail: detail))
        case let .stored(vector), let .heldBack(_, vector):
            localVector = localVector.merging(vector)
            var actions: [Action] = [.send(.ack(batch: batch, vector))]
            if !appending, !appendQueue.isEmpty {
                let group = Array(appendQueue.prefix(appendGroupMax))
                appendQueue.removeFirst(group.count)
                appendingBatches = group.map(\.number)
                actions.append(.append(group))
            }
            return actions + pump()
        }
    }

    private mutating func entriesRead(origin: String, _ entries: [StoredEntry]) -> [Action] {
        guard reading == origin else { return [] }
        reading = nil
        guard case .syncing = state else { return [] }
        let fresh = entries.filter { $0.origin == origin && $0.seq > sentUpTo[origin] }
        // A vector that arrived during the read may have moved what the peer needs: send
        // only a batch that starts exactly where the peer's need starts, else plan again.
        guard let first = fresh.first, let last = fresh.last,
              first.seq == max(peerVector[origin], sentUpTo[origin]) + 1
        else { return pump() }
        let batch = nextBatch
        nextBatch += 1
        inFlight[batch] = (origin, last.seq)
        sentUpTo[origin] = last.seq
        return [.send(.entryBytes(batch: batch, fresh))] + pump()
    }

    /// Plans the next read: an origin the peer lacks, round-robin, while the peer has
    /// room for another batch and no read is outstanding.
    private mutating func pump() -> [Action] {
        guard case let .syncing(peer) = state, reading == nil, !comparingHeads, inFlight.count < Int(peer.batchesInFlightMax) else {
            return []
        }
        // The peer lacks an origin's entries beyond what it holds and what is on the way:
        // serve the next such origin after the last one served, round robin.
        var first: (origin: String, after: UInt64)?
        var next: (origin: String, after: UInt64)?
        localVector.forEachAhead(of: peerVector, sentUpTo) { origin, _, behind in
            if first == nil { first = (origin, behind) }
            guard origin > lastServedOrigin else { return true }
            next = (origin, behind)
            return false
        }
        guard let (origin, after) = next ?? first else { return [] }
        reading = origin
        lastServedOrigin = origin
        return [.readEntries(origin: origin, after: after,
                             limit: Int(min(peer.batchEntriesMax, configuration.batchEntriesMax)),
                             bytesMax: configuration.batchBytesMax)]
    }

    private mutating func tick() -> [Action] {
        switch state {
        case .idle, .closed:
            return []
        case .awaitingHello, .awaitingVector, .syncing:
            if now >= lastReceived + configuration.idleTimeoutMilliseconds {
                return fail(.idleTimeout(milliseconds: now - lastReceived))
            }
            if now >= lastSent + configuration.keepaliveMilliseconds {
                pingNonce += 1
                return [.send(.ping(pingNonce))]
            }
            return []
        }
    }
}
