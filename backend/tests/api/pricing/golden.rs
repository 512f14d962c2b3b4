//! Golden figures, each worked by hand in the comments. Expected XIRRs were computed to 60
//! digits with an independent tool (Python `decimal`) and are re-verified inside the tests by a
//! method that uses only integer powers (no `ln`/`exp`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use scf_backend::pricing::*;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
fn m(s: &str) -> Money {
    Money::new(d(s)).unwrap()
}
fn date(y: i32, mo: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, day).unwrap()
}
/// 1Y LPR 3.00 % fixed 2025-05-20 (BRIEF §0) plus `bp`.
fn lpr_plus(bp: i64) -> PricedRate {
    let fixing = LprFixing {
        tenor: LprTenor::OneYear,
        date: date(2025, 5, 20),
        rate: AnnualRate::from_percent(d("3.00")).unwrap(),
    };
    PricedRate::lpr_plus(fixing, Bp::from_int(bp).unwrap()).unwrap()
}
fn request(
    face: &str,
    advance_rate: &str,
    start: NaiveDate,
    end: NaiveDate,
    bp: i64,
) -> DiscountQuoteRequest {
    DiscountQuoteRequest {
        face_amount: m(face),
        advance_rate: d(advance_rate),
        financing_date: start,
        maturity_date: end,
        rate: lpr_plus(bp),
        bearer: DiscountBearer::Supplier,
        fees: vec![],
        supplier_size: EnterpriseSize::Small,
    }
}
/// x^n by repeated squaring (integer powers only).
fn powi(x: Decimal, mut n: u32) -> Decimal {
    let (mut base, mut acc) = (x, Decimal::ONE);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}
/// Independent check of a two-flow XIRR: (1+r)^days must equal (repaid/net)^365.
fn assert_two_flow_root(r: Decimal, net: &str, repaid: &str, days: u32) {
    let lhs = powi(Decimal::ONE + r, days);
    let rhs = powi(d(repaid) / d(net), 365);
    let rel = ((lhs - rhs) / rhs).abs();
    assert!(rel < d("1e-20"), "(1+r)^{days} = {lhs}, ratio^365 = {rhs}");
}

#[test]
fn golden_90_day_discount_lpr_300_plus_150bp() {
    // Face 1,000,000.00, advance rate 1 → advance 1,000,000.00.
    // Rate 3.00 % + 150 bp = 0.0300 + 0.0150 = 0.0450.
    // 2026-01-05 → 2026-04-05: 31 (Jan 5→Feb 5) + 28 (→Mar 5) + 31 (→Apr 5) = 90 days.
    // Interest = 1,000,000.00 × 0.045 × 90 / 360 = 45,000 × 0.25 = 11,250.00.
    // Net proceeds = 1,000,000.00 − 11,250.00 = 988,750.00.
    // Flows: 2026-01-05 +988,750.00; 2026-04-05 −1,000,000.00.
    // XIRR = (1,000,000 / 988,750)^(365/90) − 1 = 1.0113780025284450063…^4.0555… − 1
    //      = 0.04695251955268536163…  → 0.0469525196 (10 dp).
    // Simple 年化 (supplier) = 11,250 / 988,750 × 365 / 90 = 0.04614412136536030… → 0.0461441214.
    // All-in simple = 11,250 / 1,000,000 × 365 / 90 = 0.045625 exactly.
    let q = quote_discount(&request(
        "1000000.00",
        "1",
        date(2026, 1, 5),
        date(2026, 4, 5),
        150,
    ))
    .unwrap();
    assert_eq!(q.rate.annual_rate().fraction(), d("0.045"));
    assert_eq!(
        q.rate.fixing().date,
        date(2025, 5, 20),
        "the result names its fixing"
    );
    assert_eq!(q.rate.fixing().tenor, LprTenor::OneYear);
    assert_eq!(q.tenor_days, 90);
    assert_eq!(q.advance_amount, m("1000000.00"));
    assert_eq!(q.discount_interest.total, m("11250.00"));
    assert_eq!(q.discount_interest.supplier, m("11250.00"));
    assert_eq!(q.discount_interest.core_firm, m("0.00"));
    assert_eq!(q.net_proceeds, m("988750.00"));
    assert_eq!(q.supplier_cash_flows.len(), 2);
    assert_eq!(q.supplier_cash_flows[0].amount, m("988750.00"));
    assert_eq!(q.supplier_cash_flows[0].date, date(2026, 1, 5));
    assert_eq!(q.supplier_cash_flows[1].amount, m("-1000000.00"));
    assert_eq!(q.supplier_cash_flows[1].date, date(2026, 4, 5));
    assert_eq!(q.supplier_xirr.rate, d("0.0469525196"));
    assert_eq!(q.supplier_xirr.day_count, DayCount::Act365);
    assert_two_flow_root(
        d("0.04695251955268536163743540503"),
        "988750",
        "1000000",
        90,
    );
    assert_eq!(q.total_cost.total, m("11250.00"));
    assert_eq!(q.total_cost.supplier_simple_annual_rate, d("0.0461441214"));
    assert_eq!(q.total_cost.all_in_simple_annual_rate, d("0.045625"));
    assert_eq!(q.total_cost.items.len(), 1);
    assert!(q.notices.is_empty());
}

