//! Any request body goes through the decoding every signed mutation uses:
//! the JSON envelope, the stateless intent check, and each event's typed
//! body. Whatever the bytes, the answer is a value or an `ApiError` (a 4xx),
//! never a panic. Seeds: the bodies `scf sign` prints (see README).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scf_backend::parties::onboarding::{InviteBody, KycBody, OnboardBody, RegisterBody, UserAddBody};
use scf_backend::routes::intents::{SignedIntent, check_envelope};
use scf_backend::routes::mutation::{intent_body, parse_json};
use scf_ledger::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Ok(env) = parse_json::<SignedIntent>(data) else {
        return;
    };
    // A fixed clock keeps runs reproducible; skew is then just another field.
    let now = Timestamp::from_unix_micros(1_790_000_000_000_000).unwrap_or_else(Timestamp::now);
    let Ok((intent, _sigs)) = check_envelope(&env, now, 300) else {
        return;
    };
    let _ = intent_body::<OnboardBody>(&intent);
    let _ = intent_body::<InviteBody>(&intent);
    let _ = intent_body::<RegisterBody>(&intent);
    let _ = intent_body::<KycBody>(&intent);
    let _ = intent_body::<UserAddBody>(&intent);
    // Accepted intents are canonical: they re-serialise to the same bytes.
    assert_eq!(intent.to_bytes(), env.intent.as_bytes());
});
