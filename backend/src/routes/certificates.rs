//! Payables certificates: proposal and confirmation by the core firm,
//! acceptance, split and transfer by the holder, and reads for the parties.
//! Handlers are thin: the rules live in `receivables::certificates`.

use crate::db::{Db, DbError, DbId};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::IdempotencyHeader;
use crate::pagination::{Page, PageQuery};
use crate::parties::auth::Principal;
use crate::parties::model::Action;
use crate::receivables::certificates::{
    self as certs, AcceptBody, CancelBody, Certificate, CertificateDetail, ConfirmBody, Filter,
    Notice, ProposeBody, SplitBody, TransferBody,
};
use crate::receivables::model::CertStatus;
use crate::routes::intents::SignedIntent;
use crate::routes::mutation::{Mutation, rejected};
use crate::routes::organisations::{is_operator, permit};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn unavailable(e: DbError) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, e.to_string())
}

fn no_such_certificate() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such certificate visible to you")
}

/// 404 unless the caller may read the certificate.
async fn visible(db: &Db, who: &Principal, id: Uuid) -> Result<(), ApiError> {
    let (org, op) = (DbId::from(who.org_id), is_operator(who));
    let seen = db
        .run(move |c| certs::can_see(c, org, op, id).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    if seen {
        Ok(())
    } else {
        Err(no_such_certificate())
    }
}

fn same_id(body: Uuid, path: Uuid) -> Result<(), crate::ledger::CommandError> {
    if body == path {
        Ok(())
    } else {
        Err(rejected(
            422,
            "unprocessable",
            "intent.body.certificate_id must be the certificate in the path",
        ))
    }
}

/// Propose a payables certificate (确权, first signature).
///
/// A core enterprise's maker (or admin). The body is a signed
/// `certificate.propose` intent whose body is a `ProposeBody`: the new
/// certificate's id, the program, the supplier that will hold it, the face
/// value, the maturity date and optionally the invoices behind it. The
/// plan in force today must enable receivables, the tenor must be within
/// the plan's, the supplier an eligible active upstream counterparty, and
/// the program limit must hold; all is checked again at confirmation.
#[utoipa::path(tag = "certificates", operation_id = "propose_certificate", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed certificate.propose intent; its body is a ProposeBody"),
    responses(
        (status = 201, description = "Proposed; awaiting the checker's confirmation", body = Object),
        (status = 403, description = "Not a core enterprise's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program of yours", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Over the program limit, no plan in force, the id is taken, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, amount, tenor or holder", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/certificates")]
pub async fn propose_certificate(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::ProposeCertificate)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "certificate.propose",
        |c, view, by, body: ProposeBody| {
            certs::propose(c, view, by.org.into(), by.user.into(), &body)
        },
    )
    .await
}

