//! The 一企一策 plan: one core enterprise's limits, products, pricing and
//! eligible counterparties, as a versioned document. A version is drafted
//! by the core firm, approved by the core firm and by every funder it
//! names (each signing the document's digest, so each approves exactly the
//! same bytes), and takes effect from a date. Versions are never edited.

use crate::db::schema::{organisations, plan_approvals, policy_rules, program_plans, programs};
use crate::db::{DbConn, DbId, DbInstant};
use crate::ledger::writer::{CommandError, EntryView};
use crate::parties::model::{Direction, OrgKind, OrgStatus, SizeClass};
use crate::pricing::DiscountBearer;
use crate::pricing::fee::{EnterpriseSize, Fee, SmallFirmFeeRule};
use crate::pricing::money::Money;
use crate::pricing::rate::{Bp, LprTenor};
use crate::routes::mutation::rejected;
use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// Financing products a plan can enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    Receivables,
    Prepayment,
    InventoryPledge,
    WarehouseReceiptPledge,
}

/// A funder's line within the program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunderLine {
    pub org_id: Uuid,
    pub line_limit: Money,
}

/// Who may be financed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    pub directions: Vec<Direction>,
    /// Relationships of tier 1 up to this tier.
    pub max_tier: u8,
    pub size_classes: Vec<SizeClass>,
}

/// LPR plus a spread, and who bears the discount interest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    pub benchmark: LprTenor,
    pub spread_bp: Bp,
    pub discount_bearer: DiscountBearer,
}

/// Certificate tenors, in days from issue to maturity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenorLimits {
    pub min_days: u16,
    /// At most the dated cap (`policy_rules.certificate_tenor`): 6 months
    /// in principle, 12 at most; beyond 6 the plan must say why.
    pub max_months: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_tenor_reason: Option<String>,
}

/// The plan document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub products: Vec<Product>,
    pub program_limit: Money,
    pub funders: Vec<FunderLine>,
    /// The most any one counterparty may have financed at once.
    pub counterparty_limit: Money,
    pub eligibility: Eligibility,
    /// Advance as a fraction of the financed face value, in (0, 1].
    #[serde(with = "rust_decimal::serde::str")]
    pub advance_rate: Decimal,
    pub pricing: Pricing,
    /// Only whitelisted fee types, each with payer and payee.
    pub fees: Vec<Fee>,
    pub tenor: TenorLimits,
    /// No transfer of a certificate within this many days of maturity.
    pub transfer_cutoff_days: u16,
    pub grace_days: u16,
    /// Penalty rate = contract rate × (1 + uplift), uplift in [0.30, 0.50].
    #[serde(with = "rust_decimal::serde::str")]
    pub penalty_uplift: Decimal,
    pub recourse: bool,
    /// A notice of assignment to the issuer is recorded with every transfer
    /// (Civil Code Art. 546); `true` also requires the issuer's
    /// acknowledgement before financing.
    pub notice_acknowledgement_required: bool,
    /// 随借随还: early settlement with interest to the day.
    pub early_settlement: bool,
}

/// Dated tenor cap (银发〔2025〕77号).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct TenorCap {
    pub default_max_months: u8,
    pub hard_max_months: u8,
}

fn unprocessable(m: impl Into<String>) -> CommandError {
    rejected(422, "unprocessable", m)
}

/// The rule value in force for `rule` on `on`.
pub fn policy<T: serde::de::DeserializeOwned>(
    conn: &mut DbConn,
    rule: &str,
    on: NaiveDate,
) -> Result<T, CommandError> {
    let value: Option<String> = policy_rules::table
        .filter(policy_rules::rule.eq(rule))
        .filter(policy_rules::effective_from.le(on))
        .order(policy_rules::effective_from.desc())
        .select(policy_rules::value)
        .first(conn)
        .optional()?;
    let value = value
        .ok_or_else(|| CommandError::Storage(format!("no policy rule {rule} in force on {on}")))?;
    serde_json::from_str(&value)
        .map_err(|e| CommandError::Storage(format!("policy rule {rule}: {e}")))
}

