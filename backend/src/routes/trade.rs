//! Trade data: purchase orders, deliveries and acceptance, invoices one at
//! a time and in bulk. Thin handlers over `crate::trade`.

use crate::db::{Db, DbError, DbId};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::IdempotencyHeader;
use crate::pagination::{Page, PageQuery};
use crate::parties::auth::Principal;
use crate::parties::model::Action;
use crate::routes::intents::{IntentSig, SignedIntent};
use crate::routes::mutation::{Mutation, intent_body, parse_json, rejected};
use crate::routes::organisations::permit;
use crate::trade::invoices::{
    self, BatchBody, BatchRefusal, BatchRowsRead, DecideBody, Invoice, InvoiceFilter,
    MAX_BATCH_ROWS, RecordBody,
};
use crate::trade::orders::{self, AcceptanceBody, DeliveryBody, PoBody, PoFilter, PurchaseOrder};
use crate::trade::sees_everything;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Paths whose body limit is `SCF_MAX_BULK_BYTES` rather than
/// `SCF_MAX_BODY_BYTES`.
pub const BULK_PATHS: &[&str] = &["/v1/invoices/batches"];

pub fn is_bulk_path(path: &str) -> bool {
    BULK_PATHS.contains(&path)
}

fn unavailable(e: DbError) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, e.to_string())
}

fn caller(who: &Principal) -> (DbId, bool) {
    (
        DbId::from(who.org_id),
        sees_everything(&who.org_kind, &who.role),
    )
}

/// Record a purchase order.
///
/// The buyer (the program's core enterprise buying from an upstream
/// supplier, or a downstream distributor buying from the core firm), role
/// admin or maker. The body is a signed `po.create` intent whose body is a
/// `PoBody`; a logistics firm named as carrier may record its delivery.
#[utoipa::path(tag = "trade", operation_id = "create_purchase_order", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed po.create intent; its body is a PoBody"),
    responses(
        (status = 201, description = "Recorded", body = Object),
        (status = 403, description = "Not a buyer's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order number or id is taken, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body; not a trade of the program", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/purchase-orders")]
pub async fn create_purchase_order(
    m: Mutation,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::RecordTrade)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "po.create",
        |c, view, by, body: PoBody| orders::create(c, view, by, &body),
    )
    .await
}

/// Record a delivery against a purchase order.
///
/// The order's carrier or its seller, role admin or maker. The body is a
/// signed `delivery.record` intent whose body is a `DeliveryBody` with
/// `po_id` equal to `{id}`.
#[utoipa::path(tag = "trade", operation_id = "record_delivery", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The purchase order"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed delivery.record intent; its body is a DeliveryBody"),
    responses(
        (status = 201, description = "Recorded; the order is delivered", body = Object),
        (status = 403, description = "Not the carrier's or seller's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such purchase order visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order is not awaiting a delivery, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/purchase-orders/{id}/deliveries")]
pub async fn record_delivery(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    permit(&m.who, Action::RecordDelivery)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "delivery.record",
        move |c, view, by, body: DeliveryBody| {
            if body.po_id != id {
                return Err(rejected(
                    422,
                    "unprocessable",
                    "intent.body.po_id must be the purchase order in the path",
                ));
            }
            orders::record_delivery(c, view, by, &body)
        },
    )
    .await
}

/// Accept or reject a delivery.
///
/// The order's buyer, role admin or checker. The body is a signed
/// `delivery.accept` intent whose body is an `AcceptanceBody` with
/// `delivery_id` equal to `{id}`; a rejection needs a note.
#[utoipa::path(tag = "trade", operation_id = "decide_delivery", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The delivery"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed delivery.accept intent; its body is an AcceptanceBody"),
    responses(
        (status = 200, description = "Decided", body = Object),
        (status = 403, description = "Not the buyer's admin or checker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delivery visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/deliveries/{id}/acceptance")]
pub async fn decide_delivery(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    permit(&m.who, Action::DecideTrade)?;
    m.business(
        &body,
        StatusCode::OK,
        "delivery.accept",
        move |c, view, by, body: AcceptanceBody| {
            if body.delivery_id != id {
                return Err(rejected(
                    422,
                    "unprocessable",
                    "intent.body.delivery_id must be the delivery in the path",
                ));
            }
            orders::decide_delivery(c, view, by, &body)
        },
    )
    .await
}

