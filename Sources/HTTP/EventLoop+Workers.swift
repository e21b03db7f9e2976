import Foundation

/// The hop to the workers and back: a decoded request goes to the ``WorkerPool``; the worker
/// runs the responder, encodes the response and posts its bytes to the loop through a
/// mutex-guarded completion queue and an `eventfd` wake-up (one wake per batch, not per
/// response, and none while the loop is awake anyway).
extension EventLoop {
    func dispatch(_ c: Connection, request: HTTPRequest) {
        let token = ConnectionToken(fd: c.fd, id: c.id)
        pool.submit { [self] in
            let response = responder.respond(to: request)
            deliver(response, head: request.head, token: token, keepAlive: request.head.keepAlive)
        }
    }

    func dispatchError(_ c: Connection, status: HTTPStatus, head: HTTPRequestHead?, prefix: String? = nil) {
        let token = ConnectionToken(fd: c.fd, id: c.id)
        pool.submit { [self] in
            let response = responder.errorResponse(status: status, head: head, prefix: prefix)
            deliver(response, head: head, token: token, keepAlive: false)
        }
    }

    /// The bytes of a response whose body is in memory: head, then the body unless the
    /// request or the status rules one out.
    static func encode(_ response: HTTPResponse, body: [UInt8], head: HTTPRequestHead?, keepAlive: Bool) -> [UInt8] {
        var out = encodeHead(response, bodyCount: body.count, head: head, keepAlive: keepAlive, reserve: body.count)
        if !hasNoBody(response, head: head) { out.append(contentsOf: body) }
        return out
    }

    /// The status line and headers of a buffered body of `bodyCount` bytes.
    static func encodeHead(_ response: HTTPResponse, bodyCount: Int, head: HTTPRequestHead?, keepAlive: Bool, reserve: Int = 0) -> [UInt8] {
        let version = head?.version ?? .http1_1
        let code = response.status.code
        var out = [UInt8]()
        out.reserveCapacity(reserve + 320)
        var length: Int? = bodyCount
        if code < 200 || code == 204 || code == 304 {
            length = nil
        } else if head?.method == .HEAD, let explicit = response.headers["Content-Length"], let n = Int(explicit) {
            length = n
        }
        ResponseEncoder.head(response, version: version, keepAlive: keepAlive, bodyLength: length, chunked: false, into: &out)
        return out
    }

    /// A HEAD request's answer, and 1xx, 204 and 304 answers, carry no body.
    static func hasNoBody(_ response: HTTPResponse, head: HTTPRequestHead?) -> Bool {
        let code = response.status.code
        return head?.method == .HEAD || code < 200 || code == 204 || code == 304
    }

    /// From this size a buffered body goes to the loop in its own array, sent behind its
    /// head with one `sendmsg`, rather than copied after the head (a kept dashboard is 50 KB).
    static let separateBodyFrom = 16 * 1024

