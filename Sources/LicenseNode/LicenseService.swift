import LicenseAPI
import LicenseCore
import LicenseStore
import LicenseTransport
import Synchronization

/// The node's operations on licenses, independent of HTTP: what the admin API and the
/// benchmark call. Validates, writes through the group-commit writer, audits lookups.
public final class LicenseService: Sendable {
    public let store: LedgerStore
    public let material: DataDirectory.Material
    public let catalog: Catalog
    public let clock: any NodeClock
    public let writer: LedgerWriter
    /// Announces new local entries to the gossip sessions.
    public let hub: VectorHub
    /// What the gossip sessions report about each peer (empty for a standalone node).
    public let peerBoard = PeerBoard()
    public let startedAtMilliseconds: UInt64
    /// Prometheus metrics, served at `GET /metrics`.
    public let metrics = NodeMetrics()
    /// Set when the node runs with peers (a configured node): then it is ready only while
    /// at least one peer is connected.
    private let networked = Mutex(false)

    public func markNetworked() { networked.withLock { $0 = true } }

    /// Whether the node can serve: its ledger reads, and, for a networked node, at least
    /// one peer is connected. `reason` says what is missing.
    public func readiness() -> (ready: Bool, reason: String?, peersConnected: Int) {
        let connected = peerBoard.snapshot().filter(\.connected).count
        do {
            _ = try store.versionVector()
        } catch {
            return (false, "the ledger cannot be read: \(error)", connected)
        }
        if networked.withLock({ $0 }) && connected == 0 { return (false, "no peer is connected", 0) }
        return (true, nil, connected)
    }

    /// The audit purpose is free text but bounded.
    public static let purposeBytesMax = 200

    public init(store: LedgerStore, material: DataDirectory.Material, catalog: Catalog, clock: any NodeClock) {
        self.store = store
        self.material = material
        self.catalog = catalog
        self.clock = clock
        let hub = VectorHub()
        self.hub = hub
        self.writer = LedgerWriter(store: store, signer: material.signer, catalog: catalog, clock: clock) {
            if let vector = try? store.versionVector() { hub.publish(vector) }
        }
        self.startedAtMilliseconds = clock.nowMilliseconds()
        let metrics = self.metrics
        peerBoard.observe { metrics.record($0) }
    }

    public func issue(_ request: IssueRequest) async throws(ServiceError) -> LicenseState {
        let event: LicenseEvent.Issue
        do {
            event = try LicenseAuthoring.issue(
                type: request.type, holder: request.holder, attributes: request.attributes ?? [:],
                validFrom: request.validFrom, validUntil: request.validUntil, province: material.identity.province,
                catalog: catalog, holderKey: material.holderKey, today: clock.today())
        } catch {
            throw .request(error)
        }
        return try await write(.issue(event))
    }

    public func amend(_ id: String, _ request: AmendRequest) async throws(ServiceError) -> LicenseState {
        try await write(.amend(LicenseEvent.Amend(licenseID: try licenseID(id), set: request.set ?? [:],
                                                  remove: request.remove ?? [], reason: request.reason ?? "")))
    }

    public func renew(_ id: String, _ request: RenewRequest) async throws(ServiceError) -> LicenseState {
        guard let until = CivilDate(iso: request.validUntil) else {
            throw .request(.invalid(.badDate(field: "valid_until", value: request.validUntil)))
        }
        return try await write(.renew(LicenseEvent.Renew(licenseID: try licenseID(id), validUntil: until,
                                                         reason: request.reason ?? "")))
    }

    public enum StatusAction: String, Sendable { case suspend, reinstate, revoke }

    public func change(_ action: StatusAction, _ id: String, reason: String?) async throws(ServiceError) -> LicenseState {
        let change = LicenseEvent.StatusChange(licenseID: try licenseID(id), reason: reason ?? "")
        return switch action {
        case .suspend: try await write(.suspend(change))
        case .reinstate: try await write(.reinstate(change))
        case .revoke: try await write(.revoke(change))
        }
    }

    public func license(_ id: String) throws(ServiceError) -> LicenseState {
        let licenseID = try licenseID(id)
        guard let state = try storeCall({ () throws(StoreError) in try store.license(licenseID) }) else {
            throw .request(.rejected(.unknownLicense(licenseID)))
        }
        return state
    }

