//! Organisations: onboarding by the operator, registration by the firm,
//! KYC decisions, and reads limited to what the caller may see.

use crate::db::{DbError, DbId};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::IdempotencyHeader;
use crate::pagination::{Page, PageQuery};
use crate::parties::auth::Principal;
use crate::parties::model::{Action, OrgKind, Role};
use crate::parties::onboarding::{self, KycBody, OnboardBody, Organisation, RegisterBody};
use crate::routes::intents::SignedIntent;
use crate::routes::mutation::{Mutation, Receipt, rejected};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

/// Refuses a caller whose kind or role may not take `action`.
pub fn permit(who: &Principal, action: Action) -> Result<(), ApiError> {
    let kind = OrgKind::parse(&who.org_kind);
    let role = Role::parse(&who.role);
    match (kind, role) {
        (Some(k), Some(r)) if action.permits(k, r) => Ok(()),
        _ => {
            let (kinds, roles) = action.allowed();
            let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            let kinds = kinds.map_or_else(
                || "your organisation".to_owned(),
                |k| {
                    k.iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                },
            );
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "this needs the role {} in a {kinds}; you are {} of a {}",
                    roles.join(" or "),
                    who.role,
                    who.org_kind
                ),
            ))
        }
    }
}

pub fn is_operator(who: &Principal) -> bool {
    who.org_kind == OrgKind::PlatformOperator.as_str()
}

fn unavailable(e: DbError) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, e.to_string())
}

fn no_such_org() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such organisation visible to you")
}

/// 404 unless the caller may see organisation `id`; hides whether it exists.
pub async fn visible(m: &Mutation, id: uuid::Uuid) -> Result<(), ApiError> {
    let (org, op) = (DbId::from(m.who.org_id), is_operator(&m.who));
    let seen = m
        .db()
        .run(move |c| {
            onboarding::can_see_organisation(c, org, op, id.into()).map_err(DbError::from)
        })
        .await
        .map_err(unavailable)?;
    if seen { Ok(()) } else { Err(no_such_org()) }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Onboarded {
    #[schema(value_type = String, format = Uuid)]
    pub org_id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub admin_user_id: uuid::Uuid,
    pub status: crate::parties::model::OrgStatus,
    pub receipt: Receipt,
}

/// Onboard a core enterprise, funder, warehouse or logistics firm.
///
/// Platform operator, role admin or maker. The body is a signed
/// `org.onboard` intent of the operator's organisation whose body is an
/// `OnboardBody`: the new organisation's id, kind and name, and its first
/// admin (user id, name, and the public key that admin made with
/// `scf keygen`). The admin then enrols (POST /v1/enrolments), logs in
/// (POST /v1/tokens) and registers the firm.
#[utoipa::path(tag = "organisations", operation_id = "onboard_organisation", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed org.onboard intent; its body is an OnboardBody"),
    responses(
        (status = 201, description = "Onboarded, awaiting registration", body = Onboarded),
        (status = 403, description = "Not the operator's admin or maker, or not your own key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Replayed intent, an id or key already used, or the same Idempotency-Key still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/organisations")]
pub async fn onboard_organisation(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::OnboardOrg)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "org.onboard",
        move |c, view, by, body: OnboardBody| onboarding::onboard(c, view, by.org.into(), &body),
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationChanged {
    pub organisation: Organisation,
    pub receipt: Receipt,
}

/// Register your organisation: identity and size figures.
///
/// An admin of organisation `{id}` itself. The body is a signed
/// `org.register` intent of that organisation whose body is a
/// `RegisterBody`: USCC (GB 32100, with its check character), name,
/// industry, headcount, revenue and total assets in CNY (decimal strings),
/// and the year of the figures. The size class is computed from the dated
/// rule in force, and the firm goes to KYC review (`kyc_pending`). A
/// rejected firm corrects its data and registers again.
#[utoipa::path(tag = "organisations", operation_id = "register_organisation", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "Your organisation's id"),
        IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed org.register intent; its body is a RegisterBody"),
    responses(
        (status = 200, description = "Registered; awaiting KYC review", body = OrganisationChanged),
        (status = 403, description = "Not an admin of this organisation", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting registration, USCC taken, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature, USCC, industry or figures", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/organisations/{id}/registration")]
pub async fn register_organisation(
    m: Mutation,
    path: web::Path<uuid::Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    if id != m.who.org_id {
        visible(&m, id).await?;
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "a firm registers itself: only an admin of that organisation may",
        ));
    }
    permit(&m.who, Action::Register)?;
    m.business(
        &body,
        StatusCode::OK,
        "org.register",
        move |c, view, by, body: RegisterBody| onboarding::register(c, view, by.org.into(), &body),
    )
    .await
}