/// Checks a plan against the rules that do not depend on other rows.
pub fn validate(plan: &Plan, cap: TenorCap) -> Result<(), CommandError> {
    if plan.products.is_empty() {
        return Err(unprocessable("products: enable at least one product"));
    }
    if plan.funders.is_empty() {
        return Err(unprocessable(
            "funders: a program needs at least one funder",
        ));
    }
    let mut ids: Vec<Uuid> = plan.funders.iter().map(|f| f.org_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != plan.funders.len() {
        return Err(unprocessable("funders: each funder appears once"));
    }
    let positive = |m: &Money| m.amount() > Decimal::ZERO;
    if !positive(&plan.program_limit) || !positive(&plan.counterparty_limit) {
        return Err(unprocessable(
            "program_limit and counterparty_limit must be above zero",
        ));
    }
    for f in &plan.funders {
        if !positive(&f.line_limit) || f.line_limit.amount() > plan.program_limit.amount() {
            return Err(unprocessable(format!(
                "funders: the line of {} must be above zero and within the program limit",
                f.org_id
            )));
        }
    }
    if plan.counterparty_limit.amount() > plan.program_limit.amount() {
        return Err(unprocessable(
            "counterparty_limit must be within the program limit",
        ));
    }
    let e = &plan.eligibility;
    if e.directions.is_empty() || e.size_classes.is_empty() || !(1..=9).contains(&e.max_tier) {
        return Err(unprocessable(
            "eligibility: name at least one direction and size class, and a max_tier of 1 to 9",
        ));
    }
    if plan.advance_rate <= Decimal::ZERO || plan.advance_rate > Decimal::ONE {
        return Err(unprocessable("advance_rate must be above 0 and at most 1"));
    }
    let (low, high) = (Decimal::new(30, 2), Decimal::new(50, 2));
    if plan.penalty_uplift < low || plan.penalty_uplift > high {
        return Err(unprocessable(
            "penalty_uplift must be 0.30 to 0.50 (penalty rate = contract rate × 1.3 to 1.5)",
        ));
    }
    let t = &plan.tenor;
    if t.max_months == 0 || t.max_months > cap.hard_max_months {
        return Err(unprocessable(format!(
            "tenor.max_months must be 1 to {} (银发〔2025〕77号)",
            cap.hard_max_months
        )));
    }
    if t.max_months > cap.default_max_months
        && t.long_tenor_reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        return Err(unprocessable(format!(
            "tenor.max_months above {} needs tenor.long_tenor_reason: funders must assess the reasonableness of longer terms",
            cap.default_max_months
        )));
    }
    if u32::from(t.min_days) == 0 || u32::from(t.min_days) > u32::from(t.max_months) * 28 {
        return Err(unprocessable(
            "tenor.min_days must be at least 1 and below the maximum tenor",
        ));
    }
    // Fees a small or micro firm may not be charged are refused whenever
    // the plan can finance one, whoever would pay (no shifting of costs).
    let small_eligible = e
        .size_classes
        .iter()
        .any(|c| matches!(c, SizeClass::Small | SizeClass::Micro));
    for fee in &plan.fees {
        if small_eligible && fee.fee_type.small_firm_rule() == SmallFirmFeeRule::Forbidden {
            return Err(unprocessable(format!(
                "fees: {} ({:?}) may not be charged to small or micro firms, which this plan finances",
                fee.fee_type.chinese_name(),
                fee.fee_type
            )));
        }
    }
    if let DiscountBearer::Split { supplier_share } = plan.pricing.discount_bearer
        && !(Decimal::ZERO..=Decimal::ONE).contains(&supplier_share)
    {
        return Err(unprocessable(
            "pricing.discount_bearer.supplier_share must be 0 to 1",
        ));
    }
    Ok(())
}

/// The size a fee rule sees for a size class.
pub fn enterprise_size(c: SizeClass) -> EnterpriseSize {
    match c {
        SizeClass::Micro => EnterpriseSize::Micro,
        SizeClass::Small => EnterpriseSize::Small,
        SizeClass::Medium => EnterpriseSize::Medium,
        SizeClass::Large => EnterpriseSize::Large,
    }
}

