//! Onboarding: the operator brings in core enterprises and funders, a core
//! enterprise invites its suppliers and distributors, each firm registers
//! its identity and figures, and the platform's KYC review decides.
//!
//! Every step is a signed intent; the functions here are the business
//! changes the writer runs under the entry that records them, so they see
//! the database as the ledger does and never half-happen. No HTTP here.
//!
//! Credentials are never handed from one firm to another: whoever creates a
//! user names the public key that user will enrol with (the user made the
//! pair with `scf keygen` and sent only the public half), and the user then
//! proves possession of it (`enrol`) and logs in with it.

use super::model::{Direction, OrgEvent, OrgKind, OrgStatus, RelEvent, RelStatus, Role, SizeClass};
use super::size_class::{self, Figures, RuleError};
use crate::db::schema::{organisations, relationships, signing_keys, users};
use crate::db::{DbConn, DbDecimal, DbId, DbInstant};
use crate::ledger::writer::{CommandError, EntryView};
use crate::routes::mutation::rejected;
use chrono::Datelike;
use diesel::prelude::*;
use rust_decimal::Decimal;
use scf_ledger::sig::PublicKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Longest name or reason kept.
pub const MAX_TEXT: usize = 200;

/// A firm's first administrator, named by whoever brings the firm in.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: Uuid,
    pub name: String,
    /// The Ed25519 public key (64 hex) the user will enrol with.
    pub public_key: String,
}

/// Body of `org.onboard` (signed by the platform operator).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardBody {
    #[schema(value_type = String, format = Uuid)]
    pub org_id: Uuid,
    /// `core_enterprise`, `funder`, `warehouse` or `logistics`.
    pub kind: OrgKind,
    pub name: String,
    pub admin: NewUser,
}

/// The firm a core enterprise invites.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCounterparty {
    #[schema(value_type = String, format = Uuid)]
    pub org_id: Uuid,
    /// `supplier` (upstream) or `distributor` (downstream).
    pub kind: OrgKind,
    pub name: String,
    pub admin: NewUser,
}

/// Body of `relationship.invite` (signed by the core enterprise).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    #[schema(value_type = String, format = Uuid)]
    pub relationship_id: Uuid,
    pub direction: Direction,
    /// 1 for direct suppliers or distributors, 2 for theirs, up to 9.
    pub tier: u8,
    /// From tier 2: the tier n−1 counterparty, in the same direction, that
    /// this firm trades with directly (the buyer it supplies, or the
    /// distributor it buys from). A certificate passes only from a holder
    /// to its own supplier, so the chain must be known. Absent at tier 1.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_org_id: Option<Uuid>,
    pub counterparty: NewCounterparty,
}

/// Body of `org.register` (signed by the registering firm's admin).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Unified social credit code (GB 32100), 18 characters with its check
    /// character.
    pub uscc: String,
    pub name: String,
    /// An industry of the size-class rules (`GET /v1/size-class-rules`).
    pub industry: String,
    pub headcount: u32,
    /// Annual operating revenue (营业收入) in CNY, a decimal string, at most 2 decimals.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "12500000.00")]
    pub revenue: Decimal,
    /// Total assets (资产总额) in CNY, a decimal string, at most 2 decimals.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "8000000.00")]
    pub total_assets: Decimal,
    /// The year the figures are for.
    pub figures_year: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// Body of `org.kyc` (signed by the platform operator).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KycBody {
    #[schema(value_type = String, format = Uuid)]
    pub org_id: Uuid,
    pub decision: Decision,
    /// Required for a rejection: what the firm must correct.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Body of `user.add` (signed by an admin of the organisation).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserAddBody {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
    /// The Ed25519 public key (64 hex) the user will enrol with.
    pub public_key: String,
}

/// An organisation as its viewers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Organisation {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub kind: OrgKind,
    pub name: String,
    pub status: OrgStatus,
    pub uscc: Option<String>,
    pub industry: Option<String>,
    pub size_class: Option<SizeClass>,
    /// The dated rule that gave `size_class`.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub size_rule_id: Option<Uuid>,
    pub headcount: Option<i32>,
    #[schema(value_type = Option<String>)]
    pub revenue: Option<String>,
    #[schema(value_type = Option<String>)]
    pub total_assets: Option<String>,
    pub figures_year: Option<i32>,
    /// Why the last KYC review rejected the firm.
    pub kyc_reason: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub onboarded_by: Option<Uuid>,
    pub created_at: String,
    pub updated_at: String,
}

