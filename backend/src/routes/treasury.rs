//! The core firm's treasury views of a program (exposure, payables due,
//! suppliers reached) and the holder's quote for one certificate. Domain
//! reads live in `receivables::treasury`.

use crate::db::{Db, DbError, DbId};
use crate::error::{ApiError, ErrorCode};
use crate::ledger::Writer;
use crate::parties::auth::Principal;
use crate::parties::model::SizeClass;
use crate::receivables::treasury::{self as t, Exposure, PayablesDue, Reached};
use crate::routes::organisations::is_operator;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn unavailable(e: DbError) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, e.to_string())
}

fn no_such_program() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such program of yours (the core firm's treasury views)",
    )
}

/// Whether `who` is the program's core firm or the operator; a firm
/// that is neither learns nothing, not even that the program exists.
async fn treasury_of(db: &Db, who: &Principal, program: Uuid) -> Result<(), ApiError> {
    let (org, op) = (DbId::from(who.org_id), is_operator(who));
    let core = db
        .run(move |c| t::core_of(c, program).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    match core {
        Some(core) if op || core == org => Ok(()),
        _ => Err(no_such_program()),
    }
}

/// The program's exposure by funder and by tier, against its limits.
///
/// The program's core firm (or the operator). As of today: outstanding
/// certificates (issued, active, locked, financed) and financings holding
/// the limits (approved, disbursed, recourse: face and advance), by funder
/// (with each funder line of the plan in force: limit, used, available)
/// and by tier of the supplier a part belongs to (its holder's tier, or
/// for a financed part held by a funder, the applicant's), with the program
/// limit as used by certificates and by financing advances.
#[utoipa::path(tag = "treasury", operation_id = "program_exposure", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The program")),
    responses(
        (status = 200, description = "The exposure", body = Exposure),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program of yours", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/programs/{id}/exposure")]
pub async fn program_exposure(
    who: Principal,
    db: web::Data<Db>,
    writer: web::Data<Writer>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    treasury_of(&db, &who, id).await?;
    let on = writer.clock().today();
    let e = db
        .run(move |c| t::exposure(c, id, on))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(e))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WeeksQuery {
    /// How many ISO weeks from this one: 1 to 104, 13 by default.
    #[param(minimum = 1, maximum = 104)]
    pub weeks: Option<u32>,
}

/// The core firm's payables by ISO week of maturity.
///
/// The program's core firm (or the operator). Outstanding certificate
/// amounts (and how many, and how much of it is financed) maturing in each
/// ISO week from the current one, `weeks` weeks ahead (every week listed,
/// empty ones too), with what matured before this week unpaid and what
/// matures later. `Accept: text/csv` exports the weeks as CSV.
#[utoipa::path(tag = "treasury", operation_id = "program_payables_due", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The program"), WeeksQuery),
    responses(
        (status = 200, description = "The schedule", body = PayablesDue),
        (status = 400, description = "weeks out of range", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program of yours", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/programs/{id}/payables-due")]
