import Foundation
import HTTP

// JSON bodies and responses for the programs' pipeline: encode with `Codable`, decode with
// limits, and answer a bad body with a 4xx that names the field at fault.

extension HTTPResponse {
    /// `value` encoded as JSON (`Content-Type: application/json`), keys sorted so the same
    /// value always gives the same bytes. Throws only when `value` cannot be encoded (a
    /// programming error: a non-finite `Double`, a throwing `encode(to:)`), which the
    /// pipeline answers with a 500.
    public static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) throws -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": JSONBody.contentType], body: .bytes(try JSONBody.encode(value)))
    }
}

/// Limits on a JSON request body. The route's `bodyLimit` already refuses a larger
/// declared body before it is read; `maxBytes` also holds for routes that declare a larger
/// one for other reasons, and `maxDepth` keeps a small body of `[[[[…]]]]` from costing a
/// deep recursion in the decoder.
public struct JSONLimits: Sendable {
    public var maxBytes: Int
    public var maxDepth: Int

    public init(maxBytes: Int = 256 * 1024, maxDepth: Int = 32) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    public static let `default` = JSONLimits()
}

/// Encoding and decoding of JSON bodies, shared by ``HTTPResponse/json(_:status:)``,
/// ``Request/decodeJSON(_:limits:)`` and ``JSONErrors``.
public enum JSONBody {
    public static let contentType = "application/json"

    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    /// Whether a `Content-Type` is JSON: `application/json` or any `…+json`, with or
    /// without parameters (`; charset=utf-8`).
    public static func isJSON(mediaType: String?) -> Bool {
        guard let t = mediaType else { return false }
        return t == "application/json" || (t.hasPrefix("application/") && t.hasSuffix("+json"))
    }

    /// Decodes `bytes` as `T`. Throws an ``HTTPError``: 413 `body_too_large`, 400
    /// `body_too_deep`, `invalid_json`, `parameter_missing` or `parameter_invalid` (with
    /// `param` the field's path, e.g. `items[2].amount`).
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], limits: JSONLimits = .default) throws -> T {
        if bytes.count > limits.maxBytes {
            throw HTTPError(.payloadTooLarge, "The body is larger than \(limits.maxBytes) bytes.", code: "body_too_large")
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            throw HTTPError(.badRequest, "The body is empty; send a JSON object.", code: "body_missing")
        }
        if nestingDepth(bytes, stopAbove: limits.maxDepth) > limits.maxDepth {
            throw HTTPError(.badRequest, "The body nests deeper than \(limits.maxDepth) levels.", code: "body_too_deep")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw httpError(for: error)
        }
    }

    /// The deepest nesting of arrays and objects, outside strings; stops counting once
    /// above `stopAbove`. Malformed JSON is left to the decoder.
    static func nestingDepth(_ bytes: [UInt8], stopAbove: Int) -> Int {
        var depth = 0, deepest = 0
        var inString = false, escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                continue
            }
            switch b {
            case 0x22: inString = true
            case 0x5B, 0x7B:
                depth += 1
                if depth > deepest {
                    deepest = depth
                    if deepest > stopAbove { return deepest }
                }
            case 0x5D, 0x7D: depth -= 1
            default: break
            }
        }
        return deepest
    }

    /// A decoding failure as the 400 a client can act on: which field, and what is wrong.
    /// The decoder's own description (Swift type names, internal paths) is not shown.
    static func httpError(for error: DecodingError) -> HTTPError {
        switch error {
        case .keyNotFound(let key, let context):
            let param = path(context.codingPath + [key])
            return HTTPError(.badRequest, "Missing required field: \(param).", code: "parameter_missing", param: param)
        case .valueNotFound(_, let context) where !context.codingPath.isEmpty:
            let param = path(context.codingPath)
            return HTTPError(.badRequest, "The field \(param) must not be null.", code: "parameter_invalid", param: param)
        case .typeMismatch(let type, let context) where !context.codingPath.isEmpty:
            let param = path(context.codingPath)
            return HTTPError(.badRequest, "The field \(param) must be \(describe(type)).", code: "parameter_invalid", param: param)
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            let param = path(context.codingPath)
            return HTTPError(.badRequest, "The field \(param) has an invalid value.", code: "parameter_invalid", param: param)
        case .typeMismatch(let type, _), .valueNotFound(let type, _):
            return HTTPError(.badRequest, "The body must be \(describe(type)).", code: "invalid_json")
        default:
            return HTTPError(.badRequest, "The body is not valid JSON.", code: "invalid_json")
        }
    }

    /// `items[2].amount` from a coding path.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var out = ""
        for key in codingPath {
            if let i = key.intValue, key.stringValue == "Index \(i)" || key.stringValue == String(i) {
                out += "[\(i)]"
            } else {
                if !out.isEmpty { out += "." }
                out += key.stringValue
            }
        }
        return out
    }

    /// A JSON type name for a Swift type the decoder expected.
    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type, is Substring.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type, is Int16.Type, is Int8.Type,
            is UInt.Type, is UInt64.Type, is UInt32.Type, is UInt16.Type, is UInt8.Type:
            return "an integer"
        case is Double.Type, is Float.Type, is Decimal.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array<") || name.hasPrefix("Set<") { return "an array" }
            if name.hasPrefix("Dictionary<") { return "an object" }
            if name.hasPrefix("Optional<") { return "a value" }
            return "an object"
        }
    }
}

extension Request {
    /// The body decoded from JSON as `T`.
    ///
    /// Throws an ``HTTPError`` the pipeline answers as is: 415 `unsupported_media_type`
    /// when the `Content-Type` is not JSON, 413 past `limits.maxBytes`, and 400 for an
    /// empty, too deep or malformed body or a field of the wrong type, naming the field
    /// (`param`).
    public func decodeJSON<T: Decodable>(_ type: T.Type = T.self, limits: JSONLimits = .default) throws -> T {
        guard JSONBody.isJSON(mediaType: mediaType) else {
            throw HTTPError(.unsupportedMediaType, "Send the body as application/json.", code: "unsupported_media_type")
        }
        return try JSONBody.decode(T.self, from: body, limits: limits)
    }
}
