-- Payables certificates (应收账款电子凭证): confirmed by the core enterprise
-- (its maker proposes, its checker confirms), accepted by the supplier,
-- split and transferred along the chain. core_org_id (the issuer) is the
-- distribution key (docs/ARCHITECTURE.md). Amounts are exact decimals.
CREATE TABLE certificates (
    id            UUID PRIMARY KEY,
    program_id    UUID NOT NULL REFERENCES programs (id),
    core_org_id   UUID NOT NULL REFERENCES organisations (id),
    -- The certificate the issuer confirmed; a split child keeps its root.
    root_id       UUID NOT NULL,
    parent_id     UUID REFERENCES certificates (id),
    holder_org_id UUID NOT NULL REFERENCES organisations (id),
    -- This certificate's own amount: the face value for a root, the split
    -- share for a child.
    amount        NUMERIC(28, 2) NOT NULL,
    maturity_date DATE NOT NULL,
    issued_on     DATE,
    status        TEXT NOT NULL CHECK (status IN ('proposed','issued','active','locked','split',
                      'financed','settled','rejected','cancelled')),
    -- JSON array of invoice ids named by the proposal.
    invoice_ids   TEXT NOT NULL,
    proposed_by   UUID NOT NULL REFERENCES users (id),
    confirmed_by  UUID REFERENCES users (id),
    created_seq   BIGINT NOT NULL CHECK (created_seq >= 0),
    updated_seq   BIGINT NOT NULL CHECK (updated_seq >= 0),
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX certificates_holder ON certificates (holder_org_id, id);
CREATE INDEX certificates_issuer ON certificates (core_org_id, root_id, id);
CREATE INDEX certificates_parent ON certificates (parent_id);

-- Who held a certificate when: one row per holding, closed by the entry
-- that ended it.
CREATE TABLE certificate_holdings (
    certificate_id UUID NOT NULL REFERENCES certificates (id),
    core_org_id    UUID NOT NULL,
    holder_org_id  UUID NOT NULL REFERENCES organisations (id),
    from_seq       BIGINT NOT NULL CHECK (from_seq >= 0),
    to_seq         BIGINT CHECK (to_seq >= from_seq),
    from_at        TIMESTAMPTZ NOT NULL,
    to_at          TIMESTAMPTZ,
    PRIMARY KEY (certificate_id, from_seq)
);
CREATE INDEX certificate_holdings_holder ON certificate_holdings (holder_org_id, certificate_id);

-- The notice of assignment to the issuer (Civil Code Art. 546) recorded with
-- every transfer: the assignment binds the issuer once it is notified.
CREATE TABLE assignment_notices (
    id              UUID PRIMARY KEY,
    core_org_id     UUID NOT NULL REFERENCES organisations (id),
    program_id      UUID NOT NULL REFERENCES programs (id),
    certificate_id  UUID NOT NULL REFERENCES certificates (id),
    root_id         UUID NOT NULL,
    assignor_org_id UUID NOT NULL REFERENCES organisations (id),
    assignee_org_id UUID NOT NULL REFERENCES organisations (id),
    amount          NUMERIC(28, 2) NOT NULL,
    ledger_seq      BIGINT NOT NULL UNIQUE CHECK (ledger_seq >= 0),
    notified_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX assignment_notices_issuer ON assignment_notices (core_org_id, ledger_seq);
