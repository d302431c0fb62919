import Foundation
import LicenseCore
#if canImport(Glibc)
import Glibc
#endif

/// File helpers for key and token material: created with mode 0600 from the first byte
/// (never written world-readable and chmod-ed afterwards), replaced atomically.
enum Files {
    /// Writes `contents` to `path` with `mode`, atomically (temporary file + rename).
    static func writeAtomically(_ contents: String, to path: String, mode: mode_t = 0o600) throws(NodeSetupError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .notWritable(path: path, detail: String(cString: strerror(errno))) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let detail = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw .notWritable(path: path, detail: detail)
            }
            written += n
        }
        // The file must be on disk, with its mode, before it replaces the old one.
        guard fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            let detail = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw .notWritable(path: path, detail: detail)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let detail = String(cString: strerror(errno))
            unlink(temporary)
            throw .notWritable(path: path, detail: detail)
        }
        // And the rename must survive a power loss too.
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            defer { close(directory) }
            guard fsync(directory) == 0 else { throw .notWritable(path: path, detail: String(cString: strerror(errno))) }
        }
    }

    static func read(_ path: String) throws(NodeSetupError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, detail: (error as NSError).localizedDescription)
        }
    }

    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// Reads a file holding one hex-encoded secret of `byteCount` bytes.
    static func readHexSecret(_ path: String, byteCount: Int, what: String) throws(NodeSetupError) -> [UInt8] {
        let text = try read(path).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Hex.decode(text), bytes.count == byteCount else {
            throw .badFile(path: path, field: what, expected: "\(byteCount * 2) hex digits")
        }
        return bytes
    }

    /// Makes `path` a directory this process can write, or says why not.
    static func ensureWritableDirectory(_ path: String) throws(NodeSetupError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .notWritable(path: path, detail: (error as NSError).localizedDescription)
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw .notWritable(path: path, detail: String(cString: strerror(errno)))
        }
    }
}

/// Why a node cannot start: each case names the file and what to do.
public enum NodeSetupError: Error, Equatable, CustomStringConvertible {
    case notWritable(path: String, detail: String)
    case unreadable(path: String, detail: String)
    case badFile(path: String, field: String, expected: String)
    case identityMismatch(path: String, existing: String, requested: String)
    case alreadyRunning(path: String)
    case missing(path: String, reason: String)
    /// Every problem of a configuration, each naming file, field and what is expected.
    case invalidConfiguration([String])
    case invalidOption(String)
    case store(String)

    public var description: String {
        switch self {
        case let .notWritable(path, detail):
            "cannot write \(path): \(detail); fix its permissions or choose another --data-dir"
        case let .unreadable(path, detail):
            "cannot read \(path): \(detail)"
        case let .badFile(path, field, expected):
            "\(path): \(field) must be \(expected)"
        case let .identityMismatch(path, existing, requested):
            "\(path) belongs to \(existing), not \(requested); use another --data-dir or drop the identity options"
        case let .alreadyRunning(path):
            "another licensed is already using \(path) (its lock is held)"
        case let .missing(path, reason):
            "\(path) is missing: \(reason)"
        case let .invalidConfiguration(problems):
            "configuration refused:\n  " + problems.joined(separator: "\n  ")
        case let .invalidOption(detail):
            detail
        case let .store(detail):
            detail
        }
    }
}
