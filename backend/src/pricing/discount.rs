//! Quote for discounting (贴现 / 保理融资) part or all of a payables certificate.
//!
//! Model (BRIEF §1.1 step 8 and §2.3):
//! - advance = face × advance rate, rounded once to the fen;
//! - discount interest = advance × (LPR + spread) × days / 360, days = maturity − financing
//!   (start counted, end not), rounded once; it is deducted up front;
//! - the discount interest is borne by the supplier, the core firm (核心企业贴息) or split by a
//!   ratio: the total is rounded first, the supplier's share is rounded half-up from the ratio,
//!   and the core firm's share is the remainder, so the shares always add up to the total;
//! - fees are all due on the financing date; supplier-paid ones are deducted from the advance;
//! - net proceeds = advance − supplier's interest share − supplier-paid fees;
//! - the funder is repaid at maturity from the certificate: of the face collected, `advance`
//!   goes to the funder and the rest (face − advance) to the supplier, who would have received
//!   it anyway. So the supplier's financing cash flows are +net proceeds on the financing date
//!   and −advance on the maturity date, and the 年化利率 is the XIRR of those two flows.
//!
//! Tenor caps (≤ 6 months / ≤ 1 year, BRIEF §2.6) are the caller's; the engine only requires
//! maturity > financing date.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::daycount::{DayCount, days_between, interest_act360};
use super::dmath;
use super::error::PricingError;
use super::fee::{
    ChargedFee, EnterpriseSize, Fee, FeeType, Payee, Payer, QuoteNotice, charge_fees,
};
use super::money::{Money, Rounding};
use super::rate::{PricedRate, RATE_OUTPUT_DP};
use super::xirr::{CashFlow, XirrSolution, xirr};

/// Who bears the discount interest (per programme, cf. `anchor_discount_bearing` /
/// `vendor_discount_bearing` in Kings-Israel/scf, BRIEF §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiscountBearer {
    /// 供应商付息: deducted from the supplier's proceeds.
    Supplier,
    /// 核心企业贴息: paid by the core firm on the financing date.
    CoreFirm,
    /// Shared: the supplier bears `supplier_share` (in [0, 1]), the core firm the rest.
    Split {
        /// The supplier's fraction of the total.
        supplier_share: Decimal,
    },
}

impl DiscountBearer {
    fn supplier_share(self) -> Result<Decimal, PricingError> {
        match self {
            DiscountBearer::Supplier => Ok(Decimal::ONE),
            DiscountBearer::CoreFirm => Ok(Decimal::ZERO),
            DiscountBearer::Split { supplier_share } => {
                if supplier_share < Decimal::ZERO || supplier_share > Decimal::ONE {
                    return Err(PricingError::OutOfRange {
                        field: "supplier_share",
                        value: supplier_share,
                        min: Decimal::ZERO,
                        max: Decimal::ONE,
                    });
                }
                Ok(supplier_share)
            }
        }
    }

    /// Splits a rounded total: supplier = round_half_up(total × share), core firm = rest.
    pub fn split(self, total: Money) -> Result<DiscountInterest, PricingError> {
        let share = self.supplier_share()?;
        let supplier = Money::round(
            dmath::exact_mul(total.amount(), share, "interest split")?,
            Rounding::Fen,
        )?;
        Ok(DiscountInterest {
            total,
            supplier,
            core_firm: total.checked_sub(supplier)?,
        })
    }
}

/// Discount interest and who bears it; `supplier + core_firm == total` always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountInterest {
    /// advance × rate × days / 360, rounded once.
    pub total: Money,
    /// The supplier's share (deducted from proceeds).
    pub supplier: Money,
    /// The core firm's share.
    pub core_firm: Money,
}

/// Inputs of a discount quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountQuoteRequest {
    /// Face amount of the certificate (portion) to finance.
    pub face_amount: Money,
    /// Advance rate in (0, 1]: 0.90 → advance = 90 % of face.
    pub advance_rate: Decimal,
    /// Disbursement date (interest starts, counted).
    pub financing_date: NaiveDate,
    /// Certificate maturity (interest ends, not counted).
    pub maturity_date: NaiveDate,
    /// Annual discount rate as LPR + spread; the fixing must be dated on or before financing.
    pub rate: PricedRate,
    /// Who bears the discount interest.
    pub bearer: DiscountBearer,
    /// Fees, each type at most once per payer and payee.
    pub fees: Vec<Fee>,
    /// Size class of the supplier (the financed party), for the small-firm fee rules.
    pub supplier_size: EnterpriseSize,
}

