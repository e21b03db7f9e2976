import Database
import Foundation
import Jobs
import Testing
import TestSupport
@testable import Portal

/// Stopping the portal: the job worker stops (waiting, bounded, for the jobs it runs)
/// before the database closes, so no job ever finds the database closed under it.
@Suite("Shutdown: jobs stop before the database closes")
struct ShutdownTests {
    /// A job whose handler blocks until the test lets it go, and says when it started.
    final class SlowJob: @unchecked Sendable {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
    }

    static func startSlowJob(_ portal: TestPortal, after: @escaping @Sendable () throws -> Void = {}) throws -> SlowJob {
        let slow = SlowJob()
        portal.app.jobs.register(kind: "test.slow", retry: .default, lease: .seconds(600)) { _ in
            slow.started.signal()
            slow.release.wait()
            try after()
        }
        try portal.app.database.write { _ = try portal.app.jobs.enqueue("test.slow", payload: "x", on: $0) }
        #expect(slow.started.wait(timeout: .now() + 10) == .success, "the job never started")
        return slow
    }

    /// Stops the app on another thread; the semaphore is signalled once it has stopped.
    static func stopInBackground(_ portal: TestPortal) -> DispatchSemaphore {
        let stopped = DispatchSemaphore(value: 0)
        Thread {
            portal.app.shutdown()
            portal.app.waitUntilStopped()
            stopped.signal()
        }.start()
        return stopped
    }

    static func jobRow(_ portal: TestPortal) throws -> (state: String, attempts: Int) {
        // The app's database is closed: look with a connection of our own.
        let db = try Database(path: portal.app.config.databasePath, readers: 1)
        defer { db.close() }
        return try db.read { conn in
            guard let row = try conn.query("SELECT state, attempts FROM jobs WHERE kind = 'test.slow'").first else { throw TestFailure("no job row") }
            return (try row.string(0), try row.int(1))
        }
    }

    @Test func aJobRunningAtShutdownFinishesAndIsRecordedBeforeTheDatabaseCloses() throws {
        let capture = LogCapture()
        let portal = try TestPortal(logger: capture.logger)
        let slow = try Self.startSlowJob(portal) { [app = portal.app] in
            // Work a real job does after its wait: a write of its own.
            try app.database.write { conn -> Void in _ = try conn.execute("SELECT 1") }
        }
        let stopped = Self.stopInBackground(portal)
        // Shutdown waits for the job: it has not stopped while the job runs.
        #expect(stopped.wait(timeout: .now() + 0.3) == .timedOut)
        slow.release.signal()
        #expect(stopped.wait(timeout: .now() + 10) == .success)
        #expect(try Self.jobRow(portal).state == "done")
        #expect(!capture.lines.contains { $0.level >= .error }, "\(capture.lines.filter { $0.level >= .error }.map(\.rendered))")
    }

    /// A job that outlives the bound is abandoned: the database closes, and neither the
    /// worker nor the job's end touches it afterwards or logs an error; the job keeps its
    /// lease and runs again after it, as after a crash.
    @Test func aJobOutlivingTheShutdownBoundIsAbandonedWithoutTouchingTheClosedDatabase() throws {
        let capture = LogCapture()
        let portal = try TestPortal(logger: capture.logger) { $0.jobStopTimeout = 0.2 }
        let slow = try Self.startSlowJob(portal)
        let stopped = Self.stopInBackground(portal)
        #expect(stopped.wait(timeout: .now() + 10) == .success, "shutdown waited beyond its bound")
        slow.release.signal()
        #expect(eventually { capture.all.contains("abandoned") })
        #expect(!capture.lines.contains { $0.level >= .error }, "\(capture.lines.filter { $0.level >= .error }.map(\.rendered))")
        let row = try Self.jobRow(portal)
        #expect(row.state == "running" && row.attempts == 1)
    }
}
