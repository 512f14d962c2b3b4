//! Receivable financing over HTTP: apply, recommend, decide, withdraw,
//! disburse, register, classify, recourse; the financing lists and detail,
//! the funder's registration tasks, and the issuer's clearing of a root
//! certificate. Domain logic lives in `receivables::financing`.

use crate::db::{Db, DbError, DbId};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::IdempotencyHeader;
use crate::ledger::Writer;
use crate::pagination::{Page, PageQuery};
use crate::parties::auth::Principal;
use crate::parties::model::Action;
use crate::receivables::financing::{
    self as fin, ApplyBody, ClearBody, ClearingPreview, DecideBody, DisburseBody, FinancingDetail,
    FinancingRef, FinancingSummary, RecommendBody, RecourseBody, RegisterBody, RegistrationTask,
    RepurchaseBody, TaskState,
};
use crate::receivables::financing_model::FinancingStatus;
use crate::routes::intents::SignedIntent;
use crate::routes::mutation::{Mutation, rejected};
use crate::routes::organisations::{is_operator, permit};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

fn unavailable(e: DbError) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, e.to_string())
}

fn mismatch(what: &str) -> crate::ledger::CommandError {
    rejected(
        422,
        "unprocessable",
        format!("intent.body.{what} must be the one in the path"),
    )
}

/// Apply to finance a certificate you hold.
///
/// The holder (a supplier's admin or maker). The body is a signed
/// `financing.apply` intent whose body is an `ApplyBody`, and whose
/// `assets` **encumber** the certificate's asset key
/// (`payables_certificate`, ledger SPEC §6). The plan and LPR fixing in
/// force on the financing date price it (see `GET /v1/programs/{id}/quote`);
/// the quote is stored with the application and the certificate is locked
/// (no split or transfer) until the application is declined, withdrawn or
/// settled. To finance part of a certificate, split it first.
#[utoipa::path(tag = "financing", operation_id = "apply_financing", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed financing.apply intent; its body is an ApplyBody"),
    responses(
        (status = 201, description = "Applied: the quote and the application", body = Object),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supplier's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate held by you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active, no plan or LPR fixing in force, the asset already encumbered, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, assets, funder, eligibility or terms", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/financings")]
pub async fn apply_financing(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::ApplyFinancing)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "financing.apply",
        |c, view, by, body: ApplyBody| fin::apply(c, view, by.org.into(), by.user.into(), &body),
    )
    .await
}

