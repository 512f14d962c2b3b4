-- Receivable financing: applications against payables certificates, the
-- funder's maker/checker decision, the 中登网 registration task, cash
-- movements (disbursement, clearing) and the risk classification.
-- core_org_id on every table is the distribution key (docs/ARCHITECTURE.md).
-- Amounts are exact decimals (TEXT here, NUMERIC on PostgreSQL) and are
-- only ever summed in Rust.
CREATE TABLE financings (
    id                 TEXT PRIMARY KEY,
    program_id         TEXT NOT NULL REFERENCES programs (id),
    core_org_id        TEXT NOT NULL REFERENCES organisations (id),
    certificate_id     TEXT NOT NULL,
    root_id            TEXT NOT NULL,
    applicant_org_id   TEXT NOT NULL REFERENCES organisations (id),
    funder_org_id      TEXT NOT NULL REFERENCES organisations (id),
    face_amount        TEXT NOT NULL,
    advance_amount     TEXT NOT NULL,
    net_proceeds       TEXT NOT NULL,
    financing_date     TEXT NOT NULL,
    maturity_date      TEXT NOT NULL,
    plan_version       INTEGER NOT NULL CHECK (plan_version >= 1),
    -- The quote the applicant saw and signed for (JSON), LPR fixing named.
    quote              TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('applied','recommended','approved','declined',
                           'withdrawn','disbursed','recourse','settled')),
    updated_seq        INTEGER NOT NULL CHECK (updated_seq >= 0)
) STRICT;
CREATE INDEX financings_funder ON financings (funder_org_id, status, id);
CREATE INDEX financings_applicant ON financings (applicant_org_id, id);
CREATE INDEX financings_program ON financings (program_id, status);
-- One live financing per certificate (the ledger's asset encumbrance says
-- the same; this makes the database refuse it too).
CREATE UNIQUE INDEX financings_live_certificate ON financings (certificate_id)
    WHERE status IN ('applied','recommended','approved','disbursed','recourse');

-- Who did what to a financing, with the entry that recorded it: applied,
-- recommended (with the analyst's verdict), approved, declined, withdrawn,
-- disbursed, recourse, settled.
CREATE TABLE financing_steps (
    id           TEXT PRIMARY KEY,
    financing_id TEXT NOT NULL REFERENCES financings (id),
    core_org_id  TEXT NOT NULL,
    step         TEXT NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    note         TEXT,
    ledger_seq   INTEGER NOT NULL CHECK (ledger_seq >= 0),
    at           TEXT NOT NULL
) STRICT;
CREATE INDEX financing_steps_financing ON financing_steps (financing_id, ledger_seq);

-- What the approval found and what happened to the credit since: the
-- 普惠型小微 and 首贷户 flags, the disbursement, the latest classification.
CREATE TABLE financing_credit (
    financing_id   TEXT PRIMARY KEY REFERENCES financings (id),
    core_org_id    TEXT NOT NULL,
    inclusive_sme  INTEGER NOT NULL CHECK (inclusive_sme IN (0, 1)),
    first_loan     INTEGER NOT NULL CHECK (first_loan IN (0, 1)),
    disbursed_on   TEXT,
    account_id     TEXT,
    risk_class     TEXT,
    days_past_due  INTEGER CHECK (days_past_due >= 0),
    classified_on  TEXT
) STRICT;

-- 中登网 registration of the assignment, due a dated number of days after
-- disbursement; open tasks past due are listed to the funder.
CREATE TABLE registration_tasks (
    financing_id    TEXT PRIMARY KEY REFERENCES financings (id),
    core_org_id     TEXT NOT NULL,
    funder_org_id   TEXT NOT NULL REFERENCES organisations (id),
    due_on          TEXT NOT NULL,
    registration_no TEXT,
    evidence_hash   TEXT CHECK (evidence_hash IS NULL OR length(evidence_hash) = 64),
    done_seq        INTEGER CHECK (done_seq >= 0),
    done_at         TEXT,
    created_seq     INTEGER NOT NULL CHECK (created_seq >= 0)
) STRICT;
CREATE INDEX registration_tasks_funder ON registration_tasks (funder_org_id, due_on);

-- Every movement of money the platform instructs, with the entry that
-- recorded it.
CREATE TABLE cash_movements (
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
CREATE INDEX cash_movements_program ON cash_movements (program_id, ledger_seq);
CREATE INDEX cash_movements_financing ON cash_movements (financing_id);

INSERT INTO policy_rules (id, rule, effective_from, value, source) VALUES
    ('00000000-0000-7000-8002-000000000101', 'inclusive_sme_loan', '2019-01-01',
     '{"max_aggregate_credit":"10000000.00"}',
     '普惠型小微企业贷款: 单户授信总额 ≤ 1,000万元 (BRIEF.md §2.8, CBIRC 2019 rules [unchecked])'),
    ('00000000-0000-7000-8002-000000000102', 'registration_deadline', '2019-01-01',
     '{"days_after_disbursement":10}',
     '中登网 registration of the assignment within 10 days of disbursement (BRIEF.md §1.1 step 7, one bank''s practice [unverified])');
