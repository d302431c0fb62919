/// What can go wrong below the ledger's API. Every case names the file or the value at
/// fault, so that the daemon's refusal to start tells the operator what to fix.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, detail: String)
    case corrupt(path: String, detail: String)
    case belongsToAnotherNode(path: String, nodeID: String, province: String)
    case database(String)
    case verificationFailed([String])
    case overloaded(waiting: Int)

    public var description: String {
        switch self {
        case let .cannotOpen(path, detail):
            "cannot open ledger database \(path): \(detail)"
        case let .corrupt(path, detail):
            "ledger database \(path) is corrupt or not a ledger (\(detail)); restore it from a backup"
        case let .belongsToAnotherNode(path, nodeID, province):
            "ledger database \(path) belongs to node '\(nodeID)' of province \(province); use that identity or another data dir"
        case let .database(detail):
            "ledger database error: \(detail)"
        case let .overloaded(waiting):
            "the ledger writer is overloaded (\(waiting) writes waiting); retry shortly"
        case let .verificationFailed(problems):
            "ledger verification failed: " + problems.joined(separator: "; ")
        }
    }
}