/// The canonical bytes of a plan and their SHA-256, hex.
pub fn canonical(plan: &Plan) -> Result<(String, String), CommandError> {
    let value = serde_json::to_value(plan).map_err(|e| CommandError::Storage(e.to_string()))?;
    let bytes = scf_ledger::jcs::to_vec(&value);
    let digest = hex::encode(Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).map_err(|e| CommandError::Storage(e.to_string()))?;
    Ok((text, digest))
}

/// Body of `program.create`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    pub name: String,
}

/// Body of `program.plan_draft`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    /// The plan document (see `docs/API-DESIGN.md`, Programs).
    #[schema(value_type = Object)]
    pub plan: Plan,
    #[schema(value_type = String, format = Date)]
    pub effective_from: NaiveDate,
}

/// Body of `program.plan_approve`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    pub version: i32,
    /// The SHA-256 (hex) of the version's canonical document, as shown by
    /// GET .../plans/{version}: you approve exactly those bytes.
    pub digest: String,
}

/// `program.create`: the core enterprise's one program.
pub fn create(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    core: DbId,
    body: &CreateBody,
) -> Result<serde_json::Value, CommandError> {
    let status: Option<String> = organisations::table
        .filter(organisations::id.eq(core))
        .select(organisations::status)
        .first(conn)
        .optional()?;
    if status.as_deref() != Some(OrgStatus::Approved.as_str()) {
        return Err(rejected(
            409,
            "conflict",
            "your organisation must pass KYC before it runs a program",
        ));
    }
    let existing: Option<DbId> = programs::table
        .filter(programs::core_org_id.eq(core))
        .select(programs::id)
        .first(conn)
        .optional()?;
    if let Some(id) = existing {
        return Err(rejected(
            409,
            "conflict",
            format!(
                "your organisation has its program already ({}); a core enterprise has one program",
                id.0
            ),
        ));
    }
    let name = crate::parties::onboarding::text("name", &body.name)?;
    diesel::insert_into(programs::table)
        .values((
            programs::id.eq(DbId::from(body.program_id)),
            programs::core_org_id.eq(core),
            programs::name.eq(&name),
            programs::created_seq.eq(i64::try_from(view.seq).unwrap_or(i64::MAX)),
            programs::created_at.eq(DbInstant::new(view.time.as_datetime())),
        ))
        .execute(conn)?;
    Ok(serde_json::json!({ "program_id": body.program_id, "name": name }))
}

fn program_core(conn: &mut DbConn, program: Uuid) -> Result<Option<DbId>, CommandError> {
    Ok(programs::table
        .filter(programs::id.eq(DbId::from(program)))
        .select(programs::core_org_id)
        .first(conn)
        .optional()?)
}

/// `program.plan_draft`: a new version, drafted by the core enterprise.
pub fn draft(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    core: DbId,
    user: DbId,
    body: &DraftBody,
) -> Result<serde_json::Value, CommandError> {
    if program_core(conn, body.program_id)? != Some(core) {
        return Err(rejected(404, "not_found", "no such program of yours"));
    }
    let today = view.time.as_datetime().date_naive();
    if body.effective_from < today {
        return Err(unprocessable(
            "effective_from must be today or later: a plan does not act on the past",
        ));
    }
    let cap: TenorCap = policy(conn, "certificate_tenor", body.effective_from)?;
    validate(&body.plan, cap)?;
    for f in &body.plan.funders {
        let row: Option<(String, String)> = organisations::table
            .filter(organisations::id.eq(DbId::from(f.org_id)))
            .select((organisations::kind, organisations::status))
            .first(conn)
            .optional()?;
        if row.as_ref().map(|(k, s)| (k.as_str(), s.as_str()))
            != Some((OrgKind::Funder.as_str(), OrgStatus::Approved.as_str()))
        {
            return Err(unprocessable(format!(
                "funders: {} is not a funder that passed KYC",
                f.org_id
            )));
        }
    }
    let program = DbId::from(body.program_id);
    let last: Option<i32> = program_plans::table
        .filter(program_plans::program_id.eq(program))
        .select(diesel::dsl::max(program_plans::version))
        .first(conn)?;
    let version = last.unwrap_or(0) + 1;
    let (document, digest) = canonical(&body.plan)?;
    diesel::insert_into(program_plans::table)
        .values((
            program_plans::id.eq(DbId::new_v7()),
            program_plans::program_id.eq(program),
            program_plans::core_org_id.eq(core),
            program_plans::version.eq(version),
            program_plans::status.eq(PlanStatus::Draft.as_str()),
            program_plans::document.eq(&document),
            program_plans::digest.eq(&digest),
            program_plans::effective_from.eq(body.effective_from),
            program_plans::drafted_by.eq(user),
            program_plans::drafted_seq.eq(i64::try_from(view.seq).unwrap_or(i64::MAX)),
            program_plans::created_at.eq(DbInstant::new(view.time.as_datetime())),
        ))
        .execute(conn)?;
    Ok(serde_json::json!({
        "program_id": body.program_id,
        "version": version,
        "digest": digest,
        "status": PlanStatus::Draft,
        "approvals_needed": approvers(&body.plan, core),
    }))
}

