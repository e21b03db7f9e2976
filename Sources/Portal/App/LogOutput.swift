import Foundation
import Logging
import Synchronization

/// A swift-log handler that writes one logfmt line per event
/// (`ts=… level=info label=… msg="request" request_id=… path=/ status=200`).
///
/// Lines go to a shared ``LogSink`` that batches them: the per-request log line costs a
/// string build and a mutex, not a `write(2)` on every request. Errors and anything above
/// flush at once, and the sink flushes every 100 ms and at exit, so nothing of note waits.
public struct LogfmtHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let sink: LogSink

    public init(label: String, level: Logger.Level, sink: LogSink) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "ts="
        line += sink.timestamp()
        line += " level="
        line += event.level.rawValue
        line += " label="
        line += label
        line += " msg="
        Self.appendValue("\(event.message)", to: &line)
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        for (k, v) in merged.sorted(by: { $0.key < $1.key }) {
            line += " "
            line += k
            line += "="
            Self.appendValue("\(v)", to: &line)
        }
        line += "\n"
        sink.write(line, urgent: event.level >= .error)
    }

    /// Writes `value` bare when it is a simple token, else quoted with escapes.
    static func appendValue(_ value: String, to line: inout String) {
        let needsQuotes = value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == 0x22 || $0 == 0x3D || $0 == 0x5C || $0 == 0x7F }
        guard needsQuotes else { line += value; return }
        line += "\""
        for ch in value.unicodeScalars {
            switch ch {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            default:
                if ch.value < 0x20 || ch.value == 0x7F { line += "\\u{\(String(ch.value, radix: 16))}" } else { line.unicodeScalars.append(ch) }
            }
        }
        line += "\""
    }
}

/// Collects log lines and writes them to a file descriptor (stderr by default) in batches.
public final class LogSink: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    private let stamp = Mutex<(second: Int, text: String)>((-1, ""))
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)

    public init(fd: Int32 = STDERR_FILENO) {
        self.fd = fd
        let t = Thread { [self] in
            Thread.current.name = "log-flush" // from inside: on Linux only the running thread can name itself
            while !stopped.load(ordering: .relaxed) {
                usleep(100_000)
                flush()
            }
        }
        t.start()
    }

    func write(_ line: String, urgent: Bool) {
        let big = buffer.withLock { b -> Bool in
            b.append(contentsOf: line.utf8)
            return b.count > 64 * 1024
        }
        if urgent || big { flush() }
    }

    /// Writes everything collected so far.
    public func flush() {
        let bytes = buffer.withLock { b -> [UInt8] in
            let out = b
            b.removeAll(keepingCapacity: true)
            return out
        }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n <= 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
        flush()
    }

    /// RFC 3339 UTC with milliseconds; the seconds part is formatted once a second.
    func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let second = ts.tv_sec
        let base = stamp.withLock { s -> String in
            if s.second != second {
                var t = time_t(second)
                var tm = tm()
                gmtime_r(&t, &tm)
                func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
                s = (second, "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))")
            }
            return s.text
        }
        let ms = ts.tv_nsec / 1_000_000
        return base + (ms < 10 ? ".00\(ms)Z" : ms < 100 ? ".0\(ms)Z" : ".\(ms)Z")
    }
}
