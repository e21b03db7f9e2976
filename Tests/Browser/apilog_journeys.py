"""The API request log journey, page JavaScript off: the Developer calls the API with a new
Sandbox key, once well and once with a bad body holding a card number; a moment later both
calls are on the environment's "API requests" page (the log is written by a background
flush, never by the request), the status filter keeps the failure alone, and its detail shows
the body the API received with the card number masked."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from harness import Suite, expect
from org_journeys import OrgJourneys
from selenium.webdriver.support.ui import Select


def call(base_url: str, method: str, path: str, secret: str, body: dict | None = None) -> tuple[int, str]:
    """(status, Request-Id) of one API call with the key as a Bearer token."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base_url + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + secret, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Request-Id", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Request-Id", "")


class APILogJourneys:
    def __init__(self, suite: Suite, org: OrgJourneys, base_url: str):
        self.s = suite
        self.org = org
        self.dev = org.member  # Linus's browser: a Developer (logs.read)
        self.base_url = base_url

    def developer_reads_the_request_log(self):
        s, j = self.s, self.dev
        b = j.b
        logs = self.org.org_path + "/sandbox/logs/api"
        got = {}

        def calls():
            b.open(self.org.org_path + "/sandbox/api-keys/new")
            b.fill("Name", "Linus's log test")
            b.press("Create API key")
            got["secret"] = b.text_of("#secret")
            status, _ = call(self.base_url, "GET", "/v1/balances", got["secret"])
            expect(status == 200, f"GET /v1/balances answered {status}")
            status, rid = call(self.base_url, "POST", "/v1/transactions", got["secret"],
                               {"type": "payin", "amount": "ten", "currency": "EUR", "card": "4242 4242 4242 4242"})
            expect(400 <= status < 500 and rid, f"the bad POST answered {status} with request id {rid!r}")
            got["failed"] = rid
        s.check("Linus: calls the API with a new key, once well and once with a bad body holding a card number", calls)

        def listed():
            b.open(self.org.org_path + "/sandbox")
            b.follow("API requests", within=".org-nav")
            j.expect_page(logs)
            deadline = time.monotonic() + 10
            while "POST /v1/transactions" not in b.main_text() and time.monotonic() < deadline:
                time.sleep(0.5)
                b.open(logs)
            text = b.main_text()
            expect("POST /v1/transactions" in text and "GET /v1/balances" in text, f"the page lists: {text[:600]!r}")
            expect("Linus's log test" in text, "the rows do not name the key")
            expect(got["secret"] not in b.driver.page_source, "the page shows the key's secret")
        s.check("Linus: a moment later both calls are on the API requests page, newest first", listed)

        def failure():
            Select(b.field("Status")).select_by_value("4xx")
            b.press("Show requests")
            text = b.main_text()
            expect("POST /v1/transactions" in text and "GET /v1/balances" not in text, f"the 4xx filter shows: {text[:600]!r}")
            b.follow("POST /v1/transactions")
            j.expect_page(logs + "/" + got["failed"])
            text = b.main_text()
            expect("************4242" in text, "the detail does not show the request body with the card masked")
            expect("4242 4242 4242 4242" not in b.driver.page_source, "the card number is on the page")
            expect(got["failed"] in text, "the detail does not show the request id the caller got")
        s.check("Linus: filters the failures and opens one: the body it sent, the card number masked", failure)
