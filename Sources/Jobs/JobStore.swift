import Database

/// The SQL of the `jobs` table (see `Migrations/0010_jobs.sql`), and nothing else. Times are
/// integer Unix seconds passed in by the caller. Every function runs on the connection it is
/// given, so the caller decides the transaction.
///
/// Written for SQLite and PostgreSQL alike: `RETURNING` instead of the last rowid, the claim
/// as one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`. SQLite has one writer, so the
/// claim's select and update cannot interleave with another claim; on PostgreSQL the inner
/// select needs `FOR UPDATE SKIP LOCKED` so that two instances skip each other's row instead
/// of waiting for it (the only line that differs).
enum JobStore {
    static func insert(kind: String, payload: String, runAt: Int64, now: Int64, on conn: Connection) throws -> Int64 {
        guard let id = try conn.scalar("""
            INSERT INTO jobs(kind, payload, state, attempts, run_at, created_at)
            VALUES (?, ?, 'queued', 0, ?, ?)
            RETURNING id
            """, kind, payload, runAt, now, as: Int64.self)
        else { throw DatabaseError(code: 21 /* SQLITE_MISUSE */, message: "INSERT … RETURNING id returned no row") }
        return id
    }

    /// Inserts a queued job unless one of the same kind and payload is already queued; the id,
    /// or nil when there was one. One statement, so two processes cannot both insert it.
    static func insertUnlessQueued(kind: String, payload: String, runAt: Int64, now: Int64, on conn: Connection) throws -> Int64? {
        try conn.scalar("""
            INSERT INTO jobs(kind, payload, state, attempts, run_at, created_at)
            SELECT ?1, ?2, 'queued', 0, ?3, ?4
            WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND kind = ?1 AND payload = ?2)
            RETURNING id
            """, kind, payload, runAt, now, as: Int64.self)
    }

    /// Takes the oldest due job of one of `kinds`, for `lease` seconds: a queued job whose
    /// time has come, or a running one whose worker's lease has passed (the worker died or
    /// hung). Its attempt count goes up by one; the count doubles as the claim's token, so a
    /// late record from a previous holder is ignored (see ``reschedule``). Run it inside a
    /// write transaction.
    static func claim(kinds: [String], owner: String, now: Int64, lease: (String) -> Int64, on conn: Connection) throws -> Job? {
        guard !kinds.isEmpty else { return nil }
        // Each kind has its own lease; the row's kind is only known once chosen, so the
        // lease is set by a second, keyed update (still the same transaction).
        guard let row = try conn.queryOne(claimSQL(kinds: kinds.count), arguments: [owner, now] + kinds + [now, now])
        else { return nil }
        let job = Job(id: try row.int64("id"), kind: try row.string("kind"), payload: try row.string("payload"),
                      attempt: try row.int("attempts"), createdAt: try row.int64("created_at"))
        try conn.execute("UPDATE jobs SET lease_expires_at = ? WHERE id = ?", now + lease(job.kind), job.id)
        return job
    }

    /// The claim, for `kinds` kinds. Arguments: owner, now, the kinds, now, now. The due jobs
    /// are found through the two partial indexes of unfinished jobs (`jobs_due`, `jobs_lease`),
    /// so finished jobs kept in the table cost the claim nothing.
    static func claimSQL(kinds: Int) -> String {
        let marks = Array(repeating: "?", count: kinds).joined(separator: ", ")
        return """
            UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?
            WHERE id = (
                SELECT id FROM jobs
                WHERE kind IN (\(marks))
                  AND ((state = 'queued' AND run_at <= ?) OR (state = 'running' AND lease_expires_at <= ?))
                ORDER BY run_at, id
                LIMIT 1)
            RETURNING id, kind, payload, attempts, created_at
            """
    }

    /// Records success. A success always counts, even if the lease had passed and another
    /// worker holds the job now: that one's own record is then ignored.
    static func markDone(id: Int64, at time: Int64, on conn: Connection) throws {
        try conn.execute("""
            UPDATE jobs SET state = 'done', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ? AND state IN ('queued', 'running')
            """, time, id)
    }

    /// Records a temporary failure and when to try again. Ignored unless the claim
    /// (`attempts`) is still the current one.
    static func reschedule(id: Int64, attempts: Int, runAt: Int64, error: String, on conn: Connection) throws {
        try conn.execute("""
            UPDATE jobs SET state = 'queued', run_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ? AND attempts = ? AND state = 'running'
            """, runAt, error, id, attempts)
    }

    /// Gives up on a job; the row is kept with its last error. Ignored unless the claim
    /// (`attempts`) is still the current one.
    static func markFailed(id: Int64, attempts: Int, at time: Int64, error: String, on conn: Connection) throws {
        try conn.execute("""
            UPDATE jobs SET state = 'failed', finished_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ? AND attempts = ? AND state = 'running'
            """, time, error, id, attempts)
    }
}