#[test]
fn golden_leap_year_span() {
    // 2028-02-15 → 2028-03-15 spans 2028-02-29: 15 + 14 = 29 days (28 in a common year).
    // Interest = 500,000.00 × 0.045 × 29 / 360 = 652,500 / 360 = 1,812.50; net 498,187.50.
    // XIRR uses 29/365 (not 366): (500,000 / 498,187.5)^(365/29) − 1 = 0.04676860069012516…
    let q = quote_discount(&request(
        "500000.00",
        "1",
        date(2028, 2, 15),
        date(2028, 3, 15),
        150,
    ))
    .unwrap();
    assert_eq!(q.tenor_days, 29);
    assert_eq!(q.discount_interest.total, m("1812.50"));
    assert_eq!(q.net_proceeds, m("498187.50"));
    assert_eq!(q.supplier_xirr.rate, d("0.0467686007"));
    assert_two_flow_root(
        d("0.04676860069012516773391872437"),
        "498187.50",
        "500000",
        29,
    );
}

#[test]
fn golden_month_end_spans() {
    // Jan 31 → Feb 28 (2026) = 28 d; Feb 28 → Mar 31 = 31 d; the same in 2028: Jan 31 → Feb 29
    // = 29 d, Feb 29 → Mar 31 = 31 d. 1,000,000 × 0.045 / 360 = 125.00 per day.
    for (start, end, days, interest) in [
        (date(2026, 1, 31), date(2026, 2, 28), 28, "3500.00"),
        (date(2026, 2, 28), date(2026, 3, 31), 31, "3875.00"),
        (date(2026, 1, 31), date(2026, 3, 31), 59, "7375.00"),
        (date(2028, 1, 31), date(2028, 2, 29), 29, "3625.00"),
        (date(2028, 2, 29), date(2028, 3, 31), 31, "3875.00"),
        (date(2028, 1, 31), date(2028, 3, 31), 60, "7500.00"),
    ] {
        let q = quote_discount(&request("1000000.00", "1", start, end, 150)).unwrap();
        assert_eq!(q.tenor_days, days, "{start} → {end}");
        assert_eq!(q.discount_interest.total, m(interest), "{start} → {end}");
    }
}

#[test]
fn golden_one_day_tenor() {
    // 2026-06-30 → 2026-07-01 = 1 day: 1,000,000.00 × 0.045 / 360 = 125.00; net 999,875.00.
    // XIRR = (1,000,000 / 999,875)^365 − 1 = 0.04668481659770927742… (compounding 365 times
    // a daily 0.0125016 % gives slightly more than the simple 365/360 × 4.5 % ≈ 4.5631 %).
    let q = quote_discount(&request(
        "1000000.00",
        "1",
        date(2026, 6, 30),
        date(2026, 7, 1),
        150,
    ))
    .unwrap();
    assert_eq!(q.tenor_days, 1);
    assert_eq!(q.discount_interest.total, m("125.00"));
    assert_eq!(q.net_proceeds, m("999875.00"));
    assert_eq!(q.supplier_xirr.rate, d("0.0466848166"));
    assert_two_flow_root(d("0.04668481659770927742628005317"), "999875", "1000000", 1);
    assert_eq!(q.total_cost.supplier_simple_annual_rate, d("0.0456307038"));
    // A same-day maturity is refused.
    let r = quote_discount(&request(
        "1000000.00",
        "1",
        date(2026, 6, 30),
        date(2026, 6, 30),
        150,
    ));
    assert!(matches!(r, Err(PricingError::EndNotAfterStart { .. })));
}

