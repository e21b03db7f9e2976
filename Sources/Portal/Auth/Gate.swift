import HTTP
import Web

/// Lets a request through only at the session stage a route needs, and sends everyone else
/// to the step they are at: no session → login, unverified → check-your-inbox, not enrolled
/// → TOTP set-up, second factor pending → the code page.
struct Gate: Middleware {
    let allowed: Set<SessionRecord.Stage>

    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        guard let auth = req.auth, let session = auth.session, auth.user != nil else {
            if req.method == .GET {
                let target = req.http.head.target
                return .redirect(to: "/login?next=" + PercentEncoding.encode(target), status: .seeOther)
            }
            throw HTTPError(.unauthorized, "Please log in again.")
        }
        guard allowed.contains(session.stage) else {
            return .redirect(to: Gate.home(for: session.stage), status: .seeOther)
        }
        return try next(req)
    }

    static func home(for stage: SessionRecord.Stage) -> String {
        switch stage {
        case .verify: "/verify-email/pending"
        case .enrol: "/mfa/setup"
        case .mfa: "/login/mfa"
        case .active: "/home"
        }
    }
}
