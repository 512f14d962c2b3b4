//! Integration tests of scf-ledger, in one binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod batch;
mod cli;
mod jcs;
mod merkle;
mod sequencer;
mod sig;
mod support;
mod tamper;
mod vectors;
