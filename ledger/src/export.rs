//! The export format (SPEC.md §9): JSON Lines, one header line, then entries
//! and checkpoints in ledger order, each line canonical JSON ending in `\n`.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::entry::{Entry, EntryError};
use crate::jcs;
use serde_json::Value;

/// The first line of every version-1 export.
pub const HEADER: &[u8] = br#"{"format":"scf-ledger-export","version":1}"#;
/// Longest line a reader accepts; an entry is far smaller.
pub const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Header,
    Entry,
    Checkpoint,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Header,
    Entry(Entry),
    Checkpoint(Checkpoint),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("line is not canonical JSON: {0}")]
    Json(#[from] jcs::JcsError),
    #[error("line is not an export record (header, entry or checkpoint)")]
    Unknown,
    #[error("{0}")]
    Entry(#[from] EntryError),
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
}

impl Record {
    /// Cheap classification by the first member name, which canonical
    /// ordering fixes: entries start with `cosig`, checkpoints with `chain`.
    pub fn kind_of(line: &[u8]) -> Option<Kind> {
        if line == HEADER {
            Some(Kind::Header)
        } else if line.starts_with(br#"{"cosig":"#) {
            Some(Kind::Entry)
        } else if line.starts_with(br#"{"chain":"#) {
            Some(Kind::Checkpoint)
        } else {
            None
        }
    }

    /// Parses one line (without its newline).
    pub fn parse(line: &[u8]) -> Result<Record, RecordError> {
        if line == HEADER {
            return Ok(Record::Header);
        }
        let Value::Object(obj) = jcs::parse_canonical(line)? else {
            return Err(RecordError::Unknown);
        };
        if obj.contains_key("seq") {
            Ok(Record::Entry(Entry::from_object(obj)?))
        } else if obj.contains_key("size") {
            Ok(Record::Checkpoint(Checkpoint::from_object(&obj)?))
        } else {
            Err(RecordError::Unknown)
        }
    }
}
