-- Supply-chain links and late interest (PostgreSQL). Keep in step with
-- migrations/sqlite.
-- The tier n-1 counterparty a tier n firm trades with directly (its buyer
-- for a supplier, its seller for a distributor): a holder may pass a
-- certificate only to its own supplier. NULL at tier 1.
ALTER TABLE relationships ADD COLUMN parent_org_id UUID REFERENCES organisations (id);
CREATE INDEX relationships_parent ON relationships (core_org_id, parent_org_id);

-- A late clearing also pays the funders' penalty and compound interest.
ALTER TABLE cash_movements DROP CONSTRAINT cash_movements_kind_check;
ALTER TABLE cash_movements ADD CONSTRAINT cash_movements_kind_check
    CHECK (kind IN ('disbursement','clearing_deposit','clearing_payout',
                    'early_settlement','recourse_repayment','late_interest'));
