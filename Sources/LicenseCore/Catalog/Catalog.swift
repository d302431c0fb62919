import Foundation

/// The national license catalog: which license types exist and what each must carry.
/// It ships as a resource file (`Resources/catalog.json`), not as code, so that a new
/// type is a reviewed data change; docs/CATALOG.md describes the format.
public struct Catalog: Sendable {
    public let version: Int
    public let types: [LicenseType]
    private let byCode: [String: LicenseType]

    public init(version: Int, types: [LicenseType]) throws(CatalogError) {
        var byCode: [String: LicenseType] = [:]
        for type in types {
            guard byCode[type.code] == nil else { throw .duplicateType(type.code) }
            try type.validateDefinition()
            byCode[type.code] = type
        }
        self.version = version
        self.types = types
        self.byCode = byCode
    }

    public subscript(code: String) -> LicenseType? { byCode[code] }

    /// Decodes a catalog document.
    public static func decode(_ data: Data) throws(CatalogError) -> Catalog {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: data)
        } catch {
            throw .malformed(String(describing: error))
        }
        return try Catalog(version: document.version, types: document.types)
    }

    /// The catalog shipped with this build.
    public static func bundled() throws(CatalogError) -> Catalog {
        guard let url = Bundle.module.url(forResource: "catalog", withExtension: "json") else {
            throw .missing("catalog.json is not in the LicenseCore resource bundle")
        }
        return try load(from: url)
    }

    public static func load(from url: URL) throws(CatalogError) -> Catalog {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .missing("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try decode(data)
    }

    struct Document: Decodable {
        let version: Int
        let types: [LicenseType]
    }
}

public enum CatalogError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case malformed(String)
    case duplicateType(String)
    case badAttributeDefinition(type: String, attribute: String, problem: String)

    public var description: String {
        switch self {
        case let .missing(detail): "license catalog missing: \(detail)"
        case let .malformed(detail): "license catalog is malformed: \(detail)"
        case let .duplicateType(code): "license catalog lists type '\(code)' twice"
        case let .badAttributeDefinition(type, attribute, problem):
            "license catalog: attribute '\(attribute)' of type '\(type)' \(problem)"
        }
    }
}
