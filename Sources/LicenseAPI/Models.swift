import Foundation
import LicenseCore

// The JSON documents of the admin API (docs/API.md). Keys are snake_case and stable:
// scripts rely on them. Both the daemon and licensectl use these types, so the two
// cannot drift apart.

/// `{"error": {"code": "...", "message": "..."}}`, the body of every error response.
public struct ErrorDocument: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public let code: String
        public let message: String
    }

    public let error: Detail

    public init(code: String, message: String) {
        error = Detail(code: code, message: message)
    }
}

public struct IssuerDocument: Codable, Sendable, Equatable {
    public let node: String
    public let province: String
    public let provinceName: String
    public let keyID: String

    enum CodingKeys: String, CodingKey {
        case node, province
        case provinceName = "province_name"
        case keyID = "key_id"
    }
}

/// A license as the API shows it. `status` is the effective status today (expiry
/// applied); `recorded_status` is what the events say.
public struct LicenseDocument: Codable, Sendable, Equatable {
    public let id: String
    public let type: String
    public let typeName: String
    public let status: String
    public let recordedStatus: String
    public let statusReason: String
    public let issuer: IssuerDocument
    public let holder: String
    public let attributes: [String: String]
    public let validFrom: String
    public let validUntil: String?
    public let issuedAt: String
    public let updatedAt: String
    public let events: Int

    enum CodingKeys: String, CodingKey {
        case id, type, status, issuer, holder, attributes, events
        case typeName = "type_name"
        case recordedStatus = "recorded_status"
        case statusReason = "status_reason"
        case validFrom = "valid_from"
        case validUntil = "valid_until"
        case issuedAt = "issued_at"
        case updatedAt = "updated_at"
    }

    public init(_ state: LicenseState, catalog: Catalog, today: CivilDate) {
        id = state.id.text
        type = state.licenseType
        typeName = catalog[state.licenseType].map { "\($0.nameZH) / \($0.nameEN)" } ?? state.licenseType
        status = state.effectiveStatus(today: today).rawValue
        recordedStatus = state.status.rawValue
        statusReason = state.statusReason
        issuer = IssuerDocument(node: state.issuerOrigin, province: state.province,
                                provinceName: Province.byCode[state.province]?.nameZH ?? state.province,
                                keyID: state.issuerKeyID)
        holder = state.holderMasked
        attributes = state.attributes
        validFrom = state.validFrom.description
        validUntil = state.validUntil?.description
        issuedAt = Timestamps.iso8601(state.issuedAt)
        updatedAt = Timestamps.iso8601(state.updatedAt)
        events = state.eventCount
    }
}

public struct IssueRequest: Codable, Sendable, Equatable {
    public var type: String
    public var holder: String
    public var attributes: [String: String]?
    public var validFrom: String?
    public var validUntil: String?

    enum CodingKeys: String, CodingKey {
        case type, holder, attributes
        case validFrom = "valid_from"
        case validUntil = "valid_until"
    }

    public init(type: String, holder: String, attributes: [String: String]?, validFrom: String?, validUntil: String?) {
        self.type = type
        self.holder = holder
        self.attributes = attributes
        self.validFrom = validFrom
        self.validUntil = validUntil
    }
}

public struct AmendRequest: Codable, Sendable, Equatable {
    public var set: [String: String]?
    public var remove: [String]?
    public var reason: String?

    public init(set: [String: String]?, remove: [String]?, reason: String?) {
        self.set = set
        self.remove = remove
        self.reason = reason
    }
}

public struct RenewRequest: Codable, Sendable, Equatable {
    public var validUntil: String
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case validUntil = "valid_until"
        case reason
    }

    public init(validUntil: String, reason: String?) {
        self.validUntil = validUntil
        self.reason = reason
    }
}

/// Body of suspend, reinstate and revoke.
public struct ReasonRequest: Codable, Sendable, Equatable {
    public var reason: String?

    public init(reason: String?) {
        self.reason = reason
    }
}

/// A holder lookup. The ID number travels in the body, never in a URL, so that it
/// reaches no access log.
public struct HolderLookupRequest: Codable, Sendable, Equatable {
    public var holder: String
    public var purpose: String
    /// With true, every license comes with this node's recognition decision.
    public var recognize: Bool?

    public init(holder: String, purpose: String, recognize: Bool? = nil) {
        self.holder = holder
        self.purpose = purpose
        self.recognize = recognize
    }
}

public struct HolderLookupResponse: Codable, Sendable, Equatable {
    public let holder: String
    public let licenses: [LicenseDocument]
    /// With `recognize`, one decision per license, in the same order.
    public let recognitions: [RecognitionDocument]?

    public init(holder: String, licenses: [LicenseDocument], recognitions: [RecognitionDocument]? = nil) {
        self.holder = holder
        self.licenses = licenses
        self.recognitions = recognitions
    }
}

