//! Payables certificates (应收账款电子凭证): the core firm's maker proposes,
//! its checker confirms (确权: within the plan in force, the program limit
//! and the tenor, for an eligible supplier), the supplier accepts or
//! rejects, and the holder splits it or transfers it up the chain, with a
//! notice of assignment to the issuer recorded for every transfer. Each
//! function runs under the single writer, inside the entry's savepoint.

use crate::db::schema::{
    assignment_notices, certificate_holdings, certificates, organisations, programs, relationships,
};
use crate::db::{DbConn, DbDecimal, DbId, DbInstant};
use crate::ledger::writer::{CommandError, EntryView};
use crate::parties::model::{Direction, OrgStatus, RelStatus, SizeClass};
use crate::pricing::money::Money;
use crate::programs::plan::{self, Plan, Product};
use crate::receivables::model::{
    CertEvent, CertStatus, Unmovable, amount, check_movable, check_split, check_tenor,
};
use crate::routes::mutation::rejected;
use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `certificate.propose`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    /// Chosen by the proposer (a UUID, lowercase): the ledger names the
    /// certificate by it from the start.
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    /// The supplier that will hold it.
    #[schema(value_type = String, format = Uuid)]
    pub holder_org_id: Uuid,
    /// CNY, a decimal string with at most 2 decimals.
    #[schema(example = "1000000.00")]
    pub face_value: String,
    #[schema(value_type = String, format = Date)]
    pub maturity_date: NaiveDate,
    /// Invoices behind the payable (linked once invoices are recorded).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub invoice_ids: Vec<Uuid>,
}

/// Body of `certificate.confirm`: the checker confirms exactly what was
/// proposed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    pub face_value: String,
    #[schema(value_type = String, format = Date)]
    pub maturity_date: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Reject,
}

/// Body of `certificate.cancel`: the issuer withdraws a certificate its
/// holder has not accepted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    /// Why, for the supplier and the audit trail.
    pub reason: String,
}

/// Body of `certificate.accept`: the holder's answer to an issued
/// certificate.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    pub decision: Decision,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildBody {
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    pub amount: String,
}

/// Body of `certificate.split`: the parent, its amount, and the children
/// (ids chosen by the holder), so the ledger alone shows that the children
/// sum to the parent (ledger SPEC §8.5).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    pub parent_amount: String,
    pub children: Vec<ChildBody>,
}

/// Body of `certificate.transfer`. `notice_to` names the issuer: the signed
/// transfer is also the assignor's notice of assignment to it (Civil Code
/// Art. 546), so the ledger entry itself says who was notified.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub to_org_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub notice_to: Uuid,
}

#[derive(Debug, Clone, Queryable)]
pub struct CertRow {
    pub id: DbId,
    pub program_id: DbId,
    pub core_org_id: DbId,
    pub root_id: DbId,
    pub parent_id: Option<DbId>,
    pub holder_org_id: DbId,
    pub amount: DbDecimal,
    pub maturity_date: NaiveDate,
    pub issued_on: Option<NaiveDate>,
    pub status: String,
    pub invoice_ids: String,
    pub proposed_by: DbId,
    pub confirmed_by: Option<DbId>,
    pub created_seq: i64,
    pub updated_seq: i64,
    pub created_at: DbInstant,
}

type CertColumns = (
    certificates::id,
    certificates::program_id,
    certificates::core_org_id,
    certificates::root_id,
    certificates::parent_id,
    certificates::holder_org_id,
    certificates::amount,
    certificates::maturity_date,
    certificates::issued_on,
    certificates::status,
    certificates::invoice_ids,
    certificates::proposed_by,
    certificates::confirmed_by,
    certificates::created_seq,
    certificates::updated_seq,
    certificates::created_at,
);

pub const CERT_COLUMNS: CertColumns = (
    certificates::id,
    certificates::program_id,
    certificates::core_org_id,
    certificates::root_id,
    certificates::parent_id,
    certificates::holder_org_id,
    certificates::amount,
    certificates::maturity_date,
    certificates::issued_on,
    certificates::status,
    certificates::invoice_ids,
    certificates::proposed_by,
    certificates::confirmed_by,
    certificates::created_seq,
    certificates::updated_seq,
    certificates::created_at,
);

impl CertRow {
    pub fn status(&self) -> CertStatus {
        // The CHECK constraint admits only known names.
        CertStatus::parse(&self.status).unwrap_or(CertStatus::Cancelled)
    }

    fn money(&self) -> Result<Money, CommandError> {
        Money::new(self.amount.0).map_err(|e| CommandError::Storage(e.to_string()))
    }
}

