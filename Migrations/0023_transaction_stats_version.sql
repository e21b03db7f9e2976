-- The dashboard's rollup gets a version per organization and environment, bumped by SQLite
-- itself on every change to transaction_stats (whoever writes it: the service, the simulator,
-- an operator command, seed-demo in another process), in the same transaction as the change.
-- The dashboard keeps what it read from the rollup in memory under this version, so a page
-- view reads one row here instead of a month of hourly rows, and is never stale.
CREATE TABLE transaction_stats_versions (
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment     TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    PRIMARY KEY (organization_id, environment)
) WITHOUT ROWID;

CREATE TRIGGER transaction_stats_inserted AFTER INSERT ON transaction_stats BEGIN
    INSERT INTO transaction_stats_versions (organization_id, environment, version) VALUES (NEW.organization_id, NEW.environment, 1)
    ON CONFLICT (organization_id, environment) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER transaction_stats_updated AFTER UPDATE ON transaction_stats BEGIN
    INSERT INTO transaction_stats_versions (organization_id, environment, version) VALUES (NEW.organization_id, NEW.environment, 1)
    ON CONFLICT (organization_id, environment) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER transaction_stats_deleted AFTER DELETE ON transaction_stats BEGIN
    INSERT INTO transaction_stats_versions (organization_id, environment, version) VALUES (OLD.organization_id, OLD.environment, 1)
    ON CONFLICT (organization_id, environment) DO UPDATE SET version = version + 1;
END;
