import HTTP
import Web

/// `GET /v1/ping`: `{"ok": true}` without credentials, so a client can tell it reaches the
/// API (and sees its JSON errors) before it has a key.
struct PingController {
    struct Pong: Encodable { let ok: Bool }

    func register(on router: inout Router) {
        router.get("/ping") { _ in try .json(Pong(ok: true)) }
    }
}
