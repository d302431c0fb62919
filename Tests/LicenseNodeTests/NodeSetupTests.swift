import Foundation
import LicenseCore
import LicenseNode
import LicenseStore
import Testing

@Suite("Node setup")
struct NodeSetupTests {
    @Test func firstStart_createsSecretsWithMode0600() throws {
        let scratch = TemporaryDirectory()
        let directory = DataDirectory(path: scratch.path + "/data")
        let material = try directory.prepareStandalone(nodeID: nil, province: "440000", nowMilliseconds: FixedClock().milliseconds, catalog: testCatalog)
        #expect(material.identity == LedgerStore.Identity(nodeID: "gd", province: "440000"))
        for file in [directory.issuerKeyFile, directory.holderKeyFile, directory.adminTokenFile, directory.tokensFile] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
        #expect(material.tokens.count == 1)
        // A development root certifies the node's key for the whole catalog.
        #expect(material.certificate.body.publicKey == material.signer.key.publicKey)
        #expect(material.certificate.body.licenseTypes.count == testCatalog.types.count)
        #expect(FileManager.default.fileExists(atPath: directory.rootKeyFile))
        let rootMode = try FileManager.default.attributesOfItem(atPath: directory.rootKeyFile)[.posixPermissions] as? Int
        #expect(rootMode == 0o600)
    }

    @Test func restart_keepsKeysAndData() async throws {
        let scratch = TemporaryDirectory()
        let path = scratch.path + "/data"
        let (id, digest) = try await withRunningNode(dataDirectory: path) { node in
            (try await node.issueDrivingLicence(), try node.service.store.ledgerDigest())
        }
        try await withRunningNode(dataDirectory: path) { node in
            #expect(node.entries == 1)
            #expect(try node.service.store.ledgerDigest() == digest)
            let shown = try await node.get("/v1/licenses/\(id)")
            #expect(shown.status == 200)
            // The same issuer key signs after the restart: the chain continues.
            _ = try await node.issueDrivingLicence(to: holderB)
            #expect(try LedgerVerifier.verify(node.service.store).isValid)
        }
    }

