-- Invitation mails sent (new and resent), which the daily caps count: per organization and
-- per address across organizations. The audit log is a record, not a counter. email_key is
-- the address lower-cased, so `Victim@…` and `VICTIM@…` share one allowance.
CREATE TABLE invitation_sends (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email_key       TEXT    NOT NULL,
    sent_at         INTEGER NOT NULL
);
CREATE INDEX invitation_sends_by_org ON invitation_sends(organization_id, sent_at);
CREATE INDEX invitation_sends_by_address ON invitation_sends(email_key, sent_at);
-- The last day's sends, from the audit events that used to be counted.
INSERT INTO invitation_sends (organization_id, email_key, sent_at)
SELECT e.organization_id, lower(e.subject), e.at FROM audit_events e
WHERE e.action IN ('member.invited', 'invitation.resent') AND e.organization_id IN (SELECT id FROM organizations)
  AND e.at > (SELECT coalesce(max(at), 0) FROM audit_events) - 2 * 86400;