impl crate::listing::CsvRow for Organisation {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "kind",
        "name",
        "status",
        "uscc",
        "industry",
        "size_class",
        "size_rule_id",
        "headcount",
        "revenue",
        "total_assets",
        "figures_year",
        "kyc_reason",
        "onboarded_by",
        "created_at",
        "updated_at",
    ];
}

impl crate::listing::CsvRow for Relationship {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "core_org_id",
        "core_org_name",
        "counterparty_org_id",
        "counterparty_name",
        "counterparty_kind",
        "counterparty_status",
        "direction",
        "tier",
        "parent_org_id",
        "status",
        "created_at",
    ];
}

impl crate::listing::CsvRow for User {
    const COLUMNS: &'static [&'static str] =
        &["id", "name", "role", "enrolled", "disabled", "created_at"];
}

/// A relationship as both of its sides see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Relationship {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub core_org_id: Uuid,
    pub core_org_name: String,
    #[schema(value_type = String, format = Uuid)]
    pub counterparty_org_id: Uuid,
    pub counterparty_name: String,
    pub counterparty_kind: OrgKind,
    pub counterparty_status: OrgStatus,
    pub direction: Direction,
    pub tier: i32,
    /// The tier n−1 firm this one trades with directly (none at tier 1).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_org_id: Option<Uuid>,
    pub status: RelStatus,
    pub created_at: String,
}

fn unprocessable(message: impl Into<String>) -> CommandError {
    rejected(422, "unprocessable", message)
}

fn conflict(message: impl Into<String>) -> CommandError {
    rejected(409, "conflict", message)
}

fn not_found(what: &str) -> CommandError {
    rejected(404, "not_found", format!("no such {what}"))
}

/// A name or reason: trimmed, 1 to `MAX_TEXT` characters, no control
/// characters.
pub fn text(field: &str, value: &str) -> Result<String, CommandError> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT || t.chars().any(char::is_control) {
        return Err(unprocessable(format!(
            "{field} must be 1 to {MAX_TEXT} characters without control characters"
        )));
    }
    Ok(t.to_owned())
}

fn public_key(field: &str, hex: &str) -> Result<PublicKey, CommandError> {
    PublicKey::from_hex(hex).map_err(|e| unprocessable(format!("{field}: {e}")))
}

fn at(view: &EntryView<'_>) -> DbInstant {
    DbInstant::new(view.time.as_datetime())
}

