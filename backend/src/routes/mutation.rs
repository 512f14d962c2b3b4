//! The one flow every signed, idempotent mutation goes through: answer a
//! retry from storage, turn away a concurrent repeat, parse and check the
//! signed intent, let the endpoint build its submission, and have the
//! writer commit the ledger entry, the business change and the stored
//! answer together. A handler takes a [`Mutation`] (authenticated) or a
//! [`Signed`] (the signature is the only credential) and its body.

use crate::config::Settings;
use crate::db::{Db, DbConn, DbId};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::{self, IdempotencyKey, InFlight, Render, Stored};
use crate::ledger::writer::{Effect, EntryView, Idem, Respond};
use crate::ledger::{CommandError, Submission, Writer};
use crate::parties::auth::Principal;
use crate::routes::intents::{SignedIntent, check_envelope};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use scf_ledger::entry::SigRef;
use scf_ledger::hash::to_hex;
use scf_ledger::intent::Intent;
use scf_ledger::time::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
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

/// Maps a writer refusal to the API's codes: a replay or something that
/// exists already is a conflict, any other ledger rule an unprocessable
/// request.
pub fn writer_error(e: CommandError) -> ApiError {
    match e {
        // An asset already encumbered is, for an invoice, one already recorded.
        CommandError::Ledger(v)
            if matches!(
                v.code,
                "duplicate_intent"
                    | "key_exists"
                    | "certificate_exists"
                    | "certificate_spent"
                    | "asset_already_encumbered"
                    | "invoice_financed_twice"
                    | "invoice_void"
            ) =>
        {
            ApiError::new(ErrorCode::Conflict, format!("{}: {}", v.code, v.message))
        }
        other => other.into(),
    }
}

/// Parses a JSON body with the same errors as the `Json` extractor.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))
}

/// Parses an intent's `body` into the event's typed body; a refusal names
/// the member at fault.
pub fn intent_body<T: DeserializeOwned>(intent: &Intent) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::Object(intent.body.clone())).map_err(|e| {
        ApiError::new(
            ErrorCode::Unprocessable,
            format!("intent.body: {e} (see the operation's description for the body)"),
        )
    })
}

/// A refusal from a business change, as the writer reports it.
pub fn rejected(status: u16, code: &'static str, message: impl Into<String>) -> CommandError {
    CommandError::Rejected {
        status,
        code,
        message: message.into(),
        errors: Vec::new(),
    }
}

/// The checked envelope of a signed intent of type `kind`.
#[derive(Debug)]
pub struct Checked {
    pub intent: Intent,
    pub sigs: Vec<SigRef>,
}

impl Checked {
    /// `now` is the platform clock's (see [`crate::clock`]).
    pub fn parse(
        env: &SignedIntent,
        settings: &Settings,
        now: Timestamp,
        kind: &str,
    ) -> Result<Checked, ApiError> {
        let (intent, sigs) = check_envelope(env, now, settings.clock_skew_secs)?;
        if intent.kind != kind {
            return Err(ApiError::new(
                ErrorCode::Unprocessable,
                format!("intent.type must be {kind}, not {}", intent.kind),
            ));
        }
        Ok(Checked {
            intent,
            sigs: sigs
                .into_iter()
                .map(|(key_id, sig)| SigRef { key_id, sig })
                .collect(),
        })
    }

    /// The intent must act for the caller's own organisation.
    pub fn for_org(self, org: uuid::Uuid) -> Result<Checked, ApiError> {
        if self.intent.org != org.to_string() {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "intent.org must be your own organisation's id",
            ));
        }
        Ok(self)
    }

    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        intent_body(&self.intent)
    }

    /// The submission recording this intent, with `effect` as its change.
    pub fn submission(self, env: SignedIntent, effect: Effect) -> Submission {
        Submission {
            intent: env.intent.into_bytes(),
            sigs: self.sigs,
            effect,
        }
    }
}

