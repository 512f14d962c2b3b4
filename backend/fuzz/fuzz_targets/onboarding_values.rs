//! The value checks of onboarding on arbitrary input: names and reasons,
//! USCCs, and the size classification of any figures under every seeded
//! rule shape. No panic, no overflow; a USCC that is accepted normalises to
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use scf_backend::parties::onboarding::text;
use scf_backend::parties::size_class::{Figures, Rule};

const RULES: &[&str] = &[
    r#"{"medium_min":{"headcount":300,"revenue":2000},"small_min":{"headcount":20,"revenue":300},"sme_below":{"headcount":1000,"revenue":40000}}"#,
    r#"{"medium_min":{"revenue":6000,"total_assets":5000},"small_min":{"revenue":300,"total_assets":300},"sme_below":{"revenue":80000,"total_assets":80000}}"#,
    r#"{"medium_min":{"headcount":100},"small_min":{"headcount":10},"sme_below":{"headcount":300}}"#,
];

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = text("name", &s);
    if let Ok(code) = scf_ledger::uscc::normalise(&s) {
        assert_eq!(scf_ledger::uscc::normalise(&code).as_deref(), Ok(code.as_str()));
    }
    if data.len() >= 40 {
        let num = |b: &[u8]| -> Decimal {
            let mut raw = [0u8; 16];
            raw.copy_from_slice(b);
            Decimal::deserialize(raw)
        };
        let figures = Figures {
            headcount: i64::from_le_bytes(data[0..8].try_into().unwrap_or([0; 8])),
            revenue: num(&data[8..24]),
            total_assets: num(&data[24..40]),
        };
        for r in RULES {
            if let Ok(rule) = serde_json::from_str::<Rule>(r) {
                let _ = rule.classify(&figures);
            }
        }
    }
});