/// One purchase order with its deliveries.
///
/// Its buyer, seller or carrier, or the operator's admins and auditors.
#[utoipa::path(tag = "trade", operation_id = "get_purchase_order", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The order", body = PurchaseOrder),
        (status = 404, description = "No such purchase order visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/purchase-orders/{id}")]
pub async fn get_purchase_order(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (org, all) = caller(&who);
    db.run(move |c| orders::get(c, id, org, all).map_err(DbError::from))
        .await
        .map_err(unavailable)?
        .map(|p| HttpResponse::Ok().json(p))
        .ok_or_else(|| ApiError::not_found("no such purchase order visible to you"))
}

/// The purchase orders you are buyer, seller or carrier of.
///
/// Oldest first, with cursor pagination and optional filters.
#[utoipa::path(tag = "trade", operation_id = "list_purchase_orders", security(("bearer" = [])),
    params(PoFilter, PageQuery),
    responses(
        (status = 200, description = "One page of orders", body = Page<PurchaseOrder>),
        (status = 400, description = "Bad filter, limit or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/purchase-orders")]
pub async fn list_purchase_orders(
    http: actix_web::HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    filter: web::Query<PoFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let f = filter.into_inner();
    let req = page.request::<Uuid>(&f.scope())?;
    let (org, all) = caller(&who);
    let (after, fetch) = (req.after, req.fetch_limit());
    let rows = db
        .run(move |c| orders::list(c, org, all, &f, after, fetch).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    crate::listing::page(&http, Page::from_rows(&req, rows, |r| r.id)?)
}

/// Record an invoice.
///
/// Its seller or its buyer (the program's core enterprise and an active
/// counterparty), role admin or maker. The body is a signed
/// `invoice.record` intent whose body is a `RecordBody` and whose `assets`
/// are exactly `[{"key": <the invoice's asset key>, "op": "encumber"}]`
/// (ledger SPEC.md §6: the seller's USCC and the invoice number): an asset
/// key is recorded once on the whole platform. Recorded by the seller, the
/// invoice waits for the buyer's confirmation; recorded by the buyer, it
/// is confirmed.
#[utoipa::path(tag = "trade", operation_id = "record_invoice", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed invoice.record intent; its body is a RecordBody"),
    responses(
        (status = 201, description = "Recorded", body = Object),
        (status = 403, description = "Not a party's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The invoice's asset key is already recorded (the detail names it), or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature, assets or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/invoices")]
pub async fn record_invoice(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::RecordTrade)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "invoice.record",
        |c, view, by, body: RecordBody| invoices::record(c, view, by, &body),
    )
    .await
}

/// A bulk upload: the signed `invoice.batch` intent and the rows it
/// commits to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchUpload {
    /// The canonical intent, as in every signed intent; its body is a
    /// `BatchBody`.
    pub intent: String,
    pub sigs: Vec<IntentSig>,
    /// 1–10,000 rows, each a `BatchRow`.
    #[schema(value_type = Vec<invoices::BatchRow>)]
    pub rows: Vec<serde_json::Value>,
}

/// Reads the body up to `SCF_MAX_BULK_BYTES`.
async fn bulk_body(payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    payload
        .to_bytes_limited(limit)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is over {limit} bytes (SCF_MAX_BULK_BYTES)"),
            )
        })?
        .map_err(|e| {
            if e.as_response_error().status_code() == StatusCode::REQUEST_TIMEOUT {
                ApiError::new(ErrorCode::RequestTimeout, e.to_string())
            } else {
                ApiError::bad_request(e.to_string())
            }
        })
}

/// Upload invoices you owe your suppliers, up to 10,000 in one request.
///
/// The core enterprise, role admin or maker; each row's seller is an
/// active upstream supplier named by USCC. The body is a `BatchUpload`:
/// a signed `invoice.batch` intent whose body (`BatchBody`) commits to the
/// rows beside it by their count, total, the RFC 6962 Merkle root of the
/// rows' canonical JSON (`rows_root`) and that of their sorted asset keys
/// (`asset_keys_root`). The server recomputes both and refuses a mismatch.
/// Either every row is recorded (`confirmed`) or none: a request with bad
/// rows gets 422 (duplicate asset keys, in the batch or already recorded,
/// 409) with an `errors` item `{row, field, message}` for every bad row.
/// The body limit here is `SCF_MAX_BULK_BYTES`.
#[utoipa::path(tag = "trade", operation_id = "upload_invoices", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = BatchUpload, description = "The signed invoice.batch intent and its rows"),
    responses(
        (status = 201, description = "Every row recorded", body = Object),
        (status = 403, description = "Not the core enterprise's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program of yours", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Rows whose asset key repeats in the batch or is already recorded (each in `errors`), or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid rows (each in `errors`), commitments that do not match the rows, or an invalid intent", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/invoices/batches")]
