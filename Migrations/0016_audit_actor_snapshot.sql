-- The audit log records who acted as they were at that moment: a member who later renames
-- themselves (or changes address, or leaves) no longer rewrites an organization's past.
-- Older events get the actor's current name and address once, the best there is for them.
ALTER TABLE audit_events ADD COLUMN actor_name TEXT;
ALTER TABLE audit_events ADD COLUMN actor_email TEXT;
UPDATE audit_events SET
    actor_name = (SELECT name FROM users WHERE users.id = audit_events.actor_user_id),
    actor_email = (SELECT email FROM users WHERE users.id = audit_events.actor_user_id)
WHERE actor_user_id IS NOT NULL;
-- Details become JSON objects; the server rewrites older rows once at start
-- (AuditDetailsUpgrade), which records `audit_details_format` here when done.
DELETE FROM app_meta WHERE key = 'audit_details_format';
