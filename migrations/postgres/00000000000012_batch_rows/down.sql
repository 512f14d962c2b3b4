ALTER TABLE invoice_batches DROP COLUMN rows_jsonl;