/// Every organisation whose approval a plan needs: the core enterprise
/// and each funder it names.
fn approvers(plan: &Plan, core: DbId) -> Vec<Uuid> {
    let mut v = vec![core.0];
    v.extend(plan.funders.iter().map(|f| f.org_id));
    v
}

/// A plan version's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Draft,
    Approved,
    Withdrawn,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Draft => "draft",
            PlanStatus::Approved => "approved",
            PlanStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<PlanStatus> {
        match s {
            "draft" => Some(PlanStatus::Draft),
            "approved" => Some(PlanStatus::Approved),
            "withdrawn" => Some(PlanStatus::Withdrawn),
            _ => None,
        }
    }
}

/// What moves a plan version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanEvent {
    /// The last approval the plan needs arrived.
    FullyApproved,
    Withdraw,
}

/// Every allowed move; an approved version is final (a change is a new
/// version).
pub const PLAN_TRANSITIONS: &[(PlanStatus, PlanEvent, PlanStatus)] = &[
    (
        PlanStatus::Draft,
        PlanEvent::FullyApproved,
        PlanStatus::Approved,
    ),
    (
        PlanStatus::Draft,
        PlanEvent::Withdraw,
        PlanStatus::Withdrawn,
    ),
];

impl PlanStatus {
    pub fn next(self, e: PlanEvent) -> Option<PlanStatus> {
        PLAN_TRANSITIONS
            .iter()
            .find(|(from, ev, _)| *from == self && *ev == e)
            .map(|(_, _, to)| *to)
    }
}

