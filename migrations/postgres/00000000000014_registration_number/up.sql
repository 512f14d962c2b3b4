-- A registration number is looked up at every registration: one number
-- covers one assignor's financings to one assignee.
CREATE INDEX registration_tasks_number ON registration_tasks (registration_no);
