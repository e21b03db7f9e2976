"""The API key journey, page JavaScript off: the Developer creates a Sandbox key, reads its
secret from the page (shown once, never on the list), calls GET /v1/balances with it and sees
"last used" change on the list, rolls it with a
1-hour overlap (both secrets work), revokes the old one through the confirmation page (the
old one is refused at once, the new one still works)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

from harness import Suite, expect
from org_journeys import OrgJourneys
from selenium.webdriver.common.by import By


def call_api(base_url: str, secret: str, path: str = "/v1/balances") -> tuple[int, dict]:
    """GET `path` with the key as a Bearer token: (status, JSON body)."""
    req = urllib.request.Request(base_url + path, headers={"Authorization": "Bearer " + secret})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


class APIKeyJourneys:
    def __init__(self, suite: Suite, org: OrgJourneys, base_url: str):
        self.s = suite
        self.org = org
        self.dev = org.member  # Linus's browser: a Developer
        self.base_url = base_url

    def developer_creates_rolls_and_revokes(self):
        s, j = self.s, self.dev
        b = j.b
        keys = self.org.org_path + "/sandbox/api-keys"
        got = {}

        def create():
            b.open(self.org.org_path + "/sandbox")
            b.follow("API keys", within=".org-nav")
            j.expect_page(keys)
            b.follow("New API key")
            j.expect_page(keys + "/new")
            b.fill("Name", "Linus's build server")
            b.press("Create API key")
            expect(b.h1().endswith("Your new API key"), f"the answer to the form is {b.h1()!r}")
            secret = b.text_of("#secret")
            expect(secret.startswith("sk_sandbox_"), f"the page shows {secret!r} as the secret")
            expect(b.driver.page_source.count(secret) == 1, "the secret is not on the page exactly once")
            copy = b.driver.find_element(By.CSS_SELECTOR, "[data-copy='#secret']")
            expect(not copy.is_displayed() or os.environ.get("BROWSER_JS") == "1", "with JavaScript off the copy button (which could do nothing) shows")
            got["secret"] = secret
        s.check("Linus: creates a Sandbox key; its secret is shown once", create)

        def use():
            b.open(keys)
            expect("from 127.0.0.1" not in b.main_text(), "a key never used shows a last use")
            status, body = call_api(self.base_url, got["secret"])
            expect(status == 200 and body.get("object") == "list", f"GET /v1/balances answered {status} {body}")
            # "Last used" comes from the request log's flush (at least once a second).
            for _ in range(50):
                b.open(keys)
                if "from 127.0.0.1" in b.main_text():
                    break
                time.sleep(0.2)
            expect("from 127.0.0.1" in b.main_text(), "the list's last use did not change after the call")
            expect(got["secret"] not in b.driver.page_source, "the list shows the secret again")
            masked = got["secret"][:15] + "…" + got["secret"][-4:]
            expect(masked in b.main_text(), f"the list does not show the key as {masked}")
        s.check("Linus: calls /v1/balances with it; the list shows its last use and only its prefix and last 4", use)

        def roll():
            b.follow("Linus's build server")
            got["old_page"] = b.path
            b.driver.find_element(By.CSS_SELECTOR, "input[name=overlap][value='3600']").click()
            b.press("Roll key")
            expect(b.h1().endswith("Your rolled API key"), f"the roll answered {b.h1()!r}")
            new = b.text_of("#secret")
            expect(new.startswith("sk_sandbox_") and new != got["secret"], "the roll shows no new secret")
            expect("keeps working until" in b.main_text(), "the page does not say how long the old secret works")
            got["new"] = new
            for which in ("secret", "new"):
                status, _ = call_api(self.base_url, got[which])
                expect(status == 200, f"during the overlap the {which} key answered {status}")
        s.check("Linus: rolls it with a 1-hour overlap; both secrets work", roll)

        def revoke():
            b.open(got["old_page"])
            b.press("Revoke key…")
            expect(b.h1().startswith("Revoke the API key"), f"revoking asked nothing first: {b.h1()!r}")
            status, _ = call_api(self.base_url, got["secret"])
            expect(status == 200, "the key stopped before the revocation was confirmed")
            b.press("Yes, revoke it now")
            j.expect_page(got["old_page"] + "/revoked")
            expect("Tell support" in b.main_text(), "the page after revoking does not offer to tell support")
            status, body = call_api(self.base_url, got["secret"])
            expect(status == 401 and body.get("error", {}).get("code") == "invalid_credentials",
                   f"the revoked key answered {status} {body}")
            status, _ = call_api(self.base_url, got["new"])
            expect(status == 200, f"the rolled key answered {status} after the old one was revoked")
        s.check("Linus: revokes the old key after a confirmation; it is refused at once, the new one works", revoke)