/// `program.plan_approve`: the core enterprise or a funder named by the
/// plan approves the version whose digest it signed.
pub fn approve(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &ApproveBody,
) -> Result<serde_json::Value, CommandError> {
    let row: Option<(DbId, DbId, String, String, String, DbId)> = program_plans::table
        .filter(program_plans::program_id.eq(DbId::from(body.program_id)))
        .filter(program_plans::version.eq(body.version))
        .select((
            program_plans::id,
            program_plans::core_org_id,
            program_plans::status,
            program_plans::document,
            program_plans::digest,
            program_plans::drafted_by,
        ))
        .first(conn)
        .optional()?;
    let (plan_id, core, status, document, digest, drafted_by) =
        row.ok_or_else(|| rejected(404, "not_found", "no such plan version"))?;
    if drafted_by == user {
        return Err(rejected(
            403,
            "forbidden",
            "the user who drafted a version cannot approve it (maker and checker are two people)",
        ));
    }
    let plan: Plan =
        serde_json::from_str(&document).map_err(|e| CommandError::Storage(e.to_string()))?;
    let needed = approvers(&plan, core);
    if !needed.contains(&org.0) {
        return Err(rejected(404, "not_found", "no such plan version"));
    }
    if body.digest != digest {
        return Err(rejected(
            409,
            "conflict",
            "the digest does not match this version's document; fetch the version and approve what it says",
        ));
    }
    let status = PlanStatus::parse(&status).unwrap_or(PlanStatus::Withdrawn);
    if status != PlanStatus::Draft {
        return Err(rejected(
            409,
            "conflict",
            format!(
                "this version is {}; only a draft is approved",
                status.as_str()
            ),
        ));
    }
    let already: i64 = plan_approvals::table
        .filter(plan_approvals::plan_id.eq(plan_id))
        .filter(plan_approvals::org_id.eq(org))
        .count()
        .get_result(conn)?;
    if already > 0 {
        return Err(rejected(
            409,
            "conflict",
            "your organisation approved this version already",
        ));
    }
    let now = DbInstant::new(view.time.as_datetime());
    diesel::insert_into(plan_approvals::table)
        .values((
            plan_approvals::plan_id.eq(plan_id),
            plan_approvals::core_org_id.eq(core),
            plan_approvals::org_id.eq(org),
            plan_approvals::user_id.eq(user),
            plan_approvals::ledger_seq.eq(i64::try_from(view.seq).unwrap_or(i64::MAX)),
            plan_approvals::approved_at.eq(now),
        ))
        .execute(conn)?;
    let have: Vec<DbId> = plan_approvals::table
        .filter(plan_approvals::plan_id.eq(plan_id))
        .select(plan_approvals::org_id)
        .load(conn)?;
    let complete = needed.iter().all(|n| have.iter().any(|h| h.0 == *n));
    let mut status = status;
    if complete && let Some(next) = status.next(PlanEvent::FullyApproved) {
        diesel::update(program_plans::table.filter(program_plans::id.eq(plan_id)))
            .set((
                program_plans::status.eq(next.as_str()),
                program_plans::approved_at.eq(Some(now)),
            ))
            .execute(conn)?;
        status = next;
    }
    let waiting: Vec<Uuid> = needed
        .into_iter()
        .filter(|n| !have.iter().any(|h| h.0 == *n))
        .collect();
    Ok(serde_json::json!({
        "program_id": body.program_id,
        "version": body.version,
        "status": status,
        "waiting_for": waiting,
    }))
}

/// A plan version as readers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanVersion {
    #[schema(value_type = String, format = Uuid)]
    pub program_id: Uuid,
    pub version: i32,
    pub status: PlanStatus,
    #[schema(value_type = String, format = Date)]
    pub effective_from: NaiveDate,
    /// SHA-256 (hex) of the canonical document; approvals sign it.
    pub digest: String,
    #[schema(value_type = Object)]
    pub plan: serde_json::Value,
    /// Organisations that approved, with the ledger entry of each approval.
    pub approvals: Vec<Approval>,
    pub created_at: String,
    pub approved_at: Option<String>,
}

impl crate::listing::CsvRow for PlanVersion {
    const COLUMNS: &'static [&'static str] = &[
        "program_id",
        "version",
        "status",
        "effective_from",
        "digest",
        "plan",
        "approvals",
        "created_at",
        "approved_at",
    ];
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Approval {
    #[schema(value_type = String, format = Uuid)]
    pub org_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: Uuid,
    pub ledger_seq: i64,
    pub approved_at: String,
}

type PlanRow = (
    DbId,
    DbId,
    i32,
    String,
    NaiveDate,
    String,
    String,
    DbInstant,
    Option<DbInstant>,
);

