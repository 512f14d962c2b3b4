//! Financing a payables certificate, under the single writer: the holder
//! applies against a quote, the funder's analyst recommends and its
//! approver decides (limits checked atomically, 普惠型小微 and 首贷户
//! flagged), the funder disburses to the holder's verified account and
//! registers the assignment on 中登网, and the issuer's payment at maturity
//! is cleared to every holder. Overdue financings are classified.
//!
//! Asset keys: the application must encumber the certificate's asset key
//! (ledger SPEC §6) and a withdrawal, a decline or the clearing must
//! release it, so the offline verifier sees that one certificate part is
//! never financed twice at once.

use crate::db::schema::{
    cash_movements, certificates, financing_credit, financing_steps, financings, organisations,
    registration_tasks,
};
use crate::db::{DbConn, DbDecimal, DbId, DbInstant};
use crate::ledger::writer::{CommandError, EntryView};
use crate::parties::model::{Direction, SizeClass};
use crate::pricing::money::Money;
use crate::pricing::overdue::{
    OverdueAssessment, OverdueRequest, PenaltyKind, PenaltyRate, assess_overdue,
};
use crate::programs::plan::{self, Plan, Product};
use crate::programs::quote::{Quote, QuoteError, QuoteInput, quote};
use crate::receivables::certificates::{self as certs, CertRow};
use crate::receivables::clearing::{self, Part};
use crate::receivables::financing_model::{
    CapitalisationRule, FinancingEvent, FinancingStatus, Flags, InclusiveRule, Limits, Usage,
    check_limits, flags,
};
use crate::receivables::model::{CertEvent, CertStatus};
use crate::receivables::usage;
use crate::routes::mutation::rejected;
use chrono::{Days, NaiveDate};
use diesel::prelude::*;
use scf_ledger::asset::AssetKey;
use scf_ledger::intent::AssetOp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

fn unprocessable(m: impl Into<String>) -> CommandError {
    rejected(422, "unprocessable", m)
}

fn conflict(m: impl Into<String>) -> CommandError {
    rejected(409, "conflict", m)
}

fn no_such_financing() -> CommandError {
    rejected(404, "not_found", "no such financing visible to you")
}

fn storage(e: impl std::fmt::Display) -> CommandError {
    CommandError::Storage(e.to_string())
}

fn seq(view: &EntryView<'_>) -> i64 {
    i64::try_from(view.seq).unwrap_or(i64::MAX)
}

fn today(view: &EntryView<'_>) -> NaiveDate {
    view.time.as_datetime().date_naive()
}

fn now(view: &EntryView<'_>) -> DbInstant {
    DbInstant::new(view.time.as_datetime())
}

fn money(d: DbDecimal) -> Result<Money, CommandError> {
    Money::new(d.0).map_err(storage)
}

/// An analyst's recommendation or an approver's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Decline,
}

/// Body of `financing.apply`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    /// A funder of the program.
    #[schema(value_type = String, format = Uuid)]
    pub funder_org_id: Uuid,
    /// The day the advance is to be paid (interest counts from it).
    #[schema(value_type = String, format = Date)]
    pub financing_date: NaiveDate,
}

/// Body of `financing.recommend`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendBody {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    pub verdict: Verdict,
    pub note: String,
}

/// Body of `financing.decide`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    pub decision: Verdict,
    pub note: String,
}

/// Body of `financing.withdraw`, `financing.classify`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinancingRef {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
}

/// Body of `financing.disburse`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisburseBody {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    /// The applicant's verified settlement account.
    #[schema(value_type = String, format = Uuid)]
    pub account_id: Uuid,
}

/// Body of `financing.register`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    /// The 中登网 registration number.
    pub registration_no: String,
    /// SHA-256 (hex) of the registration certificate document.
    pub evidence_hash: String,
}

/// Body of `financing.recourse`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecourseBody {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    pub note: String,
}

/// Body of `financing.repurchase`: after recourse, the supplier pays the
/// funder's claim as of today and takes its certificate back.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepurchaseBody {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    /// Exactly the claim today: the financed face value plus penalty and
    /// compound interest to date (`overdue.total_due` in the detail).
    #[schema(value_type = String, example = "250412.50")]
    pub amount: Money,
}

/// Penalty and compound interest a late clearing pays a funder on top of
/// its share of the face value, as the issuer signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LateInterestBody {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub funder_org_id: Uuid,
    #[schema(value_type = String, example = "1234.56")]
    pub amount: Money,
}

/// One payout of a clearing, as the issuer signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutBody {
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub holder_org_id: Uuid,
    #[schema(value_type = String, example = "250000.00")]
    pub amount: Money,
}

/// Body of `certificate.clear`: the issuer pays a root certificate's face
/// value and it is shared out to the holders of its parts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearBody {
    #[schema(value_type = String, format = Uuid)]
    pub root_id: Uuid,
    #[schema(value_type = String, example = "1000000.00")]
    pub amount: Money,
    /// Exactly the payouts `GET /v1/certificates/{root}/clearing` shows.
    pub payouts: Vec<PayoutBody>,
    /// Exactly the late interest the preview shows (none when paid within
    /// the grace days).
    #[serde(default)]
    pub late_interest: Vec<LateInterestBody>,
}

/// A stored financing.
#[derive(Debug, Clone, Queryable)]
pub struct FinancingRow {
    pub id: DbId,
    pub program_id: DbId,
    pub core_org_id: DbId,
    pub certificate_id: DbId,
    pub root_id: DbId,
    pub applicant_org_id: DbId,
    pub funder_org_id: DbId,
    pub face_amount: DbDecimal,
    pub advance_amount: DbDecimal,
    pub net_proceeds: DbDecimal,
    pub financing_date: NaiveDate,
    pub maturity_date: NaiveDate,
    pub plan_version: i32,
    pub quote: String,
    pub status: String,
    pub updated_seq: i64,
}

impl FinancingRow {
    pub fn status(&self) -> FinancingStatus {
        FinancingStatus::parse(&self.status).unwrap_or(FinancingStatus::Settled)
    }
}

pub fn load(conn: &mut DbConn, id: Uuid) -> Result<Option<FinancingRow>, diesel::result::Error> {
    financings::table
        .filter(financings::id.eq(DbId::from(id)))
        .first(conn)
        .optional()
}

/// Moves a financing by `event`, or refuses naming the moves allowed.
fn step(row: &FinancingRow, event: FinancingEvent) -> Result<FinancingStatus, CommandError> {
    let status = row.status();
    status.next(event).ok_or_else(|| {
        conflict(format!(
            "the financing is {status}; {event} is not allowed (allowed: {})",
            status.allowed().join(", ")
        ))
    })
}

/// Every status change goes through here, so that the limit usage sums
/// move with it in the same transaction (`receivables::usage`).
fn set_status(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    row: &FinancingRow,
    next: FinancingStatus,
) -> Result<(), CommandError> {
    diesel::update(financings::table.filter(financings::id.eq(row.id)))
        .set((
            financings::status.eq(next.as_str()),
            financings::updated_seq.eq(seq(view)),
        ))
        .execute(conn)?;
    usage::record_move(conn, row, row.status(), next, seq(view))
}

