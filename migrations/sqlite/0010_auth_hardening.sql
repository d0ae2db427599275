-- Login and account hardening.

-- The time of the last attempt counted against a throttle key, so that expired rows
-- (made-up usernames of a storm) can be purged through an index.
ALTER TABLE login_throttle ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX login_throttle_last ON login_throttle (last_at);

-- Set when someone other than the account's owner chose its password (an admin, the
-- command line): the owner must change it before doing anything else.
ALTER TABLE users ADD COLUMN password_change_required INTEGER NOT NULL DEFAULT FALSE;
