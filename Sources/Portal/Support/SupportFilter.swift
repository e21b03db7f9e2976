/// Which part of the queue to show: status (open by default), type, page.
struct SupportFilter: Equatable, Sendable {
    enum Status: String, CaseIterable, Sendable {
        case open, approved, rejected, withdrawn, all
        var title: String { self == .all ? "All statuses" : rawValue.capitalized }
    }

    var status: Status = .open
    var kind: SupportRequestRecord.Kind?
    var page: Int = 1

    init(status: Status = .open, kind: SupportRequestRecord.Kind? = nil, page: Int = 1) {
        self.status = status
        self.kind = kind
        self.page = max(1, page)
    }

    /// From the queue's query string; anything unknown falls back to the default.
    init(status: String?, kind: String?, page: String?) {
        self.init(status: status.flatMap(Status.init(rawValue:)) ?? .open,
                  kind: kind.flatMap(SupportRequestRecord.Kind.init(rawValue:)),
                  page: page.flatMap { Int($0) }.map { min(max($0, 1), 100_000) } ?? 1)
    }
}