#[allow(clippy::too_many_arguments)]
fn record_step(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    row_id: DbId,
    core: DbId,
    step: &str,
    org: DbId,
    user: DbId,
    note: Option<&str>,
) -> Result<(), CommandError> {
    diesel::insert_into(financing_steps::table)
        .values((
            financing_steps::id.eq(DbId::new_v7()),
            financing_steps::financing_id.eq(row_id),
            financing_steps::core_org_id.eq(core),
            financing_steps::step.eq(step),
            financing_steps::org_id.eq(org),
            financing_steps::user_id.eq(user),
            financing_steps::note.eq(note),
            financing_steps::ledger_seq.eq(seq(view)),
            financing_steps::at.eq(now(view)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The intent must carry `op` on the certificate's asset key.
fn require_asset(view: &EntryView<'_>, certificate: DbId, op: AssetOp) -> Result<(), CommandError> {
    let key = AssetKey::payables_certificate(&certificate.0.to_string()).map_err(storage)?;
    if view
        .intent
        .assets
        .iter()
        .any(|a| a.key == key && a.op == op)
    {
        return Ok(());
    }
    let op = match op {
        AssetOp::Encumber => "encumber",
        AssetOp::Release => "release",
        AssetOp::Reference => "reference",
    };
    Err(unprocessable(format!(
        "intent.assets must {op} the certificate's asset key {} (ledger SPEC §6, payables_certificate)",
        key.to_hex()
    )))
}

fn plan_on(conn: &mut DbConn, program: DbId, on: NaiveDate) -> Result<(i32, Plan), CommandError> {
    let (version, terms) = plan::terms_in_force(conn, program.0, on)?
        .ok_or_else(|| conflict(format!("the program has no approved plan in force on {on}")))?;
    Ok((version, terms.map_err(storage)?))
}

/// The applicant's relationship with the core firm (active) and its size.
fn counterparty(
    conn: &mut DbConn,
    core: DbId,
    firm: DbId,
) -> Result<Option<(Direction, i32, SizeClass)>, CommandError> {
    Ok(certs::active_counterparty(conn, core, firm)?
        .and_then(|(dir, tier, size)| size.map(|s| (dir, tier, s))))
}

/// `financing.apply`: the holder applies to finance a certificate it
/// holds, at the quote the plan and LPR in force give for the date.
pub fn apply(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &ApplyBody,
) -> Result<serde_json::Value, CommandError> {
    let cert = certs::load(conn, body.certificate_id)?
        .filter(|c| c.holder_org_id == org)
        .ok_or_else(|| rejected(404, "not_found", "no such certificate held by you"))?;
    if cert.status() != CertStatus::Active {
        return Err(conflict(format!(
            "the certificate is {}; only an active certificate can be financed",
            cert.status()
        )));
    }
    require_asset(view, cert.id, AssetOp::Encumber)?;
    let on = today(view);
    if body.financing_date < on {
        return Err(unprocessable(format!(
            "financing_date {} is in the past (today is {on})",
            body.financing_date
        )));
    }
    let (_, terms) = plan_on(conn, cert.program_id, body.financing_date)?;
    if !terms.products.contains(&Product::Receivables) {
        return Err(unprocessable(
            "the plan in force does not enable receivables",
        ));
    }
    if !terms.funders.iter().any(|f| f.org_id == body.funder_org_id) {
        return Err(unprocessable(format!(
            "funder_org_id {} is not a funder of this program's plan",
            body.funder_org_id
        )));
    }
    let e = &terms.eligibility;
    let size = match counterparty(conn, cert.core_org_id, org)? {
        Some((dir, tier, size))
            if e.directions.contains(&dir) && u8::try_from(tier).is_ok_and(|t| t <= e.max_tier) =>
        {
            size
        }
        _ => {
            return Err(unprocessable(format!(
                "you are not eligible under the plan: active {} counterparties up to tier {}",
                e.directions
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                e.max_tier
            )));
        }
    };
    let face = money(cert.amount)?;
    let q: Quote = quote(
        conn,
        cert.program_id.0,
        &QuoteInput {
            face_amount: face,
            financing_date: body.financing_date,
            maturity_date: cert.maturity_date,
            supplier_size: size,
        },
    )
    .map_err(|e| match e {
        QuoteError::Db(e) => CommandError::from(e),
        QuoteError::NoPlan(_) | QuoteError::NoFixing(..) | QuoteError::StaleFixing { .. } => {
            conflict(e.to_string())
        }
        other => unprocessable(other.to_string()),
    })?;
    certs::lock(conn, cert.id.0, seq(view))?;
    let id = DbId::from(body.financing_id);
    let quote_json = serde_json::to_string(&q).map_err(storage)?;
    diesel::insert_into(financings::table)
        .values((
            financings::id.eq(id),
            financings::program_id.eq(cert.program_id),
            financings::core_org_id.eq(cert.core_org_id),
            financings::certificate_id.eq(cert.id),
            financings::root_id.eq(cert.root_id),
            financings::applicant_org_id.eq(org),
            financings::funder_org_id.eq(DbId::from(body.funder_org_id)),
            financings::face_amount.eq(DbDecimal(face.amount())),
            financings::advance_amount.eq(DbDecimal(q.quote.advance_amount.amount())),
            financings::net_proceeds.eq(DbDecimal(q.quote.net_proceeds.amount())),
            financings::financing_date.eq(body.financing_date),
            financings::maturity_date.eq(cert.maturity_date),
            financings::plan_version.eq(q.plan_version),
            financings::quote.eq(&quote_json),
            financings::status.eq(FinancingStatus::Applied.as_str()),
            financings::updated_seq.eq(seq(view)),
        ))
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => conflict(format!("financing {} exists already", body.financing_id)),
            other => other.into(),
        })?;
    record_step(conn, view, id, cert.core_org_id, "applied", org, user, None)?;
    Ok(serde_json::json!({
        "financing_id": body.financing_id,
        "status": FinancingStatus::Applied,
        "certificate_id": cert.id.0,
        "quote": q,
    }))
}

/// The financing, if `org` is its funder.
fn funded_by(conn: &mut DbConn, org: DbId, id: Uuid) -> Result<FinancingRow, CommandError> {
    load(conn, id)?
        .filter(|f| f.funder_org_id == org)
        .ok_or_else(no_such_financing)
}

fn applied_by(conn: &mut DbConn, org: DbId, id: Uuid) -> Result<FinancingRow, CommandError> {
    load(conn, id)?
        .filter(|f| f.applicant_org_id == org)
        .ok_or_else(no_such_financing)
}

/// `financing.recommend`: the funder's analyst recommends.
pub fn recommend(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &RecommendBody,
) -> Result<serde_json::Value, CommandError> {
    let row = funded_by(conn, org, body.financing_id)?;
    let next = step(&row, FinancingEvent::Recommend)?;
    let note = crate::parties::onboarding::text("note", &body.note)?;
    set_status(conn, view, &row, next)?;
    let verdict = match body.verdict {
        Verdict::Approve => "approve",
        Verdict::Decline => "decline",
    };
    record_step(
        conn,
        view,
        row.id,
        row.core_org_id,
        "recommended",
        org,
        user,
        Some(&format!("{verdict}: {note}")),
    )?;
    Ok(
        serde_json::json!({ "financing_id": row.id.0, "status": next, "recommendation": body.verdict }),
    )
}

/// The analyst who recommended, if any.
fn recommender(conn: &mut DbConn, id: DbId) -> Result<Option<DbId>, CommandError> {
    Ok(financing_steps::table
        .filter(financing_steps::financing_id.eq(id))
        .filter(financing_steps::step.eq("recommended"))
        .order(financing_steps::ledger_seq.desc())
        .select(financing_steps::user_id)
        .first(conn)
        .optional()?)
}

/// What the three limits carry now for `row` (excluding `row` itself).
fn usage(conn: &mut DbConn, row: &FinancingRow) -> Result<Usage, CommandError> {
    Ok(usage::usage_for(conn, row)?.0)
}

/// `financing.decide`: the funder's approver (not the analyst) approves,
/// within the limits, or declines and releases the certificate.
pub fn decide(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &DecideBody,
) -> Result<serde_json::Value, CommandError> {
    let row = funded_by(conn, org, body.financing_id)?;
    let event = match body.decision {
        Verdict::Approve => FinancingEvent::Approve,
        Verdict::Decline => FinancingEvent::Decline,
    };
    let next = step(&row, event)?;
    if recommender(conn, row.id)? == Some(user) {
        return Err(rejected(
            403,
            "forbidden",
            "the analyst who recommended cannot also decide (maker and checker are two people)",
        ));
    }
    let note = crate::parties::onboarding::text("note", &body.note)?;
    let mut answer = serde_json::json!({ "financing_id": row.id.0, "status": next });
    match body.decision {
        Verdict::Decline => {
            require_asset(view, row.certificate_id, AssetOp::Release)?;
            certs::unlock(conn, row.certificate_id.0, seq(view))?;
        }
        Verdict::Approve => {
            let (_, terms) = plan_on(conn, row.program_id, today(view))?;
            let line = terms
                .funders
                .iter()
                .find(|f| f.org_id == row.funder_org_id.0)
                .map(|f| f.line_limit)
                .ok_or_else(|| {
                    conflict("the plan in force no longer names you as a funder of this program")
                })?;
            let limits = Limits {
                program: terms.program_limit,
                funder_line: line,
                counterparty: terms.counterparty_limit,
            };
            let add = money(row.advance_amount)?;
            let (used, borrower) = usage::usage_for(conn, &row)?;
            check_limits(limits, used, add).map_err(|b| conflict(b.to_string()))?;
            let f = regulatory_flags(conn, view, &row, borrower, add)?;
            diesel::insert_into(financing_credit::table)
                .values((
                    financing_credit::financing_id.eq(row.id),
                    financing_credit::core_org_id.eq(row.core_org_id),
                    financing_credit::inclusive_sme.eq(f.inclusive_sme),
                    financing_credit::first_loan.eq(f.first_loan),
                ))
                .execute(conn)?;
            if let Some(o) = answer.as_object_mut() {
                o.insert("flags".into(), serde_json::to_value(f).map_err(storage)?);
            }
        }
    }
    set_status(conn, view, &row, next)?;
    let step_name = match body.decision {
        Verdict::Approve => "approved",
        Verdict::Decline => "declined",
    };
    record_step(
        conn,
        view,
        row.id,
        row.core_org_id,
        step_name,
        org,
        user,
        Some(&note),
    )?;
    Ok(answer)
}

/// 普惠型小微 (aggregate credit across the platform, this one included,
/// within the dated ceiling, for a small or micro borrower) and 首贷户.
/// `borrowed` is the applicant's platform-wide exposure without `row`.
fn regulatory_flags(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    row: &FinancingRow,
    borrowed: Money,
    add: Money,
) -> Result<Flags, CommandError> {
    let rule: InclusiveRule = plan::policy(conn, "inclusive_sme_loan", today(view))?;
    let size: Option<String> = organisations::table
        .filter(organisations::id.eq(row.applicant_org_id))
        .select(organisations::size_class)
        .first(conn)?;
    let size = size
        .as_deref()
        .and_then(SizeClass::parse)
        .ok_or_else(|| storage("the applicant has no size class"))?;
    let aggregate = borrowed.checked_add(add).map_err(storage)?;
    let ever: Vec<&str> = FinancingStatus::EVER_LENT
        .iter()
        .map(|s| s.as_str())
        .collect();
    let before: Option<DbId> = financings::table
        .filter(financings::applicant_org_id.eq(row.applicant_org_id))
        .filter(financings::status.eq_any(ever))
        .filter(financings::id.ne(row.id))
        .select(financings::id)
        .first(conn)
        .optional()?;
    Ok(flags(size, aggregate, before.is_some(), rule))
}

/// `financing.withdraw`: the applicant withdraws before the decision.
pub fn withdraw(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &FinancingRef,
) -> Result<serde_json::Value, CommandError> {
    let row = applied_by(conn, org, body.financing_id)?;
    let next = step(&row, FinancingEvent::Withdraw)?;
    require_asset(view, row.certificate_id, AssetOp::Release)?;
    certs::unlock(conn, row.certificate_id.0, seq(view))?;
    set_status(conn, view, &row, next)?;
    record_step(
        conn,
        view,
        row.id,
        row.core_org_id,
        "withdrawn",
        org,
        user,
        None,
    )?;
    Ok(serde_json::json!({ "financing_id": row.id.0, "status": next }))
}

/// Where `event` takes a certificate, or 409 naming its status.
fn cert_step(cert: &CertRow, event: CertEvent) -> Result<CertStatus, CommandError> {
    cert.status().next(event).ok_or_else(|| {
        conflict(format!(
            "certificate {} is {}; {event} is not allowed",
            cert.id.0,
            cert.status()
        ))
    })
}

/// Settles a paid part: its status moves and its last holding closes.
fn settle_certificate(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    cert: &CertRow,
) -> Result<(), CommandError> {
    let next = cert_step(cert, CertEvent::Settle)?;
    diesel::update(certificates::table.filter(certificates::id.eq(cert.id)))
        .set((
            certificates::status.eq(next.as_str()),
            certificates::updated_seq.eq(seq(view)),
        ))
        .execute(conn)?;
    certs::close_holding(conn, view, cert.id)
}

/// `financing.disburse`: the funder pays the net proceeds to the
/// applicant's verified account on the financing date; the certificate
/// passes to the funder (notice of assignment to the issuer) and the
/// 中登网 registration task opens.
pub fn disburse(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &DisburseBody,
) -> Result<serde_json::Value, CommandError> {
    let row = funded_by(conn, org, body.financing_id)?;
    let next = step(&row, FinancingEvent::Disburse)?;
    let on = today(view);
    if on != row.financing_date {
        return Err(conflict(format!(
            "the quote is for a disbursement on {}, and today is {on}: the applicant withdraws and applies again at a current quote",
            row.financing_date
        )));
    }
    let account = crate::parties::accounts::verified_account(
        conn,
        row.applicant_org_id,
        DbId::from(body.account_id),
    )?;
    let cert = certs::load(conn, row.certificate_id.0)?
        .ok_or_else(|| storage("the financed certificate vanished"))?;
    let next_cert = cert_step(&cert, CertEvent::Finance)?;
    certs::reassign(conn, view, &cert, next_cert, row.applicant_org_id, org)?;
    let net = money(row.net_proceeds)?;
    cash(
        conn,
        view,
        &row,
        "disbursement",
        Some(row.certificate_id),
        org,
        row.applicant_org_id,
        Some(account.id),
        net,
    )?;
    #[derive(Deserialize)]
    struct Deadline {
        days_after_disbursement: u32,
    }
    let rule: Deadline = plan::policy(conn, "registration_deadline", on)?;
    let due = on
        .checked_add_days(Days::new(u64::from(rule.days_after_disbursement)))
        .ok_or_else(|| storage("registration deadline out of range"))?;
    diesel::insert_into(registration_tasks::table)
        .values((
            registration_tasks::financing_id.eq(row.id),
            registration_tasks::core_org_id.eq(row.core_org_id),
            registration_tasks::funder_org_id.eq(org),
            registration_tasks::due_on.eq(due),
            registration_tasks::created_seq.eq(seq(view)),
        ))
        .execute(conn)?;
    diesel::update(financing_credit::table.filter(financing_credit::financing_id.eq(row.id)))
        .set((
            financing_credit::disbursed_on.eq(Some(on)),
            financing_credit::account_id.eq(Some(account.id)),
        ))
        .execute(conn)?;
    set_status(conn, view, &row, next)?;
    record_step(
        conn,
        view,
        row.id,
        row.core_org_id,
        "disbursed",
        org,
        user,
        None,
    )?;
    Ok(serde_json::json!({
        "financing_id": row.id.0,
        "status": next,
        "paid": net,
        "account_id": account.id.0,
        "registration_due_on": due,
    }))
}

#[allow(clippy::too_many_arguments)]
fn cash(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    row: &FinancingRow,
    kind: &str,
    certificate: Option<DbId>,
    payer: DbId,
    payee: DbId,
    account: Option<DbId>,
    amount: Money,
) -> Result<(), CommandError> {
    insert_cash(
        conn,
        view,
        (row.program_id, row.core_org_id),
        kind,
        Some(row.id),
        certificate,
        payer,
        payee,
        account,
        amount,
    )
}

#[allow(clippy::too_many_arguments)]
fn insert_cash(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    (program, core): (DbId, DbId),
    kind: &str,
    financing: Option<DbId>,
    certificate: Option<DbId>,
    payer: DbId,
    payee: DbId,
    account: Option<DbId>,
    amount: Money,
) -> Result<(), CommandError> {
    diesel::insert_into(cash_movements::table)
        .values((
            cash_movements::id.eq(DbId::new_v7()),
            cash_movements::program_id.eq(program),
            cash_movements::core_org_id.eq(core),
            cash_movements::kind.eq(kind),
            cash_movements::financing_id.eq(financing),
            cash_movements::certificate_id.eq(certificate),
            cash_movements::payer_org_id.eq(payer),
            cash_movements::payee_org_id.eq(payee),
            cash_movements::account_id.eq(account),
            cash_movements::amount.eq(DbDecimal(amount.amount())),
            cash_movements::value_date.eq(today(view)),
            cash_movements::ledger_seq.eq(seq(view)),
            cash_movements::created_at.eq(now(view)),
        ))
        .execute(conn)?;
    Ok(())
}

/// `financing.register`: the funder records the 中登网 registration.
pub fn register(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &RegisterBody,
) -> Result<serde_json::Value, CommandError> {
    let row = funded_by(conn, org, body.financing_id)?;
    let number = crate::parties::onboarding::text("registration_no", &body.registration_no)?;
    let hash = body.evidence_hash.to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unprocessable(
            "evidence_hash must be the SHA-256 of the registration document, 64 hex digits",
        ));
    }
    let task: Option<(NaiveDate, Option<String>)> = registration_tasks::table
        .filter(registration_tasks::financing_id.eq(row.id))
        .select((
            registration_tasks::due_on,
            registration_tasks::registration_no,
        ))
        .first(conn)
        .optional()?;
    let (due, done) =
        task.ok_or_else(|| conflict("no registration task: the financing is not disbursed"))?;
    if done.is_some() {
        return Err(conflict("the registration is recorded already"));
    }
    // One 中登网 registration may cover several financings of one
    // assignor to one assignee (a master agreement), never another pair.
    let others: Vec<(DbId, DbId)> = registration_tasks::table
        .inner_join(financings::table)
        .filter(registration_tasks::registration_no.eq(&number))
        .filter(registration_tasks::financing_id.ne(row.id))
        .select((financings::funder_org_id, financings::applicant_org_id))
        .load(conn)?;
    if others
        .iter()
        .any(|(f, a)| *f != row.funder_org_id || *a != row.applicant_org_id)
    {
        return Err(conflict(format!(
            "registration {number} is recorded for another assignor or assignee: one registration covers financings of one supplier to one funder only"
        )));
    }
    diesel::update(registration_tasks::table.filter(registration_tasks::financing_id.eq(row.id)))
        .set((
            registration_tasks::registration_no.eq(Some(&number)),
            registration_tasks::evidence_hash.eq(Some(&hash)),
            registration_tasks::done_seq.eq(Some(seq(view))),
            registration_tasks::done_at.eq(Some(now(view))),
        ))
        .execute(conn)?;
    record_step(
        conn,
        view,
        row.id,
        row.core_org_id,
        "registered",
        org,
        user,
        Some(&number),
    )?;
    Ok(serde_json::json!({
        "financing_id": row.id.0,
        "registration_no": number,
        "due_on": due,
        "late": today(view) > due,
    }))
}

