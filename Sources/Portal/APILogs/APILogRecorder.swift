import Foundation
import Logging
import Synchronization

/// Moves request log entries from the request threads to the database without a request
/// ever waiting for a write: requests append to an ``APILogBuffer`` (a lock and a copy of
/// their element); one background thread takes what is there at least once a second (sooner
/// when a batch's worth is waiting) and writes it with `save`, one transaction per batch of
/// `batchSize` (up to twice that when the rest would be a small batch of its own). `stop()`
/// writes whatever is left, so a clean shutdown loses nothing.
///
/// A batch is 500 requests, a fortieth of a second at 20,000 requests a second: the flusher's
/// work comes in pieces of about a millisecond, which the requests around it hardly notice
/// (with 2,000 the pieces were 4-5 ms, and /v1 p99 rose by as much; with 200 the transactions
/// cost more than the pieces saved).
final class APILogRecorder: Sendable {
    let buffer: APILogBuffer
    let interval: Duration
    let batchSize: Int
    /// Writes the items of a batch in the range (at most twice `batchSize` of them).
    private let save: @Sendable (APILogBatch, Range<Int>) throws -> Void
    private let logger: Logger

    struct Control {
        var started = false
        var stopping = false
        /// Tests hold the flusher to prove the request path does not wait for it.
        var paused = false
        var reportedDrops: UInt64 = 0
    }

    private let control = Mutex(Control())
    /// Held while a batch is written: `pause()` takes it to wait out a flush in progress.
    private let flushing = Mutex(())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(capacity: Int = 50_000, interval: Duration = .seconds(1), batchSize: Int = 500, logger: Logger,
         save: @escaping @Sendable (APILogBatch, Range<Int>) throws -> Void) {
        buffer = APILogBuffer(capacity: capacity)
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
        self.save = save
    }

    /// Called on the request's thread: never blocks on the database. The entry is encoded
    /// here (``APIRequestRecord``).
    func record(_ entry: APIRequestEntry) {
        record(APIRequestRecord(entry))
    }

    /// A record made already (``APILogMiddleware/record(_:_:micros:)``).
    func record(_ record: APIRequestRecord) {
        // Wake the flusher early once a full batch waits, once per batch (not on every append).
        if buffer.append(record) == batchSize { wake.signal() }
    }

    func start() {
        let first = control.withLock { c -> Bool in
            defer { c.started = true }
            return !c.started
        }
        guard first else { return }
        // Named from inside: on Linux only the running thread can name itself (`top -H`, perf).
        let thread = Thread { [self] in Thread.current.name = "api-log-flusher"; run() }
        thread.start()
    }

    private func run() {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        while true {
            _ = wake.wait(timeout: .now() + seconds)
            let (stopping, paused) = control.withLock { ($0.stopping, $0.paused) }
            if stopping { break }
            if !paused { flush() }
        }
        finished.signal()
    }

    /// Writes everything buffered now, batch by batch. A batch the database refuses is logged
    /// and dropped: retrying it forever would grow the buffer behind it.
    func flush() {
        flushing.withLock { _ in
            while true {
                let batch = buffer.takeAll()
                let n = batch.count
                var start = 0
                while start < n {
                    // Woken at a batch, the flusher finds a few hundred more by the time it runs:
                    // those join the batch (up to twice its size) rather than make a segment
                    // and a transaction of their own.
                    let end = n - start <= 2 * batchSize ? n : start + batchSize
                    do {
                        try save(batch, start..<end)
                    } catch {
                        logger.error("api request log: a batch could not be written and is dropped",
                                     metadata: ["entries": .stringConvertible(end - start), "error": .string(String(describing: error))])
                    }
                    start = end
                }
                buffer.recycle(batch)
                if n < batchSize { break }
            }
            reportDrops()
        }
    }

    /// The first drop is logged at once; later ones are counted and logged at shutdown, so a
    /// saturated log does not become a flood of log lines as well.
    private func reportDrops(final: Bool = false) {
        let dropped = buffer.dropped
        let report = control.withLock { c -> Bool in
            guard dropped > c.reportedDrops, c.reportedDrops == 0 || final else { return false }
            c.reportedDrops = dropped
            return true
        }
        guard report else { return }
        logger.warning("api request log: the buffer was full, the oldest entries were dropped",
                       metadata: ["dropped": .stringConvertible(dropped), "capacity": .stringConvertible(buffer.capacity)])
    }

    /// Holds the flusher (and waits for a flush in progress): for tests.
    func pause() {
        control.withLock { $0.paused = true }
        flushing.withLock { _ in }
    }

    func resume() {
        control.withLock { $0.paused = false }
        wake.signal()
    }

    /// Stops the flusher thread and writes what is still buffered. Call after the server has
    /// drained (no request adds entries any more) and before the database closes.
    func stop() {
        let wasRunning = control.withLock { c -> Bool in
            defer { c.stopping = true; c.paused = false }
            return c.started && !c.stopping
        }
        if wasRunning {
            wake.signal()
            finished.wait()
        }
        flush()
        reportDrops(final: true)
    }
}
