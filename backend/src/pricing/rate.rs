//! Annual rates, basis points, LPR fixings and the priced rate (LPR + spread).
//!
//! Rates are exact `Decimal` fractions per year (0.0315 = 3.15 % p.a.) and are never rounded:
//! only amounts are rounded (see `money::Rounding`). Output ratios such as an XIRR or an
//! annualised cost are reported to [`RATE_OUTPUT_DP`] decimals.
//!
//! BRIEF §2.3: loans are priced "LPR ± spread (bp)"; LPR is published monthly on the 20th by
//! 全国银行间同业拆借中心 for the 1Y and 5Y+ tenors. The service keeps fixings as dated data and
//! hands the engine the one fixing it chose; every result names that fixing so a quote can be
//! audited against the published series.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::dmath;
use super::error::PricingError;

/// Upper bound of any annual rate the engine accepts: 10 = 1,000 % p.a. (a sanity bound that
/// still admits a misuse penalty of +100 % on an extreme contract rate).
pub const MAX_ANNUAL_RATE: Decimal = Decimal::TEN;
/// Largest spread magnitude accepted: ±10,000 bp (±100 %).
pub const MAX_ABS_SPREAD_BP: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);
/// Decimal places to which output ratios (XIRR, annualised costs) are rounded, half-up.
/// 10 decimals of a fraction = 1e-8 percentage points, well inside XIRR's tolerance.
pub const RATE_OUTPUT_DP: u32 = 10;

/// Rounds an output ratio (never an input or intermediate rate) to [`RATE_OUTPUT_DP`].
pub fn round_output_rate(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(RATE_OUTPUT_DP, RoundingStrategy::MidpointAwayFromZero)
}

/// An annual rate as a fraction (0.03 = 3 % p.a.), in [0, [`MAX_ANNUAL_RATE`]].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct AnnualRate(Decimal);

impl AnnualRate {
    /// A rate given as a fraction.
    pub fn new(fraction: Decimal) -> Result<Self, PricingError> {
        if fraction < Decimal::ZERO || fraction > MAX_ANNUAL_RATE {
            return Err(PricingError::OutOfRange {
                field: "annual_rate",
                value: fraction,
                min: Decimal::ZERO,
                max: MAX_ANNUAL_RATE,
            });
        }
        Ok(AnnualRate(fraction.normalize()))
    }

    /// A rate given in percent (3.15 → 0.0315), converted exactly.
    pub fn from_percent(percent: Decimal) -> Result<Self, PricingError> {
        AnnualRate::new(shift_decimal_point(percent, 2, "annual_rate")?)
    }

    /// The rate as a fraction per year.
    pub const fn fraction(self) -> Decimal {
        self.0
    }

    /// The rate in percent, exact.
    pub fn percent(self) -> Decimal {
        (self.0 * Decimal::ONE_HUNDRED).normalize()
    }
}

impl TryFrom<Decimal> for AnnualRate {
    type Error = PricingError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        AnnualRate::new(value)
    }
}

impl From<AnnualRate> for Decimal {
    fn from(r: AnnualRate) -> Decimal {
        r.0
    }
}

impl fmt::Debug for AnnualRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}% p.a.", self.percent())
    }
}

/// Divides by 10^places exactly by moving the decimal point (no 28-digit division).
fn shift_decimal_point(
    value: Decimal,
    places: u32,
    field: &'static str,
) -> Result<Decimal, PricingError> {
    let mut v = value.normalize();
    v.set_scale(v.scale() + places)
        .map_err(|_| PricingError::PrecisionLoss { context: field })?;
    Ok(v)
}

/// Basis points (1 bp = 0.01 % = 0.0001); may be negative (LPR − spread) and fractional.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Bp(Decimal);

impl Bp {
    /// A spread in basis points, |bp| ≤ [`MAX_ABS_SPREAD_BP`].
    pub fn new(bp: Decimal) -> Result<Self, PricingError> {
        if bp.abs() > MAX_ABS_SPREAD_BP {
            return Err(PricingError::OutOfRange {
                field: "spread_bp",
                value: bp,
                min: -MAX_ABS_SPREAD_BP,
                max: MAX_ABS_SPREAD_BP,
            });
        }
        Ok(Bp(bp.normalize()))
    }

    /// Whole basis points.
    pub fn from_int(bp: i64) -> Result<Self, PricingError> {
        Bp::new(Decimal::from(bp))
    }

    /// The number of basis points.
    pub const fn value(self) -> Decimal {
        self.0
    }

    /// The spread as a fraction (150 bp → 0.015), exact.
    pub fn fraction(self) -> Result<Decimal, PricingError> {
        shift_decimal_point(self.0, 4, "spread_bp")
    }
}

impl TryFrom<Decimal> for Bp {
    type Error = PricingError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Bp::new(value)
    }
}

impl From<Bp> for Decimal {
    fn from(b: Bp) -> Decimal {
        b.0
    }
}

impl fmt::Debug for Bp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bp", self.0)
    }
}

