import CLinux
import Foundation
import Logging
import Synchronization

/// The event loop: one thread that owns every socket and every connection's state. It
/// accepts, reads, decodes requests (``RequestDecoder``), hands them to the ``WorkerPool``,
/// writes the bytes workers post back (see `EventLoop+Workers.swift`) and enforces the
/// timeouts. It never runs application code and never blocks: all sockets are non-blocking
/// and registered once, edge-triggered, for input and output, so the hot path makes no
/// `epoll_ctl` calls.
final class EventLoop: @unchecked Sendable {
    let configuration: HTTPServer.Configuration
    let responder: any HTTPResponder
    let logger: Logger
    let pool: WorkerPool

    // Shared with workers (and with `HTTPServer.shutdown`).
    let completions = Mutex<[Completion]>([])
    let draining = Atomic<Bool>(false)
    let loopSleeping = Atomic<Bool>(false)
    let turn: LoopTurn
    let wakeFD: Int32

    // Loop-thread state.
    let epfd: Int32
    var listenFD: Int32
    var reserveFD: Int32 = -1
    var connections: [Connection?] = []
    var openCount = 0
    var nextID: UInt64 = 1
    let scratch: UnsafeMutablePointer<UInt8>
    let scratchSize = 64 * 1024
    let overloadResponse: [UInt8]
    /// The 503 per configured prefix (``HTTPServer/Configuration/refusalPrefixes``).
    let overloadByPrefix: [String: [UInt8]]
    let targetPrefix: TargetPrefix
    /// Over-cap connections being read as far as their target (see `holdForRefusal`).
    var refusingCount = 0
    static let maxRefusing = 256
    static let refusalReadLimit = 1024
    var drainDeadline: UInt64 = 0
    var refusedSinceLog = 0
    var lastRefusalLog: UInt64 = 0
    var now: UInt64 = monotonicMillis()
    /// Responses waiting for their ``HTTPResponse/deliverAfter`` (loop thread only).
    var delayed = DelayedDeliveries()

    static let listenTag: UInt64 = .max
    static let wakeTag: UInt64 = .max - 1

    /// Takes over `listenFD` (a listening, non-blocking socket) and starts the workers.
    init(configuration: HTTPServer.Configuration, responder: any HTTPResponder, logger: Logger, listenFD: Int32) throws {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.listenFD = listenFD
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard epfd >= 0, wakeFD >= 0 else {
            let e = errno
            if epfd >= 0 { Glibc.close(epfd) }
            if wakeFD >= 0 { Glibc.close(wakeFD) }
            throw HTTPServerError.system("epoll/eventfd", e)
        }
        scratch = .allocate(capacity: scratchSize)

        func overloadBytes(_ prefix: String?) -> [UInt8] {
            var overload = [UInt8]()
            let resp = responder.overloadResponse(prefix: prefix)
            let body = resp.bufferedBody ?? []
            ResponseEncoder.head(resp, version: .http1_1, keepAlive: false, bodyLength: body.count, chunked: false, into: &overload)
            overload.append(contentsOf: body)
            return overload
        }
        overloadResponse = overloadBytes(nil)
        targetPrefix = TargetPrefix(configuration.refusalPrefixes)
        overloadByPrefix = Dictionary(configuration.refusalPrefixes.map { ($0, overloadBytes($0)) }, uniquingKeysWith: { a, _ in a })
        turn = LoopTurn(micros: configuration.loopTurnMicros)
        pool = WorkerPool(minimum: configuration.minWorkers, maximum: configuration.maxWorkers, turn: turn)

        register(listenFD, tag: Self.listenTag, events: EPOLLIN.rawValue | EPOLLET.rawValue)
        register(wakeFD, tag: Self.wakeTag, events: EPOLLIN.rawValue | EPOLLET.rawValue)
        reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)

