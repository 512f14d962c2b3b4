//! API tokens: random, prefixed so a leaked one is recognisable in logs and
//! secret scanners, stored only as a SHA-256 hash, shown once, expiring and
//! revocable. A fast hash is enough: tokens carry 192 random bits, so there
//! is nothing to brute-force that a slow hash would protect.

use crate::db::schema::api_tokens;
use crate::db::{DbConn, DbError, DbId, DbInstant};
use chrono::{Duration, Utc};
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

/// Issues a token for `user_id` of `org_id`, valid for `days`.
pub fn issue(
    conn: &mut DbConn,
    user_id: DbId,
    org_id: DbId,
    label: &str,
    days: i64,
) -> Result<PlainToken, TokenError> {
    let mut raw = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut raw).map_err(|e| TokenError::Random(e.to_string()))?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(raw));
    let now = Utc::now();
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(DbId::new_v7()),
            api_tokens::user_id.eq(user_id),
            api_tokens::org_id.eq(org_id),
            api_tokens::prefix.eq(visible_prefix(&token)),
            api_tokens::token_hash.eq(hash(&token)),
            api_tokens::label.eq(label),
            api_tokens::created_at.eq(DbInstant::new(now)),
            api_tokens::expires_at.eq(DbInstant::new(now + Duration::days(days))),
        ))
        .execute(conn)?;
    Ok(PlainToken(token))
}
