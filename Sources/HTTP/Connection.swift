/// One client connection's state. Owned by the event-loop thread: no other thread touches it.
final class Connection {
    /// `refusing`: over the connection cap, read only as far as its request target's prefix
    /// (``HTTPServer/Configuration/refusalPrefixes``) before its 503.
    enum Phase { case reading, processing, closing, lingering, refusing }
    let fd: Int32
    let id: UInt64
    let remote: String
    var decoder: RequestDecoder
    var phase = Phase.reading
    var inbuf: [UInt8] = []
    var inStart = 0
    /// Output waiting to be sent: `outbuf` from `outStart`, then `outTail`, a large body kept
    /// in its own array behind its head instead of being copied after it (see `pendingOutput`).
    var outbuf: [UInt8] = []
    var outStart = 0
    var outTail: [UInt8] = []
    var readable = true
    /// epoll reported the peer's half-close: keep reading to the EOF behind the data.
    var finPending = false
    var peerClosed = false
    var mustClose = false
    var closed = false
    var served = false
    /// Held over the cap only to be refused: counted apart from the open connections.
    var isRefusal = false
    /// Responses made on the loop wait in `outbuf` until decoding stops (see `answerInline`).
    var inlineAnswered = false
    var requestStarted: UInt64
    var lastActivity: UInt64
    var lastWriteProgress: UInt64
    var lingerStarted: UInt64 = 0
    var stream: StreamChannel?
    var streamUnacked = 0
    /// A pulled body being sent, and whether a worker is producing its next chunk.
    var pull: PullBody?
    var pullInFlight = false
    /// Its response waits in the loop's ``DelayedDeliveries`` (``HTTPResponse/deliverAfter``).
    var delayed = false

    /// Bytes not yet sent.
    var pendingOutput: Int { outbuf.count - outStart + outTail.count }

    init(fd: Int32, id: UInt64, remote: String, now: UInt64, decoder: RequestDecoder) {
        self.fd = fd
        self.id = id
        self.remote = remote
        self.decoder = decoder
        requestStarted = now
        lastActivity = now
        lastWriteProgress = now
    }
}
