import Foundation
import Logging
import Synchronization

/// A hand-rolled HTTP/1.1 server on non-blocking sockets and epoll.
///
/// This type is the public face: configuration, start, shutdown. The parts live beside it,
/// one type per file: ``EventLoop`` (the loop thread; `EventLoop+Workers.swift` is the hop to
/// the workers and back), ``Connection`` (one client's state), ``WorkerPool``,
/// ``RequestDecoder``, ``ResponseEncoder``, ``StreamChannel`` and ``StreamWriter`` (streamed
/// bodies), and ``Socket`` (listening and addresses).
///
/// ## Threading model
/// - **One event-loop thread** owns every socket and every connection's state. It accepts,
///   reads, decodes requests (``RequestDecoder``), writes responses and enforces timeouts.
///   It never runs application code and never blocks: all sockets are non-blocking and
///   registered once, edge-triggered, for input and output, so the hot path makes no
///   `epoll_ctl` calls. An idle keep-alive connection is a file descriptor and a small
///   object: no thread, no buffer. It runs under `SCHED_BATCH`, so its wake-ups do not
///   preempt a worker in the middle of a request; on a core the workers keep busy, a worker
///   yields to it between jobs once it has wanted the CPU for ``Configuration/loopTurnMicros``
///   (``LoopTurn``), rather than leaving it for the scheduler's tick.
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
/// are waiting for the socket (back-pressure). Pulled bodies (`HTTPBody.pull`) hold no
/// worker while the client reads: the loop asks the producer for one chunk at a time, on a
/// worker, whenever the connection's output has drained below ``Configuration/pullLowWater``.
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
        /// Milliseconds the queue may go without a worker taking a job before the pool adds one.
        public var workerStallMillis: UInt64 = 20
        /// Microseconds the event loop may wait for a busy core (woken for finished answers, or
        /// preempted in its turn) before a worker, between two jobs, yields the CPU to it
        /// (see ``LoopTurn``); 0: never.
        public var loopTurnMicros: UInt64 = 1000
        /// Bytes of a streamed body allowed to wait for the socket before the worker blocks.
        public var streamHighWater = 1 << 20
        /// A pulled body (``HTTPBody/pull(_:)``) is asked for its next chunk once fewer than
        /// this many bytes of it wait in the connection's output buffer.
        public var pullLowWater = 64 * 1024
        /// Unread pipelined bytes kept per connection while a request is being handled.
        public var maxInputBacklog = 64 * 1024
        /// Path prefixes (`/v1`) whose refusals the responder answers in a shape of their own
        /// (JSON for an API, say). A request refused before its head is parsed (408, 414,
        /// 431, 400) has no path, and one over the connection cap is not even read; for those
        /// the server looks at the start of the request target it has (a 414's first bytes
        /// are enough) and passes the prefix it begins with, at a segment boundary, to
        /// ``HTTPResponder/errorResponse(status:head:prefix:)`` and
        /// ``HTTPResponder/overloadResponse(prefix:)``. With prefixes set, a connection over
        /// the cap is read up to its request line (bounded: a few hundred at once, the header
        /// timeout, 1 KB) before its 503; a target that never comes, or an origin-form it
        /// cannot read, gets the default shape. Empty: every such refusal has the default.
        public var refusalPrefixes: [String] = []
        public init() {}
    }

    public let configuration: Configuration
    let responder: any HTTPResponder
    let logger: Logger

    private let stopped = DispatchSemaphore(value: 0)
    private let boundPort = Atomic<Int>(0)
    private let started = Atomic<Bool>(false)
    /// Set once by `start()`, before anything else can see it.
    private var loop: EventLoop?

    public init(configuration: Configuration = Configuration(), responder: any HTTPResponder,
                logger: Logger = Logger(label: "http")) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
    }

    /// The port the server listens on (useful with port 0).
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// Binds, listens and starts the event loop and workers. Returns once the socket accepts.
    public func start() throws {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        signal(SIGPIPE, SIG_IGN)
        Socket.raiseFileLimit()
        MallocTuning.keepFreedMemory()
        let listenFD = try Socket.listen(host: configuration.host, port: configuration.port, backlog: configuration.backlog)
        var addr = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listenFD, $0, &len) } }
        boundPort.store(Socket.port(of: addr), ordering: .releasing)

        let loop: EventLoop
        do {
            loop = try EventLoop(configuration: configuration, responder: responder, logger: logger, listenFD: listenFD)
        } catch {
            Glibc.close(listenFD)
            throw error
        }
        self.loop = loop
        let t = Thread { [self, loop] in
            Thread.current.name = "http-event-loop" // from inside: on Linux only the running thread can name itself
            // Waking up (bytes in, a response ready) does not preempt a worker in the middle of
            // a request: the loop runs between jobs and handles whatever has piled up. On a
            // busy core that took a page from about two context switches to almost none.
            var param = sched_param()
            _ = sched_setscheduler(0, Self.schedBatch, &param) // this thread only (Linux)
            loop.run()
            stopped.signal()
        }
        t.stackSize = 4 << 20
        t.start()
        logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
    }

    /// Stops accepting, lets in-flight requests finish (bounded by `drainTimeout`), then
    /// closes every connection. Safe to call from any thread, more than once.
    public func shutdown() {
        guard started.load(ordering: .acquiring) else { return }
        loop?.beginShutdown()
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
    public var workerCount: Int { loop?.pool.threadCount ?? 0 }

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

    /// ``waiting(_:)`` in two halves, for a wait that is not one closure (a lock's wait loop,
    /// told through a `Database.WaitObserver`): each `beginWaiting()` is followed by one
    /// `endWaiting()` on the same thread. Off a worker thread both do nothing.
    public static func beginWaiting() { WorkerPool.current?.beginWaiting() }
    public static func endWaiting() { WorkerPool.current?.endWaiting() }
}
