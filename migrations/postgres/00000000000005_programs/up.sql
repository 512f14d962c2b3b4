-- 一企一策 programs: one per core enterprise, with versioned plan documents
-- approved by the core firm and every funder the plan names.
-- core_org_id on every table is the distribution key (docs/ARCHITECTURE.md).
CREATE TABLE programs (
    id          UUID PRIMARY KEY,
    core_org_id UUID NOT NULL UNIQUE REFERENCES organisations (id),
    name        TEXT NOT NULL,
    created_seq BIGINT NOT NULL CHECK (created_seq >= 0),
    created_at  TIMESTAMPTZ NOT NULL
);

-- A plan version is immutable once drafted: a change is a new version.
-- document is the plan as canonical JSON (RFC 8785), digest its SHA-256:
-- approvers sign the digest, so they approve exactly these bytes.
CREATE TABLE program_plans (
    id             UUID PRIMARY KEY,
    program_id     UUID NOT NULL REFERENCES programs (id),
    core_org_id    UUID NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    status         TEXT NOT NULL CHECK (status IN ('draft','approved','withdrawn')),
    document       TEXT NOT NULL,
    digest         TEXT NOT NULL CHECK (length(digest) = 64),
    effective_from DATE NOT NULL,
    drafted_by     UUID NOT NULL REFERENCES users (id),
    drafted_seq    BIGINT NOT NULL CHECK (drafted_seq >= 0),
    created_at     TIMESTAMPTZ NOT NULL,
    approved_at    TIMESTAMPTZ,
    UNIQUE (program_id, version)
);

CREATE TABLE plan_approvals (
    plan_id     UUID NOT NULL REFERENCES program_plans (id),
    core_org_id UUID NOT NULL,
    org_id      UUID NOT NULL REFERENCES organisations (id),
    user_id     UUID NOT NULL REFERENCES users (id),
    ledger_seq  BIGINT NOT NULL CHECK (ledger_seq >= 0),
    approved_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (plan_id, org_id)
);

-- Dated regulatory parameters, never constants in code: a revision is a
-- new row with a later effective_from. value is JSON text.
CREATE TABLE policy_rules (
    id             UUID PRIMARY KEY,
    rule           TEXT NOT NULL,
    effective_from DATE NOT NULL,
    value          TEXT NOT NULL,
    source         TEXT NOT NULL,
    UNIQUE (rule, effective_from)
);

INSERT INTO policy_rules (id, rule, effective_from, value, source) VALUES
    ('00000000-0000-7000-8002-000000000001', 'certificate_tenor', '2025-06-15',
     '{"default_max_months":6,"hard_max_months":12}',
     '银发〔2025〕77号: 应收账款电子凭证 payment term 6 months in principle, 1 year at most (BRIEF.md §2.6)');
