-- Transfers between areas, and where each client was when: an area is never a plain
-- editable field of a client, and statistics count her where she was in each period.

-- The areas a client has belonged to. The row with the latest `from_date` on or before a
-- day is her area that day; the first row (from intake) also covers any earlier day.
CREATE TABLE client_areas (
    id        TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    area      TEXT NOT NULL REFERENCES areas (code),
    from_date TEXT NOT NULL,
    moved_at  TEXT NOT NULL
);
CREATE INDEX client_areas_client ON client_areas (client_id, from_date);
INSERT INTO client_areas (id, client_id, area, from_date, moved_at)
    SELECT id, id, area, opened_on, created_at FROM clients;

-- A request to move a client to another area: asked by the sending side, accepted or
-- declined by a supervisor of the receiving area. The reason and the decision note are
-- sealed with the client's data key (they may describe her life), so erasure shreds them.
CREATE TABLE client_transfers (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    from_area     TEXT NOT NULL REFERENCES areas (code),
    to_area       TEXT NOT NULL REFERENCES areas (code),
    status        TEXT NOT NULL CHECK (status IN ('requested', 'accepted', 'declined', 'cancelled')),
    reason_sealed BYTEA NOT NULL,
    requested_by  TEXT NOT NULL REFERENCES users (id),
    requested_at  TEXT NOT NULL,
    decided_by    TEXT REFERENCES users (id),
    decided_at    TEXT,
    note_sealed   BYTEA,
    effective_on  TEXT
);
-- At most one open request per client.
CREATE UNIQUE INDEX client_transfers_open ON client_transfers (client_id) WHERE status = 'requested';
CREATE INDEX client_transfers_areas ON client_transfers (status, from_area, to_area);

-- An alert may point at a second case (a possible duplicate opened in another area).
ALTER TABLE case_alerts ADD COLUMN related_code TEXT;
