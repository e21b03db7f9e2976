-- Audit events by subject and time: how many invitation mails one address got lately (a cap
-- across organizations), and a person's own security history.
CREATE INDEX audit_events_by_subject ON audit_events(subject, at);