/// The overdue figures of a disbursed financing on `on`: the funder's
/// claim is the financed face value, due at maturity, past due after the
/// plan's grace days, with penalty interest at the contract rate × (1 +
/// the plan's uplift).
pub fn overdue_on(
    conn: &mut DbConn,
    row: &FinancingRow,
    on: NaiveDate,
) -> Result<OverdueAssessment, CommandError> {
    let (_, terms) = plan_on(conn, row.program_id, row.financing_date)?;
    let q: serde_json::Value = serde_json::from_str(&row.quote).map_err(storage)?;
    let rate = q
        .get("quote")
        .and_then(|v| v.get("rate"))
        .cloned()
        .ok_or_else(|| storage("the stored quote has no rate"))?;
    let rate = serde_json::from_value(rate).map_err(storage)?;
    let penalty = PenaltyRate::new(rate, PenaltyKind::Overdue, terms.penalty_uplift)
        .map_err(|e| unprocessable(e.to_string()))?;
    // The 结息日 in force when the financing was made are its contract's.
    let rule: CapitalisationRule =
        plan::policy(conn, "penalty_capitalisation", row.financing_date)?;
    assess_overdue(&OverdueRequest {
        overdue_principal: money(row.face_amount)?,
        unpaid_interest: Money::ZERO,
        due_date: row.maturity_date,
        grace_days: u32::from(terms.grace_days),
        as_of: on,
        penalty,
        capitalisation_dates: rule.dates_between(row.maturity_date, on),
    })
    .map_err(|e| unprocessable(e.to_string()))
}

