//! The one error type of the pricing engine.
//!
//! Every variant is a caller mistake or an input the rules forbid; the engine has no I/O, so
//! there is no "internal" variant apart from [`PricingError::PrecisionLoss`] and
//! [`PricingError::Overflow`], which can only be reached with magnitudes far outside any real
//! deal (see `money::MAX_ABS_AMOUNT`). The service maps all of them to `422 unprocessable`.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::fee::FeeType;

/// Why a pricing computation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PricingError {
    /// A money amount has more than two decimals (finer than one fen).
    #[error("amount {value} is not a whole number of fen")]
    AmountNotInFen {
        /// The offending value.
        value: Decimal,
    },
    /// A money amount is larger in magnitude than [`super::money::MAX_ABS_AMOUNT`].
    #[error("amount {value} is outside the supported range")]
    AmountOutOfRange {
        /// The offending value.
        value: Decimal,
    },
    /// A quantity that must be strictly positive was zero or negative.
    #[error("{field} must be positive, got {value}")]
    NotPositive {
        /// Which input.
        field: &'static str,
        /// The offending value.
        value: Decimal,
    },
    /// A rate, ratio or uplift is outside its allowed closed interval.
    #[error("{field} = {value} is outside [{min}, {max}]")]
    OutOfRange {
        /// Which input.
        field: &'static str,
        /// The offending value.
        value: Decimal,
        /// Lower bound (inclusive).
        min: Decimal,
        /// Upper bound (inclusive).
        max: Decimal,
    },
    /// An end date is not after its start date.
    #[error("{field}: {end} must be after {start}")]
    EndNotAfterStart {
        /// Which pair of dates.
        field: &'static str,
        /// Start of the period.
        start: NaiveDate,
        /// End of the period.
        end: NaiveDate,
    },
    /// A date lies outside the period it must fall in.
    #[error("{field}: {date} is outside [{start}, {end}]")]
    DateOutsidePeriod {
        /// Which date.
        field: &'static str,
        /// The offending date.
        date: NaiveDate,
        /// Earliest allowed (inclusive).
        start: NaiveDate,
        /// Latest allowed (inclusive).
        end: NaiveDate,
    },
    /// The LPR fixing is dated after the date it is used to price.
    #[error("LPR fixing dated {fixing_date} cannot price a deal dated {pricing_date}")]
    FixingAfterPricingDate {
        /// Date of the fixing.
        fixing_date: NaiveDate,
        /// Date being priced.
        pricing_date: NaiveDate,
    },
    /// A fee type that may not be charged on financing to a small or micro enterprise.
    #[error(
        "fee #{index} ({fee_type}) may not be charged on financing to a small or micro enterprise"
    )]
    FeeForbiddenForSmallFirm {
        /// Position of the fee in the request.
        index: usize,
        /// The forbidden type.
        fee_type: FeeType,
    },
    /// The same fee type appears twice; the cost breakdown needs one line per type and payer.
    #[error("fee #{index} ({fee_type}) repeats an earlier fee with the same type and payer")]
    DuplicateFee {
        /// Position of the repeated fee in the request.
        index: usize,
        /// Its type.
        fee_type: FeeType,
    },
    /// Net proceeds to the supplier would be zero or negative.
    #[error("net proceeds would be {net}, costs deducted from the advance exceed it")]
    NonPositiveProceeds {
        /// The computed (non-positive) net proceeds.
        net: Decimal,
    },
    /// Capitalisation dates are not strictly increasing.
    #[error("capitalisation dates must be strictly increasing, {date} is not")]
    UnorderedDates {
        /// The first date out of order.
        date: NaiveDate,
    },
    /// XIRR needs at least one inflow and one outflow.
    #[error("XIRR needs at least one positive and one negative cash flow")]
    XirrNeedsSignChange,
    /// No rate in the searched domain makes the NPV change sign.
    #[error("XIRR: no root found in the searched range of rates")]
    XirrNoRoot,
    /// Newton and bisection both ran out of iterations.
    #[error("XIRR did not converge within {iterations} iterations")]
    XirrNotConverged {
        /// Iterations spent.
        iterations: u32,
    },
    /// An intermediate product could not be held exactly in a `Decimal` (28 digits).
    /// Reaching this needs amounts or rates far outside any real deal.
    #[error("{context}: the exact intermediate result does not fit in 28 significant digits")]
    PrecisionLoss {
        /// Which computation.
        context: &'static str,
    },
    /// Arithmetic overflow (only reachable with absurd magnitudes).
    #[error("{context}: arithmetic overflow")]
    Overflow {
        /// Which computation.
        context: &'static str,
    },
}
