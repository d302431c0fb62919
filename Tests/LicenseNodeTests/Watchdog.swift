import Foundation
import Synchronization

/// Kills a child process by PID if it is still running when the deadline passes, so that a
/// hung child fails its test instead of hanging the run. The kill also ends the child's
/// pipes with EOF, which releases any read still waiting on them.
final class Watchdog: Sendable {
    private enum State { case armed, fired, disarmed }

    private let state = Mutex(State.armed)

    init(killing process: Process, afterSeconds seconds: Int) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds)) { [self] in
            state.withLock { state in
                guard state == .armed, process.isRunning else { return }
                kill(process.processIdentifier, SIGKILL)
                state = .fired
            }
        }
    }

    /// Stands the watchdog down, and says whether it had already killed the process.
    func disarm() -> Bool {
        state.withLock { state in
            let fired = state == .fired
            state = .disarmed
            return fired
        }
    }
}

/// Runs blocking `work` (a read to EOF, a wait for an exit) on a thread of its own and
/// suspends until it returns. The cooperative pool has one thread per core, two on a small
/// CI machine: a test blocking one there starves every other test of the process, such as
/// the TLS suites' timers and sessions. A thread of its own, rather than a shared pool,
/// means no number of waiting calls can use the threads up.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
