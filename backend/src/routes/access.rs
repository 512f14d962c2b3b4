//! Users and their credentials: an admin adds users (naming each one's
//! public key), a new user enrols that key, and a user logs in with a key
//! to get an API token, or revokes one. Signed and recorded like every
//! other mutation; a token itself is never stored or written to the ledger.

use crate::db::{DbConn, DbError, DbId};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::IdempotencyHeader;
use crate::idempotency::Stored;
use crate::ledger::EntryView;
use crate::pagination::{Page, PageQuery};
use crate::parties::model::Action;
use crate::parties::onboarding::{self, User, UserAddBody};
use crate::parties::tokens::{self, NewToken, REDACTED, TokenSecret};
use crate::routes::intents::SignedIntent;
use crate::routes::mutation::{
    Actor, Checked, Mutation, Receipt, Signed, Signer, ensure_signed_by, parse_json, rejected,
    render_effect, writer_error,
};
use crate::routes::organisations::permit;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use diesel::prelude::*;
use scf_ledger::sig::PublicKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserAdded {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: Uuid,
    pub role: crate::parties::model::Role,
    pub receipt: Receipt,
}

/// Add a user to your organisation.
///
/// An admin of the organisation. The body is a signed `user.add` intent of
/// your organisation whose body is a `UserAddBody`: the new user's id, name,
/// role and the public key they made with `scf keygen`. They enrol it with
/// POST /v1/enrolments, then log in with POST /v1/tokens.
#[utoipa::path(tag = "parties", operation_id = "add_user", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed user.add intent; its body is a UserAddBody"),
    responses(
        (status = 201, description = "Added; awaiting enrolment", body = UserAdded),
        (status = 403, description = "Not an admin, or not your own key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "User id or key taken, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/users")]
pub async fn add_user(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::AddUser)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "user.add",
        |c, view, by, body: UserAddBody| onboarding::add_user(c, view, by.org.into(), &body),
    )
    .await
}

/// The user and organisation a credential-less request claims, checked to
/// exist (404 otherwise, the same for a wrong organisation).
async fn claimed_user(
    s: &Signed,
    intent: &scf_ledger::intent::Intent,
    user: Uuid,
) -> Result<Actor, ApiError> {
    let org = Uuid::parse_str(&intent.org)
        .map_err(|_| ApiError::new(ErrorCode::NotFound, "no such user in that organisation"))?;
    let (u, o) = (DbId::from(user), DbId::from(org));
    let found =
        s.db.run(move |c| -> Result<i64, DbError> {
            use crate::db::schema::users;
            Ok(users::table
                .filter(users::id.eq(u))
                .filter(users::org_id.eq(o))
                .filter(users::disabled_at.is_null())
                .count()
                .get_result(c)?)
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Unavailable, e.to_string()))?;
    if found == 0 {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "no such user in that organisation",
        ));
    }
    Ok(Actor { user, org })
}

