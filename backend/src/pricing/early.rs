//! Early settlement (随借随还, BRIEF §2.8) with interest to the day.
//!
//! - **Interest in arrears** (a loan whose interest is paid at the end): interest =
//!   principal × rate × (settlement − disbursement) / 360, start counted, settlement day not,
//!   rounded once. Settling on the disbursement day costs 0 days of interest.
//! - **Discounted certificate** (interest deducted up front): the funder keeps the interest
//!   *earned* for the days used, computed exactly as a quote to the settlement date would
//!   have computed it, and refunds the rest:
//!   earned = round(advance × rate × days_used / 360); refund = charged − earned.
//!   Defining the refund as the difference (rather than rounding advance × rate × unused / 360
//!   separately) makes earned + refund = charged to the fen, and makes an early settlement
//!   cost exactly what a shorter financing would have cost. The refund goes back to whoever
//!   bore the discount, in the quote's proportions: earned is split like the quote
//!   (supplier share rounded half-up, core firm the rest) and each party gets back its charged
//!   share minus its earned share (never negative — see the property test).
//!   Fees are not refunded.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::daycount::{DayCount, days_between, interest_act360};
use super::discount::{DiscountInterest, DiscountQuote};
use super::error::PricingError;
use super::money::Money;
use super::rate::PricedRate;

/// Inputs for settling an interest-in-arrears loan early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrearsSettlementRequest {
    /// Principal being repaid (all or part of the outstanding).
    pub principal: Money,
    /// Contract rate.
    pub rate: PricedRate,
    /// Disbursement date (counted).
    pub disbursement_date: NaiveDate,
    /// Contract maturity (settlement may not be later: that is overdue, see `overdue`).
    pub maturity_date: NaiveDate,
    /// Repayment date (not counted).
    pub settlement_date: NaiveDate,
}

/// Amount due when settling an interest-in-arrears loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrearsSettlement {
    /// Rate used (names its fixing).
    pub rate: PricedRate,
    /// ACT/360.
    pub day_count: DayCount,
    /// settlement − disbursement.
    pub days: u32,
    /// Interest to the day.
    pub interest: Money,
    /// principal + interest.
    pub amount_due: Money,
}

/// Settles an interest-in-arrears loan on `settlement_date` ∈ [disbursement, maturity].
pub fn settle_in_arrears(
    req: &ArrearsSettlementRequest,
) -> Result<ArrearsSettlement, PricingError> {
    let principal = req.principal.require_positive("principal")?;
    if req.maturity_date <= req.disbursement_date {
        return Err(PricingError::EndNotAfterStart {
            field: "maturity_date",
            start: req.disbursement_date,
            end: req.maturity_date,
        });
    }
    check_within(
        "settlement_date",
        req.settlement_date,
        req.disbursement_date,
        req.maturity_date,
    )?;
    let days = days_between(req.disbursement_date, req.settlement_date)?;
    let interest = interest_act360(principal, req.rate.annual_rate(), days)?;
    Ok(ArrearsSettlement {
        rate: req.rate,
        day_count: DayCount::Act360,
        days,
        interest,
        amount_due: principal.checked_add(interest)?,
    })
}

/// Early settlement of a discounted certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountEarlySettlement {
    /// Rate used (names its fixing).
    pub rate: PricedRate,
    /// ACT/360.
    pub day_count: DayCount,
    /// Settlement date.
    pub settlement_date: NaiveDate,
    /// settlement − financing.
    pub days_used: u32,
    /// maturity − settlement.
    pub days_unused: u32,
    /// Interest deducted at financing (from the quote).
    pub interest_charged: DiscountInterest,
    /// Interest the funder keeps.
    pub interest_earned: DiscountInterest,
    /// Refund per party: charged − earned.
    pub refund: DiscountInterest,
    /// Principal repaid to the funder on the settlement date.
    pub advance_repaid: Money,
}

/// Refund of unearned discount when `quote`'s certificate is settled on `settlement_date`
/// ∈ [financing date, maturity date].
pub fn settle_discount_early(
    quote: &DiscountQuote,
    settlement_date: NaiveDate,
) -> Result<DiscountEarlySettlement, PricingError> {
    check_within(
        "settlement_date",
        settlement_date,
        quote.financing_date,
        quote.maturity_date,
    )?;
    let days_used = days_between(quote.financing_date, settlement_date)?;
    let days_unused = days_between(settlement_date, quote.maturity_date)?;
    let earned_total = interest_act360(quote.advance_amount, quote.rate.annual_rate(), days_used)?;
    let earned = quote.bearer.split(earned_total)?;
    let charged = quote.discount_interest;
    let refund = DiscountInterest {
        total: charged.total.checked_sub(earned.total)?,
        supplier: charged.supplier.checked_sub(earned.supplier)?,
        core_firm: charged.core_firm.checked_sub(earned.core_firm)?,
    };
    Ok(DiscountEarlySettlement {
        rate: quote.rate,
        day_count: DayCount::Act360,
        settlement_date,
        days_used,
        days_unused,
        interest_charged: charged,
        interest_earned: earned,
        refund,
        advance_repaid: quote.advance_amount,
    })
}

fn check_within(
    field: &'static str,
    date: NaiveDate,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(), PricingError> {
    if date < start || date > end {
        return Err(PricingError::DateOutsidePeriod {
            field,
            date,
            start,
            end,
        });
    }
    Ok(())
}
