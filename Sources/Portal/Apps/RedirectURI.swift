/// An OAuth redirect URI an app registers, checked as OAuth 2.1 (§2.3.1, §7.5) and RFC 8252
/// (native apps) require.
///
/// Accepted:
/// - `https://host[:port]/path[?query]` — a web app;
/// - `http://127.0.0.1[:port]/…` and `http://[::1][:port]/…` — a native app's loopback
///   listener (RFC 8252 §7.3). `localhost` is refused (§8.3: it may resolve elsewhere);
/// - `com.example.app:/callback` — a private-use scheme (RFC 8252 §7.1): a scheme holding a
///   dot, reverse-DNS style, so it is not `javascript:`, `data:` or `file:`.
///
/// Refused: relative URIs, a fragment, userinfo (`user@`), `*` in the host (no wildcards),
/// other schemes, spaces and characters a URI cannot hold, and anything over 2,000 bytes.
///
/// Matching at authorization time (``matches(_:)``) is exact, byte for byte, with one
/// exception RFC 8252 §7.3 requires: for a loopback URI the port is ignored, because a native
/// app picks a free port when it starts. Scheme, host, path and query must still be identical.
struct RedirectURI: Sendable, Equatable {
    enum Kind: String, Sendable {
        case web
        case loopback
        case privateUse = "private_use"
    }

    let value: String
    let kind: Kind

    static let maximumLength = 2000

    /// Parses and checks `raw` as given (nothing is trimmed or normalized: it is matched exactly).
    static func parse(_ raw: String) throws(RedirectURIProblem) -> RedirectURI {
        if raw.isEmpty { throw .empty }
        if raw.utf8.count > maximumLength { throw .tooLong }
        guard raw.utf8.allSatisfy(isURICharacter) else { throw .invalidCharacters }
        if raw.contains("#") { throw .fragment }
        guard let parts = Parts(raw) else { throw .notAbsolute }
        switch parts.scheme {
        case "https":
            guard let authority = parts.authority else { throw .notAbsolute }
            let host = try checkAuthority(authority)
            if host.contains("*") { throw .wildcard }
            guard isHostName(host) || isIPLiteral(host) else { throw .badHost }
            return RedirectURI(value: raw, kind: .web)
        case "http":
            guard let authority = parts.authority else { throw .notAbsolute }
            let host = try checkAuthority(authority)
            if host.contains("*") { throw .wildcard }
            guard host == "127.0.0.1" || host == "[::1]" else {
                throw host.lowercased() == "localhost" ? .localhost : .httpNotLoopback
            }
            return RedirectURI(value: raw, kind: .loopback)
        default:
            guard parts.scheme.contains(".") else { throw .scheme }
            if let authority = parts.authority {
                if authority.contains("@") { throw .userinfo }
                if authority.contains("*") { throw .wildcard }
            }
            // `com.example.app:` alone names no place in the app.
            guard !(parts.authority == nil && parts.rest.isEmpty) else { throw .notAbsolute }
            return RedirectURI(value: raw, kind: .privateUse)
        }
    }

    /// Whether a `redirect_uri` sent with an authorization or token request matches this one.
    func matches(_ requested: String) -> Bool {
        if requested == value { return true }
        guard kind == .loopback, let mine = Parts(value), let theirs = Parts(requested),
              theirs.scheme == "http", let a = mine.authority, let b = theirs.authority else { return false }
        return Self.hostWithoutPort(a) == Self.hostWithoutPort(b) && mine.rest == theirs.rest
            && Self.portIsValid(b)
    }

    // MARK: - pieces

    /// `scheme:` then, when it starts with `//`, the authority up to the next `/` or `?`, and
    /// the rest (path and query).
    private struct Parts {
        var scheme: String
        var authority: String?
        var rest: Substring

        init?(_ s: String) {
            guard let colon = s.firstIndex(of: ":") else { return nil }
            let scheme = s[..<colon]
            guard let first = scheme.first, first.isASCII, first.isLetter,
                  scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") }) else { return nil }
            // Schemes are case-insensitive, but a redirect URI is matched exactly: only
            // lower-case schemes are accepted, so that there is one spelling to match.
            guard scheme == scheme.lowercased() else { return nil }
            self.scheme = String(scheme)
            var after = s[s.index(after: colon)...]
            if after.hasPrefix("//") {
                after = after.dropFirst(2)
                let end = after.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? after.endIndex
                authority = String(after[..<end])
                rest = after[end...]
            } else {
                authority = nil
                rest = after
            }
        }
    }

    /// The host of `authority`, after refusing userinfo, an empty host and a bad port.
    private static func checkAuthority(_ authority: String) throws(RedirectURIProblem) -> String {
        if authority.contains("@") { throw .userinfo }
        let host = hostWithoutPort(authority)
        if host.isEmpty { throw .badHost }
        guard portIsValid(authority) else { throw .badPort }
        return host
    }

    private static func hostWithoutPort(_ authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[...close])
        }
        return String(authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    private static func portIsValid(_ authority: String) -> Bool {
        let host = hostWithoutPort(authority)
        let tail = authority.dropFirst(host.count)
        if tail.isEmpty { return true }
        guard tail.first == ":" else { return false }
        let digits = tail.dropFirst()
        guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(digits) else { return false }
        return (1...65535).contains(port)
    }

    private static func isHostName(_ host: String) -> Bool {
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard host.utf8.count <= 253, !labels.isEmpty else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    private static func isIPLiteral(_ host: String) -> Bool {
        guard host.hasPrefix("["), host.hasSuffix("]") else { return false }
        let inner = host.dropFirst().dropLast()
        return !inner.isEmpty && inner.contains(":") && inner.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }

    /// RFC 3986 unreserved, reserved and `%`: what a URI may contain without escaping.
    private static func isURICharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            Array("-._~:/?#[]@!$&'()*+,;=%".utf8).contains(c)
        }
    }
}

/// Why a redirect URI was refused, in words for the field.
enum RedirectURIProblem: Error, Equatable {
    case empty, tooLong, invalidCharacters, fragment, notAbsolute, userinfo, wildcard, badHost, badPort
    case localhost, httpNotLoopback, scheme

    var message: String {
        switch self {
        case .empty: "Enter the redirect URI, like https://app.example.com/oauth/callback."
        case .tooLong: "A redirect URI can be at most 2,000 characters."
        case .invalidCharacters: "A redirect URI cannot contain spaces or characters like < > \" \\ { }: percent-encode them."
        case .fragment: "A redirect URI cannot contain a fragment (#…)."
        case .notAbsolute: "Enter an absolute URI with a lower-case scheme, like https://app.example.com/oauth/callback."
        case .userinfo: "A redirect URI cannot contain a user name or password (user@host)."
        case .wildcard: "Wildcards are not allowed: register each redirect URI exactly."
        case .badHost: "The host of this redirect URI is not a valid host name or IP address."
        case .badPort: "The port must be a number from 1 to 65535."
        case .localhost: "Use http://127.0.0.1 or http://[::1] instead of localhost: a name can resolve elsewhere."
        case .httpNotLoopback: "Use https: plain http is allowed only for the loopback addresses 127.0.0.1 and [::1]."
        case .scheme: "Use https, http on loopback, or a private-use scheme with a dot for native apps (com.example.app:/callback)."
        }
    }
}