#[test]
fn golden_split_bearer() {
    // The 90-day deal with the supplier bearing 40 %: total 11,250.00;
    // supplier = round(11,250.00 × 0.40) = 4,500.00; core firm = 11,250.00 − 4,500.00 = 6,750.00.
    // Net = 1,000,000.00 − 4,500.00 = 995,500.00.
    // XIRR = (1,000,000 / 995,500)^(365/90) − 1 = 0.01845949446977695…
    // Supplier simple = 4,500 / 995,500 × 365 / 90 = 0.01833249623304871… → 0.0183324962.
    // All-in simple is unchanged (both payers): 0.045625.
    let mut req = request("1000000.00", "1", date(2026, 1, 5), date(2026, 4, 5), 150);
    req.bearer = DiscountBearer::Split {
        supplier_share: d("0.40"),
    };
    let q = quote_discount(&req).unwrap();
    assert_eq!(q.discount_interest.supplier, m("4500.00"));
    assert_eq!(q.discount_interest.core_firm, m("6750.00"));
    assert_eq!(q.net_proceeds, m("995500.00"));
    assert_eq!(q.supplier_xirr.rate, d("0.0184594945"));
    assert_two_flow_root(
        d("0.01845949446977695053463002976"),
        "995500",
        "1000000",
        90,
    );
    assert_eq!(
        q.total_cost.by_payer[0],
        PayerTotal {
            payer: Payer::Supplier,
            amount: m("4500.00")
        }
    );
    assert_eq!(
        q.total_cost.by_payer[1],
        PayerTotal {
            payer: Payer::CoreFirm,
            amount: m("6750.00")
        }
    );
    assert_eq!(q.total_cost.total, m("11250.00"));
    assert_eq!(q.total_cost.supplier_simple_annual_rate, d("0.0183324962"));
    assert_eq!(q.total_cost.all_in_simple_annual_rate, d("0.045625"));

    // Core firm bears everything: net = advance, XIRR exactly 0.
    req.bearer = DiscountBearer::CoreFirm;
    let q = quote_discount(&req).unwrap();
    assert_eq!(q.net_proceeds, m("1000000.00"));
    assert_eq!(q.supplier_xirr.rate, Decimal::ZERO);
    assert_eq!(q.discount_interest.core_firm, m("11250.00"));

    // Share outside [0, 1] is refused.
    req.bearer = DiscountBearer::Split {
        supplier_share: d("1.01"),
    };
    assert!(matches!(
        quote_discount(&req),
        Err(PricingError::OutOfRange { .. })
    ));
}

#[test]
fn golden_split_rounding_at_half_fen() {
    // 100.01 × 0.5 = 50.005 → supplier 50.01 (half-up), core firm 100.01 − 50.01 = 50.00.
    let s = DiscountBearer::Split {
        supplier_share: d("0.5"),
    }
    .split(m("100.01"))
    .unwrap();
    assert_eq!((s.supplier, s.core_firm), (m("50.01"), m("50.00")));
    // 100.00 × 0.3333333333 = 33.33333333 → 33.33; core firm 66.67. Shares always sum to total.
    let s = DiscountBearer::Split {
        supplier_share: d("0.3333333333"),
    }
    .split(m("100.00"))
    .unwrap();
    assert_eq!((s.supplier, s.core_firm), (m("33.33"), m("66.67")));
}

