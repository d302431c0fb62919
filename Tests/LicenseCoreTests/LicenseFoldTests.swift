import LicenseCore
import Testing

/// The rules of `LicenseState.applying` and the fold of a license's entries.
@Suite struct LicenseFoldTests {
    static let start: UInt64 = 1_767_225_600_000

    /// An issued driving licence (valid 2026-01-01 ... 2032-01-01) and the writer of its origin.
    func issued(_ issue: LicenseEvent.Issue = Fixtures.drivingLicenceIssue()) throws -> (Entry, LicenseState, ChainWriter) {
        var gd = ChainWriter(Fixtures.signer)
        let entry = gd.append(.issue(issue), hlc: Fixtures.hlc(Self.start))
        return (entry, try LicenseState(issuing: entry), gd)
    }

    func at(_ offset: UInt64, _ logical: UInt32 = 0) -> HybridTimestamp {
        Fixtures.hlc(Self.start + offset, logical)
    }

    // MARK: - The issue

    @Test func initIssuing_shouldTakeEverythingFromTheIssueEntry() throws {
        let (entry, state, _) = try issued()
        #expect(state.id == entry.licenseID)
        #expect(state.licenseType == "driving_licence")
        #expect(state.province == "440000")
        #expect(state.issuerOrigin == "gd")
        #expect(state.issuerKeyID == Fixtures.signer.keyID)
        #expect(state.holderRef == Fixtures.holderRef)
        #expect(state.holderMasked == Fixtures.resident.masked)
        #expect(state.attributes == ["licence_class": "C1", "first_issue_date": "2026-01-01"])
        #expect(state.status == .active)
        #expect(state.statusReason == "")
        #expect(state.issuedAt == at(0))
        #expect(state.updatedAt == at(0))
        #expect(state.eventCount == 1)
    }

    @Test func initIssuing_shouldRefuseAnEntryThatIsNotAnIssue() throws {
        let (entry, _, writer) = try issued()
        var gd = writer
        let revoke = gd.append(.revoke(.init(licenseID: entry.licenseID, reason: "x")), hlc: at(1))
        #expect(throws: LicenseEventError.notAnIssue(entry.licenseID)) { try LicenseState(issuing: revoke) }
    }