    /// All licenses of a citizen, by ID number. Recorded in the audit log (who, when,
    /// holder ref, purpose) before anything is read.
    public func lookup(holder: String, purpose: String, by principal: Principal)
        async throws(ServiceError) -> (masked: String, licenses: [LicenseState])
    {
        let id: ResidentID
        do {
            id = try ResidentID(holder, today: clock.today())
        } catch {
            throw .request(.invalidHolder(error))
        }
        let purpose = purpose.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !purpose.isEmpty else { throw .badRequest(code: "purpose_required", message: "a holder lookup requires a purpose") }
        guard purpose.utf8.count <= Self.purposeBytesMax else {
            throw .badRequest(code: "text_too_long", message: "purpose is longer than \(Self.purposeBytesMax) bytes")
        }
        guard !ResidentID.appears(in: purpose) else {
            throw .request(.invalid(.containsIDNumber(field: "purpose")))
        }
        let ref = HolderRef(id: id, key: material.holderKey)
        let record = AuditRecord(atMilliseconds: Int64(clock.nowMilliseconds()), actor: principal.name,
                                 action: "holder_lookup", holderRef: ref, licenseID: nil, purpose: purpose)
        do {
            try await store.recordAudit(record)
        } catch {
            throw .store(error)
        }
        let licenses = try storeCall { () throws(StoreError) in try store.licenses(holder: ref) }
        return (id.masked, licenses)
    }

    public func status() throws(ServiceError) -> StatusDocument {
        try storeCall { () throws(StoreError) in
            let vv = try store.versionVector()
            return StatusDocument(
                nodeID: material.identity.nodeID, province: material.identity.province, keyID: material.signer.keyID,
                rootKeyID: RootKeyID.derive(material.root), entries: vv.total, versionVector: vv, ledgerDigest: try store.ledgerDigest(),
                catalogVersion: catalog.version,
                startedAt: Timestamps.iso8601(milliseconds: Int64(startedAtMilliseconds)), peers: peers(local: vv),
                equivocations: try store.equivocations().map {
                    EquivocationDocument(origin: $0.origin, seq: $0.seq, heldEntry: $0.held.id.description,
                                         otherEntry: $0.other.id.description,
                                         detectedAt: Timestamps.iso8601(milliseconds: $0.detectedMilliseconds))
                })
        }
    }

    public func peers() throws(ServiceError) -> [PeerDocument] {
        peers(local: try storeCall { () throws(StoreError) in try store.versionVector() })
    }

    private func peers(local: VersionVector) -> [PeerDocument] {
        peerBoard.snapshot().map { peer in
            PeerDocument(nodeID: peer.nodeID, connected: peer.connected, sinceMilliseconds: peer.sinceMilliseconds,
                         sessions: peer.sessions, versionVector: peer.peerVector, lag: peer.lag(behind: local),
                         entriesIn: peer.entriesIn, entriesOut: peer.entriesOut, bytesIn: peer.bytesIn,
                         bytesOut: peer.bytesOut, lastError: peer.lastError)
        }
    }

    public func auditLog(limit: Int) throws(ServiceError) -> [AuditRecord] {
        try storeCall { () throws(StoreError) in try store.auditLog(limit: limit) }
    }

    // MARK: -

    private func write(_ event: LicenseEvent) async throws(ServiceError) -> LicenseState {
        let outcome: LedgerWriter.Outcome
        do {
            outcome = try await writer.write(event)
        } catch {
            throw .store(error)
        }
        switch outcome {
        case let .success(authored): return authored.state
        case let .failure(error): throw .request(error)
        }
    }

    private func licenseID(_ text: String) throws(ServiceError) -> LicenseID {
        guard let id = LicenseID(text) else {
            throw .badRequest(code: "invalid_license_id", message: "license id '\(text.prefix(80))' is not <origin>-<seq>-<8 hex digits>, e.g. gd-1042-5a4e4542")
        }
        return id
    }

    private func storeCall<T>(_ work: () throws(StoreError) -> T) throws(ServiceError) -> T {
        do {
            return try work()
        } catch {
            throw .store(error)
        }
    }
}

/// Why an operation was refused.
public enum ServiceError: Error, CustomStringConvertible {
    case request(LicenseRequestError)
    case badRequest(code: String, message: String)
    case store(StoreError)

    public var description: String {
        switch self {
        case let .request(e): e.description
        case let .badRequest(_, message): message
        case let .store(e): e.description
        }
    }
}

import Foundation
