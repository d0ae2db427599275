-- Operations: the erasure ledger, chain keys kept across a key rotation, and leases that
-- make a daily job run once across app servers.

-- Each erasure is an entry of an HMAC chain, `mac_i = HMAC(k_erasure, entry_i ‖ mac_{i-1})`,
-- copied to an append-only file outside the database; `serve` and `restore` re-erase every
-- entry of that file, so restoring an older backup cannot bring an erased client back.
-- Rows from before the ledger have no `seq`.
ALTER TABLE erasures ADD COLUMN seq BIGINT;
ALTER TABLE erasures ADD COLUMN mac BLOB;
CREATE UNIQUE INDEX erasures_seq ON erasures (seq);

-- The head of the ledger; an erasure's transaction updates it first, which serialises
-- erasures across app servers.
CREATE TABLE erasure_head (
    id  BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    mac BLOB NOT NULL
);
INSERT INTO erasure_head (id, seq, mac) VALUES (1, 0, X'');

-- MAC keys of the audit chain and of the erasure ledger retired by `hoanhap keys rotate`,
-- sealed under the current master key: entries up to `until_seq` verify with them.
CREATE TABLE retired_chain_keys (
    purpose   TEXT NOT NULL CHECK (purpose IN ('audit', 'erasure', 'checkpoint')),
    key_id    TEXT NOT NULL,
    until_seq BIGINT NOT NULL,
    sealed    BLOB NOT NULL,
    PRIMARY KEY (purpose, key_id)
);

-- A daily job runs on the app server holding its lease until `until`.
CREATE TABLE job_leases (
    job    TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TEXT NOT NULL
);
