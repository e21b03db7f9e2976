/// One row of "what would change": a field, its value now and after approval.
struct SupportChange: Sendable {
    let label: String
    let before: String
    let after: String
}
