-- The rows of a bulk upload exactly as its invoice.batch entry committed
-- to them: one line per row, JCS(row) and "\n", in upload order. The
-- invoices table keeps normalised values (upper-cased numbers, amounts as
-- decimals, po_id absent or null alike), from which JCS(row as sent), and
-- so rows_root, cannot be rebuilt. NULL for batches uploaded before.
ALTER TABLE invoice_batches ADD COLUMN rows_jsonl TEXT;
