import Foundation
import Hummingbird
import LicenseAPI
import LicenseCore

/// An error response of the admin API: a status and `{"error": {"code", "message"}}`.
struct APIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        try AdminAPI.json(ErrorDocument(code: code, message: message), status: status)
    }

    static let unauthorized = APIError(.unauthorized, "unauthorized", "a valid bearer token is required (Authorization: Bearer <token>)")

    static func forbidden(_ principal: Principal, needs role: Role) -> APIError {
        APIError(.forbidden, "forbidden", "token '\(principal.name)' lacks the '\(role.rawValue)' role")
    }

    /// The HTTP form of a refused operation.
    init(_ error: ServiceError) {
        switch error {
        case let .request(.rejected(.unknownLicense(id))):
            self.init(.notFound, "unknown_license", "no license with id \(id)")
        case let .request(.rejected(rejection)):
            self.init(.conflict, rejection.code, rejection.description)
        case let .request(request):
            self.init(.badRequest, request.code, request.description)
        case let .badRequest(code, message):
            self.init(.badRequest, code, message)
        case let .store(.overloaded(waiting)):
            self.init(.serviceUnavailable, "overloaded", "the node is overloaded (\(waiting) writes waiting); retry shortly")
        case let .store(store):
            self.init(.internalServerError, "storage_error", store.description)
        case .ownEntriesBehind:
            self.init(.serviceUnavailable, "own_entries_behind", error.description)
        }
    }
}

/// Renders every error that leaves a route, Hummingbird's own included (404 for an
/// unknown route, 413 for a body over the limit), as the API's JSON error body.
struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as any HTTPResponseError {
            throw switch error.status {
            case .notFound: APIError(.notFound, "not_found", "no such endpoint: \(request.method) \(request.uri.path)")
            case .contentTooLarge: APIError(.contentTooLarge, "request_too_large",
                                            "request body is larger than \(AdminAPI.requestBytesMax) bytes")
            case .methodNotAllowed: APIError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed here")
            default: APIError(error.status, "http_\(error.status.code)", error.status.reasonPhrase)
            }
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            throw APIError(.internalServerError, "internal_error", "internal error; see the node's log")
        }
    }
}

/// Counts every admin request by route pattern (not the concrete path: no license ids in
/// labels) and response status, errors included.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: NodeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.request(route: context.endpointPath ?? "unmatched", status: response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            metrics.request(route: context.endpointPath ?? "unmatched", status: error.status.code)
            throw error
        }
    }
}
