/// Masks the path segments that may carry a secret (a token mailed in a link) before a path
/// is written to a log line. It looks at the path alone, not at the route, so a mistyped
/// path (a real token followed by an unknown word: no route, a 404) or one refused before
/// routing is masked as well as one a route matched.
///
/// Under each rule's prefix every segment is replaced by `[token]` unless the rule says it
/// is not a secret (an action word, a public id): a token is masked even where nobody
/// expected one (`/reset-password/<token>`, after a mail client mangled `?token=`).
public struct PathRedaction: Sendable {
    public struct Rule: Sendable {
        /// A path prefix ending at a segment boundary: `/invitations`.
        public var prefix: String
        /// Segments under the prefix that are not secrets and stay as they are.
        public var keep: @Sendable (Substring) -> Bool

        public init(prefix: String, keep: @escaping @Sendable (Substring) -> Bool = { _ in false }) {
            self.prefix = prefix
            self.keep = keep
        }
    }

    public static let mask = "[token]"
    public var rules: [Rule]

    public init(_ rules: [Rule] = []) {
        self.rules = rules
    }

    /// `path` with the secret segments masked; `path` itself when no rule applies.
    public func apply(_ path: String) -> String {
        // Over the path's bytes (the prefixes are ASCII): it runs for every logged request.
        let u = path.utf8
        for rule in rules {
            guard path.utf8HasPrefix(rule.prefix) else { continue }
            let restStart = u.index(u.startIndex, offsetBy: rule.prefix.utf8.count)
            guard restStart == u.endIndex || u[restStart] == UInt8(ascii: "/") else { continue }
            let rest = path[restStart...]
            let segments = rest.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            var masked = rule.prefix
            for s in segments {
                masked += "/"
                masked += s.isEmpty || rule.keep(s) ? String(s) : Self.mask
            }
            return masked
        }
        return path
    }
}
