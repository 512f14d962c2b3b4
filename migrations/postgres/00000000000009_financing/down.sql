DELETE FROM policy_rules WHERE rule IN ('inclusive_sme_loan', 'registration_deadline');
DROP TABLE cash_movements;
DROP TABLE registration_tasks;
DROP TABLE financing_credit;
DROP TABLE financing_steps;
DROP TABLE financings;
