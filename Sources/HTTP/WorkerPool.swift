import CLinux
import Foundation

/// A pool of worker threads that run request handlers, so the event loop never blocks.
///
/// Jobs wait in a FIFO queue guarded by a pthread mutex and condition variable. The pool
/// starts `minimum` threads; `grow()` adds one while the oldest job has waited too long
/// (every worker blocked in a slow handler), up to `maximum`, so a slow handler cannot hold
/// up other connections for long. Threads above the minimum exit after idling a while.
/// A worker that says it is about to wait (``HTTPServer/waiting(_:)``) stops counting as
/// awake until it is done, so queued jobs go to another worker at once. No more workers stay
/// awake than there are CPUs: one back from a job while more are awake sleeps.
final class WorkerPool: @unchecked Sendable {
    // All mutable state below is guarded by `mutex`; that is what makes the class Sendable.
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var jobs: [() -> Void] = []
    private var jobsHead = 0
    private var enqueuedAt: [UInt64] = []
    /// When a worker last took a job from the queue (monotonic ms).
    private var lastStart: UInt64 = 0
    /// When each worker's current job started (monotonic ms; 0 between jobs), by worker slot:
    /// a worker long in its job is presumably blocked, and the one woken for it must stay awake.
    private var jobStarts: [UInt64] = []
    private var freeSlots: [Int] = []
    /// The stall time the loop last asked about (``growIfStalled(after:)``).
    private var stallMillis: UInt64 = 20
    private var threads = 0
    private var idle = 0
    /// Workers inside ``HTTPServer/waiting(_:)``.
    private var waiting = 0
    /// Signals sent to idle workers that have not woken yet.
    private var pendingWakes = 0
    /// CPUs this process may run on (its affinity mask), so `taskset -c 0` means one.
    let cpus: Int = {
        let n = Int(clinux_affinity_cpus())
        return n > 0 ? n : ProcessInfo.processInfo.activeProcessorCount
    }()
    private var stopping = false
    /// Consulted between jobs, to hand a busy core to the event loop in time.
    let turn: LoopTurn?
    let minimum: Int
    let maximum: Int
    private let idleExit: TimeInterval = 30

    init(minimum: Int, maximum: Int, turn: LoopTurn? = nil) {
        self.turn = turn
        self.minimum = max(1, minimum)
        self.maximum = max(self.minimum, maximum)
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&cond, &attr)
        pthread_condattr_destroy(&attr)
        for _ in 0..<self.minimum { spawnLocked() }
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    /// Queues a job. An idle worker is woken only while fewer workers are awake than there
    /// are CPUs to run them: on one core, one worker draining a batch beats four taking turns.
    /// Workers that said they would wait do not count as awake (with none idle, a thread is
    /// added for them); other workers blocked in slow handlers do, and `growIfStalled`
    /// covers for those.
    func submit(_ job: @escaping () -> Void) {
        pthread_mutex_lock(&mutex)
        jobs.append(job)
        enqueuedAt.append(monotonicMillis())
        let wake = wakeForQueueLocked()
        pthread_mutex_unlock(&mutex)
        if wake { pthread_cond_signal(&cond) }
    }

    /// With jobs queued and fewer than `cpus` workers awake (waiting ones do not count): claims
    /// an idle worker not yet signalled (the caller signals it after unlocking: true), or adds
    /// a worker when the others are taken and some of them only wait.
    private func wakeForQueueLocked() -> Bool {
        guard jobsHead < jobs.count, awakeLocked < cpus else { return false }
        if idle > pendingWakes {
            pendingWakes += 1
            return true
        }
        if waiting > 0 && threads < maximum { spawnLocked() }
        return false
    }

    /// The pool whose worker the calling thread is, if any.
    static var current: WorkerPool? {
        pthread_getspecific(currentKey).map { Unmanaged<WorkerPool>.fromOpaque($0).takeUnretainedValue() }
    }
    /// The calling worker's slot in `jobStarts`.
    private static var currentSlot: Int? {
        pthread_getspecific(slotKey).map { Int(bitPattern: $0) - 1 }
    }
    private static let slotKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    /// A job start that marks a worker inside ``beginWaiting()``.
    private static let inWait = UInt64.max

    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The calling worker is about to wait rather than compute: if jobs are queued and too
    /// few workers remain awake, another one is woken (or added) to take them.
    func beginWaiting() {
        pthread_mutex_lock(&mutex)
        waiting += 1
        // Counted as waiting, so not as blocked as well.
        if let slot = Self.currentSlot { jobStarts[slot] = Self.inWait }
        let wake = wakeForQueueLocked()
        pthread_mutex_unlock(&mutex)
        if wake { pthread_cond_signal(&cond) }
    }

