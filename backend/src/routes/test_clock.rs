//! Test mode only: the platform operator moves the platform clock forward,
//! so an end-to-end run can reach maturities and days past due. The route
//! is not registered, and not in the OpenAPI document, unless the server
//! runs with `SCF_TEST_MODE=true`; in normal mode it answers 404 like any
//! unknown path.

use crate::error::{ApiError, ErrorCode};
use crate::parties::model::Action;
use crate::routes::intents::SignedIntent;
use crate::routes::mutation::{Mutation, intent_body, rejected};
use crate::routes::organisations::permit;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use scf_ledger::intent::Intent;
use scf_ledger::time::Timestamp;
use serde::Deserialize;

/// Body of `clock.advance`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceBody {
    /// RFC 3339 UTC; not before the platform's current time.
    pub to: String,
}

/// `POST /v1/test/clock`: a signed `clock.advance` intent of the operator's
/// admin. The entry records the jump; the clock moves once it committed.
pub async fn advance(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::MoveClock)?;
    let clock = m.signed.writer.clock().clone();
    if !clock.is_movable() {
        return Err(ApiError::new(ErrorCode::NotFound, "no such route"));
    }
    let answer = m
        .business(
            &body,
            StatusCode::OK,
            "clock.advance",
            |_c, view, _by, body: AdvanceBody| {
                let to = Timestamp::parse(&body.to).ok_or_else(|| {
                    rejected(
                        422,
                        "unprocessable",
                        "intent.body.to must be an RFC 3339 UTC timestamp",
                    )
                })?;
                if to < view.time {
                    return Err(rejected(
                        422,
                        "unprocessable",
                        format!(
                            "the clock only moves forward: {to} is before the platform's time {}",
                            view.time
                        ),
                    ));
                }
                Ok(serde_json::json!({ "from": view.time.to_string(), "to": to.to_string() }))
            },
        )
        .await?;
    // A retry replays the stored answer; moving to the same time again is
    // then a no-op.
    if answer.status().is_success()
        && let Some(to) = requested(&body)
    {
        clock.advance_to(to);
    }
    Ok(answer)
}

/// The time a well-formed request asks for; the writer has checked it.
fn requested(body: &[u8]) -> Option<Timestamp> {
    let env: SignedIntent = serde_json::from_slice(body).ok()?;
    let intent = Intent::parse(env.intent.as_bytes()).ok()?;
    let claim: AdvanceBody = intent_body(&intent).ok()?;
    Timestamp::parse(&claim.to)
}
