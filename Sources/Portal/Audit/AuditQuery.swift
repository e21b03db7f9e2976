import Database

/// Which of an organization's events to read: always one organization, then optionally one
/// actor (or the operator's staff), one action or a family of actions, and a time range.
struct AuditQuery: Sendable {
    enum ActorMatch: Sendable, Equatable {
        case anyone
        case user(Int64)
        /// Anyone on the operator's support staff.
        case staff
    }

    enum ActionMatch: Sendable, Equatable {
        case any
        case exact(String)
        /// Actions starting with one of these prefixes (`member.`); fixed strings, never input.
        case prefixes([String])
    }

    let organizationID: Int64
    var actor: ActorMatch = .anyone
    var action: ActionMatch = .any
    /// UTC unix seconds, inclusive.
    var from: Int64?
    /// UTC unix seconds, exclusive.
    var until: Int64?

    /// `s` with GLOB's special characters taken literally.
    static func globEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "*", "?", "[": out += "[\(c)]"
            default: out.append(c)
            }
        }
        return out
    }
}
