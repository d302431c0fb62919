import Foundation
import LicenseCore
import Testing

@Suite struct CatalogTests {
    let catalog = Fixtures.catalog

    // MARK: - The bundled catalog

    @Test func bundled_shouldLoadAtLeastEightTypesWithChineseAndEnglishNames() throws {
        let catalog = try Catalog.bundled()
        #expect(catalog.version >= 1)
        #expect(catalog.types.count >= 8)
        for type in catalog.types {
            #expect(!type.code.isEmpty)
            #expect(!type.nameEN.isEmpty, "type \(type.code) has no English name")
            #expect(type.nameZH.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) },
                    "type \(type.code) has no Chinese name")
            #expect(catalog[type.code] == type)
            #expect(!type.attributes.isEmpty)
        }
    }

    @Test func bundled_shouldCoverEveryAttributeKind() throws {
        let kinds = Set(catalog.types.flatMap { $0.attributes.map(\.kind) })
        #expect(kinds == [.string, .integer, .date, .boolean, .enumeration, .maskedID])
    }

    @Test func subscript_shouldReturnNilForUnknownType() {
        #expect(catalog["no_such_type"] == nil)
    }

    // MARK: - Attribute validation

    @Test func validate_shouldAcceptCompleteAttributes() throws {
        let type = try #require(catalog["driving_licence"])
        try type.validate(attributes: ["licence_class": "C1", "first_issue_date": "2026-01-01"])
        try type.validate(attributes: ["licence_class": "C1", "first_issue_date": "2026-01-01", "restrictions": "glasses"])
    }

    @Test func validate_shouldRefuseUnknownAttribute() throws {
        let type = try #require(catalog["driving_licence"])
        #expect(throws: LicenseValidationError.unknownAttribute(type: "driving_licence", name: "colour")) {
            try type.validate(attributes: ["licence_class": "C1", "first_issue_date": "2026-01-01", "colour": "red"])
        }
    }

    @Test func validate_shouldRefuseMissingRequiredAttribute() throws {
        let type = try #require(catalog["driving_licence"])
        #expect(throws: LicenseValidationError.missingAttribute(type: "driving_licence", name: "first_issue_date")) {
            try type.validate(attributes: ["licence_class": "C1"])
        }
    }

    @Test func validate_shouldRefuseBadStringValues() throws {
        let type = try #require(catalog["residence_permit"])
        #expect(throws: LicenseValidationError.badAttributeValue(
            type: "residence_permit", name: "city", expected: "a non-empty string")) {
            try type.validate(attributes: ["city": "", "address": "1 Road"])
        }
        // max_length 100 characters; Chinese characters count as one each.
        try type.validate(attributes: ["city": String(repeating: "深", count: 100), "address": "1 Road"])
        #expect(throws: LicenseValidationError.badAttributeValue(
            type: "residence_permit", name: "city", expected: "at most 100 characters")) {
            try type.validate(attributes: ["city": String(repeating: "深", count: 101), "address": "1 Road"])
        }
    }

    @Test func validate_shouldRefuseBadIntegerValues() throws {
        let type = try #require(catalog["professional_qualification"])
        func attributes(level: String) -> [String: String] {
            ["qualification": "electrician", "level": level, "certificate_number": "Q-1"]
        }
        try type.validate(attributes: attributes(level: "1"))
        try type.validate(attributes: attributes(level: "5"))
        #expect(throws: LicenseValidationError.badAttributeValue(
            type: "professional_qualification", name: "level", expected: "an integer")) {
            try type.validate(attributes: attributes(level: "three"))
        }
        #expect(throws: LicenseValidationError.badAttributeValue(
            type: "professional_qualification", name: "level", expected: "an integer")) {
            try type.validate(attributes: attributes(level: "2.5"))
        }
        #expect(throws: LicenseValidationError.badAttributeValue(
            type: "professional_qualification", name: "level", expected: "an integer of at least 1")) {
            try type.validate(attributes: attributes(level: "0"))
        }
        #expect(throws: LicenseValidationError.badAttributeValue(
            type: "professional_qualification", name: "level", expected: "an integer of at most 5")) {
            try type.validate(attributes: attributes(level: "6"))
        }
    }

    @Test func validate_shouldRefuseBadDateValues() throws {
        let type = try #require(catalog["driving_licence"])
        for bad in ["2026-02-30", "01/01/2026", "", "2026-1-1"] {
            #expect(throws: LicenseValidationError.badAttributeValue(
                type: "driving_licence", name: "first_issue_date", expected: "a date YYYY-MM-DD")) {
                try type.validate(attributes: ["licence_class": "C1", "first_issue_date": bad])
            }
        }
    }

    @Test func validate_shouldRefuseBadBooleanValues() throws {
        let type = try #require(catalog["social_security_card"])
        func attributes(_ value: String) -> [String: String] {
            ["card_number": "S1", "issuing_city": "Shenzhen", "financial_account": value]
        }
        try type.validate(attributes: attributes("true"))
        try type.validate(attributes: attributes("false"))
        for bad in ["yes", "TRUE", "1", ""] {
            #expect(throws: LicenseValidationError.badAttributeValue(
                type: "social_security_card", name: "financial_account", expected: "true or false")) {
                try type.validate(attributes: attributes(bad))
            }
        }
    }

    @Test func validate_shouldRefuseEnumValueNotListed() throws {
        let type = try #require(catalog["disability_certificate"])
        try type.validate(attributes: ["category": "visual", "grade": "2"])
        #expect(throws: LicenseValidationError.badAttributeValue(
            type: "disability_certificate", name: "category",
            expected: "one of visual, hearing, speech, physical, intellectual, mental, multiple")) {
            try type.validate(attributes: ["category": "Visual", "grade": "2"])
        }
    }

    @Test func validate_shouldRefuseValueLongerThanTheHardLimit() throws {
        let type = try #require(catalog["driving_licence"])
        let huge = String(repeating: "a", count: AttributeSpec.valueBytesMax + 1)
        #expect(throws: LicenseValidationError.badAttributeValue(
            type: "driving_licence", name: "restrictions", expected: "at most \(AttributeSpec.valueBytesMax) bytes")) {
            try type.validate(attributes: ["licence_class": "C1", "first_issue_date": "2026-01-01", "restrictions": huge])
        }
    }

    @Test func validateAmendment_shouldRefuseRemovingRequiredOrUnknownAttributes() throws {
        let type = try #require(catalog["driving_licence"])
        try type.validateAmendment(set: ["licence_class": "B1"], remove: ["restrictions"])
        #expect(throws: LicenseValidationError.cannotRemoveRequired(type: "driving_licence", name: "licence_class")) {
            try type.validateAmendment(set: [:], remove: ["licence_class"])
        }
        #expect(throws: LicenseValidationError.unknownAttribute(type: "driving_licence", name: "colour")) {
            try type.validateAmendment(set: [:], remove: ["colour"])
        }
        #expect(throws: LicenseValidationError.unknownAttribute(type: "driving_licence", name: "colour")) {
            try type.validateAmendment(set: ["colour": "red"], remove: [])
        }
        #expect(throws: LicenseValidationError.badAttributeValue(
            type: "driving_licence", name: "first_issue_date", expected: "a date YYYY-MM-DD")) {
            try type.validateAmendment(set: ["first_issue_date": "soon"], remove: [])
        }
    }

    // MARK: - Catalog documents

    @Test func decode_shouldReadAMinimalDocument() throws {
        let catalog = try Catalog.decode(Data("""
            {"version": 7, "types": [{"code": "t", "name_zh": "证", "name_en": "T", "default_validity_years": 2,
              "once_per_holder": false, "attributes": [{"name": "a", "type": "boolean", "required": true}]}]}
            """.utf8))
        #expect(catalog.version == 7)
        let type = try #require(catalog["t"])
        #expect(type.defaultValidityYears == 2)
        #expect(type.attribute(named: "a")?.kind == .boolean)
    }

    @Test func decode_shouldRefuseDuplicateType() {
        let document = """
            {"version": 1, "types": [
              {"code": "t", "name_zh": "证", "name_en": "T", "default_validity_years": null, "once_per_holder": false, "attributes": []},
              {"code": "t", "name_zh": "证", "name_en": "T2", "default_validity_years": null, "once_per_holder": false, "attributes": []}
            ]}
            """
        #expect(throws: CatalogError.duplicateType("t")) { try Catalog.decode(Data(document.utf8)) }
    }

    @Test func decode_shouldRefuseAttributeListedTwice() {
        let document = """
            {"version": 1, "types": [{"code": "t", "name_zh": "证", "name_en": "T", "default_validity_years": null,
              "once_per_holder": false, "attributes": [
                {"name": "a", "type": "string", "required": true}, {"name": "a", "type": "integer", "required": false}]}]}
            """
        #expect(throws: CatalogError.badAttributeDefinition(type: "t", attribute: "a", problem: "is listed twice")) {
            try Catalog.decode(Data(document.utf8))
        }
    }

    @Test func decode_shouldRefuseEnumWithoutValues() {
        let document = """
            {"version": 1, "types": [{"code": "t", "name_zh": "证", "name_en": "T", "default_validity_years": null,
              "once_per_holder": false, "attributes": [{"name": "e", "type": "enum", "required": true, "values": []}]}]}
            """
        #expect(throws: CatalogError.badAttributeDefinition(type: "t", attribute: "e", problem: "is an enum with no values")) {
            try Catalog.decode(Data(document.utf8))
        }
    }

    @Test(arguments: [
        "",
        "not json",
        "{\"version\": 1}",
        "{\"version\": \"one\", \"types\": []}",
        "{\"version\": 1, \"types\": [{\"code\": \"t\"}]}",
        // An attribute kind the catalog does not know.
        """
        {"version": 1, "types": [{"code": "t", "name_zh": "证", "name_en": "T", "default_validity_years": null,
          "once_per_holder": false, "attributes": [{"name": "a", "type": "float", "required": true}]}]}
        """,
    ])
    func decode_shouldRefuseMalformedDocument(text: String) {
        let error = #expect(throws: CatalogError.self) { try Catalog.decode(Data(text.utf8)) }
        guard case .malformed = error else {
            Issue.record("expected CatalogError.malformed, got \(String(describing: error))")
            return
        }
    }

    @Test func load_shouldReportMissingFile() {
        let error = #expect(throws: CatalogError.self) {
            try Catalog.load(from: URL(fileURLWithPath: "/nonexistent/lx-catalog.json"))
        }
        guard case .missing = error else {
            Issue.record("expected CatalogError.missing, got \(String(describing: error))")
            return
        }
    }
}
