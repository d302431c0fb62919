import LicenseCore
import LicenseStore
import LicenseSync

/// What a session is told about a batch it asked to append. A bad entry ends the session;
/// an equivocating origin's entries are held back (proof kept) without blaming the peer
/// that relayed them.
public enum AppendMapping {
    public static func result(_ outcomes: [AppendOutcome], vector: VersionVector) -> SyncSession.AppendResult {
        var heldBack: String?
        for outcome in outcomes {
            guard case let .refused(refusal) = outcome else { continue }
            switch refusal {
            case let .conflict(origin, _), let .equivocatingOrigin(origin):
                heldBack = origin
            case .unknownIssuerKey, .badSignature, .gap, .wrongPrev:
                return .refused(code: refusal.code, detail: refusal.description)
            }
        }
        if let heldBack { return .heldBack(origin: heldBack, vector: vector) }
        return .stored(vector: vector)
    }
}
