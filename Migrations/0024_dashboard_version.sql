-- The dashboard's money part (balances, chart, statistics, recent transactions) is kept
-- rendered in memory under transaction_stats_versions (0023). Balances change without the
-- rollup changing (a payout's hold, its release), and a transaction's row could change without
-- its status: so every change to an account or a transaction bumps the same version, in the
-- change's own transaction, whichever process writes.
CREATE TRIGGER money_accounts_inserted_version AFTER INSERT ON money_accounts BEGIN
    INSERT INTO transaction_stats_versions (organization_id, environment, version) VALUES (NEW.organization_id, NEW.environment, 1)
    ON CONFLICT (organization_id, environment) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER money_accounts_updated_version AFTER UPDATE ON money_accounts BEGIN
    INSERT INTO transaction_stats_versions (organization_id, environment, version) VALUES (NEW.organization_id, NEW.environment, 1)
    ON CONFLICT (organization_id, environment) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER transactions_updated_version AFTER UPDATE ON transactions BEGIN
    INSERT INTO transaction_stats_versions (organization_id, environment, version) VALUES (NEW.organization_id, NEW.environment, 1)
    ON CONFLICT (organization_id, environment) DO UPDATE SET version = version + 1;
END;
