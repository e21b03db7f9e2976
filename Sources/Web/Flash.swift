import Foundation
import HTTP
import Mustache

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

/// Where flash messages wait between two requests. The cookie store is the first
/// implementation; a session-backed store can replace it without touching handlers.
public protocol FlashStore: Sendable {
    /// The messages carried to this request. Called at most once per request, when the
    /// messages are first read (usually when a page is rendered).
    func load(_ req: Request) -> [FlashMessage]

    /// Called once the handler's response is known. `pending` are the messages added
    /// during this request, for the next one; `consumed` tells whether this request read
    /// the messages it carried, which must then be forgotten.
    func save(pending: [FlashMessage], consumed: Bool, request: Request, response: inout HTTPResponse)
}

/// Keeps flash messages in a short-lived `HttpOnly` cookie (base64url JSON). The cookie is
/// not signed: a user can only forge messages for their own browser, and they are
/// HTML-escaped like any other text.
public struct CookieFlashStore: FlashStore {
    public var cookieName: String
    public var secure: Bool
    public var maxAge: Int
    /// Messages beyond this many are dropped, to keep the cookie small.
    public var maxMessages: Int

    public init(cookieName: String = "flash", secure: Bool = false, maxAge: Int = 300, maxMessages: Int = 5) {
        self.cookieName = cookieName
        self.secure = secure
        self.maxAge = maxAge
        self.maxMessages = maxMessages
    }

    public func load(_ req: Request) -> [FlashMessage] {
        guard let value = req.cookies[cookieName], value.utf8.count <= 4096,
            let data = Self.base64URLDecode(value),
            let messages = try? JSONDecoder().decode([FlashMessage].self, from: data)
        else { return [] }
        return Array(messages.prefix(maxMessages))
    }

    public func save(pending: [FlashMessage], consumed: Bool, request: Request, response: inout HTTPResponse) {
        let hadCookie = request.cookies[cookieName] != nil
        var messages = pending
        if !consumed && hadCookie && !pending.isEmpty { messages = load(request) + pending }
        if !messages.isEmpty, let data = try? JSONEncoder().encode(Array(messages.suffix(maxMessages))) {
            response.setCookie(SetCookie(name: cookieName, value: Self.base64URLEncode(data), maxAge: maxAge, secure: secure))
        } else if consumed && hadCookie {
            response.setCookie(.expired(cookieName, secure: secure))
        }
    }

    static func base64URLEncode(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ s: String) -> Data? {
        var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b.utf8.count % 4 != 0 { b += "=" }
        return Data(base64Encoded: b)
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