#[derive(Debug, Deserialize)]
struct EnrolBody {
    user: Uuid,
    public_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolled {
    pub key_id: String,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: Uuid,
    pub receipt: Receipt,
}

/// Enrol a new user's key (no token needed: the signature is the credential).
///
/// For a user created by onboarding, an invitation or an admin. The body is
/// a `key.add` intent of the user's organisation with `body.user` (the user
/// id) and `body.public_key` (the key named when the user was created),
/// signed by that key. Other body members are free (a device name, say).
/// The key is valid from the entry's seq; then log in with POST /v1/tokens.
#[utoipa::path(tag = "parties", operation_id = "enrol",
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A key.add intent signed by the key it adds"),
    responses(
        (status = 201, description = "Enrolled", body = Enrolled),
        (status = 403, description = "Not the key named when the user was created", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in that organisation", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already enrolled, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent or signature", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/enrolments")]
pub async fn enrol(s: Signed, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let env: SignedIntent = parse_json(&body)?;
    let clock = s.writer.clock().clone();
    let checked = Checked::parse(
        &env,
        &s.settings,
        clock.now(),
        scf_ledger::state::types::KEY_ADD,
    )?;
    let claim: EnrolBody = loose_body(&checked.intent)?;
    let key = PublicKey::from_hex(&claim.public_key).map_err(|e| {
        ApiError::new(
            ErrorCode::Unprocessable,
            format!("intent.body.public_key: {e}"),
        )
    })?;
    let actor = claimed_user(&s, &checked.intent, claim.user).await?;
    let settings = s.settings.clone();
    s.run(
        actor,
        &body,
        StatusCode::CREATED,
        // A wrong key is a plain 403 here rather than whichever ledger rule
        // it happens to break first; the writer checks again.
        Signer::Enrolling(key),
        move |env| {
            let checked = Checked::parse(
                &env,
                &settings,
                clock.now(),
                scf_ledger::state::types::KEY_ADD,
            )?;
            let (user, org) = (DbId::from(actor.user), DbId::from(actor.org));
            let key_id = key.key_id().to_hex();
            let effect = Box::new(move |c: &mut DbConn, view: &EntryView<'_>| {
                onboarding::enrol(c, view, user, org, &key)?;
                Ok(serde_json::json!({ "key_id": key_id, "user_id": actor.user }))
            });
            Ok((checked.submission(env, effect), render_effect()))
        },
    )
    .await
}

/// The named members of a body that allows others (SPEC: free members).
fn loose_body<T: serde::de::DeserializeOwned>(
    intent: &scf_ledger::intent::Intent,
) -> Result<T, ApiError> {
    crate::routes::mutation::intent_body(intent)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    user: Uuid,
    label: String,
    #[serde(default)]
    days: Option<u16>,
}

pub const MAX_TOKEN_DAYS: u16 = 90;
pub const DEFAULT_LOGIN_DAYS: u16 = 30;

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenIssued {
    #[schema(value_type = String, format = Uuid)]
    pub token_id: Uuid,
    /// The API token. Shown to this request and its retries only; the
    /// server keeps a hash.
    pub token: String,
    /// The part of the token safe to show in lists and logs.
    pub prefix: String,
    pub expires_at: String,
    pub receipt: Receipt,
}

/// Log in with a key: get an API token.
///
/// No token needed: the signature is the credential. The body is an
/// `auth.token` intent of the user's organisation with `body.user` (your
/// user id), `body.label` (what the token is for) and optionally
/// `body.days` (1 to 90, default 30), signed by one of your valid keys. The
/// issue is recorded in the ledger; the token is not.
#[utoipa::path(tag = "parties", operation_id = "issue_token",
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "An auth.token intent signed by one of the user's keys"),
    responses(
        (status = 201, description = "Issued", body = TokenIssued),
        (status = 403, description = "Not signed by one of the user's keys", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in that organisation", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/tokens")]
pub async fn issue_token(
    s: Signed,
    secret: web::Data<TokenSecret>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let env: SignedIntent = parse_json(&body)?;
    let clock = s.writer.clock().clone();
    let checked = Checked::parse(&env, &s.settings, clock.now(), "auth.token")?;
    let claim: TokenBody = checked.body()?;
    let days = claim.days.unwrap_or(DEFAULT_LOGIN_DAYS);
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(ApiError::new(
            ErrorCode::Unprocessable,
            format!("intent.body.days must be 1 to {MAX_TOKEN_DAYS}"),
        ));
    }
    let label = onboarding::text("label", &claim.label).map_err(writer_error)?;
    let actor = claimed_user(&s, &checked.intent, claim.user).await?;
    // The same request always yields the same token, so a retry can be
    // answered without the token ever being stored.
    let token = secret.derive(&checked.intent.org, &checked.intent.id);
    let token_hash_prefix = tokens::visible_prefix(token.expose()).to_owned();
    let settings = s.settings.clone();
    let for_effect = secret.derive(&checked.intent.org, &checked.intent.id);
    let (stored, replayed) = s
        .submit(actor, &body, Signer::OwnKeyOf(actor.user), move |env| {
            let checked = Checked::parse(&env, &settings, clock.now(), "auth.token")?;
            let (user, org) = (DbId::from(actor.user), DbId::from(actor.org));
            let token_id = DbId::new_v7();
            let effect = Box::new(move |c: &mut DbConn, view: &EntryView<'_>| {
                ensure_signed_by(c, view.intent, user)?;
                let created = view.time.as_datetime();
                let expires = created + chrono::Duration::days(i64::from(days));
                let row = NewToken {
                    id: token_id,
                    user_id: user,
                    org_id: org,
                    label: &label,
                    created_at: created,
                    expires_at: expires,
                    ledger_seq: Some(view.seq),
                };
                tokens::insert(c, &row, &for_effect)?;
                Ok(serde_json::json!({
                    "token_id": token_id.0,
                    "token": REDACTED,
                    "prefix": token_hash_prefix,
                    "expires_at": crate::db::DbInstant::new(expires).to_text(),
                }))
            });
            let respond = crate::idempotency::respond_json(
                StatusCode::CREATED,
                render_effect(),
                writer_error,
            );
            Ok((checked.submission(env, effect), respond))
        })
        .await?;
    Ok(reveal(stored, token.expose()).response(replayed))
}

