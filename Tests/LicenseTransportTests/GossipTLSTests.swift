import Foundation
import LicenseCore
import LicenseStore
import LicenseSync
@testable import LicenseTransport
import Logging
import Testing

/// Real TLS 1.3 connections on loopback (port 0) between in-process nodes.
@Suite(.timeLimit(.minutes(2))) final class GossipTLSTests: @unchecked Sendable {
    let directory: URL
    static let now: UInt64 = 1_772_323_200_000
    static let today = CivilDate(year: 2026, month: 3, day: 1)!
    static let catalog = try! Catalog.bundled()
    static let holderKey = try! HolderKey(bytes: Array(64...95))
    static let ca = try! TransportPKI.makeCA(notBefore: Date(timeIntervalSinceNow: -3600), days: 30)

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lx-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    struct Node {
        let name: String
        let signer: IssuerSigner
        let store: LedgerStore
        let gossip: GossipNode
    }

    func signer(_ name: String) -> IssuerSigner {
        IssuerSigner(origin: name, key: try! SigningKey(seed: Sodium.blake2b256(Array(name.utf8))))
    }

    /// A node whose TLS certificate names `certifiedAs` (its own name unless a test lies).
    func node(_ name: String, province: String, certifiedAs: String? = nil, ca: TransportPKI.Issued = GossipTLSTests.ca,
              trusting others: [String], root: SigningKey? = nil, fast: Bool = false,
              idleTimeoutMilliseconds: UInt64 = 60_000, tickMilliseconds: UInt64? = nil) throws -> Node {
        let signer = signer(name)
        let store = try LedgerStore(path: directory.appendingPathComponent("\(name).sqlite").path,
                                    identity: .init(nodeID: name, province: province))
        for other in [name] + others {
            let s = self.signer(other)
            try store.registerIssuerKey(keyID: s.keyID, origin: other, publicKey: s.key.publicKey)
        }
        let tls = try tls(for: certifiedAs ?? name, ca: ca)
        var logger = Logger(label: "test.\(name)")
        // LX_TEST_LOG=1 shows the nodes' logs while a test is being debugged.
        logger.logLevel = ProcessInfo.processInfo.environment["LX_TEST_LOG"] != nil ? .trace : .critical
        if let root {
            // The node holds the root's certificate of its own key, as a configured node does.
            try store.addCertificate(IssuerCertificate.issue(.init(
                nodeID: name, province: province, publicKey: signer.key.publicKey, notBeforeMilliseconds: 0,
                notAfterMilliseconds: Self.now * 2, licenseTypes: ["residence_permit"],
                rootKeyID: RootKeyID.derive(root.publicKey)), root: root))
        }
        let gossip = GossipNode(store: store, nodeID: name, province: province, tls: tls, hub: VectorHub(),
                                root: root?.publicKey, clock: fast ? Self.wallClock : Self.fixedClock, logger: logger,
                                tickMilliseconds: tickMilliseconds ?? (fast ? 20 : 1000),
                                keepaliveMilliseconds: min(15_000, idleTimeoutMilliseconds / 10),
                                idleTimeoutMilliseconds: idleTimeoutMilliseconds)
        return Node(name: name, signer: signer, store: store, gossip: gossip)
    }

    static let fixedClock: @Sendable () -> UInt64 = { GossipTLSTests.now }
    /// Keepalive and idle timeout need time to pass: fast nodes read the real clock.
    static let wallClock: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// TLS for a node whose certificate names `nodeID`, issued by `ca`; every node trusts
    /// the shared network CA, whatever signed its own certificate.
    func tls(for nodeID: String, ca: TransportPKI.Issued = GossipTLSTests.ca) throws -> GossipTLS {
        let issued = try TransportPKI.makeNode(nodeID: nodeID, caCertificatePEM: ca.certificatePEM,
                                               caKeyPEM: ca.privateKeyPEM, notBefore: Date(timeIntervalSinceNow: -60), days: 10)
        return try GossipTLS(caCertificatePEM: Self.ca.certificatePEM, certificatePEM: issued.certificatePEM,
                             privateKeyPEM: issued.privateKeyPEM)
    }

    func issue(_ node: Node, _ count: Int, province: String) async throws {
        try await issue(store: node.store, signer: node.signer, count, province: province)
    }

    func issue(store: LedgerStore, signer: IssuerSigner, _ count: Int, province: String, firstHolder: Int = 0) async throws {
        let events: [LicenseEvent] = (firstHolder..<firstHolder + count).map { n in
            let digits = "44030419900307" + String(format: "%03d", n % 1000)
            let number = digits + String(UnicodeScalar(ResidentID.checkCharacter(for: Array(digits.utf8)[...])))
            let id = try! ResidentID(number, today: Self.today)
            return .issue(.init(licenseType: "residence_permit", province: province,
                                holderRef: HolderRef(id: id, key: Self.holderKey), holderMasked: id.masked,
                                attributes: ["city": signer.origin, "address": "No. \(n)"], validFrom: Self.today, validUntil: nil))
        }
        _ = try await store.author(events, signer: signer, catalog: Self.catalog,
                                        physicalMilliseconds: Self.now, today: Self.today)
    }

    /// `dialer` dials `acceptor` (listening on a port of its own) and their session runs
    /// until `body` returns.
    func whileConnected(_ dialer: Node, to acceptor: Node, _ body: () async throws -> Void) async throws {
        let listener = try await acceptor.gossip.bind(host: "127.0.0.1", port: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.serve() }
            group.addTask { _ = await dialer.gossip.dial(.init(nodeID: acceptor.name, host: "127.0.0.1", port: listener.port)) }
            try await body()
            group.cancelAll()
        }
    }

    /// Waits, without sleeping, until `node` holds `target` (its hub announces every append).
    func waitUntil(_ node: Node, holds target: VersionVector) async throws {
        let updates = node.gossip.hub.subscribe()
        if try node.store.versionVector() == target { return }
        for await vector in updates where vector == target { return }
    }

    @Test func twoNodes_convergeOverMutualTLS() async throws {
        let gd = try node("gd", province: "440000", trusting: ["sh"])
        let sh = try node("sh", province: "310000", trusting: ["gd"])
        try await issue(gd, 300, province: "440000")
        try await issue(sh, 120, province: "310000")
        let target = VersionVector(["gd": 300, "sh": 120])
        try await whileConnected(gd, to: sh) {
            try await waitUntil(gd, holds: target)
            try await waitUntil(sh, holds: target)
        }
        #expect(try gd.store.ledgerDigest() == sh.store.ledgerDigest())
        #expect(try LedgerVerifier.verify(gd.store).isValid)
    }

    /// A session sends its Hello when it connects, not at its first tick: with ticks an
    /// hour apart the nodes still converge (each new session used to wait up to a tick).
    @Test func sessions_startWithoutWaitingForATick() async throws {
        let gd = try node("gd", province: "440000", trusting: ["sh"], tickMilliseconds: 3_600_000)
        let sh = try node("sh", province: "310000", trusting: ["gd"], tickMilliseconds: 3_600_000)
        try await issue(gd, 20, province: "440000")
        try await whileConnected(gd, to: sh) {
            try await waitUntil(sh, holds: VersionVector(["gd": 20]))
        }
        #expect(try gd.store.ledgerDigest() == sh.store.ledgerDigest())
    }

    @Test func newEntries_arePushedOverAnOpenSession() async throws {
        let gd = try node("gd", province: "440000", trusting: ["sh"])
        let sh = try node("sh", province: "310000", trusting: ["gd"])
        try await whileConnected(gd, to: sh) {
            try await issue(gd, 5, province: "440000")
            gd.gossip.hub.publish(try gd.store.versionVector())
            try await waitUntil(sh, holds: VersionVector(["gd": 5]))
        }
    }

    @Test func certificateFromAnotherCA_isRefusedAndNothingIsStored() async throws {
        let foreignCA = try TransportPKI.makeCA(name: "someone else", notBefore: Date(timeIntervalSinceNow: -3600), days: 30)
        let intruder = try node("gd", province: "440000", ca: foreignCA, trusting: ["sh"])
        let sh = try node("sh", province: "310000", trusting: ["gd"])
        try await issue(intruder, 3, province: "440000")
        let listener = try await sh.gossip.bind(host: "127.0.0.1", port: 0)
        let reason = await withThrowingTaskGroup(of: SyncError?.self) { group in
            group.addTask { try await listener.serve(); return nil }
            let reason = await intruder.gossip.dial(.init(nodeID: "sh", host: "127.0.0.1", port: listener.port))
            group.cancelAll()
            return reason
        }
        #expect(reason.code != "closed")
        #expect(try sh.store.entryCount() == 0)
    }

    @Test func helloThatContradictsTheCertificate_isRefused() async throws {
        // Certified as "zj", says "gd" in its Hello.
        let liar = try node("gd", province: "440000", certifiedAs: "zj", trusting: ["sh"])
        let sh = try node("sh", province: "310000", trusting: ["gd"])
        try await issue(liar, 3, province: "440000")
        let listener = try await sh.gossip.bind(host: "127.0.0.1", port: 0)
        let reason = await withThrowingTaskGroup(of: SyncError?.self) { group in
            group.addTask { try await listener.serve(); return nil }
            let reason = await liar.gossip.dial(.init(nodeID: "sh", host: "127.0.0.1", port: listener.port))
            group.cancelAll()
            return reason
        }
        #expect(reason.code == "peer_wrong_peer")
        #expect(try sh.store.entryCount() == 0)
    }

    @Test func peerThatIsNotTheExpectedNode_isRefusedByTheDialer() async throws {
        let gd = try node("gd", province: "440000", trusting: ["sh"])
        let sh = try node("sh", province: "310000", trusting: ["gd"])
        let listener = try await sh.gossip.bind(host: "127.0.0.1", port: 0)
        let reason = await withThrowingTaskGroup(of: SyncError?.self) { group in
            group.addTask { try await listener.serve(); return nil }
            let reason = await gd.gossip.dial(.init(nodeID: "bj", host: "127.0.0.1", port: listener.port))
            group.cancelAll()
            return reason
        }
        #expect(reason == .wrongPeer(expected: "bj", got: "sh"))
    }

    @Test func certificatesTravelWithTheGossip_soEntriesOfANewOriginAreAccepted() async throws {
        let root = try SigningKey(seed: Array(repeating: 3, count: 32))
        // sh does not know gd's key; gd holds the root's certificate of it.
        let gd = try node("gd", province: "440000", trusting: [], root: root)
        let sh = try node("sh", province: "310000", trusting: [], root: root)
        try await issue(gd, 20, province: "440000")
        try await whileConnected(gd, to: sh) {
            try await waitUntil(sh, holds: VersionVector(["gd": 20]))
        }
        #expect(try sh.store.certificates(root: root.publicKey).map(\.body.nodeID).contains("gd"))
        #expect(try LedgerVerifier.verify(sh.store).isValid)
    }

    /// Trust material published at one end of a line gd – zj – sh after the sessions are
    /// up reaches the other end; entries of a key zj did not know yet are held back, not
    /// lost, and arrive once its certificate has.
    @Test func trustPublishedMidSession_isRelayedAlongALine_andUnblocksEntriesOfTheNewKey() async throws {
        let root = try SigningKey(seed: Array(repeating: 4, count: 32))
        let gd = try node("gd", province: "440000", trusting: [], root: root)
        let zj = try node("zj", province: "330000", trusting: [], root: root)
        let sh = try node("sh", province: "310000", trusting: [], root: root)
        try await issue(gd, 2, province: "440000")
        let bjSigner = signer("bj")
        let bjCertificate = IssuerCertificate.issue(.init(
            nodeID: "bj", province: "110000", publicKey: bjSigner.key.publicKey, notBeforeMilliseconds: 0,
            notAfterMilliseconds: Self.now * 2, licenseTypes: ["residence_permit"], rootKeyID: RootKeyID.derive(root.publicKey)),
            root: root)
        let revocation = KeyRevocation.issue(.init(keyID: bjSigner.keyID, compromisedAtMilliseconds: Self.now + 1, reason: "test",
                                                   rootKeyID: RootKeyID.derive(root.publicKey)), root: root)
        let shLearned = sh.gossip.hub.subscribeTrust()
        let listener = try await zj.gossip.bind(host: "127.0.0.1", port: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.serve() }
            group.addTask { _ = await gd.gossip.dial(.init(nodeID: "zj", host: "127.0.0.1", port: listener.port)) }
            group.addTask { _ = await sh.gossip.dial(.init(nodeID: "zj", host: "127.0.0.1", port: listener.port)) }
            try await waitUntil(sh, holds: VersionVector(["gd": 2]))

            // gd learns bj's key quietly and takes bj's entries: zj, not knowing the key, holds them back.
            try gd.store.addCertificate(bjCertificate)
            try await issue(store: gd.store, signer: bjSigner, 5, province: "110000")
            gd.gossip.hub.publish(try gd.store.versionVector())
            // Then the certificate is published through gd, as `licensectl trust publish` does.
            let bytes = { (body: [UInt8], signature: [UInt8]) in SyncFrame.SignedBytes(body: body, signature: signature) }
            gd.gossip.hub.publishTrust(certificates: [bytes(bjCertificate.bodyBytes, bjCertificate.signature)], revocations: [])
            try await waitUntil(sh, holds: VersionVector(["gd": 2, "bj": 5]))

            gd.gossip.hub.publishTrust(certificates: [], revocations: [bytes(revocation.bodyBytes, revocation.signature)])
            for await update in shLearned where !update.revocations.isEmpty { break }
            group.cancelAll()
        }
        #expect(try sh.store.revocations(root: root.publicKey) == [revocation])
        #expect(try zj.store.revocations(root: root.publicKey) == [revocation])
        #expect(try LedgerVerifier.verify(sh.store).isValid)
    }

    /// zj holds back bj's entries for want of bj's certificate, then learns it elsewhere
    /// (another session, `licensectl trust publish`), not from the peer that sent them: the
    /// session notices the keys changed and asks gd for the entries again, with no
    /// anti-entropy round to rely on.
    @Test func entriesHeldBackForAKey_areFetchedAgain_whenTheKeyArrivesByAnotherPath() async throws {
        let root = try SigningKey(seed: Array(repeating: 4, count: 32))
        let gd = try node("gd", province: "440000", trusting: [], root: root)
        let zj = try node("zj", province: "330000", trusting: [], root: root)
        let bjSigner = signer("bj")
        let bjCertificate = IssuerCertificate.issue(.init(
            nodeID: "bj", province: "110000", publicKey: bjSigner.key.publicKey, notBeforeMilliseconds: 0,
            notAfterMilliseconds: Self.now * 2, licenseTypes: ["residence_permit"], rootKeyID: RootKeyID.derive(root.publicKey)),
            root: root)
        // Each already holds the other's certificate: nothing learned at establishment asks
        // for an announcement that could hide the bug.
        for certificate in try gd.store.certificates(root: root.publicKey) { try zj.store.addCertificate(certificate) }
        for certificate in try zj.store.certificates(root: root.publicKey) { try gd.store.addCertificate(certificate) }
        let (appends, appended) = AsyncStream.makeStream(of: Int.self)
        zj.gossip.board.observe { event in
            if case let .appended(entries, _) = event { appended.yield(entries) }
        }
        try await whileConnected(gd, to: zj) {
            try await issue(gd, 2, province: "440000")
            gd.gossip.hub.publish(try gd.store.versionVector())
            try await waitUntil(zj, holds: VersionVector(["gd": 2]))
            try gd.store.addCertificate(bjCertificate)
            try await issue(store: gd.store, signer: bjSigner, 5, province: "110000")
            gd.gossip.hub.publish(try gd.store.versionVector())
            // The batch of 5 arrives and is held back: zj does not know bj's key.
            for await entries in appends where entries == 5 { break }
            #expect(try zj.store.versionVector() == VersionVector(["gd": 2]))
            try zj.store.addCertificate(bjCertificate)
            try await waitUntil(zj, holds: VersionVector(["gd": 2, "bj": 5]))
        }
        #expect(try LedgerVerifier.verify(zj.store).isValid)
    }

    /// gd issues a license and sh holds it; the link is cut; gd revokes the license while
    /// sh, where the holder moved, transfers it; the link heals. Both nodes end with the
    /// same states, the same conflict (revoke beats transfer) and the same state digest.
    @Test func concurrentRevokeAndTransferAcrossACutLink_convergeToTheSameConflict() async throws {
        let gd = try node("gd", province: "440000", trusting: ["sh"])
        let sh = try node("sh", province: "310000", trusting: ["gd"])
        try await issue(gd, 1, province: "440000")
        let issued = try #require(try gd.store.entries(origin: "gd", after: 0, limit: 1).first)
        func connected(until gdHolds: VersionVector, shHolds: VersionVector) async throws {
            try await whileConnected(gd, to: sh) {
                try await waitUntil(gd, holds: gdHolds)
                try await waitUntil(sh, holds: shHolds)
            }
        }
        try await connected(until: VersionVector(["gd": 1]), shHolds: VersionVector(["gd": 1]))

        // The link is down: each side acts on the license without hearing of the other.
        let revoked = try await gd.store.author([.revoke(.init(licenseID: issued.licenseID, reason: "fraud"))], signer: gd.signer,
                                                catalog: Self.catalog, physicalMilliseconds: Self.now + 10, today: Self.today)
        #expect(revoked.allSatisfy { if case .success = $0 { true } else { false } })
        let old = try #require(issued.body.event.createdLicense)
        var moved = old
        moved.province = "310000"
        let transferred = try await sh.store.author([.transfer(.init(licenseID: issued.licenseID, license: moved, reason: "moved"))],
                                                    signer: sh.signer, catalog: Self.catalog, physicalMilliseconds: Self.now + 20,
                                                    today: Self.today)
        let newLicense = try transferred[0].get().state.id

        try await connected(until: VersionVector(["gd": 2, "sh": 1]), shHolds: VersionVector(["gd": 2, "sh": 1]))
        #expect(try gd.store.stateDigest() == sh.store.stateDigest())
        #expect(try gd.store.conflicts() == sh.store.conflicts())
        #expect(try gd.store.conflicts().map(\.rule) == [.revokeBeatsTransfer])
        #expect(try gd.store.license(issued.licenseID)?.status == .revoked)
        #expect(try sh.store.license(newLicense)?.status == .void)
        #expect(try LedgerVerifier.verify(gd.store).isValid)
        #expect(try LedgerVerifier.verify(sh.store).isValid)
    }

    @Test func nodeNotInThePeerList_isRefusedByTheAcceptor() async throws {
        let gd = try node("gd", province: "440000", trusting: ["sh"])
        let sh = try node("sh", province: "310000", trusting: ["gd"])
        try await issue(gd, 3, province: "440000")
        sh.gossip.setPeerFilter { $0 == "bj" }
        let listener = try await sh.gossip.bind(host: "127.0.0.1", port: 0)
        let reason = await withThrowingTaskGroup(of: SyncError?.self) { group in
            group.addTask { try await listener.serve(); return nil }
            let reason = await gd.gossip.dial(.init(nodeID: "sh", host: "127.0.0.1", port: listener.port))
            group.cancelAll()
            return reason
        }
        #expect(reason.code == "peer_unlisted_peer")
        #expect(try sh.store.entryCount() == 0)
    }

    /// gd signs two branches of equal length: bj holds one, zj and sh the other, in a line
    /// bj – zj – sh. Vectors are equal, so only the heads show the fork; zj finds it with
    /// bj, and sh, which never saw bj's branch, learns the proof from zj and flags gd.
    @Test func equivocationProof_travelsToANodeThatNeverSawBothBranches() async throws {
        let gdSigner = signer("gd")
        var branches: [[Entry]] = []
        for (index, branch) in ["gd-a", "gd-b"].enumerated() {
            let store = try LedgerStore(path: directory.appendingPathComponent("\(branch).sqlite").path,
                                        identity: .init(nodeID: "gd", province: "440000"))
            try store.registerIssuerKey(keyID: gdSigner.keyID, origin: "gd", publicKey: gdSigner.key.publicKey)
            try await issue(store: store, signer: gdSigner, 3, province: "440000", firstHolder: index * 500)
            branches.append(try store.entries(origin: "gd", after: 0, limit: 10))
        }
        let bj = try node("bj", province: "110000", trusting: ["gd", "zj"])
        let zj = try node("zj", province: "330000", trusting: ["gd", "bj", "sh"])
        let sh = try node("sh", province: "310000", trusting: ["gd", "zj"])
        _ = try await bj.store.append(branches[0], physicalMilliseconds: Self.now)
        _ = try await zj.store.append(branches[1], physicalMilliseconds: Self.now)
        _ = try await sh.store.append(branches[1], physicalMilliseconds: Self.now)
        let learned = sh.gossip.hub.subscribeEquivocations()
        let listener = try await zj.gossip.bind(host: "127.0.0.1", port: 0)
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.serve() }
            group.addTask { _ = await sh.gossip.dial(.init(nodeID: "zj", host: "127.0.0.1", port: listener.port)) }
            group.addTask { _ = await bj.gossip.dial(.init(nodeID: "zj", host: "127.0.0.1", port: listener.port)) }
            for await _ in learned { break }
            group.cancelAll()
        }
        let proofs = try sh.store.equivocations()
        #expect(proofs.map(\.origin) == ["gd"] && proofs.map(\.seq) == [3])
        #expect(Set(proofs.flatMap(\.entries).map(\.id)) == [branches[0][2].id, branches[1][2].id])
        #expect(try zj.store.equivocations().map(\.seq) == [3])
    }

    static let quickBackoff: GossipNode.Backoff = {
        var backoff = GossipNode.Backoff()
        backoff.minimum = .milliseconds(10)
        backoff.maximum = .milliseconds(100)
        return backoff
    }()

    /// gd keeps a session up with sh through a relay the test can break; sh holds 10
    /// entries. Once gd holds them, `breakLink` breaks the relay; when gd's session has
    /// ended (its reason is returned), sh writes 5 more, `mendLink` runs, and gd must catch
    /// up over a new session.
    ///
    /// Only endings heard after the break count: on a loaded machine an earlier session may
    /// have timed out while catching up, and its ending says nothing about the break. The 5
    /// entries are announced to sh's sessions as the daemon announces its own writes.
    func linkThatBreaks(gd: Node, sh: Node, breakLink: @Sendable (TCPProxy) -> Void,
                        mendLink: @Sendable (TCPProxy) -> Void = { _ in }) async throws -> SyncError? {
        try await issue(sh, 10, province: "310000")
        let listener = try await sh.gossip.bind(host: "127.0.0.1", port: 0)
        let proxy = try await TCPProxy(to: "127.0.0.1", port: listener.port)
        let (endings, ended) = AsyncStream.makeStream(of: SyncError.self)
        let broken = Latch()
        let reason = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.serve() }
            group.addTask { try await proxy.serve() }
            group.addTask {
                await gd.gossip.keepConnected(to: .init(nodeID: "sh", host: "127.0.0.1", port: proxy.port),
                                              backoff: Self.quickBackoff, while: { true },
                                              ended: { if broken.isSet { ended.yield($0) } })
            }
            try await waitUntil(gd, holds: VersionVector(["sh": 10]))
            broken.set()
            breakLink(proxy)
            var iterator = endings.makeAsyncIterator()
            let reason = await iterator.next()
            try await issue(store: sh.store, signer: sh.signer, 5, province: "310000", firstHolder: 100)
            sh.gossip.hub.publish(try sh.store.versionVector())
            mendLink(proxy)
            try await waitUntil(gd, holds: VersionVector(["sh": 15]))
            group.cancelAll()
            return reason
        }
        #expect(try gd.store.ledgerDigest() == sh.store.ledgerDigest())
        return reason
    }

    /// The TCP connection is cut under a live session: the dialer's session ends, it dials
    /// again, and entries written after the cut arrive over the new session.
    @Test func droppedConnection_isRedialed_andSyncResumes() async throws {
        let gd = try node("gd", province: "440000", trusting: ["sh"], fast: true)
        let sh = try node("sh", province: "310000", trusting: ["gd"], fast: true)
        let reason = try await linkThatBreaks(gd: gd, sh: sh, breakLink: { $0.dropAll() })
        #expect(reason?.code == "peer_closed")
    }

    /// A link that silently stops carrying bytes (a dead route): keepalives go unanswered,
    /// the session ends in an idle timeout, and once the route is back the dialer's next
    /// session catches up.
    @Test func blackholedLink_endsInIdleTimeout_andTheNextSessionCatchesUp() async throws {
        // gd pings every 300 ms (sh's pongs keep it alive) and gives up after 3 s of silence,
        // margin enough for a loaded machine; sh waits a minute, so gd's timeout comes first.
        let gd = try node("gd", province: "440000", trusting: ["sh"], fast: true, idleTimeoutMilliseconds: 3000)
        let sh = try node("sh", province: "310000", trusting: ["gd"], fast: true)
        let reason = try await linkThatBreaks(gd: gd, sh: sh, breakLink: { $0.blackhole(true) }, mendLink: { $0.blackhole(false) })
        #expect(reason?.code == "idle_timeout")
    }

    /// Both nodes dial each other: each side keeps the session dialed by the smaller id
    /// ("gd" < "sh"), the other ends as a duplicate, and the kept one goes on syncing.
    @Test func twoNodesDialingEachOther_keepOneSession() async throws {
        let gd = try node("gd", province: "440000", trusting: ["sh"], fast: true)
        let sh = try node("sh", province: "310000", trusting: ["gd"], fast: true)
        let gdListener = try await gd.gossip.bind(host: "127.0.0.1", port: 0)
        let shListener = try await sh.gossip.bind(host: "127.0.0.1", port: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gdListener.serve() }
            group.addTask { try await shListener.serve() }
            group.addTask { _ = await gd.gossip.dial(.init(nodeID: "sh", host: "127.0.0.1", port: shListener.port)) }
            let dropped = await sh.gossip.dial(.init(nodeID: "gd", host: "127.0.0.1", port: gdListener.port))
            #expect(["duplicate_session", "peer_duplicate_session"].contains(dropped.code))
            try await issue(sh, 5, province: "310000")
            sh.gossip.hub.publish(try sh.store.versionVector())
            try await waitUntil(gd, holds: VersionVector(["sh": 5]))
            #expect(gd.gossip.board.snapshot().map(\.sessions) == [1])
            group.cancelAll()
        }
    }

    /// A peer removed from the peer list (what SIGHUP does) loses its open session.
    @Test func closingAPeersSessions_endsThemWithTheReason() async throws {
        let gd = try node("gd", province: "440000", trusting: ["sh"], fast: true)
        let sh = try node("sh", province: "310000", trusting: ["gd"], fast: true)
        try await issue(sh, 3, province: "310000")
        let listener = try await sh.gossip.bind(host: "127.0.0.1", port: 0)
        let reason = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.serve() }
            async let reason = gd.gossip.dial(.init(nodeID: "sh", host: "127.0.0.1", port: listener.port))
            try await waitUntil(gd, holds: VersionVector(["sh": 3]))
            sh.gossip.board.closeSessions(with: "gd", reason: .unlistedPeer("gd"))
            let ended = await reason
            group.cancelAll()
            return ended
        }
        #expect(reason == .peerReported(code: "unlisted_peer", message: "node 'gd' is not in this node's peer list"))
    }

    @Test func nodeCertificate_namesItsNodeID() throws {
        let issued = try TransportPKI.makeNode(nodeID: "gd", caCertificatePEM: Self.ca.certificatePEM,
                                               caKeyPEM: Self.ca.privateKeyPEM, notBefore: Date(), days: 1)
        let certificate = try X509Bridge.der(fromPEM: issued.certificatePEM)
        #expect(TransportPKI.nodeID(ofCertificateDER: certificate) == "gd")
    }
}

