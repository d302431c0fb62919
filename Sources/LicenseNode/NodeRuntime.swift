import Foundation
import Hummingbird
import LicenseCore
import LicenseStore
import LicenseTransport
import Logging
import ServiceLifecycle
import UnixSignals

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
        /// host:port of the gossip listener (configured nodes).
        public let gossipAddress: String?
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

    /// Runs a standalone node until a shutdown signal; `onReady` is called once it serves.
    public static func run(_ options: Options, logger: Logger, onReady: @escaping @Sendable (Ready) -> Void) async throws {
        let (service, directory, lock) = try prepare(options)
        try await serve(service: service, directory: directory, lock: lock, adminHost: options.adminHost,
                        adminPort: options.adminPort, gossip: nil, logger: logger, onReady: onReady)
    }

    /// Runs a configured node (`licensed --config FILE`): its admin API and its gossip
    /// with the peers of peers.json. Everything is checked before anything serves.
    public static func run(configuration path: String, logger: Logger, clock: any NodeClock = SystemClock(),
                           onReady: @escaping @Sendable (Ready) -> Void) async throws {
        // Everything `licensed check-config` checks, all reported at once, before anything starts.
        let problems = ConfigCheck.problems(configPath: path, now: Date(timeIntervalSince1970: Double(clock.nowMilliseconds()) / 1000))
        guard problems.isEmpty else { throw NodeSetupError.invalidConfiguration(problems) }
        let config = try NodeConfig.load(path: path)
        let directory = DataDirectory(path: config.dataDirectory)
        try Files.ensureWritableDirectory(directory.path)
        let lock = try directory.lock()
        let identity = LedgerStore.Identity(nodeID: config.nodeID, province: config.province)
        let material = try directory.prepareConfigured(identity: identity, rootPublicKeyFile: config.rootPublicKey)
        let catalog: Catalog
        let store: LedgerStore
        do {
            catalog = try Catalog.bundled()
            store = try LedgerStore(path: directory.ledgerFile, identity: identity, physicalMilliseconds: clock.nowMilliseconds())
            try store.addCertificate(material.certificate)
        } catch {
            throw NodeSetupError.store("\(error)")
        }
        try loadCertificates(from: config.certificatesDirectory, root: material, into: store)
        let tls = try makeTLS(config)
        let service = LicenseService(store: store, material: material, catalog: catalog, clock: clock)
        service.markNetworked()
        let gossip = GossipNode(store: store, nodeID: config.nodeID, province: config.province, tls: tls, hub: service.hub,
                                board: service.peerBoard, root: material.root, clock: { clock.nowMilliseconds() },
                                logger: logger)
        let listener: GossipListener
        do {
            listener = try await gossip.bind(host: config.gossipHost, port: config.gossipPort)
        } catch {
            throw NodeSetupError.invalidOption(
                "cannot listen for peers on \(config.gossipHost):\(config.gossipPort) (\(error)); is the port in use?")
        }
        let gossipService = GossipService(node: gossip, listener: listener, peersFile: config.peersFile,
                                          selfID: config.nodeID, hangups: await UnixSignalsSequence(trapping: .sighup),
                                          logger: logger)
        try Files.writeAtomically("\(config.gossipHost):\(listener.port)\n", to: directory.gossipAddressFile, mode: 0o644)
        try await serve(service: service, directory: directory, lock: lock, adminHost: config.adminHost,
                        adminPort: config.adminPort, gossip: (gossipService, "\(config.gossipHost):\(listener.port)"),
                        logger: logger, onReady: onReady)
    }

    /// Every `*.cert` of the certificates directory must verify against the root.
    static func loadCertificates(from directory: String, root material: DataDirectory.Material, into store: LedgerStore)
        throws(NodeSetupError)
    {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names.sorted() where name.hasSuffix(".cert") {
            let file = (directory as NSString).appendingPathComponent(name)
            do {
                try store.addCertificate(try IssuerCertificate.decode(jsonText: try Files.read(file), root: material.root))
            } catch {
                throw .badFile(path: file, field: "certificate", expected: "an issuer certificate signed by the network's root (\(error))")
            }
        }
    }

    static func makeTLS(_ config: NodeConfig) throws(NodeSetupError) -> GossipTLS {
        let ca = try Files.read(config.caCertificate)
        let certificate = try Files.read(config.nodeCertificate)
        let key = try Files.read(config.nodeKey)
        guard let der = try? TransportPKI.derOfFirstCertificate(pem: certificate),
              TransportPKI.nodeID(ofCertificateDER: der) == config.nodeID
        else {
            throw .badFile(path: config.nodeCertificate, field: "certificate",
                           expected: "a node certificate naming '\(config.nodeID)' (licensectl pki node --node-id \(config.nodeID))")
        }
        do {
            return try GossipTLS(caCertificatePEM: ca, certificatePEM: certificate, privateKeyPEM: key)
        } catch {
            throw .badFile(path: config.nodeKey, field: "TLS material",
                           expected: "a PEM certificate and its private key, issued by \(config.caCertificate) (\(error))")
        }
    }

    private static func serve(service: LicenseService, directory: DataDirectory, lock: DirectoryLock, adminHost: String,
                              adminPort: Int, gossip: (service: GossipService, address: String)?, logger: Logger,
                              onReady: @escaping @Sendable (Ready) -> Void) async throws {
        let router = AdminAPI.router(service: service)
        let entries = (try? service.store.entryCount()) ?? 0
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(adminHost, port: adminPort), serverName: "licensed"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? adminPort
                let url = "http://\(adminHost):\(port)"
                try? Files.writeAtomically(url + "\n", to: directory.adminURLFile, mode: 0o644)
                onReady(Ready(adminURL: url, gossipAddress: gossip?.address, material: service.material,
                              directory: directory, entries: entries))
            },
            logger: logger
        )
        var services: [any Service] = [app]
        if let gossip { services.append(gossip.service) }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer {
            try? FileManager.default.removeItem(atPath: directory.adminURLFile)
            try? FileManager.default.removeItem(atPath: directory.gossipAddressFile)
            withExtendedLifetime(lock) {}
        }
        do {
            try await group.run()
        } catch {
            let text = "\(error)"
            if text.contains("Address already in use") {
                throw NodeSetupError.invalidOption(
                    "admin port \(adminHost):\(adminPort) is already in use; stop the other process or choose another port")
            }
            throw error
        }
        logger.info("stopped cleanly", metadata: ["entries": "\((try? service.store.entryCount()) ?? 0)"])
    }
}