fn load_versions(
    conn: &mut DbConn,
    program: Uuid,
    version: Option<i32>,
) -> Result<Vec<PlanVersion>, diesel::result::Error> {
    let mut q = program_plans::table
        .filter(program_plans::program_id.eq(DbId::from(program)))
        .select((
            program_plans::id,
            program_plans::program_id,
            program_plans::version,
            program_plans::status,
            program_plans::effective_from,
            program_plans::digest,
            program_plans::document,
            program_plans::created_at,
            program_plans::approved_at,
        ))
        .into_boxed();
    if let Some(v) = version {
        q = q.filter(program_plans::version.eq(v));
    }
    let rows: Vec<PlanRow> = q.order(program_plans::version.asc()).load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let approvals: Vec<(DbId, DbId, i64, DbInstant)> = plan_approvals::table
            .filter(plan_approvals::plan_id.eq(r.0))
            .select((
                plan_approvals::org_id,
                plan_approvals::user_id,
                plan_approvals::ledger_seq,
                plan_approvals::approved_at,
            ))
            .order(plan_approvals::ledger_seq.asc())
            .load(conn)?;
        out.push(PlanVersion {
            program_id: r.1.0,
            version: r.2,
            status: PlanStatus::parse(&r.3).unwrap_or(PlanStatus::Withdrawn),
            effective_from: r.4,
            digest: r.5,
            plan: serde_json::from_str(&r.6).unwrap_or_default(),
            approvals: approvals
                .into_iter()
                .map(|a| Approval {
                    org_id: a.0.0,
                    user_id: a.1.0,
                    ledger_seq: a.2,
                    approved_at: a.3.to_text(),
                })
                .collect(),
            created_at: r.7.to_text(),
            approved_at: r.8.map(|t| t.to_text()),
        });
    }
    Ok(out)
}

/// Every version of a program, oldest first.
pub fn versions(
    conn: &mut DbConn,
    program: Uuid,
) -> Result<Vec<PlanVersion>, diesel::result::Error> {
    load_versions(conn, program, None)
}

pub fn version(
    conn: &mut DbConn,
    program: Uuid,
    version: i32,
) -> Result<Option<PlanVersion>, diesel::result::Error> {
    Ok(load_versions(conn, program, Some(version))?
        .into_iter()
        .next())
}

/// The approved version in force on `on`: the latest effective_from on or
/// before it (a later version number wins a tie).
pub fn in_force(
    conn: &mut DbConn,
    program: Uuid,
    on: NaiveDate,
) -> Result<Option<PlanVersion>, diesel::result::Error> {
    match document_in_force(conn, program, on)? {
        Some((v, _)) => version(conn, program, v),
        None => Ok(None),
    }
}

fn document_in_force(
    conn: &mut DbConn,
    program: Uuid,
    on: NaiveDate,
) -> Result<Option<(i32, String)>, diesel::result::Error> {
    program_plans::table
        .filter(program_plans::program_id.eq(DbId::from(program)))
        .filter(program_plans::status.eq(PlanStatus::Approved.as_str()))
        .filter(program_plans::effective_from.le(on))
        .order((
            program_plans::effective_from.desc(),
            program_plans::version.desc(),
        ))
        .select((program_plans::version, program_plans::document))
        .first(conn)
        .optional()
}

/// A stored plan document, parsed.
pub type ParsedPlan = Result<Plan, serde_json::Error>;

/// The version number and the terms of the version [`in_force`] on `on`,
/// without its approvals: what pricing and the financing decisions need,
/// in one statement.
pub fn terms_in_force(
    conn: &mut DbConn,
    program: Uuid,
    on: NaiveDate,
) -> Result<Option<(i32, ParsedPlan)>, diesel::result::Error> {
    Ok(document_in_force(conn, program, on)?
        .map(|(v, doc)| (v, serde_json::from_str::<Plan>(&doc))))
}

/// Whether `org` may read program `program`: its core enterprise, a funder
/// named by any version, or the operator.
pub fn can_see(
    conn: &mut DbConn,
    org: DbId,
    is_operator: bool,
    program: Uuid,
) -> Result<bool, diesel::result::Error> {
    let Some(core) = core_of(conn, program)? else {
        return Ok(false);
    };
    Ok(is_operator || core == org || names_funder(conn, org, program)?)
}

fn core_of(conn: &mut DbConn, program: Uuid) -> Result<Option<DbId>, diesel::result::Error> {
    programs::table
        .filter(programs::id.eq(DbId::from(program)))
        .select(programs::core_org_id)
        .first(conn)
        .optional()
}

