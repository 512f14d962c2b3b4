DROP INDEX organisations_status;
DROP INDEX relationships_counterparty;
ALTER TABLE api_tokens DROP COLUMN ledger_seq;
CREATE TABLE invitations (
    id              UUID PRIMARY KEY,
    core_org_id     UUID NOT NULL REFERENCES organisations (id),
    relationship_id UUID NOT NULL REFERENCES relationships (id),
    token_hash      BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    invited_org_id  UUID NOT NULL REFERENCES organisations (id),
    expires_at      TIMESTAMPTZ NOT NULL,
    accepted_at     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX invitations_relationship_id ON invitations (relationship_id);
ALTER TABLE organisations DROP COLUMN onboarded_by;
ALTER TABLE organisations DROP COLUMN size_rule_id;
ALTER TABLE users DROP COLUMN enrol_key;
