-- Settings the application itself needs at start; the health check reads 'schema'.
CREATE TABLE app_meta(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO app_meta VALUES('schema', 'portal');
