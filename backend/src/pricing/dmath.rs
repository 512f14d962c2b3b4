//! Decimal-only arithmetic helpers: exact products, exact rounding of a quotient, and the
//! natural logarithm / exponential needed by XIRR.
//!
//! Why not `rust_decimal`'s `maths` feature: its `powd` is wrong from about the 9th significant
//! digit (paupino/rust-decimal#690, open: `2.powd(3.2)` gives 9.18958682113 instead of
//! 9.18958683998) and its `exp` overflows on moderate arguments (#738). XIRR on short tenors
//! raises numbers close to 1 to powers of several hundred, which amplifies such errors, so we
//! implement `ln`/`exp` here with argument reduction and test them against 28-digit constants.
//!
//! Precision: every helper works in `Decimal`'s 28 significant digits. [`exact_mul`] and
//! [`div_round`] are exact (or fail with a typed error); [`ln`] and [`exp`] are accurate to a
//! relative error of about 1e-25, far below anything a fen or XIRR's tolerance can show.

use rust_decimal::{Decimal, RoundingStrategy};

use super::error::PricingError;

/// ln 2 to 28 decimal places (0.6931471805599453094172321215; the 29th digit is 4).
pub const LN2: Decimal = Decimal::from_parts(2_860_148_159, 2_180_329_217, 375_755_839, false, 28);

/// Above this `exp` would exceed `Decimal::MAX` (≈ 7.9e28 = e^66.54).
const EXP_MAX_ARG: Decimal = Decimal::from_parts(66, 0, 0, false, 0);
/// Series are cut when the next term is zero at 28 digits; this is only a safety bound.
const MAX_SERIES_TERMS: u32 = 200;
/// Bound on range-reduction steps (x in [1e-28, 8e28] needs at most 97 halvings or doublings).
const MAX_REDUCTION_STEPS: u32 = 200;

/// `a × b` computed exactly, or [`PricingError::PrecisionLoss`] if the exact product does not fit
/// in a `Decimal`. (`Decimal`'s own `*` silently rounds when the product needs more than 96 bits
/// of mantissa or a scale above 28; this is how we guarantee "no intermediate rounding".)
pub fn exact_mul(a: Decimal, b: Decimal, context: &'static str) -> Result<Decimal, PricingError> {
    let (a, b) = (a.normalize(), b.normalize());
    let mut mantissa = a
        .mantissa()
        .checked_mul(b.mantissa())
        .ok_or(PricingError::PrecisionLoss { context })?;
    let mut scale = a.scale() + b.scale();
    for _ in 0..=MAX_REDUCTION_STEPS {
        match Decimal::try_from_i128_with_scale(mantissa, scale) {
            Ok(product) => return Ok(product),
            // Dropping trailing zeros is still exact; anything else would be rounding.
            Err(_) if scale > 0 && mantissa % 10 == 0 => {
                mantissa /= 10;
                scale -= 1;
            }
            Err(_) => break,
        }
    }
    Err(PricingError::PrecisionLoss { context })
}

/// `numerator / denominator` rounded to `dp` decimals with `strategy`, computed exactly: the
/// quotient is found by integer division with an exact remainder, so even a quotient whose
/// 28-digit approximation would sit on the wrong side of a half-fen is rounded correctly.
///
/// Supported strategies: `MidpointAwayFromZero` (ROUND_HALF_UP) and `ToZero`; others are
/// mapped to `MidpointAwayFromZero` (the engine names no other).
pub fn div_round(
    numerator: Decimal,
    denominator: Decimal,
    dp: u32,
    strategy: RoundingStrategy,
    context: &'static str,
) -> Result<Decimal, PricingError> {
    if denominator <= Decimal::ZERO {
        return Err(PricingError::NotPositive {
            field: context,
            value: denominator,
        });
    }
    let overflow = PricingError::Overflow { context };
    let unit = pow10(dp).ok_or(overflow.clone())?;
    // Work on |numerator| in units of 10^-dp so the rounding target is an integer.
    let scaled = exact_mul(numerator.abs(), unit, context)?;
    let mut quotient = scaled
        .checked_div(denominator)
        .ok_or(overflow.clone())?
        .trunc();
    let mut remainder = scaled
        .checked_sub(exact_mul(quotient, denominator, context)?)
        .ok_or(overflow.clone())?;
    // The 28-digit division can land one unit off; the exact remainder puts it right.
    for _ in 0..4 {
        if remainder < Decimal::ZERO {
            quotient -= Decimal::ONE;
            remainder += denominator;
        } else if remainder >= denominator {
            quotient += Decimal::ONE;
            remainder -= denominator;
        } else {
            break;
        }
    }
    let round_up = match strategy {
        RoundingStrategy::ToZero => false,
        _ => exact_mul(remainder, Decimal::TWO, context)? >= denominator,
    };
    if round_up {
        quotient += Decimal::ONE;
    }
    // `quotient` is an integer at scale 0, so setting the scale divides by 10^dp exactly.
    let mut result = quotient;
    result.set_scale(dp).map_err(|_| overflow)?;
    if numerator.is_sign_negative() && !result.is_zero() {
        result.set_sign_negative(true);
    }
    Ok(result)
}

