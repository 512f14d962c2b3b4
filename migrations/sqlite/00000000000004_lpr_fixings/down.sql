DROP TABLE lpr_fixings;