/// A financing step signed by one party, routed by the financing in the path.
macro_rules! financing_step {
    ($(#[$doc:meta])* $name:ident, $path:literal, $op:literal, $kind:literal, $action:expr,
     $body:ty, $domain:path, $desc:literal, $who:literal, $conflict:literal) => {
        $(#[$doc])*
        #[utoipa::path(tag = "financing", operation_id = $op, security(("bearer" = [])),
            params(("id" = String, Path, format = Uuid, description = "The financing"), IdempotencyHeader),
            request_body(content = SignedIntent, description = $desc),
            responses(
                (status = 200, description = "Recorded; the financing's new state", body = Object),
                (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
                (status = 403, description = $who, body = crate::error::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such financing visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
                (status = 409, description = $conflict, body = crate::error::Problem, content_type = "application/problem+json"),
                (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
            ))]
        #[post($path)]
        pub async fn $name(
            m: Mutation,
            path: web::Path<Uuid>,
            body: web::Bytes,
        ) -> Result<HttpResponse, ApiError> {
            let id = path.into_inner();
            permit(&m.who, $action)?;
            m.business(&body, StatusCode::OK, $kind, move |c, view, by, body: $body| {
                if body.financing_id != id {
                    return Err(mismatch("financing_id"));
                }
                $domain(c, view, by.org.into(), by.user.into(), &body)
            })
            .await
        }
    };
}

financing_step!(
    /// The funder's analyst recommends approval or decline.
    ///
    /// A signed `financing.recommend` intent whose body is a `RecommendBody`
    /// (`verdict`: approve or decline, and a note).
    recommend_financing, "/financings/{id}/recommendation", "recommend_financing",
    "financing.recommend", Action::RecommendFinancing, RecommendBody, fin::recommend,
    "A signed financing.recommend intent; its body is a RecommendBody",
    "Not the funder's admin or maker", "Not awaiting a recommendation, or a replay"
);

financing_step!(
    /// The funder's approver decides.
    ///
    /// A signed `financing.decide` intent whose body is a `DecideBody`, by
    /// another person than the analyst. Approval checks the program limit,
    /// the funder's line and the counterparty limit of the plan in force
    /// atomically (advances of approved, disbursed and recourse financings)
    /// and records the 普惠型小微 and 首贷户 flags. A decline must
    /// **release** the certificate's asset key in the intent's `assets`
    /// and unlocks the certificate.
    decide_financing, "/financings/{id}/decision", "decide_financing",
    "financing.decide", Action::DecideFinancing, DecideBody, fin::decide,
    "A signed financing.decide intent; its body is a DecideBody",
    "Not the funder's admin or checker, or the analyst who recommended",
    "Not recommended yet, a limit would be exceeded, or a replay"
);

financing_step!(
    /// The applicant withdraws its application before the decision.
    ///
    /// A signed `financing.withdraw` intent whose body is a `FinancingRef`
    /// and whose `assets` **release** the certificate's asset key.
    withdraw_financing, "/financings/{id}/withdrawal", "withdraw_financing",
    "financing.withdraw", Action::ApplyFinancing, FinancingRef, fin::withdraw,
    "A signed financing.withdraw intent; its body is a FinancingRef",
    "Not the supplier's admin or maker", "Decided already, or a replay"
);

financing_step!(
    /// The funder disburses the net proceeds.
    ///
    /// A signed `financing.disburse` intent whose body is a `DisburseBody`:
    /// paid on the quote's financing date, only to a verified settlement
    /// account of the applicant. The certificate passes to the funder with
    /// a notice of assignment to the issuer, and the 中登网 registration
    /// task opens, due the dated number of days later.
    disburse_financing, "/financings/{id}/disbursement", "disburse_financing",
    "financing.disburse", Action::DecideFinancing, DisburseBody, fin::disburse,
    "A signed financing.disburse intent; its body is a DisburseBody",
    "Not the funder's admin or checker",
    "Not approved, not the quote's financing date, the account not verified, or a replay"
);

financing_step!(
    /// The funder records the 中登网 registration of the assignment.
    ///
    /// A signed `financing.register` intent whose body is a `RegisterBody`
    /// (registration number and the SHA-256 of the registration document).
    register_financing, "/financings/{id}/registration", "register_financing",
    "financing.register", Action::RecommendFinancing, RegisterBody, fin::register,
    "A signed financing.register intent; its body is a RegisterBody",
    "Not the funder's admin or maker", "Not disbursed, recorded already, or a replay"
);

financing_step!(
    /// The funder classifies an outstanding financing as of today.
    ///
    /// A signed `financing.classify` intent whose body is a `FinancingRef`:
    /// days past due after the plan's grace days give the floor (正常, 关注
    /// from 1 day, 次级 after 90, 可疑 after 270, 损失 after 360).
    classify_financing, "/financings/{id}/classification", "classify_financing",
    "financing.classify", Action::DecideFinancing, FinancingRef, fin::classify,
    "A signed financing.classify intent; its body is a FinancingRef",
    "Not the funder's admin or checker", "Not outstanding, or a replay"
);

financing_step!(
    /// The funder turns to the supplier for an overdue financing.
    ///
    /// A signed `financing.recourse` intent whose body is a `RecourseBody`;
    /// only under a plan with recourse and once past due. The answer names
    /// the claim (face, penalty and compound interest to date).
    recourse_financing, "/financings/{id}/recourse", "recourse_financing",
    "financing.recourse", Action::DecideFinancing, RecourseBody, fin::recourse,
    "A signed financing.recourse intent; its body is a RecourseBody",
    "Not the funder's admin or checker",
    "Without recourse, not past due, not disbursed, or a replay"
);

financing_step!(
    /// After recourse, the supplier repurchases: it pays the funder's claim.
    ///
    /// A signed `financing.repurchase` intent whose body is a
    /// `RepurchaseBody` (the claim as of today: financed face value plus
    /// penalty and compound interest, as `overdue.total_due` in the detail
    /// shows) and whose `assets` **release** the certificate's asset key.
    /// The certificate comes back to the supplier, active; the issuer's
    /// eventual payment clears it to the supplier.
    repurchase_financing, "/financings/{id}/repurchase", "repurchase_financing",
    "financing.repurchase", Action::ApplyFinancing, RepurchaseBody, fin::repurchase,
    "A signed financing.repurchase intent; its body is a RepurchaseBody",
    "Not the supplier's admin or maker",
    "Not under recourse, or a replay"
);

financing_step!(
    /// The applicant settles a disbursed financing early (随借随还).
    ///
    /// A signed `financing.settle_early` intent whose body is a
    /// `FinancingRef` and whose `assets` **release** the certificate's asset
    /// key; only under a plan with `early_settlement` and before maturity.
    /// Interest is kept to the day: the unearned discount interest is
    /// refunded (`settlement.refund`), the supplier repays the advance less
    /// its share of it (`repaid`), and the certificate comes back to the
    /// supplier, active.
    settle_financing_early, "/financings/{id}/early-settlement", "settle_financing_early",
    "financing.settle_early", Action::ApplyFinancing, FinancingRef, fin::settle_early,
    "A signed financing.settle_early intent; its body is a FinancingRef",
    "Not the supplier's admin or maker",
    "Not disbursed, the plan does not allow early settlement, on or after maturity, or a replay"
);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FinancingFilter {
    /// Only financings in this status.
    #[param(value_type = Option<FinancingStatus>)]
    pub status: Option<FinancingStatus>,
}

/// Financings you are a party to.
///
/// The applicant sees its applications, the funder its queue (filter
/// `status=recommended` for what awaits a decision), the core firm those
/// against its program, the operator all. Ordered by id; `Accept: text/csv`
/// exports the page as CSV.
#[utoipa::path(tag = "financing", operation_id = "list_financings", security(("bearer" = [])),
    params(PageQuery, FinancingFilter),
    responses(
        (status = 200, description = "One page of financings", body = Page<FinancingSummary>),
        (status = 400, description = "Bad limit, cursor or filter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/financings")]
pub async fn list_financings(
    http: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    page: web::Query<PageQuery>,
    filter: web::Query<FinancingFilter>,
) -> Result<HttpResponse, ApiError> {
    let req = page.request::<Uuid>("financings")?;
    let (org, op, after, fetch, status) = (
        DbId::from(who.org_id),
        is_operator(&who),
        req.after,
        req.fetch_limit(),
        filter.status,
    );
    let items = db
        .run(move |c| -> Result<_, crate::ledger::CommandError> {
            let rows = fin::visible(c, org, op, status, after.map(DbId::from), fetch)?;
            fin::summaries(c, &rows)
        })
        .await
        .map_err(ApiError::from)?;
    crate::listing::page(&http, Page::from_rows(&req, items, |r| r.financing_id)?)
}

/// One financing, with everything its parties need to act.
///
/// The quote, each step with who signed it, the flags and classification,
/// the registration task, the cash movements and, once past maturity and
/// not settled, days past due and penalty interest as of today. The
/// funder (and the operator) also get `decision`: the certificate's issuer
/// and maturity, and the program limit, its funder line and the applicant's
/// counterparty limit as other financings use them now, with whether this
/// advance fits. List rows carry the applicant's name, size class and tier
/// and the issuer's name for triage.
#[utoipa::path(tag = "financing", operation_id = "get_financing", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The financing", body = FinancingDetail),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such financing visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/financings/{id}")]
pub async fn get_financing(
    who: Principal,
    db: web::Data<Db>,
    writer: web::Data<Writer>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (org, op, on) = (
        DbId::from(who.org_id),
        is_operator(&who),
        writer.clock().today(),
    );
    let found = db
        .run(move |c| -> Result<_, crate::ledger::CommandError> {
            match fin::load(c, id)? {
                Some(row) if fin::can_see(&row, org, op) => {
                    let for_decision = op || row.funder_org_id == org;
                    Ok(Some(fin::detail(c, &row, on, for_decision)?))
                }
                _ => Ok(None),
            }
        })
        .await
        .map_err(ApiError::from)?;
    found
        .map(|d| HttpResponse::Ok().json(d))
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such financing visible to you"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// open, overdue (open past its due date) or done.
    #[param(value_type = Option<TaskState>)]
    pub state: Option<TaskState>,
}

/// Your 中登网 registration tasks.
///
/// A funder's tasks (the operator: all), by financing id; `state=overdue`
/// lists the open ones past their due date. `Accept: text/csv` exports the
/// page as CSV.
#[utoipa::path(tag = "financing", operation_id = "list_registration_tasks", security(("bearer" = [])),
    params(PageQuery, TaskFilter),
    responses(
        (status = 200, description = "One page of tasks", body = Page<RegistrationTask>),
        (status = 400, description = "Bad limit, cursor or filter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/registration-tasks")]
pub async fn list_registration_tasks(
    http: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    writer: web::Data<Writer>,
    page: web::Query<PageQuery>,
    filter: web::Query<TaskFilter>,
) -> Result<HttpResponse, ApiError> {
    let req = page.request::<Uuid>("registration-tasks")?;
    let (org, op, after, fetch, state, on) = (
        DbId::from(who.org_id),
        is_operator(&who),
        req.after,
        req.fetch_limit(),
        filter.state,
        writer.clock().today(),
    );
    let rows = db
        .run(move |c| {
            fin::tasks(c, org, op, state, on, after.map(DbId::from), fetch).map_err(DbError::from)
        })
        .await
        .map_err(unavailable)?;
    crate::listing::page(&http, Page::from_rows(&req, rows, |r| r.financing_id)?)
}

/// What paying a root certificate would pay out now.
///
/// The issuer (or the operator). Every part of the root (not split, not
/// settled) with its current holder and share of the face value, and the
/// asset keys of financed parts the clearing intent must release. Sign
/// exactly these payouts in `certificate.clear`.
#[utoipa::path(tag = "financing", operation_id = "clearing_preview", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The root certificate")),
    responses(
        (status = 200, description = "The payouts", body = ClearingPreview),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such root certificate issued by you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing left to clear", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/certificates/{id}/clearing")]
pub async fn clearing_preview(
    who: Principal,
    db: web::Data<Db>,
    writer: web::Data<Writer>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (org, op, on) = (
        DbId::from(who.org_id),
        is_operator(&who),
        writer.clock().today(),
    );
    let found = db
        .run(move |c| -> Result<_, crate::ledger::CommandError> {
            match crate::receivables::certificates::load(c, id)? {
                Some(root) if root.id == root.root_id && (op || root.core_org_id == org) => {
                    Ok(Some(fin::preview(c, &root, on)?))
                }
                _ => Ok(None),
            }
        })
        .await
        .map_err(ApiError::from)?;
    found.map(|p| HttpResponse::Ok().json(p)).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "no such root certificate issued by you",
        )
    })
}

/// Pay a root certificate into clearing.
///
/// The issuer's checker or admin. A signed `certificate.clear` intent whose
/// body is a `ClearBody`: the face value and exactly the payouts of
/// `GET /v1/certificates/{id}/clearing`, with `assets` releasing the
/// financed parts' keys. Every holder is paid pro rata to its part
/// (largest remainder to the fen: the payouts add up to the face value),
/// the parts and their financings settle.
#[utoipa::path(tag = "financing", operation_id = "clear_certificate", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The root certificate"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed certificate.clear intent; its body is a ClearBody"),
    responses(
        (status = 200, description = "Cleared: the payouts and the financings settled", body = Object),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the core firm's admin or checker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such root certificate issued by you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A part is locked by an undisbursed financing, nothing to clear, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, amount, payouts or assets", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/certificates/{id}/clearing")]
pub async fn clear_certificate(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    permit(&m.who, Action::ClearCertificate)?;
    m.business(
        &body,
        StatusCode::OK,
        "certificate.clear",
        move |c, view, by, body: ClearBody| {
            if body.root_id != id {
                return Err(mismatch("root_id"));
            }
            fin::clear(c, view, by.org.into(), by.user.into(), &body)
        },
    )
    .await
}