#[test]
fn golden_fees_fixed_and_proportional() {
    // Face 2,000,000.00 × advance rate 0.90 = advance 1,800,000.00.
    // 2026-03-20 → 2026-09-16: 31 + 30 + 31 + 30 + 31 + 27 = 180 days. Rate 3.00 % + 85 bp = 3.85 %.
    // Interest = 1,800,000 × 0.0385 × 180 / 360 = 69,300 × 0.5 = 34,650.00 (supplier).
    // Factoring fee 0.30 % of advance (supplier → funder)       = 5,400.00
    // Platform fee 0.50 % p.a. of advance, ACT/360 (supplier → platform)
    //   = 1,800,000 × 0.005 × 180 / 360                       = 4,500.00
    // Guarantee fee fixed (core firm → guarantor)               =   500.00
    // Net = 1,800,000 − 34,650 − 5,400 − 4,500 = 1,755,450.00.
    // Supplier costs 44,550.00; core firm 500.00; total 45,050.00.
    // XIRR = (1,800,000 / 1,755,450)^(365/180) − 1 = 0.05213245274437524…
    // Supplier simple = 44,550 / 1,755,450 × 365 / 180 = 0.05146116380415278… → 0.0514611638
    // All-in simple = 45,050 / 1,800,000 × 365 / 180 = 0.05075077160493827… → 0.0507507716
    let mut req = request(
        "2000000.00",
        "0.90",
        date(2026, 3, 20),
        date(2026, 9, 16),
        85,
    );
    req.fees = vec![
        Fee {
            fee_type: FeeType::FactoringFee,
            payer: Payer::Supplier,
            payee: Payee::Funder,
            basis: FeeBasis::RateOfAdvance { rate: d("0.003") },
        },
        Fee {
            fee_type: FeeType::PlatformServiceFee,
            payer: Payer::Supplier,
            payee: Payee::Platform,
            basis: FeeBasis::AnnualRateOfAdvance {
                rate: AnnualRate::new(d("0.005")).unwrap(),
            },
        },
        Fee {
            fee_type: FeeType::GuaranteeFee,
            payer: Payer::CoreFirm,
            payee: Payee::Guarantor,
            basis: FeeBasis::Fixed {
                amount: m("500.00"),
            },
        },
    ];
    let q = quote_discount(&req).unwrap();
    assert_eq!(q.tenor_days, 180);
    assert_eq!(q.advance_amount, m("1800000.00"));
    assert_eq!(q.discount_interest.total, m("34650.00"));
    let amounts: Vec<Money> = q.fees.iter().map(|f| f.amount).collect();
    assert_eq!(amounts, vec![m("5400.00"), m("4500.00"), m("500.00")]);
    assert_eq!(q.net_proceeds, m("1755450.00"));
    assert_eq!(q.supplier_cash_flows[1].amount, m("-1800000.00"));
    assert_eq!(q.total_cost.by_payer[0].amount, m("44550.00"));
    assert_eq!(q.total_cost.by_payer[1].amount, m("500.00"));
    assert_eq!(q.total_cost.total, m("45050.00"));
    assert_eq!(q.total_cost.items.len(), 4);
    assert_eq!(q.total_cost.items[3].payee, Payee::Guarantor);
    assert_eq!(q.supplier_xirr.rate, d("0.0521324527"));
    assert_two_flow_root(
        d("0.05213245274437524605640115932"),
        "1755450",
        "1800000",
        180,
    );
    assert_eq!(q.total_cost.supplier_simple_annual_rate, d("0.0514611638"));
    assert_eq!(q.total_cost.all_in_simple_annual_rate, d("0.0507507716"));
}

