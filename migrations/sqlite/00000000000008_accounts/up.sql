-- Settlement bank accounts: financing is disbursed only to the holder's
-- verified account (BRIEF.md §1.1, 受托支付). An organisation adds its own
-- account; the platform operator verifies or rejects it (a small-amount
-- test transfer, say); the organisation may revoke a verified one.
-- org_id is the distribution key (docs/ARCHITECTURE.md).
CREATE TABLE settlement_accounts (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organisations (id),
    bank_name      TEXT NOT NULL,
    branch         TEXT NOT NULL,
    -- Normalised: ASCII digits only, 8 to 32 of them.
    account_number TEXT NOT NULL CHECK (length(account_number) BETWEEN 8 AND 32
                                        AND account_number NOT GLOB '*[^0-9]*'),
    account_name   TEXT NOT NULL,
    currency       TEXT NOT NULL CHECK (currency = 'CNY'),
    status         TEXT NOT NULL CHECK (status IN ('pending','verified','rejected','revoked')),
    -- Why it was rejected or revoked.
    reason         TEXT,
    added_by       TEXT NOT NULL REFERENCES users (id),
    added_seq      INTEGER NOT NULL CHECK (added_seq >= 0),
    decided_by     TEXT REFERENCES users (id),
    decided_seq    INTEGER CHECK (decided_seq IS NULL OR decided_seq >= 0),
    revoked_seq    INTEGER CHECK (revoked_seq IS NULL OR revoked_seq >= 0),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;

-- One live (pending or verified) row per account of an organisation; a
-- rejected or revoked account may be added again.
CREATE UNIQUE INDEX settlement_accounts_live
    ON settlement_accounts (org_id, account_number)
    WHERE status IN ('pending','verified');
CREATE INDEX settlement_accounts_org ON settlement_accounts (org_id, id);
CREATE INDEX settlement_accounts_status ON settlement_accounts (status, id);
