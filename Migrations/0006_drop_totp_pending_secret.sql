-- Enrolment secrets are derived per session (see Accounts.enrolmentSecret) and never stored,
-- so this column from 0002 has always been empty.
ALTER TABLE users DROP COLUMN totp_pending_secret;
