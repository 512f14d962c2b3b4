//! Settlement bank accounts. Financing is disbursed only to the holder's
//! verified account (受托支付, BRIEF.md §1.1): an organisation's admin adds
//! the account (`account.add`), the platform operator verifies or rejects
//! it (`account.verify`, after a small-amount test transfer, say), and the
//! organisation may revoke a verified account (`account.revoke`). The
//! disbursement workflow asks [`verified_account`] under the writer, so a
//! revocation committed before it cannot be missed.

use crate::db::schema::{organisations, settlement_accounts as sa};
use crate::db::{DbConn, DbId, DbInstant};
use crate::ledger::writer::{CommandError, EntryView};
use crate::parties::model::{AccountEvent, AccountStatus, OrgStatus};
use crate::parties::onboarding::text;
use crate::routes::mutation::rejected;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Settlement accounts are in renminbi; the platform finances in CNY only.
pub const CURRENCY: &str = "CNY";
const MIN_DIGITS: usize = 8;
const MAX_DIGITS: usize = 32;

/// Body of `account.add`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    /// A new id for the account, made by the client (UUID).
    #[schema(value_type = String, format = Uuid)]
    pub account_id: Uuid,
    /// The bank, e.g. `中国工商银行`.
    pub bank_name: String,
    /// The branch that keeps the account (开户行).
    pub branch: String,
    /// 8 to 32 digits; spaces and hyphens between groups are dropped and
    /// full-width digits read as digits.
    pub account_number: String,
    /// The account holder's name: exactly your organisation's registered
    /// name.
    pub account_name: String,
    /// `CNY`.
    pub currency: String,
}

/// The operator's finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Verified,
    Rejected,
}

/// Body of `account.verify`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    #[schema(value_type = String, format = Uuid)]
    pub account_id: Uuid,
    pub outcome: Outcome,
    /// Required for a rejection, so the firm knows what to correct; for a
    /// verification, what was checked (the test transfer, say).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Body of `account.revoke`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    #[schema(value_type = String, format = Uuid)]
    pub account_id: Uuid,
    pub reason: String,
}

/// A stored account, as the disbursement workflow gets it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct AccountRow {
    pub id: DbId,
    pub org_id: DbId,
    pub bank_name: String,
    pub branch: String,
    pub account_number: String,
    pub account_name: String,
    pub currency: String,
    pub status: String,
    pub reason: Option<String>,
    pub added_by: DbId,
    pub added_seq: i64,
    pub decided_by: Option<DbId>,
    pub decided_seq: Option<i64>,
    pub revoked_seq: Option<i64>,
    pub created_at: DbInstant,
    pub updated_at: DbInstant,
}

macro_rules! columns {
    () => {
        (
            sa::id,
            sa::org_id,
            sa::bank_name,
            sa::branch,
            sa::account_number,
            sa::account_name,
            sa::currency,
            sa::status,
            sa::reason,
            sa::added_by,
            sa::added_seq,
            sa::decided_by,
            sa::decided_seq,
            sa::revoked_seq,
            sa::created_at,
            sa::updated_at,
        )
    };
}

impl AccountRow {
    pub fn status(&self) -> Result<AccountStatus, CommandError> {
        AccountStatus::parse(&self.status).ok_or_else(|| {
            CommandError::Storage(format!(
                "account {} has unknown status {}",
                self.id.0, self.status
            ))
        })
    }
}

/// An account as a reader sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Account {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub org_id: Uuid,
    pub bank_name: String,
    pub branch: String,
    /// The full number: only for the holder and the platform operator,
    /// `null` for anyone else.
    #[schema(required = true)]
    pub account_number: Option<String>,
    /// The last four digits, for everyone who sees the account.
    pub account_number_masked: String,
    pub account_name: String,
    pub currency: String,
    pub status: AccountStatus,
    /// Why it was rejected or revoked, or what the verification checked.
    pub reason: Option<String>,
    #[schema(value_type = String, format = Uuid)]
    pub added_by: Uuid,
    /// The operator user who verified or rejected it.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub decided_by: Option<Uuid>,
    /// The ledger entries that added, decided and revoked it.
    pub added_seq: i64,
    pub decided_seq: Option<i64>,
    pub revoked_seq: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

