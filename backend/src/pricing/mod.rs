//! Pure, deterministic pricing and interest engine for receivable financing (discounting
//! payables certificates). Conventions and sources: `docs/PRICING.md`.
//!
//! No I/O, no clock, no floats: every function maps its inputs to its outputs. Money is
//! [`money::Money`] (CNY fen, `Decimal`), rates are exact `Decimal` fractions, and each final
//! amount is rounded once with the named rule [`money::Rounding::Fen`] (half-up). See
//! `docs/PRICING.md` for the conventions and their sources.
//!
//! Modules:
//! - [`money`] — `Money`, `Rounding`;
//! - [`rate`] — `AnnualRate`, `Bp`, `LprFixing`, `PricedRate` (LPR + spread);
//! - [`daycount`] — ACT/360 days and simple interest;
//! - [`dmath`] — exact products and quotients, `ln`/`exp` in `Decimal`;
//! - [`mod@xirr`] — XIRR (ACT/365 exponent) by Newton with bisection fallback;
//! - [`fee`] — fee whitelist, payers and payees, small-firm rules;
//! - [`discount`] — the discount quote, cash flows, 年化利率 and 综合融资成本;
//! - [`overdue`] — 罚息, 复利, DPD and the five-class floor;
//! - [`early`] — early settlement (interest in arrears; refund of unearned discount);
//! - [`error`] — `PricingError`.

pub mod daycount;
pub mod discount;
pub mod dmath;
pub mod early;
pub mod error;
pub mod fee;
pub mod money;
pub mod overdue;
pub mod rate;
#[cfg(test)]
mod testutil;
pub mod xirr;

pub use daycount::{DayCount, days_between, interest_act360, interest_between};
pub use discount::{
    CostBreakdown, CostItem, CostKind, DiscountBearer, DiscountInterest, DiscountQuote,
    DiscountQuoteRequest, PayerTotal, SupplierCashFlow, SupplierFlowKind, quote_discount,
};
pub use early::{
    ArrearsSettlement, ArrearsSettlementRequest, DiscountEarlySettlement, settle_discount_early,
    settle_in_arrears,
};
pub use error::PricingError;
pub use fee::{
    ChargedFee, EnterpriseSize, Fee, FeeBasis, FeeType, Payee, Payer, QuoteNotice, SmallFirmFeeRule,
};
pub use money::{MAX_ABS_AMOUNT, Money, Rounding};
pub use overdue::{
    OverdueAssessment, OverduePeriod, OverdueRequest, PenaltyKind, PenaltyRate, RiskClass,
    assess_overdue, classify_by_dpd, days_past_due,
};
pub use rate::{AnnualRate, Bp, LprFixing, LprTenor, PricedRate, PricedRateInput};
pub use xirr::{CashFlow, XirrMethod, XirrSolution, xirr, xnpv};
