"""The identity journeys, done as a person would: reading headings, messages and labels,
typing into labelled fields, pressing buttons by their text, and reading mail that arrived
over real SMTP. Page JavaScript is off, so everything goes through links and forms."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from harness import Authenticator, Browser, Mailbox, Suite, expect, wait_until
from selenium.webdriver.common.by import By

CODE_FORMAT = re.compile(r"^[A-Z0-9]{5}-[A-Z0-9]{5}$")


@dataclass
class Person:
    name: str
    email: str
    password: str
    authenticator: Authenticator | None = None
    recovery_codes: list[str] = field(default_factory=list)
    last_totp_code: str = ""

    @property
    def first(self) -> str:
        return self.name.split()[0]


class Journeys:
    def __init__(self, suite: Suite, browser: Browser, mailbox: Mailbox, base_url: str):
        self.s = suite
        self.b = browser
        self.mail = mailbox
        self.base = base_url

    # -- small steps shared by the journeys

    def fresh_visit(self):
        """A person arriving with no cookies at the home page."""
        self.b.driver.delete_all_cookies()
        self.b.open("/")

    def expect_page(self, path: str, h1: str | None = None):
        expect(self.b.path.split("?")[0] == path, f"expected to be on {path}, but the browser is on {self.b.path}"
               f" (heading {self._h1_or_none()!r}, messages {self.b.flashes()})")
        if h1 is not None:
            expect(self.b.h1() == h1, f"expected the heading {h1!r} on {path}, page shows {self.b.h1()!r}")

    def _h1_or_none(self):
        try:
            return self.b.h1()
        except Exception:
            return None

    def expect_landing(self):
        """Where a signed-in person without an organization lands: its creation form."""
        self.expect_page("/orgs/new", "Create an organization")

    def expect_flash(self, fragment: str):
        flashes = self.b.flashes()
        expect(any(fragment in f for f in flashes), f"expected a message containing {fragment!r}, page shows {flashes}")

    def log_in_with_password(self, p: Person, password: str | None = None):
        """From whatever page: the header's "Log in" link, then e-mail and password."""
        if self.b.path.startswith("/login"):
            self.b.open("/login")
        else:
            self.b.follow("Log in", within="header")
        self.expect_page("/login", "Log in")
        self.b.fill("E-mail address", p.email)
        self.b.fill("Password", password if password is not None else p.password)
        self.b.press("Continue")

    def log_out_from_header(self):
        self.b.press("Log out", within="header")
        self.expect_page("/")
        self.expect_flash("You are logged out.")
        self.b.link("Log in", within="header")  # the header shows the visitor's links again

    def enter_code(self, code: str):
        self.b.fill("Code", code)
        self.b.press("Log in")

    def enter_fresh_code(self, p: Person):
        """Enters a code for a step after the last one used (codes are single-use)."""
        code, step = p.authenticator.fresh_code()
        self.enter_code(code)
        p.authenticator.used(step)
        p.last_totp_code = code

    def one_link(self, mail, path: str) -> str:
        links = mail.links()
        expect(len(links) == 1, f"expected exactly one absolute link in the text part, found {len(links)}: {links}\n"
               + mail.text())
        link = links[0]
        expect(link.startswith(self.base + path),
               f"the link {link!r} does not start with {self.base + path!r} (the --base-url)")
        return link

    def tamper_csrf(self, form_css: str):
        """Changes the form's hidden _csrf value the way an attacker's guess would differ: same
        length, other characters. (Done through WebDriver; the page's own JavaScript is off.)"""
        field = self.b.driver.find_element(By.CSS_SELECTOR, f"{form_css} input[name=_csrf]")
        value = field.get_attribute("value") or ""
        expect(len(value) > 10, f"the form has no _csrf token to tamper with ({value!r})")
        swapped = "".join(("B" if c == "A" else "A") if i % 7 == 3 else c for i, c in enumerate(value))
        self.b.driver.execute_script("arguments[0].value = arguments[1]", field, swapped)
        expect(field.get_attribute("value") == swapped, "could not change the _csrf field")

    def expect_403_page(self):
        status = self.b.last_document_status()
        expect(status == 403, f"expected HTTP 403, the browser got {status} on {self.b.path}")
        expect(self.b.text_of("main .code") == "403", f"the error page shows {self.b.text_of('main .code')!r}, not 403")
        expect("form expired" in self.b.main_text(), f"the 403 page does not say the form expired: {self.b.main_text()!r}")

    # -- journeys

    def sign_up_and_enrol(self, p: Person, full: bool = True):
        s, b, who = self.s, self.b, p.first
        self.fresh_visit()
        got = {}

        def sign_up():
            b.follow("Sign up", within="header")
            self.expect_page("/signup", "Create your account")
            b.fill("Your name", p.name)
            b.fill("Work e-mail address", p.email)
            b.fill("Password", p.password)
            got["mark"] = self.mail.count()
            b.press("Create account")
            self.expect_page("/signup/check-email", "Check your inbox")
        s.check(f"{who}: signs up with name, e-mail address and password", sign_up)

        def verification_mail():
            got["mail"] = self.mail.wait_for(p.email, "Confirm your e-mail address", after=got["mark"], timeout=20)
        s.check(f"{who}: the verification mail arrives over SMTP", verification_mail)

        def one_link():
            got["link"] = self.one_link(got["mail"], "/verify-email?token=")
            expect(p.name in got["mail"].text(), "the mail does not greet the person by name")
        s.check(f"{who}: its text part holds exactly one absolute link, to this portal", one_link)

        def confirm():
            b.open(got["link"])
            # Opening the link confirms the address; should the page instead ask for a button
            # press (as it once did, so that mail scanners cannot confirm), press it.
            if b.path.startswith("/verify-email") and b.driver.find_elements(By.CSS_SELECTOR, "main form button"):
                self.expect_page("/verify-email", "Confirm your e-mail address")
                b.press("Confirm my e-mail address")
            self.expect_page("/login", "Log in")
            self.expect_flash("your e-mail address is confirmed")
        s.check(f"{who}: opening the link confirms the address and leads to log in", confirm)

        def link_once():
            b.open(got["link"])
            self.expect_page("/verify-email", "This link does not work")
            status = b.last_document_status()
            expect(status == 404, f"a used verification link answers {status}, not 404")
            b.follow("Go to log in")
            self.expect_page("/login", "Log in")
        s.check(f"{who}: the verification link works only once", link_once)

        def log_in():
            b.fill("E-mail address", p.email)
            b.fill("Password", p.password)
            b.press("Continue")
            self.expect_page("/mfa/setup", "Set up two-factor authentication")
        s.check(f"{who}: logs in with e-mail and password and is asked to set up TOTP", log_in)

        def read_secret():
            shown = b.text_of("#totp-secret")
            groups = shown.split()
            expect(len(groups) >= 4 and all(len(g) == 4 for g in groups[:-1]) and 1 <= len(groups[-1]) <= 4,
                   f"the key is not shown in groups of four: {shown!r}")
            secret = "".join(groups)
            expect(re.fullmatch(r"[A-Z2-7]+", secret) is not None, f"the key is not base32: {shown!r}")
            href = b.driver.find_element(By.ID, "otpauth-url").get_attribute("href")
            url = urllib.parse.urlparse(href)
            q = urllib.parse.parse_qs(url.query)
            expect(url.scheme == "otpauth" and url.netloc == "totp", f"unexpected set-up link {href!r}")
            expect(q.get("secret", [""])[0].upper() == secret, f"the set-up link's secret differs from the key shown ({href!r})")
            expect(p.email in urllib.parse.unquote(url.path), f"the set-up link does not name {p.email}: {href!r}")
            expect(b.driver.find_elements(By.CSS_SELECTOR, ".qr svg"), "no QR code on the set-up page")
            p.authenticator = Authenticator(secret)
        s.check(f"{who}: the set-up page shows the key in groups of four, matching its otpauth link and QR code", read_secret)

        def enrol():
            code, step = p.authenticator.fresh_code()
            b.fill("Enter the 6-digit code the app shows", code)
            b.press("Turn on two-factor authentication")
            self.expect_page("/mfa/recovery-codes", "Save your recovery codes")
            p.authenticator.used(step)
            p.last_totp_code = code
        s.check(f"{who}: the code computed from that key turns two-factor authentication on", enrol)

        def codes():
            p.recovery_codes = b.all_text("#recovery-codes li")
            expect(len(p.recovery_codes) == 10, f"expected 10 recovery codes, page shows {len(p.recovery_codes)}")
            expect(len(set(p.recovery_codes)) == 10, f"the recovery codes repeat: {p.recovery_codes}")
            bad = [c for c in p.recovery_codes if not CODE_FORMAT.match(c)]
            expect(not bad, f"codes not in the XXXXX-XXXXX form: {bad}")
        s.check(f"{who}: the recovery-codes page lists 10 distinct codes", codes)

        if full:
            def download_link():
                a = b.link("Download as a text file")
                expect(a.get_attribute("download") is not None, "the download link has no download attribute")
                status, headers, body = b.fetch(a.get_attribute("href"))
                expect(status == 200, f"the file answered {status}")
                ctype = headers.get("Content-Type", "")
                expect(ctype.startswith("text/plain"), f"the file is {ctype!r}, not text/plain")
                expect("attachment" in headers.get("Content-Disposition", ""),
                       f"Content-Disposition is {headers.get('Content-Disposition')!r}")
                lines = [l.strip() for l in body.decode("utf-8").splitlines()]
                listed = [l for l in lines if CODE_FORMAT.match(l)]
                expect(listed == p.recovery_codes, f"the file lists {listed}, the page {p.recovery_codes}")
            s.check(f"{who}: 'Download as a text file' is text/plain, an attachment, with the same 10 codes", download_link)

            def download_in_browser():
                target = b.download_dir / "portal-recovery-codes.txt"
                b.link("Download as a text file").click()
                wait_until(lambda: target.exists() and target.stat().st_size > 0, 15, what=f"{target} to be saved")
                text = target.read_text()
                expect(all(c in text for c in p.recovery_codes), f"the saved file lacks some codes:\n{text}")
                expect(b.path == "/mfa/recovery-codes", f"downloading left the page for {b.path}")
            s.check(f"{who}: clicking the download link saves the file with the codes", download_in_browser)

        def saved():
            b.press("I have saved my codes")
            self.expect_landing()
            self.expect_flash("Two-factor authentication is on")
            b.follow(p.name, within="header")
            self.expect_page("/account", "Your account")
            expect(p.email in b.text_of("main .lead"), f"the account page does not show {p.email}: {b.text_of('main .lead')!r}")
        s.check(f"{who}: 'I have saved my codes' leads to creating an organization; the header's name opens /account", saved)

        def security_page():
            b.follow(p.name, within="header")
            self.expect_page("/account", "Your account")
            b.follow("Security", within="main nav.sub-nav")
            self.expect_page("/account/security", "Your account")
            expect("10 of 10 unused." in b.main_text(), "the security page does not say '10 of 10 unused.'")
            expect("this device" in b.text_of("#sessions"), "the security page does not list this device among the sessions")
            b.follow("Profile", within="main nav.sub-nav")
            self.expect_page("/account", "Your account")
        s.check(f"{who}: the account's sub-navigation leads to Security (10 of 10 codes unused, this device listed) and back",
                security_page)

        if full:
            def not_again():
                b.open("/mfa/recovery-codes")
                self.expect_landing()
                status, _, _ = b.fetch(self.base + "/mfa/recovery-codes.txt")
                expect(status == 404, f"the codes file still answers {status}")
            s.check(f"{who}: the recovery codes are not shown or downloadable again", not_again)

        def log_out():
            self.log_out_from_header()
            b.open("/account")
            self.expect_page("/login", "Log in")
        s.check(f"{who}: the header's Log out button signs out (/account then asks to log in)", log_out)

    def tampered_csrf_anonymous(self, p: Person):
        s, b = self.s, self.b
        self.fresh_visit()

        def post():
            b.follow("Log in", within="header")
            self.expect_page("/login", "Log in")
            b.fill("E-mail address", p.email)
            b.fill("Password", p.password)
            self.tamper_csrf("main form[action='/login']")
            b.press("Continue")
            self.expect_403_page()
        s.check("CSRF: the login form posted with a tampered _csrf value gets the 403 page", post)

        def nothing_happened():
            b.open("/account")
            self.expect_page("/login", "Log in")
        s.check("CSRF: and no session was started by it", nothing_happened)

        def untouched_form_works():
            b.fill("E-mail address", p.email)
            b.fill("Password", p.password)
            b.press("Continue")
            self.expect_page("/login/mfa", "Two-factor authentication")
            b.press("Cancel and log out")
            self.expect_page("/")
        s.check("CSRF: the same form with its own _csrf value is accepted", untouched_form_works)

    def totp_login(self, p: Person):
        s, b, who = self.s, self.b, p.first
        self.fresh_visit()

        def password_step():
            self.log_in_with_password(p)
            self.expect_page("/login/mfa", "Two-factor authentication")
        s.check(f"{who}: logging in again asks for the authenticator code", password_step)

        def totp_step():
            self.enter_fresh_code(p)
            self.expect_landing()
            b.open("/account")
            expect(p.email in b.text_of("main .lead"), "the account page does not show the e-mail address")
        s.check(f"{who}: a fresh TOTP code (a step after the last one used) signs in", totp_step)

        def tampered_logout():
            self.tamper_csrf("header form[action='/logout']")
            b.press("Log out", within="header")
            self.expect_403_page()
            b.open("/account")
            self.expect_page("/account", "Your account")
        s.check(f"CSRF: a signed-in form (Log out) with a tampered _csrf gets the 403 page and changes nothing", tampered_logout)

        s.check(f"{who}: logs out with the header's button", self.log_out_from_header)

    def recovery_code_login(self, p: Person):
        s, b, who = self.s, self.b, p.first
        self.fresh_visit()
        code = p.recovery_codes[0] if p.recovery_codes else ""

        def replayed_totp():
            self.log_in_with_password(p)
            self.expect_page("/login/mfa", "Two-factor authentication")
            self.enter_code(p.last_totp_code)
            self.expect_page("/login/mfa", "Two-factor authentication")
            expect("That code did not work" in b.main_text(), "no message saying the code did not work")
        s.check(f"{who}: the TOTP code used for the last login is refused when replayed", replayed_totp)

        def use_recovery_code():
            self.enter_code(code)
            self.expect_landing()
            self.expect_flash("You signed in with a recovery code. 9 remain")
            b.open("/account/security")
            expect("9 of 10 unused." in b.main_text(), "the security page does not say '9 of 10 unused.'")
        s.check(f"{who}: an unused recovery code signs in; /account/security shows '9 of 10 unused'", use_recovery_code)

        s.check(f"{who}: logs out with the header's button", self.log_out_from_header)

        def reused():
            self.log_in_with_password(p)
            self.expect_page("/login/mfa", "Two-factor authentication")
            self.enter_code(code)
            self.expect_page("/login/mfa", "Two-factor authentication")
            status = b.last_document_status()
            expect(status == 401, f"expected HTTP 401 for a used code, got {status}")
            expect("That code did not work" in b.text_of("#code-error"), f"unexpected message {b.text_of('#code-error')!r}")
            b.press("Cancel and log out")
            self.expect_page("/")
            b.open("/account")
            self.expect_page("/login", "Log in")
        s.check(f"{who}: the same recovery code is refused the second time", reused)

    def forgotten_password(self, p: Person, new_password: str):
        s, b, who = self.s, self.b, p.first
        self.fresh_visit()
        got = {}

        def ask():
            b.follow("Log in", within="header")
            b.follow("Forgot your password?")
            self.expect_page("/forgot-password", "Reset your password")
            b.fill("E-mail address", p.email)
            got["mark"] = self.mail.count()
            b.press("Send the link")
            self.expect_page("/forgot-password", "Check your inbox")
            expect(p.email in b.main_text(), "the page does not repeat the address")
            got["mail"] = self.mail.wait_for(p.email, "Reset your Portal password", after=got["mark"], timeout=20)
        s.check(f"{who}: 'Forgot your password?' sends a reset mail over SMTP", ask)

        def link():
            got["link"] = self.one_link(got["mail"], "/reset-password?token=")
        s.check(f"{who}: its text part holds exactly one absolute link, to this portal", link)

        def choose():
            b.open(got["link"])
            self.expect_page("/reset-password", "Choose a new password")
            b.fill("New password", new_password)
            b.press("Set the new password")
            self.expect_page("/login", "Log in")
            self.expect_flash("Your password is changed")
        s.check(f"{who}: the link's page sets a new password", choose)

        def alert():
            self.mail.wait_for(p.email, "Your Portal password was changed", after=got["mark"], timeout=20)
        s.check(f"{who}: a 'password was changed' alert arrives over SMTP", alert)

        def once():
            b.open(got["link"])
            self.expect_page("/reset-password", "This link does not work")
        s.check(f"{who}: the reset link works only once", once)

        def old_refused():
            self.log_in_with_password(p, password=p.password)
            self.expect_page("/login", "Log in")
            expect("Incorrect e-mail address or password." in b.main_text(), "no 'Incorrect e-mail address or password.'")
        s.check(f"{who}: the old password no longer works", old_refused)
        p.password = new_password

        def still_totp():
            self.log_in_with_password(p)
            self.expect_page("/login/mfa", "Two-factor authentication")
        s.check(f"{who}: the new password still leads to the authenticator step", still_totp)

        def totp():
            self.enter_fresh_code(p)
            self.expect_landing()
        s.check(f"{who}: a fresh TOTP code completes the login", totp)

        s.check(f"{who}: logs out with the header's button", self.log_out_from_header)
