//! Ledger rows: entries and checkpoints, stored verbatim as export lines.

use crate::db::schema::{ledger_checkpoints, ledger_entries};
use crate::db::{DbConn, DbError, DbInstant};
use diesel::prelude::*;
use scf_ledger::checkpoint::Checkpoint;
use scf_ledger::entry::Entry;
use scf_ledger::hash::Hash;
use scf_ledger::intent::Intent;
use scf_ledger::sequencer::Prepared;

/// Rows read per query when streaming the ledger.
pub const PAGE: i64 = 10_000;

fn to_i64(n: u64) -> Result<i64, DbError> {
    i64::try_from(n).map_err(|_| DbError::Config(format!("{n} does not fit a BIGINT")))
}

pub fn insert_entry(
    conn: &mut DbConn,
    entry: &Entry,
    intent: &Intent,
    line: &[u8],
    leaf: &Hash,
    chain: &Hash,
) -> Result<(), DbError> {
    let line =
        std::str::from_utf8(line).map_err(|_| DbError::Config("entry line is not UTF-8".into()))?;
    diesel::insert_into(ledger_entries::table)
        .values((
            ledger_entries::seq.eq(to_i64(entry.seq)?),
            ledger_entries::org_id.eq(&intent.org),
            ledger_entries::intent_id.eq(&intent.id),
            ledger_entries::event_type.eq(&intent.kind),
            ledger_entries::time.eq(DbInstant::new(entry.time.as_datetime())),
            ledger_entries::line.eq(line),
            ledger_entries::leaf.eq(leaf.to_vec()),
            ledger_entries::chain.eq(chain.to_vec()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores a prepared entry (see [`insert_entry`]).
pub fn insert_prepared(conn: &mut DbConn, p: &Prepared) -> Result<(), DbError> {
    insert_entry(conn, &p.entry, &p.intent, &p.line, &p.leaf, &p.chain)
}

pub fn insert_checkpoint(conn: &mut DbConn, cp: &Checkpoint) -> Result<(), DbError> {
    let line = String::from_utf8(cp.to_line())
        .map_err(|_| DbError::Config("checkpoint line is not UTF-8".into()))?;
    diesel::insert_into(ledger_checkpoints::table)
        .values((
            ledger_checkpoints::size.eq(to_i64(cp.size)?),
            ledger_checkpoints::line.eq(line),
            ledger_checkpoints::root.eq(cp.root.to_vec()),
            ledger_checkpoints::chain.eq(cp.chain.to_vec()),
            ledger_checkpoints::time.eq(DbInstant::new(cp.time.as_datetime())),
        ))
        .execute(conn)?;
    Ok(())
}

/// A stored entry: its seq, line and the leaf and chain hashes stored with it.
#[derive(Debug, Clone, Queryable)]
pub struct EntryRow {
    pub seq: i64,
    pub line: String,
    pub leaf: Vec<u8>,
    pub chain: Vec<u8>,
}

/// Entries with `from <= seq < to`, in order, at most `limit`.
pub fn entries(
    conn: &mut DbConn,
    from: u64,
    to: u64,
    limit: i64,
) -> Result<Vec<EntryRow>, DbError> {
    Ok(ledger_entries::table
        .filter(ledger_entries::seq.ge(to_i64(from)?))
        .filter(ledger_entries::seq.lt(to_i64(to.min(i64::MAX as u64))?))
        .order(ledger_entries::seq.asc())
        .limit(limit)
        .select((
            ledger_entries::seq,
            ledger_entries::line,
            ledger_entries::leaf,
            ledger_entries::chain,
        ))
        .load(conn)?)
}

/// A stored entry with the columns indexed beside its line.
#[derive(Debug, Clone, Queryable)]
pub struct ListedEntry {
    pub seq: i64,
    pub time: DbInstant,
    pub org_id: String,
    pub intent_id: String,
    pub event_type: String,
    pub line: String,
    pub leaf: Vec<u8>,
    pub chain: Vec<u8>,
}

/// Entries with `seq >= from`, only those of `org` if given, in seq order,
/// at most `limit`.
pub fn list_entries(
    conn: &mut DbConn,
    from: i64,
    org: Option<&str>,
    limit: i64,
) -> Result<Vec<ListedEntry>, DbError> {
    let mut query = ledger_entries::table
        .filter(ledger_entries::seq.ge(from))
        .order(ledger_entries::seq.asc())
        .limit(limit)
        .select((
            ledger_entries::seq,
            ledger_entries::time,
            ledger_entries::org_id,
            ledger_entries::intent_id,
            ledger_entries::event_type,
            ledger_entries::line,
            ledger_entries::leaf,
            ledger_entries::chain,
        ))
        .into_boxed();
    if let Some(org) = org {
        query = query.filter(ledger_entries::org_id.eq(org));
    }
    Ok(query.load(conn)?)
}

pub fn entry_count(conn: &mut DbConn) -> Result<u64, DbError> {
    let n: i64 = ledger_entries::table.count().get_result(conn)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Checkpoints with `size <= max_size`, oldest first.
pub fn checkpoints(conn: &mut DbConn, max_size: u64) -> Result<Vec<(i64, String)>, DbError> {
    Ok(ledger_checkpoints::table
        .filter(ledger_checkpoints::size.le(to_i64(max_size.min(i64::MAX as u64))?))
        .order(ledger_checkpoints::size.asc())
        .select((ledger_checkpoints::size, ledger_checkpoints::line))
        .load(conn)?)
}

pub fn latest_checkpoint(conn: &mut DbConn) -> Result<Option<Checkpoint>, DbError> {
    let row: Option<String> = ledger_checkpoints::table
        .order(ledger_checkpoints::size.desc())
        .select(ledger_checkpoints::line)
        .first(conn)
        .optional()?;
    row.map(|l| {
        Checkpoint::parse_line(l.as_bytes())
            .map_err(|e| DbError::Config(format!("stored checkpoint is corrupt: {e}")))
    })
    .transpose()
}
