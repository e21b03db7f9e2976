"""The dashboard journey, page JavaScript off: after the payout journey the Owner's Sandbox
dashboard shows the available balance the payout left, and its search form finds a
transaction by its external ID, whose page shows it."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from harness import Suite, expect
from org_journeys import OrgJourneys
from payout_journeys import public_id
from selenium.webdriver.common.by import By


def add_pending_payin(db_path: Path, org_public_id: str, minor: int, external_id: str, currency: str = "EUR") -> str:
    """A pending pay-in with its external ID, its ledger entry, history and rollup, written the
    way the money core writes them, in one transaction. (No page or API makes a pay-in yet;
    swap this for the API once it exists.) Returns its public id."""
    now = int(time.time())
    db = sqlite3.connect(db_path, timeout=15, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        (org_id,) = db.execute("SELECT id FROM organizations WHERE public_id = ?", (org_public_id,)).fetchone()
        acct, avail, pend = db.execute("SELECT id, available, pending FROM money_accounts WHERE organization_id = ? AND "
                                       "environment = 'sandbox' AND currency = ?", (org_id, currency)).fetchone()
        txn_id = public_id("txn")
        # The simulator moves only what the service scheduled, so this one stays pending.
        txn = db.execute("INSERT INTO transactions (public_id, organization_id, environment, account_id, external_id, type, status, amount, "
                         "currency, sender_name, created_at, updated_at) VALUES (?, ?, 'sandbox', ?, ?, 'payin', 'pending', ?, ?, "
                         "'Browser test payer', ?, ?)", (txn_id, org_id, acct, external_id, minor, currency, now, now)).lastrowid
        db.execute("INSERT INTO transaction_status_history (transaction_id, status, actor, at) VALUES (?, 'pending', 'API', ?)", (txn, now))
        db.execute("INSERT INTO ledger_entries (account_id, bucket, amount, available_after, pending_after, transaction_id, reason, "
                   "created_at) VALUES (?, 'pending', ?, ?, ?, ?, 'payin.pending', ?)", (acct, minor, avail, pend + minor, txn, now))
        db.execute("UPDATE money_accounts SET pending = pending + ?, updated_at = ? WHERE id = ?", (minor, now, acct))
        db.execute("INSERT INTO transaction_stats (organization_id, environment, currency, hour, status, count, amount) "
                   "VALUES (?, 'sandbox', ?, ?, 'pending', 1, ?) ON CONFLICT (organization_id, environment, currency, hour, status) "
                   "DO UPDATE SET count = count + 1, amount = amount + excluded.amount", (org_id, currency, now // 3600, minor))
        db.execute("COMMIT")
        return txn_id
    finally:
        db.close()


class DashboardJourneys:
    def __init__(self, suite: Suite, org: OrgJourneys, db_path: Path):
        self.s = suite
        self.org = org
        self.owner = org.owner  # Ada's browser
        self.db_path = db_path

    def search_by_external_id(self):
        s, b, j = self.s, self.owner.b, self.owner
        sandbox = self.org.org_path + "/sandbox"
        got = {}

        def balance():
            got["txn"] = add_pending_payin(self.db_path, self.org.org_path.rsplit("/", 1)[1], 4200, "order-4242")
            b.open(self.org.org_path)
            b.follow("Sandbox", within=".env-switch")
            j.expect_page(sandbox)
            expect(b.text_of("td[data-balance='EUR']") == "€750.00", f"the dashboard's available balance is {b.text_of('td[data-balance=EUR]')!r}")
            # (Pending also holds the payout until the simulator pays it, so only the list is checked.)
            expect("order-4242" in b.text_of("table.transactions"), "the recent transactions do not list the new pay-in")
            expect("Volume, last 30 days" in b.main_text(), "the dashboard has no chart")
        s.check("Ada: the Sandbox dashboard shows €750.00 available after the payout, and the new pay-in", balance)

        def search():
            b.fill("External ID", "order-4242")
            b.press("Search")
            j.expect_page(sandbox + "/transactions")
            rows = b.driver.find_elements(By.CSS_SELECTOR, "table.transactions tbody tr")
            expect(len(rows) == 1 and "order-4242" in rows[0].text, f"the search found {len(rows)} rows")
            b.follow(got["txn"])
            j.expect_page(sandbox + "/transactions/" + got["txn"])
            text = b.main_text()
            expect("Pay-in of €42.00" in text and "order-4242" in text, "the transaction page does not show the pay-in")
            expect("Request cancellation" in text, "the Owner is not offered to cancel an open transaction")
        s.check("Ada: finds the pay-in by its external ID from the dashboard and opens it", search)