impl crate::listing::CsvRow for Account {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "org_id",
        "bank_name",
        "branch",
        "account_number",
        "account_number_masked",
        "account_name",
        "currency",
        "status",
        "reason",
        "added_by",
        "decided_by",
        "created_at",
        "updated_at",
    ];
}

/// `****` and the last four digits.
pub fn mask(number: &str) -> String {
    let tail: String = number
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("****{tail}")
}

impl Account {
    /// `full`: whether the reader may see the whole number (the holder
    /// and the platform operator).
    pub fn view(row: AccountRow, full: bool) -> Account {
        Account {
            id: row.id.0,
            org_id: row.org_id.0,
            bank_name: row.bank_name,
            branch: row.branch,
            account_number_masked: mask(&row.account_number),
            account_number: full.then_some(row.account_number),
            account_name: row.account_name,
            currency: row.currency,
            status: AccountStatus::parse(&row.status).unwrap_or(AccountStatus::Revoked),
            reason: row.reason,
            added_by: row.added_by.0,
            decided_by: row.decided_by.map(|d| d.0),
            added_seq: row.added_seq,
            decided_seq: row.decided_seq,
            revoked_seq: row.revoked_seq,
            created_at: row.created_at.to_text(),
            updated_at: row.updated_at.to_text(),
        }
    }
}

fn unprocessable(m: impl Into<String>) -> CommandError {
    rejected(422, "unprocessable", m)
}

/// The number as banks key it: ASCII digits only. People copy numbers
/// grouped by spaces or hyphens, and Chinese input methods type
/// full-width digits; both are the same account.
pub fn normalise_account_number(raw: &str) -> Result<String, CommandError> {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            ' ' | '\u{3000}' | '-' => {}
            '0'..='9' => out.push(c),
            '０'..='９' => {
                let d = u32::from(c) - u32::from('０');
                out.extend(char::from_digit(d, 10));
            }
            _ => {
                return Err(unprocessable(format!(
                    "account_number must be digits (spaces and hyphens between groups are allowed), not {raw:?}"
                )));
            }
        }
    }
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&out.len()) {
        return Err(unprocessable(format!(
            "account_number must have {MIN_DIGITS} to {MAX_DIGITS} digits, not {}",
            out.len()
        )));
    }
    Ok(out)
}

fn seq(view: &EntryView<'_>) -> i64 {
    i64::try_from(view.seq).unwrap_or(i64::MAX)
}

fn at(view: &EntryView<'_>) -> DbInstant {
    DbInstant::new(view.time.as_datetime())
}

pub fn load(conn: &mut DbConn, id: DbId) -> Result<Option<AccountRow>, diesel::result::Error> {
    sa::table
        .filter(sa::id.eq(id))
        .select(columns!())
        .first(conn)
        .optional()
}