/// 10^dp for small dp.
fn pow10(dp: u32) -> Option<Decimal> {
    let mut p = Decimal::ONE;
    for _ in 0..dp {
        p = p.checked_mul(Decimal::TEN)?;
    }
    Some(p)
}

/// Natural logarithm of `x > 0`.
///
/// Method: write x = 2^k · y with y in [0.75, 1.5], then ln y = 2·atanh(z) = 2·Σ z^(2n+1)/(2n+1)
/// with z = (y−1)/(y+1), |z| ≤ 0.2 (each term shrinks by ≥ 25×, so ~20 terms reach 28 digits).
pub fn ln(x: Decimal) -> Result<Decimal, PricingError> {
    const CONTEXT: &str = "ln";
    if x <= Decimal::ZERO {
        return Err(PricingError::NotPositive {
            field: CONTEXT,
            value: x,
        });
    }
    let overflow = || PricingError::Overflow { context: CONTEXT };
    let upper = Decimal::new(15, 1);
    let lower = Decimal::new(75, 2);
    let mut y = x;
    let mut k: i64 = 0;
    for _ in 0..MAX_REDUCTION_STEPS {
        if y > upper {
            y /= Decimal::TWO;
            k += 1;
        } else if y < lower {
            y = y.checked_mul(Decimal::TWO).ok_or_else(overflow)?;
            k -= 1;
        } else {
            break;
        }
    }
    let z = (y - Decimal::ONE)
        .checked_div(y + Decimal::ONE)
        .ok_or_else(overflow)?;
    let z2 = z * z;
    let mut power = z;
    let mut sum = z;
    for n in 1..MAX_SERIES_TERMS {
        power *= z2;
        let term = power / Decimal::from(2 * n + 1);
        if term.is_zero() {
            break;
        }
        sum += term;
    }
    let k_ln2 = LN2.checked_mul(Decimal::from(k)).ok_or_else(overflow)?;
    (sum * Decimal::TWO).checked_add(k_ln2).ok_or_else(overflow)
}

/// e^x. Arguments below −66 return zero (the true value is below 1e-28, `Decimal`'s resolution);
/// above 66 return [`PricingError::Overflow`].
///
/// Method: x = k·ln2 + s with |s| ≤ ln2/2, Taylor series for e^s built term by term
/// (term_n = term_{n−1}·s/n, so no large powers appear; cf. rust-decimal#738), then × 2^k.
pub fn exp(x: Decimal) -> Result<Decimal, PricingError> {
    const CONTEXT: &str = "exp";
    let overflow = || PricingError::Overflow { context: CONTEXT };
    if x > EXP_MAX_ARG {
        return Err(overflow());
    }
    if x < -EXP_MAX_ARG {
        return Ok(Decimal::ZERO);
    }
    let k = (x / LN2).round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
    let s = x - k * LN2;
    let mut term = Decimal::ONE;
    let mut sum = Decimal::ONE;
    for n in 1..MAX_SERIES_TERMS {
        term = term * s / Decimal::from(n);
        if term.is_zero() {
            break;
        }
        sum += term;
    }
    let k = i64::try_from(k.mantissa()).map_err(|_| overflow())?;
    if k >= 0 {
        for _ in 0..k {
            sum = sum.checked_mul(Decimal::TWO).ok_or_else(overflow)?;
        }
    } else {
        for _ in 0..k.unsigned_abs() {
            sum /= Decimal::TWO;
        }
    }
    Ok(sum)
}

