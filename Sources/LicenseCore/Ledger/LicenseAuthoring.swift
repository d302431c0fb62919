/// Turns what a clerk typed into a license event, and checks a local event before the
/// node signs it. Everything here is refused with a specific error; nothing is signed
/// that the catalog or the license's state forbids.
public enum LicenseAuthoring {
    /// Builds the issue event for a request, validating the type, the attributes, the
    /// ID number and the validity window. `today` is the network's current civil date.
    public static func issue(
        type code: String,
        holder idNumber: String,
        attributes: [String: String],
        validFrom: String?,
        validUntil: String?,
        province: String,
        catalog: Catalog,
        holderKey: HolderKey,
        today: CivilDate
    ) throws(LicenseRequestError) -> LicenseEvent.Issue {
        guard let type = catalog[code] else { throw .invalid(.unknownLicenseType(code)) }
        let id: ResidentID
        do {
            id = try ResidentID(idNumber, today: today)
        } catch {
            throw .invalidHolder(error)
        }
        guard attributes.count <= LicenseEvent.attributesMax else {
            throw .invalid(.textTooLong(field: "attributes", bytesMax: LicenseEvent.attributesMax))
        }
        do {
            try type.validate(attributes: attributes)
        } catch {
            throw .invalid(error)
        }
        let from = try date(validFrom, field: "valid_from") ?? today
        let until: CivilDate? = try date(validUntil, field: "valid_until")
            ?? type.defaultValidityYears.map { from.adding(years: $0) }
        if let until, until < from {
            throw .invalid(.validityEndsBeforeStart(from: from.description, until: until.description))
        }
        return LicenseEvent.Issue(
            licenseType: code, province: province, holderRef: HolderRef(id: id, key: holderKey),
            holderMasked: id.masked, attributes: attributes, validFrom: from, validUntil: until)
    }

    /// Checks a later event (amend, renew, suspend, reinstate, revoke) that `author` wants
    /// to write against the license's current state, and returns the state after it.
    public static func check(
        _ event: LicenseEvent,
        on state: LicenseState,
        author: String,
        at hlc: HybridTimestamp,
        catalog: Catalog
    ) throws(LicenseRequestError) -> LicenseState {
        switch event {
        case .issue, .agreement, .transfer:
            throw .rejected(.notAnIssue(state.id))
        case let .amend(amend):
            guard let type = catalog[state.licenseType] else { throw .invalid(.unknownLicenseType(state.licenseType)) }
            do {
                try type.validateAmendment(set: amend.set, remove: amend.remove)
            } catch {
                throw .invalid(error)
            }
            try reason(amend.reason, event: "amend", required: false)
        case let .renew(renew):
            try reason(renew.reason, event: "renew", required: false)
        case let .suspend(change):
            try reason(change.reason, event: "suspend", required: true)
        case let .reinstate(change):
            try reason(change.reason, event: "reinstate", required: false)
        case let .revoke(change):
            try reason(change.reason, event: "revoke", required: true)
        }
        do {
            return try state.applying(event, author: author, at: hlc)
        } catch {
            throw .rejected(error)
        }
    }

    private static func reason(_ text: String, event: String, required: Bool) throws(LicenseRequestError) {
        if required && text.trimmingSpaces.isEmpty { throw .invalid(.reasonRequired(event)) }
        do {
            try checkFreeText(text, field: "reason", bytesMax: LicenseEvent.reasonBytesMax)
        } catch {
            throw .invalid(error)
        }
    }

    /// Free text a clerk writes (a reason, a purpose): at most `bytesMax` bytes, no NUL
    /// character, no resident ID number.
    public static func checkFreeText(_ text: String, field: String, bytesMax: Int) throws(LicenseValidationError) {
        if text.utf8.count > bytesMax { throw .textTooLong(field: field, bytesMax: bytesMax) }
        if text.utf8.contains(0) { throw .containsNUL(field: field) }
        if ResidentID.appears(in: text) { throw .containsIDNumber(field: field) }
    }

    private static func date(_ text: String?, field: String) throws(LicenseRequestError) -> CivilDate? {
        guard let text, !text.isEmpty else { return nil }
        guard let date = CivilDate(iso: text) else { throw .invalid(.badDate(field: field, value: text)) }
        return date
    }
}

/// Why a local request to write a license event was refused.
public enum LicenseRequestError: Error, Equatable, CustomStringConvertible {
    /// The request itself is wrong (catalog, dates, reasons).
    case invalid(LicenseValidationError)
    /// The ID number breaks a GB 11643 rule.
    case invalidHolder(ResidentIDError)
    /// The license's state or ownership forbids the event.
    case rejected(LicenseEventError)

    /// Stable machine-readable code for API error bodies.
    public var code: String {
        switch self {
        case let .invalid(e): e.code
        case .invalidHolder: "invalid_id_number"
        case let .rejected(e): e.code
        }
    }

    public var description: String {
        switch self {
        case let .invalid(e): e.description
        case let .invalidHolder(e): e.description
        case let .rejected(e): e.description
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        // Any Unicode whitespace: clerks' input methods produce ideographic spaces (U+3000)
        // and CR LF as readily as ASCII spaces.
        drop { $0.isWhitespace }
    }
}
