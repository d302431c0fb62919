import Foundation
import Hummingbird
import LicenseCore
import LicenseStore
import Logging
import ServiceLifecycle

/// Wires a node together and runs it until SIGINT or SIGTERM: data directory, ledger,
/// services, admin API, all in one ServiceGroup that shuts down gracefully.
public enum NodeRuntime {
    public struct Options: Sendable {
        public var dataDirectory: String
        public var nodeID: String?
        public var province: String?
        public var adminHost: String
        public var adminPort: Int

        public init(dataDirectory: String = "./licensed-data", nodeID: String? = nil, province: String? = nil,
                    adminHost: String = "127.0.0.1", adminPort: Int = 7400) {
            self.dataDirectory = dataDirectory
            self.nodeID = nodeID
            self.province = province
            self.adminHost = adminHost
            self.adminPort = adminPort
        }
    }

    /// What a started node tells its caller once the admin API accepts connections.
    public struct Ready: Sendable {
        public let adminURL: String
        public let material: DataDirectory.Material
        public let directory: DataDirectory
        public let entries: UInt64
    }

    /// Everything opened before serving; any failure here stops the start with a clear
    /// message and leaves nothing running.
    public static func prepare(_ options: Options, clock: any NodeClock = SystemClock())
        throws(NodeSetupError) -> (LicenseService, DataDirectory, DirectoryLock)
    {
        guard (0...65_535).contains(options.adminPort) else {
            throw .invalidOption("--admin-port \(options.adminPort) is not a TCP port (0–65535)")
        }
        let directory = DataDirectory(path: options.dataDirectory)
        // The lock comes first: a second daemon must be refused before it touches a file.
        try Files.ensureWritableDirectory(directory.path)
        let lock = try directory.lock()
        let catalog: Catalog
        do {
            catalog = try Catalog.bundled()
        } catch {
            throw .store(error.description)
        }
        let material = try directory.prepareStandalone(nodeID: options.nodeID, province: options.province,
                                                       nowMilliseconds: clock.nowMilliseconds(), catalog: catalog)
        do {
            let store = try LedgerStore(path: directory.ledgerFile, identity: material.identity,
                                        physicalMilliseconds: clock.nowMilliseconds())
            try store.addCertificate(material.certificate)
            return (LicenseService(store: store, material: material, catalog: catalog, clock: clock), directory, lock)
        } catch {
            throw .store(error.description)
        }
    }

    /// Runs the node until a shutdown signal; `onReady` is called once it serves.
    public static func run(_ options: Options, logger: Logger, onReady: @escaping @Sendable (Ready) -> Void) async throws {
        let (service, directory, lock) = try prepare(options)
        let router = AdminAPI.router(service: service)
        let entries = (try? service.store.entryCount()) ?? 0
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.adminHost, port: options.adminPort), serverName: "licensed"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.adminPort
                let url = "http://\(options.adminHost):\(port)"
                try? Files.writeAtomically(url + "\n", to: directory.adminURLFile, mode: 0o644)
                onReady(Ready(adminURL: url, material: service.material, directory: directory, entries: entries))
            },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer {
            try? FileManager.default.removeItem(atPath: directory.adminURLFile)
            withExtendedLifetime(lock) {}
        }
        do {
            try await group.run()
        } catch {
            let text = "\(error)"
            if text.contains("Address already in use") {
                throw NodeSetupError.invalidOption(
                    "admin port \(options.adminHost):\(options.adminPort) is already in use; stop the other process or pass --admin-port")
            }
            throw error
        }
        logger.info("stopped cleanly", metadata: ["entries": "\((try? service.store.entryCount()) ?? 0)"])
    }
}
