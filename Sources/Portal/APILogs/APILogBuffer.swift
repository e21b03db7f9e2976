import Synchronization

/// The request log's in-memory queue between the request threads and the flusher: bounded,
/// so a database that cannot keep up costs memory up to `capacity` entries and no more. When
/// full, the oldest entry is dropped (the newest say most about what is happening now) and
/// counted; ``APILogRecorder`` logs the first drop and the count.
final class APILogBuffer: Sendable {
    struct State {
        /// A ring: `count` entries starting at `head`.
        var ring: [APIRequestRecord?]
        var head = 0
        var count = 0
        var dropped: UInt64 = 0
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        state = Mutex(State(ring: Array(repeating: nil, count: capacity)))
    }

    /// Adds an entry, dropping the oldest when full. Returns the number held after it.
    @discardableResult
    func append(_ entry: APIRequestRecord) -> Int {
        state.withLock { s in
            if s.count == capacity {
                s.ring[s.head] = entry
                s.head = (s.head + 1) % capacity
                s.dropped &+= 1
            } else {
                s.ring[(s.head + s.count) % capacity] = entry
                s.count += 1
            }
            return s.count
        }
    }

    /// Takes up to `limit` of the oldest entries out, in order.
    func take(_ limit: Int) -> [APIRequestRecord] {
        state.withLock { s in
            let n = min(limit, s.count)
            var out: [APIRequestRecord] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                out.append(s.ring[s.head]!)
                s.ring[s.head] = nil
                s.head = (s.head + 1) % capacity
                s.count -= 1
            }
            return out
        }
    }

    var count: Int { state.withLock { $0.count } }

    /// How many entries were dropped since the start.
    var dropped: UInt64 { state.withLock { $0.dropped } }
}
