#!/usr/bin/env python3
"""Portal's browser tests: whole identity journeys in headless Chromium against the real
`portal serve`, with mail delivered over SMTP to a loopback aiosmtpd server and TOTP codes
from pyotp.

    python3 Tests/Browser/run.py         # from anywhere; `make test` runs it after `swift test`

Environment: SWIFT (default `swift`), CHROMIUM (/usr/bin/chromium), CHROMEDRIVER
(/usr/bin/chromedriver), BROWSER_JS=1 to leave page JavaScript on (it is off by default:
every journey must work with links and forms alone).

Prints one line per check and ends with `N passed, M failed`; exits 1 if anything failed.
On a failure the page's screenshot and source, and the portal's log, are saved under
Tests/Browser/artifacts/.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = HERE / "artifacts"
sys.path.insert(0, str(HERE))

# The whole run (not counting the build) must finish within this many seconds.
OVERALL_TIMEOUT = int(os.environ.get("BROWSER_TIMEOUT", "240"))


class SuiteTimeout(BaseException):  # not an Exception: no check may swallow it
    pass


def closing_line(passed: int, failed: int, skipped: int = 0) -> str:
    return f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")


def setup_failure(what: str, detail: str = "") -> int:
    print(f"FAIL  setup: {what}" + (f": {detail}" if detail else ""), flush=True)
    print(closing_line(0, 1), flush=True)
    return 1


def build_portal() -> Path:
    swift = os.environ.get("SWIFT", "swift")
    print(f"building: {swift} build --product portal", flush=True)
    subprocess.run([swift, "build", "--product", "portal"], cwd=REPO, check=True, timeout=1800,
                   stdin=subprocess.DEVNULL)
    out = subprocess.run([swift, "build", "--show-bin-path"], cwd=REPO, check=True, timeout=300,
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    binary = Path(out.stdout.strip().splitlines()[-1]) / "portal"
    if not binary.is_file():
        raise FileNotFoundError(f"{binary} was not built")
    return binary


def main() -> int:
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to download a driver
    try:
        from harness import Browser, JourneyAborted, Mailbox, PortalServer, Suite  # noqa: F401
        from journeys import Journeys, Person
        from org_journeys import OrgJourneys
        from payout_journeys import PayoutJourneys
    except ImportError as e:
        return setup_failure("the Python packages are missing (make deps installs them)", str(e))

    for tool in (os.environ.get("CHROMIUM", "/usr/bin/chromium"), os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")):
        if not os.access(tool, os.X_OK):
            return setup_failure(f"{tool} is missing (make deps installs chromium and chromium-driver)")

    try:
        binary = build_portal()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError, OSError) as e:
        return setup_failure("swift build --product portal failed", str(e))

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    started = time.monotonic()

    def on_alarm(signum, frame):
        raise SuiteTimeout(f"the browser suite ran longer than {OVERALL_TIMEOUT} s")

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(OVERALL_TIMEOUT)

    suite = Suite(ARTIFACTS)
    workdir = Path(tempfile.mkdtemp(prefix="portal-browser-"))
    mailbox = server = browser = second = None
    skipped = 0
    try:
        mailbox = Mailbox()
        mailbox.start()
        server = PortalServer(binary, REPO, workdir, mailbox.url)
        server.start(timeout=30)
        print(f"portal at {server.base_url} (log {server.log_path}), SMTP at {mailbox.url}", flush=True)
        downloads = workdir / "downloads"
        downloads.mkdir()
        browser = Browser(server.base_url, downloads, javascript=os.environ.get("BROWSER_JS") == "1")
        suite.browser = browser
        j = Journeys(suite, browser, mailbox, server.base_url)

        tag = secrets.token_hex(3)
        ada = Person("Ada Lovelace", f"ada.{tag}@example.com", f"analytical-engine-{secrets.token_hex(4)}")
        grace = Person("Grace Hopper", f"grace.{tag}@example.com", f"compiler-nanosecond-{secrets.token_hex(4)}")

        # Both accounts are enrolled first, so the one wait for a fresh TOTP step (codes are
        # single-use) overlaps with other work instead of happening once per account.
        suite.run_journey("Sign up, confirm the e-mail address, set up TOTP, save recovery codes (Ada)",
                          lambda: j.sign_up_and_enrol(ada, full=True))
        suite.run_journey("Sign up and set up TOTP (Grace, for the forgotten-password journey)",
                          lambda: j.sign_up_and_enrol(grace, full=False))
        suite.run_journey("A form posted with a tampered CSRF token", lambda: j.tampered_csrf_anonymous(ada))

        def needs(p, title, fn):
            nonlocal skipped
            if p.authenticator is None or not p.recovery_codes:
                print(f"--- {title}\nskip  not run: {p.first}'s enrolment failed above", flush=True)
                skipped += 1
                return
            suite.run_journey(title, fn)

        needs(ada, "Log in again with a fresh TOTP code (Ada)", lambda: j.totp_login(ada))
        needs(ada, "Log in with a recovery code, which then stops working (Ada)", lambda: j.recovery_code_login(ada))
        needs(grace, "Forgotten password through the mail (Grace)",
              lambda: j.forgotten_password(grace, f"punched-card-{secrets.token_hex(4)}"))

        # The organization journey needs a second person at a second browser at the same time.
        second = Browser(server.base_url, downloads, javascript=os.environ.get("BROWSER_JS") == "1")
        linus = Person("Linus Torvalds", f"linus.{tag}@example.com", f"monolithic-kernel-{secrets.token_hex(4)}")
        org = OrgJourneys(suite, j, Journeys(suite, second, mailbox, server.base_url), mailbox)
        invitation = {}
        needs(ada, "An Owner creates an organization and invites a Developer (Ada)",
              lambda: invitation.update(link=org.owner_creates_and_invites(ada, linus)))
        if invitation.get("link"):
            suite.run_journey("The Developer signs up through the e-mailed link, enrols and joins (Linus)",
                              lambda: org.member_joins(linus, invitation["link"]))
        if linus.authenticator is not None:
            suite.run_journey("The Owner changes the Developer's permissions; his navigation follows (Ada, Linus)",
                              lambda: org.owner_changes_permissions(linus))
            payouts = PayoutJourneys(suite, org, mailbox, server.db_path, owner_person=ada)
            suite.run_journey("A Developer's navigation shows no payout actions (Ada, Linus)",
                              lambda: payouts.developer_sees_no_payouts(linus))
            from apikey_journeys import APIKeyJourneys
            suite.run_journey("A Developer creates a Sandbox key, calls the API, rolls it and revokes the old one (Linus)",
                              lambda: APIKeyJourneys(suite, org, server.base_url).developer_creates_rolls_and_revokes())
            from app_journeys import AppJourneys
            suite.run_journey("A Developer registers an app, verifies its secret, adds a redirect URI and deletes it (Linus)",
                              lambda: AppJourneys(suite, org).developer_registers_and_deletes_an_app())
            suite.run_journey("An Owner registers an app; a second member consents; the loopback receiver exchanges the code (Ada, Linus)",
                              lambda: AppJourneys(suite, org).owner_registers_and_a_member_consents(server.base_url))
            from apilog_journeys import APILogJourneys
            suite.run_journey("A Developer finds the API calls a key made, and a failure's masked body, in the request log (Linus)",
                              lambda: APILogJourneys(suite, org, server.base_url).developer_reads_the_request_log())
            from webhook_journeys import WebhookJourneys
            suite.run_journey("A Developer adds a Sandbox endpoint, sends a test event, sees transaction.failed arrive, a retry, a replay (Linus)",
                              lambda: WebhookJourneys(suite, org, server.base_url).developer_adds_tests_and_replays())
            needs(grace, "A Manager prepares a payout; the Owner authorizes it with TOTP; the balance falls (Grace, Ada)",
                  lambda: payouts.manager_prepares_and_owner_authorizes(grace))
            from dashboard_journeys import DashboardJourneys
            suite.run_journey("The dashboard shows the balances and finds a transaction by its external ID (Ada)",
                              lambda: DashboardJourneys(suite, org, server.db_path).search_by_external_id())
    except SuiteTimeout as e:
        suite.fail("suite", str(e))
        if browser:
            browser.save_artifacts(ARTIFACTS, "timeout")
    except KeyboardInterrupt as e:
        suite.fail("suite", f"interrupted ({e})")
    except Exception as e:  # noqa: BLE001: the servers or the browser did not start
        suite.fail("setup", f"{type(e).__name__}: {e}")
    finally:
        signal.alarm(0)
        if browser:
            browser.quit()
        if second:
            second.quit()
        if server:
            server.stop()
        if mailbox:
            mailbox.stop()
        if suite.failed and server and server.log_path.exists():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(server.log_path, ARTIFACTS / "portal.log")
            print(f"        saved {ARTIFACTS / 'portal.log'}", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"browser suite: {time.monotonic() - started:.1f} s", flush=True)
    print(closing_line(suite.passed, suite.failed, skipped), flush=True)
    return 0 if suite.failed == 0 and skipped == 0 and suite.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