/// base^exponent for `base > 0`, as exp(exponent · ln base).
pub fn powd(base: Decimal, exponent: Decimal) -> Result<Decimal, PricingError> {
    let l = ln(base)?;
    let arg = l
        .checked_mul(exponent)
        .ok_or(PricingError::Overflow { context: "powd" })?;
    exp(arg)
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

    fn assert_close(actual: Decimal, expected: Decimal, tol: Decimal) {
        let diff = (actual - expected).abs();
        assert!(
            diff <= tol,
            "actual {actual} expected {expected} diff {diff}"
        );
    }

    #[test]
    fn ln2_constant_matches_its_string_and_the_series() {
        assert_eq!(LN2, d("0.6931471805599453094172321215"));
        // ln 2 = 2·atanh(1/3), summed independently of `ln`'s range reduction.
        let z = Decimal::ONE / Decimal::from(3);
        let mut power = z;
        let mut sum = z;
        for n in 1..80 {
            power *= z * z;
            sum += power / Decimal::from(2 * n + 1);
        }
        assert_close(sum * Decimal::TWO, LN2, d("1e-27"));
    }

    #[test]
    fn exp_and_ln_match_reference_constants() {
        // e = 2.71828182845904523536028747135266...
        assert_close(
            exp(Decimal::ONE).unwrap(),
            d("2.718281828459045235360287471"),
            d("1e-26"),
        );
        // e^-1 = 0.367879441171442321595523770161460867...
        assert_close(
            exp(-Decimal::ONE).unwrap(),
            d("0.3678794411714423215955237702"),
            d("1e-26"),
        );
        // ln 10 = 2.302585092994045684017991454684364...
        assert_close(
            ln(Decimal::TEN).unwrap(),
            d("2.302585092994045684017991455"),
            d("1e-26"),
        );
        // ln 1.0113780025284450063211125158 (the 90-day golden ratio 1,000,000 / 988,750)
        // = 0.011313747... checked via exp round trip below.
        assert_eq!(ln(Decimal::ONE).unwrap(), Decimal::ZERO);
        assert_eq!(exp(Decimal::ZERO).unwrap(), Decimal::ONE);
    }

    #[test]
    fn powd_fixes_the_rust_decimal_690_example() {
        // 2^3.2 = 9.18958683997628... (f64 agrees to its 15 digits; maths feature gives 9.1895868211)
        assert_close(
            powd(Decimal::TWO, d("3.2")).unwrap(),
            d("9.189586839976281"),
            d("1e-15"),
        );
        // 908683.5^(2/3) = 9381.560741153... (rust-decimal#690 second example)
        let p = powd(d("908683.5"), Decimal::TWO / Decimal::from(3)).unwrap();
        assert_close(p, d("9381.560741153"), d("1e-9"));
    }

    #[test]
    fn exp_ln_round_trip_over_wide_range() {
        for s in [
            "1e-20",
            "0.001",
            "0.5",
            "0.999999",
            "1.0000001",
            "1.5",
            "2",
            "37.5",
            "1e10",
            "7e27",
        ] {
            let x = d(s);
            let back = exp(ln(x).unwrap()).unwrap();
            assert_close(back / x, Decimal::ONE, d("1e-24"));
        }
        assert!(exp(d("67")).is_err());
        assert_eq!(exp(d("-67")).unwrap(), Decimal::ZERO);
        assert!(ln(Decimal::ZERO).is_err());
        assert!(ln(d("-1")).is_err());
    }

    #[test]
    fn exact_mul_is_exact_or_refuses() {
        assert_eq!(
            exact_mul(d("1000000.00"), d("0.045"), "t").unwrap(),
            d("45000")
        );
        assert_eq!(exact_mul(d("0.5"), d("0.2"), "t").unwrap(), d("0.1"));
        // 28-digit mantissas cannot multiply exactly.
        assert!(
            exact_mul(
                d("1.234567890123456789012345678"),
                d("1.234567890123456789012345678"),
                "t"
            )
            .is_err()
        );
        // Trailing zeros beyond scale 28 are dropped exactly.
        assert_eq!(
            exact_mul(d("0.00000000000000000000000000010"), d("10"), "t").unwrap(),
            d("0.000000000000000000000000001")
        );
    }

    #[test]
    fn div_round_half_up_is_exact_at_midpoints() {
        let hu = RoundingStrategy::MidpointAwayFromZero;
        // 45 / 360 = 0.125 exactly -> 0.13 (half-up), banker's rounding would give 0.12.
        assert_eq!(div_round(d("45"), d("360"), 2, hu, "t").unwrap(), d("0.13"));
        assert_eq!(
            div_round(d("-45"), d("360"), 2, hu, "t").unwrap(),
            d("-0.13")
        );
        assert_eq!(
            div_round(d("44.99999"), d("360"), 2, hu, "t").unwrap(),
            d("0.12")
        );
        // 1/3 -> 0.33; 2/3 -> 0.67; 0 -> 0.00 with two decimals.
        assert_eq!(div_round(d("1"), d("3"), 2, hu, "t").unwrap(), d("0.33"));
        assert_eq!(div_round(d("2"), d("3"), 2, hu, "t").unwrap(), d("0.67"));
        assert_eq!(
            div_round(Decimal::ZERO, d("360"), 2, hu, "t")
                .unwrap()
                .to_string(),
            "0.00"
        );
        assert_eq!(
            div_round(d("3.6"), d("360"), 2, hu, "t")
                .unwrap()
                .to_string(),
            "0.01"
        );
        assert_eq!(
            div_round(d("0.9"), d("360"), 2, RoundingStrategy::ToZero, "t").unwrap(),
            d("0")
        );
        // A quotient just below a midpoint by less than 28 digits can resolve:
        // (0.005·360·10^20 − 1)/(360·10^20) is below 0.005 by 2.8e-23.
        let num = d("180000000000000000000") - Decimal::ONE;
        let den = d("36000000000000000000000");
        assert_eq!(div_round(num, den, 2, hu, "t").unwrap(), d("0.00"));
        assert_eq!(
            div_round(num + Decimal::ONE, den, 2, hu, "t").unwrap(),
            d("0.01")
        );
    }
}
