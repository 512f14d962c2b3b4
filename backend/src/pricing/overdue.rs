//! Overdue: penalty interest (罚息), compound interest (复利), days past due and the five-class
//! classification floor.
//!
//! Rules (BRIEF §2.3, §2.4, all marked \[unchecked\] there):
//! - penalty rate = contract rate × (1 + uplift), uplift in [0.30, 0.50] for overdue principal,
//!   [0.50, 1.00] for funds used against the agreed purpose (挪用) — 银发〔2003〕251号;
//! - unpaid interest compounds at the penalty rate;
//! - DPD thresholds: any overdue → at least 关注; > 90 → 次级; > 270 → 可疑; > 360 → 损失
//!   (商业银行金融资产风险分类办法, 2023年第1号令).
//!
//! Precise definitions used here:
//! - **Past-due start.** An amount due on `due_date` D with `grace_days` g is past due from
//!   S = D + g. DPD on `as_of` A is max(0, A − S): on D + g it is 0, on D + g + 1 it is 1.
//!   Grace shifts both DPD and penalty accrual (paying within grace costs nothing extra and the
//!   loan stays 正常). The alternative some banks use — penalty back-dated to D once grace is
//!   missed — is not implemented; see README "Open questions".
//! - **Penalty interest (罚息)** accrues daily, simple, on the overdue principal at the penalty
//!   rate, ACT/360, over [S, A) (S counted, A not — the contract interest covered [start, D)).
//! - **Compound interest (复利)** accrues daily, simple, at the penalty rate on the *interest
//!   base*: the contract interest unpaid at D, plus any penalty and compound interest already
//!   capitalised.
//! - **Compounding period.** Accrued penalty and compound interest are capitalised into the
//!   interest base only on the caller's `capitalisation_dates` (the contract's 结息日, e.g. the
//!   20th of each month or quarter-end month: 人民币利率管理规定 says 按季或按月计收复利); each
//!   period's amounts are rounded to the fen when booked. With no dates there is no compounding
//!   of penalty on penalty: only the unpaid contract interest bears compound interest.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::daycount::{DayCount, days_between, interest_act360};
use super::error::PricingError;
use super::money::Money;
use super::rate::{AnnualRate, PricedRate};

/// Why the penalty applies; each has its own uplift range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyKind {
    /// 逾期: principal not repaid when due. Uplift in [0.30, 0.50].
    Overdue,
    /// 挪用: funds used against the agreed purpose. Uplift in [0.50, 1.00].
    Misappropriation,
}

impl PenaltyKind {
    /// Allowed uplift range (inclusive).
    pub fn uplift_range(self) -> (Decimal, Decimal) {
        match self {
            PenaltyKind::Overdue => (Decimal::new(30, 2), Decimal::new(50, 2)),
            PenaltyKind::Misappropriation => (Decimal::new(50, 2), Decimal::ONE),
        }
    }
}

/// Inputs of a [`PenaltyRate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyRateInput {
    /// The contract rate (names its fixing).
    pub contract: PricedRate,
    /// Overdue or misuse.
    pub kind: PenaltyKind,
    /// Uplift as a fraction (0.5 = contract rate + 50 %).
    pub uplift: Decimal,
}

/// Penalty rate = contract rate × (1 + uplift), exact, with the uplift validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PenaltyRateInput")]
pub struct PenaltyRate {
    contract: PricedRate,
    kind: PenaltyKind,
    uplift: Decimal,
    annual_rate: AnnualRate,
}

impl PenaltyRate {
    /// Validates the uplift for `kind` and computes the rate.
    pub fn new(
        contract: PricedRate,
        kind: PenaltyKind,
        uplift: Decimal,
    ) -> Result<Self, PricingError> {
        let (min, max) = kind.uplift_range();
        if uplift < min || uplift > max {
            return Err(PricingError::OutOfRange {
                field: "penalty uplift",
                value: uplift,
                min,
                max,
            });
        }
        let annual_rate = contract.scaled(Decimal::ONE + uplift)?;
        Ok(PenaltyRate {
            contract,
            kind,
            uplift,
            annual_rate,
        })
    }

    /// The contract rate it derives from.
    pub const fn contract(&self) -> PricedRate {
        self.contract
    }

    /// The uplift applied.
    pub const fn uplift(&self) -> Decimal {
        self.uplift
    }

    /// Overdue or misuse.
    pub const fn kind(&self) -> PenaltyKind {
        self.kind
    }

    /// The penalty rate.
    pub const fn annual_rate(&self) -> AnnualRate {
        self.annual_rate
    }
}

impl TryFrom<PenaltyRateInput> for PenaltyRate {
    type Error = PricingError;
    fn try_from(i: PenaltyRateInput) -> Result<Self, Self::Error> {
        PenaltyRate::new(i.contract, i.kind, i.uplift)
    }
}

/// 五级分类, ordered from best to worst so `max` gives the more severe class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskClass {
    /// 正常.
    Normal,
    /// 关注.
    SpecialMention,
    /// 次级.
    Substandard,
    /// 可疑.
    Doubtful,
    /// 损失.
    Loss,
}

impl RiskClass {
    /// The Chinese name.
    pub const fn chinese_name(self) -> &'static str {
        match self {
            RiskClass::Normal => "正常",
            RiskClass::SpecialMention => "关注",
            RiskClass::Substandard => "次级",
            RiskClass::Doubtful => "可疑",
            RiskClass::Loss => "损失",
        }
    }
}