    func endWaiting() {
        pthread_mutex_lock(&mutex)
        waiting -= 1
        if let slot = Self.currentSlot { jobStarts[slot] = monotonicMillis() }
        pthread_mutex_unlock(&mutex)
    }

    /// Called by the event loop now and then: when jobs are queued and no worker has taken
    /// one for `after` milliseconds (every awake worker busy, probably blocked), wakes an
    /// idle worker or, if none, adds a thread.
    ///
    /// The queue's progress is what counts, not the oldest job's age: under load (hundreds
    /// of connections on one core) jobs wait longer than `after` behind one busy worker that
    /// is doing nothing wrong, and the old rule then woke every idle worker and added threads
    /// up to the maximum, which on one core only take turns and fight over this lock.
    func growIfStalled(after ms: UInt64) {
        pthread_mutex_lock(&mutex)
        stallMillis = ms
        let now = monotonicMillis()
        guard jobsHead < jobs.count, now &- max(lastStart, enqueuedAt[jobsHead]) >= ms else {
            pthread_mutex_unlock(&mutex)
            return
        }
        if idle > pendingWakes {
            pendingWakes += 1
            pthread_mutex_unlock(&mutex)
            pthread_cond_signal(&cond)
            return
        }
        if threads < maximum { spawnLocked() }
        pthread_mutex_unlock(&mutex)
    }

    var threadCount: Int {
        pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
        return threads
    }

    /// Lets running jobs finish; queued jobs still run; then threads exit.
    func stop() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_mutex_unlock(&mutex)
        pthread_cond_broadcast(&cond)
    }

    private func spawnLocked() {
        threads += 1
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = jobStarts.count
            jobStarts.append(0)
        }
        // Named from inside: on Linux only the running thread can name itself.
        let t = Thread { [self] in Thread.current.name = "http-worker"; run(slot: slot) }
        t.stackSize = 1 << 20
        t.start()
    }

    /// Workers computing or about to: not idle, not inside ``beginWaiting()``, plus those
    /// signalled that have not woken yet.
    private var awakeLocked: Int { threads - idle - waiting + pendingWakes }

    /// More workers awake than CPUs, not counting those long in a job (blocked, presumably:
    /// the ones others were woken to cover for). The job starts are looked at only when the
    /// plain count is over, which under steady load it is not.
    private func overSubscribedLocked() -> Bool {
        guard awakeLocked > cpus else { return false }
        let now = monotonicMillis()
        var blocked = 0
        for start in jobStarts where start != 0 && start != Self.inWait && now > start && now - start >= stallMillis { blocked += 1 }
        return awakeLocked - blocked > cpus
    }

    private func run(slot: Int) {
        pthread_setspecific(Self.currentKey, Unmanaged.passUnretained(self).toOpaque())
        pthread_setspecific(Self.slotKey, UnsafeRawPointer(bitPattern: slot + 1))
        pthread_mutex_lock(&mutex)
        var finished = false
        while true {
            // A worker back from a job while more workers are awake than there are CPUs (one
            // was woken for a stalled queue, then the stalled one came back) sleeps, though
            // jobs wait. Awake workers never idle under load, so without this they would stay
            // awake and take turns on the CPUs, every request stretched by the others' slices.
            if jobsHead < jobs.count && !(finished && overSubscribedLocked()) {
                let job = jobs[jobsHead]
                jobsHead += 1
                lastStart = monotonicMillis()
                jobStarts[slot] = lastStart
                if jobsHead == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    enqueuedAt.removeAll(keepingCapacity: true)
                    jobsHead = 0
                } else if jobsHead > 1024 && jobsHead * 2 > jobs.count {
                    jobs.removeFirst(jobsHead)
                    enqueuedAt.removeFirst(jobsHead)
                    jobsHead = 0
                }
                pthread_mutex_unlock(&mutex)
                job()
                turn?.yieldIfOverdue()
                pthread_mutex_lock(&mutex)
                jobStarts[slot] = 0
                finished = true
                continue
            }
            if stopping { break }
            finished = false
            idle += 1
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            deadline.tv_sec += Int(idleExit)
            let rc = pthread_cond_timedwait(&cond, &mutex, &deadline)
            idle -= 1
            if pendingWakes > 0 { pendingWakes -= 1 }
            if rc == ETIMEDOUT && threads > minimum && jobsHead >= jobs.count { break }
        }
        threads -= 1
        freeSlots.append(slot)
        pthread_mutex_unlock(&mutex)
    }
}

@inline(__always) func monotonicMillis() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
    return UInt64(ts.tv_sec) &* 1000 &+ UInt64(ts.tv_nsec / 1_000_000)
}
