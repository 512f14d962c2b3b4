DELETE FROM cash_movements WHERE kind = 'late_interest';
ALTER TABLE cash_movements DROP CONSTRAINT cash_movements_kind_check;
ALTER TABLE cash_movements ADD CONSTRAINT cash_movements_kind_check
    CHECK (kind IN ('disbursement','clearing_deposit','clearing_payout',
                    'early_settlement','recourse_repayment'));

DROP INDEX relationships_parent;
ALTER TABLE relationships DROP COLUMN parent_org_id;