public struct StatusDocument: Codable, Sendable, Equatable {
    public let nodeID: String
    public let province: String
    public let provinceName: String
    public let keyID: String
    public let rootKeyID: String
    public let entries: UInt64
    public let versionVector: [String: UInt64]
    public let ledgerDigest: String
    public let catalogVersion: Int
    public let startedAt: String
    public let peers: [PeerDocument]
    public let equivocations: [EquivocationDocument]
    /// Digest of every license state and conflict: equal on nodes holding the same entries.
    public let stateDigest: String?
    /// Conflicts between concurrent events (docs/CONFLICTS.md).
    public let conflicts: [ConflictDocument]?
    /// Sessions this node ended because of what the peer sent, newest first (at most 50).
    public let recentRefusals: [RefusalDocument]?

    enum CodingKeys: String, CodingKey {
        case province, entries, equivocations
        case recentRefusals = "recent_refusals"
        case stateDigest = "state_digest"
        case conflicts
        case nodeID = "node_id"
        case provinceName = "province_name"
        case keyID = "key_id"
        case rootKeyID = "root_key_id"
        case versionVector = "version_vector"
        case ledgerDigest = "ledger_digest"
        case catalogVersion = "catalog_version"
        case startedAt = "started_at"
        case peers
    }

    public init(nodeID: String, province: String, keyID: String, rootKeyID: String, entries: UInt64,
                versionVector: VersionVector,
                ledgerDigest: String, catalogVersion: Int, startedAt: String, peers: [PeerDocument],
                equivocations: [EquivocationDocument], recentRefusals: [RefusalDocument]? = nil,
                stateDigest: String? = nil, conflicts: [ConflictDocument]? = nil) {
        self.nodeID = nodeID
        self.province = province
        self.provinceName = Province.byCode[province]?.nameZH ?? province
        self.keyID = keyID
        self.rootKeyID = rootKeyID
        self.entries = entries
        self.versionVector = versionVector.seqs
        self.ledgerDigest = ledgerDigest
        self.catalogVersion = catalogVersion
        self.startedAt = startedAt
        self.peers = peers
        self.equivocations = equivocations
        self.recentRefusals = recentRefusals
        self.stateDigest = stateDigest
        self.conflicts = conflicts
    }
}

public struct RefusalDocument: Codable, Sendable, Equatable {
    public let at: String
    public let peer: String
    public let code: String
    public let detail: String

    public init(at: String, peer: String, code: String, detail: String) {
        self.at = at
        self.peer = peer
        self.code = code
        self.detail = detail
    }
}

/// One peer as `licensectl peers` and `status` show it.
public struct PeerDocument: Codable, Sendable, Equatable {
    public let nodeID: String
    public let connected: Bool
    public let since: String
    public let sessions: Int
    public let versionVector: [String: UInt64]
    /// Per origin, how many of this node's entries the peer lacks.
    public let lag: [String: UInt64]
    public let entriesIn: UInt64
    public let entriesOut: UInt64
    public let bytesIn: UInt64
    public let bytesOut: UInt64
    public let lastError: String?

    enum CodingKeys: String, CodingKey {
        case connected, since, sessions, lag
        case nodeID = "node_id"
        case versionVector = "version_vector"
        case entriesIn = "entries_in"
        case entriesOut = "entries_out"
        case bytesIn = "bytes_in"
        case bytesOut = "bytes_out"
        case lastError = "last_error"
    }

    public init(nodeID: String, connected: Bool, sinceMilliseconds: UInt64, sessions: Int, versionVector: [String: UInt64],
                lag: [String: UInt64], entriesIn: UInt64, entriesOut: UInt64, bytesIn: UInt64, bytesOut: UInt64,
                lastError: String?) {
        self.nodeID = nodeID
        self.connected = connected
        self.since = Timestamps.iso8601(milliseconds: Int64(clamping: sinceMilliseconds))
        self.sessions = sessions
        self.versionVector = versionVector
        self.lag = lag
        self.entriesIn = entriesIn
        self.entriesOut = entriesOut
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.lastError = lastError
    }
}

/// An origin that signed two different entries at one seq, with where it forked.
public struct EquivocationDocument: Codable, Sendable, Equatable {
    public let origin: String
    public let seq: UInt64
    public let heldEntry: String
    public let otherEntry: String
    public let detectedAt: String

    enum CodingKeys: String, CodingKey {
        case origin, seq
        case heldEntry = "held_entry"
        case otherEntry = "other_entry"
        case detectedAt = "detected_at"
    }

    public init(origin: String, seq: UInt64, heldEntry: String, otherEntry: String, detectedAt: String) {
        self.origin = origin
        self.seq = seq
        self.heldEntry = heldEntry
        self.otherEntry = otherEntry
        self.detectedAt = detectedAt
    }
}