/// `financing.classify`: the funder records the five-class classification
/// (at least the floor days past due give) as of today.
pub fn classify(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &FinancingRef,
) -> Result<serde_json::Value, CommandError> {
    let row = funded_by(conn, org, body.financing_id)?;
    if !matches!(
        row.status(),
        FinancingStatus::Disbursed | FinancingStatus::Recourse
    ) {
        return Err(conflict(format!(
            "the financing is {}; only an outstanding financing is classified",
            row.status()
        )));
    }
    let a = overdue_on(conn, &row, today(view))?;
    let class = serde_json::to_value(a.classification).map_err(storage)?;
    let class_name = class.as_str().unwrap_or("normal").to_owned();
    diesel::update(financing_credit::table.filter(financing_credit::financing_id.eq(row.id)))
        .set((
            financing_credit::risk_class.eq(Some(&class_name)),
            financing_credit::days_past_due
                .eq(Some(i32::try_from(a.days_past_due).unwrap_or(i32::MAX))),
            financing_credit::classified_on.eq(Some(today(view))),
        ))
        .execute(conn)?;
    record_step(
        conn,
        view,
        row.id,
        row.core_org_id,
        "classified",
        org,
        user,
        Some(&format!(
            "{class_name} ({}), {} days past due",
            a.classification.chinese_name(),
            a.days_past_due
        )),
    )?;
    Ok(serde_json::json!({
        "financing_id": row.id.0,
        "risk_class": class,
        "risk_class_zh": a.classification.chinese_name(),
        "days_past_due": a.days_past_due,
        "penalty_interest": a.penalty_interest,
        "total_due": a.total_due,
    }))
}

/// `financing.recourse`: with a plan that allows it, the funder turns to
/// the supplier for an overdue financing.
pub fn recourse(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &RecourseBody,
) -> Result<serde_json::Value, CommandError> {
    let row = funded_by(conn, org, body.financing_id)?;
    let next = step(&row, FinancingEvent::ExerciseRecourse)?;
    let (_, terms) = plan_on(conn, row.program_id, row.financing_date)?;
    if !terms.recourse {
        return Err(conflict(
            "the plan this financing was made under is without recourse: the funder bears the issuer's default",
        ));
    }
    let a = overdue_on(conn, &row, today(view))?;
    if a.days_past_due == 0 {
        return Err(conflict(format!(
            "the financing is not past due (past due from {})",
            a.past_due_start
        )));
    }
    let note = crate::parties::onboarding::text("note", &body.note)?;
    set_status(conn, view, &row, next)?;
    record_step(
        conn,
        view,
        row.id,
        row.core_org_id,
        "recourse",
        org,
        user,
        Some(&note),
    )?;
    Ok(serde_json::json!({
        "financing_id": row.id.0,
        "status": next,
        "claim": a.total_due,
        "days_past_due": a.days_past_due,
    }))
}

