-- Onboarding (SQLite). Keep in step with migrations/postgres.
-- A user created by onboarding, an invitation or an admin exists before it
-- has a key: enrol_key is the public key it must prove possession of to
-- enrol (POST /v1/enrolments). Credentials are never handed over in clear.
ALTER TABLE users ADD COLUMN enrol_key BLOB CHECK (enrol_key IS NULL OR length(enrol_key) = 32);
-- Which dated size-class rule produced size_class (size_class_rules.id).
ALTER TABLE organisations ADD COLUMN size_rule_id TEXT;
-- The operator or core enterprise that brought the organisation in.
ALTER TABLE organisations ADD COLUMN onboarded_by TEXT;
-- Invitations are relationships whose counterparty has not been approved;
-- there is no separate invitation secret to store.
DROP TABLE invitations;
-- Tokens issued over the API are recorded in the ledger (auth.token);
-- ledger_seq names that entry. Bootstrap tokens have none.
ALTER TABLE api_tokens ADD COLUMN ledger_seq INTEGER CHECK (ledger_seq IS NULL OR ledger_seq >= 0);
CREATE INDEX relationships_counterparty ON relationships (counterparty_org_id);
CREATE INDEX organisations_status ON organisations (status, id);
