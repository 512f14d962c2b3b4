//! CNY amounts and the one named rounding rule for them.
//!
//! Conventions (API-DESIGN.md "Bodies"): money is `rust_decimal::Decimal`, serialised as a
//! decimal string (`"1234.50"`), never a float; rounding is explicit and named.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::dmath;
use super::error::PricingError;

/// Largest magnitude a [`Money`] may hold: 1,000,000,000,000.00 CNY (1万亿元).
///
/// Far above any single receivable, and low enough that principal × rate × days products
/// (up to ~36,600 days and 8-decimal rates) stay exact inside `Decimal`'s 96-bit mantissa.
pub const MAX_ABS_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// How a computed amount becomes a payable amount.
///
/// The engine keeps rates, day fractions and products exact and applies a `Rounding` exactly
/// once, to each final amount (an interest figure, a fee, an advance, a share of a split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rounding {
    /// To the fen (0.01 CNY), half away from zero (ROUND_HALF_UP, `MidpointAwayFromZero`).
    ///
    /// Why half-up and not banker's rounding: Chinese banking and accounting practice rounds
    /// 四舍五入 (a 5 in the first dropped digit rounds up), which is what customers, bank
    /// statements and court calculations reproduce by hand; banker's rounding (round-half-even,
    /// `rust_decimal`'s default for `round_dp`) would make 0.125 → 0.12 and disagree with them.
    Fen,
}

impl Rounding {
    /// Decimal places kept.
    pub const fn decimal_places(self) -> u32 {
        match self {
            Rounding::Fen => 2,
        }
    }

    /// The `rust_decimal` strategy used.
    pub const fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::Fen => RoundingStrategy::MidpointAwayFromZero,
        }
    }
}

/// An amount of CNY, a whole number of fen, with |amount| ≤ [`MAX_ABS_AMOUNT`].
///
/// Signed, because cash flows are signed; functions that need a positive amount say so and
/// check it. Always carried at scale 2 so it prints as `"1234.50"`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Money(Decimal);

impl Money {
    /// Zero CNY.
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

    /// An amount that is already a whole number of fen ("1234.5" and "1234.500" are accepted
    /// as 1234.50; "1234.505" is refused: the engine never rounds an input silently).
    pub fn new(value: Decimal) -> Result<Self, PricingError> {
        if value.abs() > MAX_ABS_AMOUNT {
            return Err(PricingError::AmountOutOfRange { value });
        }
        if value.round_dp(2) != value {
            return Err(PricingError::AmountNotInFen { value });
        }
        let mut v = value.normalize();
        v.rescale(2);
        Ok(Money(v))
    }

    /// An amount given in fen.
    pub fn from_fen(fen: i64) -> Result<Self, PricingError> {
        Money::new(Decimal::new(fen, 2))
    }

    /// Rounds a computed value to a payable amount with the named rule.
    pub fn round(value: Decimal, rounding: Rounding) -> Result<Self, PricingError> {
        Money::new(value.round_dp_with_strategy(rounding.decimal_places(), rounding.strategy()))
    }

    /// Rounds `numerator / denominator` exactly (see [`dmath::div_round`]). This is how every
    /// day-count amount is produced: the division by 360 is the only inexact step, and it is
    /// resolved here together with the final rounding.
    pub fn round_ratio(
        numerator: Decimal,
        denominator: Decimal,
        rounding: Rounding,
        context: &'static str,
    ) -> Result<Self, PricingError> {
        Money::new(dmath::div_round(
            numerator,
            denominator,
            rounding.decimal_places(),
            rounding.strategy(),
            context,
        )?)
    }

    /// The amount as a `Decimal` with scale 2.
    pub const fn amount(self) -> Decimal {
        self.0
    }

    /// `true` if strictly greater than zero.
    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// `true` if zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `self + other`, refused if it leaves the supported range.
    pub fn checked_add(self, other: Money) -> Result<Money, PricingError> {
        Money::new(self.0 + other.0)
    }

