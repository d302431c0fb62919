import LicenseCore
import LicenseStore
import LicenseTransport
import Prometheus
import Synchronization

/// The node's metrics in Prometheus text format (`GET /metrics`). Counters and the latency
/// histogram are fed as things happen; the ledger's and the peers' figures are read when
/// scraped. Labels carry node ids, origins, reason codes, routes and status codes only:
/// never an ID number, attribute, key or token.
public final class NodeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    /// `lx_<name>_<unit>`, with its help text.
    private static func named(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "lx", metricName: name, unitName: unit, helpText: help)
    }
    private let receivedEntries: Counter
    private let appendLatency: DurationHistogram
    /// One counter per answer, made once: a decision is too cheap to look its counter up.
    private let decisions: [RecognitionDecision: Counter]

    init() {
        receivedEntries = registry.makeCounter(descriptor: Self.named("sync_entries_received", "total",
                                                             "Entries received from peers, checked and appended (or found held)"))
        appendLatency = registry.makeDurationHistogram(
            descriptor: Self.named("sync_batch_append", "seconds", "Time to verify and durably append one received batch, or the batches appended together with it"),
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)])
        var decisions: [RecognitionDecision: Counter] = [:]
        for decision in [RecognitionDecision.recognized, .notRecognized, .undetermined] {
            decisions[decision] = registry.makeCounter(
                descriptor: Self.named("recognition_decisions", "total", "Recognition decisions made, by decision"),
                labels: [("decision", decision.rawValue)])
        }
        self.decisions = decisions
    }

    func record(_ event: PeerBoard.Event) {
        switch event {
        case let .appended(entries, seconds):
            receivedEntries.increment(by: Int64(entries))
            appendLatency.recordNanoseconds(Int64(seconds * 1e9))
        case let .refused(reason):
            registry.makeCounter(descriptor: Self.named("sync_entries_refused", "total", "Received entries refused, by reason (the peer was disconnected)"),
                             labels: [("reason", reason)]).increment()
        }
    }

    /// A recognition decision, by its answer.
    func recordDecision(_ decision: RecognitionDecision) {
        decisions[decision]?.increment()
    }

    /// An admin API request, by route pattern and response status.
    func request(route: String, status: Int) {
        registry.makeCounter(descriptor: Self.named("admin_requests", "total", "Admin API requests by route and status"),
                             labels: [("route", route), ("status", String(status))]).increment()
    }

    /// The text of a scrape: current ledger and peer figures, then everything recorded.
    func scrape(store: LedgerStore, board: PeerBoard) -> String {
        if let vector = try? store.versionVector() {
            registry.makeGauge(descriptor: Self.named("ledger", "entries", "Entries held")).set(Double(vector.total))
            for (origin, seq) in vector.sorted {
                registry.makeGauge(descriptor: Self.named("ledger_origin", "seq", "Highest contiguous seq held, per origin"),
                                   labels: [("origin", origin)]).set(Double(seq))
            }
            for peer in board.snapshot() {
                let labels = [("peer", peer.nodeID)]
                registry.makeGauge(descriptor: Self.named("peer", "connected", "1 while a session with the peer is up"), labels: labels)
                    .set(peer.connected ? 1.0 : 0.0)
                registry.makeGauge(descriptor: Self.named("peer_received", "entries", "Entries received from the peer"), labels: labels)
                    .set(Double(peer.entriesIn))
                registry.makeGauge(descriptor: Self.named("peer_sent", "entries", "Entries sent to the peer"), labels: labels)
                    .set(Double(peer.entriesOut))
                registry.makeGauge(descriptor: Self.named("peer_received", "bytes", "Bytes received from the peer"), labels: labels)
                    .set(Double(peer.bytesIn))
                registry.makeGauge(descriptor: Self.named("peer_sent", "bytes", "Bytes sent to the peer"), labels: labels)
                    .set(Double(peer.bytesOut))
                let lags = peer.lag(behind: vector)
                for (origin, _) in vector.sorted {
                    let lag = lags[origin] ?? 0
                    registry.makeGauge(descriptor: Self.named("peer_lag", "entries", "Entries of an origin this node holds that the peer is not known to hold"),
                                       labels: [("peer", peer.nodeID), ("origin", origin)])
                        .set(Double(lag))
                }
            }
        }
        if let checkpoints = store.checkpointCounts {
            for (by, runs) in [("background", checkpoints.background), ("writer", checkpoints.byWriter)] {
                registry.makeGauge(descriptor: Self.named("ledger_log_checkpoints", "runs", "Checkpoints of the ledger's log since start, by who ran them (docs/STORAGE.md)"),
                                   labels: [("by", by)]).set(Double(runs))
            }
            registry.makeGauge(descriptor: Self.named("ledger_log_checkpoint", "failures", "Checkpoints beside the writer that could not run since start"))
                .set(Double(checkpoints.failed))
        }
        if let conflicts = try? store.conflictCount() {
            registry.makeGauge(descriptor: Self.named("license", "conflicts", "Conflicts between concurrent license events the rules resolved (docs/CONFLICTS.md)"))
                .set(Double(conflicts))
        }
        if let proofs = try? store.equivocations() {
            registry.makeGauge(descriptor: Self.named("equivocation", "proofs", "Equivocation proofs held")).set(Double(proofs.count))
            registry.makeGauge(descriptor: Self.named("equivocating", "origins", "Origins flagged for equivocation"))
                .set(Double(Set(proofs.map(\.origin)).count))
        }
        return registry.emitToString()
    }
}
