-- Only the rows this migration inserted.
DELETE FROM size_class_rules WHERE version = 1 AND effective_from = '2011-06-18';
