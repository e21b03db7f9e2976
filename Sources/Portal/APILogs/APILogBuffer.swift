import Synchronization

/// The request log's in-memory queue between the request threads and the flusher: bounded,
/// so a database that cannot keep up costs memory up to `capacity` entries and no more. When
/// full, the oldest entry is dropped (the newest say most about what is happening now) and
/// counted; ``APILogRecorder`` logs the first drop and the count.
///
/// Entries go into one ``APILogBatch`` (their elements' bytes copied into its one array), and
/// the flusher takes the whole batch at once, leaving the emptied arrays of the one before in
/// its place: no allocation per request, and the lock held for a copy or a swap.
final class APILogBuffer: Sendable {
    struct State {
        var batch = APILogBatch()
        /// Items of `batch` before this one were dropped.
        var head = 0
        var dropped: UInt64 = 0
        /// A batch the flusher is done with, emptied: its arrays' capacity is used again.
        var spare: APILogBatch?
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        state = Mutex(State())
    }

    /// Adds an entry, dropping the oldest when full. Returns the number held after it.
    @discardableResult
    func append(_ entry: APIRequestRecord) -> Int {
        state.withLock { s in
            if s.batch.count - s.head == capacity {
                s.head += 1
                s.dropped &+= 1
                // As many dropped as held: those go for good (amortized, a copy per `capacity` drops).
                if s.head == capacity {
                    s.batch.compact(droppingFirst: s.head)
                    s.head = 0
                }
            }
            s.batch.append(entry)
            return s.batch.count - s.head
        }
    }

    /// Takes every entry held, oldest first. Give the batch back with ``recycle(_:)`` when done.
    func takeAll() -> APILogBatch {
        state.withLock { s in
            var out = s.spare.take() ?? APILogBatch()
            swap(&out, &s.batch)
            if s.head > 0 {
                out.dropFirst(s.head)
                s.head = 0
            }
            return out
        }
    }

    /// Hands back a batch taken with ``takeAll()``: its arrays keep their room for the next.
    func recycle(_ batch: consuming APILogBatch) {
        var batch = batch
        batch.removeAll()
        state.withLock { s in s.spare = batch }
    }

    var count: Int { state.withLock { $0.batch.count - $0.head } }

    /// How many entries were dropped since the start.
    var dropped: UInt64 { state.withLock { $0.dropped } }
}
