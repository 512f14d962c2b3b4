-- Initial schema (SQLite). Keep in step with migrations/postgres and
-- backend/src/db/schema.rs; the schema-parity test compares the two trees.
-- Ids and timestamps come from the application: no DEFAULTs for them.
-- STRICT tables: SQLite rejects a value of the wrong storage class instead
-- of coercing it (a decimal stays the exact text it was written as).
-- UUID, NUMERIC, TIMESTAMPTZ and DATE columns of the Postgres tree are TEXT
-- here; BYTEA is BLOB; BIGINT is INTEGER.
-- Every table holding program data carries org_id / core_org_id (the program
-- is the core enterprise's org id) so it can be distributed by program later.

CREATE TABLE organisations (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('platform_operator','core_enterprise','funder','supplier','distributor','warehouse','logistics')),
    name         TEXT NOT NULL,
    uscc         TEXT UNIQUE,
    industry     TEXT,
    status       TEXT NOT NULL CHECK (status IN ('invited','registered','kyc_pending','approved','rejected')),
    kyc_reason   TEXT,
    size_class   TEXT CHECK (size_class IN ('large','medium','small','micro')),
    headcount    INTEGER CHECK (headcount >= 0),
    revenue      TEXT,
    total_assets TEXT,
    figures_year INTEGER,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin','maker','checker','viewer','auditor')),
    created_at  TEXT NOT NULL,
    disabled_at TEXT
) STRICT;
CREATE INDEX users_org_id ON users (org_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    prefix       TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT
) STRICT;
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE signing_keys (
    key_id      TEXT PRIMARY KEY CHECK (length(key_id) = 32 AND key_id NOT GLOB '*[^0-9a-f]*'),
    user_id     TEXT NOT NULL REFERENCES users (id),
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    public_key  BLOB NOT NULL CHECK (length(public_key) = 32),
    added_seq   INTEGER NOT NULL CHECK (added_seq >= 0),
    revoked_seq INTEGER CHECK (revoked_seq > added_seq),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX signing_keys_user_id ON signing_keys (user_id);

CREATE TABLE relationships (
    id                  TEXT PRIMARY KEY,
    core_org_id         TEXT NOT NULL REFERENCES organisations (id),
    counterparty_org_id TEXT NOT NULL REFERENCES organisations (id),
    direction           TEXT NOT NULL CHECK (direction IN ('upstream','downstream')),
    tier                INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 9),
    status              TEXT NOT NULL,
    invited_by_user_id  TEXT NOT NULL REFERENCES users (id),
    created_at          TEXT NOT NULL,
    UNIQUE (core_org_id, counterparty_org_id),
    CHECK (core_org_id <> counterparty_org_id)
) STRICT;

CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    core_org_id     TEXT NOT NULL REFERENCES organisations (id),
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    token_hash      BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_org_id  TEXT NOT NULL REFERENCES organisations (id),
    expires_at      TEXT NOT NULL,
    accepted_at     TEXT,
    created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX invitations_relationship_id ON invitations (relationship_id);

-- Dated, versioned rule table: a revised standard is new rows with a later
-- effective_from, never an edit. rule is JSON text (same on both backends).
CREATE TABLE size_class_rules (
    id             TEXT PRIMARY KEY,
    industry       TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    rule           TEXT NOT NULL,
    source         TEXT NOT NULL,
    UNIQUE (industry, version),
    UNIQUE (industry, effective_from)
) STRICT;

CREATE TABLE ledger_entries (
    seq        INTEGER PRIMARY KEY CHECK (seq >= 0),
    org_id     TEXT NOT NULL,
    intent_id  TEXT NOT NULL,
    event_type TEXT NOT NULL,
    time       TEXT NOT NULL,
    line       TEXT NOT NULL,
    leaf       BLOB NOT NULL CHECK (length(leaf) = 32),
    chain      BLOB NOT NULL CHECK (length(chain) = 32),
    UNIQUE (org_id, intent_id)
) STRICT;

CREATE TABLE ledger_checkpoints (
    size  INTEGER PRIMARY KEY CHECK (size >= 1),
    line  TEXT NOT NULL,
    root  BLOB NOT NULL CHECK (length(root) = 32),
    chain BLOB NOT NULL CHECK (length(chain) = 32),
    time  TEXT NOT NULL
) STRICT;

CREATE TABLE idempotency (
    org_id           TEXT NOT NULL REFERENCES organisations (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    "key"            TEXT NOT NULL,
    request_hash     BLOB NOT NULL CHECK (length(request_hash) = 32),
    status           INTEGER,
    response_body    BLOB,
    response_headers TEXT,
    created_at       TEXT NOT NULL,
    completed_at     TEXT,
    PRIMARY KEY (user_id, "key")
) STRICT;
CREATE INDEX idempotency_created_at ON idempotency (created_at);