#[test]
fn small_firm_fee_rules() {
    let fee = |fee_type| Fee {
        fee_type,
        payer: Payer::CoreFirm,
        payee: Payee::Funder,
        basis: FeeBasis::Fixed {
            amount: m("100.00"),
        },
    };
    let mut req = request("1000000.00", "1", date(2026, 1, 5), date(2026, 4, 5), 150);
    // 承诺费 and 资金管理费 are refused for small and micro firms, even if the core firm pays.
    for forbidden in [FeeType::CommitmentFee, FeeType::FundManagementFee] {
        for size in [EnterpriseSize::Small, EnterpriseSize::Micro] {
            req.supplier_size = size;
            req.fees = vec![fee(FeeType::FactoringFee), fee(forbidden)];
            assert_eq!(
                quote_discount(&req),
                Err(PricingError::FeeForbiddenForSmallFirm {
                    index: 1,
                    fee_type: forbidden
                })
            );
        }
        req.supplier_size = EnterpriseSize::Medium;
        assert!(quote_discount(&req).is_ok());
    }
    // 咨询费 is allowed but flagged.
    req.supplier_size = EnterpriseSize::Micro;
    req.fees = vec![fee(FeeType::ConsultingFee)];
    let q = quote_discount(&req).unwrap();
    assert_eq!(
        q.notices,
        vec![QuoteNotice::RestrictedFeeForSmallFirm {
            index: 0,
            fee_type: FeeType::ConsultingFee
        }]
    );
    // The same fee twice (type, payer, payee) is refused.
    req.fees = vec![fee(FeeType::FactoringFee), fee(FeeType::FactoringFee)];
    assert!(matches!(
        quote_discount(&req),
        Err(PricingError::DuplicateFee { index: 1, .. })
    ));
}

#[test]
fn golden_rounding_edges_at_half_a_fen() {
    // Advance = 100.01 × 0.5 = 50.005 → 50.01 (half-up; half-even would give 50.00).
    // Interest = 50.01 × 0.045 × 90 / 360 = 0.5626125 → 0.56. Net = 49.45.
    let q = quote_discount(&request(
        "100.01",
        "0.5",
        date(2026, 1, 5),
        date(2026, 4, 5),
        150,
    ))
    .unwrap();
    assert_eq!(q.advance_amount, m("50.01"));
    assert_eq!(q.discount_interest.total, m("0.56"));
    assert_eq!(q.net_proceeds, m("49.45"));
    // Interest = 1,000.00 × 0.045 × 1 / 360 = 0.125 → 0.13. Net = 999.87.
    let q = quote_discount(&request(
        "1000.00",
        "1",
        date(2026, 6, 30),
        date(2026, 7, 1),
        150,
    ))
    .unwrap();
    assert_eq!(q.discount_interest.total, m("0.13"));
    assert_eq!(q.net_proceeds, m("999.87"));
    // A proportional fee landing exactly on half a fen:
    let mut req = request("1000.00", "1", date(2026, 6, 30), date(2026, 7, 1), 150);
    req.fees = vec![Fee {
        fee_type: FeeType::FactoringFee,
        payer: Payer::Supplier,
        payee: Payee::Funder,
        basis: FeeBasis::RateOfAdvance {
            rate: d("0.000125"),
        },
    }];
    // 1,000.00 × 0.000125 = 0.125 → 0.13; net = 1,000.00 − 0.13 − 0.13 = 999.74.
    let q = quote_discount(&req).unwrap();
    assert_eq!(q.fees[0].amount, m("0.13"));
    assert_eq!(q.net_proceeds, m("999.74"));
}

#[test]
fn quote_validation() {
    let base = request("1000000.00", "1", date(2026, 1, 5), date(2026, 4, 5), 150);
    let mut r = base.clone();
    r.advance_rate = d("1.01");
    assert!(matches!(
        quote_discount(&r),
        Err(PricingError::OutOfRange {
            field: "advance_rate",
            ..
        })
    ));
    r.advance_rate = Decimal::ZERO;
    assert!(quote_discount(&r).is_err());
    let mut r = base.clone();
    r.face_amount = m("0.00");
    assert!(matches!(
        quote_discount(&r),
        Err(PricingError::NotPositive { .. })
    ));
    // A fixing dated after the financing date cannot have been used.
    let mut r = base.clone();
    r.financing_date = date(2025, 5, 19);
    assert!(matches!(
        quote_discount(&r),
        Err(PricingError::FixingAfterPricingDate { .. })
    ));
    // Fees that eat the whole advance.
    let mut r = base;
    r.fees = vec![Fee {
        fee_type: FeeType::FactoringFee,
        payer: Payer::Supplier,
        payee: Payee::Funder,
        basis: FeeBasis::RateOfAdvance { rate: d("0.99") },
    }];
    assert!(matches!(
        quote_discount(&r),
        Err(PricingError::NonPositiveProceeds { .. })
    ));
}