/// Confirm a proposed certificate: it is issued.
///
/// The core enterprise's checker (or admin), never the user who proposed
/// it. The body is a signed `certificate.confirm` intent whose body is a
/// `ConfirmBody` repeating the face value and maturity proposed: the
/// checker confirms exactly those. The plan, tenor, eligibility and program
/// limit are checked again today. The certificate then awaits the holder's
/// acceptance.
#[utoipa::path(tag = "certificates", operation_id = "confirm_certificate", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The certificate"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed certificate.confirm intent; its body is a ConfirmBody"),
    responses(
        (status = 200, description = "Issued; awaiting the holder's acceptance", body = Object),
        (status = 403, description = "Not the issuer's checker or admin, or the proposer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a proposal, not what was proposed, over the program limit, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, tenor or holder", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/certificates/{id}/confirmation")]
pub async fn confirm_certificate(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(m.db(), &m.who, id).await?;
    permit(&m.who, Action::ConfirmCertificate)?;
    m.business(
        &body,
        StatusCode::OK,
        "certificate.confirm",
        move |c, view, by, body: ConfirmBody| {
            same_id(body.certificate_id, id)?;
            certs::confirm(c, view, by.org.into(), by.user.into(), &body)
        },
    )
    .await
}

/// Cancel a certificate its holder has not accepted.
///
/// The issuer. The body is a signed `certificate.cancel` intent whose body
/// is a `CancelBody` (the certificate and a reason). A proposal may be
/// withdrawn by its proposer (admin or maker) or turned down by a checker;
/// an issued certificate, only by the checker or admin. The invoices it
/// named are confirmed and free again, and nobody holds it.
#[utoipa::path(tag = "certificates", operation_id = "cancel_certificate", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The certificate"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed certificate.cancel intent; its body is a CancelBody"),
    responses(
        (status = 200, description = "Cancelled", body = Object),
        (status = 403, description = "Not the issuer's admin, maker or checker; a maker who did not propose it; or a maker cancelling an issued certificate", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Accepted, rejected or cancelled already, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent or reason", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/certificates/{id}/cancellation")]
pub async fn cancel_certificate(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(m.db(), &m.who, id).await?;
    let checker = permit(&m.who, Action::ConfirmCertificate).is_ok();
    if !checker {
        permit(&m.who, Action::ProposeCertificate)?;
    }
    m.business(
        &body,
        StatusCode::OK,
        "certificate.cancel",
        move |c, view, by, body: CancelBody| {
            same_id(body.certificate_id, id)?;
            certs::cancel(c, view, (by.org.into(), by.user.into()), checker, &body)
        },
    )
    .await
}

/// Accept (签收) or reject an issued certificate.
///
/// The holder (a supplier's admin, maker or checker). The body is a signed
/// `certificate.accept` intent whose body is an `AcceptBody`: `decision`
/// `accept` or `reject` (with a `reason`). Until accepted, a certificate
/// cannot be split, transferred or financed.
#[utoipa::path(tag = "certificates", operation_id = "accept_certificate", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The certificate"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed certificate.accept intent; its body is an AcceptBody"),
    responses(
        (status = 200, description = "Accepted (active) or rejected", body = Object),
        (status = 403, description = "Not a supplier's admin, maker or checker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting acceptance, not yours any more, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/certificates/{id}/acceptance")]
pub async fn accept_certificate(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(m.db(), &m.who, id).await?;
    permit(&m.who, Action::HoldCertificate)?;
    m.business(
        &body,
        StatusCode::OK,
        "certificate.accept",
        move |c, view, by, body: AcceptBody| {
            same_id(body.certificate_id, id)?;
            certs::respond(c, view, by.org.into(), &body)
        },
    )
    .await
}

/// Split a certificate you hold.
///
/// The holder. The body is a signed `certificate.split` intent whose body
/// is a `SplitBody`: the parent, its available balance (`parent_amount`)
/// and 2–100 children (new ids, amounts above zero with at most 2
/// decimals) that sum **exactly** to it. The parent becomes `split`; the
/// children are active, held by you, with the same root, issuer and
/// maturity. Refused while the certificate is locked for financing, within
/// the plan's cut-off before maturity, and after maturity. The ledger
/// itself refuses a split whose children do not sum to the parent
/// (SPEC §8.5), so `scf-verify` can check it offline.
#[utoipa::path(tag = "certificates", operation_id = "split_certificate", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The certificate"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed certificate.split intent; its body is a SplitBody"),
    responses(
        (status = 201, description = "Split; the children", body = Object),
        (status = 403, description = "Not a supplier's admin, maker or checker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active (locked, not accepted, split), within the cut-off or matured, not yours any more, a child id taken, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Children that do not sum to the parent, bad amounts, or an invalid intent", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/certificates/{id}/split")]
pub async fn split_certificate(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(m.db(), &m.who, id).await?;
    permit(&m.who, Action::HoldCertificate)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "certificate.split",
        move |c, view, by, body: SplitBody| {
            same_id(body.certificate_id, id)?;
            certs::split(c, view, by.org.into(), &body)
        },
    )
    .await
}

/// Transfer a certificate you hold to another supplier of the program.
///
/// The holder. The body is a signed `certificate.transfer` intent whose
/// body is a `TransferBody`: the receiver (an active upstream counterparty
/// of the issuer that passed KYC) and `notice_to`, the issuer: the signed
/// transfer is the notice of assignment to the debtor (Civil Code Art.
/// 546), recorded for the issuer to list. Refused while locked, within the
/// plan's cut-off before maturity, and after maturity.
#[utoipa::path(tag = "certificates", operation_id = "transfer_certificate", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The certificate"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed certificate.transfer intent; its body is a TransferBody"),
    responses(
        (status = 200, description = "Transferred; the notice of assignment", body = Object),
        (status = 403, description = "Not a supplier's admin, maker or checker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active (locked, not accepted, split), within the cut-off or matured, not yours any more, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A receiver outside the program, notice_to not the issuer, or an invalid intent", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/certificates/{id}/transfer")]
pub async fn transfer_certificate(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(m.db(), &m.who, id).await?;
    permit(&m.who, Action::HoldCertificate)?;
    m.business(
        &body,
        StatusCode::OK,
        "certificate.transfer",
        move |c, view, by, body: TransferBody| {
            same_id(body.certificate_id, id)?;
            certs::transfer(c, view, by.org.into(), &body)
        },
    )
    .await
}

/// A certificate with its lineage.
///
/// The issuer, a current or past holder, a funder of its program, or the
/// operator; anyone else gets 404. Lineage: root and parent ids, the
/// children (id, amount, status) and every holding with the ledger entries
/// that began and ended it.
#[utoipa::path(tag = "certificates", operation_id = "get_certificate", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The certificate", body = CertificateDetail),
        (status = 404, description = "No such certificate visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/certificates/{id}")]
pub async fn get_certificate(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible(&db, &who, id).await?;
    let found = db
        .run(move |c| certs::detail(c, id).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    found
        .map(|d| HttpResponse::Ok().json(d))
        .ok_or_else(no_such_certificate)
}

/// Filters of the certificate lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateFilter {
    /// Only certificates in this status.
    #[param(value_type = Option<CertStatus>)]
    pub status: Option<CertStatus>,
    /// Maturing on or after this date, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub maturity_from: Option<NaiveDate>,
    /// Maturing on or before this date, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub maturity_to: Option<NaiveDate>,
    /// Only the certificates descended from this root.
    #[param(value_type = Option<String>, format = Uuid)]
    pub root_id: Option<Uuid>,
}

impl CertificateFilter {
    fn scope(&self, list: &str) -> String {
        format!(
            "certificates.{list}?status={}&from={}&to={}&root={}",
            self.status.map_or("", CertStatus::as_str),
            self.maturity_from
                .map(|d| d.to_string())
                .unwrap_or_default(),
            self.maturity_to.map(|d| d.to_string()).unwrap_or_default(),
            self.root_id.map(|d| d.to_string()).unwrap_or_default(),
        )
    }

    fn filter(&self) -> Filter {
        Filter {
            status: self.status,
            maturity_from: self.maturity_from,
            maturity_to: self.maturity_to,
            root_id: self.root_id,
        }
    }
}

/// One page of the certificates you hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldPage {
    pub items: Vec<Certificate>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    /// The sum of every active certificate you hold, whatever the filter:
    /// what you may split, transfer or finance now.
    #[schema(value_type = String, example = "1000000.00")]
    pub available_balance: String,
}

/// The certificates your organisation holds, with its available balance.
///
/// Ordered by the entry that made each one (then id). `Accept: text/csv`
/// exports the page as CSV (without the balance).
#[utoipa::path(tag = "certificates", operation_id = "list_held_certificates", security(("bearer" = [])),
    params(CertificateFilter, PageQuery),
    responses(
        (status = 200, description = "One page of certificates", body = HeldPage),
        (status = 400, description = "Bad filter, limit or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/certificates/held")]
pub async fn list_held_certificates(
    http: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    filter: web::Query<CertificateFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let req = page.request::<(i64, Uuid)>(&filter.scope("held"))?;
    let (org, after, fetch, f) = (
        DbId::from(who.org_id),
        req.after,
        req.fetch_limit(),
        filter.filter(),
    );
    let (rows, balance) = db
        .run(move |c| -> Result<_, DbError> {
            Ok((
                certs::list_held(c, org, &f, after, fetch)?,
                certs::available_balance(c, org)?,
            ))
        })
        .await
        .map_err(unavailable)?;
    let page = Page::from_rows(&req, rows, |r| (r.created_seq, r.id.0))?.map(Certificate::from);
    // CSV has no room for the balance: it is the JSON answer's alone.
    if crate::listing::wants(&http) == crate::listing::Format::Csv {
        return crate::listing::csv(&http, &page.items, page.next_cursor.as_deref());
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::VARY, "Accept"))
        .json(HeldPage {
            items: page.items,
            next_cursor: page.next_cursor,
            available_balance: balance.to_string(),
        }))
}

/// Everything your organisation issued, grouped by root.
///
/// Roots and their split children, ordered by root, then by the entry that
/// made each one. `Accept: text/csv` exports the page as CSV.
#[utoipa::path(tag = "certificates", operation_id = "list_issued_certificates", security(("bearer" = [])),
    params(CertificateFilter, PageQuery),
    responses(
        (status = 200, description = "One page of certificates", body = Page<Certificate>),
        (status = 400, description = "Bad filter, limit or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/certificates/issued")]
pub async fn list_issued_certificates(
    http: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    filter: web::Query<CertificateFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let req = page.request::<(Uuid, i64, Uuid)>(&filter.scope("issued"))?;
    let (org, after, fetch, f) = (
        DbId::from(who.org_id),
        req.after,
        req.fetch_limit(),
        filter.filter(),
    );
    let rows = db
        .run(move |c| certs::list_issued(c, org, &f, after, fetch).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    let page = Page::from_rows(&req, rows, |r| (r.root_id.0, r.created_seq, r.id.0))?
        .map(Certificate::from);
    crate::listing::page(&http, page)
}

/// Notices of assignment your organisation received as issuer.
///
/// One per transfer of a certificate you issued (Civil Code Art. 546),
/// oldest first, each naming the ledger entry that carries it. `Accept:
/// text/csv` exports the page as CSV.
#[utoipa::path(tag = "certificates", operation_id = "list_assignment_notices", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of notices", body = Page<Notice>),
        (status = 400, description = "Bad limit or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/certificates/notices")]
pub async fn list_assignment_notices(
    http: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let req = page.request::<i64>("certificates.notices")?;
    let (org, after, fetch) = (DbId::from(who.org_id), req.after, req.fetch_limit());
    let rows = db
        .run(move |c| certs::notices(c, org, after, fetch).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    crate::listing::page(&http, Page::from_rows(&req, rows, |n| n.ledger_seq)?)
}
