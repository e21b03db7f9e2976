import Web

/// `/orgs/:org/:env/reports`: the months, their files with row counts and checksums, and what
/// the files' columns hold.
struct ReportsPage: ViewModel {
    let env: EnvAccess
    let overview: Reports.Overview
    let months: [Month]

    init(env: EnvAccess, overview: Reports.Overview) {
        self.env = env
        self.overview = overview
        let base = "/orgs/\(env.org.publicID)/\(env.environment.rawValue)/reports"
        months = overview.months.map { m in
            Month(summary: m, files: m.files.map { f in
                File(summary: f, closed: m.closed, url: "\(base)/\(m.month.key)/\(f.kind.rawValue).csv",
                     filename: f.kind.filename(organization: env.org.displayName, environment: env.environment, month: m.month))
            })
        }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Reports · \(env.environment.title) · \(env.org.displayName)"
        case "environment": env.environment.title
        case "isProduction": env.isProduction
        case "isSandbox": !env.isProduction
        case "orgName": env.org.displayName
        case "zone": overview.zone.replacingOccurrences(of: "_", with: " ")
        case "isOwner": env.access.isOwner
        case "settingsUrl": "/orgs/\(env.org.publicID)/settings"
        case "months": months
        case "isEmpty": months.allSatisfy { $0.summary.files.allSatisfy { $0.kind == .accounts || $0.rows == 0 } }
        case "kinds": ReportKind.allCases.map { k in
            TextRows(title: k.title, rows: k.columns.map { TextRow(["name": $0.name, "meaning": $0.meaning]) })
        }
        default: nil
        }
    }

    struct Month: ViewModel {
        let summary: Reports.MonthSummary
        let files: [File]
        func child(named name: String) -> Any? {
            switch name {
            case "title": summary.month.title
            case "closed": summary.closed
            case "files": files
            default: nil
            }
        }
    }

    struct File: ViewModel {
        let summary: Reports.FileSummary
        let closed: Bool
        let url: String
        let filename: String
        func child(named name: String) -> Any? {
            switch name {
            case "url": url
            case "filename": filename
            case "rows": AuditLogController.grouped(summary.rows)
            case "rowsWord": summary.rows == 1 ? "row" : "rows"
            case "closed": closed
            case "sha256": summary.sha256
            default: nil
            }
        }
    }

    /// A titled list of rows (a file's columns).
    struct TextRows: ViewModel {
        let title: String
        let rows: [TextRow]
        func child(named name: String) -> Any? {
            switch name {
            case "title": title
            case "columns": rows
            default: nil
            }
        }
    }
}
