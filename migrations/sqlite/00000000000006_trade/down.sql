DROP TABLE invoices;
DROP TABLE invoice_batches;
DROP TABLE deliveries;
DROP TABLE purchase_orders;
