import Glibc
import Synchronization

/// How long the event loop may be kept from a busy core before a worker steps aside.
///
/// The loop runs under `SCHED_BATCH`, so its wake-up never preempts a worker in the middle of
/// a request (preempting on every answer cost a third of the throughput). On a core that the
/// workers keep busy, though, nothing else hands it the CPU: it waited for the scheduler's
/// tick, 4 ms at 250 Hz, and every answer finished in between waited with it (`perf sched
/// timehist`: a 3.4 ms run-queue delay every cycle). So the loop's claim on the CPU is
/// stamped, and a worker back from a job calls `sched_yield` once the stamp is older than the
/// turn: the loop then sends what has piled up, reads what came in, and sleeps.
///
/// The claim runs from the wake-up (or, when the loop woke by itself, the start of its turn)
/// until the loop goes back to sleep, not just until it first runs: a worker woken by the
/// loop in the middle of a turn preempts it (the worker is not `SCHED_BATCH`), and the rest of
/// the turn then waited for the tick too (3–4 ms, `perf sched timehist` on the search page).
/// An idle or many-core server, whose loop turns are short, never yields.
final class LoopTurn: Sendable {
    /// Microseconds; 0 turns the hand-over off.
    let micros: UInt64
    /// Since when the loop has wanted the CPU (monotonic µs); 0 while it sleeps in `epoll_wait`.
    private let claimedAt = Atomic<UInt64>(0)

    init(micros: UInt64) { self.micros = micros }

    /// The loop wants the CPU: woken while asleep, or starting a turn it woke to by itself.
    /// The first claim since the loop last slept counts, so a turn keeps its wake-up's stamp.
    func claim() {
        guard micros > 0, claimedAt.load(ordering: .relaxed) == 0 else { return }
        claimedAt.store(Self.nowMicros(), ordering: .relaxed)
    }

    /// The loop is about to sleep: it wants nothing until woken.
    func ended() {
        if claimedAt.load(ordering: .relaxed) != 0 { claimedAt.store(0, ordering: .relaxed) }
    }

    /// Between two jobs: gives the CPU to the loop if it has wanted it for a whole turn.
    func yieldIfOverdue() {
        if isOverdue { sched_yield() }
    }

    /// The loop has wanted the CPU for a whole turn.
    var isOverdue: Bool {
        let w = claimedAt.load(ordering: .relaxed)
        return w != 0 && Self.nowMicros() &- w >= micros
    }

    private static func nowMicros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1000)
    }
}
