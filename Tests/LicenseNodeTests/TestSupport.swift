import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import LicenseCore
import LicenseNode
import Logging
import ServiceLifecycle

/// A clock stopped at a fixed instant: 2026-06-01 12:00 in China (04:00 UTC).
struct FixedClock: NodeClock {
    var milliseconds: UInt64 = 1_780_286_400_000

    func nowMilliseconds() -> UInt64 { milliseconds }
}

/// A temporary directory, removed when released.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "lx-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A valid GB 11643 number for a region, birth date and sequence (check character computed).
func residentID(_ first17: String) -> String {
    let check = ResidentID.checkCharacter(for: Array(first17.utf8)[...])
    return first17 + String(UnicodeScalar(check))
}

let testCatalog = try! Catalog.bundled()

let holderA = residentID("11010519491231002")   // Beijing, born 1949-12-31
let holderB = residentID("44030419900307123")   // Shenzhen, born 1990-03-07

/// One HTTP exchange with a running node.
struct HTTPResult {
    let status: Int
    let body: Data

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    var errorCode: String? {
        (json["error"] as? [String: Any])?["code"] as? String
    }

    var errorMessage: String? {
        (json["error"] as? [String: Any])?["message"] as? String
    }
}

/// A node serving its admin API on a free loopback port, in this process.
struct RunningNode {
    let url: URL
    let service: LicenseService
    let directory: DataDirectory
    let adminToken: String
    let clerkToken: String
    let issuerToken: String
    let operatorToken: String

    func call(_ method: String, _ path: String, token: String?, body: Data? = nil) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: path, relativeTo: url)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return HTTPResult(status: (response as! HTTPURLResponse).statusCode, body: data)
    }

    func post(_ path: String, _ object: [String: Any], token: String? = nil) async throws -> HTTPResult {
        try await call("POST", path, token: token ?? adminToken, body: try JSONSerialization.data(withJSONObject: object))
    }

    func get(_ path: String, token: String? = nil) async throws -> HTTPResult {
        try await call("GET", path, token: token ?? adminToken)
    }

    var entries: UInt64 {
        (try? service.store.entryCount()) ?? 0
    }

    /// Issues a driving licence to `holder` and returns its id.
    func issueDrivingLicence(to holder: String = holderA) async throws -> String {
        let result = try await post("/v1/licenses", [
            "type": "driving_licence", "holder": holder,
            "attributes": ["licence_class": "C1", "first_issue_date": "2010-05-01"],
        ])
        guard result.status == 201, let id = result.json["id"] as? String else {
            throw TestFailure("issue failed: \(result.status) \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Starts a node in `dataDirectory` (fresh unless given), runs `body` against it, and
/// shuts it down. The listener binds port 0 on loopback.
func withRunningNode<T: Sendable>(
    dataDirectory: String? = nil,
    clock: FixedClock = FixedClock(),
    _ body: @Sendable (RunningNode) async throws -> T
) async throws -> T {
    let scratch = TemporaryDirectory()
    let path = dataDirectory ?? scratch.path + "/data"
    let directory = DataDirectory(path: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let clerk = try AccessTokens.add(name: "window-1", roles: [.clerk], path: directory.tokensFile)
    let issuer = try AccessTokens.add(name: "registry-1", roles: [.issuer], path: directory.tokensFile)
    let operatorToken = try AccessTokens.add(name: "ops-1", roles: [.operator], path: directory.tokensFile)
    let (service, _, lock) = try NodeRuntime.prepare(
        NodeRuntime.Options(dataDirectory: path, adminPort: 0), clock: clock)
    let adminToken = try String(contentsOfFile: directory.adminTokenFile, encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    var logger = Logger(label: "test-node")
    logger.logLevel = .error
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: AdminAPI.router(service: service),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
        logger: logger)
    let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
    let result = try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TestFailure("the admin API did not start") }
        let node = RunningNode(url: URL(string: "http://127.0.0.1:\(port)")!, service: service, directory: directory,
                               adminToken: adminToken, clerkToken: clerk, issuerToken: issuer,
                               operatorToken: operatorToken)
        // Shut down the way SIGTERM does, so the test exercises the graceful path.
        do {
            let value = try await body(node)
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return value
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
    }
    withExtendedLifetime((lock, scratch)) {}
    return result
}