/// `account.add`: an organisation that passed KYC adds an account in its
/// own name; it waits for the operator's verification.
pub fn add(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    user: DbId,
    body: &AddBody,
) -> Result<serde_json::Value, CommandError> {
    let found: Option<(String, String)> = organisations::table
        .filter(organisations::id.eq(org))
        .select((organisations::name, organisations::status))
        .first(conn)
        .optional()?;
    let Some((registered, status)) = found else {
        return Err(rejected(404, "not_found", "no such organisation"));
    };
    if status != OrgStatus::Approved.as_str() {
        return Err(rejected(
            409,
            "conflict",
            format!(
                "your organisation is {status}: it must pass KYC before it adds a settlement account"
            ),
        ));
    }
    if body.currency != CURRENCY {
        return Err(unprocessable(format!(
            "currency must be {CURRENCY}, not {:?}",
            body.currency
        )));
    }
    let bank_name = text("bank_name", &body.bank_name)?;
    let branch = text("branch", &body.branch)?;
    let account_name = text("account_name", &body.account_name)?;
    // Disbursing to an account held by anyone else would be paying a third
    // party: the holder must be the organisation as registered and checked.
    if account_name != registered {
        return Err(unprocessable(format!(
            "account_name must be your organisation's registered name {registered:?}, not {account_name:?}"
        )));
    }
    let number = normalise_account_number(&body.account_number)?;
    let id = DbId::from(body.account_id);
    if load(conn, id)?.is_some() {
        return Err(rejected(
            409,
            "conflict",
            format!("account id {} is taken", body.account_id),
        ));
    }
    let live: Option<DbId> = sa::table
        .filter(sa::org_id.eq(org))
        .filter(sa::account_number.eq(&number))
        .filter(sa::status.eq_any([
            AccountStatus::Pending.as_str(),
            AccountStatus::Verified.as_str(),
        ]))
        .select(sa::id)
        .first(conn)
        .optional()?;
    if let Some(existing) = live {
        return Err(rejected(
            409,
            "conflict",
            format!(
                "this account is already registered ({}), pending or verified",
                existing.0
            ),
        ));
    }
    let now = at(view);
    diesel::insert_into(sa::table)
        .values((
            sa::id.eq(id),
            sa::org_id.eq(org),
            sa::bank_name.eq(&bank_name),
            sa::branch.eq(&branch),
            sa::account_number.eq(&number),
            sa::account_name.eq(&account_name),
            sa::currency.eq(CURRENCY),
            sa::status.eq(AccountStatus::Pending.as_str()),
            sa::added_by.eq(user),
            sa::added_seq.eq(seq(view)),
            sa::created_at.eq(now),
            sa::updated_at.eq(now),
        ))
        .execute(conn)?;
    answer(conn, id)
}

fn answer(conn: &mut DbConn, id: DbId) -> Result<serde_json::Value, CommandError> {
    let row = load(conn, id)?
        .ok_or_else(|| CommandError::Storage(format!("account {} vanished", id.0)))?;
    Ok(serde_json::json!({ "account": Account::view(row, true) }))
}

/// Moves `row` by `event`, or refuses with the moves its status allows.
fn step(row: &AccountRow, event: AccountEvent) -> Result<AccountStatus, CommandError> {
    let status = row.status()?;
    status.next(event).ok_or_else(|| {
        let allowed: Vec<&str> = status.allowed().iter().map(|e| e.as_str()).collect();
        rejected(
            409,
            "conflict",
            format!(
                "the account is {status}: it cannot {event} (allowed: {})",
                if allowed.is_empty() {
                    "nothing; add the account again".to_owned()
                } else {
                    allowed.join(", ")
                }
            ),
        )
    })
}

/// `account.verify`: the platform operator's finding on a pending account.
pub fn verify(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    user: DbId,
    body: &VerifyBody,
) -> Result<serde_json::Value, CommandError> {
    let id = DbId::from(body.account_id);
    let row =
        load(conn, id)?.ok_or_else(|| rejected(404, "not_found", "no such settlement account"))?;
    // Four eyes: when the operator registers its own account, the user who
    // added it does not also vouch for it.
    if row.added_by == user {
        return Err(rejected(
            403,
            "forbidden",
            "the user who added an account cannot verify it",
        ));
    }
    let (event, reason) = match body.outcome {
        Outcome::Verified => (
            AccountEvent::Verify,
            body.reason
                .as_deref()
                .map(|r| text("reason", r))
                .transpose()?,
        ),
        Outcome::Rejected => {
            let r = body
                .reason
                .as_deref()
                .ok_or_else(|| unprocessable("a rejection needs a reason the firm can act on"))?;
            (AccountEvent::Reject, Some(text("reason", r)?))
        }
    };
    let next = step(&row, event)?;
    diesel::update(sa::table.filter(sa::id.eq(id)))
        .set((
            sa::status.eq(next.as_str()),
            sa::reason.eq(reason),
            sa::decided_by.eq(Some(user)),
            sa::decided_seq.eq(Some(seq(view))),
            sa::updated_at.eq(at(view)),
        ))
        .execute(conn)?;
    answer(conn, id)
}

