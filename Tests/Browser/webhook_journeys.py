"""The webhook journey, page JavaScript off: the Developer adds a Sandbox endpoint (a receiver
on loopback: Tests/Support/webhook_receiver.py, which verifies signatures with the reference
`standardwebhooks` package), sends a test event and sees it succeed in the log, makes a
transaction fail through the API (amount ending in 13) and sees `transaction.failed` arrive and
the log show it, breaks the receiver and sees a retry scheduled, mends it and replays."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from apilog_journeys import call
from harness import Suite, expect, wait_until
from org_journeys import OrgJourneys

RECEIVER = Path(__file__).resolve().parents[1] / "Support" / "webhook_receiver.py"


class Receiver:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(RECEIVER), "--exit-with-stdin"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline().split()[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def configure(self, path: str, **conf):
        req = urllib.request.Request(self.url("/_control" + path), data=json.dumps(conf).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()

    def requests(self, path: str) -> list[dict]:
        with urllib.request.urlopen(self.url("/_requests" + path), timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=5)


class WebhookJourneys:
    def __init__(self, suite: Suite, org: OrgJourneys, base_url: str):
        self.s = suite
        self.org = org
        self.dev = org.member  # Linus: a Developer (webhooks.read and .write)
        self.base_url = base_url

    def developer_adds_tests_and_replays(self):
        s, j = self.s, self.dev
        b = j.b
        hooks = self.org.org_path + "/sandbox/webhooks"
        r = Receiver()
        got = {}
        try:
            def add():
                b.open(self.org.org_path + "/sandbox")
                b.follow("Webhooks", within=".org-nav")
                j.expect_page(hooks)
                b.follow("Add endpoint")
                b.fill("Endpoint URL", r.url("/linus"))
                b.press("Add endpoint")
                expect(b.path.startswith(hooks + "/we_"), f"after adding, the page is {b.path}")
                got["endpoint"] = b.path
            s.check("Linus: adds a Sandbox endpoint on a receiver on loopback", add)

            def test_event():
                b.open(got["endpoint"])
                b.press("Send test event")
                expect("/deliveries/whd_" in b.path, f"the test button led to {b.path}")
                wait_until(lambda: (b.open(b.path), "HTTP 200" in b.main_text())[1], 20, interval=0.5, what="the test delivery's result")
                expect("Succeeded" in b.main_text(), "the delivery page does not say Succeeded")
                sent = r.requests("/linus")
                expect(len(sent) == 1 and json.loads(sent[0]["body"])["type"] == "webhook.test", f"the receiver got {len(sent)} requests")
                b.open(got["endpoint"])
                expect("webhook.test" in b.main_text() and "Succeeded" in b.main_text(), "the log does not show the test event succeeded")
            s.check("Linus: sends a test event; it arrives and the log shows it succeeded", test_event)

            def failed_transaction():
                b.open(self.org.org_path + "/sandbox/api-keys/new")
                b.fill("Name", "Linus's webhook test")
                b.press("Create API key")
                secret = b.text_of("#secret")
                status, _ = call(self.base_url, "POST", "/v1/transactions", secret, {"type": "payin", "amount": 10013, "currency": "EUR"})
                expect(status in (200, 201), f"POST /v1/transactions answered {status}")

                def arrived():
                    return [q for q in r.requests("/linus") if json.loads(q["body"])["type"] == "transaction.failed"]
                wait_until(arrived, 30, interval=0.5, what="transaction.failed at the receiver")
                evt = json.loads(arrived()[0]["body"])
                expect(evt["data"]["object"]["status"] == "failed", f"the event's object is {evt['data']['object']}")
                b.open(got["endpoint"] + "?type=transaction.failed")
                expect("transaction.failed" in b.main_text() and "Succeeded" in b.main_text(), "the log does not show transaction.failed delivered")
            s.check("Linus: a transaction made to fail through the API arrives as transaction.failed; the log shows it", failed_transaction)

            def broken():
                r.configure("/linus", status=500)
                b.open(got["endpoint"])
                b.press("Send test event")
                got["delivery"] = b.path
                wait_until(lambda: (b.open(got["delivery"]), "HTTP 500" in b.main_text())[1], 20, interval=0.5, what="the failed attempt")
                expect("Next attempt" in b.main_text(), "no retry is scheduled on the delivery page")
                b.open(got["endpoint"])
                expect("Retrying" in b.main_text() and "next attempt" in b.main_text(), "the log does not show the retry scheduled")
            s.check("Linus: breaks the receiver; the log shows the failure and the retry scheduled", broken)

            def replay():
                r.configure("/linus", status=200)
                b.open(got["delivery"])
                b.press("Replay this event")
                expect("/deliveries/whd_" in b.path and b.path != got["delivery"], f"the replay led to {b.path}")
                wait_until(lambda: (b.open(b.path), "HTTP 200" in b.main_text())[1], 20, interval=0.5, what="the replay's result")
                ids = [dict((k.lower(), v) for k, v in q["headers"])["webhook-id"] for q in r.requests("/linus")[-3:]]
                expect(ids[-1] == ids[-2], f"the replay carried another webhook-id: {ids}")
            s.check("Linus: mends it and replays the event; it arrives with the same webhook-id", replay)
        finally:
            r.stop()
