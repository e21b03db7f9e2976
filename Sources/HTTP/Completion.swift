/// Bytes a worker posts to the event loop for one connection: part or all of a response.
struct Completion: Sendable {
    let token: ConnectionToken
    let bytes: [UInt8]
    let final: Bool
    let keepAlive: Bool
    var stream: StreamChannel? = nil
    var abort = false
}
