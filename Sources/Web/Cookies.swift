import HTTP

/// Parsing of the request's `Cookie` header (RFC 6265 §5.4).
public enum Cookies {
    /// Cookies by name from every `Cookie` header. When a name repeats, the first wins
    /// (browsers send the most specific path first). Values are returned as sent, minus
    /// surrounding double quotes; nothing is percent-decoded.
    public static func parse(_ headers: HTTPHeaders) -> [String: String] {
        var result: [String: String] = [:]
        for header in headers.values("Cookie") {
            // On bytes: every page reads the session cookie, and splitting Characters was 3 % of one.
            var header = header
            header.withUTF8 { bytes in
                var start = 0
                while start <= bytes.count {
                    let end = bytes[start...].firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
                    defer { start = end + 1 }
                    guard let eq = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")) else { continue }
                    let name = trimmed(bytes, start, eq)
                    var value = trimmed(bytes, eq + 1, end)
                    if value.count >= 2, bytes[value.lowerBound] == UInt8(ascii: "\""), bytes[value.upperBound - 1] == UInt8(ascii: "\"") {
                        value = value.lowerBound + 1..<value.upperBound - 1
                    }
                    guard !name.isEmpty else { continue }
                    let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[name]), as: UTF8.self)
                    guard result[key] == nil else { continue }
                    result[key] = String(decoding: UnsafeBufferPointer(rebasing: bytes[value]), as: UTF8.self)
                }
            }
        }
        return result
    }

    /// `from..<to` without the spaces and tabs at either end.
    private static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Range<Int> {
        var a = from, b = to
        while a < b, bytes[a] == 0x20 || bytes[a] == 0x09 { a += 1 }
        while b > a, bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09 { b -= 1 }
        return a..<b
    }
}

/// A `Set-Cookie` response header (RFC 6265 §4.1).
///
/// Defaults are the safe ones: `Path=/`, `HttpOnly`, `SameSite=Lax`. Set `secure` when
/// the site is served over HTTPS. Characters not allowed in a cookie name or value
/// (controls, whitespace, `"`, `,`, `;`, `\`) are dropped, so a value can never break
/// out of its header; store base64url or hex tokens in cookies.
///
/// ```swift
/// response.setCookie(SetCookie(name: "sid", value: token, maxAge: 86_400, secure: true))
/// ```
public struct SetCookie: Sendable, Equatable {
    /// The `SameSite` attribute: `Lax` suits session cookies of a site with plain links in.
    public enum SameSite: String, Sendable {
        case strict = "Strict", lax = "Lax", none = "None"
    }

    public var name: String
    public var value: String
    public var path: String?
    public var domain: String?
    /// Lifetime in seconds; `0` deletes the cookie. Nil makes a session cookie.
    public var maxAge: Int?
    /// Absolute expiry as seconds since 1970 (for old clients; `maxAge` wins when both are set).
    public var expires: Int?
    public var secure: Bool
    public var httpOnly: Bool
    public var sameSite: SameSite?

    public init(
        name: String, value: String, path: String? = "/", domain: String? = nil, maxAge: Int? = nil,
        expires: Int? = nil, secure: Bool = false, httpOnly: Bool = true, sameSite: SameSite? = .lax
    ) {
        self.name = name
        self.value = value
        self.path = path
        self.domain = domain
        self.maxAge = maxAge
        self.expires = expires
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }

    /// A cookie that makes the browser delete `name` (same path and domain as when it was set).
    public static func expired(_ name: String, path: String? = "/", domain: String? = nil, secure: Bool = false) -> SetCookie {
        SetCookie(name: name, value: "", path: path, domain: domain, maxAge: 0, expires: 0, secure: secure)
    }

    /// The header value: `name=value; Path=/; Max-Age=60; HttpOnly; SameSite=Lax`.
    public var headerValue: String {
        var s = Self.clean(name, allowEquals: false) + "=" + Self.clean(value, allowEquals: true)
        if let path { s += "; Path=" + Self.cleanAttribute(path) }
        if let domain { s += "; Domain=" + Self.cleanAttribute(domain) }
        if let maxAge { s += "; Max-Age=\(max(maxAge, 0))" }
        if let expires { s += "; Expires=" + HTTPDateFormat.string(from: expires) }
        if secure || sameSite == SameSite.none { s += "; Secure" }
        if httpOnly { s += "; HttpOnly" }
        if let sameSite { s += "; SameSite=" + sameSite.rawValue }
        return s
    }

    private static func clean(_ s: String, allowEquals: Bool) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.filter { c in
            c.value > 0x20 && c.value < 0x7F && c != "\"" && c != "," && c != ";" && c != "\\"
                && (allowEquals || c != "=")
        }))
    }

    private static func cleanAttribute(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F && $0 != ";" }))
    }
}

extension HTTPResponse {
    /// Adds a `Set-Cookie` header.
    public mutating func setCookie(_ cookie: SetCookie) {
        headers.add("Set-Cookie", cookie.headerValue)
    }
}
