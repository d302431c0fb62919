import LicenseCore
import Testing

/// Turning a clerk's request into an event, and checking a local event before signing.
@Suite struct LicenseAuthoringTests {
    let catalog = Fixtures.catalog
    let drivingAttributes = ["licence_class": "C1", "first_issue_date": "2020-05-01"]

    func issue(type: String = "driving_licence", holder: String = Fixtures.idNumber, attributes: [String: String]? = nil,
               from: String? = nil, until: String? = nil) throws(LicenseRequestError) -> LicenseEvent.Issue {
        try LicenseAuthoring.issue(
            type: type, holder: holder, attributes: attributes ?? drivingAttributes, validFrom: from, validUntil: until,
            province: "440000", catalog: catalog, holderKey: Fixtures.holderKey, today: Fixtures.today)
    }

    func state(_ issue: LicenseEvent.Issue) throws -> LicenseState {
        var gd = ChainWriter(Fixtures.signer)
        return try LicenseState(issuing: gd.append(.issue(issue), hlc: Fixtures.hlc(1000)))
    }

    // MARK: - Issue

    @Test func issue_shouldBuildEventWithHolderRefAndMaskedNumberOnly() throws {
        let event = try issue()
        #expect(event.licenseType == "driving_licence")
        #expect(event.province == "440000")
        #expect(event.holderRef == Fixtures.holderRef)
        #expect(event.holderMasked == "11************002X")
        #expect(event.attributes == drivingAttributes)
    }

    @Test func issue_shouldNormaliseLowercaseXToTheSameHolder() throws {
        #expect(try issue(holder: "11010519491231002x").holderRef == Fixtures.holderRef)
    }

    @Test func issue_shouldDefaultValidityFromTodayAndTheCatalog() throws {
        let event = try issue() // driving_licence: 6 years
        #expect(event.validFrom == Fixtures.today)
        #expect(event.validUntil == Fixtures.date("2032-03-01"))
        // An empty string means "not given".
        #expect(try issue(from: "", until: "").validUntil == Fixtures.date("2032-03-01"))
    }

    @Test func issue_shouldCountDefaultValidityFromTheGivenStart() throws {
        let event = try issue(from: "2024-02-29")
        #expect(event.validFrom == Fixtures.date("2024-02-29"))
        #expect(event.validUntil == Fixtures.date("2030-02-28"))
    }

    @Test func issue_shouldKeepAnExplicitEnd() throws {
        let event = try issue(from: "2026-01-01", until: "2026-01-01")
        #expect(event.validUntil == Fixtures.date("2026-01-01"))
    }

    @Test func issue_shouldLeaveNonExpiringTypesWithoutEnd() throws {
        let event = try issue(type: "professional_qualification",
                              attributes: ["qualification": "electrician", "level": "3", "certificate_number": "Q-1"])
        #expect(event.validUntil == nil)
    }

