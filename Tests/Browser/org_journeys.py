"""The organization journey, in two browsers at once: the Owner creates an organization and
invites a Developer; the Developer signs up through the e-mailed link, sets up TOTP, joins,
and sees only the Developer's pages; the Owner changes the Developer's permissions and the
Developer's navigation follows. Page JavaScript is off: links and forms only."""

from __future__ import annotations

import re

from harness import Authenticator, Browser, Mailbox, Suite, expect
from journeys import Journeys, Person
from selenium.webdriver.common.by import By


class OrgJourneys:
    def __init__(self, suite: Suite, owner: Journeys, member: Journeys, mailbox: Mailbox):
        self.s = suite
        self.owner = owner  # the Owner's browser, through the identity journeys' helpers
        self.member = member  # a second browser: the invited Developer
        self.mail = mailbox
        self.org_path = ""

    @staticmethod
    def nav(b: Browser) -> list[str]:
        return b.all_text(".org-nav a")

    @staticmethod
    def select(b: Browser, label: str, visible_text: str):
        from selenium.webdriver.support.ui import Select
        Select(b.field(label)).select_by_visible_text(visible_text)

    def owner_creates_and_invites(self, ada: Person, dev: Person):
        s, b, j = self.s, self.owner.b, self.owner
        got = {}

        def log_in():
            j.fresh_visit()
            j.log_in_with_password(ada)
            j.enter_fresh_code(ada)
            j.expect_page("/orgs/new", "Create an organization")
        s.check("Ada: with no organization yet, logging in leads to 'Create an organization'", log_in)

        def keeps_input():
            b.fill("Legal name", "Acme Payments B.V.")
            b.fill("Website", "not a web address")
            b.press("Create organization")
            j.expect_page("/orgs/new", "Create an organization")
            expect(b.field("Legal name").get_attribute("value") == "Acme Payments B.V.", "the legal name typed was lost")
            errors = b.all_text(".field .error")
            expect(any("web address" in e for e in errors), f"no message beside the website field: {errors}")
            expect(any("country" in e for e in errors), f"no message beside the country field: {errors}")
        s.check("Ada: a form with mistakes comes back with a message beside each field and what was typed", keeps_input)

        def create():
            b.fill("Trading name (optional)", "Acme")
            self.select(b, "Country of registration", "Netherlands")
            b.fill("Company registration number", "KVK 12345678")
            b.fill("Registered address", "Herengracht 1\n1015 BA Amsterdam")
            b.fill("Website", "https://acme.example")
            self.select(b, "Industry", "E-commerce")
            b.fill("Compliance contact e-mail", ada.email)
            b.press("Create organization")
            expect(re.fullmatch(r"/orgs/org_[a-z2-9]{16}", b.path) is not None, f"not on an organization's page: {b.path}")
            self.org_path = b.path
            expect(b.h1() == "Acme", f"the dashboard's heading is {b.h1()!r}")
            j.expect_flash("Acme is ready")
            expect(self.nav(b) == ["Dashboard", "Transactions", "Payouts", "API keys", "Apps", "Certificates", "Webhooks", "Reports", "Team", "Logs", "API requests", "API reference", "Settings"], f"the Owner's navigation is {self.nav(b)}")
            expect("Sandbox" in b.main_text() and "Production" in b.main_text(), "the dashboard does not show both environments")
        s.check("Ada: creates Acme and lands on its dashboard as Owner, with every section", create)

        def environments():
            b.follow("Sandbox", within=".env-switch")
            j.expect_page(self.org_path + "/sandbox")
            expect("Test money only" in b.main_text(), "the Sandbox overview does not say what Sandbox is")
            # The link reads "Production" plus a marker that it is not enabled yet.
            b._mark_page()
            b.driver.find_element(By.CSS_SELECTOR, ".env-switch a[href$='/production']").click()
            b._wait_for_new_page()
            j.expect_page(self.org_path + "/production")
            status = b.last_document_status()
            expect(status == 403, f"Production before support enabled it answered {status}, not 403")
            expect(b.h1() == "Production is not enabled yet", f"the Production page's heading is {b.h1()!r}")
            b.follow("Request Production access")
            j.expect_page(self.org_path + "/settings/production")
        s.check("Ada: the environment switch opens Sandbox; Production says it is not enabled and how to ask", environments)

        def invite():
            b.follow("Team", within=".org-nav")
            j.expect_page(self.org_path + "/team")
            b.follow("Invite a member")
            boxes = b.driver.find_elements(By.CSS_SELECTOR, "input[name=permissions]")
            expect(boxes and not any(x.is_displayed() for x in boxes), "the permission boxes show although the role is not Custom")
            b.driver.find_element(By.CSS_SELECTOR, "input[name=role][value=custom]").click()
            expect(all(x.is_displayed() for x in boxes), "choosing Custom does not show the permission boxes")
            b.fill("Name", dev.name)
            b.fill("E-mail address", dev.email)
            b.driver.find_element(By.CSS_SELECTOR, "input[name=role][value=developer]").click()
            got["mark"] = self.mail.count()
            b.press("Send invitation")
            j.expect_page(self.org_path + "/team")
            j.expect_flash(f"Invitation sent to {dev.email}")
            expect(dev.email in b.main_text(), "the team page does not list the pending invitation")
        s.check("Ada: invites Linus as a Developer from the Team page", invite)

        def mail():
            m = self.mail.wait_for(dev.email, "invited you to Acme", after=got["mark"])
            dev_link = j.one_link(m, "/invitations/")
            got["link"] = dev_link
        s.check("Linus: the invitation mail arrives over SMTP with exactly one absolute link", mail)
        return got.get("link")

    def member_joins(self, dev: Person, link: str):
        s, b, j = self.s, self.member.b, self.member

        def open_link():
            j.fresh_visit()
            b.open(link)
            expect(b.h1() == "Join Acme", f"the invitation page's heading is {b.h1()!r}")
            b.follow("Create your account")
            email = b.field("E-mail address")
            expect(email.get_attribute("value") == dev.email, f"the e-mail field holds {email.get_attribute('value')!r}")
            expect(email.get_attribute("readonly") is not None, "the invited address can be changed")
        s.check("Linus: the link offers sign-up with the invited address filled in and locked", open_link)

        def sign_up():
            b.fill("Your name", dev.name)
            b.fill("Password", dev.password)
            b.press("Create account")
            j.expect_page("/mfa/setup", "Set up two-factor authentication")
        s.check("Linus: signing up through the link skips the verification mail and goes to TOTP set-up", sign_up)

        def enrol():
            secret = "".join(b.text_of("#totp-secret").split())
            dev.authenticator = Authenticator(secret)
            code, step = dev.authenticator.fresh_code()
            b.fill("Enter the 6-digit code the app shows", code)
            b.press("Turn on two-factor authentication")
            dev.authenticator.used(step)
            j.expect_page("/mfa/recovery-codes", "Save your recovery codes")
            b.press("I have saved my codes")
            expect(b.h1() == "Join Acme", f"after enrolment the page is {b.path} {b.h1()!r}, not the invitation")
        s.check("Linus: must set up TOTP before joining, then comes back to the invitation", enrol)

        def accept():
            b.press("Accept and join Acme")
            j.expect_page(self.org_path)
            j.expect_flash("Welcome to Acme")
            expect(self.nav(b) == ["Dashboard", "Transactions", "API keys", "Apps", "Certificates", "Webhooks", "Reports", "Logs", "API requests", "API reference", "Settings"], f"the Developer's navigation is {self.nav(b)}")
            text = b.main_text()
            expect("View API keys" in text and "Create payouts" not in text, "the dashboard lists the wrong permissions")
        s.check("Linus: accepts and sees Acme with only a Developer's sections (no Team)", accept)

        def team_refused():
            b.open(self.org_path + "/team")
            status = b.last_document_status()
            expect(status == 403, f"the Team page answered {status}, not 403")
        s.check("Linus: the Team page itself is refused with 403", team_refused)

    def owner_changes_permissions(self, dev: Person):
        s, b, j = self.s, self.owner.b, self.owner

        def edit():
            b.open(self.org_path + "/team")
            row = b.driver.find_element(By.XPATH, f"//tr[contains(., '{dev.email}')]")
            self.owner.b._mark_page()
            row.find_element(By.LINK_TEXT, "Edit").click()
            self.owner.b._wait_for_new_page()
            expect(b.h1() == dev.name, f"the member page's heading is {b.h1()!r}")
            b.driver.find_element(By.CSS_SELECTOR, "input[name=role][value=custom]").click()
            for box in b.driver.find_elements(By.CSS_SELECTOR, "input[name=permissions]"):
                wanted = box.get_attribute("value") in ("roles.read", "transactions.read")
                if box.is_selected() != wanted:
                    box.click()
            b.press("Save role and permissions")
            j.expect_flash("role and permissions are saved")
        s.check("Ada: makes Linus Custom with only 'View team' and 'View transactions'", edit)

        def nav_follows():
            mb = self.member.b
            mb.open(self.org_path)
            expect(self.nav(mb) == ["Dashboard", "Transactions", "Reports", "Team", "API reference", "Settings"], f"Linus's navigation is now {self.nav(mb)}")
            mb.open(self.org_path + "/logs")
            status = mb.last_document_status()
            expect(status == 403, f"the Logs page answered {status} after logs.read was removed")
        s.check("Linus: his navigation now shows Team and no longer Logs, and Logs is refused", nav_follows)
