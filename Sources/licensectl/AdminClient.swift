import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LicenseAPI

/// A small client of the admin API. licensectl never opens the database of a running
/// node: everything goes through the API (offline tools such as verify-ledger excepted).
struct AdminClient {
    let baseURL: URL
    let token: String?
    /// Responses larger than this are refused; no admin response comes near it.
    static let responseBytesMax = 16 * 1024 * 1024

    func get<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try await send("GET", path, body: Optional<Int>.none)
    }

    func post<T: Decodable>(_ path: String, _ body: some Encodable, as type: T.Type = T.self) async throws -> T {
        try await send("POST", path, body: body)
    }

    /// The response body as it came, for documents kept as files (a license bundle).
    func getBytes(_ path: String) async throws -> Data {
        try await exchange("GET", path, body: Optional<Int>.none)
    }

    private func send<T: Decodable>(_ method: String, _ path: String, body: (some Encodable)?) async throws -> T {
        let data = try await exchange(method, path, body: body)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw CLIError("unexpected response from the node: \(error)")
        }
    }

    private func exchange(_ method: String, _ path: String, body: (some Encodable)?) async throws -> Data {
        // Resolve against the base so that a query string (audit?limit=) survives.
        let base = baseURL.absoluteString.hasSuffix("/") ? baseURL : URL(string: baseURL.absoluteString + "/")!
        guard let url = URL(string: path, relativeTo: base) else { throw CLIError("bad request path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSON.encoder().encode(body)
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CLIError("cannot reach licensed at \(baseURL.absoluteString): \(error.localizedDescription); is the node running? (--node URL)")
        }
        guard data.count <= Self.responseBytesMax else { throw CLIError("response from the node is too large") }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            if let document = try? JSONDecoder().decode(ErrorDocument.self, from: data) {
                throw CLIError("\(document.error.message) [\(document.error.code), HTTP \(status)]")
            }
            throw CLIError("the node answered HTTP \(status)")
        }
        return data
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
