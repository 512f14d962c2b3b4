-- What the limits already carry, kept as running sums so that an approval
-- reads a handful of rows instead of summing every exposed financing of
-- the program (and of the borrower across the platform). One row per
-- scope:
--   program       the program's limit            (program_id)
--   funder        a funder's line in the program (program_id, org_id = funder)
--   counterparty  the counterparty limit         (program_id, org_id = applicant)
--   borrower      the 普惠型小微 aggregate credit  (org_id = applicant, platform-wide)
-- Program-scoped rows carry program_id and core_org_id, the distribution
-- key (docs/ARCHITECTURE.md); the borrower aggregate belongs to no program.
-- exposed is the sum of advance_amount over financings in an exposed status
-- (approved, disbursed, recourse), moved by the writer in the transaction
-- that changes a financing's status (receivables/financing.rs set_status).
CREATE TABLE limit_usage (
    id          TEXT PRIMARY KEY,
    scope       TEXT NOT NULL CHECK (scope IN ('program','funder','counterparty','borrower')),
    program_id  TEXT REFERENCES programs (id),
    core_org_id TEXT REFERENCES organisations (id),
    org_id      TEXT REFERENCES organisations (id),
    exposed     TEXT NOT NULL,
    updated_seq INTEGER NOT NULL CHECK (updated_seq >= 0),
    CHECK ((scope = 'borrower') = (program_id IS NULL AND core_org_id IS NULL)),
    CHECK ((scope = 'program') = (org_id IS NULL))
) STRICT;
-- Lookups go through plain indexes (a partial index is no use to a
-- prepared statement whose scope is a parameter); the partial ones keep
-- the program and borrower rows unique, where a key column is NULL.
CREATE UNIQUE INDEX limit_usage_in_program ON limit_usage (program_id, scope, org_id);
CREATE INDEX limit_usage_of_org ON limit_usage (org_id, scope);
CREATE UNIQUE INDEX limit_usage_program ON limit_usage (program_id) WHERE scope = 'program';
CREATE UNIQUE INDEX limit_usage_borrower ON limit_usage (org_id) WHERE scope = 'borrower';

-- 首贷户: whether the applicant was ever lent to is an existence query on
-- (applicant, status).
CREATE INDEX financings_applicant_status ON financings (applicant_org_id, status);

-- An existing database gets its sums from the financings. Amounts are
-- decimal text here, so they are summed exactly as integer fen (every
-- stored amount has at most two decimals) and written back as decimals.
WITH exposed AS (
    SELECT program_id, core_org_id, funder_org_id, applicant_org_id, updated_seq,
           CAST(CASE WHEN instr(advance_amount, '.') = 0 THEN advance_amount || '00'
                     ELSE substr(advance_amount, 1, instr(advance_amount, '.') - 1)
                          || substr(substr(advance_amount, instr(advance_amount, '.') + 1) || '00', 1, 2)
                END AS INTEGER) AS fen
    FROM financings
    WHERE status IN ('approved','disbursed','recourse')
),
sums AS (
    SELECT 'program' AS scope, program_id, core_org_id, NULL AS org_id,
           SUM(fen) AS fen, MAX(updated_seq) AS seq
    FROM exposed GROUP BY program_id, core_org_id
    UNION ALL
    SELECT 'funder', program_id, core_org_id, funder_org_id, SUM(fen), MAX(updated_seq)
    FROM exposed GROUP BY program_id, core_org_id, funder_org_id
    UNION ALL
    SELECT 'counterparty', program_id, core_org_id, applicant_org_id, SUM(fen), MAX(updated_seq)
    FROM exposed GROUP BY program_id, core_org_id, applicant_org_id
    UNION ALL
    SELECT 'borrower', NULL, NULL, applicant_org_id, SUM(fen), MAX(updated_seq)
    FROM exposed GROUP BY applicant_org_id
)
INSERT INTO limit_usage (id, scope, program_id, core_org_id, org_id, exposed, updated_seq)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
           || substr(lower(hex(randomblob(2))), 2) || '-'
           || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2)
           || '-' || lower(hex(randomblob(6))),
       scope, program_id, core_org_id, org_id,
       (fen / 100) || '.' || printf('%02d', fen % 100),
       seq
FROM sums;
