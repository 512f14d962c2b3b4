//! LPR fixings: public reference data, published by the platform operator.

use crate::db::{Db, DbError};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::IdempotencyHeader;
use crate::pagination::{Page, PageQuery};
use crate::parties::model::Action;
use crate::programs::lpr::{self, Fixing, PublishBody, Tenor};
use crate::routes::intents::SignedIntent;
use crate::routes::mutation::{Mutation, Receipt};
use crate::routes::organisations::permit;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn unavailable(e: DbError) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, e.to_string())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenorFilter {
    /// `1Y` or `5Y`; both when absent.
    #[param(value_type = Option<Tenor>)]
    pub tenor: Option<Tenor>,
}

/// LPR fixings, newest first.
///
/// Public reference data: every fixing the platform prices against, with
/// its source and, for fixings published through the API, the ledger entry
/// that recorded it. `Accept: text/csv` exports the page as CSV.
#[utoipa::path(tag = "market data", operation_id = "list_lpr_fixings",
    params(TenorFilter, PageQuery),
    responses(
        (status = 200, description = "One page of fixings", body = Page<Fixing>),
        (status = 400, description = "Bad tenor, limit or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/lpr")]
pub async fn list_lpr_fixings(
    http: actix_web::HttpRequest,
    db: web::Data<Db>,
    filter: web::Query<TenorFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenor = filter.tenor;
    let scope = format!("lpr?tenor={}", tenor.map_or("", Tenor::as_str));
    let req = page.request::<(NaiveDate, String)>(&scope)?;
    let (before, fetch) = (req.after.clone(), req.fetch_limit());
    let rows = db
        .run(move |c| lpr::list(c, tenor, before, fetch).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    let page = Page::from_rows(&req, rows, |f| (f.fixing_date, f.tenor.as_str().to_owned()))?;
    crate::listing::page(&http, page)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InForceQuery {
    /// `1Y` or `5Y`.
    #[param(value_type = Tenor)]
    pub tenor: Tenor,
    /// `YYYY-MM-DD`; the platform's today (UTC) when absent.
    #[param(value_type = Option<String>, format = Date)]
    pub on: Option<NaiveDate>,
}

/// The fixing in force on a date: the newest published on or before it.
#[utoipa::path(tag = "market data", operation_id = "lpr_in_force",
    params(InForceQuery),
    responses(
        (status = 200, description = "The fixing in force", body = Fixing),
        (status = 400, description = "Bad tenor or date", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No fixing on or before that date", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/lpr/in-force")]
pub async fn lpr_in_force(
    db: web::Data<Db>,
    writer: web::Data<crate::ledger::Writer>,
    q: web::Query<InForceQuery>,
) -> Result<HttpResponse, ApiError> {
    let (tenor, on) = (q.tenor, q.on.unwrap_or_else(|| writer.clock().today()));
    let found = db
        .run(move |c| lpr::in_force(c, tenor, on).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    found.map(|f| HttpResponse::Ok().json(f)).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no {} fixing on or before {on}", tenor.as_str()),
        )
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FixingPublished {
    pub fixing: Fixing,
    pub receipt: Receipt,
}

/// Publish an LPR fixing.
///
/// Platform operator, role admin. The body is a signed `lpr.publish` intent
/// of the operator's organisation whose body is a `PublishBody`: tenor,
/// fixing date (not in the future), rate in percent as published, and the
/// source. A published fixing is never edited.
#[utoipa::path(tag = "market data", operation_id = "publish_lpr_fixing", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed lpr.publish intent; its body is a PublishBody"),
    responses(
        (status = 201, description = "Published", body = FixingPublished),
        (status = 400, description = "Missing Idempotency-Key or malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the operator's admin, or not your own key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "That fixing exists, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature, date or rate", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/lpr")]
pub async fn publish_lpr_fixing(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::PublishMarketData)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "lpr.publish",
        |c, view, _, body: PublishBody| lpr::publish(c, view, &body),
    )
    .await
}
