//! The canonical-JSON check and the intent schema never panic, and whatever
//! they accept re-serialises to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scf_ledger::intent::Intent;
use scf_ledger::jcs;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = jcs::parse_canonical(data) {
        assert_eq!(jcs::to_vec(&v), data);
    }
    if let Ok(i) = Intent::parse(data) {
        assert_eq!(i.to_bytes(), data);
    }
});
