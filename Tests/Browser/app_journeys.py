"""The app journey, page JavaScript off: the Developer registers an app, reads its client id
and secret from the page (shown once, never on the app's page), verifies the secret right and
wrong, adds a loopback redirect URI (a localhost one is refused with the reason), subscribes to
Balances, sees the PSD2 products locked, and deletes the app by typing its name."""

from __future__ import annotations

from harness import Suite, expect
from org_journeys import OrgJourneys


class AppJourneys:
    def __init__(self, suite: Suite, org: OrgJourneys):
        self.s = suite
        self.org = org
        self.dev = org.member  # Linus's browser: a Developer

    def developer_registers_and_deletes_an_app(self):
        s, j = self.s, self.dev
        b = j.b
        apps = self.org.org_path + "/sandbox/apps"
        got = {}

        def register():
            b.open(self.org.org_path + "/sandbox")
            b.follow("Apps", within=".org-nav")
            j.expect_page(apps)
            b.follow("Register app")
            j.expect_page(apps + "/new")
            b.fill("Name", "Linus's checkout")
            b.press("Register app")
            expect(b.h1().endswith("Your new app"), f"the answer to the form is {b.h1()!r}")
            secret = b.text_of("#secret")
            client_id = b.text_of("#client_id")
            expect(secret.startswith("cs_") and client_id.startswith("client_"), f"the page shows {client_id!r} / {secret!r}")
            expect(b.driver.page_source.count(secret) == 1, "the secret is not on the page exactly once")
            expect("won't be able to see it again" in b.main_text(), "the page does not say the secret is shown once")
            got.update(secret=secret, client_id=client_id)
            b.follow("I have stored it — back to the app")
            got["app"] = b.path
            expect(client_id in b.main_text() and secret not in b.driver.page_source, "the app page shows the secret again")
        s.check("Linus: registers an app; its client id and secret are shown once", register)

        def verify():
            b.open(got["app"])
            b.fill("Verify client secret", got["secret"])
            b.press("Verify")
            expect("It matches" in b.main_text(), "the right secret did not match")
            expect(got["secret"] not in b.driver.page_source, "the pasted secret came back in the page")
            b.fill("Verify client secret", got["secret"][:-1] + ("A" if got["secret"][-1] != "A" else "B"))
            b.press("Verify")
            expect("It does not match" in b.main_text(), "a wrong secret matched")
        s.check("Linus: verifies the secret, right and wrong", verify)

        def redirect_uris():
            b.open(got["app"])
            b.fill("Add redirect URI", "http://localhost:8765/callback")
            b.press("Add")
            expect("instead of localhost" in b.main_text(), "localhost was not refused with its reason")
            b.fill("Add redirect URI", "http://127.0.0.1:8765/callback")
            b.press("Add")
            expect(any("Redirect URI http://127.0.0.1:8765/callback added." in f for f in b.flashes()), f"flashes: {b.flashes()}")
        s.check("Linus: adds a loopback redirect URI (localhost is refused)", redirect_uris)

        def subscribe():
            b.open(got["app"])
            expect("Locked" in b.main_text(), "the PSD2 products are not shown locked")
            b.press("Subscribe")  # Balances: the first product offered
            expect(any("subscribed to Balances" in f for f in b.flashes()), f"flashes: {b.flashes()}")
            expect("balances:read" in b.main_text(), "the app's scopes do not show balances:read")
        s.check("Linus: subscribes to Balances; the PSD2 products stay locked", subscribe)

        def delete():
            b.open(got["app"])
            b.fill("Type the app's name, “Linus's checkout”, to confirm", "linus's checkout")
            b.press("Delete app")
            expect("exactly" in b.main_text(), "a wrongly typed name deleted the app")
            b.fill("Type the app's name, “Linus's checkout”, to confirm", "Linus's checkout")
            b.press("Delete app")
            j.expect_page(apps)
            expect("Linus's checkout" not in b.main_text() or "is deleted" in " ".join(b.flashes()), "the app is still listed")
        s.check("Linus: deletes the app by typing its name", delete)
