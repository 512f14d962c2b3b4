//! `cargo bench -p scf-ledger`: verification and append throughput, each
//! beside its raw baseline measured in the same run (SPEC.md, BENCHMARKS.md).
//!
//! SCF_BENCH_EVENTS (default 1,000,000) sets the export size. The export is
//! generated once and cached under target/bench-data/.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use scf_ledger::export::Record;
use scf_ledger::hash::{CHAIN_START, chain_hash, leaf_hash, sha256};
use scf_ledger::merkle::Frontier;
use scf_ledger::sig::{self, SecretKey, SigCheck};
use scf_ledger::sim::{SimConfig, derive_key, generate};
use scf_ledger::verify::{Options, verify_bytes};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

fn best_of<F: FnMut() -> u64>(runs: usize, mut f: F) -> (f64, u64) {
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, n)
}

fn rate(n: u64, secs: f64) -> String {
    let r = n as f64 / secs;
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else {
        format!("{:.1} k/s", r / 1e3)
    }
}

fn export_path(events: u64) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target
        .join("bench-data")
        .join(format!("export-{events}-seed1.jsonl"))
}

fn load_export(events: u64) -> Vec<u8> {
    let path = export_path(events);
    if let Ok(bytes) = std::fs::read(&path) {
        return bytes;
    }
    eprintln!(
        "generating a {events}-event export (cached at {}) ...",
        path.display()
    );
    let t = Instant::now();
    let sim = generate(&SimConfig {
        events,
        seed: 1,
        ..SimConfig::default()
    })
    .expect("generate");
    let bytes = sim.log.export_bytes();
    eprintln!("  done in {:.1} s", t.elapsed().as_secs_f64());
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&path, &bytes);
    bytes
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let events: u64 = std::env::var("SCF_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let export = load_export(events);
    let lines: Vec<&[u8]> = export
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let entry_lines: Vec<&[u8]> = lines
        .iter()
        .copied()
        .filter(|l| matches!(Record::kind_of(l), Some(scf_ledger::export::Kind::Entry)))
        .collect();
    let avg = entry_lines.iter().map(|l| l.len()).sum::<usize>() / entry_lines.len().max(1);
    println!("# scf-ledger benchmarks");
    println!();
    println!(
        "export: {events} entries, {} lines, {:.1} MB, average entry line {avg} bytes; {cores} cores",
        lines.len(),
        export.len() as f64 / 1e6
    );
    println!();
    println!("| measurement | threads | rate | per core |");
    println!("|---|---|---|---|");

    // Baseline 1: raw SHA-256 over the entry lines.
    let (t, n) = best_of(3, || {
        for l in &entry_lines {
            black_box(sha256(l));
        }
        entry_lines.len() as u64
    });
    println!(
        "| baseline: SHA-256 of each entry line | 1 | {} | {} |",
        rate(n, t),
        rate(n, t)
    );

    // Baseline 2: raw Ed25519 batch verification, ed25519-dalek's own
    // verify_batch, batches of 512 distinct-key signatures (cofactorless,
    // no key aggregation), on one core.
    let keys: Vec<ed25519_dalek::SigningKey> = (0..512u32)
        .map(|i| {
            let seed = sha256(&i.to_be_bytes());
            ed25519_dalek::SigningKey::from_bytes(&seed)
        })
        .collect();
    let msgs: Vec<Vec<u8>> = (0..512u32)
        .map(|i| entry_lines[i as usize % entry_lines.len()].to_vec())
        .collect();
    use ed25519_dalek::Signer;
    let sigs: Vec<ed25519_dalek::Signature> =
        keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let vks: Vec<ed25519_dalek::VerifyingKey> = keys.iter().map(|k| k.verifying_key()).collect();
    let msg_refs: Vec<&[u8]> = msgs.iter().map(|m| &m[..]).collect();
    let (t, n) = best_of(3, || {
        for _ in 0..40 {
            ed25519_dalek::verify_batch(&msg_refs, &sigs, &vks).expect("valid batch");
        }
        40 * 512
    });
    let raw_batch = n as f64 / t;
    println!(
        "| baseline: ed25519-dalek verify_batch, 512 distinct keys | 1 | {} sig | {} sig |",
        rate(n, t),
        rate(n, t)
    );

    // Our batch verifier on the same signatures (distinct keys).
    let ours: Vec<SecretKey> = (0..512u32)
        .map(|i| SecretKey::from_seed(&sha256(&i.to_be_bytes())))
        .collect();
    let pks: Vec<_> = ours.iter().map(SecretKey::public_key).collect();
    let our_sigs: Vec<_> = ours.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let checks: Vec<SigCheck<'_>> = (0..512)
        .map(|i| SigCheck {
            key: &pks[i],
            msg: &msgs[i],
            sig: &our_sigs[i],
        })
        .collect();
    let (t, n) = best_of(3, || {
        for _ in 0..40 {
            sig::verify_batch(&checks).expect("valid batch");
        }
        40 * 512
    });
    println!(
        "| scf-ledger verify_batch (cofactored), 512 distinct keys | 1 | {} sig | {} sig |",
        rate(n, t),
        rate(n, t)
    );

    // Verification of the whole export.
    for threads in [1, cores] {
        let opts = Options {
            threads,
            ..Options::default()
        };
        let (t, n) = best_of(2, || {
            let r = verify_bytes(&export, &opts).expect("export");
            assert!(r.is_valid(), "{:?}", r.failure);
            r.entries
        });
        let per_core = n as f64 / t / threads as f64;
        println!(
            "| **verify export** (parse, canonical check, chain, tree, 2 signatures per entry, invariants) | {threads} | {} events | {} events = {} sig ({:.0}% of the raw batch-verify rate) |",
            rate(n, t),
            rate(per_core as u64, 1.0),
            rate((2.0 * per_core) as u64, 1.0),
            100.0 * 2.0 * per_core / raw_batch
        );
        if cores == 1 {
            break;
        }
    }

    // Append: leaf hash + chain hash + Merkle update, no signing.
    let (t, n) = best_of(3, || {
        let mut chain = CHAIN_START;
        let mut f = Frontier::new();
        for l in &entry_lines {
            let leaf = leaf_hash(l);
            chain = chain_hash(&chain, &leaf);
            f.push(leaf);
        }
        black_box((chain, f.root()));
        entry_lines.len() as u64
    });
    println!(
        "| **append** (leaf hash, chain hash, Merkle frontier update) | 1 | {} events | {} events |",
        rate(n, t),
        rate(n, t)
    );
    let (t, n) = best_of(3, || {
        let mut chain = CHAIN_START;
        let mut tree = scf_ledger::merkle::Tree::new();
        for l in &entry_lines {
            let leaf = leaf_hash(l);
            chain = chain_hash(&chain, &leaf);
            tree.push(leaf);
        }
        black_box((chain, tree.root()));
        entry_lines.len() as u64
    });
    println!(
        "| append with the full proof-serving tree | 1 | {} events | {} events |",
        rate(n, t),
        rate(n, t)
    );
    let _ = derive_key;
}
