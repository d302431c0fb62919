import LicenseCore
import LicenseStore
import LicenseSync

/// What a session is told about a batch it asked to append. A bad entry (bad signature,
/// gap, broken chain) ends the session. Entries the peer cannot be blamed for are held
/// back and the session goes on: an equivocating origin's (proof kept), and those signed
/// by a key this node does not know yet (refused as unknown issuer key; they are offered
/// again by the next anti-entropy round, and stored once the certificate has arrived).
public enum AppendMapping {
    public static func result(_ outcomes: [AppendOutcome], vector: VersionVector) -> SyncSession.AppendResult {
        var heldBack: String?
        for outcome in outcomes {
            guard case let .refused(refusal) = outcome else { continue }
            if refusal.blamesSender { return .refused(code: refusal.code, detail: refusal.description) }
            heldBack = refusal.origin
        }
        if let heldBack { return .heldBack(origin: heldBack, vector: vector) }
        return .stored(vector: vector)
    }
}

extension AppendMapping {
    /// What a session is told about equivocation evidence from its peer: only a false
    /// signature is the peer's fault.
    public static func result(_ outcome: LedgerStore.EvidenceOutcome) -> SyncSession.EvidenceResult {
        switch outcome {
        case .recorded, .known, .consistent, .unverifiable: .accepted
        case let .refused(refusal): .refused(code: refusal.code, detail: refusal.description)
        }
    }
}
