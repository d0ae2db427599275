-- Who the report is addressed to and who owns the programme, as dated data an admin edits
-- (the 2025 reorganisation moved this work between departments): the entry of a role in
-- force on a day is the one with the latest `valid_from` on or before it. Before the first
-- entry, the settings `programme.report_recipient` and `programme.programme_owner` hold.
CREATE TABLE report_addressees (
    id         TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('recipient', 'owner')),
    name       TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    CONSTRAINT report_addressees_role_day UNIQUE (role, valid_from)
);
