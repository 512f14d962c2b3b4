//! What the core firm's treasury reads about its program: the exposure by
//! funder and by tier against the plan's limits, its payables due by ISO
//! week, and the suppliers its certificates reached. Read-only; amounts
//! are summed in Rust (SQLite would add decimals as floats).

use crate::db::schema::{
    certificate_holdings, certificates, financings, organisations, relationships,
};
use crate::db::{DbConn, DbDecimal, DbId};
use crate::ledger::writer::CommandError;
use crate::parties::model::{OrgKind, SizeClass};
use crate::pricing::money::Money;
use crate::programs::plan::{self, Plan};
use crate::receivables::financing_model::FinancingStatus;
use crate::receivables::model::CertStatus;
use chrono::{Datelike, Days, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;
use uuid::Uuid;

fn storage(e: impl std::fmt::Display) -> CommandError {
    CommandError::Storage(e.to_string())
}

fn money(d: DbDecimal) -> Result<Money, CommandError> {
    Money::new(d.0).map_err(storage)
}

fn add(a: Money, b: Money) -> Result<Money, CommandError> {
    a.checked_add(b).map_err(storage)
}

/// What is left under `limit` once `used` is taken; negative when a newer
/// plan lowered the limit below what is already used.
fn left(limit: Money, used: Money) -> Result<Money, CommandError> {
    limit.checked_sub(used).map_err(storage)
}

fn statuses(s: &[FinancingStatus]) -> Vec<&'static str> {
    s.iter().map(|s| s.as_str()).collect()
}

/// Financed and not repaid: what holds the funders' lines.
fn exposed() -> Vec<&'static str> {
    statuses(FinancingStatus::EXPOSED)
}

/// Ever paid out to the supplier.
fn ever_disbursed() -> Vec<&'static str> {
    statuses(&[
        FinancingStatus::Disbursed,
        FinancingStatus::Recourse,
        FinancingStatus::Settled,
    ])
}

fn outstanding_statuses() -> Vec<&'static str> {
    CertStatus::OUTSTANDING.iter().map(|s| s.as_str()).collect()
}

/// The core firm of `program`, if it exists.
pub fn core_of(conn: &mut DbConn, program: Uuid) -> Result<Option<DbId>, diesel::result::Error> {
    crate::db::schema::programs::table
        .filter(crate::db::schema::programs::id.eq(DbId::from(program)))
        .select(crate::db::schema::programs::core_org_id)
        .first(conn)
        .optional()
}

/// Each counterparty's tier with `core` (the active relationship first).
pub fn tiers(conn: &mut DbConn, core: DbId) -> Result<HashMap<DbId, i32>, diesel::result::Error> {
    let rows: Vec<(DbId, i32, String)> = relationships::table
        .filter(relationships::core_org_id.eq(core))
        .select((
            relationships::counterparty_org_id,
            relationships::tier,
            relationships::status,
        ))
        .load(conn)?;
    let mut out = HashMap::new();
    for (org, tier, status) in rows {
        if status == "active" || !out.contains_key(&org) {
            out.insert(org, tier);
        }
    }
    Ok(out)
}

/// A limit, what uses it and what is left.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LimitUse {
    #[schema(value_type = String)]
    pub limit: Money,
    #[schema(value_type = String)]
    pub used: Money,
    #[schema(value_type = String)]
    pub available: Money,
}

impl LimitUse {
    pub fn new(limit: Money, used: Money) -> Result<LimitUse, CommandError> {
        Ok(LimitUse {
            limit,
            used,
            available: left(limit, used)?,
        })
    }
}

/// A sum of amounts and how many there are.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tally {
    #[schema(value_type = String)]
    pub amount: Money,
    pub count: i64,
}

impl Tally {
    fn zero() -> Tally {
        Tally {
            amount: Money::ZERO,
            count: 0,
        }
    }

    fn add(&mut self, amount: Money) -> Result<(), CommandError> {
        self.amount = add(self.amount, amount)?;
        self.count += 1;
        Ok(())
    }
}

/// One funder's share of the program.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunderExposure {
    #[schema(value_type = String, format = Uuid)]
    pub funder_org_id: Uuid,
    pub name: String,
    /// Its line in the plan in force (advances of approved, disbursed and
    /// recourse financings against it); absent when the plan no longer
    /// names it.
    pub line: Option<LimitUse>,
    /// Face value of the certificate parts it finances now.
    #[schema(value_type = String)]
    pub financed_face: Money,
    /// Advances it has out (what uses its line).
    #[schema(value_type = String)]
    pub financed_advance: Money,
    pub financings: i64,
}

