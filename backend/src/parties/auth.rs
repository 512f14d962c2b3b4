//! Authentication: `Authorization: Bearer <token>` resolves to a
//! [`Principal`] (user, organisation, role). Every failure is the same 401,
//! so a caller learns nothing about which tokens exist.

use super::tokens;
use crate::db::schema::{api_tokens, organisations, users};
use crate::db::{Db, DbError, DbId, DbInstant};
use crate::error::{ApiError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use diesel::prelude::*;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use utoipa::ToSchema;

/// Who is calling.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Principal {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub org_id: uuid::Uuid,
    /// `platform_operator`, `core_enterprise`, `funder`, `supplier`,
    /// `distributor`, `warehouse` or `logistics`.
    pub org_kind: String,
    /// `admin`, `maker`, `checker`, `viewer` or `auditor`.
    pub role: String,
    pub name: String,
}

fn unauthenticated() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthenticated,
        "send a valid, unexpired API token as Authorization: Bearer <token>",
    )
}

/// Resolves a token to its principal, or None.
pub fn principal_for(
    conn: &mut crate::db::DbConn,
    token: &str,
) -> Result<Option<Principal>, DbError> {
    if !tokens::well_formed(token) {
        return Ok(None);
    }
    let now = DbInstant::now();
    let row: Option<(DbId, DbId, String, String, String)> = api_tokens::table
        .inner_join(users::table.on(users::id.eq(api_tokens::user_id)))
        .inner_join(organisations::table.on(organisations::id.eq(users::org_id)))
        .filter(api_tokens::token_hash.eq(tokens::hash(token)))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.gt(now))
        .filter(users::disabled_at.is_null())
        .select((
            users::id,
            users::org_id,
            organisations::kind,
            users::role,
            users::name,
        ))
        .first(conn)
        .optional()?;
    Ok(
        row.map(|(user_id, org_id, org_kind, role, name)| Principal {
            user_id: user_id.0,
            org_id: org_id.0,
            org_kind,
            role,
            name,
        }),
    )
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Principal, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let db = req.app_data::<web::Data<Db>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(db)) = (token, db) else {
                return Err(unauthenticated());
            };
            let found = db
                .run(move |c| principal_for(c, &token))
                .await
                .map_err(|e: DbError| ApiError::new(ErrorCode::Unavailable, e.to_string()))?;
            found.ok_or_else(unauthenticated)
        })
    }
}
