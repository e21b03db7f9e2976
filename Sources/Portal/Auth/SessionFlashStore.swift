import Database
import Foundation
import HTTP
import Logging
import Web

/// Flash messages kept in the session row (`sessions.flash`), so the browser carries
/// nothing it could rewrite. Reading them costs nothing extra: the column comes with the
/// session that ``AuthMiddleware`` reads anyway; only a request that adds or shows
/// messages writes.
///
/// The messages go to the session the browser holds *after* the response: a handler that
/// starts a session (log in, a step up) hands them to the new one, found by its cookie's
/// token. A visitor without a session (after logging out, on "check your e-mail", after a
/// password change that signed every session out) gets them in a signed, short-lived
/// cookie instead (``CookieFlashStore``): a forged or edited cookie shows nothing.
struct SessionFlashStore: FlashStore {
    let sessions: Sessions
    /// For visitors without a session.
    let cookies: CookieFlashStore
    var maxMessages = 5

    func load(_ req: Request) -> [FlashMessage] {
        Self.decode(req.auth?.session?.flash) + cookies.load(req)
    }

    func save(pending: [FlashMessage], consumed: Bool, request: Request, response: inout HTTPResponse) {
        if pending.isEmpty && request.auth?.session?.flash == nil {
            // Nothing to add, show or carry to a new session (most requests): which session
            // the browser ends up with does not matter, and finding out read every response
            // header lowercased. Only a cookie's messages shown here may need clearing.
            return cookies.save(pending: [], consumed: consumed, request: request, response: &response)
        }
        let shown = consumed ? Self.decode(request.auth?.session?.flash) : []
        var forCookie = pending
        do {
            switch target(request, response) {
            case .session(let id):
                if try update({ try sessions.store.flash(id: id, on: $0) }, removing: shown, adding: pending) { forCookie = [] }
            case .newSession(let tokenHash):
                // Messages the old session still held, not shown yet, move with the person.
                let carried = consumed ? [] : Self.decode(request.auth?.session?.flash)
                if let old = request.auth?.session, !shown.isEmpty || !carried.isEmpty {
                    _ = try update({ try sessions.store.flash(id: old.id, on: $0) }, removing: shown + carried, adding: [])
                }
                if try update({ try sessions.store.flash(tokenHash: tokenHash, on: $0) }, removing: [], adding: carried + pending) {
                    forCookie = []
                }
            case .none:
                if let old = request.auth?.session, !shown.isEmpty {
                    _ = try update({ try sessions.store.flash(id: old.id, on: $0) }, removing: shown, adding: [])
                }
            }
        } catch {
            request.logger.error("flash messages not saved", metadata: ["error": "\(error)"])
        }
        cookies.save(pending: forCookie, consumed: consumed, request: request, response: &response)
    }

    enum Target { case session(Int64), newSession(tokenHash: String), none }

    /// Which session the browser holds once it has this response.
    func target(_ req: Request, _ res: HTTPResponse) -> Target {
        let prefix = sessions.cookieName + "="
        for (name, value) in res.headers where name.lowercased() == "set-cookie" && value.hasPrefix(prefix) {
            let token = value.dropFirst(prefix.count).prefix { $0 != ";" }
            if token.isEmpty || value.contains("Max-Age=0") { return .none }
            return .newSession(tokenHash: Sessions.hash(String(token)))
        }
        if let session = req.auth?.session { return .session(session.id) }
        return .none
    }

    /// In one write: drops the messages this request showed (if they are still first in
    /// line) and queues `adding`. False when the session is no longer live.
    private func update(_ find: @escaping (Connection) throws -> (id: Int64, flash: String?)?,
                        removing shown: [FlashMessage], adding: [FlashMessage]) throws -> Bool {
        guard !shown.isEmpty || !adding.isEmpty else { return true }
        return try sessions.database.write { db in
            guard let row = try find(db) else { return false }
            var messages = Self.decode(row.flash)
            if !shown.isEmpty, messages.starts(with: shown) { messages.removeFirst(shown.count) }
            messages += adding
            let json = messages.isEmpty ? nil : Self.encode(Array(messages.suffix(maxMessages)))
            if json != row.flash { try sessions.store.setFlash(id: row.id, json, on: db) }
            return true
        }
    }

    static func decode(_ json: String?) -> [FlashMessage] {
        guard let json, let messages = try? JSONDecoder().decode([FlashMessage].self, from: Data(json.utf8)) else { return [] }
        return messages
    }

    static func encode(_ messages: [FlashMessage]) -> String? {
        (try? JSONEncoder().encode(messages)).map { String(decoding: $0, as: UTF8.self) }
    }
}