/// The program seen by the tier of the supplier a certificate part
/// belongs to: its holder's, or for a financed part its applicant's.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TierExposure {
    /// Tier of the relationship with the core firm; null for a holder
    /// without one.
    pub tier: Option<i32>,
    /// Outstanding certificates (issued, active, locked, financed).
    pub outstanding: Tally,
    /// Of which financed: face value and advances out.
    #[schema(value_type = String)]
    pub financed_face: Money,
    #[schema(value_type = String)]
    pub financed_advance: Money,
    pub financings: i64,
}

/// The program limit, used by outstanding certificates (at issuance) and
/// by financing advances (at approval).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgramLimits {
    pub certificates: LimitUse,
    pub financing: LimitUse,
    /// The largest exposure any one supplier may have.
    #[schema(value_type = String)]
    pub counterparty_limit: Money,
}

/// The core firm's exposure in one program, as of a day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Exposure {
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    /// The plan version in force; null (and no limits) without one.
    pub plan_version: Option<i32>,
    pub outstanding: Tally,
    #[schema(value_type = String)]
    pub financed_face: Money,
    #[schema(value_type = String)]
    pub financed_advance: Money,
    pub financings: i64,
    pub limits: Option<ProgramLimits>,
    pub by_funder: Vec<FunderExposure>,
    pub by_tier: Vec<TierExposure>,
}

/// An exposed financing: certificate, applicant, funder, face, advance.
type ExposedRow = (DbId, DbId, DbId, DbDecimal, DbDecimal);

fn plan_in_force(
    conn: &mut DbConn,
    program: Uuid,
    on: NaiveDate,
) -> Result<Option<(i32, Plan)>, CommandError> {
    match plan::in_force(conn, program, on)? {
        Some(v) => Ok(Some((
            v.version,
            serde_json::from_value(v.plan).map_err(storage)?,
        ))),
        None => Ok(None),
    }
}

