import Foundation
import HTTP
import Security
import Web

/// The Reports page and its CSV downloads, `/orgs/:org/:env/reports…`, for every active
/// member of the organization (the gates answer another organization with 404 and a closed
/// Production with its 403 page). No rules and no SQL here.
struct ReportsController {
    let reports: Reports
    let organizations: Organizations
    let templates: Templates

    static let menu: [OrgSection] = [OrgSection("Reports", path: "reports", scope: .environment, order: 50)]

    func register(on router: inout Router) {
        router.environments(organizations: organizations, templates: templates) { r in
            r.get("/reports") { req in try page(req) }
            r.get("/reports/:month/:file") { req in try download(req) }
        }
    }

    func page(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        return try templates.render(page: "reports/index", context: ReportsPage(env: env, overview: try reports.overview(env)), request: req)
    }

    /// `…/reports/2026-11/transactions.csv`: streamed as a pulled body, so a slow client holds
    /// no worker while it reads. A closed month's stored checksum goes with it (RFC 9530).
    func download(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let file = req.parameters["file"] ?? ""
        guard file.hasSuffix(".csv") else { throw HTTPError(.notFound) }
        let d = try reports.download(env, month: req.parameters["month"] ?? "", kind: String(file.dropLast(4)))
        var headers: HTTPHeaders = [
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": "attachment; filename=\"\(d.filename)\"",
        ]
        if let sha = d.sha256, let bytes = Hex.decode(sha) {
            headers.add("Repr-Digest", "sha-256=:\(Data(bytes).base64EncodedString()):")
        }
        return HTTPResponse(status: .ok, headers: headers, body: .pull(d.producer))
    }
}