    /// Encodes a response on the worker thread and posts its bytes to the loop.
    func deliver(_ response: HTTPResponse, head: HTTPRequestHead?, token: ConnectionToken, keepAlive: Bool) {
        let version = head?.version ?? .http1_1
        let noBody = Self.hasNoBody(response, head: head)
        var keepAlive = keepAlive && !draining.load(ordering: .relaxed)
        var out = [UInt8]()
        switch response.body {
        case .bytes(let body):
            var comp = body.count >= Self.separateBodyFrom && !noBody
                ? Completion(token: token, bytes: Self.encodeHead(response, bodyCount: body.count, head: head, keepAlive: keepAlive),
                             body: body, final: true, keepAlive: keepAlive)
                : Completion(token: token, bytes: Self.encode(response, body: body, head: head, keepAlive: keepAlive),
                             final: true, keepAlive: keepAlive)
            if let wait = response.deliverAfter, wait > .zero {
                // Plus one tick of the coarse clock both ends are read with: either reading may
                // lag by up to a tick, and the answer must never leave sooner than asked.
                comp.notBefore = monotonicMillis() &+ Self.millis(wait) &+ Self.coarseTick
            }
            post(comp)

        case .stream(let produce):
            guard let chunked = unsizedBody(response, version: version, noBody: noBody, token: token, keepAlive: &keepAlive) else { return }
            ResponseEncoder.head(response, version: version, keepAlive: keepAlive, bodyLength: nil, chunked: chunked, into: &out)
            let channel = StreamChannel(highWater: configuration.streamHighWater)
            post(Completion(token: token, bytes: out, final: false, keepAlive: keepAlive, stream: channel))
            let writer = StreamWriter(loop: self, token: token, channel: channel, chunked: chunked)
            do {
                try produce(writer)
                post(Completion(token: token, bytes: chunked ? ResponseEncoder.lastChunk : [], final: true, keepAlive: keepAlive))
            } catch {
                // The body cannot be completed: end the connection without the last chunk,
                // so the client sees a truncated response rather than a complete-looking one.
                if !channel.isCancelled { logger.error("streamed body failed", metadata: ["error": "\(error)"]) }
                post(Completion(token: token, bytes: [], final: true, keepAlive: false, abort: true))
            }

        case .pull(let producer):
            guard let chunked = unsizedBody(response, version: version, noBody: noBody, token: token, keepAlive: &keepAlive) else { return }
            let body = PullBody(producer: producer, chunked: chunked, keepAlive: keepAlive)
            // The first chunk is produced here, on the worker that made the response: no extra
            // hop, and a producer that fails at once can still be answered with a 500.
            let first: [UInt8]?
            do {
                first = try Self.nextChunk(of: producer)
            } catch {
                logger.error("pulled body failed before its first chunk", metadata: ["error": "\(error)"])
                deliver(responder.errorResponse(status: .internalServerError, head: head), head: head, token: token, keepAlive: false)
                return
            }
            ResponseEncoder.head(response, version: version, keepAlive: keepAlive, bodyLength: nil, chunked: chunked, into: &out)
            post(Self.frame(first, of: body, after: out, token: token))
        }
    }

    /// For a body of unknown length (streamed or pulled): answers a response that has none
    /// (HEAD, 1xx, 204, 304) with its head alone and returns nil; else whether the body is
    /// chunked (HTTP/1.1), or sent raw until the connection closes (HTTP/1.0, which then
    /// cannot be kept alive).
    private func unsizedBody(_ response: HTTPResponse, version: HTTPVersion, noBody: Bool, token: ConnectionToken,
                             keepAlive: inout Bool) -> Bool? {
        if noBody {
            var out = [UInt8]()
            ResponseEncoder.head(response, version: version, keepAlive: keepAlive, bodyLength: nil, chunked: false, into: &out)
            post(Completion(token: token, bytes: out, final: true, keepAlive: keepAlive))
            return nil
        }
        let chunked = version.minor >= 1
        if !chunked { keepAlive = false }
        return chunked
    }

    /// Loop thread: asks a worker for the connection's next pulled chunk, if the output has
    /// drained below the low-water mark and no pull is already under way. Between pulls the
    /// body holds no thread; a client that reads slowly only delays the next call.
    func schedulePull(_ c: Connection) {
        guard let body = c.pull, !c.pullInFlight, !c.closed,
              c.pendingOutput < configuration.pullLowWater else { return }
        c.pullInFlight = true
        let token = ConnectionToken(fd: c.fd, id: c.id)
        pool.submit { [self] in
            do {
                post(Self.frame(try Self.nextChunk(of: body.producer), of: body, after: [], token: token))
            } catch {
                // Part of the body is out: end the connection without the last chunk, so the
                // client sees a truncated response rather than a complete-looking one.
                logger.error("pulled body failed", metadata: ["error": "\(error)"])
                post(Completion(token: token, bytes: [], final: true, keepAlive: false, abort: true))
            }
        }
    }

