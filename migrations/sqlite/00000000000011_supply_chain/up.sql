-- Supply-chain links and late interest (SQLite). Keep in step with
-- migrations/postgres.
-- The tier n-1 counterparty a tier n firm trades with directly (its buyer
-- for a supplier, its seller for a distributor): a holder may pass a
-- certificate only to its own supplier. NULL at tier 1. No REFERENCES
-- here: SQLite could not drop the column again (down.sql); invite checks it.
ALTER TABLE relationships ADD COLUMN parent_org_id TEXT;
CREATE INDEX relationships_parent ON relationships (core_org_id, parent_org_id);

-- A late clearing also pays the funders' penalty and compound interest.
-- SQLite cannot alter a CHECK, so the table is rebuilt; nothing refers to it.
CREATE TABLE cash_movements_new (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs (id),
    core_org_id    TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('disbursement','clearing_deposit','clearing_payout',
                       'early_settlement','recourse_repayment','late_interest')),
    financing_id   TEXT REFERENCES financings (id),
    certificate_id TEXT,
    payer_org_id   TEXT NOT NULL REFERENCES organisations (id),
    payee_org_id   TEXT NOT NULL REFERENCES organisations (id),
    account_id     TEXT,
    amount         TEXT NOT NULL,
    value_date     TEXT NOT NULL,
    ledger_seq     INTEGER NOT NULL CHECK (ledger_seq >= 0),
    created_at     TEXT NOT NULL
) STRICT;
INSERT INTO cash_movements_new SELECT * FROM cash_movements;
DROP TABLE cash_movements;
ALTER TABLE cash_movements_new RENAME TO cash_movements;
CREATE INDEX cash_movements_program ON cash_movements (program_id, ledger_seq);
CREATE INDEX cash_movements_financing ON cash_movements (financing_id);
