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

    def owner_registers_and_a_member_consents(self, base_url: str):
        """The issue's OAuth journey: the Owner registers an app, copies its secret, adds a
        loopback redirect URI and subscribes it to Balances; the second member runs the consent
        flow (authorization code with PKCE) in their own browser; the loopback receiver gets the
        code and `state`, exchanges the code for a token, and the token reads /v1/balances."""
        import base64, hashlib, http.server, json, secrets, threading, urllib.parse, urllib.request

        s, owner, member = self.s, self.org.owner.b, self.dev.b
        apps = self.org.org_path + "/sandbox/apps"
        got: dict = {}

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                url = urllib.parse.urlparse(self.path)
                if url.path == "/callback":  # not the browser's /favicon.ico that follows
                    got["callback"] = urllib.parse.parse_qs(url.query)
                body = b"<html><body><h1>Received</h1></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        receiver = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        redirect = f"http://127.0.0.1:{receiver.server_address[1]}/callback"

        def register():
            owner.open(apps + "/new")
            owner.fill("Name", "Ada's reporting")
            owner.press("Register app")
            got.update(secret=owner.text_of("#secret"), client_id=owner.text_of("#client_id"))
            owner.follow("I have stored it — back to the app")
            got["app"] = owner.path
            owner.fill("Add redirect URI", redirect)
            owner.press("Add")
            expect(any(redirect in f for f in owner.flashes()), f"flashes: {owner.flashes()}")
            owner.press("Subscribe")  # Balances: the first product offered
            expect("balances:read" in owner.main_text(), "the app's scopes do not show balances:read")
        s.check("Ada: registers an app, copies its secret, adds a loopback redirect URI, subscribes to Balances", register)

        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(12)

        def consent():
            query = urllib.parse.urlencode({"response_type": "code", "client_id": got["client_id"], "redirect_uri": redirect,
                                            "scope": "balances:read", "state": state, "code_challenge": challenge,
                                            "code_challenge_method": "S256"})
            member.open("/oauth/authorize?" + query)
            text = member.main_text()
            expect("Ada's reporting" in text and "balances:read" in text, f"the consent page does not name the app and its scope: {text[:300]!r}")
            owner_org = member.text_of("#app-organization")
            expect(owner_org == "Acme", f"the consent page names {owner_org!r} as the app's organization, not Acme")
            member.press("Approve")
            callback = got.get("callback") or {}
            expect(member.driver.current_url.startswith(redirect), f"the browser is at {member.driver.current_url}")
            expect(callback.get("state") == [state] and callback.get("code"), f"the receiver got {callback}")
        s.check("Linus: approves the app's request for balances:read; the loopback receiver gets the code and state", consent)

        def exchange():
            code = got["callback"]["code"][0]
            form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                                           "code_verifier": verifier}).encode()
            basic = base64.b64encode(f"{got['client_id']}:{got['secret']}".encode()).decode()
            req = urllib.request.Request(base_url + "/oauth/token", data=form, method="POST",
                                         headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
            with urllib.request.urlopen(req, timeout=10) as r:
                token = json.load(r)
            expect(token.get("token_type") == "Bearer" and token.get("refresh_token"), f"the token answer is {token}")
            api = urllib.request.Request(base_url + "/v1/balances", headers={"Authorization": "Bearer " + token["access_token"]})
            with urllib.request.urlopen(api, timeout=10) as r:
                balances = json.load(r)
            expect(balances.get("object") == "list", f"/v1/balances answered {balances}")
        s.check("The receiver exchanges the code (PKCE) for a token that reads /v1/balances", exchange)
        receiver.shutdown()

        def health():
            owner.open(got["app"])
            card = owner.text_of(f"#health-{got['client_id']}")
            expect("Never used" not in card and "from 127.0.0.1" in card, f"the credential's health does not show its last use: {card!r}")
            expect("Tokens issued, last 24 hours\n1" in card or "Tokens issued, last 24 hours 1" in card,
                   f"the credential's health does not count the token issued: {card!r}")
            expect("Unused for 90 days" not in card, "a credential just used is flagged unused")
        s.check("Ada: the app page shows the credential's last use (time, IP) and the token it was issued", health)
