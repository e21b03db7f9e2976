"""The real counterparts the browser journeys talk to, and a small vocabulary for reading
and using pages the way a person does.

- ``Mailbox``: an aiosmtpd SMTP server on the loopback that keeps every message it receives.
- ``PortalServer``: the `portal serve` binary with a temporary database, started and stopped.
- ``Authenticator``: a TOTP app (pyotp) that never hands out a code for a step already used.
- ``Browser``: headless Chromium through chromedriver, with helpers that find fields by their
  label, buttons and links by their text, and wait for the next page after a form is sent.
- ``Suite``: one line per check, artifacts on failure, the closing ``N passed, M failed``.

Every wait here has a timeout.
"""

from __future__ import annotations

import ctypes
import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyotp
from aiosmtpd.controller import Controller
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1, what: str = "condition"):
    """Polls `predicate` until it returns something truthy; raises TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Mail


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def text(self) -> str:
        """The text/plain part, decoded."""
        part = self.message.get_body(preferencelist=("plain",))
        if part is None:
            raise AssertionError(f"mail {self.subject!r} has no text/plain part")
        return part.get_content()

    def links(self) -> list[str]:
        """Absolute http(s) links in the text part, in order."""
        return re.findall(r"https?://[^\s<>\"')\]]+", self.text())


class _StoringHandler:
    def __init__(self, box: "Mailbox"):
        self.box = box

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.box._add(Mail(sender=envelope.mail_from, recipients=list(envelope.rcpt_tos), message=msg))
        return "250 Message accepted for delivery"


class Mailbox:
    """An SMTP server on 127.0.0.1 that stores every message, parsed, in a thread-safe list."""

    def __init__(self):
        self._cond = threading.Condition()
        self._mails: list[Mail] = []
        self.port = free_port()
        self._controller = Controller(_StoringHandler(self), hostname="127.0.0.1", port=self.port,
                                      ready_timeout=10)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self._controller.start()

    def stop(self):
        try:
            self._controller.stop()
        except Exception:  # already stopped, or never started
            pass

    def _add(self, mail: Mail):
        with self._cond:
            self._mails.append(mail)
            self._cond.notify_all()

    def all(self) -> list[Mail]:
        with self._cond:
            return list(self._mails)

    def count(self) -> int:
        with self._cond:
            return len(self._mails)

    def wait_for(self, to: str, subject: str, after: int = 0, timeout: float = 20) -> Mail:
        """The first mail, among those received after the first `after`, addressed to `to`
        whose subject contains `subject`. Raises TimeoutError if none arrives in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self._mails[after:]:
                    if any(r.lower() == to.lower() for r in m.recipients) and subject.lower() in m.subject.lower():
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.recipients, m.subject) for m in self._mails[after:]]
                    raise TimeoutError(f"no mail to {to} about {subject!r} within {timeout:g} s (received: {seen})")
                self._cond.wait(left)


# ---------------------------------------------------------------------------------------------
# The portal


