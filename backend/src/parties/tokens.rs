//! API tokens: random, prefixed so a leaked one is recognisable in logs and
//! secret scanners, stored only as a SHA-256 hash, shown once, expiring and
//! revocable. A fast hash is enough: tokens carry 192 random bits, so there
//! is nothing to brute-force that a slow hash would protect.

use crate::db::schema::api_tokens;
use crate::db::{DbConn, DbError, DbId, DbInstant};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::fmt;

pub const TOKEN_PREFIX: &str = "scf_";
/// Random bytes in a token (shown as 48 hex characters).
const TOKEN_BYTES: usize = 24;
pub const DEFAULT_TOKEN_DAYS: i64 = 90;

/// A token in clear, as the holder sees it once. Debug never shows it.
pub struct PlainToken(String);

impl PlainToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlainToken({}…)", visible_prefix(&self.0))
    }
}

/// The part of a token that may be shown and stored in clear.
pub fn visible_prefix(token: &str) -> &str {
    token.get(..TOKEN_PREFIX.len() + 6).unwrap_or(TOKEN_PREFIX)
}

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether `token` has the shape of one of ours; anything else is refused
/// without a database lookup.
pub fn well_formed(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 2 * TOKEN_BYTES && rest.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no secure randomness: {0}")]
    Random(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for TokenError {
    fn from(e: diesel::result::Error) -> Self {
        TokenError::Db(e.into())
    }
}

/// Issues a random token for `user_id` of `org_id`, valid for `days`
/// (bootstrap: there is no signed request to derive one from).
pub fn issue(
    conn: &mut DbConn,
    user_id: DbId,
    org_id: DbId,
    label: &str,
    days: i64,
) -> Result<PlainToken, TokenError> {
    let mut raw = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut raw).map_err(|e| TokenError::Random(e.to_string()))?;
    let token = PlainToken(format!("{TOKEN_PREFIX}{}", hex::encode(raw)));
    let now = Utc::now();
    let row = NewToken {
        id: DbId::new_v7(),
        user_id,
        org_id,
        label,
        created_at: now,
        expires_at: now + Duration::days(days),
        ledger_seq: None,
    };
    insert(conn, &row, &token)?;
    Ok(token)
}

/// A token row to store; the secret itself is never stored.
#[derive(Debug)]
pub struct NewToken<'a> {
    pub id: DbId,
    pub user_id: DbId,
    pub org_id: DbId,
    pub label: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The `auth.token` entry that issued it, for tokens issued over the API.
    pub ledger_seq: Option<u64>,
}

pub fn insert(
    conn: &mut DbConn,
    row: &NewToken<'_>,
    token: &PlainToken,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(row.id),
            api_tokens::user_id.eq(row.user_id),
            api_tokens::org_id.eq(row.org_id),
            api_tokens::prefix.eq(visible_prefix(token.expose())),
            api_tokens::token_hash.eq(hash(token.expose())),
            api_tokens::label.eq(row.label),
            api_tokens::created_at.eq(DbInstant::new(row.created_at)),
            api_tokens::expires_at.eq(DbInstant::new(row.expires_at)),
            api_tokens::ledger_seq.eq(row.ledger_seq.and_then(|s| i64::try_from(s).ok())),
        ))
        .execute(conn)?;
    Ok(())
}

pub const TOKEN_SECRET_FILE: &str = "token.key";

/// The server's key for tokens issued over the API. Such a token is
/// HMAC(key, the signed login intent's org and id): the server can show it
/// again to a retry of the same request (Idempotency-Key) without ever
/// storing it, and a copy of the database alone reveals no token.
#[derive(Clone)]
pub struct TokenSecret([u8; 32]);

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(…)")
    }
}

/// What a stored answer holds in place of a token; replays put the
/// re-derived token back.
pub const REDACTED: &str = "scf_000000000000000000000000000000000000000000000000";

impl TokenSecret {
    pub fn new(key: [u8; 32]) -> Self {
        TokenSecret(key)
    }

    pub fn load_or_create(
        data_dir: &std::path::Path,
    ) -> Result<Self, crate::ledger::keyfile::KeyFileError> {
        crate::ledger::keyfile::load_or_create_secret(data_dir, TOKEN_SECRET_FILE).map(TokenSecret)
    }

    /// The token issued by the login intent (`org`, `intent_id`); the
    /// ledger makes that pair unique, so each login yields its own token.
    pub fn derive(&self, org: &str, intent_id: &str) -> PlainToken {
        use hmac::{KeyInit, Mac};
        let mut out = [0u8; TOKEN_BYTES];
        if let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(&self.0) {
            mac.update(b"scf/v1/api-token\n");
            mac.update(org.as_bytes());
            mac.update(b"\n");
            mac.update(intent_id.as_bytes());
            let tag = mac.finalize().into_bytes();
            for (o, t) in out.iter_mut().zip(tag.iter()) {
                *o = *t;
            }
        }
        PlainToken(format!("{TOKEN_PREFIX}{}", hex::encode(out)))
    }
}