        var rl = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &rl)
        connections = Array(repeating: nil, count: Int(min(rl.rlim_cur, 1 << 20)) + 16)
    }

    deinit {
        scratch.deallocate()
        // Closed only here: workers still finishing a job after the loop stopped may post
        // (and wake) until the last of them lets go of the loop.
        Glibc.close(wakeFD)
        if reserveFD >= 0 { Glibc.close(reserveFD) }
    }

    /// Any thread: stop accepting and drain (see ``HTTPServer/shutdown()``).
    func beginShutdown() {
        if !draining.exchange(true, ordering: .acquiringAndReleasing) { wake() }
    }

    // MARK: - the loop

    /// Runs on the loop thread until shutdown has drained (or epoll fails).
    func run() {
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
            turn.ended()
            let pending = completions.withLock { !$0.isEmpty }
            let n = epoll_wait(epfd, events, maxEvents, pending ? 0 : waitMillis())
            loopSleeping.store(false, ordering: .sequentiallyConsistent)
            turn.claim()
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
            if !delayed.isEmpty { releaseDelayed() }
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
    }

    /// How long `epoll_wait` may sleep: 100 ms (the housekeeping tick), or less when a
    /// delayed response falls due sooner.
    private func waitMillis() -> Int32 {
        guard let due = delayed.nextDue else { return 100 }
        let t = monotonicMillis()
        return due <= t ? 0 : Int32(min(due - t, 100))
    }

    /// Sends the delayed responses that are due (all of them once draining: shutdown does
    /// not wait for a tarpit).
    private func releaseDelayed() {
        let due = draining.load(ordering: .relaxed) ? UInt64.max : now
        while let comp = delayed.popDue(now: due) {
            guard let c = connections[Int(comp.token.fd)], c.id == comp.token.id, !c.closed else { continue }
            c.delayed = false
            apply(comp, to: c)
        }
    }

    private func beginDrain() {
        drainDeadline = now + UInt64(configuration.drainTimeout * 1000)
        if listenFD >= 0 {
            epoll_ctl(epfd, EPOLL_CTL_DEL, listenFD, nil)
            Glibc.close(listenFD)
            listenFD = -1
        }
        for case let c? in connections where c.phase == .reading && !c.decoder.isMidRequest && c.pendingOutput == 0 {
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
                if !targetPrefix.isEmpty && Int(fd) < connections.count && refusingCount < Self.maxRefusing && !draining.load(ordering: .relaxed) {
                    holdForRefusal(fd, remote: Socket.address(of: addr))
                } else {
                    refuse(fd)
                }
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let c = Connection(fd: fd, id: nextID, remote: Socket.address(of: addr), now: now,
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
    private func refuse(_ fd: Int32) {
        countRefusal()
        _ = overloadResponse.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Glibc.shutdown(fd, Int32(SHUT_WR))
        Glibc.close(fd)
    }

    /// Refusals are logged as a count, at most once a second.
    private func countRefusal() {
        refusedSinceLog += 1
        if now >= lastRefusalLog + 1000 {
            logger.warning("refusing connections", metadata: ["refused": "\(refusedSinceLog)", "open": "\(openCount)", "max": "\(configuration.maxConnections)"])
            refusedSinceLog = 0
            lastRefusalLog = now
        }
    }

    /// A connection over the cap, when prefixes are configured: kept (apart from the open
    /// count) only until its request target shows which 503 it gets (`readRefusal`), or the
    /// header timeout passes. A few hundred at most at once; beyond, `refuse` unread.
    private func holdForRefusal(_ fd: Int32, remote: String) {
        countRefusal()
        let c = Connection(fd: fd, id: nextID, remote: remote, now: now, decoder: RequestDecoder(limits: configuration.limits, bodyLimit: { _ in 0 }))
        nextID &+= 1
        c.phase = .refusing
        c.isRefusal = true
        connections[Int(fd)] = c
        refusingCount += 1
        register(fd, tag: UInt64(fd) | (UInt64(UInt32(truncatingIfNeeded: c.id)) << 32),
                 events: EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue)
        readRefusal(c) // the request may be there already
    }

    /// Reads an over-cap connection until its target's prefix is known, then answers.
    private func readRefusal(_ c: Connection) {
        while !c.closed && c.phase == .refusing {
            let room = Self.refusalReadLimit - c.inbuf.count
            let n = read(c.fd, scratch, max(room, 1))
            if n > 0 {
                c.lastActivity = now
                c.inbuf.append(contentsOf: UnsafeBufferPointer(start: scratch, count: min(n, max(room, 0))))
                let full = c.inbuf.count >= Self.refusalReadLimit
                let verdict = c.inbuf.withUnsafeBufferPointer { targetPrefix.verdict($0, complete: full) }
                if case .decided(let prefix) = verdict { answerRefusal(c, prefix: prefix) }
            } else if n == 0 {
                // Half-closed after what it sent: judge that. Sent nothing: nobody to answer.
                if c.inbuf.isEmpty { close(c); return }
                c.peerClosed = true
                answerRefusal(c, prefix: c.inbuf.withUnsafeBufferPointer { targetPrefix.match($0) })
            } else {
                switch errno {
                case EAGAIN, EWOULDBLOCK: c.readable = false; return
                case EINTR: continue
                default: close(c)
                }
            }
        }
    }

    /// Sends the 503 for `prefix` and closes (lingering, so the client reads it).
    private func answerRefusal(_ c: Connection, prefix: String?) {
        enqueueOutput(c, prefix.flatMap { overloadByPrefix[$0] } ?? overloadResponse)
        c.inbuf = []
        c.phase = .closing
        c.mustClose = true
        flush(c)
    }

    // MARK: read and decode

    func readAvailable(_ c: Connection) {
        if c.phase == .lingering { linger(c); return }
        if c.phase == .refusing { readRefusal(c); return }
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
            if c.pendingOutput == 0 { close(c) }
        case .processing:
            // Answered first; flush closes once nothing is left to answer. A response that is
            // being held back on purpose is not worth keeping the connection for.
            if c.delayed { close(c) }
        case .closing:
            break
        case .lingering, .refusing:
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
        flushInlineAnswers(c)
    }

    func decodeBuffered(_ c: Connection) {
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
        flushInlineAnswers(c)
    }

    /// Queues a response made on the loop (``HTTPResponder/respondInline(to:)``) as if a
    /// worker had posted it, and goes on decoding what the client pipelined behind it. The
    /// bytes are sent by `flushInlineAnswers` once decoding stops: not from inside `decode`,
    /// which may be reading the connection's own buffer.
    private func answerInline(_ c: Connection, _ response: HTTPResponse, head: HTTPRequestHead) {
        guard case .bytes(let body) = response.body else {
            // A streamed body is produced on a worker, as if `respond` had returned it.
            c.phase = .processing
            let token = ConnectionToken(fd: c.fd, id: c.id)
            pool.submit { [self] in deliver(response, head: head, token: token, keepAlive: head.keepAlive) }
            return
        }
        let keepAlive = head.keepAlive && !draining.load(ordering: .relaxed)
        if let wait = response.deliverAfter, wait > .zero {
            // Held back like a worker's delayed response: nothing more is decoded meanwhile.
            c.phase = .processing
            c.delayed = true
            delayed.push(Completion(token: ConnectionToken(fd: c.fd, id: c.id), bytes: Self.encode(response, body: body, head: head, keepAlive: keepAlive),
                                    final: true, keepAlive: keepAlive), due: now &+ Self.millis(wait))
            return
        }
        enqueueOutput(c, Self.encode(response, body: body, head: head, keepAlive: keepAlive))
        c.inlineAnswered = true
        if keepAlive && !c.mustClose {
            c.requestStarted = now
            c.lastActivity = now
        } else {
            c.phase = .closing
        }
    }

    /// Sends what `answerInline` queued (and, after the last response, starts closing).
    private func flushInlineAnswers(_ c: Connection) {
        guard c.inlineAnswered, !c.closed else { return }
        c.inlineAnswered = false
        flush(c)
    }

    /// Runs the decoder over `buf` until it needs more bytes or hands a request to a worker.
    private func decode(_ c: Connection, _ buf: UnsafeBufferPointer<UInt8>) -> Int {
        var pos = 0
        while c.phase == .reading && !c.closed {
            let start = pos
            let (consumed, event) = c.decoder.decode(UnsafeBufferPointer(rebasing: buf[pos...]))
            pos += consumed
            guard let event else { break }
            switch event {
            case .sendContinue:
                enqueueOutput(c, ResponseEncoder.continueResponse)
                flush(c)
            case .request(let head, let body):
                c.served = true
                let request = HTTPRequest(head: head, body: body, remoteAddress: c.remote)
                if let response = responder.respondInline(to: request) {
                    answerInline(c, response, head: head)
                } else {
                    c.phase = .processing
                    dispatch(c, request: request)
                }
            case .error(let status, let head):
                c.phase = .processing
                c.mustClose = true
                // No head: the request line as far as it came tells the prefix, if any.
                let prefix = head == nil && !targetPrefix.isEmpty ? targetPrefix.match(UnsafeBufferPointer(rebasing: buf[start...])) : nil
                dispatchError(c, status: status, head: head, prefix: prefix)
            }
        }
        return pos
    }

    // MARK: write

    func enqueueOutput(_ c: Connection, _ bytes: [UInt8]) {
        if bytes.isEmpty { return }
        if c.pendingOutput == 0 {
            c.outbuf = bytes
            c.outStart = 0
        } else if c.outTail.isEmpty {
            c.outbuf.append(contentsOf: bytes)
        } else {
            c.outTail.append(contentsOf: bytes)
        }
        c.lastWriteProgress = now
    }

    /// A head and its body: the body is sent from its own array when nothing else waits.
    func enqueueOutput(_ c: Connection, _ head: [UInt8], body: [UInt8]) {
        guard c.pendingOutput == 0, !head.isEmpty, !body.isEmpty else {
            enqueueOutput(c, head)
            enqueueOutput(c, body)
            return
        }
        c.outbuf = head
        c.outStart = 0
        c.outTail = body
        c.lastWriteProgress = now
    }

    func flush(_ c: Connection) {
        while c.pendingOutput > 0 && !c.closed {
            let n = c.outTail.isEmpty ? c.outbuf.withUnsafeBytes { p in
                send(c.fd, p.baseAddress! + c.outStart, p.count - c.outStart, Int32(MSG_NOSIGNAL))
            } : sendBoth(c)
            if n > 0 {
                let first = c.outbuf.count - c.outStart
                if n < first || c.outTail.isEmpty {
                    c.outStart += n
                } else {
                    // The head is out: the body's array becomes the buffer, without a copy.
                    c.outbuf = c.outTail
                    c.outTail = []
                    c.outStart = n - first
                }
                c.lastWriteProgress = now
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if c.pull != nil { schedulePull(c) }
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
        c.outTail = []
        if let s = c.stream, c.streamUnacked > 0 {
            s.written(c.streamUnacked)
            c.streamUnacked = 0
        }
        if c.pull != nil { schedulePull(c) }
        if c.phase == .closing {
            startLinger(c)
        } else if c.phase == .reading && c.peerClosed && c.inStart >= c.inbuf.count {
            close(c) // the client half-closed and has had every answer
        }
    }

    /// One `sendmsg` of what is left of `outbuf` and all of `outTail`.
    private func sendBoth(_ c: Connection) -> Int {
        c.outbuf.withUnsafeBytes { head in
            c.outTail.withUnsafeBytes { tail in
                var iov = (iovec(iov_base: UnsafeMutableRawPointer(mutating: head.baseAddress! + c.outStart), iov_len: head.count - c.outStart),
                           iovec(iov_base: UnsafeMutableRawPointer(mutating: tail.baseAddress!), iov_len: tail.count))
                return withUnsafeMutableBytes(of: &iov) { vectors in
                    var message = msghdr()
                    message.msg_iov = vectors.baseAddress!.assumingMemoryBound(to: iovec.self)
                    message.msg_iovlen = 2
                    return sendmsg(c.fd, &message, Int32(MSG_NOSIGNAL))
                }
            }
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
                if c.pendingOutput > 0 && now - c.lastWriteProgress > write { close(c) }
            case .lingering:
                if now - c.lingerStarted > 2000 { close(c) }
            case .refusing:
                if now - c.lastActivity > header {
                    let prefix = c.inbuf.withUnsafeBufferPointer { targetPrefix.match($0) }
                    answerRefusal(c, prefix: prefix)
                }
            }
        }
    }

    private func timeOut(_ c: Connection) {
        // The head, if the body is what is late; else the prefix of the head's bytes so far
        // (an incomplete head is never consumed: it waits in `inbuf`).
        let head = c.decoder.pendingHead
        let prefix = head == nil && !targetPrefix.isEmpty
            ? c.inbuf.withUnsafeBufferPointer { targetPrefix.match(UnsafeBufferPointer(rebasing: $0[min(c.inStart, $0.count)...])) } : nil
        c.phase = .processing
        c.mustClose = true
        dispatchError(c, status: .requestTimeout, head: head, prefix: prefix)
    }

    // MARK: connection lifecycle

    func close(_ c: Connection) {
        guard !c.closed else { return }
        c.closed = true
        c.stream?.cancel()
        c.stream = nil
        c.pull = nil // a pull under way finishes on its worker; its chunk is then dropped
        connections[Int(c.fd)] = nil
        if c.isRefusal { refusingCount -= 1 } else { openCount -= 1 }
        Glibc.close(c.fd) // also removes it from the epoll set
    }

    func register(_ fd: Int32, tag: UInt64, events: UInt32) {
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = tag
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)
    }
}
