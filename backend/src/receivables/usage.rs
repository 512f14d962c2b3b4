//! What the limits already carry, kept as running sums (`limit_usage`), so
//! that an approval reads four rows instead of summing every exposed
//! financing of the program and of the borrower across the platform.
//!
//! One row per scope: the program, a funder's line in the program, a
//! counterparty in the program, and the borrower's platform-wide aggregate
//! (普惠型小微). The only writer is [`record_move`], which the financing
//! status hook calls in the transaction that changes the status: entering
//! an exposed status from a non-exposed one adds the advance, leaving
//! subtracts it. [`drift`] recomputes every sum from the financings, for
//! tests and for an operator who doubts them.

use crate::db::schema::{financings, limit_usage};
use crate::db::{DbConn, DbDecimal, DbId};
use crate::ledger::writer::CommandError;
use crate::parties::model::string_enum;
use crate::pricing::money::Money;
use crate::receivables::financing::FinancingRow;
use crate::receivables::financing_model::{FinancingStatus, Usage};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

string_enum!(
    /// Which limit a usage row feeds.
    Scope {
        Program => "program",
        Funder => "funder",
        Counterparty => "counterparty",
        Borrower => "borrower",
    }
);

fn storage(e: impl std::fmt::Display) -> CommandError {
    CommandError::Storage(e.to_string())
}

fn money(d: DbDecimal) -> Result<Money, CommandError> {
    Money::new(d.0).map_err(storage)
}

/// Where a row sits: program-scoped rows carry the program and its core
/// firm (the distribution key); the borrower aggregate carries neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub scope: &'static str,
    pub program_id: Option<DbId>,
    pub core_org_id: Option<DbId>,
    pub org_id: Option<DbId>,
}

/// The four rows a financing counts in.
fn keys(program: DbId, core: DbId, funder: DbId, applicant: DbId) -> [Key; 4] {
    let in_program = |scope: Scope, org| Key {
        scope: scope.as_str(),
        program_id: Some(program),
        core_org_id: Some(core),
        org_id: org,
    };
    [
        in_program(Scope::Program, None),
        in_program(Scope::Funder, Some(funder)),
        in_program(Scope::Counterparty, Some(applicant)),
        Key {
            scope: Scope::Borrower.as_str(),
            program_id: None,
            core_org_id: None,
            org_id: Some(applicant),
        },
    ]
}

fn keys_of(row: &FinancingRow) -> [Key; 4] {
    keys(
        row.program_id,
        row.core_org_id,
        row.funder_org_id,
        row.applicant_org_id,
    )
}

/// The stored rows for `row`'s four keys, by scope. One statement; each
/// branch of the disjunction is one index search.
fn stored(
    conn: &mut DbConn,
    row: &FinancingRow,
) -> Result<BTreeMap<String, (DbId, Money)>, CommandError> {
    use limit_usage::dsl as u;
    let found: Vec<(DbId, String, DbDecimal)> = u::limit_usage
        .filter(
            u::program_id
                .eq(row.program_id)
                .and(u::scope.eq(Scope::Program.as_str()))
                .or(u::program_id
                    .eq(row.program_id)
                    .and(u::scope.eq(Scope::Funder.as_str()))
                    .and(u::org_id.eq(row.funder_org_id)))
                .or(u::program_id
                    .eq(row.program_id)
                    .and(u::scope.eq(Scope::Counterparty.as_str()))
                    .and(u::org_id.eq(row.applicant_org_id)))
                .or(u::scope
                    .eq(Scope::Borrower.as_str())
                    .and(u::org_id.eq(row.applicant_org_id))),
        )
        .select((u::id, u::scope, u::exposed))
        .load(conn)?;
    found
        .into_iter()
        .map(|(id, scope, exposed)| Ok((scope, (id, money(exposed)?))))
        .collect()
}

fn exposed(status: FinancingStatus) -> bool {
    FinancingStatus::EXPOSED.contains(&status)
}