/// The financed certificate passes from the funder back to the applicant
/// (with a notice: the issuer must know whom to pay at maturity).
fn back_to_supplier(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    row: &FinancingRow,
) -> Result<(CertRow, CertStatus), CommandError> {
    let cert = certs::load(conn, row.certificate_id.0)?
        .ok_or_else(|| storage("the financed certificate vanished"))?;
    let next = cert_step(&cert, CertEvent::Repurchase)?;
    certs::reassign(
        conn,
        view,
        &cert,
        next,
        row.funder_org_id,
        row.applicant_org_id,
    )?;
    Ok((cert, next))
}

/// `financing.repurchase`: after recourse, the applicant pays the funder's
/// claim as of today (face value, penalty and compound interest) and the
/// certificate comes back to it, its asset key released: the supplier now
/// holds the overdue payable against the issuer, and a later clearing pays
/// it instead of the funder.
pub fn repurchase(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &RepurchaseBody,
) -> Result<serde_json::Value, CommandError> {
    let row = applied_by(conn, org, body.financing_id)?;
    let next = step(&row, FinancingEvent::Repurchase)?;
    require_asset(view, row.certificate_id, AssetOp::Release)?;
    let on = today(view);
    let claim = overdue_on(conn, &row, on)?;
    if body.amount != claim.total_due {
        return Err(unprocessable(format!(
            "amount must be the claim on {on}: {} (face {}, penalty {}, compound {})",
            claim.total_due, row.face_amount.0, claim.penalty_interest, claim.compound_interest
        )));
    }
    let (cert, next_cert) = back_to_supplier(conn, view, &row)?;
    cash(
        conn,
        view,
        &row,
        "recourse_repayment",
        Some(row.certificate_id),
        row.applicant_org_id,
        row.funder_org_id,
        None,
        claim.total_due,
    )?;
    set_status(conn, view, &row, next)?;
    record_step(
        conn,
        view,
        row.id,
        row.core_org_id,
        "repurchased",
        org,
        user,
        Some(&format!(
            "repurchased on {on}, {} days past due: {}",
            claim.days_past_due, claim.total_due
        )),
    )?;
    Ok(serde_json::json!({
        "financing_id": row.id.0,
        "status": next,
        "certificate_id": cert.id.0,
        "certificate_status": next_cert,
        "paid": claim.total_due,
        "penalty_interest": claim.penalty_interest,
        "compound_interest": claim.compound_interest,
        "days_past_due": claim.days_past_due,
    }))
}

/// `financing.settle_early` (随借随还, BRIEF §2.8): with a plan that allows
/// it, the applicant repays a disbursed financing before maturity. The
/// funder keeps the discount interest earned to the day and refunds the
/// rest (`pricing::early::settle_discount_early`): the supplier pays the
/// advance less its share of the refund, the core firm's share (if it bore
/// part of the discount) goes back to it, and the certificate returns to
/// the supplier, active again, its asset key released.
pub fn settle_early(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &FinancingRef,
) -> Result<serde_json::Value, CommandError> {
    let row = applied_by(conn, org, body.financing_id)?;
    if row.status() != FinancingStatus::Disbursed {
        return Err(conflict(format!(
            "the financing is {}; only a disbursed financing is settled early",
            row.status()
        )));
    }
    let next = step(&row, FinancingEvent::Settle)?;
    let (_, terms) = plan_on(conn, row.program_id, row.financing_date)?;
    if !terms.early_settlement {
        return Err(conflict(
            "the plan this financing was made under does not allow early settlement (随借随还)",
        ));
    }
    let on = today(view);
    if on >= row.maturity_date {
        return Err(conflict(format!(
            "the certificate matures on {}: on or after maturity the issuer's payment clears it",
            row.maturity_date
        )));
    }
    require_asset(view, row.certificate_id, AssetOp::Release)?;
    let stored: serde_json::Value = serde_json::from_str(&row.quote).map_err(storage)?;
    let signed: crate::pricing::DiscountQuote = stored
        .get("quote")
        .cloned()
        .ok_or_else(|| storage("the stored quote has no pricing"))
        .and_then(|q| serde_json::from_value(q).map_err(storage))?;
    let early = crate::pricing::settle_discount_early(&signed, on)
        .map_err(|e| unprocessable(e.to_string()))?;
    let repaid = early
        .advance_repaid
        .checked_sub(early.refund.supplier)
        .map_err(storage)?;
    let (cert, _) = back_to_supplier(conn, view, &row)?;
    cash(
        conn,
        view,
        &row,
        "early_settlement",
        Some(row.certificate_id),
        row.applicant_org_id,
        row.funder_org_id,
        None,
        repaid,
    )?;
    // Same kind, the other way: payer and payee tell it from the repayment.
    if early.refund.core_firm.is_positive() {
        cash(
            conn,
            view,
            &row,
            "early_settlement",
            Some(row.certificate_id),
            row.funder_org_id,
            row.core_org_id,
            None,
            early.refund.core_firm,
        )?;
    }
    set_status(conn, view, &row, next)?;
    record_step(
        conn,
        view,
        row.id,
        row.core_org_id,
        "settled",
        org,
        user,
        Some(&format!(
            "settled early on {on}: {} of {} days used",
            early.days_used,
            early.days_used.saturating_add(early.days_unused)
        )),
    )?;
    Ok(serde_json::json!({
        "financing_id": row.id.0,
        "status": next,
        "certificate_id": cert.id.0,
        "certificate_status": CertStatus::Active,
        "settlement": early,
        "repaid": repaid,
    }))
}

/// The parts of a root certificate the issuer's payment is shared among:
/// every certificate of the root that is not split, settled or void.
pub fn parts(conn: &mut DbConn, root: DbId) -> Result<Vec<CertRow>, CommandError> {
    let live = [
        CertStatus::Active.as_str(),
        CertStatus::Locked.as_str(),
        CertStatus::Financed.as_str(),
    ];
    Ok(certificates::table
        .filter(certificates::root_id.eq(root))
        .filter(certificates::status.eq_any(live))
        .order(certificates::id.asc())
        .select(certs::CERT_COLUMNS)
        .load(conn)?)
}

/// The payouts a full payment of a root makes to its live `parts` now.
pub fn payouts(parts: &[CertRow]) -> Result<(Money, Vec<PayoutBody>), CommandError> {
    let shares: Vec<Part> = parts
        .iter()
        .map(|c| {
            Ok(Part {
                certificate: c.id.0,
                holder: c.holder_org_id.0,
                amount: money(c.amount)?,
            })
        })
        .collect::<Result<_, CommandError>>()?;
    let total = Money::sum(shares.iter().map(|p| p.amount)).map_err(storage)?;
    let out = clearing::pro_rata(total, &shares).map_err(|e| conflict(e.to_string()))?;
    Ok((
        total,
        out.into_iter()
            .map(|p| PayoutBody {
                certificate_id: p.certificate,
                holder_org_id: p.holder,
                amount: p.amount,
            })
            .collect(),
    ))
}

/// The financings on `root`'s parts still owed by the issuer (disbursed, or
/// under recourse and not repurchased).
fn outstanding_on(conn: &mut DbConn, root: DbId) -> Result<Vec<FinancingRow>, CommandError> {
    Ok(financings::table
        .filter(financings::root_id.eq(root))
        .filter(financings::status.eq_any([
            FinancingStatus::Disbursed.as_str(),
            FinancingStatus::Recourse.as_str(),
        ]))
        .order(financings::id.asc())
        .load(conn)?)
}