/// Puts the token back into a stored answer (never into a refusal).
fn reveal(mut stored: Stored, token: &str) -> Stored {
    if stored.status == StatusCode::CREATED.as_u16() {
        let text = String::from_utf8_lossy(&stored.body).replace(REDACTED, token);
        stored.body = text.into_bytes();
    }
    stored
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeTokenBody {
    token_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenRevoked {
    #[schema(value_type = String, format = Uuid)]
    pub token_id: Uuid,
    pub receipt: Receipt,
}

/// Revoke an API token.
///
/// Your own tokens, or (admin) any token of your organisation. The body is
/// an `auth.token_revoke` intent of your organisation with `body.token_id`.
/// The token stops working at once.
#[utoipa::path(tag = "parties", operation_id = "revoke_token", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed auth.token_revoke intent"),
    responses(
        (status = 200, description = "Revoked", body = TokenRevoked),
        (status = 404, description = "No such live token of yours", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/tokens/revoke")]
pub async fn revoke_token(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let admin = m.who.role == crate::parties::model::Role::Admin.as_str();
    m.business(
        &body,
        StatusCode::OK,
        "auth.token_revoke",
        move |c, view, by, body: RevokeTokenBody| {
            use crate::db::schema::api_tokens as t;
            let (user, org) = (DbId::from(by.user), DbId::from(by.org));
            let mut q = diesel::update(t::table)
                .filter(t::id.eq(DbId::from(body.token_id)))
                .filter(t::org_id.eq(org))
                .filter(t::revoked_at.is_null())
                .into_boxed();
            if !admin {
                q = q.filter(t::user_id.eq(user));
            }
            let n = q
                .set(t::revoked_at.eq(crate::db::DbInstant::new(view.time.as_datetime())))
                .execute(c)?;
            if n == 0 {
                return Err(rejected(404, "not_found", "no such live token of yours"));
            }
            Ok(serde_json::json!({ "token_id": body.token_id }))
        },
    )
    .await
}

/// Users of your organisation.
///
/// Any user of the organisation; ordered by id. `enrolled` is false until
/// the user proved possession of the key named at creation.
/// `Accept: text/csv` exports the page as CSV.
#[utoipa::path(tag = "parties", operation_id = "list_users", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of users", body = Page<User>),
        (status = 400, description = "Bad limit or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/users")]
pub async fn list_users(
    http: actix_web::HttpRequest,
    who: crate::parties::auth::Principal,
    db: web::Data<crate::db::Db>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let req = page.request::<Uuid>("users")?;
    let (org, after, fetch) = (DbId::from(who.org_id), req.after, req.fetch_limit());
    let rows = db
        .run(move |c| {
            onboarding::org_users(c, org, after.map(DbId::from), fetch).map_err(DbError::from)
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Unavailable, e.to_string()))?;
    crate::listing::page(&http, Page::from_rows(&req, rows, |u| u.id)?)
}