    @Test func secondDaemonOnTheSameDataDir_isRefused() throws {
        let scratch = TemporaryDirectory()
        let options = NodeRuntime.Options(dataDirectory: scratch.path + "/data", adminPort: 0)
        let first = try NodeRuntime.prepare(options, clock: FixedClock())
        #expect(throws: NodeSetupError.alreadyRunning(path: scratch.path + "/data")) {
            _ = try NodeRuntime.prepare(options, clock: FixedClock())
        }
        withExtendedLifetime(first) {}
    }

    @Test func otherIdentityOnExistingDataDir_isRefused() throws {
        let scratch = TemporaryDirectory()
        let directory = DataDirectory(path: scratch.path + "/data")
        _ = try directory.prepareStandalone(nodeID: "gd", province: "440000", nowMilliseconds: FixedClock().milliseconds, catalog: testCatalog)
        #expect(throws: NodeSetupError.identityMismatch(path: directory.path, existing: "node 'gd' of 440000",
                                                        requested: "node 'sh' of 310000")) {
            _ = try directory.prepareStandalone(nodeID: "sh", province: "310000", nowMilliseconds: FixedClock().milliseconds, catalog: testCatalog)
        }
    }

    @Test func lostKeyOfAnExistingNode_isNeverReplacedByANewOne() throws {
        let scratch = TemporaryDirectory()
        let options = NodeRuntime.Options(dataDirectory: scratch.path + "/data")
        let directory = DataDirectory(path: options.dataDirectory)
        do {
            _ = try NodeRuntime.prepare(options, clock: FixedClock())
        }
        for file in [directory.holderKeyFile, directory.nodeFile, directory.certificateFile, directory.rootPublicKeyFile] {
            let saved = try Data(contentsOf: URL(fileURLWithPath: file))
            try FileManager.default.removeItem(atPath: file)
            #expect(throws: NodeSetupError.missing(path: file, reason: "the data directory holds a node whose file is gone; restore it from a backup")) {
                _ = try NodeRuntime.prepare(options, clock: FixedClock())
            }
            #expect(!FileManager.default.fileExists(atPath: file))
            try saved.write(to: URL(fileURLWithPath: file))
        }
        _ = try NodeRuntime.prepare(options, clock: FixedClock())
    }

    @Test func refusedSecondDaemon_changesNoFile() throws {
        let scratch = TemporaryDirectory()
        let options = NodeRuntime.Options(dataDirectory: scratch.path + "/data", adminPort: 0)
        let first = try NodeRuntime.prepare(options, clock: FixedClock())
        let directory = DataDirectory(path: options.dataDirectory)
        try FileManager.default.removeItem(atPath: directory.adminTokenFile)
        let tokens = try Data(contentsOf: URL(fileURLWithPath: directory.tokensFile))
        #expect(throws: NodeSetupError.alreadyRunning(path: directory.path)) {
            _ = try NodeRuntime.prepare(options, clock: FixedClock())
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.tokensFile)) == tokens)
        #expect(!FileManager.default.fileExists(atPath: directory.adminTokenFile))
        withExtendedLifetime(first) {}
    }

    @Test func invalidOptions_areRefusedWithTheirName() {
        let scratch = TemporaryDirectory()
        let directory = DataDirectory(path: scratch.path + "/data")
        do {
            _ = try directory.prepareStandalone(nodeID: nil, province: "999999", nowMilliseconds: FixedClock().milliseconds, catalog: testCatalog)
            Issue.record("an unknown province was accepted")
        } catch {
            #expect(error.description.contains("--province 999999"))
        }
        do {
            _ = try directory.prepareStandalone(nodeID: "Bad Id", province: nil, nowMilliseconds: FixedClock().milliseconds, catalog: testCatalog)
            Issue.record("an invalid node id was accepted")
        } catch {
            #expect(error.description.contains("--node-id"))
        }
    }

    @Test func unwritableDataDir_stopsTheStartWithItsPath() throws {
        let scratch = TemporaryDirectory()
        // A path below a regular file cannot become a directory, even for root.
        let blocker = scratch.path + "/file"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        do {
            _ = try NodeRuntime.prepare(NodeRuntime.Options(dataDirectory: blocker + "/data"), clock: FixedClock())
            Issue.record("started in an unwritable place")
        } catch {
            guard case let .notWritable(path, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path.hasPrefix(blocker))
        }
    }

    @Test func corruptedDatabase_stopsTheStartWithAClearMessage() throws {
        let scratch = TemporaryDirectory()
        let directory = DataDirectory(path: scratch.path + "/data")
        _ = try directory.prepareStandalone(nodeID: nil, province: nil, nowMilliseconds: FixedClock().milliseconds, catalog: testCatalog)
        _ = FileManager.default.createFile(atPath: directory.ledgerFile,
                                       contents: Data(repeating: 0x5a, count: 8192))
        do {
            _ = try NodeRuntime.prepare(NodeRuntime.Options(dataDirectory: directory.path), clock: FixedClock())
            Issue.record("opened a corrupt ledger")
        } catch {
            #expect(error.description.contains("corrupt"))
            #expect(error.description.contains(directory.ledgerFile))
        }
    }

    @Test func damagedKeyFile_namesTheFile() throws {
        let scratch = TemporaryDirectory()
        let directory = DataDirectory(path: scratch.path + "/data")
        _ = try directory.prepareStandalone(nodeID: nil, province: nil, nowMilliseconds: FixedClock().milliseconds, catalog: testCatalog)
        try "not hex".write(toFile: directory.issuerKeyFile, atomically: true, encoding: .utf8)
        #expect(throws: NodeSetupError.badFile(path: directory.issuerKeyFile, field: "the issuer key seed",
                                                expected: "64 hex digits")) {
            _ = try directory.prepareStandalone(nodeID: nil, province: nil, nowMilliseconds: FixedClock().milliseconds, catalog: testCatalog)
        }
    }

    @Test func groupCommit_concurrentIssuesAllCommitWithDistinctSeqs() async throws {
        let scratch = TemporaryDirectory()
        let (service, _, lock) = try NodeRuntime.prepare(
            NodeRuntime.Options(dataDirectory: scratch.path + "/data"), clock: FixedClock())
        let count = 300
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<count {
                group.addTask {
                    let holder = residentID("11010519800101" + String(format: "%03d", index))
                    return try await service.issue(.init(
                        type: "residence_permit", holder: holder,
                        attributes: ["city": "北京", "address": "No. \(index)"], validFrom: nil, validUntil: nil)).id.text
                }
            }
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        #expect(Set(ids).count == count)
        // Group commit: concurrent requests shared transactions.
        #expect(service.store.authorTransactions < count)
        #expect(try service.store.versionVector() == VersionVector(["bj": UInt64(count)]))
        #expect(try LedgerVerifier.verify(service.store).isValid)
        withExtendedLifetime(lock) {}
    }
}
