//! Settlement bank accounts: added by the holder, verified by the platform
//! operator, revoked by the holder; seen only by the holder and the
//! operator.

use crate::db::{Db, DbError, DbId};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::IdempotencyHeader;
use crate::listing;
use crate::pagination::{Page, PageQuery};
use crate::parties::accounts::{self, Account, AddBody, RevokeBody, VerifyBody};
use crate::parties::auth::Principal;
use crate::parties::model::{AccountStatus, Action};
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

fn no_such_account() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such settlement account visible to you",
    )
}

/// The account if the caller may see it (its holder or the operator);
/// otherwise 404, whether or not it exists.
async fn visible(db: &Db, who: &Principal, id: Uuid) -> Result<Account, ApiError> {
    let (org, op) = (DbId::from(who.org_id), is_operator(who));
    let row = db
        .run(move |c| accounts::load(c, id.into()).map_err(DbError::from))
        .await
        .map_err(unavailable)?
        .filter(|r| op || r.org_id == org)
        .ok_or_else(no_such_account)?;
    Ok(Account::view(row, true))
}

fn path_mismatch() -> crate::ledger::CommandError {
    rejected(
        422,
        "unprocessable",
        "intent.body.account_id must be the account in the path",
    )
}

/// Add a settlement bank account.
///
/// An admin of an organisation that passed KYC. The body is a signed
/// `account.add` intent of your organisation whose body is an `AddBody`:
/// a new account id, bank, branch, account number (8 to 32 digits),
/// account name (exactly your registered name) and currency (`CNY`). The
/// account is `pending` until the platform operator verifies it; financing
/// is paid only into a verified account.
#[utoipa::path(tag = "accounts", operation_id = "add_account", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed account.add intent; its body is an AddBody"),
    responses(
        (status = 201, description = "Added, pending verification", body = Object),
        (status = 403, description = "Not an admin of your organisation, or not your own key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "KYC not passed, the account is registered already, the id is taken, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature, account number, currency, or a name other than your registered one", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/accounts")]
pub async fn add_account(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::ManageAccount)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "account.add",
        |c, view, by, body: AddBody| accounts::add(c, view, by.org.into(), by.user.into(), &body),
    )
    .await
}

/// Verify or reject a settlement account.
///
/// The platform operator, role admin or checker, not the user who added
/// the account. The body is a signed `account.verify` intent of the
/// operator's organisation whose body is a `VerifyBody` with `account_id`
/// equal to `{id}`: the outcome (`verified` or `rejected`) and a reason
/// (required for a rejection). Only a `pending` account is decided.
#[utoipa::path(tag = "accounts", operation_id = "verify_account", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The account"),
        IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed account.verify intent; its body is a VerifyBody"),
    responses(
        (status = 200, description = "Decided", body = Object),
        (status = 403, description = "Not the operator's admin or checker, or the user who added it", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not pending, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body (a rejection needs a reason)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/accounts/{id}/verification")]
pub async fn verify_account(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(m.db(), &m.who, id).await?;
    permit(&m.who, Action::VerifyAccount)?;
    m.business(
        &body,
        StatusCode::OK,
        "account.verify",
        move |c, view, by, body: VerifyBody| {
            if body.account_id != id {
                return Err(path_mismatch());
            }
            accounts::verify(c, view, by.user.into(), &body)
        },
    )
    .await
}

/// Revoke your verified settlement account.
///
/// An admin of the holder. The body is a signed `account.revoke` intent of
/// your organisation whose body is a `RevokeBody` with `account_id` equal
/// to `{id}` and a reason. Financing is no longer paid into it; to use it
/// again, add it again.
#[utoipa::path(tag = "accounts", operation_id = "revoke_account", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The account"),
        IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed account.revoke intent; its body is a RevokeBody"),
    responses(
        (status = 200, description = "Revoked", body = Object),
        (status = 403, description = "Not an admin of the holder", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not verified, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/accounts/{id}/revocation")]
pub async fn revoke_account(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let account = visible(m.db(), &m.who, id).await?;
    if account.org_id != m.who.org_id {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only the holder revokes its account",
        ));
    }
    permit(&m.who, Action::ManageAccount)?;
    m.business(
        &body,
        StatusCode::OK,
        "account.revoke",
        move |c, view, by, body: RevokeBody| {
            if body.account_id != id {
                return Err(path_mismatch());
            }
            accounts::revoke(c, view, by.org.into(), &body)
        },
    )
    .await
}

/// One settlement account.
///
/// Its holder or the platform operator.
#[utoipa::path(tag = "accounts", operation_id = "get_account", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 404, description = "No such account visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/accounts/{id}")]
pub async fn get_account(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(visible(&db, &who, path.into_inner()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountFilter {
    /// Only accounts in this status (`pending` is the operator's queue).
    pub status: Option<AccountStatus>,
}

/// Settlement accounts you may see.
///
/// Your organisation's own; the platform operator sees every
/// organisation's. Ordered by id. `Accept: text/csv` exports the page as
/// CSV.
#[utoipa::path(tag = "accounts", operation_id = "list_accounts", security(("bearer" = [])),
    params(AccountFilter, PageQuery),
    responses(
        (status = 200, description = "One page of accounts", body = Page<Account>),
        (status = 400, description = "Bad status, limit or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/accounts")]
pub async fn list_accounts(
    req: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    filter: web::Query<AccountFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = filter.status;
    let scope = format!("accounts?status={}", status.map_or("", |s| s.as_str()));
    let req_page = page.request::<Uuid>(&scope)?;
    let org = (!is_operator(&who)).then(|| DbId::from(who.org_id));
    let (after, fetch) = (req_page.after, req_page.fetch_limit());
    let rows = db
        .run(move |c| {
            accounts::list(c, org, status, after.map(DbId::from), fetch).map_err(DbError::from)
        })
        .await
        .map_err(unavailable)?;
    // Only the holder's and the operator's rows are listed: both see the
    // full number.
    let page = Page::from_rows(&req_page, rows, |r| r.id.0)?.map(|r| Account::view(r, true));
    listing::page(&req, page)
}
