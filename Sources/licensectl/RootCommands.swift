import ArgumentParser
import Foundation
import LicenseAPI
import LicenseCore
import LicenseNode
#if canImport(Glibc)
import Glibc
#endif

/// Offline: the national root key and the issuer certificates it signs (docs/TRUST.md).
/// These commands touch files only; they never talk to a node.
struct Root: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Offline: create the national root key, certify issuer keys and revoke them.",
        subcommands: [RootInit.self, RootCertify.self, RootRevokeKey.self])
}

struct RootInit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a root key pair in DIR.")

    @Option(help: "Directory to write root.key (0600) and root.pub into.") var out: String

    func run() throws {
        do {
            let key = try createKeyPair(in: out, named: "root")
            print("root key \(RootKeyID.derive(key.publicKey)) written to \(out)/root.key (keep it offline) and \(out)/root.pub")
        } catch {
            throw reportAndExit("\(error)")
        }
    }
}

/// A province's new issuer key, for a new node or a key rotation.
struct IssuerKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issuer-key", abstract: "Offline: create an issuer key pair (issuer.key 0600, issuer.pub) in DIR.",
        discussion: "Have the root certify issuer.pub (licensectl root certify), then install both in the node's data directory.")

    @Option(help: "Directory to write issuer.key and issuer.pub into.") var out: String

    func run() throws {
        do {
            _ = try createKeyPair(in: out, named: "issuer")
            print("issuer key written to \(out)/issuer.key; have the root certify \(out)/issuer.pub")
        } catch {
            throw reportAndExit("\(error)")
        }
    }
}

struct RootCertify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certify", abstract: "Sign an issuer certificate for one node's issuer key.")

    @Option(help: "Directory holding root.key.") var root: String
    @Option(help: "Node id the key signs for.") var nodeID: String
    @Option(help: "GB/T 2260 province code of the node.") var province: String
    @Option(help: "The node's issuer public key: a file (issuer.pub) or 64 hex digits.") var issuerPub: String
    @Option(help: "First day of validity, YYYY-MM-DD (UTC; default today).") var validFrom: String?
    @Option(help: "Days of validity.") var validDays = 3650
    @Option(name: .customLong("type"), help: "License type the key may issue; repeat (default: the whole catalog).")
    var types: [String] = []
    @Option(help: "File to write the certificate to.") var out: String

    func run() throws {
        do {
            guard NodeID.isValid(nodeID) else { throw CLIError("--node-id '\(nodeID)' is not a valid node id") }
            guard Province.byCode[province] != nil else { throw CLIError("--province \(province) is not a GB/T 2260 provincial code") }
            guard (1...36_600).contains(validDays) else { throw CLIError("--valid-days must be 1–36600") }
            let rootKey = try rootSigningKey(root)
            let pubText = FileManager.default.fileExists(atPath: issuerPub)
                ? try String(contentsOfFile: issuerPub, encoding: .utf8) : issuerPub
            guard let pubBytes = Hex.decode(pubText.trimmingCharacters(in: .whitespacesAndNewlines)), pubBytes.count == 32 else {
                throw CLIError("--issuer-pub must be a file holding, or be, 64 hex digits")
            }
            let catalog = try LicenseCore.Catalog.bundled()
            let codes = types.isEmpty ? catalog.types.map(\.code) : types
            for code in codes where catalog[code] == nil { throw CLIError("--type \(code) is not in the catalog") }
            let from: UInt64
            if let validFrom {
                guard let date = CivilDate(iso: validFrom) else { throw CLIError("--valid-from '\(validFrom)' is not YYYY-MM-DD") }
                from = UInt64(date.daysSinceEpoch) * 86_400_000
            } else {
                from = UInt64(Date().timeIntervalSince1970 * 1000)
            }
            let certificate = IssuerCertificate.issue(.init(
                nodeID: nodeID, province: province, publicKey: try PublicKey(bytes: pubBytes),
                notBeforeMilliseconds: from, notAfterMilliseconds: from + UInt64(validDays) * 86_400_000,
                licenseTypes: codes, rootKeyID: RootKeyID.derive(rootKey.publicKey)), root: rootKey)
            try SecretFile.create(out, certificate.jsonText(), mode: 0o644, replace: true)
            print("certificate of key \(certificate.body.keyID) for \(nodeID) (\(province)) written to \(out)")
        } catch {
            throw reportAndExit("\(error)")
        }
    }
}