/// What paying `root` on `on` owes the funders beyond the face value:
/// penalty and compound interest from the end of the grace days, at the
/// plan's uplift over each financing's contract rate. Nothing is owed
/// within the grace days, so on-time clearings carry none.
fn late_interest(
    conn: &mut DbConn,
    owed: &[FinancingRow],
    on: NaiveDate,
) -> Result<Vec<LateInterestBody>, CommandError> {
    let mut out = Vec::new();
    for f in owed {
        let a = overdue_on(conn, f, on)?;
        let amount = a
            .penalty_interest
            .checked_add(a.compound_interest)
            .map_err(storage)?;
        if amount.is_positive() {
            out.push(LateInterestBody {
                financing_id: f.id.0,
                funder_org_id: f.funder_org_id.0,
                amount,
            });
        }
    }
    Ok(out)
}

/// `certificate.clear`: the issuer pays the root's face value, which is
/// shared to every current holder pro rata; parts and financings settle.
/// Paid after the grace days, it also pays each funder its penalty and
/// compound interest to the day. Not before maturity: a payable is paid
/// when due, and the funders' discount was priced to that date.
pub fn clear(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &ClearBody,
) -> Result<serde_json::Value, CommandError> {
    let root = certs::load(conn, body.root_id)?
        .filter(|c| c.core_org_id == org && c.id == c.root_id)
        .ok_or_else(|| rejected(404, "not_found", "no such root certificate issued by you"))?;
    let face = money(root.amount)?;
    let on = today(view);
    if on < root.maturity_date {
        return Err(conflict(format!(
            "the certificate matures on {}: the issuer pays it into clearing on or after that day",
            root.maturity_date
        )));
    }
    if body.amount != face {
        return Err(unprocessable(format!(
            "amount must be the root's face value {face}: the issuer pays the whole payable"
        )));
    }
    let live = parts(conn, root.id)?;
    if let Some(locked) = live.iter().find(|c| c.status() == CertStatus::Locked) {
        return Err(conflict(format!(
            "part {} is locked by a financing that is not disbursed; the funder decides or the applicant withdraws first",
            locked.id.0
        )));
    }
    let (total, expected) = payouts(&live)?;
    if total != face {
        return Err(storage(format!(
            "the parts of {} add up to {total}, not its face value {face}",
            root.id.0
        )));
    }
    if body.payouts != expected {
        return Err(unprocessable(format!(
            "payouts must be exactly those of GET /v1/certificates/{}/clearing: {}",
            root.id.0,
            serde_json::to_string(&expected).unwrap_or_default()
        )));
    }
    let owed = outstanding_on(conn, root.id)?;
    let late = late_interest(conn, &owed, on)?;
    if body.late_interest != late {
        return Err(unprocessable(format!(
            "late_interest must be exactly that of GET /v1/certificates/{}/clearing on {on}: {}",
            root.id.0,
            serde_json::to_string(&late).unwrap_or_default()
        )));
    }
    let key = (root.program_id, root.core_org_id);
    insert_cash(
        conn,
        view,
        key,
        "clearing_deposit",
        None,
        Some(root.id),
        org,
        org,
        None,
        face,
    )?;
    for l in &late {
        let f = owed
            .iter()
            .find(|f| f.id.0 == l.financing_id)
            .ok_or_else(|| storage("a late financing vanished"))?;
        insert_cash(
            conn,
            view,
            key,
            "late_interest",
            Some(f.id),
            Some(f.certificate_id),
            org,
            f.funder_org_id,
            None,
            l.amount,
        )?;
    }
    let mut settled = Vec::new();
    for part in &live {
        let amount = money(part.amount)?;
        let financing = owed.iter().find(|f| f.certificate_id == part.id);
        if let Some(f) = financing {
            require_asset(view, part.id, AssetOp::Release)?;
            let next = step(f, FinancingEvent::Settle)?;
            set_status(conn, view, f, next)?;
            record_step(
                conn,
                view,
                f.id,
                f.core_org_id,
                "settled",
                org,
                user,
                Some("cleared at maturity"),
            )?;
            settled.push(f.id.0);
        }
        insert_cash(
            conn,
            view,
            key,
            "clearing_payout",
            financing.map(|f| f.id),
            Some(part.id),
            org,
            part.holder_org_id,
            None,
            amount,
        )?;
        settle_certificate(conn, view, part)?;
    }
    Ok(serde_json::json!({
        "root_id": root.id.0,
        "paid": face,
        "payouts": expected,
        "late_interest": late,
        "financings_settled": settled,
    }))
}

/// Whether `org` may read financing `row`: applicant, funder, the core
/// firm whose program it is, or the operator.
pub fn can_see(row: &FinancingRow, org: DbId, operator: bool) -> bool {
    operator || [row.applicant_org_id, row.funder_org_id, row.core_org_id].contains(&org)
}

/// A financing as lists show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FinancingSummary {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub root_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub applicant_org_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub funder_org_id: Uuid,
    pub status: FinancingStatus,
    #[schema(value_type = String)]
    pub face_amount: Money,
    #[schema(value_type = String)]
    pub advance_amount: Money,
    #[schema(value_type = String)]
    pub net_proceeds: Money,
    #[schema(value_type = String, format = Date)]
    pub financing_date: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub maturity_date: NaiveDate,
    pub plan_version: i32,
    /// For triage: who applies, how big it is and how deep in the chain.
    pub applicant_name: Option<String>,
    pub applicant_size_class: Option<SizeClass>,
    /// Tier of the applicant's relationship with the core firm.
    pub applicant_tier: Option<i32>,
    /// The core firm that owes the certificate.
    pub issuer_name: Option<String>,
}

impl crate::listing::CsvRow for FinancingSummary {
    const COLUMNS: &'static [&'static str] = &[
        "financing_id",
        "program_id",
        "certificate_id",
        "root_id",
        "applicant_org_id",
        "funder_org_id",
        "status",
        "face_amount",
        "advance_amount",
        "net_proceeds",
        "financing_date",
        "maturity_date",
        "plan_version",
        "applicant_name",
        "applicant_size_class",
        "applicant_tier",
        "issuer_name",
    ];
}

impl FinancingRow {
    pub fn summary(&self) -> Result<FinancingSummary, CommandError> {
        Ok(FinancingSummary {
            financing_id: self.id.0,
            program_id: self.program_id.0,
            certificate_id: self.certificate_id.0,
            root_id: self.root_id.0,
            applicant_org_id: self.applicant_org_id.0,
            funder_org_id: self.funder_org_id.0,
            status: self.status(),
            face_amount: money(self.face_amount)?,
            advance_amount: money(self.advance_amount)?,
            net_proceeds: money(self.net_proceeds)?,
            financing_date: self.financing_date,
            maturity_date: self.maturity_date,
            plan_version: self.plan_version,
            applicant_name: None,
            applicant_size_class: None,
            applicant_tier: None,
            issuer_name: None,
        })
    }
}