fn org_names(
    conn: &mut DbConn,
    ids: Vec<DbId>,
) -> Result<HashMap<DbId, String>, diesel::result::Error> {
    Ok(organisations::table
        .filter(organisations::id.eq_any(ids))
        .select((organisations::id, organisations::name))
        .load::<(DbId, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn exposure(conn: &mut DbConn, program: Uuid, on: NaiveDate) -> Result<Exposure, CommandError> {
    let pid = DbId::from(program);
    let core = core_of(conn, program)?.ok_or_else(|| storage("the program vanished"))?;
    let tier_of = tiers(conn, core)?;
    let certs: Vec<(DbId, DbId, DbDecimal)> = certificates::table
        .filter(certificates::program_id.eq(pid))
        .filter(certificates::status.eq_any(outstanding_statuses()))
        .select((
            certificates::id,
            certificates::holder_org_id,
            certificates::amount,
        ))
        .load(conn)?;
    let fins: Vec<ExposedRow> = financings::table
        .filter(financings::program_id.eq(pid))
        .filter(financings::status.eq_any(exposed()))
        .select((
            financings::certificate_id,
            financings::applicant_org_id,
            financings::funder_org_id,
            financings::face_amount,
            financings::advance_amount,
        ))
        .load(conn)?;
    let applicant_of: HashMap<DbId, DbId> = fins.iter().map(|f| (f.0, f.1)).collect();

    let mut outstanding = Tally::zero();
    let mut by_tier: BTreeMap<Option<i32>, TierExposure> = BTreeMap::new();
    let tier_row = |t: Option<i32>| TierExposure {
        tier: t,
        outstanding: Tally::zero(),
        financed_face: Money::ZERO,
        financed_advance: Money::ZERO,
        financings: 0,
    };
    for (id, holder, amount) in &certs {
        let amount = money(*amount)?;
        outstanding.add(amount)?;
        let supplier = applicant_of.get(id).unwrap_or(holder);
        let t = tier_of.get(supplier).copied();
        by_tier
            .entry(t)
            .or_insert_with(|| tier_row(t))
            .outstanding
            .add(amount)?;
    }
    let (mut financed_face, mut financed_advance) = (Money::ZERO, Money::ZERO);
    let mut by_funder: BTreeMap<DbId, (Money, Money, i64)> = BTreeMap::new();
    for (_, applicant, funder, face, advance) in &fins {
        let (face, advance) = (money(*face)?, money(*advance)?);
        financed_face = add(financed_face, face)?;
        financed_advance = add(financed_advance, advance)?;
        let e = by_funder
            .entry(*funder)
            .or_insert((Money::ZERO, Money::ZERO, 0));
        *e = (add(e.0, face)?, add(e.1, advance)?, e.2 + 1);
        let t = tier_of.get(applicant).copied();
        let row = by_tier.entry(t).or_insert_with(|| tier_row(t));
        row.financed_face = add(row.financed_face, face)?;
        row.financed_advance = add(row.financed_advance, advance)?;
        row.financings += 1;
    }
    let plan = plan_in_force(conn, program, on)?;
    // Every funder of the plan in force, financing or not, and any other
    // still carrying financings from an earlier version.
    let mut funders: Vec<DbId> = plan
        .as_ref()
        .map(|(_, p)| p.funders.iter().map(|f| DbId::from(f.org_id)).collect())
        .unwrap_or_default();
    for f in by_funder.keys() {
        if !funders.contains(f) {
            funders.push(*f);
        }
    }
    let names = org_names(conn, funders.clone())?;
    let by_funder = funders
        .iter()
        .map(|f| {
            let (face, advance, n) =
                by_funder
                    .get(f)
                    .copied()
                    .unwrap_or((Money::ZERO, Money::ZERO, 0));
            let line = plan
                .as_ref()
                .and_then(|(_, p)| p.funders.iter().find(|l| l.org_id == f.0))
                .map(|l| LimitUse::new(l.line_limit, advance))
                .transpose()?;
            Ok(FunderExposure {
                funder_org_id: f.0,
                name: names.get(f).cloned().unwrap_or_default(),
                line,
                financed_face: face,
                financed_advance: advance,
                financings: n,
            })
        })
        .collect::<Result<Vec<_>, CommandError>>()?;
    let financings = i64::try_from(fins.len()).unwrap_or(i64::MAX);
    let limits = plan
        .as_ref()
        .map(|(_, p)| {
            Ok::<_, CommandError>(ProgramLimits {
                certificates: LimitUse::new(p.program_limit, outstanding.amount)?,
                financing: LimitUse::new(p.program_limit, financed_advance)?,
                counterparty_limit: p.counterparty_limit,
            })
        })
        .transpose()?;
    Ok(Exposure {
        program_id: program,
        as_of: on,
        plan_version: plan.as_ref().map(|(v, _)| *v),
        outstanding,
        financed_face,
        financed_advance,
        financings,
        limits,
        by_funder,
        by_tier: by_tier.into_values().collect(),
    })
}

/// The core firm's payables maturing in one ISO week.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeekDue {
    /// ISO 8601 week, `2026-W48`.
    pub iso_week: String,
    /// Monday.
    #[schema(value_type = String, format = Date)]
    pub week_start: NaiveDate,
    /// Sunday.
    #[schema(value_type = String, format = Date)]
    pub week_end: NaiveDate,
    #[schema(value_type = String)]
    pub amount: Money,
    pub certificates: i64,
    /// Of which financed (held by a funder).
    #[schema(value_type = String)]
    pub financed_amount: Money,
}

impl crate::listing::CsvRow for WeekDue {
    const COLUMNS: &'static [&'static str] = &[
        "iso_week",
        "week_start",
        "week_end",
        "amount",
        "certificates",
        "financed_amount",
    ];
}

/// The payables schedule: `weeks` ISO weeks from the one holding `on`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayablesDue {
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub items: Vec<WeekDue>,
    /// Over the weeks listed.
    pub total: Tally,
    /// Matured before this week and still unpaid.
    pub past_due: Tally,
    /// Maturing after the last week listed.
    pub later: Tally,
}

pub fn payables_due(
    conn: &mut DbConn,
    program: Uuid,
    on: NaiveDate,
    weeks: u32,
) -> Result<PayablesDue, CommandError> {
    let monday = on
        .checked_sub_days(Days::new(u64::from(on.weekday().num_days_from_monday())))
        .ok_or_else(|| storage("date out of range"))?;
    let rows: Vec<(NaiveDate, DbDecimal, String)> = certificates::table
        .filter(certificates::program_id.eq(DbId::from(program)))
        .filter(certificates::status.eq_any(outstanding_statuses()))
        .select((
            certificates::maturity_date,
            certificates::amount,
            certificates::status,
        ))
        .load(conn)?;
    let mut items = Vec::new();
    for w in 0..weeks {
        let start = monday
            .checked_add_days(Days::new(u64::from(w) * 7))
            .ok_or_else(|| storage("date out of range"))?;
        let end = start
            .checked_add_days(Days::new(6))
            .ok_or_else(|| storage("date out of range"))?;
        let iso = start.iso_week();
        items.push(WeekDue {
            iso_week: format!("{}-W{:02}", iso.year(), iso.week()),
            week_start: start,
            week_end: end,
            amount: Money::ZERO,
            certificates: 0,
            financed_amount: Money::ZERO,
        });
    }
    let (mut total, mut past_due, mut later) = (Tally::zero(), Tally::zero(), Tally::zero());
    for (maturity, amount, status) in rows {
        let amount = money(amount)?;
        if maturity < monday {
            past_due.add(amount)?;
            continue;
        }
        let index = usize::try_from((maturity - monday).num_days() / 7).unwrap_or(usize::MAX);
        match items.get_mut(index) {
            Some(week) => {
                week.amount = add(week.amount, amount)?;
                week.certificates += 1;
                if status == CertStatus::Financed.as_str() {
                    week.financed_amount = add(week.financed_amount, amount)?;
                }
                total.add(amount)?;
            }
            None => later.add(amount)?,
        }
    }
    Ok(PayablesDue {
        as_of: on,
        items,
        total,
        past_due,
        later,
    })
}

