-- A registration number is looked up at every registration: one number
-- covers one assignor's financings to one assignee.
CREATE INDEX registration_tasks_number ON registration_tasks (registration_no);

-- Before certificate.cancel existed, a certificate its holder rejected kept
-- its invoices assigned; they are free to back another certificate.
UPDATE invoices SET status = 'confirmed', certificate_id = NULL
 WHERE status = 'assigned'
   AND certificate_id IN (SELECT id FROM certificates WHERE status IN ('rejected', 'cancelled'));