/// `account.revoke`: the holder withdraws a verified account; financing
/// is no longer paid into it.
pub fn revoke(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    org: DbId,
    body: &RevokeBody,
) -> Result<serde_json::Value, CommandError> {
    let id = DbId::from(body.account_id);
    let row = load(conn, id)?
        .filter(|r| r.org_id == org)
        .ok_or_else(|| rejected(404, "not_found", "no such settlement account of yours"))?;
    let reason = text("reason", &body.reason)?;
    let next = step(&row, AccountEvent::Revoke)?;
    diesel::update(sa::table.filter(sa::id.eq(id)))
        .set((
            sa::status.eq(next.as_str()),
            sa::reason.eq(Some(reason)),
            sa::revoked_seq.eq(Some(seq(view))),
            sa::updated_at.eq(at(view)),
        ))
        .execute(conn)?;
    answer(conn, id)
}

/// The account financing for `org` may be paid into: refused unless it is
/// `org`'s own (422, as if it did not exist, so one firm cannot learn of
/// another's accounts) and verified (409). Call it inside the writer's
/// transaction, with the disbursement it guards.
pub fn verified_account(
    conn: &mut DbConn,
    org: DbId,
    account: DbId,
) -> Result<AccountRow, CommandError> {
    let row = load(conn, account)?
        .filter(|r| r.org_id == org)
        .ok_or_else(|| {
            unprocessable(format!(
                "{} is not a settlement account of the organisation being paid",
                account.0
            ))
        })?;
    match row.status()? {
        AccountStatus::Verified => Ok(row),
        other => Err(rejected(
            409,
            "conflict",
            format!(
                "settlement account {} is {other}: financing is paid only into a verified account",
                account.0
            ),
        )),
    }
}

/// One page of accounts in id order: `org`'s own, or every organisation's
/// when `org` is `None` (the platform operator).
pub fn list(
    conn: &mut DbConn,
    org: Option<DbId>,
    status: Option<AccountStatus>,
    after: Option<DbId>,
    limit: i64,
) -> Result<Vec<AccountRow>, diesel::result::Error> {
    let mut q = sa::table
        .select(columns!())
        .order(sa::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(o) = org {
        q = q.filter(sa::org_id.eq(o));
    }
    if let Some(s) = status {
        q = q.filter(sa::status.eq(s.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(sa::id.gt(a));
    }
    q.load(conn)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn account_numbers_are_normalised_and_bounded() {
        for (raw, want) in [
            ("6222021234567890", "6222021234567890"),
            ("6222 0212 3456 7890", "6222021234567890"),
            ("6222-0212-3456-7890", "6222021234567890"),
            ("６２２２０２１２", "62220212"),
            ("12345678", "12345678"),
            (&"9".repeat(32), &"9".repeat(32)),
        ] {
            assert_eq!(normalise_account_number(raw).unwrap(), want, "{raw:?}");
        }
        for bad in [
            "",
            "1234567",
            &"9".repeat(33),
            "62220212345678a0",
            "6222.0212.3456",
            "+62220212345",
            "١٢٣٤٥٦٧٨٩",
            "12345678\u{0}",
        ] {
            assert!(normalise_account_number(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn masking_keeps_the_last_four_digits() {
        assert_eq!(mask("6222021234567890"), "****7890");
        assert_eq!(mask("12345678"), "****5678");
    }
}
