//! The scf service: HTTP API, storage, the single writer and the domain
//! modules of the supply-chain finance platform. `main.rs` is only the CLI.
#![forbid(unsafe_code)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod http_metrics;
pub mod idempotency;
pub mod ledger;
pub mod limits;
pub mod listing;
pub mod pagination;
pub mod parties;
pub mod pricing;
pub mod programs;
pub mod receivables;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod trade;

pub use config::Settings;
pub use error::{ApiError, ErrorCode};
pub use startup::Application;