/// The class implied by DPD alone. It is a floor: the rules say "at least", so a credit
/// officer's judgement may only make it worse (combine with `RiskClass::max`).
pub const fn classify_by_dpd(dpd: u32) -> RiskClass {
    match dpd {
        0 => RiskClass::Normal,
        1..=90 => RiskClass::SpecialMention,
        91..=270 => RiskClass::Substandard,
        271..=360 => RiskClass::Doubtful,
        _ => RiskClass::Loss,
    }
}

/// First past-due day: due date + grace days.
pub fn past_due_start(due_date: NaiveDate, grace_days: u32) -> Result<NaiveDate, PricingError> {
    due_date
        .checked_add_days(Days::new(u64::from(grace_days)))
        .ok_or(PricingError::Overflow {
            context: "due date + grace days",
        })
}

/// Days past due on `as_of`: max(0, as_of − (due_date + grace_days)).
pub fn days_past_due(
    due_date: NaiveDate,
    grace_days: u32,
    as_of: NaiveDate,
) -> Result<u32, PricingError> {
    let start = past_due_start(due_date, grace_days)?;
    if as_of <= start {
        Ok(0)
    } else {
        days_between(start, as_of)
    }
}

/// Inputs of an overdue assessment of one obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueRequest {
    /// Principal due on `due_date` and still unpaid.
    pub overdue_principal: Money,
    /// Contract interest due on `due_date` and still unpaid.
    pub unpaid_interest: Money,
    /// Contractual due date.
    pub due_date: NaiveDate,
    /// Grace days from the plan (0 if none).
    pub grace_days: u32,
    /// Assessment date (accrual up to, not including, this day).
    pub as_of: NaiveDate,
    /// The penalty rate.
    pub penalty: PenaltyRate,
    /// 结息日 on which accrued penalty and compound interest join the interest base; strictly
    /// increasing; dates outside (past-due start, as_of) are ignored.
    pub capitalisation_dates: Vec<NaiveDate>,
}

/// Accrual over one period between capitalisation dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverduePeriod {
    /// First day (counted).
    pub start: NaiveDate,
    /// Last day (not counted).
    pub end: NaiveDate,
    /// end − start.
    pub days: u32,
    /// Interest base during the period (unpaid interest + capitalised amounts).
    pub interest_base: Money,
    /// overdue principal × penalty rate × days / 360.
    pub penalty_interest: Money,
    /// interest base × penalty rate × days / 360.
    pub compound_interest: Money,
    /// Whether the period's accruals were capitalised at `end`.
    pub capitalised: bool,
}

/// Result of an overdue assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueAssessment {
    /// The penalty rate (naming the contract rate and its fixing).
    pub penalty: PenaltyRate,
    /// ACT/360.
    pub day_count: DayCount,
    /// due_date + grace_days.
    pub past_due_start: NaiveDate,
    /// Days past due on `as_of`.
    pub days_past_due: u32,
    /// Classification floor from DPD.
    pub classification: RiskClass,
    /// Accrual periods (empty if not past due).
    pub periods: Vec<OverduePeriod>,
    /// Σ penalty interest.
    pub penalty_interest: Money,
    /// Σ compound interest.
    pub compound_interest: Money,
    /// principal + unpaid interest + penalty + compound.
    pub total_due: Money,
}

/// Computes penalty and compound interest, DPD and the classification floor.
pub fn assess_overdue(req: &OverdueRequest) -> Result<OverdueAssessment, PricingError> {
    let principal = req
        .overdue_principal
        .require_non_negative("overdue_principal")?;
    let unpaid = req
        .unpaid_interest
        .require_non_negative("unpaid_interest")?;
    for pair in req.capitalisation_dates.windows(2) {
        if let [a, b] = pair
            && b <= a
        {
            return Err(PricingError::UnorderedDates { date: *b });
        }
    }
    let start = past_due_start(req.due_date, req.grace_days)?;
    let dpd = days_past_due(req.due_date, req.grace_days, req.as_of)?;
    let rate = req.penalty.annual_rate();

    let mut periods = Vec::new();
    if req.as_of > start {
        let cuts = req
            .capitalisation_dates
            .iter()
            .copied()
            .filter(|d| *d > start && *d < req.as_of)
            .chain(std::iter::once(req.as_of));
        let mut period_start = start;
        let mut base = unpaid;
        for end in cuts {
            let days = days_between(period_start, end)?;
            let penalty_interest = interest_act360(principal, rate, days)?;
            let compound_interest = interest_act360(base, rate, days)?;
            let capitalised = end < req.as_of;
            periods.push(OverduePeriod {
                start: period_start,
                end,
                days,
                interest_base: base,
                penalty_interest,
                compound_interest,
                capitalised,
            });
            if capitalised {
                base = Money::sum([base, penalty_interest, compound_interest])?;
            }
            period_start = end;
        }
    }
    let penalty_interest = Money::sum(periods.iter().map(|p| p.penalty_interest))?;
    let compound_interest = Money::sum(periods.iter().map(|p| p.compound_interest))?;
    let total_due = Money::sum([principal, unpaid, penalty_interest, compound_interest])?;
    Ok(OverdueAssessment {
        penalty: req.penalty,
        day_count: DayCount::Act360,
        past_due_start: start,
        days_past_due: dpd,
        classification: classify_by_dpd(dpd),
        periods,
        penalty_interest,
        compound_interest,
        total_due,
    })
}
