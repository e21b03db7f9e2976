import Foundation
import Web

/// The API reference, rendered from the OpenAPI document (``OpenAPIDocument``) so the page
/// and the contract cannot part: `/orgs/:org/:env/api-reference` for members (curl examples
/// with the environment's key prefix, `sk_sandbox_…` or `sk_live_…`, never a secret) and the
/// public `/docs/api` (Sandbox's prefix).
struct APIReferencePage: ViewModel {
    let document: OpenAPIDocument
    let baseURL: String
    let environment: Environment
    /// "Demo Payments · Sandbox", or nil on the public page.
    let context: String?

    var keyPrefix: String { (environment == .sandbox ? "sk_sandbox_" : "sk_live_") + "…" }

    func child(named name: String) -> Any? {
        switch name {
        case "title": "API reference" + (context.map { " · \($0)" } ?? "")
        case "context": context
        case "environment": environment.title
        case "isProduction": environment == .production
        case "keyPrefix": keyPrefix
        case "baseURL": baseURL
        case "intro": document.description.components(separatedBy: "\n\n").map { TextRow(["html": Self.inline($0)]) }
        case "groups":
            Dictionary(grouping: document.operations, by: \.tag).sorted { Self.order($0.key) < Self.order($1.key) }.map { tag, ops in
                Group(title: tag, operations: ops.map { OperationView(op: $0, page: self) })
            }
        default: nil
        }
    }

    static func order(_ tag: String) -> Int { ["Balances": 0, "Transactions": 1, "Payouts": 2, "Meta": 3][tag] ?? 9 }

    /// The document's light markup, made safe: escaped first, then `code` and **strong**.
    static func inline(_ text: String) -> String {
        var out = htmlEscape(text)
        out = out.replacingOccurrences(of: #"\*\*([^*]+)\*\*"#, with: "<strong>$1</strong>", options: .regularExpression)
        out = out.replacingOccurrences(of: #"`([^`]+)`"#, with: "<code>$1</code>", options: .regularExpression)
        return out
    }

    struct Group: ViewModel {
        let title: String
        let operations: [OperationView]
        func child(named name: String) -> Any? {
            switch name {
            case "title": title
            case "operations": operations
            default: nil
            }
        }
    }

    struct OperationView: ViewModel {
        let op: OpenAPIDocument.Operation
        let page: APIReferencePage

        func child(named name: String) -> Any? {
            switch name {
            case "method": op.method
            case "path": op.path
            case "anchor": op.id
            case "summary": op.summary
            case "description": APIReferencePage.inline(op.description)
            case "open": !op.needsKey
            case "hasParameters": !op.parameters.isEmpty
            case "hasFields": !op.fields.isEmpty
            case "parameters": op.parameters.map {
                TextRow(["name": $0.name, "in": $0.location, "required": $0.required ? "required" : "optional", "description": APIReferencePage.inline($0.description)])
            }
            case "fields": op.fields.map {
                TextRow(["name": $0.name, "type": $0.type, "required": $0.required ? "required" : "optional", "description": APIReferencePage.inline($0.description)])
            }
            case "responses": op.responses.map { TextRow(["status": $0.status, "description": APIReferencePage.inline($0.description)]) }
            case "curl": curl
            default: nil
            }
        }

        /// A command a reader can paste, with their environment's key prefix in place of the key.
        var curl: String {
            let path = op.path.replacingOccurrences(of: "{id}", with: op.path.contains("payouts") ? "po_…" : "txn_…")
            var lines = ["curl \(page.baseURL)\(path)"]
            if op.needsKey { lines.append("  -H \"Authorization: Bearer \(page.keyPrefix)\"") }
            if op.method == "POST" {
                lines[0] = "curl -X POST \(page.baseURL)\(path)"
                lines.append("  -H \"Idempotency-Key: $(uuidgen)\"")
                if let body = OperationView.examples[op.id] {
                    lines.append("  -H \"Content-Type: application/json\"")
                    lines.append("  -d '\(body)'")
                }
            }
            return lines.joined(separator: " \\\n")
        }

        static let examples = [
            "createTransaction": #"{"type": "payout", "amount": 1050, "currency": "EUR", "external_id": "order-1042", "recipient": {"name": "Ada Obi", "country": "GB", "method": "bank", "account": "GB82 WEST 1234 5698 7654 32"}}"#,
            "createPayout": #"{"amount": 125000, "currency": "EUR", "reference": "INV-2026-001", "beneficiary": {"name": "Ada Obi", "country": "KE", "method": "mobile", "account": "+254712345678"}}"#,
            "cancelTransaction": #"{"reason": "The customer cancelled the order."}"#,
        ]
    }
}