/// The summaries of `rows`, with the applicant's name, size class and tier
/// and the issuer's name, so a queue can be triaged without a read per row.
pub fn summaries(
    conn: &mut DbConn,
    rows: &[FinancingRow],
) -> Result<Vec<FinancingSummary>, CommandError> {
    let mut orgs: Vec<DbId> = rows
        .iter()
        .flat_map(|r| [r.applicant_org_id, r.core_org_id])
        .collect();
    orgs.sort();
    orgs.dedup();
    let known: std::collections::HashMap<DbId, (String, Option<String>)> = organisations::table
        .filter(organisations::id.eq_any(orgs))
        .select((
            organisations::id,
            organisations::name,
            organisations::size_class,
        ))
        .load::<(DbId, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, name, size)| (id, (name, size)))
        .collect();
    let mut tiers: std::collections::HashMap<DbId, std::collections::HashMap<DbId, i32>> =
        std::collections::HashMap::new();
    rows.iter()
        .map(|r| {
            let mut s = r.summary()?;
            if let Some((name, size)) = known.get(&r.applicant_org_id) {
                s.applicant_name = Some(name.clone());
                s.applicant_size_class = size.as_deref().and_then(SizeClass::parse);
            }
            s.issuer_name = known.get(&r.core_org_id).map(|(n, _)| n.clone());
            let of_core = match tiers.entry(r.core_org_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(crate::receivables::treasury::tiers(conn, r.core_org_id)?)
                }
            };
            s.applicant_tier = of_core.get(&r.applicant_org_id).copied();
            Ok(s)
        })
        .collect()
}

/// Financings `org` is a party to (the operator sees all), by id, after
/// the cursor, optionally of one status.
pub fn visible(
    conn: &mut DbConn,
    org: DbId,
    operator: bool,
    status: Option<FinancingStatus>,
    after: Option<DbId>,
    limit: i64,
) -> Result<Vec<FinancingRow>, diesel::result::Error> {
    let mut q = financings::table.into_boxed();
    if !operator {
        q = q.filter(
            financings::applicant_org_id
                .eq(org)
                .or(financings::funder_org_id.eq(org))
                .or(financings::core_org_id.eq(org)),
        );
    }
    if let Some(s) = status {
        q = q.filter(financings::status.eq(s.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(financings::id.gt(a));
    }
    q.order(financings::id.asc()).limit(limit).load(conn)
}

/// One step of a financing's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub step: String,
    #[schema(value_type = String, format = Uuid)]
    pub org_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: Uuid,
    pub note: Option<String>,
    pub ledger_seq: i64,
    pub at: String,
}

/// A cash movement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CashView {
    pub kind: String,
    #[schema(value_type = String, format = Uuid)]
    pub payer_org_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub payee_org_id: Uuid,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub account_id: Option<Uuid>,
    #[schema(value_type = String)]
    pub amount: Money,
    #[schema(value_type = String, format = Date)]
    pub value_date: NaiveDate,
    pub ledger_seq: i64,
}

/// A 中登网 registration task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegistrationTask {
    #[schema(value_type = String, format = Uuid)]
    pub financing_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub funder_org_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub due_on: NaiveDate,
    pub registration_no: Option<String>,
    pub evidence_hash: Option<String>,
    pub done_seq: Option<i64>,
    /// Open and past its due date.
    pub overdue: bool,
}

impl crate::listing::CsvRow for RegistrationTask {
    const COLUMNS: &'static [&'static str] = &[
        "financing_id",
        "funder_org_id",
        "due_on",
        "registration_no",
        "evidence_hash",
        "done_seq",
        "overdue",
    ];
}

/// What the approval found and the latest classification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreditView {
    pub inclusive_sme: bool,
    pub first_loan: bool,
    #[schema(value_type = Option<String>, format = Date)]
    pub disbursed_on: Option<NaiveDate>,
    pub risk_class: Option<String>,
    pub days_past_due: Option<i32>,
    #[schema(value_type = Option<String>, format = Date)]
    pub classified_on: Option<NaiveDate>,
}

/// Everything about one financing its parties need to act.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FinancingDetail {
    #[serde(flatten)]
    pub summary: FinancingSummary,
    /// The quote the applicant signed for (advance, discount interest,
    /// fees with payers, net proceeds, XIRR, total cost, LPR fixing).
    #[schema(value_type = Object)]
    pub quote: serde_json::Value,
    pub steps: Vec<StepView>,
    pub credit: Option<CreditView>,
    pub registration: Option<RegistrationTask>,
    pub cash: Vec<CashView>,
    /// Days past due, class, penalty interest as of today, once past
    /// maturity and not settled.
    #[schema(value_type = Option<Object>)]
    pub overdue: Option<serde_json::Value>,
    /// For the funder (and the operator) only: what an approver needs to
    /// decide in one read.
    pub decision: Option<DecisionContext>,
}

/// The certificate a financing is against, as the approver sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateContext {
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub issuer_org_id: Uuid,
    pub issuer_name: String,
    #[schema(value_type = String, format = Date)]
    pub maturity_date: NaiveDate,
    pub days_to_maturity: i64,
    pub status: CertStatus,
}

/// The three limits of the plan in force, as other financings use them
/// now (this one excluded), and whether approving this one fits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LimitsContext {
    pub plan_version: i32,
    pub program: crate::receivables::treasury::LimitUse,
    /// Absent when the plan in force no longer names the funder.
    pub funder_line: Option<crate::receivables::treasury::LimitUse>,
    /// The applicant's current exposure in the program.
    pub counterparty: crate::receivables::treasury::LimitUse,
    /// This financing's advance.
    #[schema(value_type = String)]
    pub advance: Money,
    /// Whether the advance fits within all three now.
    pub fits: bool,
}

/// Everything an approver weighs, in one read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionContext {
    pub certificate: CertificateContext,
    /// Null without an approved plan in force today.
    pub limits: Option<LimitsContext>,
}

fn decision_context(
    conn: &mut DbConn,
    row: &FinancingRow,
    on: NaiveDate,
) -> Result<DecisionContext, CommandError> {
    use crate::receivables::treasury::LimitUse;
    let cert = certs::load(conn, row.certificate_id.0)?
        .ok_or_else(|| storage("the financed certificate vanished"))?;
    let issuer_name: String = organisations::table
        .filter(organisations::id.eq(row.core_org_id))
        .select(organisations::name)
        .first(conn)?;
    let limits = match plan::in_force(conn, row.program_id.0, on)? {
        None => None,
        Some(v) => {
            let terms: Plan = serde_json::from_value(v.plan).map_err(storage)?;
            let used = usage(conn, row)?;
            let advance = money(row.advance_amount)?;
            let line = terms
                .funders
                .iter()
                .find(|f| f.org_id == row.funder_org_id.0)
                .map(|f| f.line_limit);
            let fits = line.is_some_and(|l| {
                check_limits(
                    Limits {
                        program: terms.program_limit,
                        funder_line: l,
                        counterparty: terms.counterparty_limit,
                    },
                    used,
                    advance,
                )
                .is_ok()
            });
            Some(LimitsContext {
                plan_version: v.version,
                program: LimitUse::new(terms.program_limit, used.program)?,
                funder_line: line.map(|l| LimitUse::new(l, used.funder)).transpose()?,
                counterparty: LimitUse::new(terms.counterparty_limit, used.counterparty)?,
                advance,
                fits,
            })
        }
    };
    Ok(DecisionContext {
        certificate: CertificateContext {
            certificate_id: cert.id.0,
            issuer_org_id: cert.core_org_id.0,
            issuer_name,
            maturity_date: cert.maturity_date,
            days_to_maturity: (cert.maturity_date - on).num_days(),
            status: cert.status(),
        },
        limits,
    })
}

type TaskRow = (
    DbId,
    DbId,
    NaiveDate,
    Option<String>,
    Option<String>,
    Option<i64>,
);
type CreditRow = (
    bool,
    bool,
    Option<NaiveDate>,
    Option<String>,
    Option<i32>,
    Option<NaiveDate>,
);
type CashRow = (String, DbId, DbId, Option<DbId>, DbDecimal, NaiveDate, i64);

fn task_view(t: TaskRow, on: NaiveDate) -> RegistrationTask {
    RegistrationTask {
        financing_id: t.0.0,
        funder_org_id: t.1.0,
        due_on: t.2,
        overdue: t.3.is_none() && on > t.2,
        registration_no: t.3,
        evidence_hash: t.4,
        done_seq: t.5,
    }
}

