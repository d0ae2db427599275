-- Statistics that cannot be differenced (docs/disclosure.md).
-- One row, updated by every publication first thing in its transaction: publications are
-- serialised, so each new release is protected against every release published before it.
CREATE TABLE stats_publication_lock (
    id           INTEGER PRIMARY KEY,
    publications BIGINT NOT NULL
);
INSERT INTO stats_publication_lock (id, publications) VALUES (1, 0);
-- Live progress: at most one snapshot a day, stored and served as stored to everyone.
CREATE TABLE stats_progress (
    day      TEXT PRIMARY KEY,
    period   TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    body     TEXT NOT NULL
);
