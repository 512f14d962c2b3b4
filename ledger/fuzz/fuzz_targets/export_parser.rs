//! Any bytes fed to the verifier give a report or an input error, never a
//! panic. Seeds: a small generated export (see README).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scf_ledger::verify::{Options, verify_bytes};

fuzz_target!(|data: &[u8]| {
    let opts = Options {
        threads: 1,
        chunk_lines: 64,
        ..Options::default()
    };
    let _ = verify_bytes(data, &opts);
});
