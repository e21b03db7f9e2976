import HTTP
import Web

enum OrgAccessKey: RequestStorageKey { typealias Value = OrgAccess }

extension Request {
    /// The member's access to the organization in the URL. Routes behind ``OrgGate`` have it.
    func orgAccess() throws -> OrgAccess {
        guard let a = storage[OrgAccessKey.self] else { throw HTTPError(.notFound) }
        return a
    }
}

extension OrgProblem: HTTPErrorConvertible {
    /// The page for a problem no form handled: 404 for anything not the member's, 403 with
    /// the reason for a missing permission. ``OrgGate`` answers it for its routes; the
    /// conformance answers it anywhere else (a route of another group calling an
    /// organization service), where it would otherwise be a 500.
    var httpError: HTTPError {
        switch self {
        case .notFound: HTTPError(.notFound)
        case .forbidden(let message): HTTPError(.forbidden, message)
        case .invalid(let errors): HTTPError(.unprocessableContent, errors.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))
        case .conflict(let message): HTTPError(.conflict, message)
        case .throttled(let seconds): HTTPError(.tooManyRequests, AccountsController.throttledMessage(seconds), headers: ["Retry-After": "\(seconds)"])
        }
    }
}

/// For every route under `/orgs/:org`: finds the signed-in member's access to that
/// organization (404 when it is not theirs, 403 when their access is disabled), keeps it on
/// the request for the controllers and services, and gives the layout the organization's
/// navigation, showing only what the member may use. Any ``OrgProblem`` a handler lets
/// through becomes its error page.
struct OrgGate: Middleware {
    let organizations: Organizations
    /// The sections of the organization's navigation, each declared by its feature.
    var menu: OrgMenu = .portal

    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        do {
            let (_, user) = try req.activeUser()
            let (access, others) = try organizations.accessAndOthers(user: user, organization: req.parameters["org"] ?? "")
            req.storage[OrgAccessKey.self] = access
            req.templateValues["org"] = OrgNav(access: access, others: others, path: req.path, menu: menu)
            return try next(req)
        } catch let problem as OrgProblem {
            throw problem.httpError
        }
    }
}
