DELETE FROM policy_rules WHERE rule = 'penalty_capitalisation';
