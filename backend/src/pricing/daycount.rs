//! Day counting and simple interest.
//!
//! Convention (BRIEF §2.3, 人民币利率管理规定): daily rate = annual rate / 360; interest accrues on
//! actual calendar days, counting the start day and not the end day (算头不算尾). So the number
//! of days from `start` to `end` is simply `end − start`, a leap day inside the span is one
//! more day, and month ends need no special rule (Jan 31 → Feb 28 is 28 days).
//! Business-day adjustment of the dates themselves is the caller's (the service owns the
//! holiday calendar); the engine counts the dates it is given.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::dmath;
use super::error::PricingError;
use super::money::{Money, Rounding};
use super::rate::AnnualRate;

/// Day-count conventions the engine uses; named in results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DayCount {
    /// Actual days / 360, start day counted, end day not: all RMB interest and discount.
    #[serde(rename = "ACT/360")]
    Act360,
    /// Actual days / 365 regardless of leap years: only the XIRR exponent (spreadsheet XIRR).
    #[serde(rename = "ACT/365")]
    Act365,
}

impl DayCount {
    /// The denominator of the year fraction.
    pub const fn year_days(self) -> u32 {
        match self {
            DayCount::Act360 => 360,
            DayCount::Act365 => 365,
        }
    }
}

/// Calendar days from `start` (counted) to `end` (not counted): `end − start`.
/// `start == end` gives 0; `end < start` is refused.
pub fn days_between(start: NaiveDate, end: NaiveDate) -> Result<u32, PricingError> {
    let days = end.signed_duration_since(start).num_days();
    u32::try_from(days).map_err(|_| PricingError::EndNotAfterStart {
        field: "period",
        start,
        end,
    })
}

/// Simple ACT/360 interest: principal × rate × days / 360, rounded once to the fen (half-up).
///
/// The product principal × rate × days is exact; the division by 360 and the rounding are done
/// together by exact integer division (see `Money::round_ratio`), so no intermediate rounding
/// happens anywhere.
pub fn interest_act360(
    principal: Money,
    rate: AnnualRate,
    days: u32,
) -> Result<Money, PricingError> {
    const CONTEXT: &str = "interest principal × rate × days / 360";
    let numerator = dmath::exact_mul(
        dmath::exact_mul(principal.amount(), rate.fraction(), CONTEXT)?,
        Decimal::from(days),
        CONTEXT,
    )?;
    Money::round_ratio(
        numerator,
        Decimal::from(DayCount::Act360.year_days()),
        Rounding::Fen,
        CONTEXT,
    )
}

