DELETE FROM cash_movements WHERE kind = 'late_interest';
CREATE TABLE cash_movements_old (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs (id),
    core_org_id    TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('disbursement','clearing_deposit','clearing_payout',
                       'early_settlement','recourse_repayment')),
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
INSERT INTO cash_movements_old SELECT * FROM cash_movements;
DROP TABLE cash_movements;
ALTER TABLE cash_movements_old RENAME TO cash_movements;
CREATE INDEX cash_movements_program ON cash_movements (program_id, ledger_seq);
CREATE INDEX cash_movements_financing ON cash_movements (financing_id);

DROP INDEX relationships_parent;
ALTER TABLE relationships DROP COLUMN parent_org_id;
