DROP INDEX financings_applicant_status;
DROP TABLE limit_usage;
