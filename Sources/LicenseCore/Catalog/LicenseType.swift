/// One license type of the national catalog.
public struct LicenseType: Sendable, Codable, Equatable {
    public let code: String
    public let nameZH: String
    public let nameEN: String
    /// Validity given to a license when the issue request names no end date;
    /// nil means the license does not expire.
    public let defaultValidityYears: Int?
    /// A citizen may hold at most one active license of this type nationally
    /// (a driving licence, a social security card).
    public let oncePerHolder: Bool
    public let attributes: [AttributeSpec]

    enum CodingKeys: String, CodingKey {
        case code
        case nameZH = "name_zh"
        case nameEN = "name_en"
        case defaultValidityYears = "default_validity_years"
        case oncePerHolder = "once_per_holder"
        case attributes
    }

    public func attribute(named name: String) -> AttributeSpec? {
        attributes.first { $0.name == name }
    }

    func validateDefinition() throws(CatalogError) {
        var seen: Set<String> = []
        for spec in attributes {
            guard seen.insert(spec.name).inserted else {
                throw .badAttributeDefinition(type: code, attribute: spec.name, problem: "is listed twice")
            }
            if spec.kind == .enumeration, (spec.values ?? []).isEmpty {
                throw .badAttributeDefinition(type: code, attribute: spec.name, problem: "is an enum with no values")
            }
        }
    }

    /// Checks a complete attribute set for an issue: every required attribute present,
    /// no unknown attribute, every value well-typed.
    public func validate(attributes given: [String: String]) throws(LicenseValidationError) {
        for name in given.keys.sorted() {
            guard let spec = attribute(named: name) else {
                throw .unknownAttribute(type: code, name: name)
            }
            try spec.validate(given[name]!, licenseType: code)
        }
        for spec in attributes where spec.required && given[spec.name] == nil {
            throw .missingAttribute(type: code, name: spec.name)
        }
    }

    /// Checks an amendment: set values are well-typed known attributes, and no
    /// required attribute is removed.
    public func validateAmendment(set: [String: String], remove: [String]) throws(LicenseValidationError) {
        for name in set.keys.sorted() {
            guard let spec = attribute(named: name) else {
                throw .unknownAttribute(type: code, name: name)
            }
            try spec.validate(set[name]!, licenseType: code)
        }
        for name in remove {
            guard let spec = attribute(named: name) else {
                throw .unknownAttribute(type: code, name: name)
            }
            guard !spec.required else { throw .cannotRemoveRequired(type: code, name: name) }
        }
    }
}

/// The type and constraints of one license attribute.
public struct AttributeSpec: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case string, integer, date, boolean
        case enumeration = "enum"
        /// Another person's ID number in its masked display form (`44************123X`).
        case maskedID = "masked_id"
    }

    public let name: String
    public let kind: Kind
    public let required: Bool
    public let maxLength: Int?
    public let min: Int64?
    public let max: Int64?
    public let values: [String]?

    /// Values longer than this are refused whatever the catalog says.
    public static let valueBytesMax = 4096

    enum CodingKeys: String, CodingKey {
        case name, required, min, max, values
        case kind = "type"
        case maxLength = "max_length"
    }

    public func validate(_ value: String, licenseType: String) throws(LicenseValidationError) {
        func bad(_ expected: String) -> LicenseValidationError {
            .badAttributeValue(type: licenseType, name: name, expected: expected)
        }
        guard value.utf8.count <= Self.valueBytesMax else { throw bad("at most \(Self.valueBytesMax) bytes") }
        guard !value.utf8.contains(0) else { throw .containsNUL(field: "attribute '\(name)'") }
        switch kind {
        case .string:
            guard !value.isEmpty else { throw bad("a non-empty string") }
            if let maxLength, value.count > maxLength { throw bad("at most \(maxLength) characters") }
            guard !ResidentID.appears(in: value) else { throw .containsIDNumber(field: "attribute '\(name)'") }
        case .maskedID:
            guard ResidentID.isMasked(value) else { throw bad("a masked ID number such as 44************123X") }
        case .integer:
            guard let number = Int64(value) else { throw bad("an integer") }
            if let min, number < min { throw bad("an integer of at least \(min)") }
            if let max, number > max { throw bad("an integer of at most \(max)") }
        case .date:
            guard CivilDate(iso: value) != nil else { throw bad("a date YYYY-MM-DD") }
        case .boolean:
            guard value == "true" || value == "false" else { throw bad("true or false") }
        case .enumeration:
            let allowed = values ?? []
            guard allowed.contains(value) else { throw bad("one of \(allowed.joined(separator: ", "))") }
        }
    }
}

/// What is wrong with a license request, said so that a clerk can fix it.
public enum LicenseValidationError: Error, Equatable, CustomStringConvertible {
    case unknownLicenseType(String)
    case unknownAttribute(type: String, name: String)
    case missingAttribute(type: String, name: String)
    case badAttributeValue(type: String, name: String, expected: String)
    case cannotRemoveRequired(type: String, name: String)
    case badDate(field: String, value: String)
    case validityEndsBeforeStart(from: String, until: String)
    case emptyAmendment
    case reasonRequired(String)
    case textTooLong(field: String, bytesMax: Int)
    /// Free text holds what looks like a resident ID number, which must never be stored.
    case containsIDNumber(field: String)
    /// Text with a NUL character (U+0000): SQLite's text binding would cut it there, so
    /// the stored view would differ from what was signed.
    case containsNUL(field: String)

    /// Stable machine-readable code for API error bodies.
    public var code: String {
        switch self {
        case .unknownLicenseType: "unknown_license_type"
        case .unknownAttribute: "unknown_attribute"
        case .missingAttribute: "missing_attribute"
        case .badAttributeValue: "bad_attribute_value"
        case .cannotRemoveRequired: "cannot_remove_required"
        case .badDate: "bad_date"
        case .validityEndsBeforeStart: "validity_ends_before_start"
        case .emptyAmendment: "empty_amendment"
        case .reasonRequired: "reason_required"
        case .textTooLong: "text_too_long"
        case .containsIDNumber: "contains_id_number"
        case .containsNUL: "contains_nul"
        }
    }

    public var description: String {
        switch self {
        case let .unknownLicenseType(code):
            "unknown license type '\(code)' (see `licensectl catalog`)"
        case let .unknownAttribute(type, name):
            "license type '\(type)' has no attribute '\(name)'"
        case let .missingAttribute(type, name):
            "license type '\(type)' requires attribute '\(name)'"
        case let .badAttributeValue(type, name, expected):
            "attribute '\(name)' of license type '\(type)' must be \(expected)"
        case let .cannotRemoveRequired(type, name):
            "attribute '\(name)' is required by license type '\(type)' and cannot be removed"
        case let .badDate(field, value):
            "\(field) '\(value)' is not a date YYYY-MM-DD"
        case let .validityEndsBeforeStart(from, until):
            "valid_until \(until) is before valid_from \(from)"
        case .emptyAmendment:
            "an amendment must set or remove at least one attribute"
        case let .reasonRequired(event):
            "\(event) requires a reason"
        case let .textTooLong(field, bytesMax):
            "\(field) is longer than \(bytesMax) bytes"
        case let .containsIDNumber(field):
            "\(field) contains what looks like a resident ID number; ID numbers are never stored (use the masked form)"
        case let .containsNUL(field):
            "\(field) contains a NUL character (U+0000), which no text in the ledger may hold"
        }
    }
}
