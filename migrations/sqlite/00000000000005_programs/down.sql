DROP TABLE policy_rules;
DROP TABLE plan_approvals;
DROP TABLE program_plans;
DROP TABLE programs;
