//! Signing keys: a user registers their own Ed25519 key with a `key.add`
//! intent signed by that key (proof of possession, ledger SPEC.md §8.3).
//! This is the first signed mutation over HTTP and the pattern every later
//! one follows: authenticate, check the envelope, check ownership, hand the
//! intent and its business change to the writer, answer with the receipt.

use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::IdempotencyHeader;
use crate::idempotency::Render;
use crate::ledger::Submission;
use crate::parties::auth::Principal;
use crate::parties::bootstrap::insert_signing_key;
use crate::routes::intents::{SignedIntent, check_envelope};
use crate::routes::mutation::{Mutation, Receipt, parse_json};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post, web};
use scf_ledger::entry::SigRef;
use scf_ledger::sig::PublicKey;
use scf_ledger::state::types;
use scf_ledger::time::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRegistered {
    pub key_id: String,
    pub receipt: Receipt,
}

/// Register the caller's own signing key.
///
/// The body is a signed `key.add` intent of the caller's organisation, whose
/// `body.public_key` is the new key and `body.user` the caller's user id,
/// signed by the new key itself. The key is then valid from the entry's seq.
#[utoipa::path(tag = "parties", operation_id = "register_key", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body = SignedIntent,
    responses(
        (status = 201, description = "Registered; the receipt names the ledger entry", body = KeyRegistered),
        (status = 403, description = "The intent is not the caller's", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Replayed intent, key already registered, or the same Idempotency-Key still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or key, or an Idempotency-Key reused for a different request", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/keys")]
pub async fn register_key(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let (who, settings) = (m.who.clone(), m.signed.settings.clone());
    let now = m.signed.writer.clock().now();
    m.run(&body, StatusCode::CREATED, |env| {
        let (submission, key_id) = registration(&who, &settings, now, env)?;
        let render: Render = Box::new(move |o| {
            serde_json::to_value(KeyRegistered {
                key_id,
                receipt: Receipt::from_outcome(o),
            })
            .unwrap_or_default()
        });
        Ok((submission, render))
    })
    .await
}

/// Checks a key registration and builds its submission; refusals here
/// depend only on the request, so they are not stored for replay.
fn registration(
    who: &Principal,
    settings: &Settings,
    now: Timestamp,
    env: SignedIntent,
) -> Result<(Submission, String), ApiError> {
    let (intent, sigs) = check_envelope(&env, now, settings.clock_skew_secs)?;
    if intent.kind != types::KEY_ADD {
        return Err(ApiError::new(
            ErrorCode::Unprocessable,
            format!(
                "intent.type must be {}, not {}",
                types::KEY_ADD,
                intent.kind
            ),
        ));
    }
    if intent.org != who.org_id.to_string()
        || intent.body_str("user").ok() != Some(&who.user_id.to_string())
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "a user registers keys for themselves: intent.org must be your organisation and body.user your user id",
        ));
    }
    let key = intent
        .body_str("public_key")
        .ok()
        .map(PublicKey::from_hex)
        .transpose()
        .map_err(|e| ApiError::new(ErrorCode::Unprocessable, format!("body.public_key: {e}")))?
        .ok_or_else(|| ApiError::new(ErrorCode::Unprocessable, "body.public_key is required"))?;
    let (user_id, org_id) = (who.user_id, who.org_id);
    let submission = Submission {
        intent: env.intent.into_bytes(),
        sigs: sigs
            .into_iter()
            .map(|(key_id, sig)| SigRef { key_id, sig })
            .collect(),
        effect: Box::new(move |c, view| {
            insert_signing_key(c, view, user_id.into(), org_id.into(), &key)?;
            Ok(serde_json::json!({}))
        }),
    };
    Ok((submission, key.key_id().to_hex()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRevoked {
    pub key_id: String,
    pub receipt: Receipt,
}

/// Revoke a signing key.
///
/// The body is a signed `key.revoke` intent of the caller's organisation with
/// `body.key_id` (and a `body.reason`), signed by the key itself or by
/// another valid key of the organisation. A user revokes their own keys; an
/// organisation admin may revoke any key of the organisation. The key signs
/// nothing after the entry's seq.
#[utoipa::path(tag = "parties", operation_id = "revoke_key", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body = SignedIntent,
    responses(
        (status = 200, description = "Revoked; the receipt names the ledger entry", body = KeyRevoked),
        (status = 403, description = "Not your key and you are not an admin", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key in your organisation", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Replayed intent, or the same Idempotency-Key still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent or signature, a key already revoked, or an Idempotency-Key reused", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/keys/revoke")]
pub async fn revoke_key(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let (who, settings, db) = (
        m.who.clone(),
        m.signed.settings.clone(),
        m.signed.db.clone(),
    );
    // Who owns the key decides who may revoke it; read before queueing.
    let env: SignedIntent = parse_json(&body)?;
    let now = m.signed.writer.clock().now();
    let (intent, sigs) = check_envelope(&env, now, settings.clock_skew_secs)?;
    if intent.kind != types::KEY_REVOKE || intent.org != who.org_id.to_string() {
        return Err(ApiError::new(
            ErrorCode::Unprocessable,
            "the body must be a key.revoke intent of your organisation",
        ));
    }
    let target = intent
        .body_str("key_id")
        .map_err(|_| ApiError::new(ErrorCode::Unprocessable, "body.key_id is required"))?
        .to_owned();
    let lookup = target.clone();
    let owner = db
        .run(move |c| key_owner(c, &lookup))
        .await
        .map_err(|e: crate::db::DbError| ApiError::new(ErrorCode::Unavailable, e.to_string()))?;
    match owner {
        Some((org, _)) if org != who.org_id => return Err(no_such_key()),
        None => return Err(no_such_key()),
        Some((_, user)) if user != who.user_id && who.role != "admin" => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "only the key's owner or an admin of the organisation may revoke it",
            ));
        }
        Some(_) => {}
    }
    m.run(&body, StatusCode::OK, |env| {
        let key_id = target.clone();
        let submission = Submission {
            intent: env.intent.into_bytes(),
            sigs: sigs
                .into_iter()
                .map(|(key_id, sig)| SigRef { key_id, sig })
                .collect(),
            effect: Box::new(move |c, view| {
                use crate::db::schema::signing_keys;
                use diesel::prelude::*;
                diesel::update(signing_keys::table)
                    .filter(signing_keys::key_id.eq(&key_id))
                    .filter(signing_keys::revoked_seq.is_null())
                    .set(signing_keys::revoked_seq.eq(i64::try_from(view.seq).unwrap_or(i64::MAX)))
                    .execute(c)?;
                Ok(serde_json::json!({}))
            }),
        };
        let render: Render = Box::new(move |o| {
            serde_json::to_value(KeyRevoked {
                key_id: target,
                receipt: Receipt::from_outcome(o),
            })
            .unwrap_or_default()
        });
        Ok((submission, render))
    })
    .await
}

fn no_such_key() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such key in your organisation")
}

/// The organisation and user a key belongs to.
fn key_owner(
    conn: &mut crate::db::DbConn,
    key_id: &str,
) -> Result<Option<(uuid::Uuid, uuid::Uuid)>, crate::db::DbError> {
    use crate::db::schema::signing_keys;
    use diesel::prelude::*;
    let row: Option<(crate::db::DbId, crate::db::DbId)> = signing_keys::table
        .filter(signing_keys::key_id.eq(key_id))
        .select((signing_keys::org_id, signing_keys::user_id))
        .first(conn)
        .optional()?;
    Ok(row.map(|(o, u)| (o.0, u.0)))
}