fn penalty(uplift: &str) -> PenaltyRate {
    PenaltyRate::new(lpr_plus(150), PenaltyKind::Overdue, d(uplift)).unwrap()
}

#[test]
fn golden_overdue_without_compounding_period() {
    // Contract 4.50 %, uplift 0.50 → penalty rate 0.045 × 1.5 = 0.0675.
    // Due 2026-04-05, 3 grace days → past due from 2026-04-08; as of 2026-05-05: DPD = 27 → 关注.
    // 罚息 = 1,000,000.00 × 0.0675 × 27 / 360 = 67,500 × 0.075 = 5,062.50.
    // 复利 = 11,250.00 × 0.0675 × 27 / 360 = 759.375 × 0.075 = 56.953125 → 56.95.
    // Total = 1,000,000.00 + 11,250.00 + 5,062.50 + 56.95 = 1,016,369.45.
    let req = OverdueRequest {
        overdue_principal: m("1000000.00"),
        unpaid_interest: m("11250.00"),
        due_date: date(2026, 4, 5),
        grace_days: 3,
        as_of: date(2026, 5, 5),
        penalty: penalty("0.50"),
        capitalisation_dates: vec![],
    };
    let a = assess_overdue(&req).unwrap();
    assert_eq!(a.penalty.annual_rate().fraction(), d("0.0675"));
    assert_eq!(a.penalty.contract().fixing().date, date(2025, 5, 20));
    assert_eq!(a.past_due_start, date(2026, 4, 8));
    assert_eq!(a.days_past_due, 27);
    assert_eq!(a.classification, RiskClass::SpecialMention);
    assert_eq!(a.classification.chinese_name(), "关注");
    assert_eq!(a.penalty_interest, m("5062.50"));
    assert_eq!(a.compound_interest, m("56.95"));
    assert_eq!(a.total_due, m("1016369.45"));
}

#[test]
fn golden_overdue_with_capitalisation_on_the_20th() {
    // Same obligation, 结息日 2026-04-20 (capitalise) and 2026-05-20 (after as-of: ignored).
    // Period 1 [04-08, 04-20) = 12 d: 罚息 = 67,500 × 12/360 = 2,250.00;
    //   复利 = 759.375 × 12/360 = 25.3125 → 25.31. Base → 11,250 + 2,250 + 25.31 = 13,525.31.
    // Period 2 [04-20, 05-05) = 15 d: 罚息 = 67,500 × 15/360 = 2,812.50;
    //   复利 = 13,525.31 × 0.0675 × 15/360 = 13,694.376375 / 360 = 38.039934375 → 38.04.
    // Σ 罚息 = 5,062.50 (unchanged), Σ 复利 = 63.35, total = 1,016,375.85.
    let req = OverdueRequest {
        overdue_principal: m("1000000.00"),
        unpaid_interest: m("11250.00"),
        due_date: date(2026, 4, 5),
        grace_days: 3,
        as_of: date(2026, 5, 5),
        penalty: penalty("0.50"),
        capitalisation_dates: vec![date(2026, 3, 20), date(2026, 4, 20), date(2026, 5, 20)],
    };
    let a = assess_overdue(&req).unwrap();
    assert_eq!(a.periods.len(), 2);
    assert_eq!(
        (a.periods[0].days, a.periods[0].compound_interest),
        (12, m("25.31"))
    );
    assert!(a.periods[0].capitalised);
    assert_eq!(a.periods[1].interest_base, m("13525.31"));
    assert_eq!(
        (a.periods[1].days, a.periods[1].compound_interest),
        (15, m("38.04"))
    );
    assert!(!a.periods[1].capitalised);
    assert_eq!(a.penalty_interest, m("5062.50"));
    assert_eq!(a.compound_interest, m("63.35"));
    assert_eq!(a.total_due, m("1016375.85"));
    // Unordered dates are refused.
    let mut bad = req;
    bad.capitalisation_dates = vec![date(2026, 4, 20), date(2026, 4, 20)];
    assert!(matches!(
        assess_overdue(&bad),
        Err(PricingError::UnorderedDates { .. })
    ));
}