pub async fn program_payables_due(
    http: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    writer: web::Data<Writer>,
    path: web::Path<Uuid>,
    q: web::Query<WeeksQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let weeks = q.weeks.unwrap_or(13);
    if !(1..=104).contains(&weeks) {
        return Err(ApiError::bad_request("weeks must be from 1 to 104"));
    }
    treasury_of(&db, &who, id).await?;
    let on = writer.clock().today();
    let due = db
        .run(move |c| t::payables_due(c, id, on, weeks))
        .await
        .map_err(ApiError::from)?;
    let PayablesDue {
        as_of,
        items,
        total,
        past_due,
        later,
    } = due;
    crate::listing::items(&http, items, |items| PayablesDue {
        as_of,
        items,
        total,
        past_due,
        later,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReachFilter {
    /// Only firms of this tier (1 to 9, as relationships are).
    #[param(minimum = 1, maximum = 9)]
    pub tier: Option<i32>,
    /// Only firms of this size class.
    #[param(value_type = Option<SizeClass>)]
    pub size_class: Option<SizeClass>,
}

/// The suppliers reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReachAnswer {
    pub items: Vec<Reached>,
}

/// The suppliers the program's certificates reached.
///
/// The program's core firm (or the operator). Every firm (funders aside)
/// that holds or held a certificate of the program, with its tier, size
/// class, what it holds now and what it has had financed: tier-2 and
/// tier-3 suppliers reached through splits and transfers show here.
/// Ordered by tier, then name; `Accept: text/csv` exports it as CSV.
#[utoipa::path(tag = "treasury", operation_id = "program_reach", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The program"), ReachFilter),
    responses(
        (status = 200, description = "The firms reached", body = ReachAnswer),
        (status = 400, description = "Bad filter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program of yours", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/programs/{id}/reach")]
pub async fn program_reach(
    http: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<Uuid>,
    q: web::Query<ReachFilter>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    if q.tier.is_some_and(|t| !(1..=9).contains(&t)) {
        return Err(ApiError::bad_request("tier must be from 1 to 9"));
    }
    treasury_of(&db, &who, id).await?;
    let (tier, size) = (q.tier, q.size_class);
    let rows = db
        .run(move |c| t::reach(c, id, tier, size))
        .await
        .map_err(ApiError::from)?;
    crate::listing::items(&http, rows, |items| ReachAnswer { items })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateQuoteQuery {
    /// The day the advance would be paid, `YYYY-MM-DD`; today by default.
    #[param(value_type = Option<String>, format = Date)]
    pub financing_date: Option<chrono::NaiveDate>,
}

/// A funder of the plan in force, to name in `financing.apply`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteFunder {
    #[schema(value_type = String, format = Uuid)]
    pub funder_org_id: Uuid,
    pub name: String,
}

/// What financing one certificate would pay its holder.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateQuote {
    #[schema(value_type = String, format = Uuid)]
    pub certificate_id: Uuid,
    #[schema(value_type = String)]
    pub face_amount: crate::pricing::money::Money,
    #[schema(value_type = String, format = Date)]
    pub maturity_date: chrono::NaiveDate,
    /// The holder's size class, which the plan's pricing and eligibility use.
    pub size_class: SizeClass,
    /// The funders the holder may apply to (the price is the plan's, the
    /// same for each).
    pub funders: Vec<QuoteFunder>,
    pub quote: crate::programs::quote::Quote,
}

/// Price a certificate you hold.
///
/// The holder (or the operator). The certificate's face value and maturity
/// and the holder's size class, priced under the plan and the LPR fixing
/// in force on the financing date (today by default): exactly what
/// `financing.apply` would store, with the funders to apply to.
#[utoipa::path(tag = "financing", operation_id = "certificate_quote", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The certificate"), CertificateQuoteQuery),
    responses(
        (status = 200, description = "The quote", body = CertificateQuote),
        (status = 400, description = "A parameter is malformed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate held by you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active, or no plan or current LPR fixing in force on the financing date", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A financing date in the past, outside the plan's terms (tenor, size class) or not priceable", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/certificates/{id}/quote")]
pub async fn certificate_quote(
    who: Principal,
    db: web::Data<Db>,
    writer: web::Data<Writer>,
    path: web::Path<Uuid>,
    q: web::Query<CertificateQuoteQuery>,
) -> Result<HttpResponse, ApiError> {
    use crate::programs::quote::{QuoteError, QuoteInput, quote};
    use crate::receivables::certificates as certs;
    use crate::receivables::model::CertStatus;
    let id = path.into_inner();
    let (org, op) = (DbId::from(who.org_id), is_operator(&who));
    let today = writer.clock().today();
    let on = q.financing_date.unwrap_or(today);
    let answer = db
        .run(move |c| -> Result<_, crate::ledger::CommandError> {
            let Some(cert) = certs::load(c, id)?.filter(|r| op || r.holder_org_id == org) else {
                return Ok(Err(no_such_certificate()));
            };
            if on < today {
                return Ok(Err(ApiError::new(
                    ErrorCode::Unprocessable,
                    format!("financing_date {on} is in the past (today is {today})"),
                )));
            }
            if cert.status() != CertStatus::Active {
                return Ok(Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "the certificate is {}; only an active certificate can be financed",
                        cert.status()
                    ),
                )));
            }
            let size: Option<String> = {
                use crate::db::schema::organisations;
                use diesel::prelude::*;
                organisations::table
                    .filter(organisations::id.eq(cert.holder_org_id))
                    .select(organisations::size_class)
                    .first(c)?
            };
            let Some(size) = size.as_deref().and_then(SizeClass::parse) else {
                return Ok(Err(ApiError::new(
                    ErrorCode::Unprocessable,
                    "the holder has no size class yet (KYC pending)",
                )));
            };
            let face = crate::pricing::money::Money::new(cert.amount.0)
                .map_err(|e| crate::ledger::CommandError::Storage(e.to_string()))?;
            let input = QuoteInput {
                face_amount: face,
                financing_date: on,
                maturity_date: cert.maturity_date,
                supplier_size: size,
            };
            let priced = match quote(c, cert.program_id.0, &input) {
                Ok(q) => q,
                Err(
                    e @ (QuoteError::NoPlan(_)
                    | QuoteError::NoFixing(..)
                    | QuoteError::StaleFixing { .. }),
                ) => return Ok(Err(ApiError::new(ErrorCode::Conflict, e.to_string()))),
                Err(e @ (QuoteError::Terms(_) | QuoteError::Pricing(_))) => {
                    return Ok(Err(ApiError::new(ErrorCode::Unprocessable, e.to_string())));
                }
                Err(QuoteError::Db(e)) => return Err(e.into()),
            };
            let funders = funders_of(c, cert.program_id.0, on)?;
            Ok(Ok(CertificateQuote {
                certificate_id: id,
                face_amount: face,
                maturity_date: cert.maturity_date,
                size_class: size,
                funders,
                quote: priced,
            }))
        })
        .await
        .map_err(ApiError::from)?;
    answer.map(|a| HttpResponse::Ok().json(a))
}

fn no_such_certificate() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such certificate held by you")
}

/// The funders of the plan in force on `on`, with their names.
fn funders_of(
    c: &mut crate::db::DbConn,
    program: Uuid,
    on: chrono::NaiveDate,
) -> Result<Vec<QuoteFunder>, crate::ledger::CommandError> {
    use crate::db::schema::organisations;
    use diesel::prelude::*;
    let Some(v) = crate::programs::plan::in_force(c, program, on)? else {
        return Ok(vec![]);
    };
    let plan: crate::programs::plan::Plan = serde_json::from_value(v.plan)
        .map_err(|e| crate::ledger::CommandError::Storage(e.to_string()))?;
    let mut out = Vec::new();
    for f in plan.funders {
        let name: Option<String> = organisations::table
            .filter(organisations::id.eq(DbId::from(f.org_id)))
            .select(organisations::name)
            .first(c)
            .optional()?;
        out.push(QuoteFunder {
            funder_org_id: f.org_id,
            name: name.unwrap_or_default(),
        });
    }
    Ok(out)
}