    @Test func applying_shouldRefuseAnIssue() throws {
        let (_, state, _) = try issued()
        #expect(throws: LicenseEventError.self) {
            try state.applying(.issue(Fixtures.drivingLicenceIssue()), author: "gd", at: at(1))
        }
    }

    @Test func applying_shouldRefuseAnEventForAnotherLicense() throws {
        let (_, state, _) = try issued()
        let other = LicenseID("gd-999-00112233")!
        #expect(throws: LicenseEventError.self) {
            try state.applying(.suspend(.init(licenseID: other, reason: "x")), author: "gd", at: at(1))
        }
    }

    // MARK: - Who may change a license

    @Test func applying_shouldRefuseEveryEventFromAnOriginOtherThanTheIssuer() throws {
        let (_, state, _) = try issued()
        let id = state.id
        let events: [LicenseEvent] = [
            .amend(.init(licenseID: id, set: ["restrictions": "x"], remove: [], reason: "")),
            .renew(.init(licenseID: id, validUntil: Fixtures.date("2040-01-01"), reason: "")),
            .suspend(.init(licenseID: id, reason: "x")),
            .reinstate(.init(licenseID: id, reason: "x")),
            .revoke(.init(licenseID: id, reason: "x")),
        ]
        for event in events {
            #expect(throws: LicenseEventError.notIssuer(license: id, issuer: "gd", author: "bj")) {
                try state.applying(event, author: "bj", at: at(1))
            }
        }
    }

    // MARK: - Status transitions

    @Test func suspendThenReinstate_shouldReturnToActiveWithReasons() throws {
        let (_, state, _) = try issued()
        let suspended = try state.applying(.suspend(.init(licenseID: state.id, reason: "court order")), author: "gd", at: at(1))
        #expect(suspended.status == .suspended)
        #expect(suspended.statusReason == "court order")
        let active = try suspended.applying(.reinstate(.init(licenseID: state.id, reason: "lifted")), author: "gd", at: at(2))
        #expect(active.status == .active)
        #expect(active.statusReason == "lifted")
        #expect(active.eventCount == 3)
        #expect(active.updatedAt == at(2))
    }

    @Test func suspend_shouldRefuseALicenseThatIsAlreadySuspended() throws {
        let (_, state, _) = try issued()
        let suspended = try state.applying(.suspend(.init(licenseID: state.id, reason: "a")), author: "gd", at: at(1))
        #expect(throws: LicenseEventError.alreadySuspended(state.id)) {
            try suspended.applying(.suspend(.init(licenseID: state.id, reason: "b")), author: "gd", at: at(2))
        }
    }

    @Test func reinstate_shouldRefuseALicenseThatIsNotSuspended() throws {
        let (_, state, _) = try issued()
        #expect(throws: LicenseEventError.notSuspended(state.id)) {
            try state.applying(.reinstate(.init(licenseID: state.id, reason: "")), author: "gd", at: at(1))
        }
    }

    @Test func revoke_shouldApplyToActiveAndSuspendedLicenses() throws {
        let (_, state, _) = try issued()
        let revoked = try state.applying(.revoke(.init(licenseID: state.id, reason: "fraud")), author: "gd", at: at(1))
        #expect(revoked.status == .revoked)
        #expect(revoked.statusReason == "fraud")
        let suspended = try state.applying(.suspend(.init(licenseID: state.id, reason: "a")), author: "gd", at: at(1))
        #expect(try suspended.applying(.revoke(.init(licenseID: state.id, reason: "b")), author: "gd", at: at(2)).status
            == .revoked)
    }

    @Test func revoked_shouldBeFinal() throws {
        let (_, state, _) = try issued()
        let revoked = try state.applying(.revoke(.init(licenseID: state.id, reason: "fraud")), author: "gd", at: at(1))
        let id = state.id
        let events: [LicenseEvent] = [
            .amend(.init(licenseID: id, set: ["restrictions": "x"], remove: [], reason: "")),
            .renew(.init(licenseID: id, validUntil: Fixtures.date("2040-01-01"), reason: "")),
            .suspend(.init(licenseID: id, reason: "x")),
            .reinstate(.init(licenseID: id, reason: "x")),
            .revoke(.init(licenseID: id, reason: "again")),
        ]
        for event in events {
            #expect(throws: LicenseEventError.alreadyRevoked(id)) { try revoked.applying(event, author: "gd", at: at(2)) }
        }
    }

    // MARK: - Renew and amend

    @Test func renew_shouldExtendValidity() throws {
        let (_, state, _) = try issued()
        let renewed = try state.applying(.renew(.init(licenseID: state.id, validUntil: Fixtures.date("2038-01-01"), reason: "")),
                                         author: "gd", at: at(1))
        #expect(renewed.validUntil == Fixtures.date("2038-01-01"))
        #expect(renewed.validFrom == state.validFrom)
    }

    @Test func renew_shouldRefuseAnEndThatIsNotLater() throws {
        let (_, state, _) = try issued()
        let current = Fixtures.date("2032-01-01")
        for requested in [current, Fixtures.date("2031-12-31"), Fixtures.date("2027-06-01")] {
            #expect(throws: LicenseEventError.renewalNotLater(license: state.id, current: current, requested: requested)) {
                try state.applying(.renew(.init(licenseID: state.id, validUntil: requested, reason: "")), author: "gd", at: at(1))
            }
        }
    }

    @Test func renew_shouldRefuseAnEndBeforeTheStart() throws {
        let (_, state, _) = try issued()
        let requested = Fixtures.date("2025-06-01")
        #expect(throws: LicenseEventError.renewalBeforeStart(license: state.id, validFrom: Fixtures.date("2026-01-01"),
                                                             validUntil: requested)) {
            try state.applying(.renew(.init(licenseID: state.id, validUntil: requested, reason: "")), author: "gd", at: at(1))
        }
    }

    @Test func renew_shouldRefuseALicenseThatDoesNotExpire() throws {
        let (_, state, _) = try issued(Fixtures.qualificationIssue())
        #expect(state.validUntil == nil)
        #expect(throws: LicenseEventError.doesNotExpire(state.id)) {
            try state.applying(.renew(.init(licenseID: state.id, validUntil: Fixtures.date("2040-01-01"), reason: "")),
                               author: "gd", at: at(1))
        }
    }

    @Test func amend_shouldSetAndRemoveAttributes() throws {
        var issue = Fixtures.drivingLicenceIssue()
        issue.attributes["restrictions"] = "glasses"
        let (_, state, _) = try issued(issue)
        let amended = try state.applying(
            .amend(.init(licenseID: state.id, set: ["licence_class": "B1"], remove: ["restrictions"], reason: "exam")),
            author: "gd", at: at(1))
        #expect(amended.attributes == ["licence_class": "B1", "first_issue_date": "2026-01-01"])
        #expect(amended.status == .active)
    }

    @Test func amend_shouldRefuseAnEmptyAmendment() throws {
        let (_, state, _) = try issued()
        #expect(throws: LicenseEventError.emptyAmendment(state.id)) {
            try state.applying(.amend(.init(licenseID: state.id, set: [:], remove: [], reason: "nothing")), author: "gd", at: at(1))
        }
    }

    @Test func applying_shouldNeverMoveUpdatedAtBackwards() throws {
        let (_, state, _) = try issued()
        let later = try state.applying(.suspend(.init(licenseID: state.id, reason: "a")), author: "gd", at: at(50))
        let earlier = try later.applying(.reinstate(.init(licenseID: state.id, reason: "")), author: "gd", at: at(10))
        #expect(earlier.updatedAt == at(50))
    }

    @Test func errorCodes_shouldBeStable() throws {
        let id = LicenseID("gd-999-00112233")!
        #expect(LicenseEventError.notIssuer(license: id, issuer: "gd", author: "bj").code == "not_issuer")
        #expect(LicenseEventError.alreadyRevoked(id).code == "already_revoked")
        #expect(LicenseEventError.doesNotExpire(id).code == "does_not_expire")
        #expect(LicenseEventError.notIssuer(license: id, issuer: "gd", author: "bj").description.contains("'bj'"))
    }

    // MARK: - Effective status

    @Test func effectiveStatus_shouldApplyTheValidityWindow() throws {
        let (_, state, _) = try issued() // 2026-01-01 ... 2032-01-01
        #expect(state.effectiveStatus(today: Fixtures.date("2025-12-31")) == .notYetValid)
        #expect(state.effectiveStatus(today: Fixtures.date("2026-01-01")) == .active)
        #expect(state.effectiveStatus(today: Fixtures.date("2032-01-01")) == .active) // the last day is valid
        #expect(state.effectiveStatus(today: Fixtures.date("2032-01-02")) == .expired)
    }

    @Test func effectiveStatus_shouldLetSuspendedAndRevokedWinOverDates() throws {
        let (_, state, _) = try issued()
        let suspended = try state.applying(.suspend(.init(licenseID: state.id, reason: "a")), author: "gd", at: at(1))
        #expect(suspended.effectiveStatus(today: Fixtures.date("2040-01-01")) == .suspended)
        #expect(suspended.effectiveStatus(today: Fixtures.date("2020-01-01")) == .suspended)
        let revoked = try state.applying(.revoke(.init(licenseID: state.id, reason: "a")), author: "gd", at: at(1))
        #expect(revoked.effectiveStatus(today: Fixtures.date("2040-01-01")) == .revoked)
    }

    @Test func effectiveStatus_shouldNeverExpireALicenseWithoutEnd() throws {
        let (_, state, _) = try issued(Fixtures.qualificationIssue())
        #expect(state.effectiveStatus(today: Fixtures.date("9999-12-31")) == .active)
    }

    // MARK: - The fold

    @Test func fold_shouldReturnNilWithoutAnIssue() throws {
        #expect(LicenseFold.fold([]) == nil)
        let (entry, _, writer) = try issued()
        var gd = writer
        let revoke = gd.append(.revoke(.init(licenseID: entry.licenseID, reason: "x")), hlc: at(1))
        #expect(LicenseFold.fold([revoke]) == nil)
    }

    @Test func fold_shouldGiveTheSameStateInEveryOrder() throws {
        let (issue, _, writer) = try issued()
        var gd = writer
        let id = issue.licenseID
        let entries = [
            issue,
            gd.append(.amend(.init(licenseID: id, set: ["restrictions": "glasses"], remove: [], reason: "")), hlc: at(1)),
            gd.append(.suspend(.init(licenseID: id, reason: "check")), hlc: at(2)),
            gd.append(.reinstate(.init(licenseID: id, reason: "ok")), hlc: at(3)),
            gd.append(.renew(.init(licenseID: id, validUntil: Fixtures.date("2038-01-01"), reason: "")), hlc: at(4)),
            // Refused when applied after the first reinstate: the license is active.
            gd.append(.reinstate(.init(licenseID: id, reason: "twice")), hlc: at(5)),
        ]
        let reference = try #require(LicenseFold.fold(entries))
        #expect(reference.state.status == .active)
        #expect(reference.state.statusReason == "ok")
        #expect(reference.state.validUntil == Fixtures.date("2038-01-01"))
        #expect(reference.state.attributes["restrictions"] == "glasses")
        #expect(reference.state.eventCount == 5)
        #expect(reference.skipped.map { $0.1 } == [.notSuspended(id)])
        var orders = 0
        for order in permutations(of: Array(entries.indices)) {
            let folded = try #require(LicenseFold.fold(order.map { entries[$0] }))
            #expect(folded.state == reference.state, "order \(order)")
            #expect(folded.skipped.map { $0.0.id } == reference.skipped.map { $0.0.id })
            orders += 1
        }
        #expect(orders == 720)
    }

    @Test func fold_shouldApplyEventsInHlcOrderNotArrivalOrder() throws {
        let (issue, _, writer) = try issued()
        var gd = writer
        let id = issue.licenseID
        // The reinstate is stamped before the suspend, so it finds the license active and is skipped.
        let reinstate = gd.append(.reinstate(.init(licenseID: id, reason: "early")), hlc: at(1))
        let suspend = gd.append(.suspend(.init(licenseID: id, reason: "late")), hlc: at(2))
        let folded = try #require(LicenseFold.fold([issue, suspend, reinstate]))
        #expect(folded.state.status == .suspended)
        #expect(folded.skipped.map { $0.0.id } == [reinstate.id])
        #expect(folded.skipped.map { $0.1 } == [.notSuspended(id)])
    }

    @Test func merge_shouldPreferRevokeOverConcurrentRenew() throws {
        let (issue, _, gd) = try issued()
        let id = issue.licenseID
        // Two branches written from the same causal context, stamped in either order.
        for (renewAt, revokeAt) in [(at(2), at(1)), (at(1), at(2)), (at(1, 0), at(1, 1)), (at(1, 1), at(1, 0))] {
            var branchA = gd
            var branchB = gd
            let renew = branchA.append(.renew(.init(licenseID: id, validUntil: Fixtures.date("2040-01-01"), reason: "")),
                                       hlc: renewAt)
            let revoke = branchB.append(.revoke(.init(licenseID: id, reason: "fraud")), hlc: revokeAt)
            for entries in [[issue, renew, revoke], [revoke, renew, issue]] {
                let folded = try #require(LicenseFold.fold(entries))
                #expect(folded.state.status == .revoked, "renew at \(renewAt), revoke at \(revokeAt)")
            }
        }
    }

    @Test func fold_shouldSkipAndReportEventsFromOtherOrigins() throws {
        let (issue, _, gd) = try issued()
        let id = issue.licenseID
        var bj = ChainWriter(origin: "bj", key: Fixtures.otherKey)
        bj.observe(gd)
        let foreignRevoke = bj.append(.revoke(.init(licenseID: id, reason: "not ours")), hlc: at(1))
        let folded = try #require(LicenseFold.fold([issue, foreignRevoke]))
        #expect(folded.state.status == .active)
        #expect(folded.state.eventCount == 1)
        #expect(folded.skipped.map { $0.1 } == [.notIssuer(license: id, issuer: "gd", author: "bj")])
    }

    @Test func fold_shouldBreakHlcTiesByOriginThenSeq() throws {
        let (issue, _, writer) = try issued()
        var gd = writer
        let id = issue.licenseID
        // Same HLC on both: seq order decides, so suspend (seq 2) comes before reinstate (seq 3).
        let suspend = gd.append(.suspend(.init(licenseID: id, reason: "a")), hlc: at(1))
        let reinstate = gd.append(.reinstate(.init(licenseID: id, reason: "b")), hlc: at(1))
        for entries in [[issue, suspend, reinstate], [reinstate, suspend, issue]] {
            let folded = try #require(LicenseFold.fold(entries))
            #expect(folded.state.status == .active)
            #expect(folded.skipped.isEmpty)
        }
    }
}

/// Every permutation of `items` (Heap's algorithm), in a fixed order.
func permutations<T>(of items: [T]) -> [[T]] {
    var items = items
    var out: [[T]] = []
    func generate(_ k: Int) {
        if k <= 1 {
            out.append(items)
            return
        }
        generate(k - 1)
        for i in 0..<(k - 1) {
            items.swapAt(k % 2 == 0 ? i : 0, k - 1)
            generate(k - 1)
        }
    }
    generate(items.count)
    return out
}
