import Foundation

/// What an audit event holds besides who, what and when: named fields, each a value or a
/// before/after pair, stored as one JSON object (`{"role":{"before":"Employee","after":"Custom"}}`).
/// Never a password, code or token.
struct AuditDetails: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    enum Value: Sendable, Equatable {
        case text(String)
        case change(before: String, after: String)

        /// The value as one line: "Employee → Custom".
        func text(_ format: (String) -> String = { $0 }) -> String {
            switch self {
            case .text(let v): format(v)
            case .change(let b, let a): "\(b.isEmpty ? "—" : format(b)) → \(a.isEmpty ? "—" : format(a))"
            }
        }

        var after: String {
            switch self {
            case .text(let v): v
            case .change(_, let a): a
            }
        }
    }

    /// In the order they were given (stored JSON objects come back in their action's field order).
    private(set) var fields: [(key: String, value: Value)] = []

    init() {}

    init(dictionaryLiteral elements: (String, Value)...) {
        for (k, v) in elements { self[k] = v }
    }

    /// Text fields from a dictionary, in `order` (keys not in it are left out).
    init(_ values: [String: String], order: [String]) {
        for k in order { if let v = values[k] { self[k] = .text(v) } }
    }

    var isEmpty: Bool { fields.isEmpty }

    subscript(key: String) -> Value? {
        get { fields.first { $0.key == key }?.value }
        set {
            if let i = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[i].value = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                fields.append((key, newValue))
            }
        }
    }

    static func == (a: AuditDetails, b: AuditDetails) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    // MARK: JSON

    /// The stored form: "" for no details, else a JSON object.
    var json: String {
        guard !fields.isEmpty else { return "" }
        var out = "{"
        for (i, f) in fields.enumerated() {
            if i > 0 { out += "," }
            out += Self.quote(f.key) + ":"
            switch f.value {
            case .text(let v): out += Self.quote(v)
            case .change(let b, let a): out += "{\"before\":\(Self.quote(b)),\"after\":\(Self.quote(a))}"
            }
        }
        return out + "}"
    }

    /// Reads the stored form; fields come in `order`, then any others by name. Anything that
    /// is not a JSON object reads as one `note`.
    init(json: String, order: [String] = []) {
        guard !json.isEmpty else { return }
        guard json.hasPrefix("{"), let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            self["note"] = .text(json)
            return
        }
        let keys = order.filter { object[$0] != nil } + object.keys.filter { !order.contains($0) }.sorted()
        for k in keys {
            if let s = object[k] as? String {
                self[k] = .text(s)
            } else if let pair = object[k] as? [String: Any], let b = pair["before"] as? String, let a = pair["after"] as? String {
                self[k] = .change(before: b, after: a)
            } else if let n = object[k] as? NSNumber {
                self[k] = .text(n.stringValue)
            }
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x2028 || u.value == 0x2029 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
