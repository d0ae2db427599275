-- Areas after the 2025 reform: wards (phường) beside communes (xã), a period of validity
-- instead of an `active` flag (a retired unit keeps its history and its clients until
-- they are moved), and the units each one came from.
ALTER TABLE areas DROP CONSTRAINT areas_kind_check;
ALTER TABLE areas ADD CONSTRAINT areas_kind_check
    CHECK (kind IN ('province', 'city', 'town', 'district', 'commune', 'ward'));
-- The first and last day the unit exists; NULL: since ever, until further notice.
ALTER TABLE areas ADD COLUMN valid_from TEXT, ADD COLUMN valid_to TEXT;
-- A unit retired before this migration has no known end: it ended before any record.
UPDATE areas SET valid_to = '1970-01-01' WHERE NOT active;
ALTER TABLE areas DROP COLUMN active;
ALTER TABLE areas ADD CONSTRAINT areas_validity
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from);

-- Which units a unit took over (the 2024 district a 2025 ward came from): statistics
-- aggregate to the older units through these links, and clients are moved from a
-- retired unit to its successors.
CREATE TABLE area_predecessors (
    area        TEXT NOT NULL REFERENCES areas (code),
    predecessor TEXT NOT NULL REFERENCES areas (code),
    PRIMARY KEY (area, predecessor)
);
CREATE INDEX area_predecessors_predecessor ON area_predecessors (predecessor);