    /// The producer's next non-empty chunk, or nil at the end.
    static func nextChunk(of producer: any BodyProducer) throws -> [UInt8]? {
        while let chunk = try producer.nextChunk() {
            if !chunk.isEmpty { return chunk }
        }
        return nil
    }

    /// The completion carrying `chunk` (framed) after `prefix`, or the body's end when nil.
    static func frame(_ chunk: [UInt8]?, of body: PullBody, after prefix: [UInt8], token: ConnectionToken) -> Completion {
        var out = prefix
        guard let chunk else {
            if body.chunked { out.append(contentsOf: ResponseEncoder.lastChunk) }
            return Completion(token: token, bytes: out, final: true, keepAlive: body.keepAlive)
        }
        out.reserveCapacity(out.count + chunk.count + 12)
        if body.chunked {
            ResponseEncoder.chunkHeader(chunk.count, into: &out)
            out.append(contentsOf: chunk)
            out.append(contentsOf: ResponseEncoder.crlf)
        } else {
            out.append(contentsOf: chunk)
        }
        return Completion(token: token, bytes: out, final: false, keepAlive: body.keepAlive, pull: body)
    }

    func post(_ completion: Completion) {
        let first = completions.withLock { q -> Bool in
            q.append(completion)
            return q.count == 1
        }
        // The loop drains the queue after every epoll_wait; only a sleeping loop needs a wake.
        if first && loopSleeping.load(ordering: .sequentiallyConsistent) { wake() }
    }

    func wake() {
        turn.claim()
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    func processCompletions() {
        let batch = completions.withLock { q -> [Completion] in
            if q.isEmpty { return [] }
            let b = q
            q.removeAll(keepingCapacity: true)
            return b
        }
        for comp in batch {
            guard let c = connections[Int(comp.token.fd)], c.id == comp.token.id, !c.closed else {
                comp.stream?.cancel()
                continue
            }
            if comp.notBefore > now {
                // The connection stays in `processing` meanwhile: nothing behind this request
                // is decoded, so pipelined answers keep their order.
                c.delayed = true
                delayed.push(comp, due: comp.notBefore)
                continue
            }
            apply(comp, to: c)
        }
    }

    /// The resolution of `CLOCK_MONOTONIC_COARSE` (``monotonicMillis()``), rounded up to
    /// whole milliseconds: 4 at 250 Hz.
    static let coarseTick: UInt64 = {
        var res = timespec()
        guard clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 else { return 10 }
        return UInt64(res.tv_sec) &* 1000 &+ UInt64((res.tv_nsec + 999_999) / 1_000_000)
    }()

    /// Milliseconds in `d`, rounded up (at least what was asked for).
    static func millis(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        guard s >= 0 else { return 0 }
        return UInt64(s) &* 1000 &+ UInt64((atto + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    /// Takes a worker's (or a timer's) completion for its live connection: queues the bytes,
    /// and after a final one goes back to reading what the client sent next.
    func apply(_ comp: Completion, to c: Connection) {
        if let s = comp.stream { c.stream = s }
        if let p = comp.pull {
            c.pull = p
            c.pullInFlight = false
        }
        if c.stream != nil { c.streamUnacked += comp.bytes.count }
        if comp.abort {
            c.stream = nil
            c.pull = nil
            close(c)
            return
        }
        enqueueOutput(c, comp.bytes, body: comp.body)
        if comp.final {
            c.stream = nil
            c.pull = nil
            c.pullInFlight = false
            c.streamUnacked = 0
            // A half-closed client still gets answers to requests it already sent;
            // flush closes the connection once nothing is left to answer.
            let keep = comp.keepAlive && !c.mustClose && !draining.load(ordering: .relaxed)
            c.phase = keep ? .reading : .closing
        }
        flush(c)
        if comp.final && !c.closed && c.phase == .reading {
            c.requestStarted = now
            c.lastActivity = now
            decodeBuffered(c)
            if !c.closed && c.phase == .reading { readAvailable(c) }
        }
    }

}
