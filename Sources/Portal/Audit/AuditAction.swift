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
