/// Names a connection from a worker thread: the descriptor and the id it had when the request
/// was read, so an answer for a connection that closed (and whose descriptor was reused) is dropped.
struct ConnectionToken: Sendable {
    let fd: Int32
    let id: UInt64
}
