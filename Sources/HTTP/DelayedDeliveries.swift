/// Responses that asked to be delivered late (``HTTPResponse/deliverAfter``), waiting on the
/// event loop, earliest first: a binary min-heap by due time (ties in posting order). Owned
/// by the loop thread. A waiting response holds no thread: the worker that made it is free
/// once it has posted, and the loop only wakes in time for the earliest one (`epoll_wait`'s
/// timeout).
struct DelayedDeliveries {
    private struct Entry {
        let due: UInt64
        let seq: UInt64
        let completion: Completion
    }

    private var heap: [Entry] = []
    private var seq: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// When the earliest one is due (monotonic milliseconds), nil when none waits.
    var nextDue: UInt64? { heap.first?.due }

    mutating func push(_ completion: Completion, due: UInt64) {
        seq &+= 1
        heap.append(Entry(due: due, seq: seq, completion: completion))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// The earliest completion if it is due at `now`, removed from the heap; nil otherwise.
    mutating func popDue(now: UInt64) -> Completion? {
        guard let first = heap.first, first.due <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && Self.before(heap[l], heap[m]) { m = l }
                if r < heap.count && Self.before(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return first.completion
    }

    private static func before(_ a: Entry, _ b: Entry) -> Bool {
        a.due < b.due || (a.due == b.due && a.seq < b.seq)
    }
}