struct RootRevokeKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke-key",
        abstract: "Sign a revocation of a compromised issuer key; publish it with `licensectl trust publish`.",
        discussion: """
            Entries the key signed at or after --compromised-at are no longer recognized; earlier ones \
            still are. Choose the time conservatively: an entry's signing time is its author's clock reading.
            """)

    @Option(help: "Directory holding root.key.") var root: String
    @Option(help: "The issuer key id, e.g. gd-1a2b3c4d (licensectl status shows a node's).") var keyID: String
    @Option(help: "Since when the key is compromised: YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD (UTC).") var compromisedAt: String
    @Option(help: "Why, for operators (no personal data).") var reason = ""
    @Option(help: "File to write the revocation to.") var out: String

    func run() throws {
        do {
            guard let dash = keyID.lastIndex(of: "-"), IssuerKeyID.isValid(keyID, origin: String(keyID[..<dash])) else {
                throw CLIError("--key-id '\(keyID)' is not <node id>-<8 hex digits>")
            }
            guard let milliseconds = Self.instant(compromisedAt) else {
                throw CLIError("--compromised-at '\(compromisedAt)' is not YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD")
            }
            guard reason.utf8.count <= LicenseEvent.reasonBytesMax, !ResidentID.appears(in: reason) else {
                throw CLIError("--reason must be at most \(LicenseEvent.reasonBytesMax) bytes and hold no ID number")
            }
            let rootKey = try rootSigningKey(root)
            let revocation = KeyRevocation.issue(.init(keyID: keyID, compromisedAtMilliseconds: milliseconds, reason: reason,
                                                       rootKeyID: RootKeyID.derive(rootKey.publicKey)), root: rootKey)
            try SecretFile.create(out, revocation.jsonText(), mode: 0o644, replace: true)
            print("revocation of key \(keyID) from \(compromisedAt) written to \(out); publish it with `licensectl trust publish \(out)`")
        } catch {
            throw reportAndExit("\(error)")
        }
    }

    static func instant(_ text: String) -> UInt64? {
        if let date = CivilDate(iso: text) { return UInt64(date.daysSinceEpoch) * 86_400_000 }
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: text), date.timeIntervalSince1970 >= 0 else { return nil }
        return UInt64(date.timeIntervalSince1970 * 1000)
    }
}

/// Writes a fresh Ed25519 key pair as `DIR/NAME.key` (seed, hex, 0600; never overwritten)
/// and `DIR/NAME.pub` (public key, hex).
func createKeyPair(in directory: String, named name: String) throws -> SigningKey {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
    let seed = randomSeed()
    let key = try SigningKey(seed: seed)
    try SecretFile.create("\(directory)/\(name).key", Hex.encode(seed) + "\n", mode: 0o600)
    try SecretFile.create("\(directory)/\(name).pub", Hex.encode(key.publicKey.bytes) + "\n", mode: 0o644)
    return key
}

/// The root's signing key from `DIR/root.key`.
func rootSigningKey(_ directory: String) throws -> SigningKey {
    let seedText = try String(contentsOfFile: directory + "/root.key", encoding: .utf8)
    guard let seed = Hex.decode(seedText.trimmingCharacters(in: .whitespacesAndNewlines)), seed.count == 32 else {
        throw CLIError("\(directory)/root.key must hold 64 hex digits")
    }
    return try SigningKey(seed: seed)
}

func reportAndExit(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("licensectl: \(message)\n".utf8))
    return ExitCode(1)
}

/// A fresh 32-byte key seed, from the same source the daemon uses.
func randomSeed() -> [UInt8] {
    SecureRandom.bytes(32)
}

/// Key files: created with their mode from the first byte; a key file is never overwritten.
enum SecretFile {
    static func create(_ path: String, _ contents: String, mode: mode_t, replace: Bool = false) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, mode)
        guard fd >= 0 else { throw CLIError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
