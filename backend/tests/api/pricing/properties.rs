//! Property tests of the invariants the service relies on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use rust_decimal::Decimal;
use scf_backend::pricing::*;

fn date0() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()
}
fn plus(days: u32) -> NaiveDate {
    date0()
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap()
}
fn priced(lpr_bp: i64, spread_bp: i64) -> PricedRate {
    let fixing = LprFixing {
        tenor: LprTenor::OneYear,
        date: NaiveDate::from_ymd_opt(2025, 5, 20).unwrap(),
        rate: AnnualRate::new(Decimal::new(lpr_bp, 4)).unwrap(),
    };
    PricedRate::lpr_plus(fixing, Bp::from_int(spread_bp).unwrap()).unwrap()
}
fn fen(n: i64) -> Money {
    Money::from_fen(n).unwrap()
}

prop_compose! {
    fn arb_request()(
        face_fen in 100_000i64..100_000_000_000,        // 1,000.00 .. 1,000,000,000.00
        advance_pct in 50i64..=100,                    // 0.50 .. 1.00
        days in 1u32..=366,
        lpr_bp in 250i64..=400,
        spread_bp in -50i64..=400,
        share_pct in 0i64..=100,
        fee_bp in 0i64..=200,                          // flat 0 .. 2 % of advance
        annual_fee_bp in 0i64..=100,                   // 0 .. 1 % p.a.
        fixed_fee_fen in 0i64..=50_000,
        fixed_payer_is_supplier in any::<bool>(),
    ) -> DiscountQuoteRequest {
        DiscountQuoteRequest {
            face_amount: fen(face_fen),
            advance_rate: Decimal::new(advance_pct, 2),
            financing_date: date0(),
            maturity_date: plus(days),
            rate: priced(lpr_bp, spread_bp),
            bearer: DiscountBearer::Split { supplier_share: Decimal::new(share_pct, 2) },
            fees: vec![
                Fee {
                    fee_type: FeeType::FactoringFee,
                    payer: Payer::Supplier,
                    payee: Payee::Funder,
                    basis: FeeBasis::RateOfAdvance { rate: Decimal::new(fee_bp, 4) },
                },
                Fee {
                    fee_type: FeeType::PlatformServiceFee,
                    payer: Payer::Supplier,
                    payee: Payee::Platform,
                    basis: FeeBasis::AnnualRateOfAdvance {
                        rate: AnnualRate::new(Decimal::new(annual_fee_bp, 4)).unwrap(),
                    },
                },
                Fee {
                    fee_type: FeeType::RegistrationFee,
                    payer: if fixed_payer_is_supplier { Payer::Supplier } else { Payer::CoreFirm },
                    payee: Payee::OtherThirdParty,
                    basis: FeeBasis::Fixed { amount: fen(fixed_fee_fen) },
                },
            ],
            supplier_size: EnterpriseSize::Small,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// net proceeds + every supplier-paid cost = advance, and the shares add up.
    #[test]
    fn proceeds_plus_supplier_costs_equal_advance(req in arb_request()) {
        let q = quote_discount(&req).unwrap();
        let supplier_costs: Decimal = q.total_cost.items.iter()
            .filter(|i| i.payer == Payer::Supplier)
            .map(|i| i.amount.amount())
            .sum();
        prop_assert_eq!(q.net_proceeds.amount() + supplier_costs, q.advance_amount.amount());
        prop_assert_eq!(q.total_cost.by_payer[0].amount.amount(), supplier_costs);
        prop_assert_eq!(
            q.discount_interest.supplier.amount() + q.discount_interest.core_firm.amount(),
            q.discount_interest.total.amount()
        );
        prop_assert_eq!(
            q.total_cost.by_payer[0].amount.amount() + q.total_cost.by_payer[1].amount.amount(),
            q.total_cost.total.amount()
        );
        // The supplier's flows are exactly +net and −advance.
        prop_assert_eq!(q.supplier_cash_flows[0].amount, q.net_proceeds);
        prop_assert_eq!(q.supplier_cash_flows[1].amount, q.advance_amount.negated());
    }

    /// The XIRR of a quote's own flows gives NPV ≈ 0 and is non-negative (the supplier never
    /// receives more than it gives up).
    #[test]
    fn quote_xirr_zeroes_npv(req in arb_request()) {
        let q = quote_discount(&req).unwrap();
        let flows: Vec<CashFlow> = q.supplier_cash_flows.iter()
            .map(|f| CashFlow { date: f.date, amount: f.amount }).collect();
        let npv = xnpv(q.supplier_xirr.rate, &flows).unwrap();
        let scale = q.advance_amount.amount();
        // Rate reported to 1e-10; |dNPV/dr| ≤ advance × t, so the NPV at the rounded rate is
        // within about advance × 1e-10.
        prop_assert!(npv.abs() <= scale * Decimal::new(1, 8), "npv {} at {}", npv, q.supplier_xirr.rate);
        prop_assert!(q.supplier_xirr.rate >= Decimal::ZERO);
    }

    /// Interest is monotonic (non-decreasing) in days and in rate.
    #[test]
    fn interest_monotonic(
        p in 1i64..100_000_000_000,
        days in 0u32..3660,
        extra_days in 0u32..400,
        rate_bp in 0i64..2_000,
        extra_bp in 0i64..500,
    ) {
        let principal = fen(p);
        let r = AnnualRate::new(Decimal::new(rate_bp, 4)).unwrap();
        let r2 = AnnualRate::new(Decimal::new(rate_bp + extra_bp, 4)).unwrap();
        let base = interest_act360(principal, r, days).unwrap();
        prop_assert!(interest_act360(principal, r, days + extra_days).unwrap() >= base);
        prop_assert!(interest_act360(principal, r2, days).unwrap() >= base);
        // And it is the exact product rounded half-up once.
        let exact = principal.amount() * r.fraction() * Decimal::from(days) / Decimal::from(360);
        let diff = (base.amount() - exact).abs();
        prop_assert!(diff <= Decimal::new(5, 3), "{} vs exact {}", base, exact);
    }

    /// Any conventional flow set (one outflow, later inflows): XIRR zeroes the NPV.
    #[test]
    fn xirr_zeroes_npv_of_generated_flows(
        out_fen in 100_000i64..10_000_000_000,
        inflows in prop::collection::vec((30u32..730, 1i64..1_000), 1..5),
        total_pct in 80i64..=150,
    ) {
        let weight_sum: i64 = inflows.iter().map(|&(_, w)| w).sum();
        let total_in = out_fen * total_pct / 100;
        let mut flows = vec![CashFlow { date: date0(), amount: fen(-out_fen) }];
        for &(day, w) in &inflows {
            let amount = total_in * w / weight_sum;
            if amount > 0 {
                flows.push(CashFlow { date: plus(day), amount: fen(amount) });
            }
        }
        prop_assume!(flows.len() > 1);
        let s = xirr(&flows).unwrap();
        let npv = xnpv(s.rate, &flows).unwrap();
        let gross: Decimal = flows.iter().map(|f| f.amount.amount().abs()).sum();
        prop_assert!(npv.abs() <= gross * Decimal::new(1, 6), "npv {} at {} ({:?})", npv, s.rate, s.method);
    }

    /// Classification never improves as DPD grows.
    #[test]
    fn classification_monotonic(a in 0u32..2_000, b in 0u32..2_000) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(classify_by_dpd(lo) <= classify_by_dpd(hi));
    }

    /// Early settlement of a discount: earned + refund = charged per party, refunds are never
    /// negative, and settling later never refunds more.
    #[test]
    fn discount_refund_invariants(req in arb_request(), used_a in 0u32..=366, used_b in 0u32..=366) {
        let q = quote_discount(&req).unwrap();
        let (a, b) = (used_a.min(q.tenor_days), used_b.min(q.tenor_days));
        let (early, late) = (a.min(b), a.max(b));
        let s1 = settle_discount_early(&q, plus(early)).unwrap();
        let s2 = settle_discount_early(&q, plus(late)).unwrap();
        for s in [&s1, &s2] {
            prop_assert_eq!(s.interest_earned.total.amount() + s.refund.total.amount(), q.discount_interest.total.amount());
            prop_assert_eq!(s.interest_earned.supplier.amount() + s.refund.supplier.amount(), q.discount_interest.supplier.amount());
            prop_assert_eq!(s.interest_earned.core_firm.amount() + s.refund.core_firm.amount(), q.discount_interest.core_firm.amount());
            prop_assert!(s.refund.supplier.amount() >= Decimal::ZERO);
            prop_assert!(s.refund.core_firm.amount() >= Decimal::ZERO);
        }
        prop_assert!(s2.refund.total <= s1.refund.total);
    }

    /// Overdue: penalty and compound interest never decrease with time. Capitalising at
    /// settlement dates accrues at least as much *before rounding*; since each booked period is
    /// rounded to the fen, the booked total may fall short by at most half a fen per period
    /// plus half a fen for the uncapitalised figure (see golden test
    /// `golden_overdue_per_period_rounding_on_tiny_balances`).
    #[test]
    fn overdue_monotonic(
        p in 0i64..10_000_000_000,
        i in 0i64..100_000_000,
        grace in 0u32..10,
        d1 in 0u32..800,
        extra in 0u32..200,
        uplift_pct in 30i64..=50,
    ) {
        let penalty = PenaltyRate::new(priced(300, 150), PenaltyKind::Overdue, Decimal::new(uplift_pct, 2)).unwrap();
        let mk = |as_of: u32, caps: Vec<NaiveDate>| OverdueRequest {
            overdue_principal: fen(p),
            unpaid_interest: fen(i),
            due_date: date0(),
            grace_days: grace,
            as_of: plus(as_of),
            penalty,
            capitalisation_dates: caps,
        };
        let monthly: Vec<NaiveDate> = (1..40).map(|k| plus(k * 30)).collect();
        let a = assess_overdue(&mk(d1, vec![])).unwrap();
        let b = assess_overdue(&mk(d1 + extra, vec![])).unwrap();
        prop_assert!(b.penalty_interest >= a.penalty_interest);
        prop_assert!(b.compound_interest >= a.compound_interest);
        prop_assert!(b.days_past_due >= a.days_past_due);
        prop_assert!(b.classification >= a.classification);
        let c = assess_overdue(&mk(d1 + extra, monthly)).unwrap();
        let slack = Decimal::new(5, 3) * Decimal::from(c.periods.len() + 1);
        prop_assert!(c.compound_interest.amount() + slack >= b.compound_interest.amount());
        prop_assert_eq!(c.days_past_due, b.days_past_due);
    }
}
