//! Quotes: what financing a certificate would cost, before anything is
//! signed. Everything comes from dated data: the plan version in force on
//! the financing date, and the LPR fixing in force then. The result names
//! both, so anyone can recompute it with the pure engine (`crate::pricing`).

use super::lpr::{self, Tenor};
use super::plan::{self, enterprise_size};
use crate::db::DbConn;
use crate::parties::model::SizeClass;
use crate::pricing::money::Money;
use crate::pricing::rate::{AnnualRate, LprFixing, LprTenor, PricedRate};
use crate::pricing::{DiscountQuote, DiscountQuoteRequest, quote_discount};
use chrono::{Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// An LPR fixing older than this on the financing date is stale: the
/// monthly fixing (the 20th, or the next business day) must have been
/// published first.
pub const MAX_FIXING_AGE_DAYS: i64 = 40;

#[derive(Debug, Clone)]
pub struct QuoteInput {
    pub face_amount: Money,
    pub financing_date: NaiveDate,
    pub maturity_date: NaiveDate,
    pub supplier_size: SizeClass,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Quote {
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    /// The plan version whose terms apply.
    pub plan_version: i32,
    /// The LPR fixing the rate is built on.
    pub lpr_fixing: lpr::Fixing,
    /// Advance, discount interest (ACT/360), each fee with its payer, net
    /// proceeds, the supplier's cash flows, the 年化利率 (XIRR) and the
    /// total-cost breakdown.
    #[schema(value_type = Object)]
    pub quote: DiscountQuote,
}

#[derive(Debug, thiserror::Error)]
pub enum QuoteError {
    #[error("no approved plan is in force on {0}")]
    NoPlan(NaiveDate),
    #[error("no {0} LPR fixing on or before {1}")]
    NoFixing(&'static str, NaiveDate),
    #[error(
        "the newest {tenor} LPR fixing ({date}) is more than {MAX_FIXING_AGE_DAYS} days before {on}; the platform must publish the current fixing first"
    )]
    StaleFixing {
        tenor: &'static str,
        date: NaiveDate,
        on: NaiveDate,
    },
    #[error("{0}")]
    Terms(String),
    #[error(transparent)]
    Pricing(#[from] crate::pricing::PricingError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Prices `input` under program `program`'s terms.
pub fn quote(conn: &mut DbConn, program: Uuid, input: &QuoteInput) -> Result<Quote, QuoteError> {
    let on = input.financing_date;
    let (version, terms) =
        plan::terms_in_force(conn, program, on)?.ok_or(QuoteError::NoPlan(on))?;
    let terms =
        terms.map_err(|e| QuoteError::Terms(format!("the stored plan does not parse: {e}")))?;
    if !terms
        .eligibility
        .size_classes
        .contains(&input.supplier_size)
    {
        return Err(QuoteError::Terms(format!(
            "the plan does not finance {} firms",
            input.supplier_size
        )));
    }
    let days = (input.maturity_date - input.financing_date).num_days();
    if days < i64::from(terms.tenor.min_days) {
        return Err(QuoteError::Terms(format!(
            "the tenor is {days} days; the plan's minimum is {}",
            terms.tenor.min_days
        )));
    }
    let latest = input
        .financing_date
        .checked_add_months(Months::new(u32::from(terms.tenor.max_months)));
    if latest.is_none_or(|l| input.maturity_date > l) {
        return Err(QuoteError::Terms(format!(
            "maturity is beyond the plan's maximum tenor of {} months",
            terms.tenor.max_months
        )));
    }
    let tenor = match terms.pricing.benchmark {
        LprTenor::OneYear => Tenor::OneYear,
        LprTenor::FiveYear => Tenor::FiveYear,
    };
    let fixing = lpr::in_force(conn, tenor, on)?.ok_or(QuoteError::NoFixing(tenor.as_str(), on))?;
    if (on - fixing.fixing_date).num_days() > MAX_FIXING_AGE_DAYS {
        return Err(QuoteError::StaleFixing {
            tenor: tenor.as_str(),
            date: fixing.fixing_date,
            on,
        });
    }
    let rate = PricedRate::lpr_plus(
        LprFixing {
            tenor: terms.pricing.benchmark,
            date: fixing.fixing_date,
            rate: AnnualRate::from_percent(fixing.rate)?,
        },
        terms.pricing.spread_bp,
    )?;
    let quote = quote_discount(&DiscountQuoteRequest {
        face_amount: input.face_amount,
        advance_rate: terms.advance_rate,
        financing_date: input.financing_date,
        maturity_date: input.maturity_date,
        rate,
        bearer: terms.pricing.discount_bearer,
        fees: terms.fees.clone(),
        supplier_size: enterprise_size(input.supplier_size),
    })?;
    Ok(Quote {
        program_id: program,
        plan_version: version,
        lpr_fixing: fixing,
        quote,
    })
}
