-- The invoices freed by up.sql stay free: they back no live certificate.
DROP INDEX registration_tasks_number;
