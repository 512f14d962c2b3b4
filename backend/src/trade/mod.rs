//! Trade data behind receivables: purchase orders, deliveries and their
//! acceptance, and invoices (one at a time or in bulk). A trade is between
//! a program's core enterprise and one of its active counterparties: the
//! core firm buys from its upstream suppliers and sells to its downstream
//! distributors. Each object is visible to its parties (and a named
//! carrier) and to the operator's admins and auditors; to anyone else it
//! does not exist.

pub mod invoices;
pub mod orders;

use crate::db::schema::{organisations, programs, relationships};
use crate::db::{DbConn, DbId, DbInstant};
use crate::ledger::CommandError;
use crate::ledger::writer::EntryView;
use crate::parties::model::{Direction, RelStatus};
use crate::pricing::money::Money;
use crate::routes::mutation::rejected;
use diesel::prelude::*;
use rust_decimal::Decimal;

/// The parties of a trade in a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub program: DbId,
    pub core: DbId,
    pub seller: DbId,
    pub buyer: DbId,
}

pub(crate) fn no_such_program() -> CommandError {
    rejected(404, "not_found", "no such program visible to you")
}

/// The program's core enterprise, if the program exists and `org` takes
/// part in it (its core firm or an active counterparty of it).
pub fn program_core_for(
    conn: &mut DbConn,
    program: DbId,
    org: DbId,
) -> Result<Option<DbId>, diesel::result::Error> {
    let core: Option<DbId> = programs::table
        .filter(programs::id.eq(program))
        .select(programs::core_org_id)
        .first(conn)
        .optional()?;
    let Some(core) = core else { return Ok(None) };
    if core == org || active_direction(conn, core, org)?.is_some() {
        Ok(Some(core))
    } else {
        Ok(None)
    }
}

/// The direction of `counterparty`'s active relationship with `core`.
pub fn active_direction(
    conn: &mut DbConn,
    core: DbId,
    counterparty: DbId,
) -> Result<Option<Direction>, diesel::result::Error> {
    let dir: Option<String> = relationships::table
        .filter(relationships::core_org_id.eq(core))
        .filter(relationships::counterparty_org_id.eq(counterparty))
        .filter(relationships::status.eq(RelStatus::Active.as_str()))
        .select(relationships::direction)
        .first(conn)
        .optional()?;
    Ok(dir.as_deref().and_then(Direction::parse))
}

/// Checks that `seller` sells to `buyer` in `program` and that `actor` is
/// one of them: the core firm buys from upstream and sells downstream.
pub fn trade_parties(
    conn: &mut DbConn,
    program: DbId,
    seller: DbId,
    buyer: DbId,
    actor: DbId,
) -> Result<Trade, CommandError> {
    let core = program_core_for(conn, program, actor)?.ok_or_else(no_such_program)?;
    if actor != seller && actor != buyer {
        return Err(rejected(
            403,
            "forbidden",
            "you may record only trades your organisation is party to",
        ));
    }
    let ok = if buyer == core && seller != core {
        active_direction(conn, core, seller)? == Some(Direction::Upstream)
    } else if seller == core && buyer != core {
        active_direction(conn, core, buyer)? == Some(Direction::Downstream)
    } else {
        false
    };
    if !ok {
        return Err(rejected(
            422,
            "unprocessable",
            "a trade is between the program's core enterprise and an active counterparty: \
             the core firm buys from its upstream suppliers and sells to its downstream distributors",
        ));
    }
    Ok(Trade {
        program,
        core,
        seller,
        buyer,
    })
}

/// An organisation's USCC, once it has registered.
pub fn uscc_of(conn: &mut DbConn, org: DbId) -> Result<Option<String>, diesel::result::Error> {
    Ok(organisations::table
        .filter(organisations::id.eq(org))
        .select(organisations::uscc)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// A positive CNY amount in whole fen, as the API takes it (a decimal string).
pub fn parse_amount(text: &str) -> Result<Money, String> {
    let d: Decimal = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a decimal amount"))?;
    let m = Money::new(d).map_err(|e| e.to_string())?;
    if m.is_positive() {
        Ok(m)
    } else {
        Err("must be positive".into())
    }
}

pub(crate) fn seq_of(view: &EntryView<'_>) -> i64 {
    i64::try_from(view.seq).unwrap_or(i64::MAX)
}

pub(crate) fn time_of(view: &EntryView<'_>) -> DbInstant {
    DbInstant::new(view.time.as_datetime())
}

/// Who may read every trade object: the operator's admins and auditors.
pub fn sees_everything(org_kind: &str, role: &str) -> bool {
    use crate::parties::model::{OrgKind, Role};
    org_kind == OrgKind::PlatformOperator.as_str()
        && matches!(Role::parse(role), Some(Role::Admin | Role::Auditor))
}