pub async fn upload_invoices(m: Mutation, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::UploadInvoices)?;
    let body = bulk_body(payload, m.settings().max_bulk_bytes).await?;
    // Parsing, checking and hashing 10,000 rows is CPU work: it runs on the
    // blocking pool, never on the single writer.
    let (env, prepared) = web::block(move || {
        let upload: BatchUpload = parse_json(&body)?;
        if upload.rows.is_empty() || upload.rows.len() > MAX_BATCH_ROWS {
            return Err(ApiError::unprocessable(format!(
                "rows must hold 1 to {MAX_BATCH_ROWS} rows, not {}",
                upload.rows.len()
            )));
        }
        let prepared = invoices::prepare_batch(&upload.rows).map_err(|r| match r {
            BatchRefusal::Invalid(errors) => ApiError::unprocessable(format!(
                "{} errors in the rows; nothing was recorded",
                errors.len()
            ))
            .with_errors(errors),
            BatchRefusal::Duplicate(errors) => ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "{} rows repeat an asset key of an earlier row; nothing was recorded",
                    errors.len()
                ),
            )
            .with_errors(errors),
        })?;
        let env = SignedIntent {
            intent: upload.intent,
            sigs: upload.sigs,
        };
        // An intent that does not parse is left to the shared envelope
        // check, which names what is wrong with it.
        if let Ok(intent) = scf_ledger::intent::Intent::parse(env.intent.as_bytes())
            && intent.kind == "invoice.batch"
        {
            let b: BatchBody = intent_body(&intent)?;
            let errors = invoices::check_commitment(&b, &prepared);
            if !errors.is_empty() {
                return Err(ApiError::unprocessable(
                    "the intent does not commit to the rows sent; nothing was recorded",
                )
                .with_errors(errors));
            }
        }
        let bytes = serde_json::to_vec(&env).map_err(ApiError::internal)?;
        Ok((bytes, prepared))
    })
    .await
    .map_err(ApiError::internal)??;
    // The idempotency hash covers the signed intent, which commits to the
    // rows by digest: the same intent with other rows is refused above.
    m.business(
        &env,
        StatusCode::CREATED,
        "invoice.batch",
        move |c, view, by, body: BatchBody| {
            let errors = invoices::check_commitment(&body, &prepared);
            if !errors.is_empty() {
                return Err(crate::ledger::CommandError::Rejected {
                    status: 422,
                    code: "unprocessable",
                    message: "the intent does not commit to the rows sent".into(),
                    errors,
                });
            }
            invoices::record_batch(c, view, by, &body, &prepared)
        },
    )
    .await
}

/// Media type of a batch's rows file: JSON Lines.
pub const ROWS_CONTENT_TYPE: &str = "application/x-ndjson";

/// A bulk upload's rows, exactly as its ledger entry committed to them.
///
/// JSON Lines: row `i` is line `i + 1`, the row's canonical JSON (RFC 8785)
/// as uploaded, then `\n`; the leaves of the entry's `rows_root` are these
/// lines' hashes. Saved as `<batch id>.jsonl` in a directory, it is what
/// `scf-verify --batch-rows DIR` checks against the export (ledger SPEC.md
/// §10.5). Only the uploading core enterprise and the operator's admins and
/// auditors may read it; a supplier sees its own invoices with
/// `GET /v1/invoices?batch_id=`, and anyone else gets 404.
#[utoipa::path(tag = "trade", operation_id = "get_batch_rows", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The batch")),
    responses(
        (status = 200, description = "The rows file, one row per line", body = String, content_type = "application/x-ndjson"),
        (status = 404, description = "No such batch of yours, or one uploaded before its rows were kept", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/invoices/batches/{id}/rows")]
pub async fn get_batch_rows(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (org, all) = caller(&who);
    let found = db
        .run(move |c| invoices::batch_rows(c, id, org, all).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    match found {
        BatchRowsRead::Rows(rows) => Ok(HttpResponse::Ok()
            .content_type(ROWS_CONTENT_TYPE)
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.jsonl\""),
            ))
            .body(rows)),
        BatchRowsRead::NotKept => Err(ApiError::not_found(
            "the rows of this batch were not kept: it was uploaded before the platform stored rows files",
        )),
        BatchRowsRead::Hidden => Err(ApiError::not_found("no such batch of yours")),
    }
}