public struct PeersDocument: Codable, Sendable, Equatable {
    public let peers: [PeerDocument]

    public init(peers: [PeerDocument]) {
        self.peers = peers
    }
}

public struct CatalogDocument: Codable, Sendable, Equatable {
    public let version: Int
    public let types: [LicenseType]

    public init(_ catalog: Catalog) {
        version = catalog.version
        types = catalog.types
    }
}

public struct AuditDocument: Codable, Sendable, Equatable {
    public struct Record: Codable, Sendable, Equatable {
        public let at: String
        public let actor: String
        public let action: String
        public let holderRef: String?
        public let licenseID: String?
        public let purpose: String

        enum CodingKeys: String, CodingKey {
            case at, actor, action, purpose
            case holderRef = "holder_ref"
            case licenseID = "license_id"
        }

        public init(at: String, actor: String, action: String, holderRef: String?, licenseID: String?, purpose: String) {
            self.at = at
            self.actor = actor
            self.action = action
            self.holderRef = holderRef
            self.licenseID = licenseID
            self.purpose = purpose
        }
    }

    public let records: [Record]

    public init(records: [Record]) {
        self.records = records
    }
}

public enum Timestamps {
    /// RFC 3339 UTC with milliseconds, from a hybrid timestamp's wall clock.
    public static func iso8601(_ hlc: HybridTimestamp) -> String {
        iso8601(milliseconds: Int64(hlc.wallMilliseconds))
    }

    public static func iso8601(milliseconds: Int64) -> String {
        let date = CivilDate(unixMilliseconds: milliseconds, offsetSeconds: 0)
        let msOfDay = ((milliseconds % 86_400_000) + 86_400_000) % 86_400_000
        let h = msOfDay / 3_600_000, m = msOfDay / 60_000 % 60, s = msOfDay / 1000 % 60, ms = msOfDay % 1000
        func pad(_ v: Int64, _ w: Int) -> String {
            let t = String(v)
            return String(repeating: "0", count: max(0, w - t.count)) + t
        }
        return "\(date)T\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)).\(pad(ms, 3))Z"
    }
}

/// One encoder configuration for every JSON the project prints: sorted keys, so output
/// is stable between runs and processes.
public enum JSON {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// `GET /readyz`: whether the node can serve (its ledger reads; a networked node has at
/// least one peer connected), and if not, why.
public struct ReadinessDocument: Codable, Sendable, Equatable {
    public let status: String
    public let reason: String?
    public let peersConnected: Int

    enum CodingKeys: String, CodingKey {
        case status, reason
        case peersConnected = "peers_connected"
    }

    public init(ready: Bool, reason: String?, peersConnected: Int) {
        status = ready ? "ready" : "not_ready"
        self.reason = reason
        self.peersConnected = peersConnected
    }
}

/// Catch-up progress as `licensectl status --watch` shows it, from two status readings.
public struct CatchUpProgress: Sendable, Equatable {
    /// Entries the node's peers are known to hold that it does not (per origin, the
    /// furthest peer's seq beyond its own, summed).
    public let behind: UInt64
    /// Entries gained per second between the two readings.
    public let entriesPerSecond: Double
    /// Seconds left at that rate; nil when nothing is left or nothing moved.
    public let secondsLeft: Double?

    public init(previous: StatusDocument?, current: StatusDocument, secondsBetween: Double) {
        var behind: UInt64 = 0
        var origins = Set(current.versionVector.keys)
        for peer in current.peers { origins.formUnion(peer.versionVector.keys) }
        for origin in origins {
            let furthest = current.peers.map { $0.versionVector[origin] ?? 0 }.max() ?? 0
            let own = current.versionVector[origin] ?? 0
            if furthest > own { behind += furthest - own }
        }
        self.behind = behind
        if let previous, secondsBetween > 0, current.entries >= previous.entries {
            entriesPerSecond = Double(current.entries - previous.entries) / secondsBetween
        } else {
            entriesPerSecond = 0
        }
        secondsLeft = behind > 0 && entriesPerSecond > 0 ? Double(behind) / entriesPerSecond : nil
    }

    /// "caught up", or "catching up: N entries behind at R/s, about T left".
    public var summary: String {
        guard behind > 0 else { return "caught up" }
        var text = "catching up: \(behind) entries behind"
        if entriesPerSecond > 0 { text += String(format: " at %.0f entries/s", entriesPerSecond) }
        if let secondsLeft {
            let seconds = Int(secondsLeft.rounded(.up))
            text += seconds >= 60 ? ", about \(seconds / 60) min \(seconds % 60) s left" : ", about \(seconds) s left"
        }
        return text
    }
}