/// Under the writer: the intent's acting key must be a valid key of `user`,
/// so a token and a signature always name the same person.
pub fn ensure_signed_by(
    conn: &mut DbConn,
    intent: &Intent,
    user: DbId,
) -> Result<(), CommandError> {
    use crate::db::schema::signing_keys;
    use diesel::prelude::*;
    let owner: Option<DbId> = signing_keys::table
        .filter(signing_keys::key_id.eq(intent.key_id.to_hex()))
        .filter(signing_keys::revoked_seq.is_null())
        .select(signing_keys::user_id)
        .first(conn)
        .optional()?;
    if owner != Some(user) {
        return Err(rejected(
            403,
            "forbidden",
            "the intent must be signed by one of your own valid keys",
        ));
    }
    Ok(())
}

/// Who must have signed a mutation's intent.
#[derive(Debug, Clone, Copy)]
pub enum Signer {
    /// A valid key of this user (checked before queueing, and again under
    /// the writer, where it is final).
    OwnKeyOf(uuid::Uuid),
    /// The actor's first key, named when the user was created.
    Enrolling(scf_ledger::sig::PublicKey),
    /// The endpoint checks the signer itself.
    Endpoint,
}

/// The early, read-only form of [`ensure_signed_by`]: a foreign key is a
/// 403 before the ledger sees the entry (where it would be a rule
/// violation). An intent that does not parse is left to the envelope check.
async fn signed_by(db: &Db, env: &SignedIntent, user: uuid::Uuid) -> Result<(), ApiError> {
    let Ok(intent) = Intent::parse(env.intent.as_bytes()) else {
        return Ok(());
    };
    db.run(move |c| ensure_signed_by(c, &intent, user.into()))
        .await
        .map_err(writer_error)
}

/// Who a mutation is recorded against for idempotency.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user: uuid::Uuid,
    pub org: uuid::Uuid,
}

/// What every signed, idempotent mutation needs from its request, without
/// authentication: for enrolment and login the signature is the credential.
#[derive(Debug)]
pub struct Signed {
    pub req: HttpRequest,
    pub key: IdempotencyKey,
    pub db: web::Data<Db>,
    pub writer: web::Data<Writer>,
    pub inflight: web::Data<InFlight>,
    pub settings: web::Data<Settings>,
}

fn app_data<T: 'static>(req: &HttpRequest, what: &str) -> Result<web::Data<T>, ApiError> {
    req.app_data::<web::Data<T>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("{what} is not configured")))
}

impl Signed {
    fn from_parts(req: HttpRequest, key: IdempotencyKey) -> Result<Signed, ApiError> {
        Ok(Signed {
            key,
            db: app_data(&req, "the database")?,
            writer: app_data(&req, "the writer")?,
            inflight: app_data(&req, "the idempotency registry")?,
            settings: app_data(&req, "the settings")?,
            req,
        })
    }

    /// Runs the shared flow for `actor` and returns the stored answer and
    /// whether it replays an earlier request. `build` checks the envelope
    /// and makes the submission; `respond` renders what is stored.
    pub async fn submit(
        self,
        actor: Actor,
        body: &[u8],
        signer: Signer,
        build: impl FnOnce(SignedIntent) -> Result<(Submission, Respond), ApiError>,
    ) -> Result<(Stored, bool), ApiError> {
        let hash = idempotency::request_hash(&self.req, body);
        if let Some(replay) =
            idempotency::precheck(&self.db, actor.user, &self.key, hash.clone()).await?
        {
            return Ok((replay, true));
        }
        let _running = self.inflight.enter(actor.user, &self.key)?;
        let env: SignedIntent = parse_json(body)?;
        match signer {
            Signer::OwnKeyOf(user) => signed_by(&self.db, &env, user).await?,
            Signer::Enrolling(key) => {
                self.db
                    .run(move |c| {
                        crate::parties::onboarding::check_enrolment(
                            c,
                            actor.user.into(),
                            actor.org.into(),
                            &key,
                        )
                    })
                    .await
                    .map_err(writer_error)?;
            }
            Signer::Endpoint => {}
        }
        let (submission, respond) = build(env)?;
        let idem = Idem {
            org: actor.org.into(),
            user: actor.user.into(),
            key: self.key.0,
            hash,
            respond,
        };
        self.writer
            .submit_idempotent(submission, idem)
            .await
            .map_err(writer_error)
    }

