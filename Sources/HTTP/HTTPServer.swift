import CLinux
import Foundation
import Logging
import Synchronization

/// A hand-rolled HTTP/1.1 server on non-blocking sockets and epoll.
///
/// ## Threading model
/// - **One event-loop thread** owns every socket and every connection's state. It accepts,
///   reads, decodes requests (``RequestDecoder``), writes responses and enforces timeouts.
///   It never runs application code and never blocks: all sockets are non-blocking and
///   registered once, edge-triggered, for input and output, so the hot path makes no
///   `epoll_ctl` calls. An idle keep-alive connection is a file descriptor and a small
///   object: no thread, no buffer. It runs under `SCHED_BATCH`, so its wake-ups do not
///   preempt a worker in the middle of a request.
/// - **A pool of worker threads** (``WorkerPool``) runs the ``HTTPResponder`` and encodes the
///   response bytes (status line, headers, body), then posts them to the loop through a
///   mutex-guarded completion queue and an `eventfd` wake-up (one wake per batch, not per
///   response). Handlers may block (SQLite, scrypt): a handler that knows it will wait says
///   so (``waiting(_:)``) and another worker takes the queue at once; for the others, when
///   every worker has been busy for a while the pool grows, so a slow handler never holds up
///   other connections.
/// - Requests on one connection are answered in order: while a request is with a worker the
///   loop keeps reading (up to a cap) but decodes no further, which gives pipelining its
///   ordering for free.
///
/// Streamed bodies (`HTTPBody.stream`) are written by the worker in chunks that pass through
/// the same queue; the worker blocks while more than ``Configuration/streamHighWater`` bytes
/// are waiting for the socket (back-pressure).
///
/// Limits and timeouts: header-section deadline (slowloris), body deadline, idle keep-alive
/// timeout, write-progress timeout, a connection cap (503 then close above it), and the
/// decoder's size limits. After an error response the connection is half-closed and drained
/// briefly (lingering close) so the client reads the answer rather than a reset.
public final class HTTPServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks an ephemeral port (see ``HTTPServer/port``).
        public var port = 8080
        public var backlog: Int32 = 4096
        /// Open connections above which a new one is answered 503 and closed.
        public var maxConnections = 16_384
        /// Seconds allowed for a whole header section (and for a new connection to start one).
        public var headerTimeout: Double = 10
        /// Seconds a keep-alive connection may sit idle between requests.
        public var idleTimeout: Double = 60
        /// Seconds allowed to receive a request body once its head has arrived.
        public var bodyTimeout: Double = 30
        /// Seconds without any write progress before a connection that does not read is dropped.
        public var writeTimeout: Double = 30
        /// Seconds in-flight requests get to finish after `shutdown()`.
        public var drainTimeout: Double = 10
        public var limits = RequestDecoder.Limits()
        // Idle workers cost nothing (only as many as there are CPUs are woken for a batch), and
        // spares keep pages flowing while some workers wait on slow work such as password hashing.
        public var minWorkers = 16
        public var maxWorkers = 256
        /// Milliseconds the oldest queued job may wait before the pool adds a worker.
        public var workerStallMillis: UInt64 = 20
        /// Bytes of a streamed body allowed to wait for the socket before the worker blocks.
        public var streamHighWater = 1 << 20
        /// Unread pipelined bytes kept per connection while a request is being handled.
        public var maxInputBacklog = 64 * 1024
        public init() {}
    }

    public let configuration: Configuration
    let responder: any HTTPResponder
    let logger: Logger

    // Shared with workers.
    private let completions = Mutex<[Completion]>([])
    private let draining = Atomic<Bool>(false)
    private let loopSleeping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    private let boundPort = Atomic<Int>(0)
    private let started = Atomic<Bool>(false)
    private var pool: WorkerPool!
    private var wakeFD: Int32 = -1

    // Loop-thread state.
    private var epfd: Int32 = -1
    private var listenFD: Int32 = -1
    private var reserveFD: Int32 = -1
    private var connections: [Connection?] = []
    private var openCount = 0
    private var nextID: UInt64 = 1
    private var scratch: UnsafeMutablePointer<UInt8>
    private let scratchSize = 64 * 1024
    private var overloadResponse: [UInt8] = []
    private var drainDeadline: UInt64 = 0
    private var refusedSinceLog = 0
    private var lastRefusalLog: UInt64 = 0
    private var now: UInt64 = monotonicMillis()

    private static let listenTag: UInt64 = .max
    private static let wakeTag: UInt64 = .max - 1

    public init(configuration: Configuration = Configuration(), responder: any HTTPResponder,
                logger: Logger = Logger(label: "http")) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.scratch = .allocate(capacity: 64 * 1024)
    }

    deinit {
        scratch.deallocate()
        // Closed only here: workers still finishing a job after the loop stopped may post
        // (and wake) until the last of them lets go of the server.
        if wakeFD >= 0 { Glibc.close(wakeFD) }
    }

    /// The port the server listens on (useful with port 0).
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// Binds, listens and starts the event loop and workers. Returns once the socket accepts.
    public func start() throws {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        signal(SIGPIPE, SIG_IGN)
        raiseFileLimit()
        listenFD = try Self.listen(host: configuration.host, port: configuration.port, backlog: configuration.backlog)
        var addr = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listenFD, $0, &len) } }
        boundPort.store(Self.port(of: addr), ordering: .releasing)

        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard epfd >= 0, wakeFD >= 0 else { throw HTTPServerError.system("epoll/eventfd", errno) }
        register(listenFD, tag: Self.listenTag, events: EPOLLIN.rawValue | EPOLLET.rawValue)
        register(wakeFD, tag: Self.wakeTag, events: EPOLLIN.rawValue | EPOLLET.rawValue)
        reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)

        var rl = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &rl)
        connections = Array(repeating: nil, count: Int(min(rl.rlim_cur, 1 << 20)) + 16)

        var overload = [UInt8]()
        let resp = responder.overloadResponse()
        let body = resp.bufferedBody ?? []
        ResponseEncoder.head(resp, version: .http1_1, keepAlive: false, bodyLength: body.count, chunked: false, into: &overload)
        overload.append(contentsOf: body)
        overloadResponse = overload

        pool = WorkerPool(minimum: configuration.minWorkers, maximum: configuration.maxWorkers)
        let t = Thread { [self] in
            // Waking up (bytes in, a response ready) does not preempt a worker in the middle of
            // a request: the loop runs between jobs and handles whatever has piled up. On a
            // busy core that took a page from about two context switches to almost none.
            var param = sched_param()
            _ = sched_setscheduler(0, Self.schedBatch, &param) // this thread only (Linux)
            runLoop()
        }
        t.name = "http-event-loop"
        t.stackSize = 4 << 20
        t.start()
        logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
    }

    /// Stops accepting, lets in-flight requests finish (bounded by `drainTimeout`), then
    /// closes every connection. Safe to call from any thread, more than once.
    public func shutdown() {
        guard started.load(ordering: .acquiring) else { return }
        if !draining.exchange(true, ordering: .acquiringAndReleasing) { wake() }
    }

    /// Blocks until the event loop has stopped.
    public func waitUntilStopped() {
        guard started.load(ordering: .acquiring) else { return }
        stopped.wait()
        stopped.signal()
    }

    /// `SCHED_BATCH` from <sched.h>, which Glibc's Swift module leaves out (it is _GNU_SOURCE).
    static let schedBatch: Int32 = 3

    /// Number of worker threads right now (for tests and diagnostics).
    public var workerCount: Int { pool?.threadCount ?? 0 }

    /// Runs `body`, which waits rather than computes (for a password hash on another thread,
    /// say). On a worker thread the pool stops counting this worker as awake meanwhile, so
    /// queued requests go to another worker at once instead of after the stall timeout;
    /// elsewhere it just runs `body`.
    public static func waiting<R>(_ body: () throws -> R) rethrows -> R {
        guard let pool = WorkerPool.current else { return try body() }
        pool.beginWaiting()
        defer { pool.endWaiting() }
        return try body()
    }

    // MARK: - the loop

    private func runLoop() {
        let maxEvents: Int32 = 512
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(maxEvents))
        defer { events.deallocate() }
        var nextTick: UInt64 = 0
        var nextTimeoutCheck: UInt64 = 0
        var drainStarted = false
        while true {
            // Tell workers we may sleep, then look at the queue once more: a completion posted
            // before the flag was visible is seen here; one posted after it sees the flag and
            // writes the eventfd. Either way nothing waits for the timeout.
            loopSleeping.store(true, ordering: .sequentiallyConsistent)
            let pending = completions.withLock { !$0.isEmpty }
            let n = epoll_wait(epfd, events, maxEvents, pending ? 0 : 100)
            loopSleeping.store(false, ordering: .sequentiallyConsistent)
            now = monotonicMillis()
            if n < 0 && errno != EINTR {
                logger.critical("epoll_wait failed", metadata: ["errno": "\(errno)"])
                break
            }
            for i in 0..<Int(max(n, 0)) {
                let ev = events[i]
                let tag = ev.data.u64
                if tag == Self.listenTag {
                    acceptAll()
                } else if tag == Self.wakeTag {
                    var v: UInt64 = 0
                    _ = read(wakeFD, &v, 8)
                    processCompletions()
                } else {
                    let fd = Int32(truncatingIfNeeded: tag & 0xFFFF_FFFF)
                    guard let c = connections[Int(fd)], UInt32(truncatingIfNeeded: c.id) == UInt32(truncatingIfNeeded: tag >> 32) else { continue }
                    let e = ev.events
                    if e & EPOLLERR.rawValue != 0 { close(c); continue }
                    if e & EPOLLOUT.rawValue != 0 { flush(c) }
                    if !c.closed && e & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0 {
                        c.readable = true
                        // The peer's FIN may sit behind the data: read on until EOF then.
                        if e & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0 { c.finPending = true }
                        readAvailable(c)
                    }
                }
            }
            processCompletions()
            if draining.load(ordering: .acquiring) {
                if !drainStarted {
                    drainStarted = true
                    beginDrain()
                }
                if openCount == 0 || now >= drainDeadline { break }
            }
            if now >= nextTick {
                nextTick = now + 50
                pool.growIfStalled(after: configuration.workerStallMillis)
                if now >= nextTimeoutCheck {
                    nextTimeoutCheck = now + 500
                    checkTimeouts()
                }
            }
        }
        for case let c? in connections { close(c) }
        if listenFD >= 0 { Glibc.close(listenFD); listenFD = -1 }
        pool.stop()
        Glibc.close(epfd)
        logger.info("stopped")
        stopped.signal()
    }

    private func beginDrain() {
        drainDeadline = now + UInt64(configuration.drainTimeout * 1000)
        if listenFD >= 0 {
            epoll_ctl(epfd, EPOLL_CTL_DEL, listenFD, nil)
            Glibc.close(listenFD)
            listenFD = -1
        }
        for case let c? in connections where c.phase == .reading && !c.decoder.isMidRequest && c.outStart >= c.outbuf.count {
            close(c)
        }
    }

    // MARK: accept

    private func acceptAll() {
        while listenFD >= 0 {
            var addr = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { clinux_accept(listenFD, $0, &len) }
            }
            if fd < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED: continue
                case EMFILE, ENFILE:
                    // Out of descriptors: use the reserve one to answer 503 and close, so the
                    // pending connection does not sit in the backlog forever.
                    if reserveFD >= 0 {
                        Glibc.close(reserveFD)
                        reserveFD = -1
                        let victim = clinux_accept(listenFD, nil, nil)
                        if victim >= 0 { refuse(victim) }
                        reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
                        continue
                    }
                    return
                default:
                    logger.error("accept failed", metadata: ["errno": "\(errno)"])
                    return
                }
            }
            if openCount >= configuration.maxConnections || Int(fd) >= connections.count || draining.load(ordering: .relaxed) {
                refuse(fd)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let c = Connection(fd: fd, id: nextID, remote: Self.address(of: addr), now: now,
                               decoder: RequestDecoder(limits: configuration.limits, bodyLimit: { [responder] in responder.bodyLimit(for: $0) }))
            nextID &+= 1
            connections[Int(fd)] = c
            openCount += 1
            register(fd, tag: UInt64(fd) | (UInt64(UInt32(truncatingIfNeeded: c.id)) << 32),
                     events: EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue)
            readAvailable(c) // data may already be waiting
        }
    }

    /// Answers 503 on a connection we will not serve, without reading it, and closes it.
    /// Refusals are logged as a count, at most once a second.
    private func refuse(_ fd: Int32) {
        refusedSinceLog += 1
        if now >= lastRefusalLog + 1000 {
            logger.warning("refusing connections", metadata: ["refused": "\(refusedSinceLog)", "open": "\(openCount)", "max": "\(configuration.maxConnections)"])
            refusedSinceLog = 0
            lastRefusalLog = now
        }
        _ = overloadResponse.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Glibc.shutdown(fd, Int32(SHUT_WR))
        Glibc.close(fd)
    }

    // MARK: read and decode

    private func readAvailable(_ c: Connection) {
        if c.phase == .lingering { linger(c); return }
        while c.readable && !c.closed {
            if c.phase != .reading && c.inbuf.count - c.inStart >= configuration.maxInputBacklog { return }
            let n = read(c.fd, scratch, scratchSize)
            if n > 0 {
                c.lastActivity = now
                feed(c, UnsafeBufferPointer(start: scratch, count: n))
                // A short read drained the socket, so skip the extra read that would only say
                // EAGAIN, unless a FIN is known to follow the data.
                if n < scratchSize && !c.finPending { c.readable = false }
            } else if n == 0 {
                c.readable = false
                peerClosed(c)
                return
            } else {
                switch errno {
                case EAGAIN, EWOULDBLOCK: c.readable = false
                case EINTR: continue
                default: close(c); return
                }
            }
        }
    }

    private func peerClosed(_ c: Connection) {
        c.peerClosed = true
        switch c.phase {
        case .reading:
            // A client that half-closed after a complete request still gets its answer.
            if c.outStart >= c.outbuf.count { close(c) }
        case .processing:
            break // answered first; flush closes once nothing is left to answer
        case .closing:
            break
        case .lingering:
            close(c)
        }
    }

    /// Takes newly read bytes: decodes straight from the scratch buffer when nothing is
    /// pending, else appends them to the connection's buffer.
    private func feed(_ c: Connection, _ bytes: UnsafeBufferPointer<UInt8>) {
        if c.phase == .reading && !c.decoder.isMidRequest { c.requestStarted = now }
        if c.inStart < c.inbuf.count || c.phase != .reading {
            c.inbuf.append(contentsOf: bytes)
            if c.phase == .reading { decodeBuffered(c) }
            return
        }
        let consumed = decode(c, bytes)
        if c.closed { return }
        if consumed < bytes.count {
            c.inbuf.removeAll(keepingCapacity: true)
            c.inbuf.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[consumed...]))
            c.inStart = 0
        }
    }

    private func decodeBuffered(_ c: Connection) {
        guard c.inStart < c.inbuf.count else { return }
        let consumed = c.inbuf.withUnsafeBufferPointer { decode(c, UnsafeBufferPointer(rebasing: $0[c.inStart...])) }
        if c.closed { return }
        c.inStart += consumed
        if c.inStart >= c.inbuf.count {
            c.inbuf = []
            c.inStart = 0
        } else if c.inStart > 4096 && c.inStart * 2 > c.inbuf.count {
            c.inbuf.removeFirst(c.inStart)
            c.inStart = 0
        }
    }

    /// Runs the decoder over `buf` until it needs more bytes or hands a request to a worker.
    private func decode(_ c: Connection, _ buf: UnsafeBufferPointer<UInt8>) -> Int {
        var pos = 0
        while c.phase == .reading && !c.closed {
            let (consumed, event) = c.decoder.decode(UnsafeBufferPointer(rebasing: buf[pos...]))
            pos += consumed
            guard let event else { break }
            switch event {
            case .sendContinue:
                enqueueOutput(c, ResponseEncoder.continueResponse)
                flush(c)
            case .request(let head, let body):
                c.phase = .processing
                c.served = true
                dispatch(c, request: HTTPRequest(head: head, body: body, remoteAddress: c.remote))
            case .error(let status, let head):
                c.phase = .processing
                c.mustClose = true
                dispatchError(c, status: status, head: head)
            }
        }
        return pos
    }

    // MARK: workers

    private func dispatch(_ c: Connection, request: HTTPRequest) {
        let token = ConnectionToken(fd: c.fd, id: c.id)
        pool.submit { [self] in
            let response = responder.respond(to: request)
            deliver(response, head: request.head, token: token, keepAlive: request.head.keepAlive)
        }
    }

    private func dispatchError(_ c: Connection, status: HTTPStatus, head: HTTPRequestHead?) {
        let token = ConnectionToken(fd: c.fd, id: c.id)
        pool.submit { [self] in
            let response = responder.errorResponse(status: status, head: head)
            deliver(response, head: head, token: token, keepAlive: false)
        }
    }

    /// Encodes a response on the worker thread and posts its bytes to the loop.
    private func deliver(_ response: HTTPResponse, head: HTTPRequestHead?, token: ConnectionToken, keepAlive: Bool) {
        let version = head?.version ?? .http1_1
        let code = response.status.code
        let noBody = head?.method == .HEAD || code < 200 || code == 204 || code == 304
        var keepAlive = keepAlive && !draining.load(ordering: .relaxed)
        var out = [UInt8]()
        switch response.body {
        case .bytes(let body):
            out.reserveCapacity(body.count + 320)
            var length: Int? = body.count
            if code < 200 || code == 204 || code == 304 {
                length = nil
            } else if head?.method == .HEAD, let explicit = response.headers["Content-Length"], let n = Int(explicit) {
                length = n
            }
            ResponseEncoder.head(response, version: version, keepAlive: keepAlive, bodyLength: length, chunked: false, into: &out)
            if !noBody { out.append(contentsOf: body) }
            post(Completion(token: token, bytes: out, final: true, keepAlive: keepAlive))

        case .stream(let produce):
            if noBody {
                ResponseEncoder.head(response, version: version, keepAlive: keepAlive, bodyLength: nil, chunked: false, into: &out)
                post(Completion(token: token, bytes: out, final: true, keepAlive: keepAlive))
                return
            }
            let chunked = version.minor >= 1
            if !chunked { keepAlive = false } // HTTP/1.0: the body ends when the connection does
            ResponseEncoder.head(response, version: version, keepAlive: keepAlive, bodyLength: nil, chunked: chunked, into: &out)
            let channel = StreamChannel(highWater: configuration.streamHighWater)
            post(Completion(token: token, bytes: out, final: false, keepAlive: keepAlive, stream: channel))
            let writer = StreamWriter(server: self, token: token, channel: channel, chunked: chunked)
            do {
                try produce(writer)
                post(Completion(token: token, bytes: chunked ? ResponseEncoder.lastChunk : [], final: true, keepAlive: keepAlive))
            } catch {
                // The body cannot be completed: end the connection without the last chunk,
                // so the client sees a truncated response rather than a complete-looking one.
                if !channel.isCancelled { logger.error("streamed body failed", metadata: ["error": "\(error)"]) }
                post(Completion(token: token, bytes: [], final: true, keepAlive: false, abort: true))
            }
        }
    }

    fileprivate func post(_ completion: Completion) {
        let first = completions.withLock { q -> Bool in
            q.append(completion)
            return q.count == 1
        }
        // The loop drains the queue after every epoll_wait; only a sleeping loop needs a wake.
        if first && loopSleeping.load(ordering: .sequentiallyConsistent) { wake() }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private func processCompletions() {
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
            if let s = comp.stream { c.stream = s }
            if c.stream != nil { c.streamUnacked += comp.bytes.count }
            if comp.abort {
                c.stream = nil
                close(c)
                continue
            }
            enqueueOutput(c, comp.bytes)
            if comp.final {
                c.stream = nil
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

    // MARK: write

    private func enqueueOutput(_ c: Connection, _ bytes: [UInt8]) {
        if bytes.isEmpty { return }
        if c.outStart >= c.outbuf.count {
            c.outbuf = bytes
            c.outStart = 0
        } else {
            c.outbuf.append(contentsOf: bytes)
        }
        c.lastWriteProgress = now
    }

    private func flush(_ c: Connection) {
        while c.outStart < c.outbuf.count && !c.closed {
            let n = c.outbuf.withUnsafeBytes { p in
                send(c.fd, p.baseAddress! + c.outStart, p.count - c.outStart, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                c.outStart += n
                c.lastWriteProgress = now
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                close(c)
                return
            }
        }
        guard !c.closed else { return }
        c.outbuf = []
        c.outStart = 0
        if let s = c.stream, c.streamUnacked > 0 {
            s.written(c.streamUnacked)
            c.streamUnacked = 0
        }
        if c.phase == .closing {
            startLinger(c)
        } else if c.phase == .reading && c.peerClosed && c.inStart >= c.inbuf.count {
            close(c) // the client half-closed and has had every answer
        }
    }

    /// Half-closes after the last response and reads what the client still sends, for a
    /// short while, so the response is not destroyed by a reset.
    private func startLinger(_ c: Connection) {
        if c.peerClosed || !c.mustClose {
            close(c)
            return
        }
        Glibc.shutdown(c.fd, Int32(SHUT_WR))
        c.phase = .lingering
        c.lingerStarted = now
        c.inbuf = []
        c.inStart = 0
        linger(c)
    }

    private func linger(_ c: Connection) {
        while !c.closed {
            let n = read(c.fd, scratch, scratchSize)
            if n > 0 { continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { c.readable = false; return }
            close(c)
        }
    }

    // MARK: timeouts

    private func checkTimeouts() {
        let cfg = configuration
        let header = UInt64(cfg.headerTimeout * 1000)
        let body = UInt64(cfg.bodyTimeout * 1000)
        let idle = UInt64(cfg.idleTimeout * 1000)
        let write = UInt64(cfg.writeTimeout * 1000)
        for case let c? in connections {
            switch c.phase {
            case .reading:
                if c.decoder.isReadingBody {
                    if now - c.requestStarted > header + body { timeOut(c) }
                } else if c.decoder.isMidRequest {
                    if now - c.requestStarted > header { timeOut(c) }
                } else if !c.served {
                    if now - c.lastActivity > header { close(c) }
                } else if now - c.lastActivity > idle {
                    close(c)
                }
            case .processing, .closing:
                if c.outStart < c.outbuf.count && now - c.lastWriteProgress > write { close(c) }
            case .lingering:
                if now - c.lingerStarted > 2000 { close(c) }
            }
        }
    }

    private func timeOut(_ c: Connection) {
        c.phase = .processing
        c.mustClose = true
        dispatchError(c, status: .requestTimeout, head: nil)
    }

    // MARK: connection lifecycle

    private func close(_ c: Connection) {
        guard !c.closed else { return }
        c.closed = true
        c.stream?.cancel()
        c.stream = nil
        connections[Int(c.fd)] = nil
        openCount -= 1
        Glibc.close(c.fd) // also removes it from the epoll set
    }

    private func register(_ fd: Int32, tag: UInt64, events: UInt32) {
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = tag
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)
    }

    // MARK: sockets

    private static func listen(host: String, port: Int, backlog: Int32) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else { throw HTTPServerError.resolve(host, String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(res) }
        var lastErrno: Int32 = 0
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 { lastErrno = errno; continue }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 && Glibc.listen(fd, backlog) == 0 {
                return fd
            }
            lastErrno = errno
            Glibc.close(fd)
        }
        throw HTTPServerError.bind(host, port, String(cString: strerror(lastErrno)))
    }

    private static func port(of addr: sockaddr_storage) -> Int {
        var a = addr
        return withUnsafePointer(to: &a) { p in
            if Int32(addr.ss_family) == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    private static func address(of addr: sockaddr_storage) -> String {
        var a = addr
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return withUnsafePointer(to: &a) { p -> String in
            switch Int32(addr.ss_family) {
            case AF_INET:
                return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var ina = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &ina, &buf, socklen_t(buf.count))
                    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            case AF_INET6:
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                    var ina = sin.pointee.sin6_addr
                    inet_ntop(AF_INET6, &ina, &buf, socklen_t(buf.count))
                    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            default:
                return ""
            }
        }
    }

    private func raiseFileLimit() {
        var rl = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &rl)
        }
    }
}

public enum HTTPServerError: Error, CustomStringConvertible {
    case resolve(String, String)
    case bind(String, Int, String)
    case system(String, Int32)

    public var description: String {
        switch self {
        case .resolve(let h, let m): return "cannot resolve \(h): \(m)"
        case .bind(let h, let p, let m): return "cannot listen on \(h):\(p): \(m)"
        case .system(let what, let e): return "\(what) failed: \(String(cString: strerror(e)))"
        }
    }
}

// MARK: - per-connection state (event-loop thread only)

final class Connection {
    enum Phase { case reading, processing, closing, lingering }
    let fd: Int32
    let id: UInt64
    let remote: String
    var decoder: RequestDecoder
    var phase = Phase.reading
    var inbuf: [UInt8] = []
    var inStart = 0
    var outbuf: [UInt8] = []
    var outStart = 0
    var readable = true
    /// epoll reported the peer's half-close: keep reading to the EOF behind the data.
    var finPending = false
    var peerClosed = false
    var mustClose = false
    var closed = false
    var served = false
    var requestStarted: UInt64
    var lastActivity: UInt64
    var lastWriteProgress: UInt64
    var lingerStarted: UInt64 = 0
    var stream: StreamChannel?
    var streamUnacked = 0

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

struct ConnectionToken: Sendable {
    let fd: Int32
    let id: UInt64
}

struct Completion: Sendable {
    let token: ConnectionToken
    let bytes: [UInt8]
    let final: Bool
    let keepAlive: Bool
    var stream: StreamChannel? = nil
    var abort = false
}

/// Flow control between a worker producing a streamed body and the loop writing it.
final class StreamChannel: @unchecked Sendable {
    // `queued` and `cancelled` are guarded by `mutex`.
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var queued = 0
    private var cancelled = false
    let highWater: Int

    init(highWater: Int) {
        self.highWater = highWater
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    var isCancelled: Bool {
        pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
        return cancelled
    }

    /// Worker: accounts for `n` bytes posted, then waits while too much is queued.
    func posted(_ n: Int) throws {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        queued += n
        while queued > highWater && !cancelled { pthread_cond_wait(&cond, &mutex) }
        if cancelled { throw StreamError.connectionClosed }
    }

    /// Loop: `n` bytes reached the socket.
    func written(_ n: Int) {
        pthread_mutex_lock(&mutex)
        queued = max(0, queued - n)
        pthread_mutex_unlock(&mutex)
        pthread_cond_broadcast(&cond)
    }

    func cancel() {
        pthread_mutex_lock(&mutex)
        cancelled = true
        pthread_mutex_unlock(&mutex)
        pthread_cond_broadcast(&cond)
    }
}

public enum StreamError: Error { case connectionClosed }

struct StreamWriter: BodyWriter {
    let server: HTTPServer
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
        server.post(Completion(token: token, bytes: frame, final: false, keepAlive: true))
        try channel.posted(n)
    }
}
