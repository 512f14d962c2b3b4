//! XIRR in `Decimal`: the annualised internal rate of return of dated cash flows.
//!
//! Convention (spreadsheet XIRR, as in Excel/LibreOffice `XIRR`): find r with
//!
//! ```text
//!     Σ_i  a_i / (1 + r)^((d_i − d_0) / 365)  =  0
//! ```
//!
//! where d_0 is the earliest date and the exponent is actual days / 365 whatever the leap
//! years (ACT/365 "fixed"). This is the compound (IRR) method that BRIEF §2.3 (中国人民银行公告
//! 〔2021〕第3号) allows for the disclosed 年化利率; the simple method is reported separately and
//! labelled as such by the callers.
//!
//! Solver: Newton from r = 0.1 (the spreadsheet default guess), at most
//! [`XIRR_MAX_NEWTON_ITERATIONS`] steps, kept inside r > −1; if Newton fails (derivative zero,
//! no convergence, an evaluation overflows) it falls back to bisection on the first sign change
//! found on a fixed grid of rates from −0.999999999 to 1e12, at most
//! [`XIRR_MAX_BISECTION_ITERATIONS`] halvings. Converged when a step (or the bracket) is at most
//! [`XIRR_TOLERANCE`] × max(1, |r|). The reported rate is rounded half-up to
//! `rate::RATE_OUTPUT_DP` (10) decimals. With one sign change in the flows (every flow the
//! engine builds) the root is unique; with several, the one found is documented by `method`.
//! All arithmetic is `Decimal` (28 digits) through `dmath::{ln, exp}`; no floats.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::daycount::{DayCount, days_between};
use super::dmath;
use super::error::PricingError;
use super::money::Money;
use super::rate::round_output_rate;

/// Convergence tolerance on the rate, relative to max(1, |r|): 1e-12.
pub const XIRR_TOLERANCE: Decimal = Decimal::from_parts(1, 0, 0, false, 12);
/// Newton steps before falling back to bisection.
pub const XIRR_MAX_NEWTON_ITERATIONS: u32 = 50;
/// Bisection halvings before giving up (the grid's widest bracket needs about 80).
pub const XIRR_MAX_BISECTION_ITERATIONS: u32 = 200;
/// Newton's starting point, as in spreadsheet XIRR.
pub const XIRR_INITIAL_GUESS: Decimal = Decimal::from_parts(1, 0, 0, false, 1);

/// One dated, signed cash flow (positive = received by the party whose view this is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashFlow {
    /// Value date.
    pub date: NaiveDate,
    /// Signed amount.
    pub amount: Money,
}

/// How the root was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XirrMethod {
    /// Newton–Raphson converged.
    Newton,
    /// Newton failed; bisection converged.
    Bisection,
}

/// An XIRR result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct XirrSolution {
    /// Annual rate as a fraction, rounded to 10 decimals.
    pub rate: Decimal,
    /// Always ACT/365: the exponent convention.
    pub day_count: DayCount,
    /// Solver that produced the root.
    pub method: XirrMethod,
    /// Total iterations spent (Newton + bisection).
    pub iterations: u32,
}

/// Flows as (days since the earliest date, amount).
struct Prepared(Vec<(Decimal, Decimal)>);

