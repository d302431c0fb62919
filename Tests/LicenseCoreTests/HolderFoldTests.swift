import LicenseCore
import Testing

/// The conflict rules of docs/CONFLICTS.md, one named test each, with the not-concurrent
/// controls; and the convergence property: any order, with duplicates, folds alike.
@Suite struct HolderFoldTests {
    typealias F = Fixtures

    /// gd issues a driving licence; sh and bj are the provinces a citizen moves to.
    struct World {
        var gd = ChainWriter(origin: "gd", key: try! SigningKey(seed: Array(0...31)))
        var sh = ChainWriter(origin: "sh", key: try! SigningKey(seed: Array(32...63)))
        var bj = ChainWriter(origin: "bj", key: try! SigningKey(seed: Array(64...95)))
        var clock: UInt64 = 1_000
        let issue: Entry

        init() {
            issue = gd.append(.issue(F.drivingLicenceIssue()), hlc: F.hlc(clock))
            sh.observe(gd)
            bj.observe(gd)
        }

        var license: LicenseID { issue.licenseID }

        mutating func tick() -> HybridTimestamp {
            clock += 10
            return F.hlc(clock)
        }

        mutating func transfer(by writer: WritableKeyPath<World, ChainWriter>, province: String) -> Entry {
            var new = F.drivingLicenceIssue()
            new.province = province
            let hlc = tick()
            return self[keyPath: writer].append(.transfer(.init(licenseID: license, license: new, reason: "moved")), hlc: hlc)
        }

        mutating func gdWrites(_ event: LicenseEvent) -> Entry {
            let hlc = tick()
            return gd.append(event, hlc: hlc)
        }
    }

    static func state(_ result: HolderFold.Result, _ id: LicenseID) -> LicenseState {
        result.states.first { $0.id == id }!
    }

    @Test func revokeConcurrentWithTransfer_theRevokeStands_theNewLicenseIsVoid() {
        for revokeFirst in [true, false] {
            var w = World()
            var revoke: Entry?
            if revokeFirst { revoke = w.gdWrites(.revoke(.init(licenseID: w.license, reason: "fraud"))) }
            let transfer = w.transfer(by: \.sh, province: "310000")
            if !revokeFirst { revoke = w.gdWrites(.revoke(.init(licenseID: w.license, reason: "fraud"))) }
            let result = HolderFold.fold([w.issue, transfer, revoke!])
            #expect(Self.state(result, w.license).status == .revoked)
            #expect(Self.state(result, transfer.licenseID).status == .void)
            #expect(result.conflicts.map(\.rule) == [.revokeBeatsTransfer])
            #expect(result.conflicts.first?.license == w.license)
        }
    }

    @Test func suspensionConcurrentWithTransfer_followsTheHolderToTheNewLicense() {
        for suspendFirst in [true, false] {
            var w = World()
            var suspend: Entry?
            if suspendFirst { suspend = w.gdWrites(.suspend(.init(licenseID: w.license, reason: "unpaid fine"))) }
            let transfer = w.transfer(by: \.sh, province: "310000")
            if !suspendFirst { suspend = w.gdWrites(.suspend(.init(licenseID: w.license, reason: "unpaid fine"))) }
            let result = HolderFold.fold([w.issue, transfer, suspend!])
            #expect(Self.state(result, w.license).status == .superseded)
            #expect(Self.state(result, transfer.licenseID).status == .suspended)
            #expect(Self.state(result, transfer.licenseID).statusReason == "unpaid fine")
            #expect(result.conflicts.map(\.rule) == [.suspensionFollowsTransfer])
        }
    }

    @Test func amendmentConcurrentWithTransfer_staysWithTheOldLicense() {
        var w = World()
        let transfer = w.transfer(by: \.sh, province: "310000")
        let amend = w.gdWrites(.amend(.init(licenseID: w.license, set: ["licence_class": "B2"], remove: [], reason: "")))
        let result = HolderFold.fold([w.issue, transfer, amend])
        #expect(Self.state(result, w.license).attributes["licence_class"] == "B2")
        #expect(Self.state(result, w.license).status == .superseded)
        #expect(Self.state(result, transfer.licenseID).attributes["licence_class"] == "C1")
        #expect(result.conflicts.map(\.rule) == [.changesStayWithOldLicense])
    }

