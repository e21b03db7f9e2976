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

/// The words of one event: who acted, on whom or what, with its details.
struct AuditSentenceParts: Sendable {
    /// "Ana Lovelace", "Support (Sam Staff)", "Portal", or "You" on one's own security page.
    let actor: String
    let subject: String
    /// The subject's name when the subject is the address of one of the organization's people.
    let subjectName: String?
    let details: AuditDetails

    /// The person the event is about, by name when known.
    var who: String { subjectName ?? (subject.isEmpty ? "a member" : subject) }
    /// The subject, or "someone".
    var subjectOrSomeone: String { subject.isEmpty ? "someone" : subject }

    func text(_ key: String) -> String? { details[key].map { $0.after } }
}

/// One kind of audit event, declared by the feature that records it (`TeamAuditEvents.swift`…):
/// its stable identifier, the title the log's filter lists, the sentence a person reads, and
/// how its JSON details read as lines. ``AuditActions`` (built by the composition root) finds
/// an action by identifier; no central switch grows with every feature.
struct AuditAction: Sendable {
    /// Stored in `audit_events.action`; never changes once events exist.
    let id: String
    let title: String
    /// Detail fields in reading order, with their titles.
    let fields: [(key: String, title: String)]
    /// How a field's value reads ("developer" → "Developer"), if not as stored.
    let format: @Sendable (_ key: String, _ value: String) -> String
    let sentence: @Sendable (AuditSentenceParts) -> String
    /// Overrides the generic "Title: value" lines, when the details read better otherwise.
    let lines: (@Sendable (AuditDetails) -> [String])?
    /// Overrides the generic `key: value; …` line of the export.
    let text: (@Sendable (AuditDetails) -> String)?

    init(_ id: String, title: String, fields: [(String, String)] = [],
         sentence: (@Sendable (AuditSentenceParts) -> String)? = nil,
         format: @escaping @Sendable (String, String) -> String = { _, v in v },
         lines: (@Sendable (AuditDetails) -> [String])? = nil,
         text: (@Sendable (AuditDetails) -> String)? = nil) {
        self.id = id
        self.title = title
        self.fields = fields.map { (key: $0.0, title: $0.1) }
        self.format = format
        self.lines = lines
        self.text = text
        // An action without its own sentence reads as its title.
        self.sentence = sentence ?? { _ in title }
    }

    var fieldOrder: [String] { fields.map(\.key) }

    /// The details as lines for a page: "Role: Employee → Custom". A `note` (free words)
    /// reads as its own lines.
    func detailLines(_ d: AuditDetails) -> [String] {
        if let lines { return lines(d) }
        return d.fields.flatMap { f -> [String] in
            if f.key == "note" { return f.value.text().components(separatedBy: "; ") }
            let title = fields.first { $0.key == f.key }?.title ?? f.key
            return ["\(title): \(f.value.text { format(f.key, $0) })"]
        }
    }

    /// The details as one line of `key: value` pairs, for the CSV export and the support history.
    func detailText(_ d: AuditDetails) -> String {
        if let text { return text(d) }
        return d.fields.map { f in f.key == "note" ? f.value.text() : "\(f.key): \(f.value.text())" }.joined(separator: "; ")
    }
}

/// Every audit action the portal records, found by identifier. Built once from the lists the
/// features declare (see `App/AuditActionsRegistry.swift`); an identifier it does not know
/// (an event from a newer or older version) still reads as words.
struct AuditActions: Sendable {
    let byID: [String: AuditAction]

    init(_ lists: [[AuditAction]]) {
        var byID: [String: AuditAction] = [:]
        for a in lists.joined() {
            precondition(byID[a.id] == nil, "audit action \(a.id) declared twice")
            byID[a.id] = a
        }
        self.byID = byID
    }

    subscript(id: String) -> AuditAction? { byID[id] }

    func title(_ id: String) -> String { byID[id]?.title ?? Self.humanize(id) }

    /// The stored details of an event of `id`.
    func details(_ id: String, json: String) -> AuditDetails { AuditDetails(json: json, order: byID[id]?.fieldOrder ?? []) }

    func describe(_ id: String, actor: String, subject: String, details json: String, subjectName: String? = nil) -> String {
        let parts = AuditSentenceParts(actor: actor, subject: subject, subjectName: subjectName, details: details(id, json: json))
        if let a = byID[id] { return a.sentence(parts) }
        let t = title(id)
        return "\(actor): \(t.prefix(1).lowercased() + t.dropFirst())" + (subject.isEmpty ? "" : " (\(subject))")
    }

    func detailLines(_ id: String, details json: String) -> [String] {
        let d = details(id, json: json)
        guard let a = byID[id] else { return AuditAction(id, title: id).detailLines(d) }
        return a.detailLines(d)
    }

    func detailText(_ id: String, details json: String) -> String {
        let d = details(id, json: json)
        return (byID[id] ?? AuditAction(id, title: id)).detailText(d)
    }

    /// "api_keys.created" → "Api keys created".
    static func humanize(_ action: String) -> String {
        let words = action.replacingOccurrences(of: ".", with: " ").replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }
}
