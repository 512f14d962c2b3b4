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