/// Confirm or dispute an invoice.
///
/// The invoice's buyer, role admin or checker. The body is a signed
/// `invoice.decide` intent whose body is a `DecideBody` with `invoice_id`
/// equal to `{id}`; a dispute needs a reason.
#[utoipa::path(tag = "trade", operation_id = "decide_invoice", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The invoice"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed invoice.decide intent; its body is a DecideBody"),
    responses(
        (status = 200, description = "Decided; the new status", body = Object),
        (status = 403, description = "Not the buyer's admin or checker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a move the invoice's status allows (the detail names those it does), or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/invoices/{id}/decision")]
pub async fn decide_invoice(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    permit(&m.who, Action::DecideTrade)?;
    m.business(
        &body,
        StatusCode::OK,
        "invoice.decide",
        move |c, view, by, body: DecideBody| {
            if body.invoice_id != id {
                return Err(rejected(
                    422,
                    "unprocessable",
                    "intent.body.invoice_id must be the invoice in the path",
                ));
            }
            invoices::decide(c, view, by, &body)
        },
    )
    .await
}

/// Void (红冲) an invoice the buyer has not confirmed.
///
/// The invoice's seller, role admin or maker. The body is a signed
/// `invoice.cancel` intent whose body is a `CancelBody` with `invoice_id`
/// equal to `{id}` and a reason. Only a `recorded` or `disputed` invoice;
/// its asset key stays taken, so the number is never recorded again.
#[utoipa::path(tag = "trade", operation_id = "cancel_invoice", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The invoice"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed invoice.cancel intent; its body is a CancelBody"),
    responses(
        (status = 200, description = "Cancelled", body = Object),
        (status = 403, description = "Not the seller's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Confirmed, assigned, settled or cancelled already, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or reason", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/invoices/{id}/cancellation")]
pub async fn cancel_invoice(
    m: Mutation,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    permit(&m.who, Action::RecordTrade)?;
    m.business(
        &body,
        StatusCode::OK,
        "invoice.cancel",
        move |c, view, by, body: invoices::CancelBody| {
            if body.invoice_id != id {
                return Err(rejected(
                    422,
                    "unprocessable",
                    "intent.body.invoice_id must be the invoice in the path",
                ));
            }
            invoices::cancel(c, view, by, &body)
        },
    )
    .await
}

/// One invoice.
///
/// Its seller or buyer, or the operator's admins and auditors.
#[utoipa::path(tag = "trade", operation_id = "get_invoice", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The invoice", body = Invoice),
        (status = 404, description = "No such invoice visible to you", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/invoices/{id}")]
pub async fn get_invoice(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (org, all) = caller(&who);
    db.run(move |c| invoices::get(c, id, org, all).map_err(DbError::from))
        .await
        .map_err(unavailable)?
        .map(|i| HttpResponse::Ok().json(i))
        .ok_or_else(|| ApiError::not_found("no such invoice visible to you"))
}

/// The invoices you are seller or buyer of.
///
/// Oldest first, with cursor pagination and optional filters (status,
/// counterparty, program, bulk upload, due-date range).
#[utoipa::path(tag = "trade", operation_id = "list_invoices", security(("bearer" = [])),
    params(InvoiceFilter, PageQuery),
    responses(
        (status = 200, description = "One page of invoices", body = Page<Invoice>),
        (status = 400, description = "Bad filter, limit or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/invoices")]
pub async fn list_invoices(
    http: actix_web::HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    filter: web::Query<InvoiceFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let f = filter.into_inner();
    let req = page.request::<Uuid>(&f.scope())?;
    let (org, all) = caller(&who);
    let (after, fetch) = (req.after, req.fetch_limit());
    let rows = db
        .run(move |c| invoices::list(c, org, all, &f, after, fetch).map_err(DbError::from))
        .await
        .map_err(unavailable)?;
    crate::listing::page(&http, Page::from_rows(&req, rows, |r| r.id)?)
}
