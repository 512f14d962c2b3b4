//! `Idempotency-Key` (docs/API-DESIGN.md): a client may retry a POST
//! safely. The first request with a key runs; a repeat with the same body
//! gets the stored response byte for byte; a repeat with a different body
//! is 422; a repeat while the first still runs is 409.
//!
//! Keys belong to the calling user. The answer is stored by the writer in
//! the same transaction as the mutation (`ledger::writer::Idem`), so there
//! is no moment at which the mutation is committed but its answer is not.
//! Only final answers are stored: a 5xx (the request may not have happened)
//! leaves the key free for a retry.

use crate::db::schema::idempotency;
use crate::db::{Db, DbConn, DbError, DbId, DbInstant};
use crate::error::{ApiError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::future::{Ready, ready};
use std::sync::{Arc, Mutex};

pub const HEADER: &str = "Idempotency-Key";
pub const MAX_KEY_LEN: usize = 255;

/// The validated header value.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub String);

/// The header as documented on every operation that takes it.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyHeader {
    /// Any unique string (a UUID): 1 to 255 visible ASCII characters; a
    /// retry with the same key and body returns the first response.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$"
    )]
    pub key: String,
}

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

    pub fn response(&self, replayed: bool) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = HttpResponse::build(status);
        r.content_type(self.content_type.as_str());
        if replayed {
            r.insert_header(("Idempotent-Replayed", "true"));
        }
        r.body(self.body.clone())
    }
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

/// What storage knows about a key.
#[derive(Debug)]
pub enum Lookup {
    New,
    Replay(Stored),
    Mismatch,
}

/// A stored key: request hash, status, body, content type.
type Row = (Vec<u8>, Option<i32>, Option<Vec<u8>>, Option<String>);

pub fn lookup(conn: &mut DbConn, user: DbId, key: &str, hash: &[u8]) -> Result<Lookup, DbError> {
    let row: Option<Row> = idempotency::table
        .filter(idempotency::user_id.eq(user))
        .filter(idempotency::key.eq(key))
        .select((
            idempotency::request_hash,
            idempotency::status,
            idempotency::response_body,
            idempotency::response_headers,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => Lookup::New,
        Some((stored_hash, _, _, _)) if stored_hash != hash => Lookup::Mismatch,
        Some((_, status, body, content_type)) => Lookup::Replay(Stored {
            status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(500),
            content_type: content_type.unwrap_or_else(|| "application/json".into()),
            body: body.unwrap_or_default(),
        }),
    })
}

pub fn record(
    conn: &mut DbConn,
    org: DbId,
    user: DbId,
    key: &str,
    hash: &[u8],
    stored: &Stored,
) -> Result<(), DbError> {
    let now = DbInstant::now();
    diesel::insert_into(idempotency::table)
        .values((
            idempotency::org_id.eq(org),
            idempotency::user_id.eq(user),
            idempotency::key.eq(key),
            idempotency::request_hash.eq(hash),
            idempotency::status.eq(i32::from(stored.status)),
            idempotency::response_body.eq(&stored.body),
            idempotency::response_headers.eq(&stored.content_type),
            idempotency::created_at.eq(now),
            idempotency::completed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn reused() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyReused,
        "this Idempotency-Key was used for a different request; use a new key for a new request",
    )
}

/// Requests running now, by (user, key): a concurrent repeat gets 409
/// instead of queueing behind the first. One process has one writer, so an
/// in-memory set is exact.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Mutex<HashSet<(uuid::Uuid, String)>>>);

/// Holds a key as running until dropped.
#[derive(Debug)]
pub struct Running {
    set: InFlight,
    entry: (uuid::Uuid, String),
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut s) = self.set.0.lock() {
            s.remove(&self.entry);
        }
    }
}

impl InFlight {
    pub fn enter(&self, user: uuid::Uuid, key: &IdempotencyKey) -> Result<Running, ApiError> {
        let entry = (user, key.0.clone());
        let mut set = self
            .0
            .lock()
            .map_err(|_| ApiError::new(ErrorCode::Internal, "idempotency registry poisoned"))?;
        if !set.insert(entry.clone()) {
            return Err(ApiError::new(
                ErrorCode::RequestInProgress,
                "a request with this Idempotency-Key is still running; retry when it has finished",
            ));
        }
        Ok(Running {
            set: self.clone(),
            entry,
        })
    }
}

/// The read-only fast path before any work: answers a retry of a finished
/// request (or a reused key) without queueing for the writer. `Ok(None)`:
/// the request is new and should run.
pub async fn precheck(
    db: &Db,
    user: uuid::Uuid,
    key: &IdempotencyKey,
    hash: Vec<u8>,
) -> Result<Option<Stored>, ApiError> {
    let user = DbId::from(user);
    let k = key.0.clone();
    let found = db
        .run(move |c| lookup(c, user, &k, &hash))
        .await
        .map_err(|e: DbError| ApiError::new(ErrorCode::Unavailable, e.to_string()))?;
    match found {
        Lookup::New => Ok(None),
        Lookup::Replay(s) => Ok(Some(s)),
        Lookup::Mismatch => Err(reused()),
    }
}

/// Renders a committed mutation's answer.
pub type Render = Box<dyn FnOnce(&crate::ledger::Outcome) -> serde_json::Value + Send>;

/// Stores every final answer: successes and 4xx refusals; not a 5xx.
pub fn respond_json(
    status: StatusCode,
    render: Render,
    map_err: fn(crate::ledger::CommandError) -> ApiError,
) -> crate::ledger::writer::Respond {
    Box::new(move |result| match result {
        Ok(o) => Some(Stored::json(status, &render(o))),
        Err(e) => {
            let api = map_err(e.clone());
            (!api.code().status().is_server_error()).then(|| Stored::problem(&api))
        }
    })
}

/// Deletes answers stored before `before`; returns how many. Keys are a
/// retry window, not an archive: the ledger is the record.
pub fn purge(conn: &mut DbConn, before: DbInstant) -> Result<usize, DbError> {
    Ok(
        diesel::delete(idempotency::table.filter(idempotency::created_at.lt(before)))
            .execute(conn)?,
    )
}

/// Purges expired answers now and then, for as long as the server runs.
pub async fn purge_forever(db: Db, ttl_hours: u64) {
    let ttl = chrono::Duration::hours(i64::try_from(ttl_hours).unwrap_or(24));
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        let before = DbInstant::new(chrono::Utc::now() - ttl);
        match db.run(move |c| purge(c, before)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys deleted"),
            Err(e) => tracing::warn!(error = %e, "cannot purge expired idempotency keys"),
        }
    }
}
