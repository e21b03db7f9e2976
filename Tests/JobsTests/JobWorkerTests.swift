import Database
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Jobs

@Suite("JobWorker: durable jobs")
struct JobWorkerTests {
    struct Boom: Error {}

    @Test("Jobs run on threads at the worker's nice value, and the caller's own priority is left alone")
    func jobsRunAtTheWorkersNiceness() throws {
        let db = try TestDatabase()
        _ = try db.enqueue(payload: "p", at: ManualClock().now)
        let seen = Mutex<[Int32]>([])
        let worker = JobWorker(database: db.database, niceness: 10, clock: ManualClock().clock)
        worker.register(kind: "test", lease: .seconds(60)) { _ in
            errno = 0
            let value = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            seen.withLock { $0.append(value) }
        }
        let before = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        worker.start()
        defer { worker.stop() }
        worker.notify()
        #expect(eventually(within: 5) { !seen.withLock { $0 }.isEmpty })
        #expect(seen.withLock { $0 } == [max(before, 10)])
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == before)
    }

    @Test("A job leased by a worker that died is taken again once the lease has passed, not before")
    func expiredLeaseIsTakenOver() throws {
        let db = try TestDatabase()
        let clock = ManualClock()
        let t0 = clock.now
        let id = try db.enqueue(payload: "p", at: t0)
        // The first worker claims it and dies: nothing but the row is left.
        let dead = try db.database.write { try JobStore.claim(kinds: ["test"], owner: "dead", now: t0, lease: { _ in 60 }, on: $0) }
        #expect(dead?.id == id && dead?.attempt == 1)
        var row = try db.job(id)
        #expect(row.state == "running" && row.leaseOwner == "dead" && row.leaseExpiresAt == t0 + 60)

        let calls = Calls()
        let worker = JobWorker(database: db.database, pollInterval: .seconds(3600), clock: clock.clock)
        worker.register(kind: "test", lease: .seconds(60)) { job in calls.record("\(job.payload)#\(job.attempt)") }
        #expect(try worker.runDue(now: t0 + 59) == 0)
        #expect(calls.count == 0)

        // The threaded worker picks it up when its clock passes the lease and it is nudged.
        worker.start()
        defer { worker.stop() }
        clock.set(t0 + 60)
        worker.notify()
        #expect(eventually(within: 5) { (try? db.job(id).state) == "done" })
        #expect(calls.all == ["p#2"])
        row = try db.job(id)
        #expect(row.attempts == 2 && row.finishedAt == t0 + 60 && row.leaseOwner == nil && row.leaseExpiresAt == nil)
    }

    @Test("enqueueUnlessQueued adds a job only while none of that kind and payload is queued; a running one does not count")
    func enqueueUnlessQueuedNeverDoubles() throws {
        let db = try TestDatabase()
        let t0: Int64 = 1_000_000
        func add(_ payload: String) throws -> Int64? {
            try db.database.write { try JobQueue.enqueueUnlessQueued("sweep", payload: payload, runAt: t0 + 10, now: t0, on: $0) }
        }
        let first = try #require(try add(""))
        #expect(try add("") == nil)
        #expect(try add("other") != nil) // another payload is another job
        // Claimed (running), it no longer blocks its successor, which it may queue itself.
        _ = try db.database.write { try JobStore.claim(kinds: ["sweep"], owner: "w", now: t0 + 10, lease: { _ in 60 }, on: $0) }
        #expect(try db.job(first).state == "running")
        let next = try #require(try add(""))
        #expect(next != first)
        #expect(try add("") == nil)
        #expect(try db.jobs().filter { $0.kind == "sweep" && $0.payload == "" }.count == 2)
    }

    @Test("A permanent failure ends the job at once and is never retried")
    func permanentFailureIsNotRetried() throws {
        let db = try TestDatabase()
        let t0: Int64 = 1_800_000_000
        let calls = Calls()
        let capture = LogCapture()
        let worker = JobWorker(database: db.database, logger: capture.logger)
        worker.register(kind: "test") { job in
            calls.record(job.payload)
            throw JobError.permanent("550 5.1.1 <a@example.com>: user unknown")
        }
        let id = try db.enqueue(payload: "a", at: t0)
        #expect(try worker.runDue(now: t0) == 0)
        let row = try db.job(id)
        #expect(row.state == "failed" && row.attempts == 1 && row.finishedAt == t0)
        #expect(row.lastError == "550 5.1.1 <a@example.com>: user unknown")
        for later in [t0 + 30, t0 + 3600, t0 + 30 * 86400] {
            #expect(try worker.runDue(now: later) == 0)
        }
        #expect(calls.count == 1)
        #expect(try db.job(id).attempts == 1)
        #expect(capture.lines.contains { $0.level == .error && $0.message == "job given up" && $0.metadata["permanent"] == "true" })
    }

    @Test("A restart (a new worker on the reopened database) loses nothing: queued, retrying and in-flight jobs all finish, once each")
    func restartLosesNothing() throws {
        let db = try TestDatabase()
        let t0: Int64 = 1_800_000_000
        let done = Calls()
        let first = JobWorker(database: db.database, clock: ManualClock(t0).clock)
        first.register(kind: "test") { job in
            if job.payload == "flaky" { throw Temporary() }
            done.record(job.payload)
        }
        for payload in ["a", "flaky", "b"] { try db.enqueue(payload: payload, at: t0) }
        #expect(try first.runDue(now: t0) == 2)
        // Then, with the first process going down: one job written but never looked at, and
        // one claimed by a thread that dies mid-run.
        try db.enqueue(payload: "late", at: t0 + 1)
        try db.enqueue(payload: "in-flight", at: t0 + 1)
        let claimed = try db.database.write {
            try JobStore.claim(kinds: ["test"], owner: first.owner, now: t0 + 2, lease: { _ in 600 }, on: $0)
        }
        #expect(claimed?.payload == "late")
        _ = try db.database.write { try JobStore.claim(kinds: ["test"], owner: first.owner, now: t0 + 2, lease: { _ in 600 }, on: $0) }

        try db.reopen()
        let second = JobWorker(database: db.database, clock: ManualClock(t0 + 40).clock)
        #expect(second.owner != first.owner)
        second.register(kind: "test") { job in done.record(job.payload) }
        #expect(try second.runDue(now: t0 + 40) == 1, "the flaky one, after its 30 s backoff; the others are still leased")
        #expect(try second.runDue(now: t0 + 602) == 2, "the two leased by the dead worker, after the lease")
        #expect(try second.runDue(now: t0 + 86400) == 0)
        #expect(done.all.sorted() == ["a", "b", "flaky", "in-flight", "late"])
        #expect(try db.jobs().allSatisfy { $0.state == "done" })
    }

    @Test("Temporary failures back off on the schedule and give up at the deadline")
    func backoffAndDeadline() throws {
        let db = try TestDatabase()
        let t0: Int64 = 1_800_000_000
        let calls = Calls()
        let worker = JobWorker(database: db.database)
        let policy = RetryPolicy(firstDelay: .seconds(10), maximumDelay: .seconds(40), giveUpAfter: .seconds(100))
        worker.register(kind: "test", retry: policy) { job in
            calls.record("\(job.attempt)")
            throw Temporary()
        }
        let id = try db.enqueue(payload: "x", at: t0)
        // (time of the attempt, when the next one is due): 10 s, 20 s, 40 s, 40 s (the cap).
        for (time, next) in [(t0, t0 + 10), (t0 + 10, t0 + 30), (t0 + 30, t0 + 70), (t0 + 70, t0 + 110)] {
            #expect(try worker.runDue(now: time - 1) == 0, "not due before \(time)")
            #expect(try worker.runDue(now: time) == 0)
            let row = try db.job(id)
            #expect(row.state == "queued" && row.runAt == next && row.lastError == "try later", "after the attempt at \(time - t0)")
        }
        #expect(calls.count == 4)
        // The attempt at t0 + 110 is past the 100 s deadline: it fails and is kept.
        #expect(try worker.runDue(now: t0 + 110) == 0)
        let row = try db.job(id)
        #expect(row.state == "failed" && row.attempts == 5 && row.finishedAt == t0 + 110 && row.lastError == "try later")
        #expect(try worker.runDue(now: t0 + 100_000) == 0)
        #expect(calls.all == ["1", "2", "3", "4", "5"])
    }

    @Test("An explicit schedule gives up after its last wait")
    func explicitSchedule() throws {
        let policy = RetryPolicy(schedule: [.seconds(5), .seconds(300), .seconds(1800)], giveUpAfter: .seconds(86400))
        #expect((1...4).map { policy.delay(afterAttempts: $0) } == [5, 300, 1800, nil])
        #expect(RetryPolicy.default.delay(afterAttempts: 1) == 30 && RetryPolicy.default.delay(afterAttempts: 9) == 3600)

        let db = try TestDatabase()
        let t0: Int64 = 1_800_000_000
        let worker = JobWorker(database: db.database)
        worker.register(kind: "test", retry: policy) { _ in throw Temporary() }
        let id = try db.enqueue(payload: "x", at: t0)
        for time in [t0, t0 + 5, t0 + 305, t0 + 2105] { try worker.runDue(now: time) }
        let row = try db.job(id)
        #expect(row.state == "failed" && row.attempts == 4 && row.finishedAt == t0 + 2105)

        let never = try db.enqueue("once", payload: "y", at: t0)
        worker.register(kind: "once", retry: .never) { _ in throw Temporary() }
        try worker.runDue(now: t0)
        #expect(try db.job(never).state == "failed")
    }

    @Test("No more than `concurrency` jobs run at once, on the worker's own threads")
    func concurrencyIsBounded() throws {
        let db = try TestDatabase()
        let t0: Int64 = 1_800_000_000
        let running = Atomic<Int>(0), most = Atomic<Int>(0)
        let gate = DispatchSemaphore(value: 0)
        let threads = Mutex<Set<UInt>>([])
        let testThread = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: pthread_self())))
        let worker = JobWorker(database: db.database, concurrency: 3, pollInterval: .seconds(3600), clock: ManualClock(t0).clock)
        worker.register(kind: "test") { _ in
            let now = running.add(1, ordering: .relaxed).newValue
            _ = most.max(now, ordering: .relaxed)
            threads.withLock { _ = $0.insert(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: pthread_self())))) }
            gate.wait()
            _ = running.subtract(1, ordering: .relaxed)
        }
        for i in 0..<7 { try db.enqueue(payload: "\(i)", at: t0) }
        worker.start()
        defer { worker.stop() }
        #expect(eventually(within: 5) { running.load(ordering: .relaxed) == 3 })
        usleep(200_000) // room for a fourth, if the bound did not hold
        #expect(running.load(ordering: .relaxed) == 3)
        for _ in 0..<7 { gate.signal() }
        #expect(eventually(within: 5) { (try? db.jobs().allSatisfy { $0.state == "done" }) == true })
        #expect(most.load(ordering: .relaxed) == 3)
        #expect(threads.withLock { $0 }.count == 3 && !threads.withLock { $0 }.contains(testThread))
    }

    @Test("Enqueueing follows the caller's transaction; notify wakes the threads; kinds without a handler are left alone")
    func enqueueAndNotify() throws {
        let db = try TestDatabase()
        let clock = ManualClock()
        let calls = Calls()
        let worker = JobWorker(database: db.database, pollInterval: .seconds(3600), clock: clock.clock)
        worker.register(kind: "test") { job in calls.record(job.payload) }

        #expect(throws: Boom.self) {
            try db.database.write { conn in
                try worker.enqueue("test", payload: "rolled back", on: conn)
                throw Boom()
            }
        }
        #expect(try db.jobs().isEmpty)

        let other = try db.enqueue("someone.else", payload: "z", at: clock.now)
        worker.start()
        defer { worker.stop() }
        usleep(200_000) // the first round (nothing of ours due) has passed: only a nudge can help now
        let later = try db.database.write { try worker.enqueue("test", payload: "later", runAt: clock.now + 60, on: $0) }
        let id = try db.database.write { try worker.enqueue("test", payload: "now", on: $0) }
        #expect(eventually(within: 5) { (try? db.job(id).state) == "done" })
        #expect(try db.job(later).state == "queued")
        #expect(try db.job(other).state == "queued" && db.job(other).attempts == 0)
        #expect(calls.all == ["now"])
    }

    @Test("The claim reads only unfinished jobs: finished ones kept in the table are not walked")
    func claimUsesThePartialIndexes() throws {
        let db = try TestDatabase()
        try db.database.write { conn in
            try conn.execute("""
                WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000)
                INSERT INTO jobs(kind, payload, state, attempts, run_at, created_at, finished_at)
                SELECT 'test', CAST(x AS TEXT), 'done', 1, x, x, x FROM n
                """)
            try conn.execute("ANALYZE")
        }
        let plan = try db.database.read { conn in
            try conn.query("EXPLAIN QUERY PLAN " + JobStore.claimSQL(kinds: 2), arguments: ["w", 1, "test", "other", 1, 1])
                .map { try $0.string("detail") }
        }
        #expect(plan.contains { $0.contains("USING INDEX jobs_due") }, "\(plan)")
        #expect(plan.contains { $0.contains("USING INDEX jobs_lease") }, "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN jobs") }, "\(plan)")
    }

    @Test("stop() lets the running job finish and records it; start() again resumes")
    func gracefulStop() throws {
        let db = try TestDatabase()
        let clock = ManualClock()
        let capture = LogCapture()
        let started = DispatchSemaphore(value: 0)
        let worker = JobWorker(database: db.database, pollInterval: .seconds(3600), clock: clock.clock, logger: capture.logger)
        worker.register(kind: "test") { job in
            if job.payload == "slow" {
                started.signal()
                usleep(300_000)
            }
        }
        let slow = try db.enqueue(payload: "slow", at: clock.now)
        worker.start()
        worker.start() // idempotent
        #expect(started.wait(timeout: .now() + 5) == .success)
        #expect(worker.stop(timeout: .seconds(10)))
        #expect(try db.job(slow).state == "done")
        #expect(worker.stop())
        #expect(capture.lines.contains { $0.message == "job worker started" })
        #expect(capture.lines.contains { $0.message == "job worker stopped" })

        let next = try db.enqueue(payload: "next", at: clock.now)
        usleep(200_000)
        #expect(try db.job(next).state == "queued")
        worker.start()
        defer { worker.stop() }
        #expect(eventually(within: 5) { (try? db.job(next).state) == "done" })
    }
}
