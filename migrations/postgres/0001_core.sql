-- hoanhap core schema (PostgreSQL). Dates are ISO `YYYY-MM-DD` text, timestamps RFC 3339
-- UTC text (`YYYY-MM-DDTHH:MM:SSZ`), so both engines share one SQL dialect and
-- comparisons sort correctly. Columns ending in `_sealed` hold AES-256-GCM sealed values.

CREATE TABLE areas (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('province', 'city', 'town', 'district', 'commune')),
    parent TEXT REFERENCES areas (code),
    active BOOLEAN NOT NULL DEFAULT TRUE
);

-- One row: the check value of the master key this database was created with.
CREATE TABLE keyring (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    key_id      TEXT NOT NULL,
    check_value BYTEA NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE code_sequences (
    prefix TEXT NOT NULL,
    year   BIGINT NOT NULL,
    last   BIGINT NOT NULL,
    PRIMARY KEY (prefix, year)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'social_worker', 'volunteer', 'manager', 'auditor')),
    area          TEXT NOT NULL REFERENCES areas (code),
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    password_hash TEXT NOT NULL,
    -- TOTP secret, sealed with the account-secrets subkey of the master key.
    totp_secret_sealed BYTEA,
    totp_enabled  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE clients (
    id                   TEXT PRIMARY KEY,
    code                 TEXT NOT NULL UNIQUE,
    area                 TEXT NOT NULL REFERENCES areas (code),
    status               TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    eligible             BOOLEAN NOT NULL,
    age_band             TEXT NOT NULL,
    opened_on            TEXT NOT NULL,
    closed_on            TEXT,
    closure_reason       TEXT CHECK (closure_reason IN ('reintegrated', 'moved_away', 'withdrew', 'lost_contact', 'deceased', 'other')),
    assigned_worker      TEXT REFERENCES users (id),
    child_protection     BOOLEAN NOT NULL DEFAULT FALSE,
    version              BIGINT NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    full_name_sealed     BYTEA NOT NULL,
    chosen_name_sealed   BYTEA,
    date_of_birth_sealed BYTEA NOT NULL,
    id_number_sealed     BYTEA,
    phone_sealed         BYTEA,
    address_sealed       BYTEA,
    notes_sealed         BYTEA,
    bi_name_dob          BYTEA NOT NULL,
    bi_id_number         BYTEA
);
CREATE INDEX clients_area ON clients (area);
CREATE INDEX clients_bi_name_dob ON clients (bi_name_dob);
CREATE INDEX clients_bi_id_number ON clients (bi_id_number);

-- Each client's data key, wrapped under the master key. Deleting the row shreds the client.
CREATE TABLE client_keys (
    client_id     TEXT PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    master_key_id TEXT NOT NULL,
    wrapped_key   BYTEA NOT NULL
);

-- Codes of erased clients: never reused, re-applied after a restore. No content.
CREATE TABLE erasures (
    code      TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    erased_at TEXT NOT NULL,
    erased_by TEXT
);