fn task_columns() -> (
    registration_tasks::financing_id,
    registration_tasks::funder_org_id,
    registration_tasks::due_on,
    registration_tasks::registration_no,
    registration_tasks::evidence_hash,
    registration_tasks::done_seq,
) {
    (
        registration_tasks::financing_id,
        registration_tasks::funder_org_id,
        registration_tasks::due_on,
        registration_tasks::registration_no,
        registration_tasks::evidence_hash,
        registration_tasks::done_seq,
    )
}

/// The detail of `row` as of `on`; with the decision context when
/// `for_decision` (the funder or the operator reads it).
pub fn detail(
    conn: &mut DbConn,
    row: &FinancingRow,
    on: NaiveDate,
    for_decision: bool,
) -> Result<FinancingDetail, CommandError> {
    let steps: Vec<(String, DbId, DbId, Option<String>, i64, DbInstant)> = financing_steps::table
        .filter(financing_steps::financing_id.eq(row.id))
        .order(financing_steps::ledger_seq.asc())
        .select((
            financing_steps::step,
            financing_steps::org_id,
            financing_steps::user_id,
            financing_steps::note,
            financing_steps::ledger_seq,
            financing_steps::at,
        ))
        .load(conn)?;
    let credit: Option<CreditRow> = financing_credit::table
        .filter(financing_credit::financing_id.eq(row.id))
        .select((
            financing_credit::inclusive_sme,
            financing_credit::first_loan,
            financing_credit::disbursed_on,
            financing_credit::risk_class,
            financing_credit::days_past_due,
            financing_credit::classified_on,
        ))
        .first(conn)
        .optional()?;
    let task: Option<TaskRow> = registration_tasks::table
        .filter(registration_tasks::financing_id.eq(row.id))
        .select(task_columns())
        .first(conn)
        .optional()?;
    let cash: Vec<CashRow> = cash_movements::table
        .filter(cash_movements::financing_id.eq(row.id))
        .order(cash_movements::ledger_seq.asc())
        .select((
            cash_movements::kind,
            cash_movements::payer_org_id,
            cash_movements::payee_org_id,
            cash_movements::account_id,
            cash_movements::amount,
            cash_movements::value_date,
            cash_movements::ledger_seq,
        ))
        .load(conn)?;
    let overdue = if matches!(
        row.status(),
        FinancingStatus::Disbursed | FinancingStatus::Recourse
    ) && on > row.maturity_date
    {
        let a = overdue_on(conn, row, on)?;
        Some(serde_json::json!({
            "as_of": on,
            "past_due_start": a.past_due_start,
            "days_past_due": a.days_past_due,
            "classification": a.classification,
            "classification_zh": a.classification.chinese_name(),
            "penalty_rate": a.penalty,
            "penalty_interest": a.penalty_interest,
            "compound_interest": a.compound_interest,
            "total_due": a.total_due,
        }))
    } else {
        None
    };
    let decision = if for_decision {
        Some(decision_context(conn, row, on)?)
    } else {
        None
    };
    let summary = summaries(conn, std::slice::from_ref(row))?
        .pop()
        .ok_or_else(|| storage("no summary"))?;
    Ok(FinancingDetail {
        summary,
        decision,
        quote: serde_json::from_str(&row.quote).map_err(storage)?,
        steps: steps
            .into_iter()
            .map(|s| StepView {
                step: s.0,
                org_id: s.1.0,
                user_id: s.2.0,
                note: s.3,
                ledger_seq: s.4,
                at: scf_ledger::time::Timestamp::from_datetime(s.5.0).to_string(),
            })
            .collect(),
        credit: credit.map(|c| CreditView {
            inclusive_sme: c.0,
            first_loan: c.1,
            disbursed_on: c.2,
            risk_class: c.3,
            days_past_due: c.4,
            classified_on: c.5,
        }),
        registration: task.map(|t| task_view(t, on)),
        cash: cash
            .into_iter()
            .map(|c| {
                Ok(CashView {
                    kind: c.0,
                    payer_org_id: c.1.0,
                    payee_org_id: c.2.0,
                    account_id: c.3.map(|a| a.0),
                    amount: money(c.4)?,
                    value_date: c.5,
                    ledger_seq: c.6,
                })
            })
            .collect::<Result<_, CommandError>>()?,
        overdue,
    })
}

/// Which registration tasks to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Open,
    Overdue,
    Done,
}

/// The funder's registration tasks (the operator's: all), by financing id.
pub fn tasks(
    conn: &mut DbConn,
    org: DbId,
    operator: bool,
    state: Option<TaskState>,
    on: NaiveDate,
    after: Option<DbId>,
    limit: i64,
) -> Result<Vec<RegistrationTask>, diesel::result::Error> {
    let mut q = registration_tasks::table
        .select(task_columns())
        .into_boxed();
    if !operator {
        q = q.filter(registration_tasks::funder_org_id.eq(org));
    }
    // Open means still owed: once the financing is settled the receivable
    // is paid and an unfiled registration is moot.
    let outstanding = financings::table
        .filter(financings::status.ne(FinancingStatus::Settled.as_str()))
        .select(financings::id);
    match state {
        Some(TaskState::Open) => {
            q = q
                .filter(registration_tasks::done_seq.is_null())
                .filter(registration_tasks::financing_id.eq_any(outstanding));
        }
        Some(TaskState::Overdue) => {
            q = q
                .filter(registration_tasks::done_seq.is_null())
                .filter(registration_tasks::due_on.lt(on))
                .filter(registration_tasks::financing_id.eq_any(outstanding));
        }
        Some(TaskState::Done) => q = q.filter(registration_tasks::done_seq.is_not_null()),
        None => {}
    }
    if let Some(a) = after {
        q = q.filter(registration_tasks::financing_id.gt(a));
    }
    let rows: Vec<TaskRow> = q
        .order(registration_tasks::financing_id.asc())
        .limit(limit)
        .load(conn)?;
    Ok(rows.into_iter().map(|t| task_view(t, on)).collect())
}

/// What a full payment of a root would pay now, for the issuer to sign.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClearingPreview {
    #[schema(value_type = String, format = Uuid)]
    pub root_id: Uuid,
    #[schema(value_type = String)]
    pub face_amount: Money,
    #[schema(value_type = String, format = Date)]
    pub maturity_date: NaiveDate,
    pub payouts: Vec<PayoutBody>,
    /// Penalty and compound interest owed to funders on `as_of`, past the
    /// grace days; empty when paid on time.
    pub late_interest: Vec<LateInterestBody>,
    /// Face value plus late interest: what the issuer pays in all.
    #[schema(value_type = String)]
    pub total_due: Money,
    /// The business date these figures are for.
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    /// Asset keys (hex) the clearing intent must release: the financed
    /// parts'.
    pub release_assets: Vec<String>,
}

pub fn preview(
    conn: &mut DbConn,
    root: &CertRow,
    on: NaiveDate,
) -> Result<ClearingPreview, CommandError> {
    let (_, payouts) = payouts(&parts(conn, root.id)?)?;
    let owed = outstanding_on(conn, root.id)?;
    let mut release_assets = owed
        .iter()
        .map(|f| {
            AssetKey::payables_certificate(&f.certificate_id.0.to_string())
                .map(|k| k.to_hex())
                .map_err(storage)
        })
        .collect::<Result<Vec<_>, _>>()?;
    release_assets.sort();
    let face = money(root.amount)?;
    let late_interest = late_interest(conn, &owed, on)?;
    let total_due = Money::sum(late_interest.iter().map(|l| l.amount))
        .and_then(|l| l.checked_add(face))
        .map_err(storage)?;
    Ok(ClearingPreview {
        root_id: root.id.0,
        face_amount: face,
        maturity_date: root.maturity_date,
        payouts,
        late_interest,
        total_due,
        as_of: on,
        release_assets,
    })
}
