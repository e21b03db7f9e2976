/// Bytes a worker posts to the event loop for one connection: part or all of a response.
struct Completion: Sendable {
    let token: ConnectionToken
    let bytes: [UInt8]
    /// Sent right after `bytes` from its own array: a large buffered body behind its head.
    var body: [UInt8] = []
    let final: Bool
    let keepAlive: Bool
    var stream: StreamChannel? = nil
    var abort = false
    /// The pulled body this completion belongs to: the loop keeps it on the connection and
    /// asks for the next chunk once the output drains (nil on the last completion).
    var pull: PullBody? = nil
    /// Monotonic milliseconds before which the loop must not send it (0: at once); see
    /// ``HTTPResponse/deliverAfter``.
    var notBefore: UInt64 = 0
}

/// A pulled body in flight: its producer and how its chunks are framed.
final class PullBody: Sendable {
    let producer: any BodyProducer
    let chunked: Bool
    let keepAlive: Bool
    init(producer: any BodyProducer, chunked: Bool, keepAlive: Bool) {
        self.producer = producer
        self.chunked = chunked
        self.keepAlive = keepAlive
    }
}
