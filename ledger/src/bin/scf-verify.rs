//! `scf-verify`: checks an scf-ledger export offline (SPEC.md §10).
//!
//! Exit codes: 0 the export is valid; 1 it is not, and the report names the
//! first bad seq; 2 the input (or a side file) is unusable.

use clap::Parser;
use scf_ledger::verify_cli::{VerifyArgs, run};
use std::process::ExitCode;

/// Verify an scf-ledger export without trusting the platform that made it.
///
/// Checks canonical encoding, every signature, key validity at each seq, the
/// hash chain, each checkpoint's Merkle root and signature, consistency with
/// a previously accepted checkpoint, and the business invariants (no asset
/// encumbered twice at once).
#[derive(Parser, Debug)]
#[command(
    name = "scf-verify",
    version,
    after_help = "Exit status: 0 valid, 1 invalid (the report names the first bad seq), 2 unusable input."
)]
struct Cli {
    #[command(flatten)]
    args: VerifyArgs,
}

fn main() -> ExitCode {
    run(&Cli::parse().args, "scf-verify")
}
