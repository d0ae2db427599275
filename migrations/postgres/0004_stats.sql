-- Published statistics: computed once, stored with suppression applied, immutable.
CREATE TABLE stats_releases (
    id           TEXT PRIMARY KEY,
    period       TEXT NOT NULL,
    period_from  TEXT NOT NULL,
    period_to    TEXT NOT NULL,
    version      BIGINT NOT NULL,
    published_at TEXT NOT NULL,
    published_by TEXT REFERENCES users (id),
    reason       TEXT,
    audit_head   TEXT NOT NULL,
    rules        TEXT NOT NULL,
    body         TEXT NOT NULL,
    UNIQUE (period_from, period_to, version)
);
