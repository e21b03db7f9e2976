import Foundation
import HTTP
import Mustache
import Security

/// A one-shot message shown on the next page, typically after a POST-redirect-GET:
/// `req.flash(.success, "API key created.")` then `return .redirect(to: "/keys")`.
public struct FlashMessage: Sendable, Codable, Equatable, ViewModel {
    /// How the layout should style the message.
    public enum Kind: String, Sendable, Codable {
        case success, info, warning, error
    }

    public var kind: Kind
    public var text: String

    public init(_ kind: Kind, _ text: String) {
        self.kind = kind
        self.text = text
    }

    public func child(named name: String) -> Any? {
        switch name {
        case "kind": kind.rawValue
        case "text": text
        case "isSuccess": kind == .success
        case "isInfo": kind == .info
        case "isWarning": kind == .warning
        case "isError": kind == .error
        default: nil
        }
    }
}

/// Where flash messages wait between two requests. ``CookieFlashStore`` keeps them in a
/// signed cookie; an app with server-side sessions keeps them in the session (Portal's
/// `SessionFlashStore`) without touching handlers.
public protocol FlashStore: Sendable {
    /// The messages carried to this request. Called at most once per request, when the
    /// messages are first read (usually when a page is rendered).
    func load(_ req: Request) -> [FlashMessage]

    /// Called once the handler's response is known. `pending` are the messages added
    /// during this request, for the next one; `consumed` tells whether this request read
    /// the messages it carried, which must then be forgotten.
    func save(pending: [FlashMessage], consumed: Bool, request: Request, response: inout HTTPResponse)
}

/// Keeps flash messages in a short-lived `HttpOnly` cookie: base64url JSON, an expiry, and
/// an HMAC-SHA256 over both (and the cookie's name) under `key`. A cookie the server did not
/// write — forged, edited, or planted by a neighbouring site — is ignored, so nobody can
/// make the site show a sentence of their choosing ("Call support on …"). The expiry keeps
/// a copied cookie from replaying the message later.
public struct CookieFlashStore: FlashStore {
    public var cookieName: String
    public var secure: Bool
    public var maxAge: Int
    /// Messages beyond this many are dropped, to keep the cookie small.
    public var maxMessages: Int
    let key: [UInt8]
    let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - key: the signing key; the default, random per process, suits a single instance
    ///     (cookies then die with the process: flash messages are short-lived anyway).
    ///   - now: the clock, in Unix seconds.
    public init(cookieName: String = "flash", secure: Bool = false, maxAge: Int = 300, maxMessages: Int = 5,
                key: [UInt8] = SecureRandom.bytes(32),
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.cookieName = cookieName
        self.secure = secure
        self.maxAge = maxAge
        self.maxMessages = maxMessages
        self.key = key
        self.now = now
    }

    public func load(_ req: Request) -> [FlashMessage] {
        guard let value = req.cookies[cookieName], value.utf8.count <= 4096 else { return [] }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[1]), expiry >= now(),
            let mac = Base64URL.decode(String(parts[2])),
            Digest.constantTimeEquals(mac, signature(payload: parts[0], expiry: parts[1])),
            let data = Base64URL.decode(String(parts[0])),
            let messages = try? JSONDecoder().decode([FlashMessage].self, from: Data(data))
        else { return [] }
        return Array(messages.prefix(maxMessages))
    }

    public func save(pending: [FlashMessage], consumed: Bool, request: Request, response: inout HTTPResponse) {
        let hadCookie = request.cookies[cookieName] != nil
        var messages = pending
        if !consumed && hadCookie && !pending.isEmpty { messages = load(request) + pending }
        if !messages.isEmpty, let value = cookieValue(Array(messages.suffix(maxMessages))) {
            response.setCookie(SetCookie(name: cookieName, value: value, maxAge: maxAge, secure: secure))
        } else if consumed && hadCookie {
            response.setCookie(.expired(cookieName, secure: secure))
        }
    }

    /// `payload.expiry.mac` for `messages`.
    func cookieValue(_ messages: [FlashMessage]) -> String? {
        guard let data = try? JSONEncoder().encode(messages) else { return nil }
        let payload = Base64URL.encode(Array(data))
        let expiry = String(now() + Int64(maxAge))
        return payload + "." + expiry + "." + Base64URL.encode(signature(payload: Substring(payload), expiry: Substring(expiry)))
    }

    private func signature(payload: Substring, expiry: Substring) -> [UInt8] {
        Digest.hmacSHA256(key: key, message: Array("flash v1\n\(cookieName)\n\(expiry)\n\(payload)".utf8))
    }
}

/// Makes `req.flash(_:_:)` and `req.flashMessages` work, using a ``FlashStore``.
/// Messages are consumed only when read, so requests that render nothing (redirects,
/// static files, a favicon 404) don't swallow them.
public struct FlashMiddleware: Middleware {
    public let store: any FlashStore

    public init(store: any FlashStore = CookieFlashStore()) {
        self.store = store
    }

    public func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        req.storage[FlashStateKey.self] = FlashState(store: store)
        var res = try next(req)
        if let state = req.storage[FlashStateKey.self] {
            store.save(pending: state.pending, consumed: state.loaded != nil, request: req, response: &res)
        }
        return res
    }
}

struct FlashState {
    let store: any FlashStore
    var loaded: [FlashMessage]?
    var pending: [FlashMessage] = []
}

enum FlashStateKey: RequestStorageKey {
    typealias Value = FlashState
}

extension Request {
    /// The flash messages carried to this request; reading them consumes them. Empty when
    /// ``FlashMiddleware`` is not installed.
    public var flashMessages: [FlashMessage] {
        guard var state = storage[FlashStateKey.self] else { return [] }
        if let loaded = state.loaded { return loaded }
        let loaded = state.store.load(self)
        state.loaded = loaded
        storage[FlashStateKey.self] = state
        return loaded
    }

    /// Queues a message for the next request (after the redirect). Needs ``FlashMiddleware``.
    public func flash(_ kind: FlashMessage.Kind, _ text: String) {
        guard var state = storage[FlashStateKey.self] else {
            logger.warning("flash message dropped: FlashMiddleware is not installed")
            return
        }
        state.pending.append(FlashMessage(kind, text))
        storage[FlashStateKey.self] = state
    }
}