    /// The flow with a JSON answer rendered from the outcome.
    pub async fn run(
        self,
        actor: Actor,
        body: &[u8],
        status: StatusCode,
        signer: Signer,
        build: impl FnOnce(SignedIntent) -> Result<(Submission, Render), ApiError>,
    ) -> Result<HttpResponse, ApiError> {
        let (stored, replayed) = self
            .submit(actor, body, signer, |env| {
                let (s, render) = build(env)?;
                Ok((s, idempotency::respond_json(status, render, writer_error)))
            })
            .await?;
        Ok(stored.response(replayed))
    }
}

impl FromRequest for Signed {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Signed, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let key = IdempotencyKey::from_request(req, payload).into_inner();
        std::future::ready(key.and_then(|key| Signed::from_parts(req.clone(), key)))
    }
}

/// A signed mutation by an authenticated caller.
#[derive(Debug)]
pub struct Mutation {
    pub who: Principal,
    pub signed: Signed,
}

impl FromRequest for Mutation {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Mutation, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let key = IdempotencyKey::from_request(&req, payload).into_inner();
        let who = Principal::from_request(&req, payload);
        Box::pin(async move {
            // Authentication first: an anonymous caller learns nothing else.
            let who = who.await?;
            Ok(Mutation {
                who,
                signed: Signed::from_parts(req, key?)?,
            })
        })
    }
}

impl Mutation {
    pub fn settings(&self) -> &Settings {
        &self.signed.settings
    }

    pub fn db(&self) -> &Db {
        &self.signed.db
    }

    /// The flow for an intent whose signer the endpoint checks itself
    /// (a key signing its own registration, say).
    pub async fn run(
        self,
        body: &[u8],
        status: StatusCode,
        build: impl FnOnce(SignedIntent) -> Result<(Submission, Render), ApiError>,
    ) -> Result<HttpResponse, ApiError> {
        let actor = Actor {
            user: self.who.user_id,
            org: self.who.org_id,
        };
        self.signed
            .run(actor, body, status, Signer::Endpoint, build)
            .await
    }
}

impl Mutation {
    /// The common shape of a business mutation: a signed intent of `kind`
    /// for the caller's own organisation, signed by one of the caller's own
    /// keys, whose `body` parses as `T`. `effect` makes the change under the
    /// writer and returns the answer, to which the receipt is added.
    pub async fn business<T, F>(
        self,
        body: &[u8],
        status: StatusCode,
        kind: &'static str,
        effect: F,
    ) -> Result<HttpResponse, ApiError>
    where
        T: DeserializeOwned + Send + 'static,
        F: FnOnce(&mut DbConn, &EntryView<'_>, Actor, T) -> Result<serde_json::Value, CommandError>
            + Send
            + 'static,
    {
        let (org, settings) = (self.who.org_id, self.settings().clone());
        let actor = Actor {
            user: self.who.user_id,
            org,
        };
        let signer = Signer::OwnKeyOf(actor.user);
        let clock = self.signed.writer.clock().clone();
        self.signed
            .run(actor, body, status, signer, move |env| {
                let checked = Checked::parse(&env, &settings, clock.now(), kind)?.for_org(org)?;
                let typed: T = checked.body()?;
                let change: Effect = Box::new(move |c, view| {
                    ensure_signed_by(c, view.intent, actor.user.into())?;
                    effect(c, view, actor, typed)
                });
                Ok((checked.submission(env, change), render_effect()))
            })
            .await
    }
}

/// Renders a receipt-carrying answer: `value` with the receipt added.
pub fn render_with_receipt<T: Serialize + Send + 'static>(value: T) -> Render {
    Box::new(move |o| {
        let mut v = serde_json::to_value(value).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "receipt".into(),
                serde_json::to_value(Receipt::from_outcome(o)).unwrap_or_default(),
            );
        }
        v
    })
}

/// Renders the business change's own answer (its effect's value) with the
/// receipt added.
pub fn render_effect() -> Render {
    Box::new(|o| {
        let mut v = o.value.clone();
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "receipt".into(),
                serde_json::to_value(Receipt::from_outcome(o)).unwrap_or_default(),
            );
        }
        v
    })
}