    /// `self − other`, refused if it leaves the supported range.
    pub fn checked_sub(self, other: Money) -> Result<Money, PricingError> {
        Money::new(self.0 - other.0)
    }

    /// The amount with its sign flipped.
    pub fn negated(self) -> Money {
        Money(-self.0)
    }

    /// Sum of amounts, refused if any partial sum leaves the supported range.
    pub fn sum<I: IntoIterator<Item = Money>>(items: I) -> Result<Money, PricingError> {
        items.into_iter().try_fold(Money::ZERO, Money::checked_add)
    }

    /// Refuses a non-positive amount, naming the input.
    pub(crate) fn require_positive(self, field: &'static str) -> Result<Money, PricingError> {
        if self.is_positive() {
            Ok(self)
        } else {
            Err(PricingError::NotPositive {
                field,
                value: self.0,
            })
        }
    }

    /// Refuses a negative amount, naming the input.
    pub(crate) fn require_non_negative(self, field: &'static str) -> Result<Money, PricingError> {
        if self.0 >= Decimal::ZERO {
            Ok(self)
        } else {
            Err(PricingError::NotPositive {
                field,
                value: self.0,
            })
        }
    }
}

impl TryFrom<Decimal> for Money {
    type Error = PricingError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Money::new(value)
    }
}

impl From<Money> for Decimal {
    fn from(m: Money) -> Decimal {
        m.0
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CNY {}", self.0)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
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

    #[test]
    fn max_constant_is_one_trillion() {
        assert_eq!(MAX_ABS_AMOUNT, d("1000000000000"));
        assert!(Money::new(d("1000000000000.00")).is_ok());
        assert!(matches!(
            Money::new(d("1000000000000.01")),
            Err(PricingError::AmountOutOfRange { .. })
        ));
    }

    #[test]
    fn inputs_must_be_whole_fen_and_print_with_two_decimals() {
        assert_eq!(Money::new(d("1234.5")).unwrap().to_string(), "1234.50");
        assert_eq!(Money::new(d("1234.500")).unwrap().to_string(), "1234.50");
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert!(matches!(
            Money::new(d("1234.505")),
            Err(PricingError::AmountNotInFen { .. })
        ));
        assert_eq!(Money::from_fen(-5).unwrap().to_string(), "-0.05");
    }

    #[test]
    fn fen_rounding_is_half_up_not_bankers() {
        // x.xx5 exactly: half away from zero in both directions.
        assert_eq!(
            Money::round(d("0.125"), Rounding::Fen).unwrap().amount(),
            d("0.13")
        );
        assert_eq!(
            Money::round(d("0.135"), Rounding::Fen).unwrap().amount(),
            d("0.14")
        );
        assert_eq!(
            Money::round(d("-0.125"), Rounding::Fen).unwrap().amount(),
            d("-0.13")
        );
        assert_eq!(
            Money::round(d("0.1249999"), Rounding::Fen)
                .unwrap()
                .amount(),
            d("0.12")
        );
        // Banker's rounding would give 0.12 here; we must not.
        assert_eq!(d("0.125").round_dp(2), d("0.12"));
    }

    #[test]
    fn deserialising_validates_through_try_from() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error as DeError, StrDeserializer};
        let de = |s: &'static str| -> StrDeserializer<'static, DeError> { s.into_deserializer() };
        // Decimal strings in, normalised to scale 2.
        let m = Money::deserialize(de("1234.5")).unwrap();
        assert_eq!(m.amount().to_string(), "1234.50");
        // Sub-fen and out-of-range inputs are refused at the boundary, not rounded.
        assert!(Money::deserialize(de("1234.505")).is_err());
        assert!(Money::deserialize(de("1000000000000.01")).is_err());
        // Serialisation goes through `Decimal` (string with `serde-with-str`).
        assert_eq!(Decimal::from(m).to_string(), "1234.50");
    }
}
