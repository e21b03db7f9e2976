import Glibc
import Synchronization

/// How long finished answers may wait for a busy core's event loop before a worker steps aside.
///
/// The loop runs under `SCHED_BATCH`, so its wake-up never preempts a worker in the middle of
/// a request (preempting on every answer cost a third of the throughput). On a core that the
/// workers keep busy, though, nothing else hands it the CPU: it waited for the scheduler's
/// tick, 4 ms at 250 Hz, and every answer finished in between waited with it (`perf sched
/// timehist`: a 3.4 ms run-queue delay every cycle). So the wake-up is stamped, and a worker
/// back from a job calls `sched_yield` once the stamp is older than the turn: the loop then
/// sends what has piled up, reads what came in, and sleeps, a few dozen microseconds a turn.
/// A loop that is already running has no stamp, so an idle or many-core server never yields.
final class LoopTurn: Sendable {
    /// Microseconds; 0 turns the hand-over off.
    let micros: UInt64
    /// When the sleeping loop was woken for finished answers (monotonic µs); 0 once it has run.
    private let wokenAt = Atomic<UInt64>(0)

    init(micros: UInt64) { self.micros = micros }

    /// The loop was woken while asleep (the first stamp of a wait counts).
    func woken() {
        guard micros > 0, wokenAt.load(ordering: .relaxed) == 0 else { return }
        wokenAt.store(Self.nowMicros(), ordering: .relaxed)
    }

    /// The loop is running.
    func ran() {
        if wokenAt.load(ordering: .relaxed) != 0 { wokenAt.store(0, ordering: .relaxed) }
    }

    /// Between two jobs: gives the CPU to the loop if its answers have waited a whole turn.
    func yieldIfOverdue() {
        let w = wokenAt.load(ordering: .relaxed)
        if w != 0 && Self.nowMicros() &- w >= micros { sched_yield() }
    }

    private static func nowMicros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1000)
    }
}
