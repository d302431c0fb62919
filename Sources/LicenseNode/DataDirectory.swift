import Foundation
import LicenseAPI
import LicenseCore
import LicenseStore
#if canImport(Glibc)
import Glibc
#endif

/// The files of one node (docs/OPERATIONS.md lists them):
///
///     node.json      {"node_id", "province"}: whose data this is
///     issuer.key     the node's Ed25519 seed, hex (0600)
///     issuer.pub     its public key, hex
///     issuer.cert    the root's certificate of that key (JSON, docs/TRUST.md)
///     root.pub       the national root public key (the trust anchor), hex
///     root.key       the development root's seed (0600; standalone nodes only)
///     holder.key     the network holder key, hex (0600)
///     tokens.json    admin API token hashes and roles (0600)
///     admin.token    the development admin token, raw (0600; standalone nodes only)
///     admin.url      where the admin API of the running node listens (removed on stop)
///     ledger.sqlite  the ledger (+ -wal, -shm)
///     licensed.lock  held while a daemon uses the directory
public struct DataDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = (path as NSString).standardizingPath
    }

    public var nodeFile: String { path + "/node.json" }
    public var issuerKeyFile: String { path + "/issuer.key" }
    public var holderKeyFile: String { path + "/holder.key" }
    public var issuerPublicKeyFile: String { path + "/issuer.pub" }
    public var certificateFile: String { path + "/issuer.cert" }
    public var rootPublicKeyFile: String { path + "/root.pub" }
    public var rootKeyFile: String { path + "/root.key" }
    public var tokensFile: String { path + "/tokens.json" }
    public var adminTokenFile: String { path + "/admin.token" }
    public var adminURLFile: String { path + "/admin.url" }
    /// host:port of the gossip listener of the running node (removed on stop).
    public var gossipAddressFile: String { path + "/gossip.addr" }
    public var ledgerFile: String { path + "/ledger.sqlite" }
    public var lockFile: String { path + "/licensed.lock" }

    /// Everything a node needs to run, read from (and, for a standalone node, created in)
    /// the data directory.
    public struct Material: Sendable {
        public let identity: LedgerStore.Identity
        public let signer: IssuerSigner
        public let holderKey: HolderKey
        /// The national root public key: the trust anchor.
        public let root: PublicKey
        /// The root's certificate of this node's issuer key.
        public let certificate: IssuerCertificate
        public let tokens: AccessTokens
        /// Files this start created, so the daemon can say where they are.
        public let created: [String]
    }

    struct NodeFile: Codable {
        var nodeID: String
        var province: String

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id"
            case province
        }
    }

    /// Prepares a standalone development node: creates the directory, identity, issuer
    /// key, network holder key and an all-roles admin token when they are missing, and
    /// checks them when they exist. `nodeID` and `province` apply on first start; later
    /// they must match what the directory holds.
    /// A new standalone node also gets a development root (`root.key`) that certifies its
    /// issuer key for every catalog type from `nowMilliseconds` for ten years.
    public func prepareStandalone(nodeID requestedNode: String?, province requestedProvince: String?,
                                  nowMilliseconds: UInt64, catalog: Catalog)
        throws(NodeSetupError) -> Material
    {
        try Files.ensureWritableDirectory(path)
        var created: [String] = []
        if let requestedProvince, Province.byCode[requestedProvince] == nil {
            throw .invalidOption("--province \(requestedProvince) is not a GB/T 2260 provincial code (e.g. 440000)")
        }
        if let requestedNode, !NodeID.isValid(requestedNode) {
            throw .invalidOption("--node-id '\(requestedNode)' must be 1–32 lower-case letters, digits or '-', starting with a letter")
        }
        // Secrets are made only for a new node. If a ledger exists, a missing file is an
        // operator's problem to fix, never something to paper over with a new key: a new
        // holder key would silently orphan every holder ref in the ledger.
        let isNew = !Files.exists(nodeFile) && !Files.exists(ledgerFile)
        if !isNew {
            for file in [nodeFile, issuerKeyFile, holderKeyFile, rootPublicKeyFile, certificateFile] where !Files.exists(file) {
                throw .missing(path: file, reason: "the data directory holds a node whose file is gone; restore it from a backup")
            }
        }
        let identity: LedgerStore.Identity
        if !isNew {
            let stored = try readNodeFile()
            let wanted = (requestedNode ?? stored.nodeID, requestedProvince ?? stored.province)
            guard wanted == (stored.nodeID, stored.province) else {
                throw .identityMismatch(path: path, existing: "node '\(stored.nodeID)' of \(stored.province)",
                                        requested: "node '\(wanted.0)' of \(wanted.1)")
            }
            identity = LedgerStore.Identity(nodeID: stored.nodeID, province: stored.province)
        } else {
            let province = requestedProvince ?? "110000"
            let node = requestedNode ?? Province.byCode[province]!.shortID
            try writeJSON(NodeFile(nodeID: node, province: province), to: nodeFile)
            created.append(nodeFile)
            identity = LedgerStore.Identity(nodeID: node, province: province)
        }
        if isNew {
            for secret in [issuerKeyFile, holderKeyFile, rootKeyFile] {
                try Files.writeAtomically(Hex.encode(SecureRandom.bytes(32)) + "\n", to: secret)
                created.append(secret)
            }
            try makeDevelopmentCertificate(identity: identity, nowMilliseconds: nowMilliseconds, catalog: catalog)
            created += [issuerPublicKeyFile, rootPublicKeyFile, certificateFile]
        }
        if isNew && !Files.exists(adminTokenFile) {
            let token = try AccessTokens.add(name: "dev-admin", roles: Role.allCases, path: tokensFile)
            try Files.writeAtomically(token + "\n", to: adminTokenFile)
            created.append(adminTokenFile)
        }
        return try load(identity: identity, created: created, rootFile: rootPublicKeyFile)
    }

    /// Prepares a configured node: the identity comes from the config file, the trust
    /// anchor from `rootPublicKeyFile`; the issuer key, holder key and issuer certificate
    /// must already be in the data directory (`licensectl testnet` or an operator puts
    /// them there; nothing secret is generated for a configured node).
    public func prepareConfigured(identity: LedgerStore.Identity, rootPublicKeyFile rootFile: String)
        throws(NodeSetupError) -> Material
    {
        try Files.ensureWritableDirectory(path)
        for file in [issuerKeyFile, holderKeyFile, certificateFile] where !Files.exists(file) {
            throw .missing(path: file, reason: "a configured node needs it in its data directory (see docs/OPERATIONS.md)")
        }
        if Files.exists(nodeFile) {
            let stored = try readNodeFile()
            guard (stored.nodeID, stored.province) == (identity.nodeID, identity.province) else {
                throw .identityMismatch(path: path, existing: "node '\(stored.nodeID)' of \(stored.province)",
                                        requested: "node '\(identity.nodeID)' of \(identity.province)")
            }
        } else {
            try writeJSON(NodeFile(nodeID: identity.nodeID, province: identity.province), to: nodeFile)
        }
        return try load(identity: identity, created: [], rootFile: rootFile)
    }

    /// What `prepareConfigured` would refuse, found without writing anything: missing key
    /// and certificate files (all of them), another node's identity, and keys or a
    /// certificate that do not fit together or with the root.
    func configuredProblems(identity: LedgerStore.Identity, rootPublicKeyFile rootFile: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return ["\(path) does not exist: a configured node's data directory holds its issuer.key, holder.key and "
                    + "issuer.cert (licensectl testnet writes them; see docs/OPERATIONS.md)"]
        }
        guard isDirectory.boolValue else { return ["\(path) is not a directory (data_dir)"] }
        if access(path, W_OK) != 0 { return ["cannot write \(path): fix its permissions or choose another data_dir"] }
        let missing = [issuerKeyFile, holderKeyFile, certificateFile].filter { !Files.exists($0) }
        var problems = missing.map { "\($0) is missing: a configured node needs it in its data directory (see docs/OPERATIONS.md)" }
        do throws(NodeSetupError) {
            if Files.exists(nodeFile) {
                let stored = try readNodeFile()
                if (stored.nodeID, stored.province) != (identity.nodeID, identity.province) {
                    problems.append(NodeSetupError.identityMismatch(
                        path: path, existing: "node '\(stored.nodeID)' of \(stored.province)",
                        requested: "node '\(identity.nodeID)' of \(identity.province)").description)
                }
            }
            if missing.isEmpty { _ = try load(identity: identity, created: [], rootFile: rootFile) }
        } catch {
            problems.append(error.description)
        }
        return problems
    }

    private func makeDevelopmentCertificate(identity: LedgerStore.Identity, nowMilliseconds: UInt64, catalog: Catalog)
        throws(NodeSetupError)
    {
        let rootSeed = try Files.readHexSecret(rootKeyFile, byteCount: SigningKey.seedByteCount, what: "the root key seed")
        let issuerSeed = try Files.readHexSecret(issuerKeyFile, byteCount: SigningKey.seedByteCount, what: "the issuer key seed")
        guard let root = try? SigningKey(seed: rootSeed), let issuer = try? SigningKey(seed: issuerSeed) else {
            preconditionFailure("32-byte seeds are always valid Ed25519 seeds")
        }
        let tenYears: UInt64 = 10 * 366 * 86_400_000
        let certificate = IssuerCertificate.issue(.init(
            nodeID: identity.nodeID, province: identity.province, publicKey: issuer.publicKey,
            notBeforeMilliseconds: nowMilliseconds, notAfterMilliseconds: nowMilliseconds + tenYears,
            licenseTypes: catalog.types.map(\.code), rootKeyID: RootKeyID.derive(root.publicKey)), root: root)
        try Files.writeAtomically(Hex.encode(issuer.publicKey.bytes) + "\n", to: issuerPublicKeyFile, mode: 0o644)
        try Files.writeAtomically(Hex.encode(root.publicKey.bytes) + "\n", to: rootPublicKeyFile, mode: 0o644)
        try Files.writeAtomically(certificate.jsonText(), to: certificateFile, mode: 0o644)
    }

    private func load(identity: LedgerStore.Identity, created: [String], rootFile: String) throws(NodeSetupError) -> Material {
        let seed = try Files.readHexSecret(issuerKeyFile, byteCount: SigningKey.seedByteCount, what: "the issuer key seed")
        let holder = try Files.readHexSecret(holderKeyFile, byteCount: HolderKey.byteCount, what: "the holder key")
        let rootBytes = try Files.readHexSecret(rootFile, byteCount: PublicKey.byteCount, what: "the root public key")
        guard let key = try? SigningKey(seed: seed), let root = try? PublicKey(bytes: rootBytes),
              let holderKey = try? HolderKey(bytes: holder)
        else { preconditionFailure("keys of checked lengths are always valid") }
        let certificate: IssuerCertificate
        do {
            certificate = try IssuerCertificate.decode(jsonText: try Files.read(certificateFile), root: root)
        } catch let error as NodeSetupError {
            throw error
        } catch {
            throw .badFile(path: certificateFile, field: "certificate", expected: "a certificate signed by the root in \(rootFile) (\(error))")
        }
        guard certificate.body.publicKey == key.publicKey, certificate.body.nodeID == identity.nodeID,
              certificate.body.province == identity.province else {
            throw .badFile(path: certificateFile, field: "certificate",
                           expected: "a certificate of this node's key (\(identity.nodeID), \(identity.province), \(issuerKeyFile))")
        }
        return Material(identity: identity, signer: IssuerSigner(origin: identity.nodeID, key: key),
                        holderKey: holderKey, root: root, certificate: certificate,
                        tokens: try AccessTokens.load(path: tokensFile), created: created)
    }

    private func readNodeFile() throws(NodeSetupError) -> NodeFile {
        let text = try Files.read(nodeFile)
        guard let file = try? JSONDecoder().decode(NodeFile.self, from: Data(text.utf8)) else {
            throw .badFile(path: nodeFile, field: "node_id, province", expected: "a JSON object {\"node_id\": ..., \"province\": ...}")
        }
        guard NodeID.isValid(file.nodeID) else {
            throw .badFile(path: nodeFile, field: "node_id", expected: "1–32 lower-case letters, digits or '-'")
        }
        guard Province.byCode[file.province] != nil else {
            throw .badFile(path: nodeFile, field: "province", expected: "a GB/T 2260 provincial code such as 440000")
        }
        return file
    }

    private func writeJSON(_ value: some Encodable, to path: String) throws(NodeSetupError) {
        let data: Data
        do {
            data = try JSON.encoder(pretty: true).encode(value)
        } catch {
            preconditionFailure("encoding \(path) cannot fail: \(error)")
        }
        try Files.writeAtomically(String(decoding: data, as: UTF8.self) + "\n", to: path, mode: 0o644)
    }

    /// Takes the directory's exclusive lock for the life of the process, so that two
    /// daemons never share one ledger.
    public func lock() throws(NodeSetupError) -> DirectoryLock {
        let fd = open(lockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .notWritable(path: lockFile, detail: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .alreadyRunning(path: path)
        }
        return DirectoryLock(fd: fd)
    }
}

/// An exclusive `flock` on a data directory, released when this is released.
public final class DirectoryLock: Sendable {
    private let fd: Int32

    init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        close(fd)
    }
}