fn org_exists(conn: &mut DbConn, id: DbId) -> Result<bool, CommandError> {
    let n: i64 = organisations::table
        .filter(organisations::id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

fn user_exists(conn: &mut DbConn, id: DbId) -> Result<bool, CommandError> {
    let n: i64 = users::table
        .filter(users::id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Inserts a user who has yet to enrol `key`.
fn insert_pending_user(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: &NewUser,
    role: Role,
) -> Result<(), CommandError> {
    let name = text("name", &user.name)?;
    let key = public_key("public_key", &user.public_key)?;
    if user_exists(conn, user.user_id.into())? {
        return Err(conflict(format!("user {} exists already", user.user_id)));
    }
    let taken: i64 = signing_keys::table
        .filter(signing_keys::key_id.eq(key.key_id().to_hex()))
        .count()
        .get_result(conn)?;
    // A key already enrolled, or already named for another user still to
    // enrol, would leave one of the two unable to enrol.
    let named: i64 = users::table
        .filter(users::enrol_key.eq(key.as_bytes().to_vec()))
        .count()
        .get_result(conn)?;
    if taken + named > 0 {
        return Err(conflict(
            "that public key is registered already; each user needs a key of their own",
        ));
    }
    diesel::insert_into(users::table)
        .values((
            users::id.eq(DbId::from(user.user_id)),
            users::org_id.eq(org),
            users::name.eq(name),
            users::role.eq(role.as_str()),
            users::created_at.eq(at(view)),
            users::enrol_key.eq(key.as_bytes().to_vec()),
        ))
        .execute(conn)?;
    Ok(())
}

fn insert_invited_org(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    id: Uuid,
    kind: OrgKind,
    name: &str,
    by: DbId,
) -> Result<(), CommandError> {
    let name = text("name", name)?;
    if org_exists(conn, id.into())? {
        return Err(conflict(format!("organisation {id} exists already")));
    }
    diesel::insert_into(organisations::table)
        .values((
            organisations::id.eq(DbId::from(id)),
            organisations::kind.eq(kind.as_str()),
            organisations::name.eq(name),
            organisations::status.eq(OrgStatus::Invited.as_str()),
            organisations::onboarded_by.eq(by),
            organisations::created_at.eq(at(view)),
            organisations::updated_at.eq(at(view)),
        ))
        .execute(conn)?;
    Ok(())
}

/// `org.onboard`: the operator creates a core enterprise, funder,
/// warehouse or logistics firm and names its first admin.
pub fn onboard(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    operator: DbId,
    body: &OnboardBody,
) -> Result<serde_json::Value, CommandError> {
    if !body.kind.onboarded_by_operator() {
        return Err(unprocessable(format!(
            "the operator onboards core enterprises, funders, warehouses and logistics firms; a {} is invited by its core enterprise (POST /v1/relationships)",
            body.kind
        )));
    }
    insert_invited_org(conn, view, body.org_id, body.kind, &body.name, operator)?;
    insert_pending_user(conn, view, body.org_id.into(), &body.admin, Role::Admin)?;
    Ok(serde_json::json!({
        "org_id": body.org_id,
        "admin_user_id": body.admin.user_id,
        "status": OrgStatus::Invited,
    }))
}

fn org_status(conn: &mut DbConn, id: DbId) -> Result<Option<(OrgKind, OrgStatus)>, CommandError> {
    let row: Option<(String, String)> = organisations::table
        .filter(organisations::id.eq(id))
        .select((organisations::kind, organisations::status))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(k, s)| Some((OrgKind::parse(&k)?, OrgStatus::parse(&s)?))))
}

/// `relationship.invite`: a core enterprise brings in a supplier or
/// distributor, creating the firm, its first admin and the relationship.
pub fn invite(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    core: DbId,
    by_user: DbId,
    body: &InviteBody,
) -> Result<serde_json::Value, CommandError> {
    if !(1..=9).contains(&body.tier) {
        return Err(unprocessable("tier must be 1 to 9"));
    }
    let expected = body.direction.counterparty_kind();
    if body.counterparty.kind != expected {
        return Err(unprocessable(format!(
            "an {} counterparty is a {expected}, not a {}",
            body.direction, body.counterparty.kind
        )));
    }
    match org_status(conn, core)? {
        Some((OrgKind::CoreEnterprise, OrgStatus::Approved)) => {}
        Some((OrgKind::CoreEnterprise, _)) => {
            return Err(conflict(
                "your organisation must pass KYC before it invites counterparties",
            ));
        }
        _ => return Err(rejected(403, "forbidden", "only a core enterprise invites")),
    }
    let rel = DbId::from(body.relationship_id);
    let n: i64 = relationships::table
        .filter(relationships::id.eq(rel))
        .count()
        .get_result(conn)?;
    if n > 0 {
        return Err(conflict(format!(
            "relationship {} exists already",
            body.relationship_id
        )));
    }
    let parent = chain_parent(conn, core, body.direction, body.tier, body.parent_org_id)?;
    let cp = &body.counterparty;
    insert_invited_org(conn, view, cp.org_id, cp.kind, &cp.name, core)?;
    insert_pending_user(conn, view, cp.org_id.into(), &cp.admin, Role::Admin)?;
    diesel::insert_into(relationships::table)
        .values((
            relationships::id.eq(rel),
            relationships::core_org_id.eq(core),
            relationships::counterparty_org_id.eq(DbId::from(cp.org_id)),
            relationships::direction.eq(body.direction.as_str()),
            relationships::tier.eq(i32::from(body.tier)),
            relationships::status.eq(RelStatus::Pending.as_str()),
            relationships::invited_by_user_id.eq(by_user),
            relationships::created_at.eq(at(view)),
            relationships::parent_org_id.eq(parent),
        ))
        .execute(conn)?;
    Ok(serde_json::json!({
        "relationship_id": body.relationship_id,
        "counterparty_org_id": cp.org_id,
        "admin_user_id": cp.admin.user_id,
        "status": RelStatus::Pending,
    }))
}

/// The invited firm's place in the chain: none at tier 1; from tier 2, a
/// counterparty of this core firm one tier nearer, in the same direction
/// (pending or active, so a whole chain can be invited at once).
fn chain_parent(
    conn: &mut DbConn,
    core: DbId,
    direction: Direction,
    tier: u8,
    parent: Option<Uuid>,
) -> Result<Option<DbId>, CommandError> {
    let Some(parent) = parent.map(DbId::from) else {
        if tier > 1 {
            return Err(unprocessable(format!(
                "parent_org_id is required at tier {}: name the tier {} {} this firm trades with directly",
                tier,
                tier - 1,
                direction.counterparty_kind()
            )));
        }
        return Ok(None);
    };
    if tier == 1 {
        return Err(unprocessable(
            "parent_org_id must be absent at tier 1: a tier 1 firm trades with the core firm itself",
        ));
    }
    let found: Option<(String, i32)> = relationships::table
        .filter(relationships::core_org_id.eq(core))
        .filter(relationships::counterparty_org_id.eq(parent))
        .select((relationships::direction, relationships::tier))
        .first(conn)
        .optional()?;
    let fits = found.is_some_and(|(dir, t)| dir == direction.as_str() && t == i32::from(tier) - 1);
    if !fits {
        return Err(unprocessable(format!(
            "parent_org_id must be your tier {} {} counterparty (pending or active)",
            tier - 1,
            direction
        )));
    }
    Ok(Some(parent))
}

/// Body of `relationship.relink` (signed by the core enterprise).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelinkBody {
    #[schema(value_type = String, format = Uuid)]
    pub relationship_id: Uuid,
    /// The tier n−1 counterparty this firm now trades with directly.
    #[schema(value_type = String, format = Uuid)]
    pub parent_org_id: Uuid,
}

/// `relationship.relink`: the core firm records that a firm from tier 2
/// now trades with another firm one tier nearer (its chain changed, or it
/// was invited before the chain was recorded). Transfers from then on go
/// by the new link; certificates already passed stay where they are.
pub fn relink(
    conn: &mut DbConn,
    core: DbId,
    body: &RelinkBody,
) -> Result<serde_json::Value, CommandError> {
    let rel = DbId::from(body.relationship_id);
    let found: Option<(String, i32)> = relationships::table
        .filter(relationships::id.eq(rel))
        .filter(relationships::core_org_id.eq(core))
        .select((relationships::direction, relationships::tier))
        .first(conn)
        .optional()?;
    let (direction, tier) = found.ok_or_else(|| not_found("relationship of yours"))?;
    let direction = Direction::parse(&direction)
        .ok_or_else(|| CommandError::Storage(format!("relationship direction {direction}")))?;
    let tier = u8::try_from(tier).map_err(|e| CommandError::Storage(e.to_string()))?;
    let parent = chain_parent(conn, core, direction, tier, Some(body.parent_org_id))?;
    diesel::update(relationships::table.filter(relationships::id.eq(rel)))
        .set(relationships::parent_org_id.eq(parent))
        .execute(conn)?;
    Ok(serde_json::json!({
        "relationship_id": body.relationship_id,
        "direction": direction,
        "tier": tier,
        "parent_org_id": body.parent_org_id,
    }))
}

/// The move `event` makes from the organisation's current status.
fn transition(
    conn: &mut DbConn,
    org: DbId,
    event: OrgEvent,
) -> Result<(OrgKind, OrgStatus), CommandError> {
    let (kind, status) = org_status(conn, org)?.ok_or_else(|| not_found("organisation"))?;
    if kind == OrgKind::PlatformOperator {
        return Err(unprocessable("the platform operator is not onboarded"));
    }
    let next = status.next(event).ok_or_else(|| {
        conflict(format!(
            "an organisation that is {status} cannot {event}; allowed: {}",
            super::model::ORG_TRANSITIONS
                .iter()
                .filter(|(from, _, _)| *from == status)
                .map(|(_, e, _)| e.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    Ok((kind, next))
}

/// Money as declared: not negative, at most two decimals (fen).
fn money(field: &str, v: Decimal) -> Result<DbDecimal, CommandError> {
    if v.is_sign_negative() || v.scale() > 2 || v > Decimal::from(10_i64.pow(15)) {
        return Err(unprocessable(format!(
            "{field} must be a non-negative amount in CNY with at most 2 decimals"
        )));
    }
    Ok(DbDecimal(v))
}

/// `org.register`: the firm declares who it is and its size figures; the
/// size class comes from the rule in force on the entry's date.
pub fn register(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    body: &RegisterBody,
) -> Result<serde_json::Value, CommandError> {
    let (_, next) = transition(conn, org, OrgEvent::Register)?;
    let uscc =
        scf_ledger::uscc::normalise(&body.uscc).map_err(|e| unprocessable(format!("uscc: {e}")))?;
    let name = text("name", &body.name)?;
    let this_year = view.time.as_datetime().date_naive().year_ce().1;
    let this_year = i32::try_from(this_year).unwrap_or(i32::MAX);
    if !(1949..=this_year).contains(&body.figures_year) {
        return Err(unprocessable(format!(
            "figures_year must be a past or current year (1949 to {this_year})"
        )));
    }
    let revenue = money("revenue", body.revenue)?;
    let total_assets = money("total_assets", body.total_assets)?;
    let taken: Option<DbId> = organisations::table
        .filter(organisations::uscc.eq(&uscc))
        .filter(organisations::id.ne(org))
        .select(organisations::id)
        .first(conn)
        .optional()?;
    if taken.is_some() {
        return Err(conflict(
            "another organisation is registered with this USCC; a firm is onboarded once",
        ));
    }
    let rule =
        size_class::rule_in_force(conn, &body.industry, view.time.as_datetime().date_naive())
            .map_err(|e| match e {
                RuleError::UnknownIndustry(_) => unprocessable(format!("industry: {e}")),
                other => CommandError::Storage(other.to_string()),
            })?;
    let class = rule.rule.classify(&Figures {
        headcount: i64::from(body.headcount),
        revenue: body.revenue,
        total_assets: body.total_assets,
    });
    diesel::update(organisations::table.filter(organisations::id.eq(org)))
        .set((
            organisations::uscc.eq(&uscc),
            organisations::name.eq(name),
            organisations::industry.eq(&body.industry),
            organisations::headcount.eq(i32::try_from(body.headcount).unwrap_or(i32::MAX)),
            organisations::revenue.eq(revenue),
            organisations::total_assets.eq(total_assets),
            organisations::figures_year.eq(body.figures_year),
            organisations::size_class.eq(class.as_str()),
            organisations::size_rule_id.eq(rule.id),
            organisations::status.eq(next.as_str()),
            organisations::updated_at.eq(at(view)),
        ))
        .execute(conn)?;
    organisation_value(conn, org)
}

/// `org.kyc`: the platform's review approves a registered firm, or rejects
/// it with a reason it can act on. Approval activates its relationships.
pub fn decide_kyc(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    body: &KycBody,
) -> Result<serde_json::Value, CommandError> {
    let org = DbId::from(body.org_id);
    let (event, reason) = match body.decision {
        Decision::Approve => (OrgEvent::Approve, None),
        Decision::Reject => {
            let reason = body
                .reason
                .as_deref()
                .ok_or_else(|| unprocessable("a rejection needs a reason the firm can act on"))?;
            (OrgEvent::Reject, Some(text("reason", reason)?))
        }
    };
    let (_, next) = transition(conn, org, event)?;
    diesel::update(organisations::table.filter(organisations::id.eq(org)))
        .set((
            organisations::status.eq(next.as_str()),
            organisations::kyc_reason.eq(reason),
            organisations::updated_at.eq(at(view)),
        ))
        .execute(conn)?;
    if next == OrgStatus::Approved {
        let pending = RelStatus::Pending;
        if let Some(active) = pending.next(RelEvent::CounterpartyApproved) {
            diesel::update(
                relationships::table
                    .filter(relationships::counterparty_org_id.eq(org))
                    .filter(relationships::status.eq(pending.as_str())),
            )
            .set(relationships::status.eq(active.as_str()))
            .execute(conn)?;
        }
    }
    organisation_value(conn, org)
}

/// `user.add`: an admin adds a user to its own organisation.
pub fn add_user(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    body: &UserAddBody,
) -> Result<serde_json::Value, CommandError> {
    let user = NewUser {
        user_id: body.user_id,
        name: body.name.clone(),
        public_key: body.public_key.clone(),
    };
    insert_pending_user(conn, view, org, &user, body.role)?;
    Ok(serde_json::json!({ "user_id": body.user_id, "role": body.role }))
}

/// Whether `key` may enrol `user` of `org`: the user exists, has not
/// enrolled yet, and `key` is the one named when the user was created.
pub fn check_enrolment(
    conn: &mut DbConn,
    user: DbId,
    org: DbId,
    key: &PublicKey,
) -> Result<(), CommandError> {
    let pending: Option<Option<Vec<u8>>> = users::table
        .filter(users::id.eq(user))
        .filter(users::org_id.eq(org))
        .filter(users::disabled_at.is_null())
        .select(users::enrol_key)
        .first(conn)
        .optional()?;
    match pending {
        None => Err(not_found("user in that organisation")),
        Some(None) => Err(conflict(
            "this user has enrolled already; add further keys with POST /v1/keys",
        )),
        Some(Some(k)) if k.as_slice() != key.as_bytes() => Err(rejected(
            403,
            "forbidden",
            "this is not the public key named when the user was created",
        )),
        Some(Some(_)) => Ok(()),
    }
}

/// `key.add` by a user who has not enrolled yet: the key must be the one
/// named when the user was created. Consumes the pending key.
pub fn enrol(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    user: DbId,
    org: DbId,
    key: &PublicKey,
) -> Result<(), CommandError> {
    check_enrolment(conn, user, org, key)?;
    diesel::update(users::table.filter(users::id.eq(user)))
        .set(users::enrol_key.eq(None::<Vec<u8>>))
        .execute(conn)?;
    super::bootstrap::insert_signing_key(conn, view, user, org, key)?;
    Ok(())
}

type OrgRow = (
    DbId,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<DbId>,
    Option<i32>,
    Option<DbDecimal>,
    Option<DbDecimal>,
    Option<i32>,
    Option<String>,
    Option<DbId>,
    DbInstant,
    DbInstant,
);

macro_rules! org_columns {
    () => {
        (
            organisations::id,
            organisations::kind,
            organisations::name,
            organisations::status,
            organisations::uscc,
            organisations::industry,
            organisations::size_class,
            organisations::size_rule_id,
            organisations::headcount,
            organisations::revenue,
            organisations::total_assets,
            organisations::figures_year,
            organisations::kyc_reason,
            organisations::onboarded_by,
            organisations::created_at,
            organisations::updated_at,
        )
    };
}

fn to_organisation(r: OrgRow) -> Option<Organisation> {
    Some(Organisation {
        id: r.0.0,
        kind: OrgKind::parse(&r.1)?,
        name: r.2,
        status: OrgStatus::parse(&r.3)?,
        uscc: r.4,
        industry: r.5,
        size_class: r.6.as_deref().and_then(SizeClass::parse),
        size_rule_id: r.7.map(|d| d.0),
        headcount: r.8,
        revenue: r.9.map(|d| d.0.to_string()),
        total_assets: r.10.map(|d| d.0.to_string()),
        figures_year: r.11,
        kyc_reason: r.12,
        onboarded_by: r.13.map(|d| d.0),
        created_at: r.14.to_text(),
        updated_at: r.15.to_text(),
    })
}

pub fn load_organisation(
    conn: &mut DbConn,
    id: DbId,
) -> Result<Option<Organisation>, diesel::result::Error> {
    let row: Option<OrgRow> = organisations::table
        .filter(organisations::id.eq(id))
        .select(org_columns!())
        .first(conn)
        .optional()?;
    Ok(row.and_then(to_organisation))
}

fn organisation_value(conn: &mut DbConn, id: DbId) -> Result<serde_json::Value, CommandError> {
    let org = load_organisation(conn, id)?.ok_or_else(|| not_found("organisation"))?;
    Ok(serde_json::json!({ "organisation": org }))
}

/// Organisations `viewer` may see, after `after` (by id), at most `limit`:
/// the operator sees every one; any other firm itself and its
/// relationships' other sides. `status` filters.
pub fn visible_organisations(
    conn: &mut DbConn,
    viewer_org: DbId,
    viewer_is_operator: bool,
    status: Option<OrgStatus>,
    after: Option<DbId>,
    limit: i64,
) -> Result<Vec<Organisation>, diesel::result::Error> {
    let mut q = organisations::table.select(org_columns!()).into_boxed();
    if !viewer_is_operator {
        let as_core = relationships::table
            .filter(relationships::core_org_id.eq(viewer_org))
            .select(relationships::counterparty_org_id);
        let as_counterparty = relationships::table
            .filter(relationships::counterparty_org_id.eq(viewer_org))
            .select(relationships::core_org_id);
        q = q.filter(
            organisations::id
                .eq(viewer_org)
                .or(organisations::id.eq_any(as_core))
                .or(organisations::id.eq_any(as_counterparty)),
        );
    }
    if let Some(s) = status {
        q = q.filter(organisations::status.eq(s.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(organisations::id.gt(a));
    }
    let rows: Vec<OrgRow> = q.order(organisations::id.asc()).limit(limit).load(conn)?;
    Ok(rows.into_iter().filter_map(to_organisation).collect())
}

/// Whether `viewer_org` may see organisation `id`.
pub fn can_see_organisation(
    conn: &mut DbConn,
    viewer_org: DbId,
    viewer_is_operator: bool,
    id: DbId,
) -> Result<bool, diesel::result::Error> {
    if viewer_is_operator || viewer_org == id {
        return Ok(true);
    }
    let n: i64 = relationships::table
        .filter(
            relationships::core_org_id
                .eq(viewer_org)
                .and(relationships::counterparty_org_id.eq(id))
                .or(relationships::core_org_id
                    .eq(id)
                    .and(relationships::counterparty_org_id.eq(viewer_org))),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Relationships `viewer_org` is a party to (all of them for the operator),
/// after `after` (by id), at most `limit`.
pub fn visible_relationships(
    conn: &mut DbConn,
    viewer_org: DbId,
    viewer_is_operator: bool,
    after: Option<DbId>,
    limit: i64,
) -> Result<Vec<Relationship>, diesel::result::Error> {
    let (core, cp) = diesel::alias!(organisations as core, organisations as cp);
    let mut q = relationships::table
        .inner_join(core.on(core.field(organisations::id).eq(relationships::core_org_id)))
        .inner_join(
            cp.on(cp
                .field(organisations::id)
                .eq(relationships::counterparty_org_id)),
        )
        .select((
            relationships::id,
            relationships::core_org_id,
            core.field(organisations::name),
            relationships::counterparty_org_id,
            cp.field(organisations::name),
            cp.field(organisations::kind),
            cp.field(organisations::status),
            relationships::direction,
            relationships::tier,
            relationships::parent_org_id,
            relationships::status,
            relationships::created_at,
        ))
        .into_boxed();
    // A firm also sees its own suppliers (or distributors): the firms it
    // may pass a certificate to.
    if !viewer_is_operator {
        q = q.filter(
            relationships::core_org_id
                .eq(viewer_org)
                .or(relationships::counterparty_org_id.eq(viewer_org))
                .or(relationships::parent_org_id.eq(viewer_org)),
        );
    }
    if let Some(a) = after {
        q = q.filter(relationships::id.gt(a));
    }
    type Row = (
        DbId,
        DbId,
        String,
        DbId,
        String,
        String,
        String,
        String,
        i32,
        Option<DbId>,
        String,
        DbInstant,
    );
    let rows: Vec<Row> = q.order(relationships::id.asc()).limit(limit).load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Relationship {
                id: r.0.0,
                core_org_id: r.1.0,
                core_org_name: r.2,
                counterparty_org_id: r.3.0,
                counterparty_name: r.4,
                counterparty_kind: OrgKind::parse(&r.5)?,
                counterparty_status: OrgStatus::parse(&r.6)?,
                direction: Direction::parse(&r.7)?,
                tier: r.8,
                parent_org_id: r.9.map(|p| p.0),
                status: RelStatus::parse(&r.10)?,
                created_at: r.11.to_text(),
            })
        })
        .collect())
}

/// A user as its organisation sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// False until the user proved possession of the key named at creation.
    pub enrolled: bool,
    pub disabled: bool,
    pub created_at: String,
}

pub fn org_users(
    conn: &mut DbConn,
    org: DbId,
    after: Option<DbId>,
    limit: i64,
) -> Result<Vec<User>, diesel::result::Error> {
    let mut q = users::table
        .filter(users::org_id.eq(org))
        .select((
            users::id,
            users::name,
            users::role,
            users::enrol_key.is_null(),
            users::disabled_at.is_not_null(),
            users::created_at,
        ))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(users::id.gt(a));
    }
    let rows: Vec<(DbId, String, String, bool, bool, DbInstant)> =
        q.order(users::id.asc()).limit(limit).load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(User {
                id: r.0.0,
                name: r.1,
                role: Role::parse(&r.2)?,
                enrolled: r.3,
                disabled: r.4,
                created_at: r.5.to_text(),
            })
        })
        .collect())
}