/// [`interest_act360`] over the period [start, end).
pub fn interest_between(
    principal: Money,
    rate: AnnualRate,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Money, PricingError> {
    interest_act360(principal, rate, days_between(start, end)?)
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

    fn m(s: &str) -> Money {
        Money::new(d(s)).unwrap()
    }
    fn r(s: &str) -> AnnualRate {
        AnnualRate::new(d(s)).unwrap()
    }

    #[test]
    fn days_are_end_minus_start() {
        assert_eq!(
            days_between(date(2026, 1, 5), date(2026, 4, 5)).unwrap(),
            90
        );
        assert_eq!(
            days_between(date(2026, 6, 30), date(2026, 7, 1)).unwrap(),
            1
        );
        assert_eq!(
            days_between(date(2026, 6, 30), date(2026, 6, 30)).unwrap(),
            0
        );
        assert!(days_between(date(2026, 7, 1), date(2026, 6, 30)).is_err());
    }

    #[test]
    fn golden_leap_year_span_across_2028_02_29() {
        // 2028-02-15 → 2028-03-15: Feb 15..29 is 15 days (29 − 15 + 1), Mar 1..14 is 14 days:
        // 29 days; the same dates in 2026 give 28.
        assert_eq!(
            days_between(date(2028, 2, 15), date(2028, 3, 15)).unwrap(),
            29
        );
        assert_eq!(
            days_between(date(2026, 2, 15), date(2026, 3, 15)).unwrap(),
            28
        );
        // 500,000.00 × 0.045 × 29 / 360 = 652,500 / 360 = 1,812.50 exactly.
        assert_eq!(
            interest_between(
                m("500000.00"),
                r("0.045"),
                date(2028, 2, 15),
                date(2028, 3, 15)
            )
            .unwrap(),
            m("1812.50")
        );
    }

    #[test]
    fn golden_month_end_spans() {
        // 2026 (not leap): Jan 31 → Feb 28 = 28; Feb 28 → Mar 31 = 31; Jan 31 → Mar 31 = 59.
        assert_eq!(
            days_between(date(2026, 1, 31), date(2026, 2, 28)).unwrap(),
            28
        );
        assert_eq!(
            days_between(date(2026, 2, 28), date(2026, 3, 31)).unwrap(),
            31
        );
        assert_eq!(
            days_between(date(2026, 1, 31), date(2026, 3, 31)).unwrap(),
            59
        );
        // 2028 (leap): Jan 31 → Feb 29 = 29; Feb 29 → Mar 31 = 31; Jan 31 → Mar 31 = 60.
        assert_eq!(
            days_between(date(2028, 1, 31), date(2028, 2, 29)).unwrap(),
            29
        );
        assert_eq!(
            days_between(date(2028, 2, 29), date(2028, 3, 31)).unwrap(),
            31
        );
        assert_eq!(
            days_between(date(2028, 1, 31), date(2028, 3, 31)).unwrap(),
            60
        );
        // 1,000,000.00 × 0.045 / 360 = 125.00 per day:
        // 28 d → 3,500.00; 31 d → 3,875.00; 59 d → 7,375.00; 60 d → 7,500.00.
        let p = m("1000000.00");
        assert_eq!(
            interest_between(p, r("0.045"), date(2026, 1, 31), date(2026, 2, 28)).unwrap(),
            m("3500.00")
        );
        assert_eq!(
            interest_between(p, r("0.045"), date(2026, 2, 28), date(2026, 3, 31)).unwrap(),
            m("3875.00")
        );
        assert_eq!(
            interest_between(p, r("0.045"), date(2026, 1, 31), date(2026, 3, 31)).unwrap(),
            m("7375.00")
        );
        assert_eq!(
            interest_between(p, r("0.045"), date(2028, 1, 31), date(2028, 3, 31)).unwrap(),
            m("7500.00")
        );
        // Sub-periods add up here because 125.00/day has no fen remainder: 3,500 + 3,875 = 7,375.
    }

    #[test]
    fn golden_half_fen_edges() {
        // 1,000.00 × 0.045 × 1 / 360 = 45 / 360 = 0.125 exactly → 0.13 (half-up; half-even gives 0.12).
        assert_eq!(
            interest_act360(m("1000.00"), r("0.045"), 1).unwrap(),
            m("0.13")
        );
        // 1,000.00 × 0.045 × 3 / 360 = 0.375 → 0.38.
        assert_eq!(
            interest_act360(m("1000.00"), r("0.045"), 3).unwrap(),
            m("0.38")
        );
        // 100.00 × 0.0315 × 10 / 360 = 31.5 / 360 = 0.0875 → 0.09.
        assert_eq!(
            interest_act360(m("100.00"), r("0.0315"), 10).unwrap(),
            m("0.09")
        );
        // 10,200.00 × 0.0385 × 30 / 360 = 11,781 / 360 = 32.725 exactly → 32.73.
        assert_eq!(
            interest_act360(m("10200.00"), r("0.0385"), 30).unwrap(),
            m("32.73")
        );
        // 333.33 × 0.0435 × 7 / 360 = 101.498985 / 360 = 0.281941625 → 0.28.
        assert_eq!(
            interest_act360(m("333.33"), r("0.0435"), 7).unwrap(),
            m("0.28")
        );
        // 0 days → 0.00.
        assert_eq!(
            interest_act360(m("1000.00"), r("0.045"), 0)
                .unwrap()
                .to_string(),
            "0.00"
        );
    }
}