/// The status hook's half: moves `row`'s advance into or out of its four
/// sums when `from → to` enters or leaves an exposed status. Runs under the
/// writer, in the transaction of the status change.
pub fn record_move(
    conn: &mut DbConn,
    row: &FinancingRow,
    from: FinancingStatus,
    to: FinancingStatus,
    seq: i64,
) -> Result<(), CommandError> {
    let advance = money(row.advance_amount)?;
    let delta = match (exposed(from), exposed(to)) {
        (false, true) => advance,
        (true, false) => advance.negated(),
        _ => return Ok(()),
    };
    let mut current = stored(conn, row)?;
    for key in keys_of(row) {
        match current.remove(key.scope) {
            Some((id, was)) => {
                let now = was.checked_add(delta).map_err(storage)?;
                if now.amount() < rust_decimal::Decimal::ZERO {
                    return Err(storage(format!(
                        "{} usage would fall below zero ({was} + {delta}): the usage rows have drifted from the financings",
                        key.scope
                    )));
                }
                diesel::update(limit_usage::table.filter(limit_usage::id.eq(id)))
                    .set((
                        limit_usage::exposed.eq(DbDecimal(now.amount())),
                        limit_usage::updated_seq.eq(seq),
                    ))
                    .execute(conn)?;
            }
            None if delta.is_positive() => {
                diesel::insert_into(limit_usage::table)
                    .values((
                        limit_usage::id.eq(DbId::new_v7()),
                        limit_usage::scope.eq(key.scope),
                        limit_usage::program_id.eq(key.program_id),
                        limit_usage::core_org_id.eq(key.core_org_id),
                        limit_usage::org_id.eq(key.org_id),
                        limit_usage::exposed.eq(DbDecimal(delta.amount())),
                        limit_usage::updated_seq.eq(seq),
                    ))
                    .execute(conn)?;
            }
            None => {
                return Err(storage(format!(
                    "{} usage has no row to release {advance} from: the usage rows have drifted from the financings",
                    key.scope
                )));
            }
        }
    }
    Ok(())
}

/// What `row` itself contributes to the sums now (its advance while it is
/// exposed), so that readers can leave it out.
fn own_share(row: &FinancingRow) -> Result<Money, CommandError> {
    if exposed(row.status()) {
        money(row.advance_amount)
    } else {
        Ok(Money::ZERO)
    }
}

/// The three limits' usage for `row`'s program, funder and applicant, and
/// the applicant's platform-wide aggregate, leaving `row` itself out.
pub fn usage_for(conn: &mut DbConn, row: &FinancingRow) -> Result<(Usage, Money), CommandError> {
    let current = stored(conn, row)?;
    let own = own_share(row)?;
    let of = |scope: Scope| -> Result<Money, CommandError> {
        let sum = current.get(scope.as_str()).map_or(Money::ZERO, |r| r.1);
        sum.checked_sub(own).map_err(storage)
    };
    Ok((
        Usage {
            program: of(Scope::Program)?,
            funder: of(Scope::Funder)?,
            counterparty: of(Scope::Counterparty)?,
        },
        of(Scope::Borrower)?,
    ))
}

/// A usage sum that disagrees with the financings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub scope: &'static str,
    pub program_id: Option<uuid::Uuid>,
    pub org_id: Option<uuid::Uuid>,
    /// The stored sum (zero when there is no row).
    pub stored: Money,
    /// The sum of the advances of the exposed financings.
    pub recomputed: Money,
}

/// Every usage row whose sum differs from the advances of the exposed
/// financings it covers, and every sum that has no row. Empty when the
/// running sums are right. Reads everything: for tests and audits, not for
/// a request path.
pub fn drift(conn: &mut DbConn) -> Result<Vec<Drift>, CommandError> {
    let statuses: Vec<&str> = FinancingStatus::EXPOSED
        .iter()
        .map(|s| s.as_str())
        .collect();
    let fins: Vec<(DbId, DbId, DbId, DbId, DbDecimal)> = financings::table
        .filter(financings::status.eq_any(statuses))
        .select((
            financings::program_id,
            financings::core_org_id,
            financings::funder_org_id,
            financings::applicant_org_id,
            financings::advance_amount,
        ))
        .load(conn)?;
    let mut recomputed: BTreeMap<Key, Money> = BTreeMap::new();
    for (program, core, funder, applicant, advance) in fins {
        let advance = money(advance)?;
        for key in keys(program, core, funder, applicant) {
            let sum = recomputed.entry(key).or_insert(Money::ZERO);
            *sum = sum.checked_add(advance).map_err(storage)?;
        }
    }
    type Stored = (String, Option<DbId>, Option<DbId>, Option<DbId>, DbDecimal);
    let rows: Vec<Stored> = limit_usage::table
        .select((
            limit_usage::scope,
            limit_usage::program_id,
            limit_usage::core_org_id,
            limit_usage::org_id,
            limit_usage::exposed,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut report = |key: &Key, stored: Money, recomputed: Money| {
        if stored != recomputed {
            out.push(Drift {
                scope: key.scope,
                program_id: key.program_id.map(|p| p.0),
                org_id: key.org_id.map(|o| o.0),
                stored,
                recomputed,
            });
        }
    };
    for (scope, program_id, core_org_id, org_id, exposed) in rows {
        let scope = Scope::parse(&scope)
            .ok_or_else(|| storage(format!("unknown usage scope {scope}")))?
            .as_str();
        let key = Key {
            scope,
            program_id,
            core_org_id,
            org_id,
        };
        let want = recomputed.get(&key).copied().unwrap_or(Money::ZERO);
        report(&key, money(exposed)?, want);
        seen.insert(key);
    }
    for (key, sum) in &recomputed {
        if !seen.contains(key) {
            report(key, Money::ZERO, *sum);
        }
    }
    Ok(out)
}
