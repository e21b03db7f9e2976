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