/// Whether any version of the program names `org` as a funder (parses
/// every version's document: asked last).
fn names_funder(
    conn: &mut DbConn,
    org: DbId,
    program: Uuid,
) -> Result<bool, diesel::result::Error> {
    let docs: Vec<String> = program_plans::table
        .filter(program_plans::program_id.eq(DbId::from(program)))
        .select(program_plans::document)
        .load(conn)?;
    Ok(docs.iter().any(|d| {
        serde_json::from_str::<Plan>(d).is_ok_and(|p| p.funders.iter().any(|f| f.org_id == org.0))
    }))
}

/// Whether `org` may price financing under program `program`: whoever may
/// read it, and the core enterprise's counterparties with an active
/// relationship (a supplier sees the full cost before it applies). The
/// cheap tests come first: a quote is asked for at load.
pub fn can_quote(
    conn: &mut DbConn,
    org: DbId,
    is_operator: bool,
    program: Uuid,
) -> Result<bool, diesel::result::Error> {
    use crate::db::schema::relationships;
    let Some(core) = core_of(conn, program)? else {
        return Ok(false);
    };
    if is_operator || core == org {
        return Ok(true);
    }
    let active: Option<DbId> = relationships::table
        .filter(relationships::core_org_id.eq(core))
        .filter(relationships::counterparty_org_id.eq(org))
        .filter(relationships::status.eq(crate::parties::model::RelStatus::Active.as_str()))
        .select(relationships::counterparty_org_id)
        .first(conn)
        .optional()?;
    Ok(active.is_some() || names_funder(conn, org, program)?)
}

/// One changed member between two plan documents.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Change {
    /// JSON Pointer (RFC 6901) of the member.
    pub path: String,
    #[schema(value_type = Option<Object>)]
    pub from: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub to: Option<serde_json::Value>,
}

/// The members that differ between `a` and `b`, in document order. Arrays
/// compare by position: plans are short and their lists are ordered.
pub fn diff(a: &serde_json::Value, b: &serde_json::Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", a, b, &mut out);
    out
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<Change>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}/{}", pointer_escape(k));
                match (x.get(k), y.get(k)) {
                    (Some(l), Some(r)) => walk(&p, l, r, out),
                    (l, r) => out.push(Change {
                        path: p,
                        from: l.cloned(),
                        to: r.cloned(),
                    }),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = format!("{path}/{i}");
                match (x.get(i), y.get(i)) {
                    (Some(l), Some(r)) => walk(&p, l, r, out),
                    (l, r) => out.push(Change {
                        path: p,
                        from: l.cloned(),
                        to: r.cloned(),
                    }),
                }
            }
        }
        (l, r) if l != r => out.push(Change {
            path: path.to_owned(),
            from: Some(l.clone()),
            to: Some(r.clone()),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn diff_names_each_changed_member() {
        let a = json!({"a": 1, "b": {"c": [1, 2]}, "d": "x"});
        let b = json!({"a": 1, "b": {"c": [1, 3, 4]}, "e": "y"});
        let paths: Vec<String> = diff(&a, &b).into_iter().map(|c| c.path).collect();
        assert_eq!(paths, ["/b/c/1", "/b/c/2", "/d", "/e"]);
        assert!(diff(&a, &a).is_empty());
    }

    proptest! {
        /// Each change names what a and b hold at its path, and there is
        /// none exactly when the documents are equal.
        #[test]
        fn diff_is_exact(a in arb_json(), b in arb_json()) {
            let changes = diff(&a, &b);
            prop_assert_eq!(changes.is_empty(), a == b);
            for c in changes {
                prop_assert_eq!(c.from.as_ref(), a.pointer(&c.path));
                prop_assert_eq!(c.to.as_ref(), b.pointer(&c.path));
                prop_assert_ne!(c.from, c.to);
            }
        }

        #[test]
        fn approval_needs_a_draft(events in prop::collection::vec(prop::sample::select(vec![PlanEvent::FullyApproved, PlanEvent::Withdraw]), 0..10)) {
            let mut s = PlanStatus::Draft;
            for e in events {
                if let Some(n) = s.next(e) {
                    prop_assert_eq!(s, PlanStatus::Draft);
                    s = n;
                }
            }
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            (0i64..5).prop_map(serde_json::Value::from),
            "[a-c]{0,2}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-c]", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
