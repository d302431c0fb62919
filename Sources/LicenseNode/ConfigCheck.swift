import Foundation
import LicenseCore
import LicenseStore
import LicenseTransport

/// `licensed check-config`: every check a configured node makes before it starts, run
/// without starting anything and without writing a file, reporting every problem at once,
/// each naming its file, the field and what is expected. The daemon runs the same checks
/// and refuses to start on any of them.
public enum ConfigCheck {
    public static func problems(configPath: String, now: Date = Date()) -> [String] {
        let config: NodeConfig
        do {
            config = try NodeConfig.load(path: configPath)
        } catch {
            // Without a readable config nothing else can be located.
            if case let .invalidConfiguration(problems) = error { return problems }
            return [error.description]
        }
        var problems: [String] = []
        do {
            _ = try PeerList.load(path: config.peersFile, selfID: config.nodeID)
        } catch {
            if case let .invalidConfiguration(list) = error { problems += list } else { problems.append(error.description) }
        }
        problems += tlsProblems(config, now: now)
        let directory = DataDirectory(path: config.dataDirectory)
        problems += directory.configuredProblems(identity: .init(nodeID: config.nodeID, province: config.province),
                                                 rootPublicKeyFile: config.rootPublicKey)
        problems += certificateProblems(config)
        return problems
    }

    static func tlsProblems(_ config: NodeConfig, now: Date) -> [String] {
        let ca: String, certificate: String
        do {
            ca = try Files.read(config.caCertificate)
            certificate = try Files.read(config.nodeCertificate)
            _ = try Files.read(config.nodeKey)
        } catch {
            return [error.description]
        }
        let found = TransportPKI.problems(certificatePEM: certificate, caCertificatePEM: ca, nodeID: config.nodeID, now: now)
        if !found.isEmpty { return found.map { "\(config.nodeCertificate): \($0)" } }
        do {
            _ = try NodeRuntime.makeTLS(config)
            return []
        } catch {
            return [error.description]
        }
    }

    /// Every issuer certificate of `certificates_dir` must verify against the root.
    static func certificateProblems(_ config: NodeConfig) -> [String] {
        guard let rootBytes = try? Files.readHexSecret(config.rootPublicKey, byteCount: PublicKey.byteCount, what: "the root public key"),
              let root = try? PublicKey(bytes: rootBytes)
        else { return [] } // reported with the data directory's checks
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: config.certificatesDirectory) else { return [] }
        var problems: [String] = []
        for name in names.sorted() where name.hasSuffix(".cert") {
            let file = (config.certificatesDirectory as NSString).appendingPathComponent(name)
            do {
                _ = try IssuerCertificate.decode(jsonText: try Files.read(file), root: root)
            } catch {
                problems.append("\(file): certificate must be an issuer certificate signed by the root in \(config.rootPublicKey) (\(error))")
            }
        }
        return problems
    }
}
