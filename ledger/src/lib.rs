//! `scf-ledger`: the platform's tamper-evident event log.
//!
//! Everything here is specified in `SPEC.md` beside this crate; the module
//! docs point at its sections. The crate holds no database and no web code:
//! the backend stores what it produces, and `scf-verify` checks an export
//! offline with nothing but this crate.
#![forbid(unsafe_code)]

pub mod asset;
pub mod backing;
pub mod batch;
pub mod checkpoint;
pub mod conservation;
pub mod entry;
pub mod export;
pub mod hash;
pub mod intent;
pub mod jcs;
pub mod log;
pub mod merkle;
pub mod sequencer;
pub mod sig;
pub mod sim;
pub mod state;
pub mod time;
pub mod uscc;
pub mod verify;
pub mod verify_cli;

pub use state::is_valid_origin;
