//! `Idempotency-Key` (docs/API-DESIGN.md): a client may retry a POST
//! safely. The first request with a key runs; a repeat with the same body
//! gets the stored response byte for byte; a repeat with a different body
//! is 422; a repeat while the first still runs is 409.
//!
//! Keys belong to the calling user. Only final answers are stored: a 5xx
//! (the request may not have happened) frees the key for a retry. A request
//! abandoned mid-way (the process died) frees its key after
//! [`ABANDONED_AFTER`]; its ledger intent id still stops a second apply.

use crate::db::schema::idempotency;
use crate::db::{Db, DbConn, DbError, DbId, DbInstant, ErrorClass};
use crate::error::{ApiError, ErrorCode};
use crate::parties::auth::Principal;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::future::{Ready, ready};

pub const HEADER: &str = "Idempotency-Key";
pub const MAX_KEY_LEN: usize = 255;
/// How long an unfinished request holds its key.
pub const ABANDONED_AFTER: chrono::Duration = chrono::Duration::seconds(60);

/// The validated header value.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub String);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = req
            .headers()
            .get(HEADER)
            .map(|v| v.to_str().map(str::to_owned));
        ready(match value {
            None => Err(ApiError::new(
                ErrorCode::IdempotencyKeyRequired,
                "send an Idempotency-Key header (a UUID is a good choice) so the request can be retried safely",
            )),
            Some(Ok(k))
                if !k.is_empty()
                    && k.len() <= MAX_KEY_LEN
                    && k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Ok(IdempotencyKey(k))
            }
            Some(_) => Err(ApiError::bad_request(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
            ))),
        })
    }
}

/// A response as stored and replayed.
#[derive(Debug, Clone)]
pub struct Stored {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Stored {
    pub fn json(status: StatusCode, value: &serde_json::Value) -> Stored {
        Stored {
            status: status.as_u16(),
            content_type: "application/json".into(),
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub fn problem(e: &ApiError) -> Stored {
        Stored {
            status: e.code().status().as_u16(),
            content_type: crate::error::PROBLEM_JSON.into(),
            body: serde_json::to_vec(&e.problem()).unwrap_or_default(),
        }
    }

    fn response(&self, replayed: bool) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = HttpResponse::build(status);
        r.content_type(self.content_type.as_str());
        if replayed {
            r.insert_header(("Idempotent-Replayed", "true"));
        }
        r.body(self.body.clone())
    }
}

/// A stored key: request hash, status, body, content type, start time.
type Row = (
    Vec<u8>,
    Option<i32>,
    Option<Vec<u8>>,
    Option<String>,
    DbInstant,
);

enum Begin {
    Run,
    Replay(Stored),
    InProgress,
    Mismatch,
}

/// The request's fingerprint: method, path and exact body bytes.
pub fn request_hash(req: &HttpRequest, body: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b"\n");
    h.update(req.path().as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().to_vec()
}

fn begin(
    conn: &mut DbConn,
    org: DbId,
    user: DbId,
    key: &str,
    hash: &[u8],
) -> Result<Begin, DbError> {
    for _ in 0..2 {
        let inserted = diesel::insert_into(idempotency::table)
            .values((
                idempotency::org_id.eq(org),
                idempotency::user_id.eq(user),
                idempotency::key.eq(key),
                idempotency::request_hash.eq(hash),
                idempotency::created_at.eq(DbInstant::now()),
            ))
            .execute(conn);
        match inserted.map_err(DbError::from) {
            Ok(_) => return Ok(Begin::Run),
            Err(e) if e.class() == ErrorClass::UniqueViolation => {}
            Err(e) => return Err(e),
        }
        let row: Row = idempotency::table
            .filter(idempotency::user_id.eq(user))
            .filter(idempotency::key.eq(key))
            .select((
                idempotency::request_hash,
                idempotency::status,
                idempotency::response_body,
                idempotency::response_headers,
                idempotency::created_at,
            ))
            .first(conn)?;
        let (stored_hash, status, body, content_type, created) = row;
        if stored_hash != hash {
            return Ok(Begin::Mismatch);
        }
        match status {
            Some(s) => {
                return Ok(Begin::Replay(Stored {
                    status: u16::try_from(s).unwrap_or(500),
                    content_type: content_type.unwrap_or_else(|| "application/json".into()),
                    body: body.unwrap_or_default(),
                }));
            }
            None if Utc::now() - created.0 < ABANDONED_AFTER => return Ok(Begin::InProgress),
            // Abandoned: free the key and take it.
            None => {
                diesel::delete(idempotency::table)
                    .filter(idempotency::user_id.eq(user))
                    .filter(idempotency::key.eq(key))
                    .filter(idempotency::status.is_null())
                    .execute(conn)?;
            }
        }
    }
    Ok(Begin::InProgress)
}

fn finish(
    conn: &mut DbConn,
    user: DbId,
    key: &str,
    stored: Option<&Stored>,
) -> Result<(), DbError> {
    let target = idempotency::table
        .filter(idempotency::user_id.eq(user))
        .filter(idempotency::key.eq(key));
    match stored {
        Some(s) => {
            diesel::update(target)
                .set((
                    idempotency::status.eq(i32::from(s.status)),
                    idempotency::response_body.eq(&s.body),
                    idempotency::response_headers.eq(&s.content_type),
                    idempotency::completed_at.eq(DbInstant::now()),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::delete(target).execute(conn)?;
        }
    }
    Ok(())
}

/// Runs `f` at most once per (caller, key, request). `f` answers with a
/// stored response; server errors are returned as they are and not stored.
pub async fn once<F, Fut>(
    db: &Db,
    who: &Principal,
    key: IdempotencyKey,
    hash: Vec<u8>,
    f: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Stored, ApiError>>,
{
    let (org, user) = (DbId::from(who.org_id), DbId::from(who.user_id));
    let k = key.0.clone();
    let unavailable = |e: DbError| ApiError::new(ErrorCode::Unavailable, e.to_string());
    let begun = db
        .run(move |c| begin(c, org, user, &k, &hash))
        .await
        .map_err(unavailable)?;
    match begun {
        Begin::Replay(s) => return Ok(s.response(true)),
        Begin::InProgress => {
            return Err(ApiError::new(
                ErrorCode::RequestInProgress,
                "a request with this Idempotency-Key is still running; retry when it has finished",
            ));
        }
        Begin::Mismatch => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            ));
        }
        Begin::Run => {}
    }
    let result = f().await;
    let stored = match &result {
        Ok(s) => Some(s.clone()),
        Err(e) if e.code().status().is_server_error() => None,
        Err(e) => Some(Stored::problem(e)),
    };
    let k = key.0;
    let to_store = stored.clone();
    db.run(move |c| finish(c, user, &k, to_store.as_ref()))
        .await
        .map_err(unavailable)?;
    match stored {
        Some(s) => Ok(s.response(false)),
        None => result.map(|s| s.response(false)),
    }
}
