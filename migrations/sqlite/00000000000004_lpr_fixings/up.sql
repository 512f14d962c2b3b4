-- LPR (贷款市场报价利率) fixings: dated market data, never constants in code.
-- Published monthly by 全国银行间同业拆借中心 on the 20th (next business day
-- on holidays) for the 1-year and 5-year-plus tenors; rate in percent per
-- annum as published. A row is never edited: a new fixing is a new row
-- (POST /v1/lpr, a signed lpr.publish entry, ledger_seq names it).
-- The seed holds the fixings since the 2019 reform at which a rate changed;
-- months without a change carried the previous value forward. Newer
-- fixings are published by the platform operator.
CREATE TABLE lpr_fixings (
    id          TEXT PRIMARY KEY,
    tenor       TEXT NOT NULL CHECK (tenor IN ('1Y','5Y')),
    fixing_date TEXT NOT NULL,
    rate        TEXT NOT NULL,
    source      TEXT NOT NULL,
    ledger_seq  INTEGER CHECK (ledger_seq IS NULL OR ledger_seq >= 0),
    UNIQUE (tenor, fixing_date)
) STRICT;

INSERT INTO lpr_fixings (id, tenor, fixing_date, rate, source) VALUES
    ('00000000-0000-7000-8001-000000000001', '1Y', '2019-08-20', '4.25', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000002', '5Y', '2019-08-20', '4.85', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000003', '1Y', '2019-09-20', '4.20', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000004', '5Y', '2019-09-20', '4.85', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000005', '1Y', '2019-11-20', '4.15', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000006', '5Y', '2019-11-20', '4.80', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000007', '1Y', '2020-02-20', '4.05', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000008', '5Y', '2020-02-20', '4.75', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000009', '1Y', '2020-04-20', '3.85', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000010', '5Y', '2020-04-20', '4.65', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000011', '1Y', '2021-12-20', '3.80', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000012', '5Y', '2021-12-20', '4.65', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000013', '1Y', '2022-01-20', '3.70', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000014', '5Y', '2022-01-20', '4.60', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000015', '1Y', '2022-05-20', '3.70', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000016', '5Y', '2022-05-20', '4.45', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000017', '1Y', '2022-08-22', '3.65', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000018', '5Y', '2022-08-22', '4.30', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000019', '1Y', '2023-06-20', '3.55', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000020', '5Y', '2023-06-20', '4.20', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000021', '1Y', '2023-08-21', '3.45', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000022', '5Y', '2023-08-21', '4.20', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000023', '1Y', '2024-02-20', '3.45', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000024', '5Y', '2024-02-20', '3.95', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000025', '1Y', '2024-07-22', '3.35', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000026', '5Y', '2024-07-22', '3.85', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000027', '1Y', '2024-10-21', '3.10', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000028', '5Y', '2024-10-21', '3.60', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000029', '1Y', '2025-05-20', '3.00', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate'),
    ('00000000-0000-7000-8001-000000000030', '5Y', '2025-05-20', '3.50', 'seed: published LPR history (全国银行间同业拆借中心), fixings that changed a rate');
