//! The signed-intent envelope every state-changing call carries, and a
//! stateless check of it.
//!
//! The check covers what needs no stored state: canonical form and schema
//! (SPEC.md §4), signature list shape (§5.1) and the clock-skew window. It
//! cannot check signatures, since the keys live in the key registry; a
//! submission endpoint does that after [`check_envelope`] passes.

use crate::config::Settings;
use crate::error::{ApiError, ErrorCode, FieldError};
use actix_web::{HttpResponse, post, web};
use scf_ledger::entry::MAX_SIGS;
use scf_ledger::intent::{Intent, IntentError};
use scf_ledger::sig::{KeyId, Signature};
use scf_ledger::time::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One signature over `"scf-ledger/v1/intent\n" ‖ intent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentSig {
    /// 32 lowercase hex characters.
    #[schema(example = "8f3a0c1e5b7d9f2a4c6e8a0b2d4f6a8c")]
    pub key_id: String,
    /// 128 lowercase hex characters (Ed25519 `R ‖ S`).
    pub sig: String,
}

/// A signed intent as clients send it: `scf sign` prints exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedIntent {
    /// The intent bytes as a JSON string: canonical JSON (RFC 8785), kept
    /// byte for byte as signed.
    #[schema(
        example = r#"{"assets":[],"body":{},"client_time":"2026-01-31T08:00:00.000000Z","id":"0192f7a0-1b2c-7d3e-8f40-0123456789ab","key_id":"8f3a0c1e5b7d9f2a4c6e8a0b2d4f6a8c","org":"acme","schema":1,"subject":"","type":"key.add"}"#
    )]
    pub intent: String,
    /// 1–16 signatures, no key twice; the first is the acting key named by
    /// the intent's `key_id`.
    pub sigs: Vec<IntentSig>,
}

/// What the check found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntentSummary {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub org: String,
    pub key_id: String,
    pub subject: String,
    pub client_time: String,
    /// How many signatures are attached (not yet verified).
    pub sigs: usize,
}

fn field_error(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        row: None,
        field: field.into(),
        message: message.into(),
    }
}

fn unprocessable(errors: Vec<FieldError>) -> ApiError {
    let detail = errors.first().map_or_else(
        || "the signed intent is invalid".to_owned(),
        |e| format!("{}: {}", e.field, e.message),
    );
    ApiError::new(ErrorCode::Unprocessable, detail).with_errors(errors)
}

/// Everything about a signed intent that can be checked without stored
/// state. Returns the parsed intent and the decoded signatures.
pub fn check_envelope(
    env: &SignedIntent,
    now: Timestamp,
    max_skew_secs: u64,
) -> Result<(Intent, Vec<(KeyId, Signature)>), ApiError> {
    let intent = Intent::parse(env.intent.as_bytes()).map_err(|e| {
        let field = match &e {
            IntentError::Field { field, .. } => format!("intent.{field}"),
            IntentError::UnknownField(f) => format!("intent.{f}"),
            IntentError::TooLarge | IntentError::Json(_) => "intent".to_owned(),
        };
        unprocessable(vec![field_error(field, e.to_string())])
    })?;

    let mut errors = Vec::new();
    let sigs_count = || field_error("sigs", format!("must hold 1 to {MAX_SIGS} signatures"));
    if env.sigs.len() > MAX_SIGS {
        // Checking each of a long list costs time quadratic in its length
        // (duplicates) and an error apiece, for a refusal that is certain.
        return Err(unprocessable(vec![sigs_count()]));
    }
    if env.sigs.is_empty() {
        errors.push(sigs_count());
    }
    let mut sigs = Vec::with_capacity(env.sigs.len());
    for (i, s) in env.sigs.iter().enumerate() {
        let key_id = KeyId::from_hex(&s.key_id);
        let sig = Signature::from_hex(&s.sig);
        if key_id.is_none() {
            errors.push(field_error(
                format!("sigs[{i}].key_id"),
                "must be 32 lowercase hex characters",
            ));
        }
        if sig.is_none() {
            errors.push(field_error(
                format!("sigs[{i}].sig"),
                "must be 128 lowercase hex characters",
            ));
        }
        if let (Some(k), Some(sig)) = (key_id, sig) {
            if sigs.iter().any(|(seen, _)| *seen == k) {
                errors.push(field_error(
                    format!("sigs[{i}].key_id"),
                    "the same key signs twice",
                ));
            }
            sigs.push((k, sig));
        }
    }
    if let Some(first) = env.sigs.first()
        && first.key_id != intent.key_id.to_hex()
    {
        errors.push(field_error(
            "sigs[0].key_id",
            "must be the intent's key_id (the acting key signs first)",
        ));
    }

    let skew = (now.unix_micros() - intent.client_time.unix_micros()).unsigned_abs();
    if skew > max_skew_secs.saturating_mul(1_000_000) {
        errors.push(field_error(
            "intent.client_time",
            format!(
                "is {}s away from the server clock {now}; at most {max_skew_secs}s is allowed",
                skew / 1_000_000
            ),
        ));
    }

    if errors.is_empty() {
        Ok((intent, sigs))
    } else {
        Err(unprocessable(errors))
    }
}

/// Checks a signed intent's form without submitting it.
///
/// Signatures are not verified here (that needs the key registry); use this
/// to debug a client's canonicalisation and clock before submitting. It
/// changes nothing, so it takes no `Idempotency-Key`.
#[utoipa::path(
    tag = "intents",
    operation_id = "check_intent",
    request_body = SignedIntent,
    responses(
        (status = 200, description = "The envelope is well formed", body = IntentSummary),
        (status = 400, description = "The body is not JSON of this shape",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The intent or its signature list is invalid",
            body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/intents/check")]
pub async fn check_intent(
    settings: web::Data<Settings>,
    writer: web::Data<crate::ledger::Writer>,
    body: web::Json<SignedIntent>,
) -> Result<HttpResponse, ApiError> {
    let (intent, sigs) = check_envelope(&body, writer.clock().now(), settings.clock_skew_secs)?;
    Ok(HttpResponse::Ok().json(IntentSummary {
        id: intent.id,
        kind: intent.kind,
        org: intent.org,
        key_id: intent.key_id.to_hex(),
        subject: intent.subject,
        client_time: intent.client_time.to_string(),
        sigs: sigs.len(),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use scf_ledger::sig::SecretKey;

    fn signed(client_time: &str) -> SignedIntent {
        let key = SecretKey::from_seed(&[7; 32]);
        let kid = key.public_key().key_id().to_hex();
        let intent = format!(
            r#"{{"assets":[],"body":{{}},"client_time":"{client_time}","id":"i-1","key_id":"{kid}","org":"acme","schema":1,"subject":"","type":"key.add"}}"#
        );
        let sig = key.sign(&scf_ledger::intent::signing_message(intent.as_bytes()));
        SignedIntent {
            intent,
            sigs: vec![IntentSig {
                key_id: kid,
                sig: sig.to_hex(),
            }],
        }
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-01-31T08:00:00Z").unwrap()
    }

    #[test]
    fn accepts_a_well_formed_envelope() {
        let (intent, sigs) =
            check_envelope(&signed("2026-01-31T08:04:00.000000Z"), now(), 300).unwrap();
        assert_eq!(intent.id, "i-1");
        assert_eq!(sigs.len(), 1);
    }

    #[test]
    fn refuses_skew_and_bad_sigs() {
        let e = check_envelope(&signed("2026-01-31T08:06:00.000000Z"), now(), 300).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Unprocessable);
        assert!(
            e.detail().starts_with("intent.client_time"),
            "{}",
            e.detail()
        );

        let mut env = signed("2026-01-31T08:00:00.000000Z");
        env.sigs.push(env.sigs[0].clone());
        env.sigs.push(IntentSig {
            key_id: "AB".into(),
            sig: "00".into(),
        });
        let fields: Vec<String> = check_envelope(&env, now(), 300)
            .unwrap_err()
            .problem()
            .errors
            .unwrap()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["sigs[1].key_id", "sigs[2].key_id", "sigs[2].sig"]);

        env.sigs.clear();
        let e = check_envelope(&env, now(), 300).unwrap_err();
        assert_eq!(e.detail(), "sigs: must hold 1 to 16 signatures");
    }

    #[test]
    fn a_long_signature_list_is_one_quick_error() {
        let mut env = signed("2026-01-31T08:00:00.000000Z");
        env.sigs = (0..100_000)
            .map(|i| IntentSig {
                key_id: format!("{i:032x}"),
                sig: "ab".repeat(64),
            })
            .collect();
        let started = std::time::Instant::now();
        let e = check_envelope(&env, now(), 300).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(e.problem().errors.unwrap().len(), 1);
    }

    #[test]
    fn refuses_non_canonical_intents() {
        let mut env = signed("2026-01-31T08:00:00.000000Z");
        env.intent = format!(" {}", env.intent);
        let e = check_envelope(&env, now(), 300).unwrap_err();
        assert!(e.detail().starts_with("intent: "), "{}", e.detail());
    }
}
