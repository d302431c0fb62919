import Foundation
import LicenseCore
import LicenseStore
import LicenseSync
import LicenseTransport

/// A node for sync tests: a real LedgerStore in a temporary directory, trusting every
/// test node's issuer key.
final class TestNode: @unchecked Sendable {
    let name: String
    let province: String
    let signer: IssuerSigner
    let store: LedgerStore

    static let catalog = try! Catalog.bundled()
    static let holderKey = try! HolderKey(bytes: Array(64...95))
    static let today = CivilDate(year: 2026, month: 3, day: 1)!
    static let now: UInt64 = 1_772_323_200_000

    init(_ name: String, province: String, directory: URL, trusting others: [IssuerSigner] = []) throws {
        self.name = name
        self.province = province
        let seed = Array(Sodium.blake2b256(Array(name.utf8)))
        signer = IssuerSigner(origin: name, key: try SigningKey(seed: seed))
        store = try LedgerStore(path: directory.appendingPathComponent("\(name).sqlite").path,
                                identity: LedgerStore.Identity(nodeID: name, province: province))
        for s in [signer] + others {
            try store.registerIssuerKey(keyID: s.keyID, origin: s.origin, publicKey: s.key.publicKey)
        }
    }

    func trust(_ other: TestNode) throws {
        try store.registerIssuerKey(keyID: other.signer.keyID, origin: other.signer.origin, publicKey: other.signer.key.publicKey)
    }

    /// Issues `count` residence permits, holders numbered from `first`.
    func issue(_ count: Int, first: Int = 0) async throws {
        let events: [LicenseEvent] = (first..<first + count).map { n in
            let digits = "44030419900307" + String(format: "%03d", n % 1000)
            let number = digits + String(UnicodeScalar(ResidentID.checkCharacter(for: Array(digits.utf8)[...])))
            let id = try! ResidentID(number, today: Self.today)
            return .issue(.init(licenseType: "residence_permit", province: province,
                                holderRef: HolderRef(id: id, key: Self.holderKey), holderMasked: id.masked,
                                attributes: ["city": name, "address": "No. \(n)"], validFrom: Self.today, validUntil: nil))
        }
        let results = try await store.author(events, signer: signer, catalog: Self.catalog,
                                             physicalMilliseconds: Self.now, today: Self.today)
        precondition(results.allSatisfy { if case .success = $0 { true } else { false } })
    }

    func configuration(expecting peer: String? = nil) -> SyncSession.Configuration {
        var c = SyncSession.Configuration(nodeID: name, province: province, expectedPeer: peer)
        c.batchEntriesMax = 16
        c.batchesInFlightMax = 3
        return c
    }
}

/// Drives two sessions over an in-memory connection until neither has anything left to
/// do: every frame goes through the real codec, every read and append through the real
/// stores. Bounded; records what a test asserts on.
struct SyncHarness {
    struct Outcome {
        var dialer: SyncSession
        var acceptor: SyncSession
        var framesSent: [String: [SyncFrame]] = [:]
        /// What each side's store made of the equivocation evidence it received.
        var evidence: [String: [LedgerStore.EvidenceOutcome]] = [:]
        var maxInFlight = 0
        var steps = 0
    }

    enum Side { case dialer, acceptor }

    static let stepsMax = 100_000

    /// `tamper` may rewrite a frame on its way from the named side.
    static func run(dialer: TestNode, dialerSession: SyncSession? = nil, acceptor: TestNode,
                    acceptorSession: SyncSession? = nil,
                    tamper: (@Sendable (Side, SyncFrame) -> SyncFrame)? = nil) async throws -> Outcome {
        var outcome = Outcome(
            dialer: dialerSession ?? SyncSession(role: .dialer, configuration: dialer.configuration()),
            acceptor: acceptorSession ?? SyncSession(role: .acceptor, configuration: acceptor.configuration()))
        let acceptorHeads = try acceptor.store.heads(), dialerHeads = try dialer.store.heads()
        var queue: [(Side, SyncSession.Event)] = [
            (.acceptor, .connected(vector: acceptorHeads.vector, heads: acceptorHeads.ids, nowMilliseconds: TestNode.now)),
            (.dialer, .connected(vector: dialerHeads.vector, heads: dialerHeads.ids, nowMilliseconds: TestNode.now)),
        ]
        var decoders: [String: FrameDecoder] = ["dialer": FrameDecoder(), "acceptor": FrameDecoder()]
        while !queue.isEmpty {
            outcome.steps += 1
            precondition(outcome.steps < stepsMax, "sync did not settle")
            let (side, event) = queue.removeFirst()
            let node = side == .dialer ? dialer : acceptor
            let other: Side = side == .dialer ? .acceptor : .dialer
            let actions = side == .dialer ? outcome.dialer.handle(event) : outcome.acceptor.handle(event)
            outcome.maxInFlight = max(outcome.maxInFlight, outcome.dialer.batchesInFlight, outcome.acceptor.batchesInFlight)
            for action in actions {
                switch action {
                case let .send(frame):
                    let sent = tamper?(side, frame) ?? frame
                    outcome.framesSent[side == .dialer ? "dialer" : "acceptor", default: []].append(sent)
                    let key = other == .dialer ? "dialer" : "acceptor"
                    decoders[key]!.append(FrameCodec.encode(sent))
                    while let decoded = try decoders[key]!.next() {
                        queue.append((other, .received(decoded, nowMilliseconds: TestNode.now)))
                    }
                case let .readEntries(origin, after, limit, bytesMax):
                    let entries = try node.store.storedEntries(origin: origin, after: after, limit: limit, bytesMax: bytesMax)
                    queue.append((side, .entriesRead(origin: origin, entries)))
                case let .append(batches):
                    // As the daemon does: the batches' signatures first, then one transaction.
                    var checked: [LedgerStore.CheckedBatch] = []
                    for batch in batches { checked.append(try await node.store.checkSignatures(batch.entries)) }
                    let outcomes = try await node.store.append(checked, physicalMilliseconds: TestNode.now)
                    let vector = try node.store.versionVector()
                    for (batch, outcomes) in zip(batches, outcomes) {
                        queue.append((side, .appended(batch: batch.number, AppendMapping.result(outcomes, vector: vector))))
                    }
                case let .compareHeads(vector, heads):
                    queue.append((side, .headsCompared(divergent: try node.store.divergentEntries(vector, heads: heads))))
                case let .checkEvidence(entries):
                    let checked = try await node.store.recordEvidence(entries, physicalMilliseconds: TestNode.now)
                    outcome.evidence[side == .dialer ? "dialer" : "acceptor", default: []].append(checked)
                    queue.append((side, .evidenceChecked(AppendMapping.result(checked))))
                case .established, .storeTrust, .checkSignatures:
                    break
                case .close:
                    // The transport closes after what was sent before; a closed session
                    // ignores whatever still arrives.
                    break
                }
            }
        }
        return outcome
    }
}
