-- Trade data behind receivables: purchase orders, deliveries and their
-- acceptance, invoices and bulk invoice batches. program_id is on every
-- table (the others also keep core_org_id, the program's core firm): the
-- distribution key (docs/ARCHITECTURE.md).
CREATE TABLE purchase_orders (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs (id),
    core_org_id    TEXT NOT NULL,
    buyer_org_id   TEXT NOT NULL REFERENCES organisations (id),
    seller_org_id  TEXT NOT NULL REFERENCES organisations (id),
    carrier_org_id TEXT REFERENCES organisations (id),
    po_number      TEXT NOT NULL,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL CHECK (currency = 'CNY'),
    order_date     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('issued','delivered','accepted','rejected')),
    recorded_seq   INTEGER NOT NULL CHECK (recorded_seq >= 0),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (program_id, seller_org_id, po_number)
) STRICT;

CREATE INDEX purchase_orders_buyer ON purchase_orders (buyer_org_id, id);
CREATE INDEX purchase_orders_seller ON purchase_orders (seller_org_id, id);

-- A delivery is recorded by the carrier or the seller; the buyer accepts
-- or rejects it (the acceptance is the trade background a funder checks).
CREATE TABLE deliveries (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs (id),
    core_org_id    TEXT NOT NULL,
    po_id          TEXT NOT NULL REFERENCES purchase_orders (id),
    recorded_by    TEXT NOT NULL REFERENCES organisations (id),
    delivered_on   TEXT NOT NULL,
    reference      TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('delivered','accepted','rejected')),
    decision_note  TEXT,
    recorded_seq   INTEGER NOT NULL CHECK (recorded_seq >= 0),
    decided_seq    INTEGER CHECK (decided_seq >= 0),
    created_at     TEXT NOT NULL,
    decided_at     TEXT
) STRICT;

CREATE INDEX deliveries_po ON deliveries (po_id);

-- One bulk upload: the signed invoice.batch intent commits to the rows by
-- their Merkle root; the rows themselves are the invoices with this batch_id.
CREATE TABLE invoice_batches (
    id              TEXT PRIMARY KEY,
    program_id      TEXT NOT NULL REFERENCES programs (id),
    core_org_id     TEXT NOT NULL,
    uploaded_by     TEXT NOT NULL REFERENCES users (id),
    row_count       INTEGER NOT NULL CHECK (row_count >= 1),
    total           TEXT NOT NULL,
    rows_root       TEXT NOT NULL CHECK (length(rows_root) = 64),
    asset_keys_root TEXT NOT NULL CHECK (length(asset_keys_root) = 64),
    ledger_seq      INTEGER NOT NULL CHECK (ledger_seq >= 0),
    created_at      TEXT NOT NULL
) STRICT;

-- asset_key (ledger SPEC.md §6: seller USCC + invoice number, normalised)
-- is unique across the platform: one invoice is financed at most once,
-- whatever the funder. Amounts are CNY; program_id is the distribution key.
CREATE TABLE invoices (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs (id),
    seller_org_id  TEXT NOT NULL REFERENCES organisations (id),
    buyer_org_id   TEXT NOT NULL REFERENCES organisations (id),
    seller_uscc    TEXT NOT NULL CHECK (length(seller_uscc) = 18),
    invoice_number TEXT NOT NULL,
    asset_key      TEXT NOT NULL CHECK (length(asset_key) = 64),
    amount         TEXT NOT NULL,
    issue_date     TEXT NOT NULL,
    due_date       TEXT NOT NULL CHECK (due_date >= issue_date),
    po_id          TEXT REFERENCES purchase_orders (id),
    batch_id       TEXT REFERENCES invoice_batches (id),
    status         TEXT NOT NULL CHECK (status IN ('recorded','confirmed','disputed','assigned','settled','cancelled')),
    certificate_id TEXT,
    recorded_seq   INTEGER NOT NULL CHECK (recorded_seq >= 0),
    created_at     TEXT NOT NULL,
    CHECK (status <> 'assigned' OR certificate_id IS NOT NULL)
) STRICT;

CREATE UNIQUE INDEX invoices_asset_key ON invoices (asset_key);
CREATE INDEX invoices_seller ON invoices (seller_org_id, id);
CREATE INDEX invoices_buyer ON invoices (buyer_org_id, id);
CREATE INDEX invoices_certificate ON invoices (certificate_id);