/// What a supplier cash flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplierFlowKind {
    /// Net proceeds received on the financing date.
    NetProceeds,
    /// At maturity the funder keeps `advance` of the face it collects from the core firm.
    AdvanceRepaidFromCertificate,
}

/// One dated, signed cash flow as the supplier sees it (positive = received).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierCashFlow {
    /// Value date.
    pub date: NaiveDate,
    /// Signed amount.
    pub amount: Money,
    /// What it is.
    pub kind: SupplierFlowKind,
}

/// A cost line of the 综合融资成本 breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CostKind {
    /// Discount interest (贴息).
    DiscountInterest,
    /// A fee.
    Fee {
        /// Its type.
        fee_type: FeeType,
    },
}

/// One cost item with payer and payee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostItem {
    /// What.
    pub kind: CostKind,
    /// Who pays.
    pub payer: Payer,
    /// Who receives.
    pub payee: Payee,
    /// How much.
    pub amount: Money,
}

/// Total cost borne by one payer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayerTotal {
    /// The payer.
    pub payer: Payer,
    /// Sum of its items.
    pub amount: Money,
}

/// 综合融资成本: every cost item by payer, totals, and annualised cost ratios.
///
/// The annualised ratios are simple (not compounded), ACT/365 so they are comparable with the
/// XIRR, as fractions rounded half-up to 10 decimals:
/// - `supplier_simple_annual_rate` = supplier's costs / net proceeds × 365 / days — the
///   "simple method" 年化利率 over the principal the supplier actually receives;
/// - `all_in_simple_annual_rate` = all costs (both payers) / advance × 365 / days — what the
///   financing costs the chain as a whole per unit of funds advanced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostBreakdown {
    /// Discount-interest shares (zero shares omitted) then fees, in request order.
    pub items: Vec<CostItem>,
    /// Supplier first, then core firm; both always present.
    pub by_payer: Vec<PayerTotal>,
    /// Sum of all items.
    pub total: Money,
    /// Simple annualised cost to the supplier.
    pub supplier_simple_annual_rate: Decimal,
    /// Simple annualised all-in cost.
    pub all_in_simple_annual_rate: Decimal,
}

/// A discount quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountQuote {
    /// The rate used, naming its LPR fixing.
    pub rate: PricedRate,
    /// ACT/360 for interest and annual-rate fees.
    pub day_count: DayCount,
    /// Face amount financed.
    pub face_amount: Money,
    /// Advance rate applied.
    pub advance_rate: Decimal,
    /// face × advance rate, rounded to the fen.
    pub advance_amount: Money,
    /// Financing date.
    pub financing_date: NaiveDate,
    /// Maturity date.
    pub maturity_date: NaiveDate,
    /// maturity − financing.
    pub tenor_days: u32,
    /// Who bears the discount interest.
    pub bearer: DiscountBearer,
    /// Discount interest and its split.
    pub discount_interest: DiscountInterest,
    /// Each fee with payer, payee and amount.
    pub fees: Vec<ChargedFee>,
    /// Paid to the supplier on the financing date.
    pub net_proceeds: Money,
    /// The supplier's financing cash flows.
    pub supplier_cash_flows: Vec<SupplierCashFlow>,
    /// 年化利率 (compound method): XIRR of `supplier_cash_flows`, ACT/365.
    pub supplier_xirr: XirrSolution,
    /// 综合融资成本 breakdown.
    pub total_cost: CostBreakdown,
    /// Non-blocking remarks (restricted fees).
    pub notices: Vec<QuoteNotice>,
}

