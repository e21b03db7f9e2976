-- Flash messages wait in the session row, not in a cookie the browser could rewrite:
-- a JSON array of {"kind", "text"}, NULL when there is none.
ALTER TABLE sessions ADD COLUMN flash TEXT;
