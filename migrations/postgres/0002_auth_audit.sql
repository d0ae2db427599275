-- Accounts, sessions, login throttling, break-glass and the audit trail.

-- Sessions of the web and API; the id is stored hashed so a database reader cannot
-- take over a session. `user_id` lets disabling an account end its sessions at once.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   TEXT,
    PRIMARY KEY (user_id, code_hash)
);

-- One-time links that create the first admin.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

-- Failed logins per account (`user:<name>`) and per address (`addr:<ip>`).
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

CREATE TABLE break_glass_grants (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    reason     TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX break_glass_client ON break_glass_grants (client_id, expires_at);

-- The audit trail: mac = HMAC(k_audit, entry || previous mac). Never content.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_role  TEXT,
    action      TEXT NOT NULL,
    client_code TEXT,
    object_id   TEXT,
    reason      TEXT,
    outcome     TEXT NOT NULL,
    flagged     BOOLEAN NOT NULL DEFAULT FALSE,
    mac         BYTEA NOT NULL
);
CREATE INDEX audit_client ON audit_log (client_code);
CREATE INDEX audit_actor ON audit_log (actor);

-- The head of the chain. Each batch of entries starts by updating this row, which takes
-- the write lock at once (SQLite) or locks the row (PostgreSQL, several app servers).
CREATE TABLE audit_head (
    id  BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    mac BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, mac) VALUES (1, 0, '\x'::bytea);