def _die_with_parent():
    """In the child before exec: get SIGTERM if the test runner dies, so no server is left behind."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class PortalServer:
    def __init__(self, binary: Path, repo: Path, workdir: Path, smtp_url: str):
        self.binary = binary
        self.repo = repo
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "portal.log"
        self.db_path = workdir / "p.sqlite"
        self.smtp_url = smtp_url
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 30):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--port", str(self.port), "--db", str(self.db_path),
             "--base-url", self.base_url, "--smtp-url", self.smtp_url, "--scrypt-log-n", "12",
             "--drain-timeout", "5", "--webhooks-allow-private-networks"],
            cwd=self.repo, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)

        def healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"portal exited with status {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as r:
                    return r.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                return False

        wait_until(healthy, timeout, interval=0.1, what=f"{self.base_url}/healthz to answer 200")

    def stop(self, timeout: float = 15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------------
# TOTP


class Authenticator:
    """Stands in for a person's authenticator app. Codes are single-use on the server (each
    accepted code moves the account's last step on), so a code is never given for a step at or
    before the last one used: we wait for the next 30-second step instead."""

    def __init__(self, secret: str):
        self.totp = pyotp.TOTP(secret)
        self.last_step: int | None = None

    @staticmethod
    def step_now() -> int:
        return int(time.time() // 30)

    def fresh_code(self, max_wait: float = 35) -> tuple[str, int]:
        """A code for the current step, waiting (at most `max_wait` s) for a step after the last used."""
        step = self.step_now()
        if self.last_step is not None and step <= self.last_step:
            wait = (self.last_step + 1) * 30 - time.time() + 0.2
            if wait > max_wait:
                raise TimeoutError(f"would have to wait {wait:.0f} s for a fresh TOTP step")
            print(f"       (waiting {wait:.1f} s for the next TOTP step: the last code is single-use)", flush=True)
            time.sleep(max(wait, 0))
            step = self.step_now()
        return self.totp.at(step * 30), step

    def used(self, step: int):
        self.last_step = step if self.last_step is None else max(self.last_step, step)


# ---------------------------------------------------------------------------------------------
# The browser


class Browser:
    """Headless Chromium. Page JavaScript is off unless `javascript=True`: every journey has to
    work by following links and submitting forms."""

    def __init__(self, base_url: str, download_dir: Path, javascript: bool = False):
        self.base_url = base_url
        self.download_dir = download_dir
        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--disable-background-networking", "--disable-sync", "--disable-component-update",
                    "--password-store=basic", "--lang=en-US"):
            options.add_argument(arg)
        prefs = {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "credentials_enable_service": False,
            "profile.password_manager_enabled": False,
        }
        if not javascript:
            prefs["profile.managed_default_content_settings.javascript"] = 2
        options.add_experimental_option("prefs", prefs)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(20)
        self.driver.set_script_timeout(10)
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": str(download_dir)})

    def quit(self):
        try:
            self.driver.quit()
        except Exception:
            pass

    # -- navigation

    def open(self, path_or_url: str):
        url = path_or_url if path_or_url.startswith("http") else self.base_url + path_or_url
        self._drain_log()
        self.driver.get(url)

    @property
    def path(self) -> str:
        url = self.driver.current_url
        rest = url[len(self.base_url):] if url.startswith(self.base_url) else url
        return rest.split("#")[0]

    def _drain_log(self):
        try:
            self.driver.get_log("performance")
        except WebDriverException:
            pass

    def last_document_status(self) -> int | None:
        """HTTP status of the last document the browser loaded (from its network log)."""
        status = None
        for entry in self.driver.get_log("performance"):
            try:
                m = json.loads(entry["message"])["message"]
            except (KeyError, ValueError):
                continue
            if m.get("method") == "Network.responseReceived" and m["params"].get("type") == "Document":
                status = m["params"]["response"]["status"]
        return status

    def _mark_page(self):
        """Tags the current document, so the next one can be told apart from it."""
        self.driver.execute_script("window.__portalBrowserTestOldPage = true")

    def _wait_for_new_page(self, timeout: float = 20):
        """Waits until the tagged document is replaced by a fully loaded new one. Errors while
        the browser is between documents just mean "not yet"."""
        def loaded(d):
            try:
                return d.execute_script(
                    "return !window.__portalBrowserTestOldPage && document.readyState === 'complete'")
            except WebDriverException:
                return False
        WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(loaded)

    # -- reading the page

    def h1(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "h1").text.strip()

    def title(self) -> str:
        return self.driver.title

    def main_text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "main").text

    def flashes(self) -> list[str]:
        return [e.text.strip() for e in self.driver.find_elements(By.CSS_SELECTOR, "main .flash")]

    def text_of(self, css: str) -> str:
        return self.driver.find_element(By.CSS_SELECTOR, css).text.strip()

    def all_text(self, css: str) -> list[str]:
        return [e.text.strip() for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def field(self, label: str) -> WebElement:
        """The form control whose <label> reads `label` (through the label's `for`)."""
        for lab in self.driver.find_elements(By.TAG_NAME, "label"):
            if " ".join(lab.text.split()) == label:
                target = lab.get_attribute("for")
                if target:
                    return self.driver.find_element(By.ID, target)
                return lab.find_element(By.CSS_SELECTOR, "input, select, textarea")
        raise AssertionError(f"no field labelled {label!r} on {self.path} (labels: "
                             f"{[l.text for l in self.driver.find_elements(By.TAG_NAME, 'label')]})")

    def fill(self, label: str, value: str):
        el = self.field(label)
        el.clear()
        el.send_keys(value)

    def button(self, text: str, within: str | None = None) -> WebElement:
        scope = self.driver.find_element(By.CSS_SELECTOR, within) if within else self.driver
        for b in scope.find_elements(By.CSS_SELECTOR, "button, input[type=submit]"):
            label = b.text if b.tag_name == "button" else (b.get_attribute("value") or "")
            if " ".join(label.split()) == text:
                return b
        raise AssertionError(f"no button {text!r} on {self.path}" + (f" within {within}" if within else ""))

    def link(self, text: str, within: str | None = None) -> WebElement:
        scope = self.driver.find_element(By.CSS_SELECTOR, within) if within else self.driver
        for a in scope.find_elements(By.TAG_NAME, "a"):
            if " ".join(a.text.split()) == text:
                return a
        raise AssertionError(f"no link {text!r} on {self.path}")

    # -- acting

    def press(self, text: str, within: str | None = None):
        """Clicks the button reading `text`, which submits its form, and waits for the next page."""
        b = self.button(text, within)
        self._mark_page()
        self._drain_log()
        b.click()
        self._wait_for_new_page()

    def follow(self, text: str, within: str | None = None):
        """Clicks the link reading `text` and waits for the next page."""
        a = self.link(text, within)
        self._mark_page()
        self._drain_log()
        a.click()
        self._wait_for_new_page()

    def cookie_header(self) -> str:
        return "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())

    def fetch(self, url: str, timeout: float = 10):
        """GETs `url` outside the browser with the browser's cookies; returns (status, headers, body)."""
        req = urllib.request.Request(url, headers={"Cookie": self.cookie_header(),
                                                   "User-Agent": self.driver.execute_script("return navigator.userAgent")})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def save_artifacts(self, directory: Path, stem: str) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        saved = []
        try:
            p = directory / f"{stem}.png"
            self.driver.save_screenshot(str(p))
            saved.append(p)
        except Exception:
            pass
        try:
            p = directory / f"{stem}.html"
            p.write_text(f"<!-- {self.driver.current_url} -->\n" + self.driver.page_source)
            saved.append(p)
        except Exception:
            pass
        return saved


# ---------------------------------------------------------------------------------------------
# Results


class JourneyAborted(Exception):
    """A check failed; the rest of that journey depends on it and is skipped."""


class Suite:
    def __init__(self, artifacts: Path):
        self.artifacts = artifacts
        self.passed = 0
        self.failed = 0
        self.browser: Browser | None = None
        self._n = 0

    def check(self, name: str, fn: Callable[[], object] | None = None, abort: bool = True):
        """Runs `fn` (an exception or AssertionError is a failure) and prints one line."""
        self._n += 1
        try:
            if fn is not None:
                fn()
        except Exception as e:  # noqa: BLE001: every error is a failed check
            self.failed += 1
            text = (e.msg or "") if isinstance(e, WebDriverException) else str(e)
            lines = text.strip().splitlines() or [type(e).__name__]
            print(f"FAIL  {name}: {lines[0]}", flush=True)
            for line in lines[1:20]:
                print(f"        {line}", flush=True)
            if not isinstance(e, AssertionError):
                # Not a page that differs from what a person expects, but an error: say where.
                for line in traceback.format_exception(e)[-6:-1]:
                    for l in line.rstrip().splitlines():
                        print(f"        {l}", flush=True)
            if self.browser is not None:
                stem = f"{self._n:02d}-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
                for p in self.browser.save_artifacts(self.artifacts, stem):
                    print(f"        saved {p}", flush=True)
            if abort:
                raise JourneyAborted(name) from e
            return False
        self.passed += 1
        print(f"ok    {name}", flush=True)
        return True

    def fail(self, name: str, why: str):
        self.failed += 1
        print(f"FAIL  {name}: {why}", flush=True)

    def run_journey(self, title: str, fn: Callable[[], None]):
        print(f"--- {title}", flush=True)
        started = time.monotonic()
        try:
            fn()
        except JourneyAborted as e:
            print(f"      journey stopped after the failed check: {e}", flush=True)
        except Exception as e:  # noqa: BLE001: a bug in the journey itself
            self.fail(f"{title}: unexpected error", f"{type(e).__name__}: {e}")
        print(f"      ({time.monotonic() - started:.1f} s)", flush=True)


def expect(cond: bool, message: str):
    if not cond:
        raise AssertionError(message)