#[test]
fn golden_grace_and_dpd_boundaries() {
    // Grace shifts the start: due 04-05 + 3 → on 04-08 DPD 0 (正常, no penalty); on 04-09 DPD 1,
    // one day of 罚息 = 67,500 / 360 = 187.50.
    let mut req = OverdueRequest {
        overdue_principal: m("1000000.00"),
        unpaid_interest: m("0.00"),
        due_date: date(2026, 4, 5),
        grace_days: 3,
        as_of: date(2026, 4, 8),
        penalty: penalty("0.50"),
        capitalisation_dates: vec![],
    };
    let a = assess_overdue(&req).unwrap();
    assert_eq!(
        (a.days_past_due, a.classification, a.penalty_interest),
        (0, RiskClass::Normal, m("0.00"))
    );
    req.as_of = date(2026, 4, 9);
    let a = assess_overdue(&req).unwrap();
    assert_eq!(
        (a.days_past_due, a.classification, a.penalty_interest),
        (1, RiskClass::SpecialMention, m("187.50"))
    );
    // Without grace, due 2025-01-01, as of 2026-01-01: 365 DPD → 损失.
    assert_eq!(
        days_past_due(date(2025, 1, 1), 0, date(2026, 1, 1)).unwrap(),
        365
    );
    for (dpd, class) in [
        (0, RiskClass::Normal),
        (1, RiskClass::SpecialMention),
        (90, RiskClass::SpecialMention),
        (91, RiskClass::Substandard),
        (270, RiskClass::Substandard),
        (271, RiskClass::Doubtful),
        (360, RiskClass::Doubtful),
        (361, RiskClass::Loss),
    ] {
        assert_eq!(classify_by_dpd(dpd), class, "dpd {dpd}");
    }
}

#[test]
fn penalty_uplift_ranges() {
    let c = lpr_plus(150);
    assert!(PenaltyRate::new(c, PenaltyKind::Overdue, d("0.29")).is_err());
    assert!(PenaltyRate::new(c, PenaltyKind::Overdue, d("0.51")).is_err());
    // 0.045 × 1.3 = 0.0585
    assert_eq!(
        PenaltyRate::new(c, PenaltyKind::Overdue, d("0.30"))
            .unwrap()
            .annual_rate()
            .fraction(),
        d("0.0585")
    );
    // Misuse: +100 % → 0.09.
    assert_eq!(
        PenaltyRate::new(c, PenaltyKind::Misappropriation, d("1.00"))
            .unwrap()
            .annual_rate()
            .fraction(),
        d("0.09")
    );
    assert!(PenaltyRate::new(c, PenaltyKind::Misappropriation, d("0.49")).is_err());
}

#[test]
fn golden_early_settlement_in_arrears() {
    // 1,000,000.00 at 4.50 %, disbursed 2026-01-05, repaid 2026-02-14: 31 + 9 = 40 days.
    // Interest = 1,000,000 × 0.045 × 40 / 360 = 5,000.00; due 1,005,000.00.
    let mut req = ArrearsSettlementRequest {
        principal: m("1000000.00"),
        rate: lpr_plus(150),
        disbursement_date: date(2026, 1, 5),
        maturity_date: date(2026, 4, 5),
        settlement_date: date(2026, 2, 14),
    };
    let s = settle_in_arrears(&req).unwrap();
    assert_eq!(
        (s.days, s.interest, s.amount_due),
        (40, m("5000.00"), m("1005000.00"))
    );
    req.settlement_date = date(2026, 1, 5);
    assert_eq!(settle_in_arrears(&req).unwrap().interest, m("0.00"));
    req.settlement_date = date(2026, 4, 6);
    assert!(matches!(
        settle_in_arrears(&req),
        Err(PricingError::DateOutsidePeriod { .. })
    ));
}