    @Test func suspensionAndRenewalOfOneLicenseConcurrently_bothApply() {
        var w = World()
        let transfer = w.transfer(by: \.sh, province: "310000")
        // sh renews its new licence; gd, not having seen the transfer, suspends the old one.
        let hlc = w.tick()
        let renew = w.sh.append(.renew(.init(licenseID: transfer.licenseID, validUntil: F.date("2035-01-01"), reason: "")), hlc: hlc)
        let suspend = w.gdWrites(.suspend(.init(licenseID: w.license, reason: "unpaid fine")))
        let result = HolderFold.fold([w.issue, transfer, renew, suspend])
        let new = Self.state(result, transfer.licenseID)
        #expect(new.status == .suspended)
        #expect(new.validUntil == F.date("2035-01-01"))
        #expect(Set(result.conflicts.map(\.rule)) == [.suspensionFollowsTransfer, .suspendAndChangeBothApply])
    }

    @Test func twoProvincesTransferOneLicenseConcurrently_theFirstStands() {
        var w = World()
        let first = w.transfer(by: \.sh, province: "310000")
        let second = w.transfer(by: \.bj, province: "110000")
        let result = HolderFold.fold([second, w.issue, first])
        #expect(Self.state(result, w.license).status == .superseded)
        #expect(Self.state(result, first.licenseID).status == .active)
        #expect(Self.state(result, second.licenseID).status == .void)
        #expect(result.conflicts.map(\.rule) == [.firstTransferWins])
    }

    @Test func twoProvincesIssueAOncePerHolderLicenseConcurrently_theEarlierStands() {
        var w = World()
        var bjIssue = F.drivingLicenceIssue()
        bjIssue.province = "110000"
        let hlc = w.tick()
        let later = w.bj.append(.issue(bjIssue), hlc: hlc)
        // bj's context covered gd's issue in World.init; make them concurrent with a fresh writer.
        var fresh = ChainWriter(origin: "bj", key: try! SigningKey(seed: Array(64...95)))
        let concurrent = fresh.append(.issue(bjIssue), hlc: hlc)
        let result = HolderFold.fold([w.issue, concurrent])
        #expect(Self.state(result, w.license).status == .active)
        #expect(Self.state(result, concurrent.licenseID).status == .void)
        #expect(result.conflicts.map(\.rule) == [.earliestOncePerHolderIssueStands])
        // Control: bj saw gd's licence (it would have refused locally); no conflict is invented.
        let seen = HolderFold.fold([w.issue, later])
        #expect(seen.conflicts.isEmpty)
        #expect(Self.state(seen, later.licenseID).status == .active)
    }

    @Test func control_aTransferThatSawTheRevoke_isNoConflict_andMakesNoLicense() {
        var w = World()
        let revoke = w.gdWrites(.revoke(.init(licenseID: w.license, reason: "fraud")))
        w.sh.observe(w.gd)
        let transfer = w.transfer(by: \.sh, province: "310000")
        let result = HolderFold.fold([w.issue, revoke, transfer])
        #expect(result.conflicts.isEmpty)
        #expect(Self.state(result, transfer.licenseID).status == .void)
        #expect(result.skipped.count == 1)
    }

    @Test func control_aSuspensionTheTransferSaw_carriesOverWithoutAConflict() {
        var w = World()
        let suspend = w.gdWrites(.suspend(.init(licenseID: w.license, reason: "unpaid fine")))
        w.sh.observe(w.gd)
        let transfer = w.transfer(by: \.sh, province: "310000")
        let result = HolderFold.fold([w.issue, suspend, transfer])
        #expect(result.conflicts.isEmpty)
        #expect(Self.state(result, transfer.licenseID).status == .suspended)
    }

    /// sh saw gd's suspension, but sh's clock runs behind: its transfer carries an earlier
    /// reading. Causality, not the clocks, orders them: the new license starts suspended.
    @Test func aSkewedClock_cannotOrderAnEventBeforeOneItSaw() {
        var w = World()
        let suspend = w.gdWrites(.suspend(.init(licenseID: w.license, reason: "unpaid fine")))
        w.sh.observe(w.gd)
        var moved = F.drivingLicenceIssue()
        moved.province = "310000"
        let transfer = w.sh.append(.transfer(.init(licenseID: w.license, license: moved, reason: "moved")), hlc: F.hlc(1))
        let result = HolderFold.fold([transfer, suspend, w.issue])
        #expect(Self.state(result, w.license).status == .superseded)
        #expect(Self.state(result, transfer.licenseID).status == .suspended)
        #expect(result.conflicts.isEmpty)
    }

