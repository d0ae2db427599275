-- Second factor and break-glass additions.

-- The last TOTP time step accepted for the account: a code is accepted only for a later
-- step, so an observed code cannot be replayed (RFC 6238 §5.2).
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Grants a user holds, for the list shown to the worker and the auditor.
CREATE INDEX break_glass_user ON break_glass_grants (user_id, expires_at);
