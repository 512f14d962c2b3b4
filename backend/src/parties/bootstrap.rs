//! `scf bootstrap`: the platform operator's first administrator, their
//! signing key (registered in the ledger) and an API token. Runs once.

use super::tokens::{self, PlainToken};
use crate::db::schema::{signing_keys, users};
use crate::db::{Db, DbConn, DbError, DbId, DbInstant};
use crate::ledger::writer::{CommandError, EntryView, Submission, Writer};
use diesel::prelude::*;
use scf_ledger::entry::SigRef;
use scf_ledger::intent::{Intent, signing_message};
use scf_ledger::sig::SecretKey;
use scf_ledger::state::types;
use scf_ledger::time::Timestamp;
use serde_json::json;

#[derive(Debug)]
pub struct Bootstrapped {
    pub org_id: DbId,
    pub user_id: DbId,
    pub key_id: String,
    pub seq: u64,
    pub token: PlainToken,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("already bootstrapped: the platform operator has users; add more through the API")]
    Already,
    #[error("the ledger refused the key registration: {0}")]
    Ledger(String),
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Token(#[from] tokens::TokenError),
}

fn has_users(conn: &mut DbConn, org: DbId) -> Result<bool, DbError> {
    let n: i64 = users::table
        .filter(users::org_id.eq(org))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Inserts a user and the signing key that a `key.add` entry registers; the
/// business change of that entry.
pub fn insert_user_with_key(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    user_id: DbId,
    org_id: DbId,
    name: &str,
    role: &str,
    key: &scf_ledger::sig::PublicKey,
) -> Result<(), CommandError> {
    let now = DbInstant::new(view.time.as_datetime());
    diesel::insert_into(users::table)
        .values((
            users::id.eq(user_id),
            users::org_id.eq(org_id),
            users::name.eq(name),
            users::role.eq(role),
            users::created_at.eq(now),
        ))
        .execute(conn)?;
    insert_signing_key(conn, view, user_id, org_id, key)
}

/// Records a key that a `key.add` entry registers for `user_id`.
pub fn insert_signing_key(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    user_id: DbId,
    org_id: DbId,
    key: &scf_ledger::sig::PublicKey,
) -> Result<(), CommandError> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::key_id.eq(key.key_id().to_hex()),
            signing_keys::user_id.eq(user_id),
            signing_keys::org_id.eq(org_id),
            signing_keys::public_key.eq(key.as_bytes().to_vec()),
            signing_keys::added_seq.eq(i64::try_from(view.seq).unwrap_or(i64::MAX)),
            signing_keys::created_at.eq(DbInstant::new(view.time.as_datetime())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Creates the operator's first admin with `key`, recording the key in the
/// ledger (a self-signed `key.add`, SPEC.md §8.3), and issues a token.
pub async fn bootstrap(
    db: &Db,
    writer: &Writer,
    operator: DbId,
    admin_name: &str,
    key: &SecretKey,
) -> Result<Bootstrapped, BootstrapError> {
    if db.run(move |c| has_users(c, operator)).await? {
        return Err(BootstrapError::Already);
    }
    let user_id = DbId::new_v7();
    let pk = key.public_key();
    let intent = Intent {
        kind: types::KEY_ADD.into(),
        org: operator.0.to_string(),
        key_id: pk.key_id(),
        subject: user_id.0.to_string(),
        assets: vec![],
        body: json!({
            "public_key": pk.to_hex(),
            "user": user_id.0.to_string(),
            "role": "admin",
            "name": admin_name,
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
        id: format!("bootstrap-{}", user_id.0),
        client_time: Timestamp::now(),
    };
    let bytes = intent.to_bytes();
    let sig = key.sign(&signing_message(&bytes));
    let name = admin_name.to_owned();
    let outcome = writer
        .submit(Submission {
            intent: bytes,
            sigs: vec![SigRef {
                key_id: pk.key_id(),
                sig,
            }],
            effect: Box::new(move |c, view| {
                // Checked again under the writer, so two bootstraps cannot both win.
                if has_users(c, operator)? {
                    return Err(CommandError::Rejected {
                        status: 409,
                        code: "already_bootstrapped",
                        message: "the platform operator already has users".into(),
                        errors: Vec::new(),
                    });
                }
                insert_user_with_key(c, view, user_id, operator, &name, "admin", &pk)?;
                Ok(json!({}))
            }),
        })
        .await
        .map_err(|e| match e {
            CommandError::Rejected { status: 409, .. } => BootstrapError::Already,
            other => BootstrapError::Ledger(other.to_string()),
        })?;
    let token = db
        .run(move |c| -> Result<PlainToken, tokens::TokenError> {
            tokens::issue(
                c,
                user_id,
                operator,
                "bootstrap",
                tokens::DEFAULT_TOKEN_DAYS,
            )
        })
        .await?;
    Ok(Bootstrapped {
        org_id: operator,
        user_id,
        key_id: pk.key_id().to_hex(),
        seq: outcome.receipt.seq,
        token,
    })
}