/// LPR tenor. Receivable financing (≤ 1 year, BRIEF §2.6) is normally priced off the 1Y LPR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LprTenor {
    /// One-year LPR.
    #[serde(rename = "1Y")]
    OneYear,
    /// Over-five-year LPR.
    #[serde(rename = "5Y")]
    FiveYear,
}

/// One published LPR value, as chosen by the service (BRIEF §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LprFixing {
    /// 1Y or 5Y.
    pub tenor: LprTenor,
    /// Publication date of the fixing (normally the 20th of a month).
    pub date: NaiveDate,
    /// The published rate, e.g. 0.0300.
    pub rate: AnnualRate,
}

/// What the caller supplies to price: a fixing and a spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedRateInput {
    /// The fixing the service chose.
    pub fixing: LprFixing,
    /// Spread over the fixing, in bp.
    pub spread_bp: Bp,
}

/// A contract rate "LPR + spread", carrying the fixing it came from.
///
/// Serialises with the computed `annual_rate` for audit; deserialises from
/// [`PricedRateInput`] only, recomputing the rate (a stored rate cannot disagree with its parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PricedRateInput")]
pub struct PricedRate {
    fixing: LprFixing,
    spread_bp: Bp,
    annual_rate: AnnualRate,
}

impl PricedRate {
    /// LPR fixing + spread. Refused if the sum is negative or above [`MAX_ANNUAL_RATE`].
    pub fn lpr_plus(fixing: LprFixing, spread_bp: Bp) -> Result<Self, PricingError> {
        let annual = fixing.rate.fraction() + spread_bp.fraction()?;
        Ok(PricedRate {
            fixing,
            spread_bp,
            annual_rate: AnnualRate::new(annual)?,
        })
    }

    /// The fixing used.
    pub const fn fixing(&self) -> LprFixing {
        self.fixing
    }

    /// The spread used.
    pub const fn spread_bp(&self) -> Bp {
        self.spread_bp
    }

    /// The resulting annual rate (exact).
    pub const fn annual_rate(&self) -> AnnualRate {
        self.annual_rate
    }

    /// Refuses a fixing published after the date being priced (it could not have been known).
    pub fn check_usable_on(&self, pricing_date: NaiveDate) -> Result<(), PricingError> {
        if self.fixing.date > pricing_date {
            return Err(PricingError::FixingAfterPricingDate {
                fixing_date: self.fixing.date,
                pricing_date,
            });
        }
        Ok(())
    }

    /// `self.annual_rate × factor`, exact (used for penalty rates).
    pub(crate) fn scaled(&self, factor: Decimal) -> Result<AnnualRate, PricingError> {
        AnnualRate::new(dmath::exact_mul(
            self.annual_rate.fraction(),
            factor,
            "rate × factor",
        )?)
    }
}

impl TryFrom<PricedRateInput> for PricedRate {
    type Error = PricingError;
    fn try_from(input: PricedRateInput) -> Result<Self, Self::Error> {
        PricedRate::lpr_plus(input.fixing, input.spread_bp)
    }
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

    fn fixing() -> LprFixing {
        LprFixing {
            tenor: LprTenor::OneYear,
            date: NaiveDate::from_ymd_opt(2025, 5, 20).unwrap(),
            rate: AnnualRate::from_percent(d("3.00")).unwrap(),
        }
    }

    #[test]
    fn lpr_plus_spread_is_exact_and_names_the_fixing() {
        // 3.00 % + 150 bp = 0.0300 + 0.0150 = 0.0450
        let r = PricedRate::lpr_plus(fixing(), Bp::from_int(150).unwrap()).unwrap();
        assert_eq!(r.annual_rate().fraction(), d("0.045"));
        assert_eq!(
            r.fixing().date,
            NaiveDate::from_ymd_opt(2025, 5, 20).unwrap()
        );
        // Fractional and negative spreads: 3.00 % − 12.5 bp = 0.02875
        let r = PricedRate::lpr_plus(fixing(), Bp::new(d("-12.5")).unwrap()).unwrap();
        assert_eq!(r.annual_rate().fraction(), d("0.02875"));
        // LPR − 400 bp is negative: refused.
        assert!(PricedRate::lpr_plus(fixing(), Bp::from_int(-400).unwrap()).is_err());
    }

    #[test]
    fn fixing_from_the_future_is_refused() {
        let r = PricedRate::lpr_plus(fixing(), Bp::from_int(0).unwrap()).unwrap();
        assert!(
            r.check_usable_on(NaiveDate::from_ymd_opt(2025, 5, 20).unwrap())
                .is_ok()
        );
        assert!(matches!(
            r.check_usable_on(NaiveDate::from_ymd_opt(2025, 5, 19).unwrap()),
            Err(PricingError::FixingAfterPricingDate { .. })
        ));
    }

    #[test]
    fn rate_bounds() {
        assert!(AnnualRate::new(d("-0.0001")).is_err());
        assert!(AnnualRate::new(d("10.0001")).is_err());
        assert_eq!(
            AnnualRate::from_percent(d("4.35")).unwrap().fraction(),
            d("0.0435")
        );
        assert!(Bp::new(d("10000.1")).is_err());
    }
}
