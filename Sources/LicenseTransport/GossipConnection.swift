import AsyncAlgorithms
import LicenseCore
import LicenseStore
import LicenseSync
import Logging
import Synchronization
import NIOCore
import NIOSSL

/// A byte count shared by a session's loop and its writer task.
final class ByteCount: Sendable {
    let value = Atomic(0)
}

/// Runs one `SyncSession` over one TLS connection: the I/O shell around the sans-I/O
/// session. Frames are decoded only as fast as the session takes them (the reader waits
/// for the loop), batches are appended one at a time beside the loop while the next ones'
/// signatures are checked, and the session refuses more waiting batches than it agreed
/// to, so a fast peer cannot make memory grow. Writes are capped the same way.
struct GossipConnection {
    /// More than this waiting to be written ends the session: a catch-up keeps at most the
    /// peer's batches in flight (≤ 64 × 1 MiB by the protocol, 8 MiB with this node's
    /// limits) plus small frames.
    static let queuedBytesMax = 80 * 1024 * 1024

    enum Input: Sendable {
        /// The loop has begun: carry out what the session asked for when it connected (its
        /// Hello), which would otherwise wait for the first frame or tick.
        case start
        /// Frames decoded from `bytes` bytes that arrived.
        case frames([SyncFrame], bytes: Int)
        /// The bytes that arrived are not a valid frame; nothing more is read.
        case undecodable(SyncError, bytes: Int)
        case inboundClosed
        case vector(VersionVector)
        case tick
        case announce
        case equivocation([Entry])
        /// Trust material this node just learned, to relay to the peer.
        case trust(certificates: [SyncFrame.SignedBytes], revocations: [SyncFrame.SignedBytes])
        /// `keysGeneration`: the store's issuer keys generation before the append looked up keys.
        case appended(batch: UInt64, Result<SyncSession.AppendResult, any Error>, entries: Int, keysGeneration: Int)
    }

    let store: LedgerStore
    let hub: VectorHub
    let board: PeerBoard
    /// The trust anchor; with it, the session exchanges issuer certificates.
    let root: PublicKey?
    let clock: @Sendable () -> UInt64
    let logger: Logger
    let tickMilliseconds: UInt64