impl Prepared {
    fn new(flows: &[CashFlow]) -> Result<Self, PricingError> {
        let base = flows
            .iter()
            .map(|f| f.date)
            .min()
            .ok_or(PricingError::XirrNeedsSignChange)?;
        flows
            .iter()
            .map(|f| {
                Ok((
                    Decimal::from(days_between(base, f.date)?),
                    f.amount.amount(),
                ))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Prepared)
    }

    /// NPV at r and, if asked, its derivative d NPV / d r.
    fn eval(&self, r: Decimal, with_derivative: bool) -> Result<(Decimal, Decimal), PricingError> {
        const CONTEXT: &str = "xirr npv";
        let overflow = || PricingError::Overflow { context: CONTEXT };
        let one_plus_r = Decimal::ONE.checked_add(r).ok_or_else(overflow)?;
        let l = dmath::ln(one_plus_r)?;
        let year = Decimal::from(DayCount::Act365.year_days());
        let mut npv = Decimal::ZERO;
        let mut derivative = Decimal::ZERO;
        for &(days, amount) in &self.0 {
            // (1+r)^(−t) = exp(−days·ln(1+r)/365)
            let exponent = days.checked_mul(l).ok_or_else(overflow)? / year;
            let pv = amount
                .checked_mul(dmath::exp(-exponent)?)
                .ok_or_else(overflow)?;
            npv = npv.checked_add(pv).ok_or_else(overflow)?;
            if with_derivative {
                // d/dr [a (1+r)^(−t)] = −t · a (1+r)^(−t) / (1+r)
                let term = pv.checked_mul(days).ok_or_else(overflow)? / year;
                let term = term.checked_div(one_plus_r).ok_or_else(overflow)?;
                derivative = derivative.checked_sub(term).ok_or_else(overflow)?;
            }
        }
        Ok((npv, derivative))
    }
}

/// Net present value at annual rate `rate` (> −1) under the XIRR convention.
pub fn xnpv(rate: Decimal, flows: &[CashFlow]) -> Result<Decimal, PricingError> {
    if rate <= -Decimal::ONE {
        return Err(PricingError::OutOfRange {
            field: "xnpv rate",
            value: rate,
            min: -Decimal::ONE,
            max: Decimal::MAX,
        });
    }
    Ok(Prepared::new(flows)?.eval(rate, false)?.0)
}

/// Solves XIRR for `flows` (any order). See the module docs for convention and solver.
pub fn xirr(flows: &[CashFlow]) -> Result<XirrSolution, PricingError> {
    let has_in = flows.iter().any(|f| f.amount.is_positive());
    let has_out = flows.iter().any(|f| f.amount.amount() < Decimal::ZERO);
    if !has_in || !has_out {
        return Err(PricingError::XirrNeedsSignChange);
    }
    let prepared = Prepared::new(flows)?;
    let solution = match newton(&prepared) {
        Some((rate, iterations)) => XirrSolution {
            rate,
            day_count: DayCount::Act365,
            method: XirrMethod::Newton,
            iterations,
        },
        None => {
            let (rate, iterations) = bisection(&prepared)?;
            XirrSolution {
                rate,
                day_count: DayCount::Act365,
                method: XirrMethod::Bisection,
                iterations: iterations + XIRR_MAX_NEWTON_ITERATIONS,
            }
        }
    };
    Ok(XirrSolution {
        rate: round_output_rate(solution.rate),
        ..solution
    })
}

fn converged(step: Decimal, r: Decimal) -> bool {
    step.abs() <= XIRR_TOLERANCE * r.abs().max(Decimal::ONE)
}

fn newton(p: &Prepared) -> Option<(Decimal, u32)> {
    let minus_one = -Decimal::ONE;
    let mut r = XIRR_INITIAL_GUESS;
    for i in 1..=XIRR_MAX_NEWTON_ITERATIONS {
        let (f, fp) = p.eval(r, true).ok()?;
        if f.is_zero() {
            return Some((r, i));
        }
        if fp.is_zero() {
            return None;
        }
        let step = f.checked_div(fp)?;
        let mut next = r.checked_sub(step)?;
        if next <= minus_one {
            // Stay in the domain: go halfway towards −1 instead of past it.
            next = (r + minus_one) / Decimal::TWO;
        }
        if converged(next - r, next) {
            return Some((next, i));
        }
        r = next;
    }
    None
}

/// Rates probed for a sign change, ascending.
fn grid() -> [Decimal; 22] {
    [
        Decimal::new(-999_999_999, 9),
        Decimal::new(-99, 2),
        Decimal::new(-9, 1),
        Decimal::new(-5, 1),
        Decimal::new(-2, 1),
        Decimal::ZERO,
        Decimal::new(5, 2),
        Decimal::new(1, 1),
        Decimal::new(2, 1),
        Decimal::new(5, 1),
        Decimal::ONE,
        Decimal::TWO,
        Decimal::new(5, 0),
        Decimal::TEN,
        Decimal::new(100, 0),
        Decimal::new(1_000, 0),
        Decimal::new(10_000, 0),
        Decimal::new(1_000_000, 0),
        Decimal::new(100_000_000, 0),
        Decimal::new(10_000_000_000, 0),
        Decimal::new(1_000_000_000_000, 0),
        Decimal::new(1_000_000_000_000_000, 0),
    ]
}

fn same_sign(a: Decimal, b: Decimal) -> bool {
    a.is_sign_negative() == b.is_sign_negative() && !a.is_zero() && !b.is_zero()
}

fn bisection(p: &Prepared) -> Result<(Decimal, u32), PricingError> {
    let npv = |r: Decimal| p.eval(r, false).map(|(f, _)| f);
    let mut bracket = None;
    let mut previous: Option<(Decimal, Decimal)> = None;
    for r in grid() {
        let Ok(f) = npv(r) else { continue };
        if f.is_zero() {
            return Ok((r, 0));
        }
        if let Some((pr, pf)) = previous
            && !same_sign(pf, f)
        {
            bracket = Some((pr, pf, r));
            break;
        }
        previous = Some((r, f));
    }
    let (mut lo, mut f_lo, mut hi) = bracket.ok_or(PricingError::XirrNoRoot)?;
    for i in 1..=XIRR_MAX_BISECTION_ITERATIONS {
        let mid = (lo + hi) / Decimal::TWO;
        let f_mid = npv(mid)?;
        if f_mid.is_zero() {
            return Ok((mid, i));
        }
        if same_sign(f_mid, f_lo) {
            lo = mid;
            f_lo = f_mid;
        } else {
            hi = mid;
        }
        if converged(hi - lo, mid) {
            return Ok(((lo + hi) / Decimal::TWO, i));
        }
    }
    Err(PricingError::XirrNotConverged {
        iterations: XIRR_MAX_NEWTON_ITERATIONS + XIRR_MAX_BISECTION_ITERATIONS,
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;
    use crate::pricing::testutil::*;

    fn cf(y: i32, m: u32, day: u32, amount: &str) -> CashFlow {
        CashFlow {
            date: date(y, m, day),
            amount: Money::new(d(amount)).unwrap(),
        }
    }

    /// x^n by repeated squaring: integer powers only, no ln/exp.
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

    /// Independent XIRR check that never calls `dmath::ln`/`exp`: with v = (1+r)^(−1/365) the
    /// NPV is the polynomial Σ a_i v^(days_i); bisect for v in (0, 1.5), then r = v^(−365) − 1.
    fn xirr_by_polynomial_bisection(flows: &[CashFlow]) -> Decimal {
        let base = flows.iter().map(|f| f.date).min().unwrap();
        let terms: Vec<(u32, Decimal)> = flows
            .iter()
            .map(|f| (days_between(base, f.date).unwrap(), f.amount.amount()))
            .collect();
        let poly = |v: Decimal| terms.iter().map(|&(n, a)| a * powi(v, n)).sum::<Decimal>();
        let (mut lo, mut hi) = (d("0.5"), Decimal::ONE + d("0.5"));
        let f_lo = poly(lo);
        for _ in 0..120 {
            let mid = (lo + hi) / Decimal::TWO;
            if (poly(mid) > Decimal::ZERO) == (f_lo > Decimal::ZERO) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Decimal::ONE / powi(lo, 365) - Decimal::ONE
    }

    #[test]
    fn golden_spreadsheet_documentation_example() {
        // The XIRR example from the spreadsheet vendor's documentation:
        //   2008-01-01 −10,000; 2008-03-01 +2,750; 2008-10-30 +4,250;
        //   2009-02-15 +3,250; 2009-04-01 +2,750   → documented result 0.373362535 (37.34 %).
        // A 60-digit bisection (Python decimal) gives 0.37336253351883151...; the documented
        // figure differs in the 9th digit because the spreadsheet stops at 1e-8.
        let flows = [
            cf(2008, 1, 1, "-10000"),
            cf(2008, 3, 1, "2750"),
            cf(2008, 10, 30, "4250"),
            cf(2009, 2, 15, "3250"),
            cf(2009, 4, 1, "2750"),
        ];
        let s = xirr(&flows).unwrap();
        assert_eq!(s.rate, d("0.3733625335"));
        assert_eq!(s.method, XirrMethod::Newton);
        let independent = xirr_by_polynomial_bisection(&flows);
        assert!(
            (independent - d("0.373362533518831510")).abs() < d("1e-15"),
            "{independent}"
        );
        assert!(xnpv(s.rate, &flows).unwrap().abs() < d("1e-6"));
    }

    #[test]
    fn golden_two_flow_closed_form() {
        // +988,750.00 on day 0, −1,000,000.00 on day 90: r = (1,000,000 / 988,750)^(365/90) − 1
        // = 0.046952519552685361637... (60-digit Python decimal).
        let flows = [cf(2026, 1, 5, "988750.00"), cf(2026, 4, 5, "-1000000.00")];
        let s = xirr(&flows).unwrap();
        assert_eq!(s.rate, d("0.0469525196"));
        let independent = xirr_by_polynomial_bisection(&flows);
        assert!(
            (independent - d("0.046952519552685361637")).abs() < d("1e-15"),
            "{independent}"
        );
    }

    #[test]
    fn sign_of_flows_does_not_matter_and_order_does_not_matter() {
        let a = [cf(2026, 1, 5, "988750.00"), cf(2026, 4, 5, "-1000000.00")];
        let b = [cf(2026, 4, 5, "1000000.00"), cf(2026, 1, 5, "-988750.00")];
        assert_eq!(xirr(&a).unwrap().rate, xirr(&b).unwrap().rate);
    }

    #[test]
    fn extreme_short_tenor_and_negative_rates() {
        // 1 day, 5 % fee: r = (1/0.95)^365 − 1 ≈ 1.3e8; found (Newton or bisection) without overflow.
        let flows = [cf(2026, 6, 30, "95.00"), cf(2026, 7, 1, "-100.00")];
        let s = xirr(&flows).unwrap();
        let expected = Decimal::ONE / powi(d("0.95"), 365) - Decimal::ONE;
        assert!(
            ((s.rate - expected) / expected).abs() < d("1e-10"),
            "{} vs {expected}",
            s.rate
        );
        // Receiving more than paid back: negative rate. 100 → 90 over 365 days = −10 %.
        let flows = [cf(2026, 1, 1, "100.00"), cf(2027, 1, 1, "-90.00")];
        assert_eq!(xirr(&flows).unwrap().rate, d("-0.1"));
    }

    #[test]
    fn refuses_flows_without_a_sign_change() {
        assert_eq!(xirr(&[]), Err(PricingError::XirrNeedsSignChange));
        assert_eq!(
            xirr(&[cf(2026, 1, 1, "1.00"), cf(2026, 2, 1, "2.00")]),
            Err(PricingError::XirrNeedsSignChange)
        );
    }

    #[test]
    fn bisection_fallback_agrees_with_newton() {
        // White-box: run the fallback on flows Newton solves, compare the unrounded roots.
        let sets = [
            vec![cf(2026, 1, 5, "988750.00"), cf(2026, 4, 5, "-1000000.00")],
            vec![
                cf(2008, 1, 1, "-10000"),
                cf(2008, 3, 1, "2750"),
                cf(2008, 10, 30, "4250"),
                cf(2009, 2, 15, "3250"),
                cf(2009, 4, 1, "2750"),
            ],
            vec![cf(2026, 1, 1, "100.00"), cf(2036, 1, 1, "-1.00")],
            vec![cf(2026, 6, 30, "95.00"), cf(2026, 7, 1, "-100.00")],
        ];
        for flows in sets {
            let p = Prepared::new(&flows).unwrap();
            let (n, _) = newton(&p).unwrap();
            let (b, iterations) = bisection(&p).unwrap();
            let tol = XIRR_TOLERANCE * Decimal::TEN * n.abs().max(Decimal::ONE);
            assert!((n - b).abs() <= tol, "newton {n} bisection {b}");
            assert!(iterations <= XIRR_MAX_BISECTION_ITERATIONS);
        }
    }

    #[test]
    fn unrepresentable_root_is_an_error_not_a_panic() {
        // 1 day at a 50 % cost: r = 2^365 − 1 ≈ 7.5e109, beyond Decimal's 7.9e28.
        let flows = [cf(2026, 6, 30, "50.00"), cf(2026, 7, 1, "-100.00")];
        assert_eq!(xirr(&flows), Err(PricingError::XirrNoRoot));
    }
}
