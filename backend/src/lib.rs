//! The scf service: HTTP API, storage, the single writer and the domain
//! modules of the supply-chain finance platform. `main.rs` is only the CLI.
#![forbid(unsafe_code)]
pub mod db;
pub mod ledger;
