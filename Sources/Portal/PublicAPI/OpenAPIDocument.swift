import Foundation
import HTTP
import Web

/// The API's OpenAPI 3.1 description, `Public/openapi.json`: checked in, written by hand,
/// served as it is at `GET /v1/openapi.json`, and read here for the reference page. A test
/// keeps it true: its operations are exactly the routes, and the integration tests' responses
/// validate against its schemas.
struct OpenAPIDocument: Sendable {
    /// One operation, as the reference page lists it.
    struct Operation: Sendable {
        let method: String
        let path: String
        let id: String
        let tag: String
        let summary: String
        let description: String
        let needsKey: Bool
        let parameters: [(name: String, location: String, required: Bool, description: String)]
        /// The request body's fields (top level, and one level into objects as `a.b`).
        let fields: [(name: String, type: String, required: Bool, description: String)]
        let responses: [(status: String, description: String)]
    }

    let bytes: [UInt8]
    let title: String
    let description: String
    let operations: [Operation]

    static let methods = ["get", "post", "put", "patch", "delete"]

    init(file: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes = Array(data)
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let info = root["info"] as? [String: Any], let paths = root["paths"] as? [String: Any] else {
            throw PortalConfigError("\(file) is not an OpenAPI document")
        }
        title = info["title"] as? String ?? "API"
        description = info["description"] as? String ?? ""
        let schemas = ((root["components"] as? [String: Any])?["schemas"] as? [String: Any]) ?? [:]
        func resolve(_ s: Any?) -> [String: Any] {
            guard let s = s as? [String: Any] else { return [:] }
            if let r = s["$ref"] as? String, let name = r.split(separator: "/").last { return schemas[String(name)] as? [String: Any] ?? [:] }
            return s
        }
        func type(_ s: [String: Any]) -> String {
            if let t = s["type"] as? String { return t }
            if let e = s["enum"] as? [Any] { return e.map { "\($0)" }.joined(separator: " | ") }
            if let c = s["const"] { return "\(c)" }
            return "object"
        }
        var ops: [Operation] = []
        for path in paths.keys.sorted() {
            guard let item = paths[path] as? [String: Any] else { continue }
            for method in Self.methods {
                guard let op = item[method] as? [String: Any] else { continue }
                let params = (op["parameters"] as? [Any] ?? []).map { p -> (String, String, Bool, String) in
                    var d = p as? [String: Any] ?? [:]
                    if let r = d["$ref"] as? String, let name = r.split(separator: "/").last {
                        d = (((root["components"] as? [String: Any])?["parameters"] as? [String: Any])?[String(name)] as? [String: Any]) ?? [:]
                    }
                    return (d["name"] as? String ?? "", d["in"] as? String ?? "", d["required"] as? Bool ?? false, d["description"] as? String ?? "")
                }
                var fields: [(String, String, Bool, String)] = []
                let body = resolve((((op["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"])
                let required = Set(body["required"] as? [String] ?? [])
                for (name, raw) in (body["properties"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    let s = resolve(raw)
                    fields.append((name, type(s), required.contains(name), s["description"] as? String ?? ""))
                    let inner = Set(s["required"] as? [String] ?? [])
                    for (sub, subRaw) in (s["properties"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
                        let ss = resolve(subRaw)
                        fields.append(("\(name).\(sub)", type(ss), inner.contains(sub), ss["description"] as? String ?? ""))
                    }
                }
                let responses = (op["responses"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }).map { status, r -> (String, String) in
                    var d = r as? [String: Any] ?? [:]
                    if let ref = d["$ref"] as? String, let name = ref.split(separator: "/").last {
                        d = (((root["components"] as? [String: Any])?["responses"] as? [String: Any])?[String(name)] as? [String: Any]) ?? [:]
                    }
                    return (status, d["description"] as? String ?? "")
                }
                ops.append(Operation(
                    method: method.uppercased(), path: path, id: op["operationId"] as? String ?? "\(method)\(path)",
                    tag: (op["tags"] as? [String])?.first ?? "", summary: op["summary"] as? String ?? "",
                    description: op["description"] as? String ?? "", needsKey: (op["security"] as? [Any])?.isEmpty != true,
                    parameters: params, fields: fields, responses: responses))
            }
        }
        operations = ops
    }

    /// `METHOD /path` of every operation, `{id}` as written in the document.
    var routes: [String] { operations.map { "\($0.method) \($0.path)" } }

    var response: HTTPResponse {
        HTTPResponse(status: .ok, headers: ["Content-Type": JSONBody.contentType, "Cache-Control": "public, max-age=300"], body: .bytes(bytes))
    }
}