    /// Runs the session until either side closes it; returns why it ended.
    func run(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, session initial: SyncSession,
             allowed: @escaping @Sendable (String) -> Bool = { _ in true },
             certifiedPeer: @escaping @Sendable () async -> String?) async -> SyncError {
        var session = initial
        var logger = logger
        let inputs = AsyncChannel<Input>()
        var peerID: String?
        var registration: Int?
        var ended = false
        // Subscribe before the first vector is read, so no local append falls in between.
        let updates = hub.subscribe()
        let proofs = hub.subscribeEquivocations()
        let trust = hub.subscribeTrust()
        let control = SessionControl()
        // Bytes handed to the writer and not yet written: bounded, or a peer that stops
        // reading would make them grow.
        let queuedBytes = ByteCount()
        defer {
            if let registration { board.unregister(registration) }
            // Whatever ended the session (an error, a cancellation), the board must say so.
            if let peerID, !ended {
                board.update(peerID, now: clock()) { status in
                    status.sessions = max(0, status.sessions - 1)
                    status.connected = status.sessions > 0
                    status.sinceMilliseconds = clock()
                }
            }
        }
        do {
            return try await channel.executeThenClose { inbound, outbound in
                // Discarding: an append task per batch would otherwise be kept, finished,
                // for the life of the session. No child throws.
                try await withThrowingDiscardingTaskGroup(returning: SyncError.self) { group in
                    // Frames are decoded (entries parsed and hashed) here, beside the
                    // session loop; each buffer's frames wait until the loop takes them, so
                    // reading never runs more than one buffer ahead.
                    group.addTask {
                        var decoder = FrameDecoder()
                        do {
                            for try await buffer in inbound {
                                decoder.append(buffer.readableBytesView)
                                var frames: [SyncFrame] = []
                                do throws(SyncError) {
                                    while let frame = try decoder.next() { frames.append(frame) }
                                } catch {
                                    if !frames.isEmpty { await inputs.send(.frames(frames, bytes: 0)) }
                                    await inputs.send(.undecodable(error, bytes: buffer.readableBytes))
                                    return
                                }
                                await inputs.send(.frames(frames, bytes: buffer.readableBytes))
                            }
                        } catch {
                            // A TLS alert or reset ends the connection like a close.
                        }
                        await inputs.send(.inboundClosed)
                    }
                    group.addTask {
                        for await vector in updates { await inputs.send(.vector(vector)) }
                    }
                    group.addTask {
                        for await proof in proofs { await inputs.send(.equivocation(proof)) }
                    }
                    group.addTask {
                        for await (certificates, revocations) in trust {
                            await inputs.send(.trust(certificates: certificates, revocations: revocations))
                        }
                    }
                    // Writes go through their own task, so the session loop never waits on
                    // the socket: two nodes both catching up cannot block each other
                    // writing while neither reads. The protocol bounds the queue (the agreed
                    // batches in flight, plus small frames); `queuedBytesMax` enforces it.
                    let (writes, writer) = AsyncStream.makeStream(of: [UInt8].self)
                    let (drained, drainedSignal) = AsyncStream.makeStream(of: Void.self)
                    group.addTask {
                        for await bytes in writes {
                            defer { queuedBytes.value.subtract(bytes.count, ordering: .relaxed) }
                            do {
                                try await outbound.write(ByteBuffer(bytes: bytes))
                            } catch {
                                // The peer closed while we wrote; what it sent before (often
                                // an error frame saying why) is still to be read.
                                break
                            }
                        }
                        drainedSignal.finish()
                    }
                    /// Lets queued frames (an error frame before a close) reach the socket,
                    /// for at most 5 s, or the idle timeout if shorter (a peer that has not
                    /// been heard from for that long will not read them either).
                    let flushMilliseconds = min(5000, session.configuration.idleTimeoutMilliseconds)
                    func flush() async {
                        writer.finish()
                        await withTaskGroup(of: Void.self) { race in
                            race.addTask { for await _ in drained {} }
                            race.addTask { try? await Task.sleep(for: .milliseconds(flushMilliseconds)) }
                            await race.next()
                            race.cancelAll()
                        }
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(tickMilliseconds))
                            if Task.isCancelled { break }
                            await inputs.send(.tick)
                        }
                    }
                    defer { group.cancelAll() }
                    func closed(_ reason: SyncError) {
                        guard let peerID else { return }
                        ended = true
                        board.recordEnd(reason, peer: peerID, now: clock())
                        board.update(peerID, now: clock()) { status in
                            status.sessions = max(0, status.sessions - 1)
                            status.connected = status.sessions > 0
                            status.sinceMilliseconds = clock()
                            status.lastError = reason.description
                        }
                    }
                    // Entries held back for want of an issuer key, and the keys' generation
                    // they were looked up in: once the keys change (a certificate learned on
                    // any session), the peer is asked for them again. Without this, a batch
                    // appended while its certificate was being stored waits for anti-entropy.
                    var heldBackWithKeys: Int?
                    // Signature checks started ahead of their batch's append.
                    var checking: [UInt64: Task<LedgerStore.CheckedBatch, any Error>] = [:]
                    let heads = try store.heads()
                    var pending = session.handle(.connected(vector: heads.vector, heads: heads.ids, nowMilliseconds: clock()))
                    group.addTask { await inputs.send(.start) }
                    for await input in inputs {
                        switch input {
                        case .start:
                            break
                        case let .frames(frames, bytes):
                            if let peerID { board.update(peerID, now: clock()) { $0.bytesIn += UInt64(bytes) } }
                            for frame in frames {
                                pending += session.handle(.received(frame, nowMilliseconds: clock()))
                            }
                        case let .undecodable(error, bytes):
                            if let peerID { board.update(peerID, now: clock()) { $0.bytesIn += UInt64(bytes) } }
                            pending += session.failFromTransport(error)
                        case .inboundClosed:
                            let reason = session.closedBecause ?? .peerReported(code: "closed", message: "connection closed by the peer")
                            closed(reason)
                            return reason
                        case let .vector(vector):
                            pending += session.handle(.localVectorChanged(vector))
                        case .tick:
                            pending += session.handle(.tick(nowMilliseconds: clock()))
                            var keysChanged = false
                            if let generation = heldBackWithKeys, store.issuerKeysGeneration != generation {
                                heldBackWithKeys = nil
                                keysChanged = true
                            }
                            if let reason = control.takeClose() {
                                pending += session.failFromTransport(reason)
                            } else if control.takeAnnounce() || keysChanged {
                                pending += try announce(&session)
                            }
                        case .announce:
                            pending += try announce(&session)
                        case let .equivocation(entries):
                            pending += session.handle(.equivocationFound(entries))
                        case let .trust(certificates, revocations):
                            // Relayed once the session is established; before that, the
                            // whole set goes out at establishment anyway.
                            if peerID != nil { pending.append(.send(.trust(certificates: certificates, revocations: revocations))) }
                        case let .appended(batch, outcome, count, keysGeneration):
                            let result = try outcome.get()
                            if case .heldBack = result { heldBackWithKeys = min(heldBackWithKeys ?? keysGeneration, keysGeneration) }
                            if let peerID, case .stored = result {
                                board.update(peerID, now: clock()) { $0.entriesIn += UInt64(count) }
                            }
                            pending += session.handle(.appended(batch: batch, result))
                        }
                        // Perform actions; some answer with events whose actions follow.
                        while !pending.isEmpty {
                            let action = pending.removeFirst()
                            switch action {
                            case let .send(frame):
                                let bytes = FrameCodec.encode(frame)
                                writer.yield(bytes)
                                let queued = queuedBytes.value.add(bytes.count, ordering: .relaxed).newValue
                                if queued > Self.queuedBytesMax {
                                    pending = session.failFromTransport(.peerNotReading(queuedBytes: queued))
                                }
                                if let peerID {
                                    board.update(peerID, now: clock()) { status in
                                        status.bytesOut += UInt64(bytes.count)
                                        if case let .entryBytes(_, entries) = frame { status.entriesOut += UInt64(entries.count) }
                                    }
                                }
                            case let .readEntries(origin, after, limit, bytesMax):
                                let entries = try store.storedEntries(origin: origin, after: after, limit: limit, bytesMax: bytesMax)
                                pending += session.handle(.entriesRead(origin: origin, entries))
                            case let .compareHeads(vector, heads):
                                let divergent = try store.divergentEntries(vector, heads: heads)
                                if !divergent.isEmpty {
                                    logger.warning("peer holds a different entry at an origin's head: sending ours as evidence",
                                                   metadata: ["entry.origins": "\(divergent.map(\.body.origin))"])
                                }
                                pending += session.handle(.headsCompared(divergent: divergent))
                            case let .checkEvidence(entries):
                                pending += session.handle(.evidenceChecked(try await checkEvidence(entries)))
                            case let .checkSignatures(batch, entries):
                                checking[batch] = Task { try await store.checkSignatures(entries) }
                            case let .append(batches):
                                // The append runs beside the loop, which meanwhile reads the
                                // next batches and checks their signatures: verification of
                                // one batch overlaps the transaction of the ones before.
                                let early = batches.map { checking.removeValue(forKey: $0.number) }
                                group.addTask {
                                    let outcome: Result<[SyncSession.AppendResult], any Error>
                                    let started = ContinuousClock.now
                                    let keysGeneration = store.issuerKeysGeneration
                                    do {
                                        var checked: [LedgerStore.CheckedBatch] = []
                                        for (batch, early) in zip(batches, early) {
                                            let check = if let early { try await early.value } else { try await store.checkSignatures(batch.entries) }
                                            checked.append(check)
                                        }
                                        outcome = .success(try await append(checked))
                                    } catch {
                                        outcome = .failure(error)
                                    }
                                    let took = started.duration(to: .now).seconds
                                    switch outcome {
                                    case let .success(results):
                                        var appended = 0
                                        for (batch, result) in zip(batches, results) {
                                            switch result {
                                            case .stored, .heldBack: appended += batch.entries.count
                                            case let .refused(code, _): board.report(.refused(reason: code))
                                            }
                                        }
                                        if appended > 0 { board.report(.appended(entries: appended, seconds: took)) }
                                        // A batch after a refused one was not appended: the
                                        // session ends at the refusal.
                                        for (batch, result) in zip(batches, results) {
                                            await inputs.send(.appended(batch: batch.number, .success(result), entries: batch.entries.count,
                                                                        keysGeneration: keysGeneration))
                                        }
                                    case let .failure(error):
                                        await inputs.send(.appended(batch: batches[0].number, .failure(error), entries: 0,
                                                                    keysGeneration: keysGeneration))
                                    }
                                }
                            case let .established(peer):
                                logger[metadataKey: "peer.id"] = "\(peer.nodeID)"
                                // The Hello must name the node the certificate names.
                                let certified = await certifiedPeer()
                                if certified != peer.nodeID {
                                    // Nothing queued behind the Hello may run for a peer that lied.
                                    pending = session.failFromTransport(.wrongPeer(expected: certified ?? "(no node id in certificate)",
                                                                                  got: peer.nodeID))
                                } else if !allowed(peer.nodeID) {
                                    pending = session.failFromTransport(.unlistedPeer(peer.nodeID))
                                } else if let id = board.register(nodeID: peer.nodeID, dialedHere: session.role == .dialer,
                                                                  localNodeID: session.configuration.nodeID, control: control) {
                                    registration = id
                                    // A reload that removed the peer between the check above and
                                    // the registration could not ask this session to close.
                                    if !allowed(peer.nodeID) { control.requestClose(.unlistedPeer(peer.nodeID)) }
                                    logger.info("gossip session established")
                                    peerID = peer.nodeID
                                    board.update(peer.nodeID, now: clock()) { status in
                                        status.sessions += 1
                                        status.connected = true
                                        status.sinceMilliseconds = clock()
                                        status.lastError = nil
                                    }
                                    // Certificates and revocations travel with the gossip: send
                                    // ours before our vector.
                                    if let root {
                                        let certificates = try store.certificates(root: root).map {
                                            SyncFrame.SignedBytes(body: $0.bodyBytes, signature: $0.signature)
                                        }
                                        let revocations = try store.revocations(root: root).map {
                                            SyncFrame.SignedBytes(body: $0.bodyBytes, signature: $0.signature)
                                        }
                                        if !certificates.isEmpty || !revocations.isEmpty {
                                            pending.insert(.send(.trust(certificates: Array(certificates.prefix(SyncFrame.certificatesMax)),
                                                                        revocations: Array(revocations.prefix(SyncFrame.certificatesMax)))),
                                                           at: 0)
                                        }
                                    }
                                    // So do equivocation proofs: a node that never saw both
                                    // branches still flags the origin.
                                    for proof in try store.earliestEquivocations() {
                                        pending += session.handle(.equivocationFound(proof.entries))
                                    }
                                } else {
                                    pending = session.failFromTransport(.duplicateSession(peer: peer.nodeID))
                                }
                            case let .storeTrust(certificates, revocations):
                                guard let root else { continue }
                                do {
                                    try learn(certificates: certificates, revocations: revocations, root: root, control: control)
                                } catch let error as CertificateError {
                                    pending = session.failFromTransport(.refusedEntry(code: error.code, detail: error.description))
                                }
                            case let .close(reason):
                                logger.notice("gossip session closed", metadata: ["reason": "\(reason)"])
                                closed(reason)
                                await flush()
                                return reason
                            }
                        }
                        if let peerID {
                            let vector = session.peerVector
                            board.update(peerID, now: clock()) { $0.peerVector = vector.seqs }
                        }
                    }
                    return session.closedBecause ?? .closedByLocalNode
                }
            }
        } catch {
            logger.warning("gossip connection failed", metadata: ["error": "\(error)"])
            return session.closedBecause ?? .peerReported(code: "transport", message: "\(error)")
        }
    }

    /// Verifies and keeps trust material from the peer; what is new here is relayed to
    /// every peer, and entries held back for want of a new certificate are asked for again.
    private func learn(certificates: [SyncFrame.SignedBytes], revocations: [SyncFrame.SignedBytes], root: PublicKey,
                       control: SessionControl) throws {
        var newCertificates: [SyncFrame.SignedBytes] = []
        var newRevocations: [SyncFrame.SignedBytes] = []
        for bytes in certificates {
            let certificate = try IssuerCertificate(bodyBytes: bytes.body, signature: bytes.signature, root: root)
            if try store.addCertificate(certificate) { newCertificates.append(bytes) }
        }
        for bytes in revocations {
            let revocation = try KeyRevocation(bodyBytes: bytes.body, signature: bytes.signature, root: root)
            if try store.addRevocation(revocation) {
                newRevocations.append(bytes)
                logger.warning("learned a key revocation: entries the key signed after its compromise are not recognized",
                               metadata: ["key.id": "\(revocation.body.keyID)"])
            }
        }
        if !newCertificates.isEmpty {
            logger.info("learned issuer certificates", metadata: ["count": "\(newCertificates.count)"])
            // Entries held back for want of these keys: ask for them again.
            control.requestAnnounce()
        }
        if !newCertificates.isEmpty || !newRevocations.isEmpty {
            hub.publishTrust(certificates: newCertificates, revocations: newRevocations)
        }
    }

    private func announce(_ session: inout SyncSession) throws -> [SyncSession.Action] {
        let heads = try store.heads()
        return session.handle(.announce(vector: heads.vector, heads: heads.ids))
    }

    /// Checks equivocation evidence from the peer; a new proof goes to every peer.
    private func checkEvidence(_ entries: [Entry]) async throws -> SyncSession.EvidenceResult {
        let outcome = try await store.recordEvidence(entries, physicalMilliseconds: clock())
        switch outcome {
        case let .recorded(proof):
            logger.error("equivocation: peer proved that an origin signed two entries at one seq; origin held back",
                         metadata: ["entry.origin": "\(proof.origin)", "entry.seq": "\(proof.seq)"])
            hub.publishEquivocation(proof.entries)
        case .known, .consistent:
            break
        case let .unverifiable(keyID, origin):
            logger.info("equivocation evidence signed by a key not known yet; ignored",
                        metadata: ["key.id": "\(keyID)", "entry.origin": "\(origin)"])
        case let .refused(refusal):
            logger.warning("refused equivocation evidence", metadata: ["reason": "\(refusal.code)", "detail": "\(refusal)"])
        }
        return AppendMapping.result(outcome)
    }

    /// Appends received batches in one transaction, and says what each session is told
    /// about each; a refusal of any entry refuses its batch (nothing of the refused entry is
    /// stored; entries before it are valid and kept) and ends the run there.
    private func append(_ batches: [LedgerStore.CheckedBatch]) async throws -> [SyncSession.AppendResult] {
        let outcomes = try await store.append(batches, physicalMilliseconds: clock())
        let vector = try store.versionVector()
        let results = outcomes.map { AppendMapping.result($0, vector: vector) }
        for (outcomes, result) in zip(outcomes, results) {
            switch result {
            case .stored:
                break
            case let .heldBack(origin, _):
                // A conflict found here is a new proof: every peer must hear of it (the first
                // per origin in this batch is enough to flag it from there on).
                var told: Set<String> = []
                for case let .refused(.conflict(origin, seq)) in outcomes where told.insert(origin).inserted {
                    logger.error("equivocation: origin signed two entries at one seq; proof kept, origin held back",
                                 metadata: ["entry.origin": "\(origin)", "entry.seq": "\(seq)"])
                    if let proof = try store.equivocation(origin: origin, seq: seq) { hub.publishEquivocation(proof.entries) }
                }
                if told.isEmpty { logger.debug("entries held back", metadata: ["entry.origin": "\(origin)"]) }
            case let .refused(code, detail):
                logger.warning("refused entry", metadata: ["reason": "\(code)", "detail": "\(detail)"])
            }
        }
        hub.publish(vector)
        return results
    }
}
