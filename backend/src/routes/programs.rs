//! 一企一策 programs: the core enterprise's program, its versioned plan,
//! approvals by the core firm and its funders, and reads for the parties.

use crate::db::{Db, DbError, DbId};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::IdempotencyHeader;
use crate::parties::auth::Principal;
use crate::parties::model::Action;
use crate::programs::plan::{self, ApproveBody, Change, CreateBody, DraftBody, PlanVersion};
use crate::routes::intents::SignedIntent;
use crate::routes::mutation::{Mutation, rejected};
use crate::routes::organisations::{is_operator, permit};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn unavailable(e: DbError) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, e.to_string())
}

fn no_such_program() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such program visible to you")
}

/// 404 unless the caller may read the program.
async fn visible(db: &Db, who: &Principal, program: Uuid) -> Result<(), ApiError> {
    let (org, op) = (DbId::from(who.org_id), is_operator(who));
    let seen = db
        .run(move |c| plan::can_see(c, org, op, program).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    if seen { Ok(()) } else { Err(no_such_program()) }
}

/// Create your program.
///
/// A core enterprise that passed KYC, role admin or maker; one program per
/// core enterprise. The body is a signed `program.create` intent of your
/// organisation whose body is a `CreateBody`.
#[utoipa::path(tag = "programs", operation_id = "create_program", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed program.create intent; its body is a CreateBody"),
    responses(
        (status = 201, description = "Created", body = Object),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a core enterprise's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "KYC not passed, a program exists, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/programs")]
pub async fn create_program(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::DraftPlan)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "program.create",
        |c, view, by, body: CreateBody| plan::create(c, view, by.org.into(), &body),
    )
    .await
}

/// Draft a new plan version.
///
/// The program's core enterprise, role admin or maker. The body is a signed
/// `program.plan_draft` intent whose body is a `DraftBody` with
/// `program_id` equal to `{id}`: the plan document and the date it is to
/// take effect. The plan is checked (limits, funders that passed KYC,
/// eligibility, advance rate, fees from the whitelist and none forbidden
/// for small firms, tenor within the dated cap, penalty uplift 30–50 %);
/// the version then waits for the approval of the core firm and of every
/// funder it names.
#[utoipa::path(tag = "programs", operation_id = "draft_plan", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The program"),
        IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed program.plan_draft intent; its body is a DraftBody"),
    responses(
        (status = 201, description = "Drafted: version, digest and who must approve", body = Object),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the core enterprise's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or plan", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/programs/{id}/plans")]
pub async fn draft_plan(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(m.db(), &m.who, id).await?;
    permit(&m.who, Action::DraftPlan)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "program.plan_draft",
        move |c, view, by, body: DraftBody| {
            if body.program_id != id {
                return Err(rejected(
                    422,
                    "unprocessable",
                    "intent.body.program_id must be the program in the path",
                ));
            }
            plan::draft(c, view, by.org.into(), by.user.into(), &body)
        },
    )
    .await
}

/// Approve a plan version.
///
/// The core enterprise's checker (or admin), or the approver (checker or
/// admin) of a funder the version names. The body is a signed
/// `program.plan_approve` intent whose body is an `ApproveBody`: program,
/// version, and the version's digest. When the core firm and every named
/// funder have approved, the version is `approved` and governs from its
/// `effective_from`.
#[utoipa::path(tag = "programs", operation_id = "approve_plan", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The program"),
        ("version" = i32, Path, description = "The plan version"),
        IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed program.plan_approve intent; its body is an ApproveBody"),
    responses(
        (status = 200, description = "Approval recorded; the status and who is still awaited", body = Object),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a checker or admin of the core firm or a named funder", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program or version visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Digest mismatch, not a draft, already approved by you, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/programs/{id}/plans/{version}/approval")]
