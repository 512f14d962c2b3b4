DROP INDEX registration_tasks_number;
