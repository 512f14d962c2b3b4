//! Probes for the orchestrator. Neither needs authentication or touches
//! anything slow: liveness must not fail because a dependency is down.

use crate::db::Db;
use crate::error::{ApiError, ErrorCode};
use actix_web::{HttpResponse, get, web};
use diesel::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok` (live) or `ready`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process answers HTTP.
#[utoipa::path(tag = "ops", operation_id = "get_healthz", responses(
    (status = 200, description = "The process is alive", body = Status),
))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// Readiness: the service can do useful work; 503 while it cannot.
#[utoipa::path(tag = "ops", operation_id = "get_readyz", responses(
    (status = 200, description = "Ready to serve", body = Status),
    (status = 503, description = "Not ready", body = crate::error::Problem,
        content_type = "application/problem+json"),
))]
#[get("/readyz")]
pub async fn readyz(
    db: web::Data<Db>,
    writer: web::Data<crate::ledger::Writer>,
) -> Result<HttpResponse, ApiError> {
    if writer.has_failed() {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "the ledger writer has stopped; the service is shutting down",
        ));
    }
    db.run(|c| {
        diesel::sql_query("SELECT 1")
            .execute(c)
            .map_err(crate::db::DbError::from)
    })
    .await
    .map_err(|e: crate::db::DbError| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("the database does not answer: {e}"),
        )
    })?;
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}