/// One session per pair, decided alike on both sides without talking.
@Suite struct SessionTieBreakTests {
    @Test func oppositeDirections_keepTheOneDialedByTheSmallerID() {
        // On gd ("gd" < "sh"): gd's own dial is preferred over sh's.
        let board = PeerBoard()
        let inbound = SessionControl(), outbound = SessionControl()
        #expect(board.register(nodeID: "sh", dialedHere: false, localNodeID: "gd", control: inbound) != nil)
        #expect(board.register(nodeID: "sh", dialedHere: true, localNodeID: "gd", control: outbound) != nil)
        #expect(inbound.takeClose() == .duplicateSession(peer: "sh"))
        #expect(outbound.takeClose() == nil)
        // On sh, the same pair: gd's dial (inbound there) wins; sh's own dial is refused.
        let shBoard = PeerBoard()
        #expect(shBoard.register(nodeID: "gd", dialedHere: false, localNodeID: "sh", control: SessionControl()) != nil)
        #expect(shBoard.register(nodeID: "gd", dialedHere: true, localNodeID: "sh", control: SessionControl()) == nil)
    }

    /// The peer dialed again in the same direction: its old session is dead or dying, so the
    /// new one replaces it instead of being refused until the old one times out.
    @Test func sameDirection_newSessionReplacesTheOld() {
        let board = PeerBoard()
        let old = SessionControl(), new = SessionControl()
        #expect(board.register(nodeID: "gd", dialedHere: false, localNodeID: "sh", control: old) != nil)
        #expect(board.register(nodeID: "gd", dialedHere: false, localNodeID: "sh", control: new) != nil)
        #expect(old.takeClose() == .duplicateSession(peer: "gd"))
        #expect(new.takeClose() == nil)
        // Also for the direction that loses the tie-break, as long as it is alone.
        let gdBoard = PeerBoard()
        let first = SessionControl(), second = SessionControl()
        #expect(gdBoard.register(nodeID: "sh", dialedHere: false, localNodeID: "gd", control: first) != nil)
        #expect(gdBoard.register(nodeID: "sh", dialedHere: false, localNodeID: "gd", control: second) != nil)
        #expect(first.takeClose() == .duplicateSession(peer: "sh"))
    }
}
