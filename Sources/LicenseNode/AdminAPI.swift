import Foundation
import Hummingbird
import LicenseAPI
import LicenseCore
import LicenseStore

/// The admin HTTP API (docs/API.md). JSON in and out; bearer tokens with roles; the
/// citizen's ID number only ever in a request body.
public enum AdminAPI {
    /// No admin request needs more than this; larger bodies get 413 before they are read.
    public static let requestBytesMax = 64 * 1024
    /// Audit records returned per request.
    public static let auditRecordsMax = 1000

    public static func router(service: LicenseService) -> Router<BasicRequestContext> {
        let router = Router()
        router.addMiddleware {
            RequestMetricsMiddleware(metrics: service.metrics)
            ErrorBodyMiddleware()
        }
        let tokens = service.material.tokens

        @Sendable func require(_ role: Role, _ request: Request) throws -> Principal {
            guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
                  let principal = tokens.principal(for: String(header.dropFirst("Bearer ".count)))
            else { throw APIError.unauthorized }
            guard principal.roles.contains(role) else { throw APIError.forbidden(principal, needs: role) }
            return principal
        }

        @Sendable func document(_ state: LicenseState) -> LicenseDocument {
            LicenseDocument(state, catalog: service.catalog, today: service.clock.today())
        }

        @Sendable func run<T>(_ work: () async throws(ServiceError) -> T) async throws -> T {
            do {
                return try await work()
            } catch {
                throw APIError(error)
            }
        }

        // The status page (StatusPage): static, no token; the data it shows needs one.
        router.get("/") { _, _ in page(StatusPage.html, type: "text/html; charset=utf-8") }
        router.get("/status.js") { _, _ in page(StatusPage.script, type: "text/javascript; charset=utf-8") }
        router.get("/status.css") { _, _ in page(StatusPage.css, type: "text/css; charset=utf-8") }

        router.get("/healthz") { _, _ in
            try json(["status": "ok"])
        }

        // For the monitoring system: no token; no label carries an ID number or a secret.
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: service.metrics.scrape(store: service.store,
                                                                                              board: service.peerBoard))))
        }

        // For load balancers and orchestrators: no token, 503 until the node can serve.
        router.get("/readyz") { _, _ in
            let readiness = service.readiness()
            return try json(ReadinessDocument(ready: readiness.ready, reason: readiness.reason,
                                              peersConnected: readiness.peersConnected),
                            status: readiness.ready ? .ok : .serviceUnavailable)
        }

        router.get("/v1/status") { request, _ in
            _ = try require(.operator, request)
            return try json(try await run { () throws(ServiceError) in try service.status() })
        }

        router.get("/v1/peers") { request, _ in
            _ = try require(.operator, request)
            return try json(PeersDocument(peers: try await run { () throws(ServiceError) in try service.peers() }))
        }

        router.get("/v1/catalog") { request, _ in
            guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
                  tokens.principal(for: String(header.dropFirst("Bearer ".count))) != nil
            else { throw APIError.unauthorized }
            return try json(CatalogDocument(service.catalog))
        }

        router.post("/v1/licenses") { request, _ in
            _ = try require(.issuer, request)
            let body = try await decode(IssueRequest.self, request)
            let state = try await run { () async throws(ServiceError) in try await service.issue(body) }
            return try json(document(state), status: .created)
        }

        router.get("/v1/licenses/:id") { request, context in
            _ = try require(.clerk, request)
            let id = context.parameters.get("id") ?? ""
            return try json(document(try await run { () throws(ServiceError) in try service.license(id) }))
        }

        router.post("/v1/licenses/:id/amend") { request, context in
            _ = try require(.issuer, request)
            let id = context.parameters.get("id") ?? ""
            let body = try await decode(AmendRequest.self, request)
            return try json(document(try await run { () async throws(ServiceError) in try await service.amend(id, body) }))
        }

        router.post("/v1/licenses/:id/renew") { request, context in
            _ = try require(.issuer, request)
            let id = context.parameters.get("id") ?? ""
            let body = try await decode(RenewRequest.self, request)
            return try json(document(try await run { () async throws(ServiceError) in try await service.renew(id, body) }))
        }

        for action in [LicenseService.StatusAction.suspend, .reinstate, .revoke] {
            router.post("/v1/licenses/:id/\(action.rawValue)") { request, context in
                _ = try require(.issuer, request)
                let id = context.parameters.get("id") ?? ""
                let body = try await decode(ReasonRequest.self, request)
                return try json(document(try await run { () async throws(ServiceError) in
                    try await service.change(action, id, reason: body.reason)
                }))
            }
        }

        router.post("/v1/licenses/:id/transfer") { request, context in
            _ = try require(.issuer, request)
            let id = context.parameters.get("id") ?? ""
            let body = try await decode(TransferRequest.self, request)
            return try json(document(try await run { () async throws(ServiceError) in try await service.transfer(id, body) }),
                            status: .created)
        }

        router.get("/v1/licenses/:id/history") { request, context in
            _ = try require(.clerk, request)
            let id = context.parameters.get("id") ?? ""
            let history = try await run { () throws(ServiceError) in try service.history(id) }
            return try json(HistoryDocument(licenseID: id, licenses: history.licenses.map(document), events: history.events,
                                            conflicts: history.conflicts.map(ConflictDocument.init)))
        }

        router.get("/v1/conflicts") { request, _ in
            _ = try require(.operator, request)
            return try json(ConflictsDocument(conflicts: try await run { () throws(ServiceError) in try service.conflicts() }
                .map(ConflictDocument.init)))
        }

        router.post("/v1/holders/lookup") { request, _ in
            let principal = try require(.clerk, request)
            let body = try await decode(HolderLookupRequest.self, request)
            let found = try await run { () async throws(ServiceError) in
                try await service.lookup(holder: body.holder, purpose: body.purpose, by: principal)
            }
            var recognitions: [RecognitionDocument]?
            if body.recognize == true {
                let decided = try await run { () async throws(ServiceError) in
                    try await service.recognize(found.licenses, purpose: body.purpose, by: principal)
                }
                let at = Timestamps.iso8601(milliseconds: Int64(service.clock.nowMilliseconds()))
                recognitions = decided.map { RecognitionDocument($0, decidedAt: at, license: nil) }
            }
            return try json(HolderLookupResponse(holder: found.masked, licenses: found.licenses.map(document),
                                                 recognitions: recognitions))
        }

        // Recognition: does this node's province accept the license now, check by check.
        router.post("/v1/verify") { request, _ in
            let principal = try require(.clerk, request)
            let body = try await decode(VerifyRequest.self, request)
            let decided = try await run { () async throws(ServiceError) in
                try await service.verify(body.licenseID, purpose: body.purpose, by: principal)
            }
            return try json(RecognitionDocument(decided.recognition,
                                                decidedAt: Timestamps.iso8601(milliseconds: Int64(service.clock.nowMilliseconds())),
                                                license: document(decided.license)))
        }

        router.get("/v1/licenses/:id/bundle") { request, context in
            let principal = try require(.clerk, request)
            let id = context.parameters.get("id") ?? ""
            let bundle = try await run { () async throws(ServiceError) in try await service.bundle(id, by: principal) }
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bundle.jsonData())))
        }

        router.post("/v1/trust") { request, _ in
            _ = try require(.operator, request)
            let body = try await decode(TrustDocument.self, request)
            let published = try await run { () throws(ServiceError) in try service.publishTrust(body) }
            return try json(published, status: published.added ? .created : .ok)
        }

        router.get("/v1/agreements") { request, _ in
            _ = try require(.clerk, request)
            return try json(try await run { () throws(ServiceError) in try service.agreements() })
        }

        router.post("/v1/agreements") { request, _ in
            _ = try require(.operator, request)
            let body = try await decode(AgreementRequest.self, request)
            return try json(try await run { () async throws(ServiceError) in try await service.setAgreement(body) },
                            status: .created)
        }

        router.get("/v1/audit") { request, _ in
            _ = try require(.operator, request)
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), auditRecordsMax)
            let records = try await run { () throws(ServiceError) in try service.auditLog(limit: limit) }
            return try json(AuditDocument(records: records.map {
                AuditDocument.Record(at: Timestamps.iso8601(milliseconds: $0.atMilliseconds), actor: $0.actor,
                                     action: $0.action, holderRef: $0.holderRef?.description,
                                     licenseID: $0.licenseID?.text, purpose: $0.purpose)
            }))
        }
        return router
    }

    /// A static resource of the status page, with headers that keep it to this origin.
    static func page(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [
            .contentType: type, .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            .xContentTypeOptions: "nosniff",
        ], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSON.encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads at most `requestBytesMax` bytes and decodes them, or says what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: requestBytesMax)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "request_too_large", "request body is larger than \(requestBytesMax) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let DecodingError.keyNotFound(key, _) {
            throw APIError(.badRequest, "malformed_request", "request body lacks the field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError(.badRequest, "malformed_request", "request field '\(field)' has the wrong type")
        } catch {
            throw APIError(.badRequest, "malformed_request", "request body is not valid JSON for this endpoint")
        }
    }
}
