/// The ``BodyWriter`` a worker streams a body through: frames each chunk (chunked encoding on
/// HTTP/1.1) and posts it to the loop, blocking while too much waits for the socket.
struct StreamWriter: BodyWriter {
    let loop: EventLoop
    let token: ConnectionToken
    let channel: StreamChannel
    let chunked: Bool

    func write(_ bytes: [UInt8]) throws {
        if channel.isCancelled { throw StreamError.connectionClosed }
        if bytes.isEmpty { return } // an empty chunk would end the body
        var frame: [UInt8]
        if chunked {
            frame = []
            frame.reserveCapacity(bytes.count + 12)
            ResponseEncoder.chunkHeader(bytes.count, into: &frame)
            frame.append(contentsOf: bytes)
            frame.append(contentsOf: ResponseEncoder.crlf)
        } else {
            frame = bytes
        }
        let n = frame.count
        loop.post(Completion(token: token, bytes: frame, final: false, keepAlive: true))
        try channel.posted(n)
    }
}
