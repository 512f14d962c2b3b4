DROP INDEX organisations_status;
DROP INDEX relationships_counterparty;
ALTER TABLE api_tokens DROP COLUMN ledger_seq;
CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    core_org_id     TEXT NOT NULL REFERENCES organisations (id),
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    token_hash      BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_org_id  TEXT NOT NULL REFERENCES organisations (id),
    expires_at      TEXT NOT NULL,
    accepted_at     TEXT,
    created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX invitations_relationship_id ON invitations (relationship_id);
ALTER TABLE organisations DROP COLUMN onboarded_by;
ALTER TABLE organisations DROP COLUMN size_rule_id;
ALTER TABLE users DROP COLUMN enrol_key;