/// Prices a discount. Pure: same request, same quote.
pub fn quote_discount(req: &DiscountQuoteRequest) -> Result<DiscountQuote, PricingError> {
    let face = req.face_amount.require_positive("face_amount")?;
    if req.advance_rate <= Decimal::ZERO || req.advance_rate > Decimal::ONE {
        return Err(PricingError::OutOfRange {
            field: "advance_rate",
            value: req.advance_rate,
            min: Decimal::ZERO,
            max: Decimal::ONE,
        });
    }
    if req.maturity_date <= req.financing_date {
        return Err(PricingError::EndNotAfterStart {
            field: "maturity_date",
            start: req.financing_date,
            end: req.maturity_date,
        });
    }
    req.rate.check_usable_on(req.financing_date)?;
    let days = days_between(req.financing_date, req.maturity_date)?;

    let advance = Money::round(
        dmath::exact_mul(face.amount(), req.advance_rate, "advance")?,
        Rounding::Fen,
    )?
    .require_positive("advance_amount")?;
    let total_interest = interest_act360(advance, req.rate.annual_rate(), days)?;
    let interest = req.bearer.split(total_interest)?;

    let mut notices = Vec::new();
    let fees = charge_fees(&req.fees, advance, days, req.supplier_size, &mut notices)?;

    let mut items = Vec::with_capacity(fees.len() + 2);
    for (payer, amount) in [
        (Payer::Supplier, interest.supplier),
        (Payer::CoreFirm, interest.core_firm),
    ] {
        if !amount.is_zero() {
            items.push(CostItem {
                kind: CostKind::DiscountInterest,
                payer,
                payee: Payee::Funder,
                amount,
            });
        }
    }
    items.extend(fees.iter().map(|f| CostItem {
        kind: CostKind::Fee {
            fee_type: f.fee_type,
        },
        payer: f.payer,
        payee: f.payee,
        amount: f.amount,
    }));
    let paid_by =
        |payer: Payer| Money::sum(items.iter().filter(|i| i.payer == payer).map(|i| i.amount));
    let supplier_cost = paid_by(Payer::Supplier)?;
    let core_cost = paid_by(Payer::CoreFirm)?;
    let total = supplier_cost.checked_add(core_cost)?;

    let net = advance.checked_sub(supplier_cost)?;
    if !net.is_positive() {
        return Err(PricingError::NonPositiveProceeds { net: net.amount() });
    }

    let supplier_cash_flows = vec![
        SupplierCashFlow {
            date: req.financing_date,
            amount: net,
            kind: SupplierFlowKind::NetProceeds,
        },
        SupplierCashFlow {
            date: req.maturity_date,
            amount: advance.negated(),
            kind: SupplierFlowKind::AdvanceRepaidFromCertificate,
        },
    ];
    let flows: Vec<CashFlow> = supplier_cash_flows
        .iter()
        .map(|f| CashFlow {
            date: f.date,
            amount: f.amount,
        })
        .collect();
    let supplier_xirr = xirr(&flows)?;

    let total_cost = CostBreakdown {
        items,
        by_payer: vec![
            PayerTotal {
                payer: Payer::Supplier,
                amount: supplier_cost,
            },
            PayerTotal {
                payer: Payer::CoreFirm,
                amount: core_cost,
            },
        ],
        total,
        supplier_simple_annual_rate: simple_annual_rate(supplier_cost, net, days)?,
        all_in_simple_annual_rate: simple_annual_rate(total, advance, days)?,
    };

    Ok(DiscountQuote {
        rate: req.rate,
        day_count: DayCount::Act360,
        face_amount: face,
        advance_rate: req.advance_rate,
        advance_amount: advance,
        financing_date: req.financing_date,
        maturity_date: req.maturity_date,
        tenor_days: days,
        bearer: req.bearer,
        discount_interest: interest,
        fees,
        net_proceeds: net,
        supplier_cash_flows,
        supplier_xirr,
        total_cost,
        notices,
    })
}

/// cost / base × 365 / days, exact then rounded half-up to `RATE_OUTPUT_DP` decimals.
pub(crate) fn simple_annual_rate(
    cost: Money,
    base: Money,
    days: u32,
) -> Result<Decimal, PricingError> {
    const CONTEXT: &str = "simple annualised rate";
    let numerator = dmath::exact_mul(
        cost.amount(),
        Decimal::from(DayCount::Act365.year_days()),
        CONTEXT,
    )?;
    let denominator = dmath::exact_mul(base.amount(), Decimal::from(days), CONTEXT)?;
    dmath::div_round(
        numerator,
        denominator,
        RATE_OUTPUT_DP,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        CONTEXT,
    )
}
