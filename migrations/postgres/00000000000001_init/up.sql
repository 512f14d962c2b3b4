-- Initial schema (PostgreSQL). Keep in step with migrations/sqlite and
-- backend/src/db/schema.rs; the schema-parity test compares the two trees.
-- Ids and timestamps come from the application: no DEFAULTs for them.
-- Every table holding program data carries org_id / core_org_id (the program
-- is the core enterprise's org id) so it can be distributed by program later.

CREATE TABLE organisations (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('platform_operator','core_enterprise','funder','supplier','distributor','warehouse','logistics')),
    name         TEXT NOT NULL,
    uscc         TEXT UNIQUE,
    industry     TEXT,
    status       TEXT NOT NULL CHECK (status IN ('invited','registered','kyc_pending','approved','rejected')),
    kyc_reason   TEXT,
    size_class   TEXT CHECK (size_class IN ('large','medium','small','micro')),
    headcount    INTEGER CHECK (headcount >= 0),
    revenue      NUMERIC(28, 2),
    total_assets NUMERIC(28, 2),
    figures_year INTEGER,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES organisations (id),
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin','maker','checker','viewer','auditor')),
    created_at  TIMESTAMPTZ NOT NULL,
    disabled_at TIMESTAMPTZ
);
CREATE INDEX users_org_id ON users (org_id);

CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id),
    org_id       UUID NOT NULL REFERENCES organisations (id),
    prefix       TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    label        TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE signing_keys (
    key_id      TEXT PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{32}$'),
    user_id     UUID NOT NULL REFERENCES users (id),
    org_id      UUID NOT NULL REFERENCES organisations (id),
    public_key  BYTEA NOT NULL CHECK (octet_length(public_key) = 32),
    added_seq   BIGINT NOT NULL CHECK (added_seq >= 0),
    revoked_seq BIGINT CHECK (revoked_seq > added_seq),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX signing_keys_user_id ON signing_keys (user_id);

CREATE TABLE relationships (
    id                  UUID PRIMARY KEY,
    core_org_id         UUID NOT NULL REFERENCES organisations (id),
    counterparty_org_id UUID NOT NULL REFERENCES organisations (id),
    direction           TEXT NOT NULL CHECK (direction IN ('upstream','downstream')),
    tier                INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 9),
    status              TEXT NOT NULL,
    invited_by_user_id  UUID NOT NULL REFERENCES users (id),
    created_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (core_org_id, counterparty_org_id),
    CHECK (core_org_id <> counterparty_org_id)
);

CREATE TABLE invitations (
    id              UUID PRIMARY KEY,
    core_org_id     UUID NOT NULL REFERENCES organisations (id),
    relationship_id UUID NOT NULL REFERENCES relationships (id),
    token_hash      BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    invited_org_id  UUID NOT NULL REFERENCES organisations (id),
    expires_at      TIMESTAMPTZ NOT NULL,
    accepted_at     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX invitations_relationship_id ON invitations (relationship_id);

-- Dated, versioned rule table: a revised standard is new rows with a later
-- effective_from, never an edit. rule is JSON text (same on both backends).
CREATE TABLE size_class_rules (
    id             UUID PRIMARY KEY,
    industry       TEXT NOT NULL,
    effective_from DATE NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    rule           TEXT NOT NULL,
    source         TEXT NOT NULL,
    UNIQUE (industry, version),
    UNIQUE (industry, effective_from)
);

CREATE TABLE ledger_entries (
    seq        BIGINT PRIMARY KEY CHECK (seq >= 0),
    org_id     TEXT NOT NULL,
    intent_id  TEXT NOT NULL,
    event_type TEXT NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    line       TEXT NOT NULL,
    leaf       BYTEA NOT NULL CHECK (octet_length(leaf) = 32),
    chain      BYTEA NOT NULL CHECK (octet_length(chain) = 32),
    UNIQUE (org_id, intent_id)
);

CREATE TABLE ledger_checkpoints (
    size  BIGINT PRIMARY KEY CHECK (size >= 1),
    line  TEXT NOT NULL,
    root  BYTEA NOT NULL CHECK (octet_length(root) = 32),
    chain BYTEA NOT NULL CHECK (octet_length(chain) = 32),
    time  TIMESTAMPTZ NOT NULL
);

CREATE TABLE idempotency (
    org_id           UUID NOT NULL REFERENCES organisations (id),
    user_id          UUID NOT NULL REFERENCES users (id),
    "key"            TEXT NOT NULL,
    request_hash     BYTEA NOT NULL CHECK (octet_length(request_hash) = 32),
    status           INTEGER,
    response_body    BYTEA,
    response_headers TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    completed_at     TIMESTAMPTZ,
    PRIMARY KEY (user_id, "key")
);
CREATE INDEX idempotency_created_at ON idempotency (created_at);
