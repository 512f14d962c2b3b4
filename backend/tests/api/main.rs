//! In-process API tests (spawn_app on port 0, a fresh database each).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod accounts;
mod certificates;
mod cli;
mod clock;
mod csv;
mod db;
mod financing;
mod ledger;
mod limit_usage;
mod limits;
mod log_secrets;
mod market;
mod matrix;
mod onboarding;
mod parties;
mod pricing;
mod programs;
mod shell;
mod signed_fuzz;
mod support;
mod trade;
mod treasury;
