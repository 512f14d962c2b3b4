//! Signing keys: a user registers their own Ed25519 key with a `key.add`
//! intent signed by that key (proof of possession, ledger SPEC.md §8.3).
//! This is the first signed mutation over HTTP and the pattern every later
//! one follows: authenticate, check the envelope, check ownership, hand the
//! intent and its business change to the writer, answer with the receipt.

use crate::config::Settings;
use crate::db::Db;
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::{self, IdempotencyKey, InFlight};
use crate::ledger::writer::Idem;
use crate::ledger::{CommandError, Submission, Writer};
use crate::parties::auth::Principal;
use crate::parties::bootstrap::insert_signing_key;
use crate::routes::intents::{SignedIntent, check_envelope};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use scf_ledger::entry::SigRef;
use scf_ledger::hash::to_hex;
use scf_ledger::sig::PublicKey;
use scf_ledger::state::types;
use scf_ledger::time::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// Where a mutation landed in the ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub seq: u64,
    /// The entry's leaf hash (SPEC.md §3), hex.
    pub leaf: String,
    /// The chain hash after the entry, hex.
    pub chain: String,
    /// The platform's time for the entry.
    pub time: String,
    /// A checkpoint covering the entry is signed within a second; fetch it,
    /// then the inclusion proof, to hold an offline-verifiable receipt.
    pub checkpoint_url: String,
    pub inclusion_proof_url: String,
}

impl Receipt {
    pub fn from_outcome(o: &crate::ledger::Outcome) -> Self {
        Receipt {
            seq: o.receipt.seq,
            leaf: to_hex(&o.receipt.leaf),
            chain: to_hex(&o.receipt.chain),
            time: o.time.to_string(),
            checkpoint_url: "/v1/ledger/checkpoint".into(),
            inclusion_proof_url: format!("/v1/ledger/proofs/inclusion?seq={}", o.receipt.seq),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRegistered {
    pub key_id: String,
    pub receipt: Receipt,
}

/// Maps a writer refusal to the API's codes: a replay or a key that exists
/// is a conflict, any other ledger rule an unprocessable request.
pub fn writer_error(e: CommandError) -> ApiError {
    match e {
        CommandError::Ledger(v) if matches!(v.code, "duplicate_intent" | "key_exists") => {
            ApiError::new(ErrorCode::Conflict, format!("{}: {}", v.code, v.message))
        }
        other => other.into(),
    }
}

/// Register the caller's own signing key.
///
/// The body is a signed `key.add` intent of the caller's organisation, whose
/// `body.public_key` is the new key and `body.user` the caller's user id,
/// signed by the new key itself. The key is then valid from the entry's seq.
#[utoipa::path(tag = "parties", operation_id = "register_key", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Any unique string (a UUID); a retry with the same key and body returns the first response")),
    request_body = SignedIntent,
    responses(
        (status = 201, description = "Registered; the receipt names the ledger entry", body = KeyRegistered),
        (status = 400, description = "Missing Idempotency-Key or malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The intent is not the caller's", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Replayed intent, key already registered, or the same Idempotency-Key still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or key, or an Idempotency-Key reused for a different request", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/keys")]
#[allow(clippy::too_many_arguments)]
pub async fn register_key(
    req: HttpRequest,
    who: Principal,
    key: IdempotencyKey,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
    writer: web::Data<Writer>,
    inflight: web::Data<InFlight>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let hash = idempotency::request_hash(&req, &body);
    if let Some(replay) = idempotency::precheck(&db, &who, &key, hash.clone()).await? {
        return Ok(replay);
    }
    let _running = inflight.enter(&who, &key)?;
    let env: SignedIntent = parse_json(&body)?;
    let (submission, key_id) = registration(&who, &settings, env)?;
    let idem = Idem {
        org: who.org_id.into(),
        user: who.user_id.into(),
        key: key.0,
        hash,
        respond: idempotency::respond_json(
            StatusCode::CREATED,
            move |o| {
                serde_json::to_value(KeyRegistered {
                    key_id,
                    receipt: Receipt::from_outcome(o),
                })
                .unwrap_or_default()
            },
            writer_error,
        ),
    };
    let (stored, replayed) = writer
        .submit_idempotent(submission, idem)
        .await
        .map_err(writer_error)?;
    Ok(stored.response(replayed))
}

/// Parses a JSON body with the same errors as the `Json` extractor.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))
}

/// Checks a key registration and builds its submission; refusals here
/// depend only on the request, so they are not stored for replay.
fn registration(
    who: &Principal,
    settings: &Settings,
    env: SignedIntent,
) -> Result<(Submission, String), ApiError> {
    let (intent, sigs) = check_envelope(&env, Timestamp::now(), settings.clock_skew_secs)?;
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
