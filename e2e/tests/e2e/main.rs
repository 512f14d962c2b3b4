//! Black-box end-to-end tests: each test starts the real `scf` binary (built
//! by cargo beforehand, see e2e/README.md), talks to it over HTTP on
//! loopback, and checks its ledger export with the real `scf-verify`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod client;
mod crash;
mod mutations;
mod onboarding;
mod race;
mod receivables;
mod rollback;
mod server;
mod walkthrough;