pub async fn approve_plan(
    m: Mutation,
    path: web::Path<(Uuid, i32)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = path.into_inner();
    visible(m.db(), &m.who, id).await?;
    permit(&m.who, Action::ApprovePlan)?;
    m.business(
        &body,
        StatusCode::OK,
        "program.plan_approve",
        move |c, view, by, body: ApproveBody| {
            if body.program_id != id || body.version != version {
                return Err(rejected(
                    422,
                    "unprocessable",
                    "intent.body program_id and version must be those in the path",
                ));
            }
            plan::approve(c, view, by.org.into(), by.user.into(), &body)
        },
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanVersions {
    pub items: Vec<PlanVersion>,
}

/// Every version of a program's plan, oldest first.
///
/// The core enterprise, a funder named by any version, or the operator.
/// Old versions stay readable. `Accept: text/csv` exports them as CSV
/// (the plan and the approvals as JSON text).
#[utoipa::path(tag = "programs", operation_id = "list_plans", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The versions", body = PlanVersions),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/programs/{id}/plans")]
pub async fn list_plans(
    req: actix_web::HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(&db, &who, id).await?;
    let items = db
        .run(move |c| plan::versions(c, id).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    crate::listing::items(&req, items, |items| PlanVersions { items })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnQuery {
    /// `YYYY-MM-DD`; the platform's today (UTC) when absent.
    #[param(value_type = Option<String>, format = Date)]
    pub on: Option<NaiveDate>,
}

/// The plan version in force on a date.
#[utoipa::path(tag = "programs", operation_id = "plan_in_force", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), OnQuery),
    responses(
        (status = 200, description = "The approved version in force", body = PlanVersion),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program visible to you, or none in force then", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/programs/{id}/plan")]
pub async fn plan_in_force(
    who: Principal,
    db: web::Data<Db>,
    writer: web::Data<crate::ledger::Writer>,
    path: web::Path<Uuid>,
    q: web::Query<OnQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(&db, &who, id).await?;
    let on = q.on.unwrap_or_else(|| writer.clock().today());
    let found = db
        .run(move |c| plan::in_force(c, id, on).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    found.map(|v| HttpResponse::Ok().json(v)).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no approved plan in force on {on}"),
        )
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    pub from: i32,
    pub to: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDiff {
    pub from: i32,
    pub to: i32,
    /// Each changed member as a JSON Pointer with its old and new value.
    pub changes: Vec<Change>,
}

/// What changed between two plan versions.
#[utoipa::path(tag = "programs", operation_id = "diff_plans", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), DiffQuery),
    responses(
        (status = 200, description = "The changes from one version to the other", body = PlanDiff),
        (status = 400, description = "from or to missing", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program or version visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/programs/{id}/plans/diff")]
pub async fn diff_plans(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<Uuid>,
    q: web::Query<DiffQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(&db, &who, id).await?;
    let (from, to) = (q.from, q.to);
    let pair = db
        .run(move |c| -> Result<_, DbError> {
            Ok((plan::version(c, id, from)?, plan::version(c, id, to)?))
        })
        .await
        .map_err(unavailable)?;
    match pair {
        (Some(a), Some(b)) => Ok(HttpResponse::Ok().json(PlanDiff {
            from,
            to,
            changes: plan::diff(&a.plan, &b.plan),
        })),
        _ => Err(ApiError::new(ErrorCode::NotFound, "no such plan version")),
    }
}

/// One plan version.
#[utoipa::path(tag = "programs", operation_id = "get_plan", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), ("version" = i32, Path)),
    responses(
        (status = 200, description = "The version, its digest and approvals", body = PlanVersion),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program or version visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/programs/{id}/plans/{version}")]
pub async fn get_plan(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(Uuid, i32)>,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = path.into_inner();
    visible(&db, &who, id).await?;
    let found = db
        .run(move |c| plan::version(c, id, version).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    found
        .map(|v| HttpResponse::Ok().json(v))
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such plan version"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteQuery {
    /// The face amount to finance, CNY, a decimal string (at most 2 decimals).
    #[param(value_type = String, example = "1000000.00")]
    pub face_amount: String,
    /// Disbursement date, `YYYY-MM-DD` (interest counts from it).
    #[param(value_type = String, format = Date)]
    pub financing_date: NaiveDate,
    /// The certificate's maturity, `YYYY-MM-DD` (not counted).
    #[param(value_type = String, format = Date)]
    pub maturity_date: NaiveDate,
    /// The financed firm's size class.
    #[param(value_type = crate::parties::model::SizeClass)]
    pub size_class: crate::parties::model::SizeClass,
}

/// Price financing under the program's terms, before anything is signed.
///
/// The program's parties and the core enterprise's active counterparties.
/// The quote applies the plan version in force on the financing date and
/// the LPR fixing in force then (refused when the newest fixing is stale),
/// and returns the advance, the discount interest (ACT/360, start day
/// counted, end day not), each fee with its payer, the net proceeds, the
/// 年化利率 as an XIRR over the supplier's cash flows, and the total-cost
/// breakdown, naming the plan version and the fixing it used.
#[utoipa::path(tag = "programs", operation_id = "quote", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), QuoteQuery),
    responses(
        (status = 200, description = "The quote", body = crate::programs::quote::Quote),
        (status = 400, description = "A parameter is missing or malformed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No plan or no current LPR fixing in force on the financing date", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Outside the plan's terms (tenor, size class, fees) or not priceable", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/programs/{id}/quote")]
pub async fn quote(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<Uuid>,
    q: web::Query<QuoteQuery>,
) -> Result<HttpResponse, ApiError> {
    use crate::programs::quote::{QuoteError, QuoteInput, quote};
    let id = path.into_inner();
    let (org, op) = (DbId::from(who.org_id), is_operator(&who));
    let face = q
        .face_amount
        .parse::<rust_decimal::Decimal>()
        .ok()
        .and_then(|d| crate::pricing::money::Money::new(d).ok())
        .filter(|m| m.amount() > rust_decimal::Decimal::ZERO);
    let input = face.map(|face| QuoteInput {
        face_amount: face,
        financing_date: q.financing_date,
        maturity_date: q.maturity_date,
        supplier_size: q.size_class,
    });
    // One trip to the blocking pool: the visibility check, then the quote.
    let result = db
        .run(move |c| -> Result<_, DbError> {
            if !plan::can_quote(c, org, op, id)? {
                return Ok(None);
            }
            Ok(Some(input.map(|input| quote(c, id, &input))))
        })
        .await
        .map_err(unavailable)?
        .ok_or_else(no_such_program)?
        .ok_or_else(|| {
            ApiError::bad_request(
                "face_amount must be a positive CNY amount with at most 2 decimals",
            )
        })?;
    match result {
        Ok(q) => Ok(HttpResponse::Ok().json(q)),
        Err(
            e @ (QuoteError::NoPlan(_) | QuoteError::NoFixing(..) | QuoteError::StaleFixing { .. }),
        ) => Err(ApiError::new(ErrorCode::Conflict, e.to_string())),
        Err(e @ (QuoteError::Terms(_) | QuoteError::Pricing(_))) => {
            Err(ApiError::new(ErrorCode::Unprocessable, e.to_string()))
        }
        Err(QuoteError::Db(e)) => Err(unavailable(DbError::from(e))),
    }
}
