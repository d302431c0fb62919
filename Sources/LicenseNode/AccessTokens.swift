import Foundation
import LicenseAPI
import LicenseCore

/// What a bearer token may do (DESIGN.md: operator reads status; clerk queries and
/// verifies; issuer writes license events).
public enum Role: String, Codable, CaseIterable, Sendable, Comparable {
    case `operator`, clerk, issuer

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

/// Who made a request: the token's name (recorded in the audit log) and its roles.
public struct Principal: Sendable, Equatable {
    public let name: String
    public let roles: Set<Role>

    public init(name: String, roles: Set<Role>) {
        self.name = name
        self.roles = roles
    }
}

/// The admin API's bearer tokens, kept in `tokens.json` (mode 0600) as BLAKE2b-256
/// hashes with a name and roles. The raw token is shown once, when it is made.
public struct AccessTokens: Sendable {
    struct Record: Codable, Equatable {
        var name: String
        var roles: [Role]
        var blake2b: String
    }

    struct Document: Codable {
        var tokens: [Record]
    }

    static let hashDomain = Array("lx-token-v1".utf8)
    /// Tokens longer than this are refused without hashing.
    static let tokenBytesMax = 256

    private let byHash: [String: Principal]

    init(records: [Record]) {
        var byHash: [String: Principal] = [:]
        for record in records {
            byHash[record.blake2b] = Principal(name: record.name, roles: Set(record.roles))
        }
        self.byHash = byHash
    }

    public var count: Int { byHash.count }

    /// The principal a presented token belongs to, or nil.
    public func principal(for token: String) -> Principal? {
        guard !token.isEmpty, token.utf8.count <= Self.tokenBytesMax else { return nil }
        return byHash[Self.hash(token)]
    }

    static func hash(_ token: String) -> String {
        Hex.encode(Sodium.blake2b256(hashDomain, Array(token.utf8)))
    }

    /// Loads `tokens.json`; a missing file means no tokens.
    public static func load(path: String) throws(NodeSetupError) -> AccessTokens {
        guard Files.exists(path) else { return AccessTokens(records: []) }
        return AccessTokens(records: try readDocument(path).tokens)
    }

    private static func readDocument(_ path: String) throws(NodeSetupError) -> Document {
        let text = try Files.read(path)
        do {
            let document = try JSONDecoder().decode(Document.self, from: Data(text.utf8))
            for record in document.tokens {
                guard !record.name.isEmpty, !record.roles.isEmpty, Hex.decode(record.blake2b)?.count == 32 else {
                    throw NodeSetupError.badFile(path: path, field: "tokens[\(record.name)]",
                                                 expected: "a name, at least one role and a 64-hex-digit blake2b hash")
                }
            }
            return document
        } catch let error as NodeSetupError {
            throw error
        } catch {
            throw .badFile(path: path, field: "tokens",
                           expected: "a JSON object {\"tokens\": [{\"name\", \"roles\", \"blake2b\"}]} (\(error))")
        }
    }

    /// Makes a new token with `roles`, records its hash in `tokens.json` (replacing any
    /// token of the same name), and returns the raw token.
    public static func add(name: String, roles: [Role], path: String) throws(NodeSetupError) -> String {
        guard !name.isEmpty, !roles.isEmpty else {
            throw .invalidOption("a token needs a name and at least one role")
        }
        var document = Files.exists(path) ? try readDocument(path) : Document(tokens: [])
        let token = "lxt_" + Hex.encode(SecureRandom.bytes(24))
        document.tokens.removeAll { $0.name == name }
        document.tokens.append(Record(name: name, roles: roles.sorted(), blake2b: hash(token)))
        document.tokens.sort { $0.name < $1.name }
        let data: Data
        do {
            data = try JSON.encoder(pretty: true).encode(document)
        } catch {
            preconditionFailure("encoding token records cannot fail: \(error)")
        }
        try Files.writeAtomically(String(decoding: data, as: UTF8.self) + "\n", to: path)
        return token
    }
}
