DROP TABLE assignment_notices;
DROP TABLE certificate_holdings;
DROP TABLE certificates;
