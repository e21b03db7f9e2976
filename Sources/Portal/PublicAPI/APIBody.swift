import HTTP
import Web

/// A `/v1` request body read as a JSON object whose fields are taken one at a time, so that
/// every refusal names its field (`param`), including the fields nobody asked for:
/// ``refuseUnknown()`` turns a typo like `ammount` into a 400 naming it instead of a silent
/// default.
struct APIBody {
    private let fields: [String: JSONValue]
    private let prefix: String
    private var read: Set<String> = []

    /// The request's body: JSON (415 otherwise), an object, within ``JSONLimits/default``.
    init(_ req: Request) throws {
        guard JSONBody.isJSON(mediaType: req.mediaType) else {
            throw HTTPError(.unsupportedMediaType, "Send the body as application/json.", code: "unsupported_media_type")
        }
        let value = try JSONBody.decode(JSONValue.self, from: req.body)
        guard case .object(let fields) = value else {
            throw HTTPError(.badRequest, "The body must be a JSON object.", code: "invalid_json")
        }
        self.init(fields: fields, prefix: "")
    }

    /// An empty body where one is optional (`POST …/cancel`).
    init(optional req: Request) throws {
        if req.body.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            self.init(fields: [:], prefix: "")
        } else {
            try self.init(req)
        }
    }

    private init(fields: [String: JSONValue], prefix: String) {
        self.fields = fields
        self.prefix = prefix
    }

    func param(_ key: String) -> String { prefix + key }

    static func invalid(_ param: String, _ message: String, code: String = "parameter_invalid") -> HTTPError {
        HTTPError(.badRequest, message, code: code, param: param)
    }

    private mutating func take(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let v = fields[key] else { return nil }
        if case .null = v { return nil }
        return v
    }

    mutating func string(_ key: String, required: Bool = false) throws -> String? {
        guard let v = take(key) else {
            if required { throw HTTPError(.badRequest, "Missing required field: \(param(key)).", code: "parameter_missing", param: param(key)) }
            return nil
        }
        guard case .string(let s) = v else { throw Self.invalid(param(key), "The field \(param(key)) must be a string.") }
        return s
    }

    mutating func integer(_ key: String, required: Bool = false) throws -> Int64? {
        guard let v = take(key) else {
            if required { throw HTTPError(.badRequest, "Missing required field: \(param(key)).", code: "parameter_missing", param: param(key)) }
            return nil
        }
        guard case .integer(let i) = v else {
            throw Self.invalid(param(key), "The field \(param(key)) must be an integer.")
        }
        return i
    }

    mutating func object(_ key: String, required: Bool = false) throws -> APIBody? {
        guard let v = take(key) else {
            if required { throw HTTPError(.badRequest, "Missing required field: \(param(key)).", code: "parameter_missing", param: param(key)) }
            return nil
        }
        guard case .object(let fields) = v else { throw Self.invalid(param(key), "The field \(param(key)) must be an object.") }
        return APIBody(fields: fields, prefix: param(key) + ".")
    }

    /// An object of string values (`metadata`).
    mutating func stringMap(_ key: String) throws -> [String: String]? {
        guard let v = take(key) else { return nil }
        guard case .object(let fields) = v else { throw Self.invalid(param(key), "The field \(param(key)) must be an object of strings.") }
        var out: [String: String] = [:]
        for (k, value) in fields {
            guard case .string(let s) = value else {
                throw Self.invalid(param(key) + "." + k, "The field \(param(key)).\(k) must be a string.")
            }
            out[k] = s
        }
        return out
    }

    /// Refuses the first field (in name order) that was never asked for.
    func refuseUnknown() throws {
        if let unknown = fields.keys.sorted().first(where: { !read.contains($0) }) {
            throw HTTPError(.badRequest, "Unknown field: \(param(unknown)). Check its spelling against the API reference.",
                            code: "parameter_unknown", param: param(unknown))
        }
    }
}
