//! The service's side of the ledger: entries and checkpoints stored in the
//! database next to the business data they record, one writer that
//! sequences every mutation, and the platform key and the published
//! checkpoint kept in the data directory.
//!
//! The format and the rules live in the `scf-ledger` crate (see its
//! SPEC.md); this module only stores and serves what that crate produces.

pub mod keyfile;
pub mod store;
pub mod writer;

pub use writer::{CommandError, EntryView, Outcome, Submission, Writer, WriterConfig};

use crate::config::Settings;
use crate::db::schema::organisations;
use crate::db::{Db, DbConn, DbError, DbId, DbInstant};
use diesel::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error(transparent)]
    KeyFile(#[from] keyfile::KeyFileError),
    #[error(transparent)]
    Writer(#[from] writer::StartError),
}

/// The platform operator's organisation, created with the ledger: the
/// genesis entry names it (ledger SPEC.md §8.3).
pub fn ensure_operator_org(conn: &mut DbConn) -> Result<DbId, DbError> {
    let existing: Option<DbId> = organisations::table
        .filter(organisations::kind.eq("platform_operator"))
        .order(organisations::created_at.asc())
        .select(organisations::id)
        .first(conn)
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = DbId::new_v7();
    let now = DbInstant::now();
    diesel::insert_into(organisations::table)
        .values((
            organisations::id.eq(id),
            organisations::kind.eq("platform_operator"),
            organisations::name.eq("Platform operator"),
            organisations::status.eq("approved"),
            organisations::created_at.eq(now),
            organisations::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Storage and the running writer.
#[derive(Debug, Clone)]
pub struct Opened {
    pub db: Db,
    pub writer: Writer,
    /// The platform operator's organisation.
    pub operator: DbId,
}

/// Opens storage, applies migrations and starts the writer: everything
/// `serve` needs before it can accept a request. Blocking.
pub fn open(settings: &Settings) -> Result<Opened, OpenError> {
    let db = Db::connect(settings.database_url.expose(), None)?;
    let operator = {
        let mut conn = db.get()?;
        crate::db::migrate(&mut conn)?;
        crate::db::write_tx(&mut conn, ensure_operator_org)?
    };
    let key = keyfile::load_or_create_platform_key(&settings.data_dir)?;
    let mut cfg = WriterConfig::new(
        settings.data_dir.clone(),
        &settings.origin,
        &operator.0.to_string(),
    );
    if settings.test_mode {
        cfg.clock = crate::clock::Clock::movable();
    }
    let writer = Writer::start(db.clone(), cfg, key)?;
    Ok(Opened {
        db,
        writer,
        operator,
    })
}

/// Writes the stored ledger as an export (ledger SPEC.md §9), up to the
/// newest stored checkpoint. Returns the number of entries written.
pub fn export(conn: &mut DbConn, out: &mut dyn std::io::Write) -> Result<u64, ExportError> {
    export_upto(conn, out, u64::MAX)
}

/// Like [`export`], but ends at the newest checkpoint covering at most
/// `max_size` entries: an export must end with a checkpoint over all its
/// entries (SPEC.md §9), so a prefix can only stop at a checkpoint.
pub fn export_upto(
    conn: &mut DbConn,
    out: &mut dyn std::io::Write,
    max_size: u64,
) -> Result<u64, ExportError> {
    let checkpoints = store::checkpoints(conn, max_size)?;
    let Some(end) = checkpoints.last().and_then(|(s, _)| u64::try_from(*s).ok()) else {
        return Err(ExportError::NoCheckpoint);
    };
    out.write_all(scf_ledger::export::HEADER)?;
    out.write_all(b"\n")?;
    let mut cps = checkpoints.into_iter().peekable();
    let mut next = 0u64;
    while next < end {
        let rows = store::entries(conn, next, end, store::PAGE)?;
        if rows.is_empty() {
            return Err(ExportError::Gap(next));
        }
        for row in rows {
            if u64::try_from(row.seq).ok() != Some(next) {
                return Err(ExportError::Gap(next));
            }
            out.write_all(row.line.as_bytes())?;
            out.write_all(b"\n")?;
            next += 1;
            while let Some((size, line)) =
                cps.next_if(|(size, _)| u64::try_from(*size).ok() == Some(next))
            {
                let _ = size;
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    Ok(end)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("the ledger has no checkpoint yet; nothing is provable to export")]
    NoCheckpoint,
    #[error("the stored ledger has a gap at seq {0}")]
    Gap(u64),
}

/// Loads an export's entry and checkpoint lines into storage as they are,
/// without the writer. Only for tests that need a database in a given state
/// (an older copy, say); the service never writes rows any other way.
#[doc(hidden)]
pub fn import_for_tests(conn: &mut DbConn, export: &[u8]) -> Result<(), DbError> {
    use scf_ledger::export::{Kind, Record};
    let mut seq = Sequencer::new(SecretKey::from_seed(&[0u8; 32]));
    for line in export.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match Record::kind_of(line) {
            Some(Kind::Entry) => {
                let entry = scf_ledger::entry::Entry::parse_line(line)
                    .map_err(|e| DbError::Config(e.to_string()))?;
                let intent = scf_ledger::intent::Intent::parse(entry.intent.as_bytes())
                    .map_err(|e| DbError::Config(e.to_string()))?;
                let receipt = seq
                    .restore_entry(line)
                    .map_err(|e| DbError::Config(e.to_string()))?;
                store::insert_entry(conn, &entry, &intent, line, &receipt.leaf, &receipt.chain)?;
            }
            Some(Kind::Checkpoint) => {
                let cp = scf_ledger::checkpoint::Checkpoint::parse_line(line)
                    .map_err(|e| DbError::Config(e.to_string()))?;
                store::insert_checkpoint(conn, &cp)?;
            }
            _ => {}
        }
    }
    Ok(())
}

use scf_ledger::sequencer::Sequencer;
use scf_ledger::sig::SecretKey;
