/// Why a sync session ends. `code` goes into the ErrorReport frame sent to the peer;
/// `description` into the log and `licensectl peers`.
public enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedFrame(String)
    case frameTooLarge(bytes: Int, limit: Int)
    case expectedHello(got: String)
    case unexpectedHello
    case unsupportedProtocol(UInt32)
    case wrongPeer(expected: String, got: String)
    case selfConnection
    case unlistedPeer(String)
    /// Two sessions with one peer: the one dialed by the node with the smaller id is kept.
    case duplicateSession(peer: String)
    case batchTooLarge(entries: Int, limit: Int)
    case tooManyBatchesInFlight(limit: Int)
    case batchNotConsecutive(String)
    case refusedEntry(code: String, detail: String)
    case unknownBatchAcknowledged(UInt64)
    case idleTimeout(milliseconds: UInt64)
    /// The peer does not read what this node sends: more than the limit waits to be written.
    case peerNotReading(queuedBytes: Int)
    case peerReported(code: String, message: String)
    case closedByLocalNode

    public var code: String {
        switch self {
        case .malformedFrame: "malformed_frame"
        case .frameTooLarge: "frame_too_large"
        case .expectedHello: "expected_hello"
        case .unexpectedHello: "unexpected_hello"
        case .unsupportedProtocol: "unsupported_protocol"
        case .wrongPeer: "wrong_peer"
        case .selfConnection: "self_connection"
        case .unlistedPeer: "unlisted_peer"
        case .duplicateSession: "duplicate_session"
        case .batchTooLarge: "batch_too_large"
        case .tooManyBatchesInFlight: "too_many_batches_in_flight"
        case .batchNotConsecutive: "batch_not_consecutive"
        case let .refusedEntry(code, _): code
        case .unknownBatchAcknowledged: "unknown_batch"
        case .idleTimeout: "idle_timeout"
        case .peerNotReading: "peer_not_reading"
        case let .peerReported(code, _): "peer_" + code
        case .closedByLocalNode: "closed"
        }
    }

    public var description: String {
        switch self {
        case let .malformedFrame(detail): "malformed frame: \(detail)"
        case let .frameTooLarge(bytes, limit): "frame of \(bytes) bytes exceeds the limit of \(limit)"
        case let .expectedHello(got): "expected a hello frame first, got \(got)"
        case .unexpectedHello: "a second hello frame"
        case let .unsupportedProtocol(version): "protocol version \(version) is not supported (1 is)"
        case let .wrongPeer(expected, got): "peer says it is '\(got)', expected '\(expected)'"
        case .selfConnection: "connected to itself"
        case let .unlistedPeer(id): "node '\(id)' is not in this node's peer list"
        case let .duplicateSession(peer): "another session with '\(peer)' is kept (the one dialed by the node with the smaller id)"
        case let .batchTooLarge(entries, limit): "batch of \(entries) entries exceeds the agreed \(limit)"
        case let .tooManyBatchesInFlight(limit): "more than \(limit) unacknowledged batches"
        case let .batchNotConsecutive(detail): "batch is not one origin's consecutive entries: \(detail)"
        case let .refusedEntry(_, detail): "refused entry: \(detail)"
        case let .unknownBatchAcknowledged(batch): "acknowledgement of batch \(batch), which was not sent"
        case let .idleTimeout(ms): "nothing received for \(ms) ms"
        case let .peerNotReading(bytes): "the peer does not read: \(bytes) bytes wait to be written"
        case let .peerReported(code, message): "peer closed the session: \(message) [\(code)]"
        case .closedByLocalNode: "closed by this node"
        }
    }
}
