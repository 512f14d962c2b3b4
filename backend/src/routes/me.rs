//! Who the caller is, as the server sees them.

use crate::parties::auth::Principal;
use actix_web::{HttpResponse, get};

/// The caller's user, organisation and role.
#[utoipa::path(tag = "parties", operation_id = "get_me", security(("bearer" = [])), responses(
    (status = 200, description = "The authenticated caller", body = Principal),
))]
#[get("/me")]
pub async fn get_me(who: Principal) -> HttpResponse {
    HttpResponse::Ok().json(who)
}
