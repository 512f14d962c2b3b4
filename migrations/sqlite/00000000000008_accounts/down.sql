DROP TABLE settlement_accounts;