pub fn load(conn: &mut DbConn, id: Uuid) -> Result<Option<CertRow>, diesel::result::Error> {
    certificates::table
        .filter(certificates::id.eq(DbId::from(id)))
        .select(CERT_COLUMNS)
        .first(conn)
        .optional()
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

fn no_such_certificate() -> CommandError {
    rejected(404, "not_found", "no such certificate visible to you")
}

fn unprocessable(m: impl Into<String>) -> CommandError {
    rejected(422, "unprocessable", m)
}

fn conflict(m: impl Into<String>) -> CommandError {
    rejected(409, "conflict", m)
}

fn parse_amount(field: &str, s: &str) -> Result<Money, CommandError> {
    amount(s).ok_or_else(|| {
        unprocessable(format!(
            "{field} must be a positive CNY amount as a decimal string with at most 2 decimals"
        ))
    })
}

/// Moves `row` by `event`, or refuses naming the moves allowed.
fn step(row: &CertRow, event: CertEvent) -> Result<CertStatus, CommandError> {
    let status = row.status();
    status.next(event).ok_or_else(|| {
        conflict(format!(
            "the certificate is {status}; {event} is not allowed (allowed: {})",
            status.allowed().join(", ")
        ))
    })
}

/// The plan in force on `on`, as a document.
fn plan_on(conn: &mut DbConn, program: Uuid, on: NaiveDate) -> Result<Plan, CommandError> {
    let v = plan::in_force(conn, program, on)?
        .ok_or_else(|| conflict(format!("the program has no approved plan in force on {on}")))?;
    serde_json::from_value(v.plan).map_err(|e| CommandError::Storage(e.to_string()))
}

/// The firm's relationship with the core firm, if active, and its size class.
pub(crate) fn active_counterparty(
    conn: &mut DbConn,
    core: DbId,
    firm: DbId,
) -> Result<Option<(Direction, i32, Option<SizeClass>)>, CommandError> {
    let rel: Option<(String, i32)> = relationships::table
        .filter(relationships::core_org_id.eq(core))
        .filter(relationships::counterparty_org_id.eq(firm))
        .filter(relationships::status.eq(RelStatus::Active.as_str()))
        .select((relationships::direction, relationships::tier))
        .first(conn)
        .optional()?;
    let org: Option<(String, Option<String>)> = organisations::table
        .filter(organisations::id.eq(firm))
        .select((organisations::status, organisations::size_class))
        .first(conn)
        .optional()?;
    Ok(match (rel, org) {
        (Some((dir, tier)), Some((status, size))) if status == OrgStatus::Approved.as_str() => {
            Direction::parse(&dir).map(|d| (d, tier, size.as_deref().and_then(SizeClass::parse)))
        }
        _ => None,
    })
}

/// Whether `firm` is, in the issuer's chain, a direct supplier of `buyer`.
fn supplies(conn: &mut DbConn, core: DbId, firm: DbId, buyer: DbId) -> Result<bool, CommandError> {
    let n: i64 = relationships::table
        .filter(relationships::core_org_id.eq(core))
        .filter(relationships::counterparty_org_id.eq(firm))
        .filter(relationships::parent_org_id.eq(buyer))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The sum of the program's outstanding certificates.
fn outstanding(conn: &mut DbConn, program: DbId) -> Result<Money, CommandError> {
    let statuses: Vec<&str> = CertStatus::OUTSTANDING.iter().map(|s| s.as_str()).collect();
    // Summed in Rust: SQLite would add decimals as floats.
    let amounts: Vec<DbDecimal> = certificates::table
        .filter(certificates::program_id.eq(program))
        .filter(certificates::status.eq_any(statuses))
        .select(certificates::amount)
        .load(conn)?;
    Money::sum(amounts.into_iter().filter_map(|a| Money::new(a.0).ok()))
        .map_err(|e| CommandError::Storage(e.to_string()))
}

/// The checks of 确权, run at proposal (early) and again at confirmation
/// (authoritative): the plan in force today enables receivables, the tenor
/// is within the plan's, the supplier is an eligible active upstream
/// counterparty, and the program limit holds with this certificate.
fn check_issuable(
    conn: &mut DbConn,
    program: DbId,
    core: DbId,
    holder: DbId,
    face: Money,
    maturity: NaiveDate,
    on: NaiveDate,
) -> Result<(), CommandError> {
    let plan = plan_on(conn, program.0, on)?;
    if !plan.products.contains(&Product::Receivables) {
        return Err(unprocessable(
            "the plan in force does not enable receivables",
        ));
    }
    check_tenor(on, maturity, plan.tenor.min_days, plan.tenor.max_months).map_err(unprocessable)?;
    let e = &plan.eligibility;
    match active_counterparty(conn, core, holder)? {
        Some((Direction::Upstream, tier, Some(size)))
            if e.directions.contains(&Direction::Upstream)
                && u8::try_from(tier).is_ok_and(|t| t <= e.max_tier)
                && e.size_classes.contains(&size) => {}
        Some(_) => {
            return Err(unprocessable(format!(
                "the holder is not eligible under the plan: upstream suppliers up to tier {} of sizes {}",
                e.max_tier,
                e.size_classes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        None => {
            return Err(unprocessable(
                "the holder must be an active counterparty of yours that passed KYC",
            ));
        }
    }
    let used = outstanding(conn, program)?;
    let after = used
        .checked_add(face)
        .map_err(|e| unprocessable(e.to_string()))?;
    if after.amount() > plan.program_limit.amount() {
        return Err(conflict(format!(
            "over the program limit: {used} outstanding plus {face} is above {}",
            plan.program_limit
        )));
    }
    Ok(())
}

/// What a mutation answers: the certificate as it now is.
fn answer(row: &CertRow) -> serde_json::Value {
    serde_json::json!({
        "certificate_id": row.id.0,
        "status": row.status(),
        "holder_org_id": row.holder_org_id.0,
        "amount": Money::new(row.amount.0).map(|m| m.to_string()).unwrap_or_default(),
        "maturity_date": row.maturity_date,
        "root_id": row.root_id.0,
        "parent_id": row.parent_id.map(|p| p.0),
    })
}

fn reload(conn: &mut DbConn, id: Uuid) -> Result<CertRow, CommandError> {
    load(conn, id)?.ok_or_else(|| CommandError::Storage("certificate vanished".into()))
}

/// `certificate.propose`: the core firm's maker proposes a payable.
pub fn propose(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    core: DbId,
    user: DbId,
    body: &ProposeBody,
) -> Result<serde_json::Value, CommandError> {
    if body.invoice_ids.len() > scf_ledger::backing::MAX_INVOICES {
        return Err(unprocessable(format!(
            "invoice_ids: at most {} invoices back one certificate",
            scf_ledger::backing::MAX_INVOICES
        )));
    }
    let owner: Option<DbId> = programs::table
        .filter(programs::id.eq(DbId::from(body.program_id)))
        .select(programs::core_org_id)
        .first(conn)
        .optional()?;
    if owner != Some(core) {
        return Err(rejected(404, "not_found", "no such program of yours"));
    }
    let face = parse_amount("face_value", &body.face_value)?;
    if load(conn, body.certificate_id)?.is_some() {
        return Err(conflict("a certificate with this id exists"));
    }
    let (program, holder) = (DbId::from(body.program_id), DbId::from(body.holder_org_id));
    check_issuable(
        conn,
        program,
        core,
        holder,
        face,
        body.maturity_date,
        today(view),
    )?;
    let invoices = serde_json::to_string(&body.invoice_ids)
        .map_err(|e| CommandError::Storage(e.to_string()))?;
    let id = DbId::from(body.certificate_id);
    diesel::insert_into(certificates::table)
        .values((
            certificates::id.eq(id),
            certificates::program_id.eq(program),
            certificates::core_org_id.eq(core),
            certificates::root_id.eq(id),
            certificates::holder_org_id.eq(holder),
            certificates::amount.eq(DbDecimal(face.amount())),
            certificates::maturity_date.eq(body.maturity_date),
            certificates::status.eq(CertStatus::Proposed.as_str()),
            certificates::invoice_ids.eq(invoices),
            certificates::proposed_by.eq(user),
            certificates::created_seq.eq(seq(view)),
            certificates::updated_seq.eq(seq(view)),
            certificates::created_at.eq(now(view)),
        ))
        .execute(conn)?;
    Ok(answer(&reload(conn, body.certificate_id)?))
}

/// `certificate.confirm`: the core firm's checker, not the proposer,
/// confirms the proposal; the certificate is issued and awaits the holder.
pub fn confirm(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    core: DbId,
    user: DbId,
    body: &ConfirmBody,
) -> Result<serde_json::Value, CommandError> {
    let row = load(conn, body.certificate_id)?
        .filter(|r| r.core_org_id == core)
        .ok_or_else(no_such_certificate)?;
    if row.proposed_by == user {
        return Err(rejected(
            403,
            "forbidden",
            "the user who proposed a certificate cannot confirm it (maker and checker are two people)",
        ));
    }
    let next = step(&row, CertEvent::Confirm)?;
    let face = parse_amount("face_value", &body.face_value)?;
    if face != row.money()? || body.maturity_date != row.maturity_date {
        return Err(conflict(format!(
            "the proposal is for {} maturing {}; confirm exactly what was proposed",
            row.money()?,
            row.maturity_date
        )));
    }
    let on = today(view);
    check_issuable(
        conn,
        row.program_id,
        core,
        row.holder_org_id,
        face,
        row.maturity_date,
        on,
    )?;
    // The trade behind the payable: the invoices it names are the
    // supplier's to this core firm, confirmed and backing no other
    // certificate; they are assigned to this one and must cover its face.
    let invoice_ids: Vec<Uuid> =
        serde_json::from_str(&row.invoice_ids).map_err(|e| CommandError::Storage(e.to_string()))?;
    if !invoice_ids.is_empty() {
        let backed = crate::trade::invoices::assign_to_certificate(
            conn,
            row.program_id,
            core,
            row.holder_org_id,
            &invoice_ids,
            row.id,
        )?;
        if backed < face {
            return Err(unprocessable(format!(
                "the invoices named total {backed}, less than the face value {face}: a certificate confirms no more than the trade behind it"
            )));
        }
    }
    diesel::update(certificates::table.filter(certificates::id.eq(row.id)))
        .set((
            certificates::status.eq(next.as_str()),
            certificates::issued_on.eq(Some(on)),
            certificates::confirmed_by.eq(Some(user)),
            certificates::updated_seq.eq(seq(view)),
        ))
        .execute(conn)?;
    open_holding(conn, view, &row, row.id, row.holder_org_id)?;
    Ok(answer(&reload(conn, body.certificate_id)?))
}

fn open_holding(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    row: &CertRow,
    cert: DbId,
    holder: DbId,
) -> Result<(), CommandError> {
    diesel::insert_into(certificate_holdings::table)
        .values((
            certificate_holdings::certificate_id.eq(cert),
            certificate_holdings::core_org_id.eq(row.core_org_id),
            certificate_holdings::holder_org_id.eq(holder),
            certificate_holdings::from_seq.eq(seq(view)),
            certificate_holdings::from_at.eq(now(view)),
        ))
        .execute(conn)?;
    Ok(())
}

pub(crate) fn close_holding(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    cert: DbId,
) -> Result<(), CommandError> {
    diesel::update(
        certificate_holdings::table
            .filter(certificate_holdings::certificate_id.eq(cert))
            .filter(certificate_holdings::to_seq.is_null()),
    )
    .set((
        certificate_holdings::to_seq.eq(Some(seq(view))),
        certificate_holdings::to_at.eq(Some(now(view))),
    ))
    .execute(conn)?;
    Ok(())
}

/// Moves `row` to `next` with `to` as its holder: the holding changes and
/// a notice of assignment from `from` to `to` is recorded for the issuer
/// (Civil Code Art. 546). Returns the notice's id.
pub(crate) fn reassign(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    row: &CertRow,
    next: CertStatus,
    from: DbId,
    to: DbId,
) -> Result<DbId, CommandError> {
    diesel::update(certificates::table.filter(certificates::id.eq(row.id)))
        .set((
            certificates::status.eq(next.as_str()),
            certificates::holder_org_id.eq(to),
            certificates::updated_seq.eq(seq(view)),
        ))
        .execute(conn)?;
    close_holding(conn, view, row.id)?;
    open_holding(conn, view, row, row.id, to)?;
    let notice = DbId::new_v7();
    diesel::insert_into(assignment_notices::table)
        .values((
            assignment_notices::id.eq(notice),
            assignment_notices::core_org_id.eq(row.core_org_id),
            assignment_notices::program_id.eq(row.program_id),
            assignment_notices::certificate_id.eq(row.id),
            assignment_notices::root_id.eq(row.root_id),
            assignment_notices::assignor_org_id.eq(from),
            assignment_notices::assignee_org_id.eq(to),
            assignment_notices::amount.eq(row.amount),
            assignment_notices::ledger_seq.eq(seq(view)),
            assignment_notices::notified_at.eq(now(view)),
        ))
        .execute(conn)?;
    Ok(notice)
}

/// The certificate `holder` holds now, or 404 (409 for a past holder: it
/// sees the certificate but no longer holds it).
fn held(conn: &mut DbConn, holder: DbId, id: Uuid) -> Result<CertRow, CommandError> {
    let row = load(conn, id)?.ok_or_else(no_such_certificate)?;
    if row.holder_org_id == holder {
        return Ok(row);
    }
    let past: i64 = certificate_holdings::table
        .filter(certificate_holdings::certificate_id.eq(row.id))
        .filter(certificate_holdings::holder_org_id.eq(holder))
        .count()
        .get_result(conn)?;
    if past > 0 {
        Err(conflict("you no longer hold this certificate"))
    } else {
        Err(no_such_certificate())
    }
}

/// `certificate.accept`: the holder accepts (签收) or rejects an issued
/// certificate.
pub fn respond(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    holder: DbId,
    body: &AcceptBody,
) -> Result<serde_json::Value, CommandError> {
    let row = held(conn, holder, body.certificate_id)?;
    let event = match body.decision {
        Decision::Accept => CertEvent::Accept,
        Decision::Reject => CertEvent::Reject,
    };
    if event == CertEvent::Reject && body.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(unprocessable(
            "a rejection needs a reason the issuer can act on",
        ));
    }
    let next = step(&row, event)?;
    diesel::update(certificates::table.filter(certificates::id.eq(row.id)))
        .set((
            certificates::status.eq(next.as_str()),
            certificates::updated_seq.eq(seq(view)),
        ))
        .execute(conn)?;
    if next == CertStatus::Rejected {
        void(conn, view, &row)?;
    }
    Ok(answer(&reload(conn, body.certificate_id)?))
}

/// An issued certificate that will never be accepted: nobody holds it and
/// the invoices behind it may back another.
fn void(conn: &mut DbConn, view: &EntryView<'_>, row: &CertRow) -> Result<(), CommandError> {
    close_holding(conn, view, row.id)?;
    crate::trade::invoices::release_from_certificate(conn, row.id)?;
    Ok(())
}

/// `certificate.cancel`: the issuer withdraws a certificate before its
/// holder accepts it. A proposal is withdrawn by its proposer or turned
/// down by a checker; an issued certificate (the checker's 确权) only by a
/// checker or admin. Its invoices are free again.
pub fn cancel(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    (core, user): (DbId, DbId),
    checker: bool,
    body: &CancelBody,
) -> Result<serde_json::Value, CommandError> {
    let row = load(conn, body.certificate_id)?
        .filter(|r| r.core_org_id == core)
        .ok_or_else(no_such_certificate)?;
    let next = step(&row, CertEvent::Cancel)?;
    let allowed = match row.status() {
        CertStatus::Issued => checker,
        _ => checker || row.proposed_by == user,
    };
    if !allowed {
        return Err(rejected(
            403,
            "forbidden",
            "a proposal is withdrawn by its proposer or a checker; an issued certificate only by a checker or admin",
        ));
    }
    let reason = crate::parties::onboarding::text("reason", &body.reason)?;
    if row.status() == CertStatus::Issued {
        void(conn, view, &row)?;
    }
    diesel::update(certificates::table.filter(certificates::id.eq(row.id)))
        .set((
            certificates::status.eq(next.as_str()),
            certificates::updated_seq.eq(seq(view)),
        ))
        .execute(conn)?;
    let mut out = answer(&reload(conn, body.certificate_id)?);
    if let Some(o) = out.as_object_mut() {
        o.insert("reason".into(), serde_json::Value::String(reason));
    }
    Ok(out)
}

fn movable(conn: &mut DbConn, row: &CertRow, on: NaiveDate) -> Result<(), CommandError> {
    // Status first: a locked certificate is refused as locked, whatever the plan.
    if row.status() != CertStatus::Active {
        return Err(conflict(Unmovable::Status(row.status()).to_string()));
    }
    let plan = plan_on(conn, row.program_id.0, on)?;
    check_movable(
        row.status(),
        row.maturity_date,
        on,
        plan.transfer_cutoff_days,
    )
    .map_err(|u| conflict(u.to_string()))
}

/// `certificate.split`: the holder splits an active certificate into
/// children that sum exactly to its available balance; the children keep
/// the root, issuer, maturity and holder.
pub fn split(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    holder: DbId,
    body: &SplitBody,
) -> Result<serde_json::Value, CommandError> {
    let row = held(conn, holder, body.certificate_id)?;
    movable(conn, &row, today(view))?;
    let next = step(&row, CertEvent::Split)?;
    let parent = row.money()?;
    if parse_amount("parent_amount", &body.parent_amount)? != parent {
        return Err(conflict(format!(
            "the certificate's available balance is {parent}, not {}",
            body.parent_amount
        )));
    }
    if body.children.len() > scf_ledger::conservation::MAX_CHILDREN {
        return Err(unprocessable(format!(
            "at most {} children",
            scf_ledger::conservation::MAX_CHILDREN
        )));
    }
    let mut amounts = Vec::with_capacity(body.children.len());
    for (i, c) in body.children.iter().enumerate() {
        amounts.push(parse_amount(&format!("children[{i}].amount"), &c.amount)?);
    }
    check_split(parent, &amounts).map_err(unprocessable)?;
    let mut ids: Vec<Uuid> = body.children.iter().map(|c| c.certificate_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let taken: i64 = certificates::table
        .filter(certificates::id.eq_any(ids.iter().map(|i| DbId::from(*i)).collect::<Vec<_>>()))
        .count()
        .get_result(conn)?;
    if ids.len() != body.children.len() || ids.contains(&body.certificate_id) || taken > 0 {
        return Err(conflict("each child needs a new certificate id of its own"));
    }
    diesel::update(certificates::table.filter(certificates::id.eq(row.id)))
        .set((
            certificates::status.eq(next.as_str()),
            certificates::updated_seq.eq(seq(view)),
        ))
        .execute(conn)?;
    close_holding(conn, view, row.id)?;
    let mut children = Vec::with_capacity(body.children.len());
    for (c, a) in body.children.iter().zip(&amounts) {
        let id = DbId::from(c.certificate_id);
        diesel::insert_into(certificates::table)
            .values((
                certificates::id.eq(id),
                certificates::program_id.eq(row.program_id),
                certificates::core_org_id.eq(row.core_org_id),
                certificates::root_id.eq(row.root_id),
                certificates::parent_id.eq(Some(row.id)),
                certificates::holder_org_id.eq(row.holder_org_id),
                certificates::amount.eq(DbDecimal(a.amount())),
                certificates::maturity_date.eq(row.maturity_date),
                certificates::issued_on.eq(row.issued_on),
                certificates::status.eq(CertStatus::Active.as_str()),
                certificates::invoice_ids.eq(&row.invoice_ids),
                certificates::proposed_by.eq(row.proposed_by),
                certificates::confirmed_by.eq(row.confirmed_by),
                certificates::created_seq.eq(seq(view)),
                certificates::updated_seq.eq(seq(view)),
                certificates::created_at.eq(now(view)),
            ))
            .execute(conn)?;
        open_holding(conn, view, &row, id, row.holder_org_id)?;
        children
            .push(serde_json::json!({"certificate_id": c.certificate_id, "amount": a.to_string()}));
    }
    let mut out = answer(&reload(conn, body.certificate_id)?);
    if let Some(o) = out.as_object_mut() {
        o.insert("children".into(), serde_json::Value::Array(children));
    }
    Ok(out)
}

/// `certificate.transfer`: the holder assigns an active certificate to its
/// own supplier onboarded in the same program; the notice of assignment to
/// the issuer is recorded with it.
pub fn transfer(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    holder: DbId,
    body: &TransferBody,
) -> Result<serde_json::Value, CommandError> {
    let row = held(conn, holder, body.certificate_id)?;
    if body.notice_to != row.core_org_id.0 {
        return Err(unprocessable(
            "notice_to must name the certificate's issuer: a transfer is notified to the debtor (Civil Code Art. 546)",
        ));
    }
    movable(conn, &row, today(view))?;
    let next = step(&row, CertEvent::Transfer)?;
    let to = DbId::from(body.to_org_id);
    let onboarded = matches!(
        active_counterparty(conn, row.core_org_id, to)?,
        Some((Direction::Upstream, _, _))
    );
    if to == holder || !onboarded || !supplies(conn, row.core_org_id, to, holder)? {
        return Err(unprocessable(
            "the receiver must be your own supplier in this program: an active upstream counterparty of the issuer, through KYC, whose parent_org_id is you (GET /v1/relationships lists them)",
        ));
    }
    let notice = reassign(conn, view, &row, next, holder, to)?;
    let mut out = answer(&reload(conn, body.certificate_id)?);
    if let Some(o) = out.as_object_mut() {
        o.insert(
            "notice_of_assignment".into(),
            serde_json::json!({"notice_id": notice.0, "issuer_org_id": row.core_org_id.0,
                "assignor_org_id": holder.0, "assignee_org_id": to.0, "ledger_seq": view.seq}),
        );
    }
    Ok(out)
}

/// Locks an active certificate for financing: no split or transfer until
/// it is unlocked (or financed). Called by the financing workflow under
/// the writer, with its entry's seq and time.
pub fn lock(conn: &mut DbConn, id: Uuid, entry_seq: i64) -> Result<(), CommandError> {
    relock(conn, id, CertEvent::Lock, entry_seq)
}

/// Releases a financing lock (the application was declined or withdrawn).
pub fn unlock(conn: &mut DbConn, id: Uuid, entry_seq: i64) -> Result<(), CommandError> {
    relock(conn, id, CertEvent::Unlock, entry_seq)
}

fn relock(
    conn: &mut DbConn,
    id: Uuid,
    event: CertEvent,
    entry_seq: i64,
) -> Result<(), CommandError> {
    let row = load(conn, id)?.ok_or_else(no_such_certificate)?;
    let next = step(&row, event)?;
    diesel::update(certificates::table.filter(certificates::id.eq(row.id)))
        .set((
            certificates::status.eq(next.as_str()),
            certificates::updated_seq.eq(entry_seq),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether `org` may read certificate `id`: its issuer, a current or past
/// holder, a funder of its program, or the operator.
pub fn can_see(
    conn: &mut DbConn,
    org: DbId,
    is_operator: bool,
    id: Uuid,
) -> Result<bool, diesel::result::Error> {
    let Some(row) = load(conn, id)? else {
        return Ok(false);
    };
    if is_operator || row.core_org_id == org || row.holder_org_id == org {
        return Ok(true);
    }
    let past: i64 = certificate_holdings::table
        .filter(certificate_holdings::certificate_id.eq(row.id))
        .filter(certificate_holdings::holder_org_id.eq(org))
        .count()
        .get_result(conn)?;
    if past > 0 {
        return Ok(true);
    }
    plan::can_see(conn, org, false, row.program_id.0)
}

/// A certificate as readers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Certificate {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    /// The core enterprise that confirmed it and pays it at maturity.
    #[schema(value_type = String, format = Uuid)]
    pub issuer_org_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub holder_org_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub root_id: Uuid,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_id: Option<Uuid>,
    /// This certificate's amount (the face value for a root).
    #[schema(value_type = String, example = "1000000.00")]
    pub amount: String,
    /// What the holder may split, transfer or finance now: the amount while
    /// active, else zero.
    #[schema(value_type = String, example = "1000000.00")]
    pub available: String,
    #[schema(value_type = String, format = Date)]
    pub maturity_date: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub issued_on: Option<NaiveDate>,
    pub status: CertStatus,
    #[schema(value_type = Vec<String>)]
    pub invoice_ids: Vec<Uuid>,
    pub created_seq: i64,
    pub updated_seq: i64,
    pub created_at: String,
}

impl From<CertRow> for Certificate {
    fn from(r: CertRow) -> Self {
        let status = r.status();
        let amount = Money::new(r.amount.0).unwrap_or(Money::ZERO);
        let available = if status == CertStatus::Active {
            amount
        } else {
            Money::ZERO
        };
        Certificate {
            id: r.id.0,
            program_id: r.program_id.0,
            issuer_org_id: r.core_org_id.0,
            holder_org_id: r.holder_org_id.0,
            root_id: r.root_id.0,
            parent_id: r.parent_id.map(|p| p.0),
            amount: amount.to_string(),
            available: available.to_string(),
            maturity_date: r.maturity_date,
            issued_on: r.issued_on,
            status,
            invoice_ids: serde_json::from_str(&r.invoice_ids).unwrap_or_default(),
            created_seq: r.created_seq,
            updated_seq: r.updated_seq,
            created_at: r.created_at.to_text(),
        }
    }
}

impl crate::listing::CsvRow for Certificate {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "program_id",
        "issuer_org_id",
        "holder_org_id",
        "root_id",
        "parent_id",
        "amount",
        "available",
        "maturity_date",
        "issued_on",
        "status",
        "created_seq",
        "updated_seq",
        "created_at",
    ];
}

/// A child as its parent's readers see it (its holder is its own business).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Child {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[schema(value_type = String)]
    pub amount: String,
    pub status: CertStatus,
}

/// One holding: who held the certificate from which entry to which.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Holding {
    #[schema(value_type = String, format = Uuid)]
    pub holder_org_id: Uuid,
    pub from_seq: i64,
    pub to_seq: Option<i64>,
    pub from_at: String,
    pub to_at: Option<String>,
}

type HoldingRow = (DbId, i64, Option<i64>, DbInstant, Option<DbInstant>);

/// A certificate with its lineage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateDetail {
    #[serde(flatten)]
    pub certificate: Certificate,
    pub children: Vec<Child>,
    /// Oldest first.
    pub holders: Vec<Holding>,
}

pub fn detail(
    conn: &mut DbConn,
    id: Uuid,
) -> Result<Option<CertificateDetail>, diesel::result::Error> {
    let Some(row) = load(conn, id)? else {
        return Ok(None);
    };
    let children: Vec<(DbId, DbDecimal, String)> = certificates::table
        .filter(certificates::parent_id.eq(row.id))
        .order(certificates::id.asc())
        .select((certificates::id, certificates::amount, certificates::status))
        .load(conn)?;
    let holders: Vec<HoldingRow> = certificate_holdings::table
        .filter(certificate_holdings::certificate_id.eq(row.id))
        .order(certificate_holdings::from_seq.asc())
        .select((
            certificate_holdings::holder_org_id,
            certificate_holdings::from_seq,
            certificate_holdings::to_seq,
            certificate_holdings::from_at,
            certificate_holdings::to_at,
        ))
        .load(conn)?;
    Ok(Some(CertificateDetail {
        certificate: row.into(),
        children: children
            .into_iter()
            .map(|(id, amount, status)| Child {
                id: id.0,
                amount: Money::new(amount.0).unwrap_or(Money::ZERO).to_string(),
                status: CertStatus::parse(&status).unwrap_or(CertStatus::Cancelled),
            })
            .collect(),
        holders: holders
            .into_iter()
            .map(|h| Holding {
                holder_org_id: h.0.0,
                from_seq: h.1,
                to_seq: h.2,
                from_at: h.3.to_text(),
                to_at: h.4.map(|t| t.to_text()),
            })
            .collect(),
    }))
}

/// Filters shared by the lists.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<CertStatus>,
    pub maturity_from: Option<NaiveDate>,
    pub maturity_to: Option<NaiveDate>,
    pub root_id: Option<Uuid>,
}

/// Certificates `org` holds now, by (created_seq, id), after `after`.
pub fn list_held(
    conn: &mut DbConn,
    org: DbId,
    f: &Filter,
    after: Option<(i64, Uuid)>,
    fetch: i64,
) -> Result<Vec<CertRow>, diesel::result::Error> {
    let mut q = certificates::table
        .filter(certificates::holder_org_id.eq(org))
        .select(CERT_COLUMNS)
        .into_boxed();
    if let Some(s) = f.status {
        q = q.filter(certificates::status.eq(s.as_str()));
    }
    if let Some(d) = f.maturity_from {
        q = q.filter(certificates::maturity_date.ge(d));
    }
    if let Some(d) = f.maturity_to {
        q = q.filter(certificates::maturity_date.le(d));
    }
    if let Some(r) = f.root_id {
        q = q.filter(certificates::root_id.eq(DbId::from(r)));
    }
    if let Some((s, id)) = after {
        q = q.filter(
            certificates::created_seq.gt(s).or(certificates::created_seq
                .eq(s)
                .and(certificates::id.gt(DbId::from(id)))),
        );
    }
    q.order((certificates::created_seq.asc(), certificates::id.asc()))
        .limit(fetch)
        .load(conn)
}

/// Certificates `org` issued, grouped by root: by (root_id, created_seq, id).
pub fn list_issued(
    conn: &mut DbConn,
    org: DbId,
    f: &Filter,
    after: Option<(Uuid, i64, Uuid)>,
    fetch: i64,
) -> Result<Vec<CertRow>, diesel::result::Error> {
    let mut q = certificates::table
        .filter(certificates::core_org_id.eq(org))
        .select(CERT_COLUMNS)
        .into_boxed();
    if let Some(s) = f.status {
        q = q.filter(certificates::status.eq(s.as_str()));
    }
    if let Some(d) = f.maturity_from {
        q = q.filter(certificates::maturity_date.ge(d));
    }
    if let Some(d) = f.maturity_to {
        q = q.filter(certificates::maturity_date.le(d));
    }
    if let Some(r) = f.root_id {
        q = q.filter(certificates::root_id.eq(DbId::from(r)));
    }
    if let Some((root, s, id)) = after {
        let root = DbId::from(root);
        q = q.filter(
            certificates::root_id
                .gt(root)
                .or(certificates::root_id.eq(root).and(
                    certificates::created_seq.gt(s).or(certificates::created_seq
                        .eq(s)
                        .and(certificates::id.gt(DbId::from(id)))),
                )),
        );
    }
    q.order((
        certificates::root_id.asc(),
        certificates::created_seq.asc(),
        certificates::id.asc(),
    ))
    .limit(fetch)
    .load(conn)
}

/// What `org` may split, transfer or finance now: its active certificates.
pub fn available_balance(conn: &mut DbConn, org: DbId) -> Result<Money, diesel::result::Error> {
    let amounts: Vec<DbDecimal> = certificates::table
        .filter(certificates::holder_org_id.eq(org))
        .filter(certificates::status.eq(CertStatus::Active.as_str()))
        .select(certificates::amount)
        .load(conn)?;
    Ok(amounts
        .into_iter()
        .filter_map(|a| Money::new(a.0).ok())
        .try_fold(Money::ZERO, |acc, m| acc.checked_add(m).ok())
        .unwrap_or(Money::ZERO))
}

/// A notice of assignment the issuer received.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notice {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub root_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub assignor_org_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub assignee_org_id: Uuid,
    #[schema(value_type = String)]
    pub amount: String,
    /// The transfer's ledger entry, which carries the notice.
    pub ledger_seq: i64,
    pub notified_at: String,
}

impl crate::listing::CsvRow for Notice {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "certificate_id",
        "root_id",
        "program_id",
        "assignor_org_id",
        "assignee_org_id",
        "amount",
        "ledger_seq",
        "notified_at",
    ];
}

type NoticeRow = (
    DbId,
    DbId,
    DbId,
    DbId,
    DbId,
    DbId,
    DbDecimal,
    i64,
    DbInstant,
);

/// Notices `issuer` received, by ledger seq, after `after`.
pub fn notices(
    conn: &mut DbConn,
    issuer: DbId,
    after: Option<i64>,
    fetch: i64,
) -> Result<Vec<Notice>, diesel::result::Error> {
    let mut q = assignment_notices::table
        .filter(assignment_notices::core_org_id.eq(issuer))
        .select((
            assignment_notices::id,
            assignment_notices::certificate_id,
            assignment_notices::root_id,
            assignment_notices::program_id,
            assignment_notices::assignor_org_id,
            assignment_notices::assignee_org_id,
            assignment_notices::amount,
            assignment_notices::ledger_seq,
            assignment_notices::notified_at,
        ))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(assignment_notices::ledger_seq.gt(a));
    }
    let rows: Vec<NoticeRow> = q
        .order(assignment_notices::ledger_seq.asc())
        .limit(fetch)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Notice {
            id: r.0.0,
            certificate_id: r.1.0,
            root_id: r.2.0,
            program_id: r.3.0,
            assignor_org_id: r.4.0,
            assignee_org_id: r.5.0,
            amount: Money::new(r.6.0).unwrap_or(Money::ZERO).to_string(),
            ledger_seq: r.7,
            notified_at: r.8.to_text(),
        })
        .collect())
}

/// The sum of the active (whole, unsplit) leaves descended from `root`:
/// always the root's face value while nothing is paid out.
pub fn leaves_sum(conn: &mut DbConn, root: Uuid) -> Result<Decimal, diesel::result::Error> {
    let statuses: Vec<&str> = CertStatus::OUTSTANDING.iter().map(|s| s.as_str()).collect();
    let amounts: Vec<DbDecimal> = certificates::table
        .filter(certificates::root_id.eq(DbId::from(root)))
        .filter(certificates::status.eq_any(statuses))
        .select(certificates::amount)
        .load(conn)?;
    Ok(amounts.into_iter().map(|a| a.0).sum())
}
