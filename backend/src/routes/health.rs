//! Probes for the orchestrator. Neither needs authentication or touches
//! anything slow: liveness must not fail because a dependency is down.

use actix_web::{HttpResponse, get};
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
// Nothing to wait for yet; the database check belongs here once storage exists.
#[utoipa::path(tag = "ops", operation_id = "get_readyz", responses(
    (status = 200, description = "Ready to serve", body = Status),
    (status = 503, description = "Not ready", body = crate::error::Problem,
        content_type = "application/problem+json"),
))]
#[get("/readyz")]
pub async fn readyz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ready" })
}
