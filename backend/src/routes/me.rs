//! Who the caller is, as the server sees them.

use crate::parties::auth::Principal;
use actix_web::{HttpResponse, get};

/// The caller's user, organisation and role.
#[utoipa::path(tag = "parties", operation_id = "get_me", security(("bearer" = [])), responses(
    (status = 200, description = "The authenticated caller", body = Principal),
    (status = 401, description = "No valid token", body = crate::error::Problem,
        content_type = "application/problem+json"),
))]
#[get("/me")]
pub async fn get_me(who: Principal) -> HttpResponse {
    HttpResponse::Ok().json(who)
}
