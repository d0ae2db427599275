-- Areas after the 2025 reform: wards (phường) beside communes (xã), a period of validity
-- instead of an `active` flag (a retired unit keeps its history and its clients until
-- they are moved), and the units each one came from.
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt under the same name:
-- the other tables' `REFERENCES areas` then name the new table. Dropping the old one
-- leaves their rows without a parent for a moment; the checks are deferred to the commit
-- (defer_foreign_keys), and each row copied back counts as their parent again.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE areas_before_2025 AS SELECT code, name, kind, parent, active FROM areas;
DROP TABLE areas;
CREATE TABLE areas (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('province', 'city', 'town', 'district', 'commune', 'ward')),
    parent     TEXT REFERENCES areas (code),
    -- The first and last day the unit exists; NULL: since ever, until further notice.
    valid_from TEXT,
    valid_to   TEXT,
    CONSTRAINT areas_validity CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
-- A unit retired before this migration has no known end: it ended before any record.
INSERT INTO areas (code, name, kind, parent, valid_from, valid_to)
    SELECT code, name, kind, parent, NULL, CASE WHEN active THEN NULL ELSE '1970-01-01' END
    FROM areas_before_2025;
DROP TABLE areas_before_2025;

-- Which units a unit took over (the 2024 district a 2025 ward came from): statistics
-- aggregate to the older units through these links, and clients are moved from a
-- retired unit to its successors.
CREATE TABLE area_predecessors (
    area        TEXT NOT NULL REFERENCES areas (code),
    predecessor TEXT NOT NULL REFERENCES areas (code),
    PRIMARY KEY (area, predecessor)
);
CREATE INDEX area_predecessors_predecessor ON area_predecessors (predecessor);