/// A firm the program's certificates reached.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reached {
    #[schema(value_type = String, format = Uuid)]
    pub org_id: Uuid,
    pub name: String,
    /// Tier of its relationship with the core firm (1 direct, 2 its
    /// supplier's supplier...); null without one.
    pub tier: Option<i32>,
    pub size_class: Option<SizeClass>,
    /// Outstanding certificates it holds now.
    #[schema(value_type = String)]
    pub held_amount: Money,
    pub held_certificates: i64,
    /// Face value and advances of its financings ever paid out.
    #[schema(value_type = String)]
    pub financed_face: Money,
    #[schema(value_type = String)]
    pub financed_advance: Money,
    pub financings: i64,
}

impl crate::listing::CsvRow for Reached {
    const COLUMNS: &'static [&'static str] = &[
        "org_id",
        "name",
        "tier",
        "size_class",
        "held_amount",
        "held_certificates",
        "financed_face",
        "financed_advance",
        "financings",
    ];
}

/// Who the program reached, deepest tier last.
pub fn reach(
    conn: &mut DbConn,
    program: Uuid,
    tier: Option<i32>,
    size: Option<SizeClass>,
) -> Result<Vec<Reached>, CommandError> {
    let pid = DbId::from(program);
    let core = core_of(conn, program)?.ok_or_else(|| storage("the program vanished"))?;
    let tier_of = tiers(conn, core)?;
    let mut holders: Vec<DbId> = certificate_holdings::table
        .inner_join(certificates::table)
        .filter(certificates::program_id.eq(pid))
        .select(certificate_holdings::holder_org_id)
        .distinct()
        .load(conn)?;
    holders.sort();
    holders.dedup();
    let orgs: Vec<(DbId, String, String, Option<String>)> = organisations::table
        .filter(organisations::id.eq_any(holders))
        .filter(organisations::kind.ne(OrgKind::Funder.as_str()))
        .filter(organisations::id.ne(core))
        .select((
            organisations::id,
            organisations::name,
            organisations::kind,
            organisations::size_class,
        ))
        .load(conn)?;
    let held: Vec<(DbId, DbDecimal)> = certificates::table
        .filter(certificates::program_id.eq(pid))
        .filter(certificates::status.eq_any(outstanding_statuses()))
        .select((certificates::holder_org_id, certificates::amount))
        .load(conn)?;
    let financed: Vec<(DbId, DbDecimal, DbDecimal)> = financings::table
        .filter(financings::program_id.eq(pid))
        .filter(financings::status.eq_any(ever_disbursed()))
        .select((
            financings::applicant_org_id,
            financings::face_amount,
            financings::advance_amount,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    for (id, name, _, size_class) in orgs {
        let row_tier = tier_of.get(&id).copied();
        let row_size = size_class.as_deref().and_then(SizeClass::parse);
        if tier.is_some_and(|t| row_tier != Some(t)) || size.is_some_and(|s| row_size != Some(s)) {
            continue;
        }
        let mut h = Tally::zero();
        for (_, a) in held.iter().filter(|(o, _)| *o == id) {
            h.add(money(*a)?)?;
        }
        let (mut face, mut advance, mut n) = (Money::ZERO, Money::ZERO, 0);
        for (_, f, a) in financed.iter().filter(|(o, _, _)| *o == id) {
            face = add(face, money(*f)?)?;
            advance = add(advance, money(*a)?)?;
            n += 1;
        }
        out.push(Reached {
            org_id: id.0,
            name,
            tier: row_tier,
            size_class: row_size,
            held_amount: h.amount,
            held_certificates: h.count,
            financed_face: face,
            financed_advance: advance,
            financings: n,
        });
    }
    out.sort_by(|a, b| {
        (a.tier.is_none(), a.tier, &a.name, a.org_id).cmp(&(
            b.tier.is_none(),
            b.tier,
            &b.name,
            b.org_id,
        ))
    });
    Ok(out)
}