    @Test func aTransferWhoseOldLicenseIsNotKnown_isVoidUntilItArrives() {
        var w = World()
        let transfer = w.transfer(by: \.sh, province: "310000")
        #expect(Self.state(HolderFold.fold([transfer]), transfer.licenseID).status == .void)
        #expect(Self.state(HolderFold.fold([transfer, w.issue]), transfer.licenseID).status == .active)
    }

    @Test func aTransferByTheIssuerItself_isRefused() {
        var w = World()
        let transfer = w.transfer(by: \.gd, province: "440000")
        let result = HolderFold.fold([w.issue, transfer])
        #expect(Self.state(result, w.license).status == .active)
        #expect(Self.state(result, transfer.licenseID).status == .void)
        #expect(result.skipped.first?.1 == .transferToItself(w.license))
    }

    /// Random concurrent histories over three provinces, delivered in random orders with
    /// duplicates: every delivery folds to the same states, conflicts and digest.
    @Test(arguments: 0..<200)
    func anyDeliveryOrder_foldsToTheSameStatesConflictsAndDigest(_ seed: UInt64) {
        var random = SplitMix(seed: seed)
        var w = World()
        var entries = [w.issue]
        let writers: [WritableKeyPath<World, ChainWriter>] = [\.gd, \.sh, \.bj]
        var transfers: [Entry] = []
        for _ in 0..<Int(random.next() % 8 + 2) {
            let writer = writers[Int(random.next() % 3)]
            // Sometimes a writer first hears of another's entries.
            if random.next() % 3 == 0 { w[keyPath: writer].observe(w[keyPath: writers[Int(random.next() % 3)]]) }
            let hlc = w.tick()
            let target = transfers.isEmpty || random.next() % 2 == 0 ? w.license : transfers[Int(random.next() % UInt64(transfers.count))].licenseID
            let event: LicenseEvent = switch random.next() % 6 {
            case 0: .revoke(.init(licenseID: target, reason: "r"))
            case 1: .suspend(.init(licenseID: target, reason: "s"))
            case 2: .reinstate(.init(licenseID: target, reason: ""))
            case 3: .renew(.init(licenseID: target, validUntil: F.date("2040-01-01"), reason: ""))
            case 4: .amend(.init(licenseID: target, set: ["licence_class": "B\(random.next() % 3)"], remove: [], reason: ""))
            default: .transfer(.init(licenseID: target, license: F.drivingLicenceIssue(), reason: "moved"))
            }
            let entry = w[keyPath: writer].append(event, hlc: hlc)
            if case .transfer = event { transfers.append(entry) }
            entries.append(entry)
        }
        let reference = HolderFold.fold(entries)
        let digest = Self.digest(reference)
        for _ in 0..<4 {
            var delivery = entries + entries.filter { _ in random.next() % 4 == 0 }
            for i in stride(from: delivery.count - 1, to: 0, by: -1) {
                delivery.swapAt(i, Int(random.next() % UInt64(i + 1)))
            }
            let folded = HolderFold.fold(delivery)
            #expect(folded.states == reference.states)
            #expect(folded.conflicts == reference.conflicts)
            #expect(Self.digest(folded) == digest)
        }
    }

    static func digest(_ result: HolderFold.Result) -> String {
        var digest = StateDigest()
        for state in result.states { digest.add(StateDigest.hash(state)) }
        for conflict in result.conflicts { digest.add(StateDigest.hash(conflict)) }
        return digest.reported
    }

    @Test func theStateDigest_isASumThatChangesCanBeTakenOutOf() {
        let w = World()
        let state = HolderFold.fold([w.issue]).states[0]
        var digest = StateDigest()
        digest.add(StateDigest.hash(state))
        let one = digest
        digest.add(StateDigest.hash(state))
        digest.subtract(StateDigest.hash(state))
        #expect(digest == one)
        digest.subtract(StateDigest.hash(state))
        #expect(digest == StateDigest())
        #expect(StateDigest(hex: one.hex) == one)
    }
}

/// A small seeded generator for the property tests.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
