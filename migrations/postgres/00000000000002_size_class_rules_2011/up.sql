-- Seed: SME size classes under 工信部联企业〔2011〕300号 (BRIEF.md §2.1),
-- effective from its issue date 2011-06-18. Identical on both backends.
--
-- rule JSON: money in 万元 (10,000 CNY), headcount in persons.
--   sme_below:  the firm is an SME if ANY listed indicator is below its bound,
--               large if every one is at or above it;
--   medium_min: an SME is medium if ALL listed indicators are at or above;
--   small_min:  otherwise small if ALL listed indicators are at or above;
--   otherwise micro (any indicator below the small bound).
-- A revision is new rows with a later effective_from (and version), never an
-- edit of these rows. Ids are fixed so both backends hold the same rows.

INSERT INTO size_class_rules (id, industry, effective_from, version, rule, source) VALUES
    ('00000000-0000-7000-8000-000000000001', 'agriculture', '2011-06-18', 1, '{"medium_min":{"revenue":500},"money_unit":"10000 CNY","name_zh":"农、林、牧、渔业","small_min":{"revenue":50},"sme_below":{"revenue":20000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000002', 'industry', '2011-06-18', 1, '{"medium_min":{"headcount":300,"revenue":2000},"money_unit":"10000 CNY","name_zh":"工业","small_min":{"headcount":20,"revenue":300},"sme_below":{"headcount":1000,"revenue":40000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000003', 'construction', '2011-06-18', 1, '{"medium_min":{"revenue":6000,"total_assets":5000},"money_unit":"10000 CNY","name_zh":"建筑业","small_min":{"revenue":300,"total_assets":300},"sme_below":{"revenue":80000,"total_assets":80000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000004', 'wholesale', '2011-06-18', 1, '{"medium_min":{"headcount":20,"revenue":5000},"money_unit":"10000 CNY","name_zh":"批发业","small_min":{"headcount":5,"revenue":1000},"sme_below":{"headcount":200,"revenue":40000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000005', 'retail', '2011-06-18', 1, '{"medium_min":{"headcount":50,"revenue":500},"money_unit":"10000 CNY","name_zh":"零售业","small_min":{"headcount":10,"revenue":100},"sme_below":{"headcount":300,"revenue":20000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000006', 'transport', '2011-06-18', 1, '{"medium_min":{"headcount":300,"revenue":3000},"money_unit":"10000 CNY","name_zh":"交通运输业","small_min":{"headcount":20,"revenue":200},"sme_below":{"headcount":1000,"revenue":30000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000007', 'warehousing', '2011-06-18', 1, '{"medium_min":{"headcount":100,"revenue":1000},"money_unit":"10000 CNY","name_zh":"仓储业","small_min":{"headcount":20,"revenue":100},"sme_below":{"headcount":200,"revenue":30000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000008', 'postal', '2011-06-18', 1, '{"medium_min":{"headcount":300,"revenue":2000},"money_unit":"10000 CNY","name_zh":"邮政业","small_min":{"headcount":20,"revenue":100},"sme_below":{"headcount":1000,"revenue":30000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000009', 'accommodation_catering', '2011-06-18', 1, '{"medium_min":{"headcount":100,"revenue":2000},"money_unit":"10000 CNY","name_zh":"住宿业、餐饮业","small_min":{"headcount":10,"revenue":100},"sme_below":{"headcount":300,"revenue":10000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000010', 'information_transmission', '2011-06-18', 1, '{"medium_min":{"headcount":100,"revenue":1000},"money_unit":"10000 CNY","name_zh":"信息传输业","small_min":{"headcount":10,"revenue":100},"sme_below":{"headcount":2000,"revenue":100000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000011', 'software_it_services', '2011-06-18', 1, '{"medium_min":{"headcount":100,"revenue":1000},"money_unit":"10000 CNY","name_zh":"软件和信息技术服务业","small_min":{"headcount":10,"revenue":50},"sme_below":{"headcount":300,"revenue":10000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000012', 'real_estate_development', '2011-06-18', 1, '{"medium_min":{"revenue":1000,"total_assets":5000},"money_unit":"10000 CNY","name_zh":"房地产开发经营","small_min":{"revenue":100,"total_assets":2000},"sme_below":{"revenue":200000,"total_assets":10000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000013', 'property_management', '2011-06-18', 1, '{"medium_min":{"headcount":300,"revenue":1000},"money_unit":"10000 CNY","name_zh":"物业管理","small_min":{"headcount":100,"revenue":500},"sme_below":{"headcount":1000,"revenue":5000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000014', 'leasing_business_services', '2011-06-18', 1, '{"medium_min":{"headcount":100,"total_assets":8000},"money_unit":"10000 CNY","name_zh":"租赁和商务服务业","small_min":{"headcount":10,"total_assets":100},"sme_below":{"headcount":300,"total_assets":120000}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》'),
    ('00000000-0000-7000-8000-000000000015', 'other', '2011-06-18', 1, '{"medium_min":{"headcount":100},"money_unit":"10000 CNY","name_zh":"其他未列明行业","small_min":{"headcount":10},"sme_below":{"headcount":300}}', '工信部联企业〔2011〕300号《中小企业划型标准规定》');