/// Decide a KYC review: approve, or reject with a reason.
///
/// Platform operator, role admin or checker. The body is a signed `org.kyc`
/// intent of the operator's organisation whose body is a `KycBody` with
/// `org_id` equal to `{id}`. Approval activates the firm's pending
/// relationships.
#[utoipa::path(tag = "organisations", operation_id = "decide_kyc", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organisation under review"),
        IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed org.kyc intent; its body is a KycBody"),
    responses(
        (status = 200, description = "Decided", body = OrganisationChanged),
        (status = 403, description = "Not the operator's admin or checker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting review, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body (a rejection needs a reason)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/organisations/{id}/kyc")]
pub async fn decide_kyc(
    m: Mutation,
    path: web::Path<uuid::Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(&m, id).await?;
    permit(&m.who, Action::DecideKyc)?;
    m.business(
        &body,
        StatusCode::OK,
        "org.kyc",
        move |c, view, _, body: KycBody| {
            if body.org_id != id {
                return Err(rejected(
                    422,
                    "unprocessable",
                    "intent.body.org_id must be the organisation in the path",
                ));
            }
            onboarding::decide_kyc(c, view, &body)
        },
    )
    .await
}

/// One organisation.
///
/// Your own, one you have a relationship with, or (platform operator) any.
#[utoipa::path(tag = "organisations", operation_id = "get_organisation", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The organisation", body = Organisation),
        (status = 404, description = "No such organisation visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/organisations/{id}")]
pub async fn get_organisation(
    who: Principal,
    db: web::Data<crate::db::Db>,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = DbId::from(path.into_inner());
    let (org, op) = (DbId::from(who.org_id), is_operator(&who));
    let found = db
        .run(move |c| -> Result<Option<Organisation>, DbError> {
            if !onboarding::can_see_organisation(c, org, op, id)? {
                return Ok(None);
            }
            Ok(onboarding::load_organisation(c, id)?)
        })
        .await
        .map_err(unavailable)?;
    found
        .map(|o| HttpResponse::Ok().json(o))
        .ok_or_else(no_such_org)
}

/// A dated size-class rule row.
#[derive(Debug, Serialize, ToSchema)]
pub struct SizeClassRule {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub industry: String,
    /// `YYYY-MM-DD`: the rule applies to registrations from this date until
    /// a later version of the same industry takes effect.
    pub effective_from: String,
    pub version: i32,
    /// Bounds in 万元 (10,000 CNY) and persons; see the source.
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
    pub source: String,
}

type RuleRow = (DbId, String, chrono::NaiveDate, i32, String, String);

/// The SME size-class rules, every version.
///
/// Public reference data: the industries a registration may name and the
/// bounds that decide micro, small, medium and large.
#[utoipa::path(tag = "organisations", operation_id = "list_size_class_rules",
    responses((status = 200, description = "Every rule row, by industry and version", body = Vec<SizeClassRule>)))]
#[get("/size-class-rules")]
pub async fn list_size_class_rules(db: web::Data<crate::db::Db>) -> Result<HttpResponse, ApiError> {
    use crate::db::schema::size_class_rules as r;
    use diesel::prelude::*;
    let rows = db
        .run(|c| -> Result<Vec<RuleRow>, DbError> {
            Ok(r::table
                .order((r::industry.asc(), r::version.asc()))
                .select((
                    r::id,
                    r::industry,
                    r::effective_from,
                    r::version,
                    r::rule,
                    r::source,
                ))
                .load(c)?)
        })
        .await
        .map_err(unavailable)?;
    let out: Vec<SizeClassRule> = rows
        .into_iter()
        .map(
            |(id, industry, from, version, rule, source)| SizeClassRule {
                id: id.0,
                industry,
                effective_from: from.to_string(),
                version,
                rule: serde_json::from_str(&rule).unwrap_or_default(),
                source,
            },
        )
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgFilter {
    /// Only organisations in this onboarding status (`kyc_pending` is the
    /// review queue).
    pub status: Option<crate::parties::model::OrgStatus>,
}

/// Organisations you may see.
///
/// The platform operator sees every organisation; any other firm sees
/// itself and the other side of each of its relationships. Ordered by id.
/// `Accept: text/csv` exports the page as CSV.
#[utoipa::path(tag = "organisations", operation_id = "list_organisations", security(("bearer" = [])),
    params(OrgFilter, PageQuery),
    responses(
        (status = 200, description = "One page of organisations", body = Page<Organisation>),
        (status = 400, description = "Bad limit, cursor or status", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/organisations")]
pub async fn list_organisations(
    req: actix_web::HttpRequest,
    who: Principal,
    db: web::Data<crate::db::Db>,
    filter: web::Query<OrgFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = filter.status;
    let scope = format!("organisations?status={}", status.map_or("", |s| s.as_str()));
    let paging = page.request::<uuid::Uuid>(&scope)?;
    let (org, op, after, fetch) = (
        DbId::from(who.org_id),
        is_operator(&who),
        paging.after,
        paging.fetch_limit(),
    );
    let rows = db
        .run(move |c| {
            onboarding::visible_organisations(c, org, op, status, after.map(DbId::from), fetch)
                .map_err(DbError::from)
        })
        .await
        .map_err(unavailable)?;
    let page = Page::from_rows(&paging, rows, |o| o.id)?;
    crate::listing::page(&req, page)
}