    @Test func issue_shouldRefuseUnknownType() {
        #expect(throws: LicenseRequestError.invalid(.unknownLicenseType("pilot_licence"))) {
            try issue(type: "pilot_licence")
        }
    }

    @Test func issue_shouldRefuseBadAttributes() {
        #expect(throws: LicenseRequestError.invalid(.missingAttribute(type: "driving_licence", name: "licence_class"))) {
            try issue(attributes: ["first_issue_date": "2020-05-01"])
        }
        #expect(throws: LicenseRequestError.invalid(.unknownAttribute(type: "driving_licence", name: "colour"))) {
            try issue(attributes: drivingAttributes.merging(["colour": "red"]) { $1 })
        }
        #expect(throws: LicenseRequestError.invalid(.badAttributeValue(
            type: "driving_licence", name: "licence_class",
            expected: "one of A1, A2, A3, B1, B2, C1, C2, C3, C4, C5, C6, D, E, F, M, N, P"))) {
            try issue(attributes: ["licence_class": "Z9", "first_issue_date": "2020-05-01"])
        }
    }

    @Test func issue_shouldRefuseTooManyAttributes() {
        var attributes = drivingAttributes
        for index in 0..<LicenseEvent.attributesMax { attributes["extra\(index)"] = "x" }
        #expect(throws: LicenseRequestError.invalid(.textTooLong(field: "attributes", bytesMax: LicenseEvent.attributesMax))) {
            try issue(attributes: attributes)
        }
    }

    @Test func issue_shouldRefuseBadDates() {
        #expect(throws: LicenseRequestError.invalid(.badDate(field: "valid_from", value: "2026-02-30"))) {
            try issue(from: "2026-02-30")
        }
        #expect(throws: LicenseRequestError.invalid(.badDate(field: "valid_until", value: "next year"))) {
            try issue(until: "next year")
        }
        #expect(throws: LicenseRequestError.invalid(.validityEndsBeforeStart(from: "2026-03-01", until: "2026-02-28"))) {
            try issue(until: "2026-02-28")
        }
    }

    @Test func issue_shouldRefuseAnInvalidIDNumberWithTheReason() {
        #expect(throws: LicenseRequestError.invalidHolder(.checksumMismatch(expected: "X"))) {
            try issue(holder: "110105194912310020")
        }
        #expect(throws: LicenseRequestError.invalidHolder(.wrongLength(5))) { try issue(holder: "12345") }
        #expect(throws: LicenseRequestError.invalidHolder(.implausibleBirthDate("2026-03-02"))) {
            try issue(holder: "440304202603020019")
        }
    }

    @Test func issue_shouldNotMentionTheIDNumberInErrors() {
        let error = LicenseRequestError.invalidHolder(.checksumMismatch(expected: "X"))
        #expect(!error.description.contains("110105"))
    }

    // MARK: - Later events

    @Test func check_shouldRequireAReasonForSuspendAndRevoke() throws {
        let state = try state(issue())
        // Blank in every way a clerk's keyboard can make it, ideographic space included.
        for reason in ["", "   ", "\t\n", "\r\n", "\u{3000}\u{3000}", " \u{00A0}"] {
            #expect(throws: LicenseRequestError.invalid(.reasonRequired("suspend"))) {
                try LicenseAuthoring.check(.suspend(.init(licenseID: state.id, reason: reason)), on: state, author: "gd",
                                           at: Fixtures.hlc(2000), catalog: catalog)
            }
            #expect(throws: LicenseRequestError.invalid(.reasonRequired("revoke"))) {
                try LicenseAuthoring.check(.revoke(.init(licenseID: state.id, reason: reason)), on: state, author: "gd",
                                           at: Fixtures.hlc(2000), catalog: catalog)
            }
        }
        let revoked = try LicenseAuthoring.check(.revoke(.init(licenseID: state.id, reason: "fraud")), on: state,
                                                 author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        #expect(revoked.status == .revoked)
    }

    @Test func check_shouldNotRequireAReasonForReinstateRenewOrAmend() throws {
        let state = try state(issue())
        let suspended = try LicenseAuthoring.check(.suspend(.init(licenseID: state.id, reason: "check")), on: state,
                                                   author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        let reinstated = try LicenseAuthoring.check(.reinstate(.init(licenseID: state.id, reason: "")), on: suspended,
                                                    author: "gd", at: Fixtures.hlc(3000), catalog: catalog)
        #expect(reinstated.status == .active)
        let renewed = try LicenseAuthoring.check(
            .renew(.init(licenseID: state.id, validUntil: Fixtures.date("2040-01-01"), reason: "")),
            on: reinstated, author: "gd", at: Fixtures.hlc(4000), catalog: catalog)
        #expect(renewed.validUntil == Fixtures.date("2040-01-01"))
        let amended = try LicenseAuthoring.check(
            .amend(.init(licenseID: state.id, set: ["restrictions": "glasses"], remove: [], reason: "")),
            on: renewed, author: "gd", at: Fixtures.hlc(5000), catalog: catalog)
        #expect(amended.attributes["restrictions"] == "glasses")
        #expect(amended.eventCount == 5)
    }

    /// SQLite's text binding cuts text at a NUL: such text would be stored other than signed.
    @Test func requests_shouldRefuseANULCharacterInAnyText() throws {
        #expect(throws: LicenseRequestError.invalid(.containsNUL(field: "attribute 'first_issue_date'"))) {
            try issue(attributes: ["licence_class": "C1", "first_issue_date": "2020-05-01\u{0}"])
        }
        let state = try state(issue())
        for event: LicenseEvent in [.revoke(.init(licenseID: state.id, reason: "fraud\u{0}hidden")),
                                    .amend(.init(licenseID: state.id, set: ["restrictions": "glasses"], remove: [], reason: "\u{0}"))] {
            #expect(throws: LicenseRequestError.invalid(.containsNUL(field: "reason"))) {
                try LicenseAuthoring.check(event, on: state, author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
            }
        }
        #expect(throws: LicenseRequestError.invalid(.containsNUL(field: "attribute 'restrictions'"))) {
            try LicenseAuthoring.check(.amend(.init(licenseID: state.id, set: ["restrictions": "a\u{0}b"], remove: [], reason: "")),
                                       on: state, author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        }
        #expect(throws: LicenseValidationError.containsNUL(field: "purpose")) {
            try LicenseAuthoring.checkFreeText("audit\u{0}", field: "purpose", bytesMax: 100)
        }
    }

    @Test func check_shouldRefuseAReasonThatIsTooLong() throws {
        let state = try state(issue())
        let long = String(repeating: "r", count: LicenseEvent.reasonBytesMax + 1)
        #expect(throws: LicenseRequestError.invalid(.textTooLong(field: "reason", bytesMax: LicenseEvent.reasonBytesMax))) {
            try LicenseAuthoring.check(.revoke(.init(licenseID: state.id, reason: long)), on: state, author: "gd",
                                       at: Fixtures.hlc(2000), catalog: catalog)
        }
    }

    @Test func check_shouldRefuseAnEmptyAmendment() throws {
        let state = try state(issue())
        #expect(throws: LicenseRequestError.rejected(.emptyAmendment(state.id))) {
            try LicenseAuthoring.check(.amend(.init(licenseID: state.id, set: [:], remove: [], reason: "")), on: state,
                                       author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        }
    }

    @Test func check_shouldValidateAmendmentsAgainstTheCatalog() throws {
        let state = try state(issue())
        #expect(throws: LicenseRequestError.invalid(.cannotRemoveRequired(type: "driving_licence", name: "licence_class"))) {
            try LicenseAuthoring.check(.amend(.init(licenseID: state.id, set: [:], remove: ["licence_class"], reason: "")),
                                       on: state, author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        }
        #expect(throws: LicenseRequestError.invalid(.badAttributeValue(
            type: "driving_licence", name: "first_issue_date", expected: "a date YYYY-MM-DD"))) {
            try LicenseAuthoring.check(.amend(.init(licenseID: state.id, set: ["first_issue_date": "x"], remove: [], reason: "")),
                                       on: state, author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        }
    }

    @Test func check_shouldRefuseRenewalThatIsNotLaterOrOfANonExpiringLicense() throws {
        let state = try state(issue()) // ends 2032-03-01
        #expect(throws: LicenseRequestError.rejected(.renewalNotLater(
            license: state.id, current: Fixtures.date("2032-03-01"), requested: Fixtures.date("2030-01-01")))) {
            try LicenseAuthoring.check(.renew(.init(licenseID: state.id, validUntil: Fixtures.date("2030-01-01"), reason: "")),
                                       on: state, author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        }
        let permanent = try self.state(issue(type: "professional_qualification",
                                             attributes: ["qualification": "q", "level": "1", "certificate_number": "c"]))
        #expect(throws: LicenseRequestError.rejected(.doesNotExpire(permanent.id))) {
            try LicenseAuthoring.check(.renew(.init(licenseID: permanent.id, validUntil: Fixtures.date("2040-01-01"), reason: "")),
                                       on: permanent, author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        }
    }

    @Test func check_shouldRefuseAnAuthorThatIsNotTheIssuer() throws {
        let state = try state(issue())
        #expect(throws: LicenseRequestError.rejected(.notIssuer(license: state.id, issuer: "gd", author: "bj"))) {
            try LicenseAuthoring.check(.revoke(.init(licenseID: state.id, reason: "not ours")), on: state, author: "bj",
                                       at: Fixtures.hlc(2000), catalog: catalog)
        }
    }

    @Test func check_shouldRefuseAnyEventOnARevokedLicense() throws {
        let state = try state(issue())
        let revoked = try LicenseAuthoring.check(.revoke(.init(licenseID: state.id, reason: "fraud")), on: state,
                                                 author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        #expect(throws: LicenseRequestError.rejected(.alreadyRevoked(state.id))) {
            try LicenseAuthoring.check(.renew(.init(licenseID: state.id, validUntil: Fixtures.date("2040-01-01"), reason: "")),
                                       on: revoked, author: "gd", at: Fixtures.hlc(3000), catalog: catalog)
        }
    }

    @Test func check_shouldRefuseAnIssue() throws {
        let state = try state(issue())
        #expect(throws: LicenseRequestError.rejected(.notAnIssue(state.id))) {
            try LicenseAuthoring.check(.issue(issue()), on: state, author: "gd", at: Fixtures.hlc(2000), catalog: catalog)
        }
    }
}
