//! The test vectors that SPEC.md §13 publishes: a small export, its trust
//! root, and intermediate values of its first entries. The files are checked
//! in; this test proves the code still produces them byte for byte.
//! Regenerate after an intended format change with SCF_UPDATE_VECTORS=1.

use scf_ledger::entry::{Entry, cosig_message};
use scf_ledger::hash::{CHAIN_START, chain_hash, leaf_hash, to_hex};
use scf_ledger::intent::signing_message;
use scf_ledger::sim::{SimConfig, generate};
use std::path::PathBuf;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn check_or_write(name: &str, expected: &[u8]) {
    let path = testdata(name);
    if std::env::var_os("SCF_UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, expected).unwrap();
        return;
    }
    let found = std::fs::read(&path).unwrap_or_default();
    assert!(
        found == expected,
        "{} differs from what the code produces; if the format change is intended, run with SCF_UPDATE_VECTORS=1",
        path.display()
    );
}

#[test]
fn published_vectors_are_reproduced() {
    // The same parameters as `gen-export --events 30 --seed 7 --checkpoint-every 6`.
    let sim = generate(&SimConfig {
        events: 30,
        seed: 7,
        checkpoint_every: 6,
        ..SimConfig::default()
    })
    .unwrap();
    let export = sim.log.export_bytes();
    check_or_write("small-export.jsonl", &export);
    check_or_write(
        "small-trust-root.json",
        format!("{}\n", sim.trust_root.to_json()).as_bytes(),
    );

    let origin = sim.log.origin().to_owned();
    let mut chain = CHAIN_START;
    let mut entries = Vec::new();
    for line in export.split(|&b| b == b'\n').skip(1).take(3) {
        let e = Entry::parse_line(line).unwrap();
        let leaf = leaf_hash(line);
        chain = chain_hash(&chain, &leaf);
        entries.push(serde_json::json!({
            "seq": e.seq,
            "intent_signing_message_hex": to_hex(&signing_message(e.intent.as_bytes())),
            "unsigned_entry": String::from_utf8(e.unsigned_bytes()).unwrap(),
            "cosig_message_hex": to_hex(&cosig_message(&origin, &e.unsigned_bytes())),
            "leaf": to_hex(&leaf),
            "chain": to_hex(&chain),
        }));
    }
    let tree = sim.log.tree();
    let roots: Vec<_> = [1u64, 2, 3, 7, 30]
        .iter()
        .map(|&n| serde_json::json!({"size": n, "root": to_hex(&tree.root_at(n).unwrap())}))
        .collect();
    let first_cp = sim.log.checkpoints().first().unwrap();
    let vectors = serde_json::json!({
        "origin": origin,
        "entries": entries,
        "roots": roots,
        "first_checkpoint_signed_message_hex": to_hex(&first_cp.signed_message()),
        "inclusion_proof_seq_5_size_30": tree.inclusion_proof(5, 30).unwrap().iter().map(|h| to_hex(h)).collect::<Vec<_>>(),
        "consistency_proof_7_to_30": tree.consistency_proof(7, 30).unwrap().iter().map(|h| to_hex(h)).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&vectors).unwrap();
    text.push('\n');
    check_or_write("vectors.json", text.as_bytes());
}
