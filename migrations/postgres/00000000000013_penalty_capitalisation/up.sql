-- The 结息日 on which unpaid penalty and compound interest join the interest
-- base (复利 at the penalty rate): quarterly, the 20th of each quarter's
-- last month. Dated data, like every rule that can change.
INSERT INTO policy_rules (id, rule, effective_from, value, source) VALUES
    ('00000000-0000-7000-8002-000000000103', 'penalty_capitalisation', '2019-01-01',
     '{"months":[3,6,9,12],"day":20}',
     '按季结息, 每季末月20日为结息日; unpaid interest compounds at the penalty rate (BRIEF.md §2.3 day count and penalty interest, 人民币利率管理规定 and 银发〔2003〕251号 [unchecked])');
