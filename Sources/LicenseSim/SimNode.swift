import Foundation
@_spi(Testing) import LicenseCore
import LicenseStore
@_spi(Testing) import LicenseSync
import Synchronization

/// One simulated node. Its ledger survives a crash (the file is reopened) unless the disk
/// is wiped or rolled back; its sessions do not.
final class SimNode {
    let index: Int
    let id: String
    let province: String
    let signer: IssuerSigner
    let directory: String
    var store: LedgerStore!
    /// The liar's second machine, writing with the same key, and the links it serves.
    var twin: LedgerStore?
    var twinLinks: Set<Int> = []
    /// Bumped by a wipe or a rollback: the ledger lives in a new file.
    var incarnation = 0
    var up = true
    var pausedUntil: UInt64 = 0
    var clockOffset: Int64 = 0
    var ticks = 0
    /// Wiped or rolled back: the node writes nothing until it has heard from every peer
    /// (its entries reached the network through them) and holds again every entry of its
    /// own that they hold, or it would sign new entries at seqs it already used.
    var recovering = false
    /// Links whose peer has sent its vector since the node came back, and the most of the
    /// node's own entries any of them showed.
    var heardOn: Set<Int> = []
    var ownSeen: UInt64 = 0
    /// A backup taken early in the run, for a rollback.
    var backup: String?
    /// The highest vector each ledger acknowledged: it must never go down.
    var acknowledged = VersionVector()
    var twinAcknowledged = VersionVector()
    /// The hybrid clock of the last entry each ledger wrote: it must go up.
    var lastWritten: HybridTimestamp?
    var twinLastWritten: HybridTimestamp?

    init(index: Int, id: String, province: String, signer: IssuerSigner, directory: String) {
        self.index = index
        self.id = id
        self.province = province
        self.signer = signer
        self.directory = directory
    }

    var ledgerPath: String { directory + "/\(id).\(incarnation).sqlite" }

    func close() {
        store = nil
        twin = nil
    }
}

/// A link between two nodes; `a` < `b` dials. Each connection has an epoch: frames of an
/// older connection are dropped when they arrive.
struct Link {
    let a: Int
    let b: Int
    var epoch = 0
    var connected = false
    var cut = false
    /// Per direction (0: a → b, 1: b → a): until when frames sent that way are held up,
    /// the connection staying open (an asymmetric partition).
    var deafUntil: [UInt64] = [0, 0]
    var dialer: SyncSession?
    var acceptor: SyncSession?
    /// Cut by a scripted fault: only the heal mends it.
    var pinned = false
    /// Per direction, when the last frame is delivered.
    var lastDelivery: [UInt64] = [0, 0]
    /// Per direction, the frames sent and not delivered yet, in the order the receiver
    /// reads them: each delivery event takes the first, so a frame held up (a pause, a
    /// one-way partition) holds up the ones behind it, as TCP does.
    var inbox: [[FrameInFlight]] = [[], []]
    /// Both sides established (Hello and vector exchanged) on this connection.
    var established = [false, false]

    init(a: Int, b: Int) {
        self.a = a
        self.b = b
    }

    func session(atB: Bool) -> SyncSession? { atB ? acceptor : dialer }
}

/// A frame on the wire, one per send. The real codec encodes it and a fresh decoder decodes
/// the bytes again, as the receiver's decoder would (each send is whole frames, so a
/// receiver's decoder holds nothing between deliveries), on the codec thread while the
/// simulation goes on. The delivery takes the outcome, waiting for it if need be: it is a
/// function of the frame alone, so it is the same whenever it is computed.
final class FrameInFlight: Sendable {
    enum Outcome {
        case frame(SyncFrame)
        /// The decoder needs more bytes than the frame has (never, for a whole frame).
        case incomplete
        case undecodable(SyncError)
    }

    private let ready = DispatchSemaphore(value: 0)
    private let outcome = Mutex<Outcome?>(nil)

    init(_ frame: SyncFrame, decodedEntries: EntryMemo, on codec: DispatchQueue) {
        codec.async {
            var decoder = FrameDecoder(entryMemo: decodedEntries)
            decoder.append(FrameCodec.encode(frame))
            let decoded: Outcome
            do throws(SyncError) {
                decoded = try decoder.next().map(Outcome.frame) ?? .incomplete
            } catch {
                decoded = .undecodable(error)
            }
            self.outcome.withLock { $0 = decoded }
            self.ready.signal()
        }
    }

    /// What the receiver decodes; a duplicated frame is delivered, and asked, twice.
    var received: Outcome {
        ready.wait()
        ready.signal()
        return outcome.withLock { $0! }
    }
}
