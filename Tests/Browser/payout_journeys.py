"""The payout journey, in two browsers: the Owner puts the Developer back on the Developer
role (the form says a Developer never moves money) and the Developer's navigation shows no
payout actions; the Owner invites Grace as a Manager; Grace prepares a payout out of the
Sandbox balance; the Owner authorizes it with a fresh TOTP code; the available balance Grace
sees falls by the payout. Page JavaScript is off: links and forms only."""

from __future__ import annotations

import secrets
import sqlite3
import time
from pathlib import Path

from harness import Mailbox, Suite, expect
from journeys import Person
from org_journeys import OrgJourneys
from selenium.webdriver.common.by import By

ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def public_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(ALPHABET) for _ in range(16))


def fund_sandbox(db_path: Path, org_public_id: str, minor: int, currency: str = "EUR"):
    """Money arriving in the organization's Sandbox: a paid pay-in with its ledger entries,
    status history and rollup, written the way the money core writes them, in one
    transaction. (No page or API makes a pay-in yet; swap this for the API once it exists.)"""
    now = int(time.time())
    db = sqlite3.connect(db_path, timeout=15, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        (org_id,) = db.execute("SELECT id FROM organizations WHERE public_id = ?", (org_public_id,)).fetchone()
        db.execute("INSERT INTO money_accounts (public_id, organization_id, environment, currency, created_at, updated_at) "
                   "VALUES (?, ?, 'sandbox', ?, ?, ?) ON CONFLICT (organization_id, environment, currency) DO NOTHING",
                   (public_id("acct"), org_id, currency, now, now))
        acct, avail, pend = db.execute("SELECT id, available, pending FROM money_accounts WHERE organization_id = ? AND "
                                       "environment = 'sandbox' AND currency = ?", (org_id, currency)).fetchone()
        txn = db.execute("INSERT INTO transactions (public_id, organization_id, environment, account_id, type, status, amount, currency, "
                         "sender_name, created_at, updated_at, settled_at) VALUES (?, ?, 'sandbox', ?, 'payin', 'paid', ?, ?, "
                         "'Browser test funding', ?, ?, ?)", (public_id("txn"), org_id, acct, minor, currency, now, now, now)).lastrowid
        for status in ("pending", "processing", "paid"):
            db.execute("INSERT INTO transaction_status_history (transaction_id, status, actor, at) VALUES (?, ?, 'Operator', ?)",
                       (txn, status, now))
        entries = [("pending", minor, avail, pend + minor, "payin.pending"), ("available", minor, avail + minor, pend + minor, "payin.paid"),
                   ("pending", -minor, avail + minor, pend, "payin.paid")]
        for bucket, amount, a_after, p_after, reason in entries:
            db.execute("INSERT INTO ledger_entries (account_id, bucket, amount, available_after, pending_after, transaction_id, reason, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (acct, bucket, amount, a_after, p_after, txn, reason, now))
        db.execute("UPDATE money_accounts SET available = available + ?, updated_at = ? WHERE id = ?", (minor, now, acct))
        db.execute("INSERT INTO transaction_stats (organization_id, environment, currency, hour, status, count, amount) "
                   "VALUES (?, 'sandbox', ?, ?, 'paid', 1, ?) ON CONFLICT (organization_id, environment, currency, hour, status) "
                   "DO UPDATE SET count = count + 1, amount = amount + excluded.amount", (org_id, currency, now // 3600, minor))
        db.execute("COMMIT")
    finally:
        db.close()


class PayoutJourneys:
    def __init__(self, suite: Suite, org: OrgJourneys, mailbox: Mailbox, db_path: Path, owner_person: Person):
        self.s = suite
        self.owner_person = owner_person  # Ada, the Owner, with her authenticator
        self.org = org
        self.owner = org.owner  # Ada's browser
        self.second = org.member  # Linus's browser, then Grace's
        self.mail = mailbox
        self.db_path = db_path

    @property
    def sandbox(self) -> str:
        return self.org.org_path + "/sandbox"

    def available(self, b) -> str:
        return b.text_of("td[data-balance='EUR']")

    def developer_sees_no_payouts(self, dev: Person):
        s, b, j = self.s, self.owner.b, self.owner

        def back_to_developer():
            b.open(self.org.org_path + "/team")
            row = b.driver.find_element(By.XPATH, f"//tr[contains(., '{dev.email}')]")
            b._mark_page()
            row.find_element(By.LINK_TEXT, "Edit").click()
            b._wait_for_new_page()
            expect("A Developer never creates or authorizes payouts" in b.main_text(),
                   "the member form does not say that a Developer cannot have payout permissions")
            b.driver.find_element(By.CSS_SELECTOR, "input[name=role][value=developer]").click()
            b.press("Save role and permissions")
            j.expect_flash("role and permissions are saved")
        s.check("Ada: puts Linus back on the Developer role; the form says a Developer never moves money", back_to_developer)

        def no_payouts():
            mb = self.second.b
            mb.open(self.sandbox)
            nav = self.org.nav(mb)
            expect("Payouts" not in nav, f"the Developer's navigation shows payouts: {nav}")
            mb.open(self.sandbox + "/payouts")
            expect(mb.last_document_status() == 200, "a Developer, who sees transactions, cannot read the payouts list")
            expect(not mb.driver.find_elements(By.CSS_SELECTOR, f"a[href$='/payouts/new']"), "the list offers a Developer a new payout")
            mb.open(self.sandbox + "/payouts/new")
            expect(mb.last_document_status() == 403, f"the new payout form answered {mb.last_document_status()}, not 403")
            expect("Developers never create or authorize payouts" in mb.main_text(), "the 403 page does not say why")
        s.check("Linus: as a Developer, no Payouts in his navigation, no payout actions, and the new payout form is refused", no_payouts)

    def manager_prepares_and_owner_authorizes(self, grace: Person):
        s, ob, j = self.s, self.owner.b, self.owner
        gb, gj = self.second.b, self.second
        got = {}

        def invite():
            ob.open(self.org.org_path + "/team/invite")
            ob.fill("Name", grace.name)
            ob.fill("E-mail address", grace.email)
            ob.driver.find_element(By.CSS_SELECTOR, "input[name=role][value=manager]").click()
            got["mark"] = self.mail.count()
            ob.press("Send invitation")
            j.expect_flash(f"Invitation sent to {grace.email}")
            got["link"] = j.one_link(self.mail.wait_for(grace.email, "invited you to Acme", after=got["mark"]), "/invitations/")
        s.check("Ada: invites Grace as a Manager", invite)

        def grace_joins():
            gj.log_out_from_header()
            gj.log_in_with_password(grace)
            gj.enter_fresh_code(grace)
            gb.open(got["link"])
            gb.press("Accept and join Acme")
            gj.expect_page(self.org.org_path)
            gj.expect_flash("Welcome to Acme")
            expect("Payouts" in self.org.nav(gb), f"a Manager's navigation has no Payouts: {self.org.nav(gb)}")
        s.check("Grace: logs in, accepts, and her navigation has Payouts", grace_joins)

        def prepare():
            fund_sandbox(self.db_path, self.org.org_path.rsplit("/", 1)[1], 100000)
            gb.open(self.sandbox)
            gb.follow("Payouts", within=".org-nav")
            gj.expect_page(self.sandbox + "/payouts")
            gb.follow("New payout")
            gj.expect_page(self.sandbox + "/payouts/new")
            expect(self.available(gb) == "€1,000.00", f"the available balance shown is {self.available(gb)!r}")
            gb.fill("Beneficiary's name", "Ada Obi")
            gb.fill("IBAN or mobile-money number", "GB82 WEST 1234 5698 7654 32")
            self.org.select(gb, "Beneficiary's country", "United Kingdom")
            self.org.select(gb, "Currency", "EUR – Euro (€1,000.00 available)")
            gb.fill("Amount", "250.00")
            gb.fill("Reference", "INV-2026-001")
            gb.press("Prepare payout")
            expect("/payouts/po_" in gb.path, f"not on the payout's page: {gb.path}")
            got["payout"] = gb.path
            gj.expect_flash("Payout of €250.00 prepared")
            text = gb.main_text()
            expect("Waiting for authorization" in text and "•••• 5432" in text, "the payout page does not show it waiting, masked")
            expect("You prepared this payout" in text, "the page does not say someone else must authorize it")
            expect(not gb.driver.find_elements(By.CSS_SELECTOR, "input[name=code]"), "Grace is offered to authorize her own payout")
        s.check("Grace: prepares a payout of €250.00 from a Sandbox holding €1,000.00", prepare)

        def authorize():
            ob.open(self.sandbox)
            ob.follow("Payouts", within=".org-nav")
            ob.follow(got["payout"].rsplit("/", 1)[1])
            j.expect_page(got["payout"])
            code, step = self.owner_person.authenticator.fresh_code()
            ob.fill("Authenticator code", code)
            ob.press("Authorize payout")
            self.owner_person.authenticator.used(step)
            j.expect_flash("Payout authorized")
            text = ob.main_text()
            expect("Authorized" in text and "txn_" in text, "the payout page does not show it authorized with its transaction")
            mail = self.mail.wait_for(grace.email, "authorized your payout", after=0)
            expect("€250.00" in mail.text(), "Grace's mail does not name the amount")
        s.check("Ada: authorizes Grace's payout with a fresh TOTP code; Grace is mailed", authorize)

        def balance_changes():
            gb.open(self.sandbox + "/payouts/new")
            expect(self.available(gb) == "€750.00", f"after the payout the available balance shown is {self.available(gb)!r}")
        s.check("Grace: the available balance shown is now €750.00", balance_changes)
