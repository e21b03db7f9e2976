import Foundation
@testable import Portal
import Web

/// A small JSON Schema check of responses against `Public/openapi.json`: the subset the
/// document uses ($ref, type, required, properties, additionalProperties, enum, const, items,
/// pattern, minimum, maximum, minLength, maxLength, maxProperties, format date-time). It
/// reports what does not match, so a test fails when the server and the document part.
struct OpenAPISchemaCheck: Sendable {
    let root: JSONValue

    init(file: String) throws {
        root = try JSONBody.decode(JSONValue.self, from: Array(try Data(contentsOf: URL(fileURLWithPath: file))))
    }

    /// The document's operations as `METHOD /path`.
    var routes: Set<String> {
        guard case .object(let paths)? = root.at("paths") else { return [] }
        var out: Set<String> = []
        for (path, item) in paths {
            guard case .object(let ops) = item else { continue }
            for m in ops.keys where OpenAPIDocument.methods.contains(m) { out.insert("\(m.uppercased()) \(path)") }
        }
        return out
    }

    /// The template (`/v1/transactions/{id}`) a concrete path matches.
    func template(for path: String) -> String? {
        guard case .object(let paths)? = root.at("paths") else { return nil }
        let parts = path.split(separator: "?")[0].split(separator: "/", omittingEmptySubsequences: false)
        return paths.keys.first { t in
            let tp = t.split(separator: "/", omittingEmptySubsequences: false)
            return tp.count == parts.count && zip(tp, parts).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
    }

    func check(method: String, path: String, status: Int, body: JSONValue) -> [String] {
        guard let t = template(for: path) else { return ["path \(path) is not in the document"] }
        guard case .object(let item)? = root.at("paths"), case .object(let paths) = item[t] ?? .null,
              case .object(let op) = paths[method.lowercased()] ?? .null else { return ["\(method) \(t) is not in the document"] }
        guard case .object(let responses) = op["responses"] ?? .null, var response = responses[String(status)] else {
            return ["status \(status) is not documented for \(method) \(t)"]
        }
        response = resolve(response)
        guard let schema = response.at("content")?.objectValue?["application/json"]?.at("schema") else { return [] }
        var problems: [String] = []
        validate(body, schema, "$", &problems)
        return problems
    }

    func resolve(_ v: JSONValue) -> JSONValue {
        guard case .string(let ref)? = v.at("$ref") else { return v }
        let path = ref.dropFirst(2).split(separator: "/").joined(separator: ".")
        return root.at(path) ?? .null
    }

    func validate(_ value: JSONValue, _ rawSchema: JSONValue, _ at: String, _ problems: inout [String]) {
        let schema = resolve(rawSchema)
        guard case .object(let s) = schema else { return }
        if let c = s["const"], !equal(c, value) { problems.append("\(at): not the constant \(c)") }
        if case .array(let options)? = s["enum"], !options.contains(where: { equal($0, value) }) { problems.append("\(at): \(value) not in the enum") }
        if case .string(let type)? = s["type"], !matches(value, type) { problems.append("\(at): not a \(type)") }
        switch value {
        case .object(let o):
            if case .array(let req)? = s["required"] {
                for case .string(let k) in req where o[k] == nil { problems.append("\(at).\(k): required but missing") }
            }
            let props = s["properties"]?.objectValue ?? [:]
            for (k, v) in o {
                if let ps = props[k] { validate(v, ps, "\(at).\(k)", &problems) }
                else if case .bool(false)? = s["additionalProperties"] { problems.append("\(at).\(k): not in the schema") }
                else if let extra = s["additionalProperties"], case .object = extra { validate(v, extra, "\(at).\(k)", &problems) }
            }
            if case .integer(let m)? = s["maxProperties"], o.count > m { problems.append("\(at): more than \(m) properties") }
        case .array(let a):
            if let items = s["items"] { for (i, v) in a.enumerated() { validate(v, items, "\(at)[\(i)]", &problems) } }
        case .string(let str):
            if case .string(let p)? = s["pattern"], str.range(of: p, options: .regularExpression) == nil { problems.append("\(at): \(str) does not match \(p)") }
            if case .integer(let m)? = s["maxLength"], str.count > m { problems.append("\(at): longer than \(m)") }
            if case .integer(let m)? = s["minLength"], str.count < m { problems.append("\(at): shorter than \(m)") }
            if case .string("date-time")? = s["format"], str.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"#, options: .regularExpression) == nil {
                problems.append("\(at): \(str) is not an ISO 8601 UTC time")
            }
        case .integer(let i):
            if case .integer(let m)? = s["minimum"], i < m { problems.append("\(at): below \(m)") }
            if case .integer(let m)? = s["maximum"], i > m { problems.append("\(at): above \(m)") }
        default: break
        }
    }

    func matches(_ v: JSONValue, _ type: String) -> Bool {
        switch (type, v) {
        case ("object", .object), ("array", .array), ("string", .string), ("integer", .integer), ("boolean", .bool), ("null", .null),
             ("number", .integer), ("number", .number): true
        default: false
        }
    }

    func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.null, .null): true
        default: false
        }
    }
}

extension JSONValue {
    var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
}
