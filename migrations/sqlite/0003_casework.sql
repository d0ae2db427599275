-- Case work: consents, needs, service providers, referrals, volunteers and support logs.

CREATE TABLE service_categories (
    code    TEXT PRIMARY KEY,
    name_vi TEXT NOT NULL,
    name_en TEXT NOT NULL,
    sort    BIGINT NOT NULL,
    active  INTEGER NOT NULL DEFAULT TRUE
);
INSERT INTO service_categories (code, name_vi, name_en, sort) VALUES
    ('vocational_training', 'Đào tạo nghề', 'Vocational training', 1),
    ('employment', 'Việc làm', 'Employment', 2),
    ('loan', 'Vay vốn', 'Loan', 3),
    ('health_care', 'Chăm sóc sức khỏe', 'Health care', 4),
    ('counselling', 'Tư vấn tâm lý', 'Counselling', 5),
    ('legal_aid', 'Trợ giúp pháp lý', 'Legal aid', 6),
    ('social_assistance', 'Trợ giúp xã hội', 'Social assistance', 7);

-- Each open episode of a case; a reopened case gets a new row, so "open at some time in
-- a period" is answered from history, not from the current status.
CREATE TABLE case_periods (
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    opened_on      TEXT NOT NULL,
    closed_on      TEXT,
    closure_reason TEXT,
    PRIMARY KEY (client_id, opened_on)
);

CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope        TEXT NOT NULL CHECK (scope IN ('data_processing', 'reporting', 'volunteer_contact', 'referral_sharing')),
    category     TEXT REFERENCES service_categories (code),
    given_on     TEXT NOT NULL,
    recorded_by  TEXT REFERENCES users (id),
    expires_on   TEXT,
    withdrawn_on TEXT,
    withdrawn_by TEXT REFERENCES users (id),
    created_at   TEXT NOT NULL
);
CREATE INDEX consents_client ON consents (client_id, scope);

CREATE TABLE needs (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    category      TEXT NOT NULL REFERENCES service_categories (code),
    detail_sealed BLOB,
    assessed_on   TEXT NOT NULL,
    recorded_by   TEXT REFERENCES users (id),
    created_at    TEXT NOT NULL
);
CREATE INDEX needs_client ON needs (client_id);

CREATE TABLE providers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    category   TEXT NOT NULL REFERENCES service_categories (code),
    area       TEXT NOT NULL REFERENCES areas (code),
    contact    TEXT,
    active     INTEGER NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL
);

CREATE TABLE referrals (
    id                     TEXT PRIMARY KEY,
    client_id              TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    need_id                TEXT REFERENCES needs (id) ON DELETE SET NULL,
    category               TEXT NOT NULL REFERENCES service_categories (code),
    provider_id            TEXT REFERENCES providers (id),
    detail_sealed          BLOB,
    status                 TEXT NOT NULL CHECK (status IN ('referred', 'accepted', 'declined', 'cancelled', 'in_service', 'completed', 'dropped_out')),
    referred_on            TEXT NOT NULL,
    last_moved_on          TEXT NOT NULL,
    override_reason_sealed BLOB,
    created_by             TEXT REFERENCES users (id),
    created_at             TEXT NOT NULL,
    version                BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX referrals_client ON referrals (client_id);

CREATE TABLE referral_events (
    id          TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    on_date     TEXT NOT NULL,
    note_sealed BLOB,
    by_user     TEXT REFERENCES users (id),
    at          TEXT NOT NULL
);
CREATE INDEX referral_events_referral ON referral_events (referral_id);
CREATE INDEX referral_events_status ON referral_events (to_status, on_date);

CREATE TABLE client_volunteers (
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id),
    assigned_by TEXT REFERENCES users (id),
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (client_id, user_id)
);

CREATE TABLE support_logs (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    volunteer_id     TEXT NOT NULL REFERENCES users (id),
    kind             TEXT NOT NULL CHECK (kind IN ('home_visit', 'phone_call', 'accompaniment', 'peer_group', 'material_support', 'other')),
    on_date          TEXT NOT NULL,
    duration_minutes BIGINT,
    note_sealed      BLOB,
    needs_follow_up  INTEGER NOT NULL DEFAULT FALSE,
    follow_up_done   INTEGER NOT NULL DEFAULT FALSE,
    created_at       TEXT NOT NULL
);
CREATE INDEX support_logs_client ON support_logs (client_id);
