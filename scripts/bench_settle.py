"""Waits for a freshly started server's start-up jobs to finish before a bench measures it.

A server started on a seeded database runs the reports' daily sweep at once: the checksum of
every closed month (a million rows read, several files hashed). That is a one-off, at nice 10,
but on the one pinned core it still takes a share; steady-state figures are measured after it,
and its own time is printed.
"""
import sqlite3, time

PENDING = "SELECT count(*) FROM jobs WHERE kind = 'reports.checksum' AND state IN ('queued', 'running')"


def wait_for_checksums(db_path, timeout=600.0):
    """Seconds the sweep's checksum jobs took to finish (None when none was pending)."""
    start = time.monotonic()
    seen = False
    while time.monotonic() - start < timeout:
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as c:
                pending = c.execute(PENDING).fetchone()[0]
        except sqlite3.Error:
            pending = 1
        if pending == 0:
            return time.monotonic() - start if seen else None
        seen = True
        time.sleep(0.5)
    raise TimeoutError(f"report checksums still pending after {timeout:.0f} s")
