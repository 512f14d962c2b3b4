//! The server clock, so clients can set `client_time` in intents against
//! the clock that will judge it (the allowed skew is `SCF_CLOCK_SKEW_SECS`).

use crate::ledger::Writer;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServerTime {
    /// RFC 3339 UTC with microseconds.
    #[schema(example = "2026-01-31T08:00:00.123456Z")]
    pub now: String,
}

/// The server's current time.
#[utoipa::path(tag = "meta", operation_id = "get_time", responses(
    (status = 200, description = "The server clock", body = ServerTime),
))]
#[get("/time")]
pub async fn get_time(writer: web::Data<Writer>) -> HttpResponse {
    HttpResponse::Ok().json(ServerTime {
        now: writer.clock().now().to_string(),
    })
}