#[test]
fn golden_early_settlement_of_discount() {
    // The 90-day quote (11,250.00 deducted), settled on 2026-02-14 after 40 days:
    // earned = 1,000,000 × 0.045 × 40 / 360 = 5,000.00; refund = 11,250.00 − 5,000.00 = 6,250.00
    // (= 125.00 × 50 unused days, no rounding here).
    let q = quote_discount(&request(
        "1000000.00",
        "1",
        date(2026, 1, 5),
        date(2026, 4, 5),
        150,
    ))
    .unwrap();
    let s = settle_discount_early(&q, date(2026, 2, 14)).unwrap();
    assert_eq!((s.days_used, s.days_unused), (40, 50));
    assert_eq!(s.interest_earned.total, m("5000.00"));
    assert_eq!(s.refund.total, m("6250.00"));
    assert_eq!(s.refund.supplier, m("6250.00"));
    assert_eq!(s.advance_repaid, m("1000000.00"));
    // At maturity nothing is refunded; on the financing day everything is.
    assert_eq!(
        settle_discount_early(&q, date(2026, 4, 5))
            .unwrap()
            .refund
            .total,
        m("0.00")
    );
    assert_eq!(
        settle_discount_early(&q, date(2026, 1, 5))
            .unwrap()
            .refund
            .total,
        m("11250.00")
    );
    assert!(settle_discount_early(&q, date(2026, 4, 6)).is_err());
}

#[test]
fn golden_refund_rule_differs_from_rounding_unused_days() {
    // Advance 100.00 at 4.50 % for 2 days: per day 100 × 0.045 / 360 = 0.0125.
    // Charged = round(0.025) = 0.03. Settled after 1 day: earned = round(0.0125) = 0.01,
    // refund = 0.03 − 0.01 = 0.02. (Rounding the unused day separately would give 0.01 and
    // leave the funder 0.02 for one day, more than a 1-day quote would charge.)
    // With a 50/50 split: charged supplier round(0.015) = 0.02, core 0.01; earned supplier
    // round(0.005) = 0.01, core 0.00; refund supplier 0.01, core 0.01 — total 0.02.
    let mut req = request("100.00", "1", date(2026, 6, 30), date(2026, 7, 2), 150);
    let q = quote_discount(&req).unwrap();
    assert_eq!(q.discount_interest.total, m("0.03"));
    let s = settle_discount_early(&q, date(2026, 7, 1)).unwrap();
    assert_eq!(
        (s.interest_earned.total, s.refund.total),
        (m("0.01"), m("0.02"))
    );
    req.bearer = DiscountBearer::Split {
        supplier_share: d("0.5"),
    };
    let q = quote_discount(&req).unwrap();
    assert_eq!(
        (q.discount_interest.supplier, q.discount_interest.core_firm),
        (m("0.02"), m("0.01"))
    );
    let s = settle_discount_early(&q, date(2026, 7, 1)).unwrap();
    assert_eq!(
        (s.refund.supplier, s.refund.core_firm, s.refund.total),
        (m("0.01"), m("0.01"), m("0.02"))
    );
}

#[test]
fn golden_overdue_per_period_rounding_on_tiny_balances() {
    // Each capitalisation period is booked, so rounded to the fen, on its 结息日. On a tiny
    // interest base that can book less than a single uncapitalised accrual would:
    // 0.70 × 0.0675 × 800 / 360 = 0.105 → 0.11 uncapitalised, but with 30-day periods each
    // period accrues 0.70 × 0.0675 × 30 / 360 = 0.0039375 → 0.00, so the base never grows
    // and the total booked is 0.00. This is the ledger's behaviour, kept deliberately.
    let start = date(2026, 1, 5);
    let mk = |caps: Vec<NaiveDate>| OverdueRequest {
        overdue_principal: m("0.00"),
        unpaid_interest: m("0.70"),
        due_date: start,
        grace_days: 0,
        as_of: start + chrono::Days::new(800),
        penalty: penalty("0.50"),
        capitalisation_dates: caps,
    };
    assert_eq!(
        assess_overdue(&mk(vec![])).unwrap().compound_interest,
        m("0.11")
    );
    let monthly = (1..27u64)
        .map(|k| start + chrono::Days::new(30 * k))
        .collect();
    assert_eq!(
        assess_overdue(&mk(monthly)).unwrap().compound_interest,
        m("0.00")
    );
}
