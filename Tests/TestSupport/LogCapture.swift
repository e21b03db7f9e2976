import Foundation
import Logging
import Synchronization

/// Collects log events for assertions.
public final class LogCapture: Sendable {
    public init() {}
    public struct Line: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: Logger.Metadata
        /// Everything, as one searchable string.
        public var rendered: String { "\(level) \(message) \(metadata.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))" }
    }

    private let storage = Mutex<[Line]>([])
    public var lines: [Line] { storage.withLock { $0 } }
    public var all: String { lines.map(\.rendered).joined(separator: "\n") }

    public var logger: Logger {
        var l = Logger(label: "test") { _ in Handler(capture: self) }
        l.logLevel = .trace
        return l
    }

    public func append(_ line: Line) { storage.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        public var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            for (k, v) in event.metadata ?? [:] { all[k] = v }
            capture.append(Line(level: event.level, message: event.message.description, metadata: all))
        }
    }
}

/// Waits up to `seconds` for `condition`, polling every 20 ms.
public func eventually(within seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
