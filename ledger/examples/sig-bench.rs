//! Micro-benchmark of `scf_ledger::sig` against ed25519-dalek's own verifier.
//!
//! Run with `cargo run --release --example sig-bench`. Each line is the best
//! of three timed runs (after a warm-up), as operations per second on one
//! core. Messages are 400 bytes, about the size of a ledger event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use scf_ledger::hash::sha256;
use scf_ledger::sig::{PublicKey, SecretKey, SigCheck, Signature, verify, verify_batch};

const MSG_LEN: usize = 400;
const BATCH: usize = 1024;
const ACTOR_KEYS: usize = 200;
/// Target duration of one timed run.
const RUN: Duration = Duration::from_millis(400);

fn seed(i: usize) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&(i as u64).to_le_bytes());
    s[31] = 0xa5;
    s
}

fn message(i: usize) -> Vec<u8> {
    (0..MSG_LEN).map(|j| (i * 31 + j * 7) as u8).collect()
}

/// Times `f` (which performs `ops` operations per call): one warm-up call,
/// calibration to about `RUN`, then the best of three runs. Returns ops/s.
fn bench(ops: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < RUN / 4 {
        f();
        calls += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / calls as f64;
    let iters = ((RUN.as_secs_f64() / per_call).ceil() as u64).max(1);
    (0..3)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            (iters as f64 * ops as f64) / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn row(name: &str, ops_per_sec: f64) {
    println!(
        "{name:<58} {ops_per_sec:>12.0} ops/s  {:>8.2} µs/op",
        1e6 / ops_per_sec
    );
}

struct Item {
    key: PublicKey,
    msg: Vec<u8>,
    sig: Signature,
}

fn checks(items: &[Item]) -> Vec<SigCheck<'_>> {
    items
        .iter()
        .map(|it| SigCheck {
            key: &it.key,
            msg: &it.msg,
            sig: &it.sig,
        })
        .collect()
}

fn main() {
    if cfg!(debug_assertions) {
        println!("warning: debug build; run with --release for meaningful numbers");
    }
    println!("sig-bench: one core, best of 3, {MSG_LEN}-byte messages, batch size {BATCH}\n");

    // SHA-256 of 400 bytes.
    let data = message(0);
    row(
        "SHA-256, 400 bytes",
        bench(10_000, || {
            for _ in 0..10_000 {
                black_box(sha256(black_box(&data)));
            }
        }),
    );

    // Keys with distinct signers.
    let secrets: Vec<SecretKey> = (0..BATCH).map(|i| SecretKey::from_seed(&seed(i))).collect();
    let distinct: Vec<Item> = secrets
        .iter()
        .enumerate()
        .map(|(i, sk)| {
            let msg = message(i);
            let sig = sk.sign(&msg);
            // Parse from bytes, as a verifier would (all acceptability checks).
            let key = PublicKey::from_bytes(sk.public_key().as_bytes()).unwrap();
            Item { key, msg, sig }
        })
        .collect();

    // Baseline: ed25519-dalek verify_strict (cofactorless, small-order checks).
    let dalek: Vec<(ed25519_dalek::VerifyingKey, ed25519_dalek::Signature)> = distinct
        .iter()
        .map(|it| {
            (
                ed25519_dalek::VerifyingKey::from_bytes(it.key.as_bytes()).unwrap(),
                ed25519_dalek::Signature::from_bytes(&it.sig.0),
            )
        })
        .collect();
    row(
        "ed25519-dalek verify_strict (baseline)",
        bench(256, || {
            for (it, (vk, sig)) in distinct.iter().zip(&dalek).take(256) {
                assert!(black_box(vk.verify_strict(&it.msg, sig)).is_ok());
            }
        }),
    );
    println!(
        "{:<58} {:>12}",
        "ed25519-dalek verify_batch, n=1024 (baseline)",
        "skipped: its `batch` feature's deps (keccak, strobe-rs) are not in the offline cache"
    );

    row(
        "scf_ledger::sig::verify",
        bench(256, || {
            for it in distinct.iter().take(256) {
                assert!(black_box(verify(&it.key, &it.msg, &it.sig)).is_ok());
            }
        }),
    );

    let batch = checks(&distinct);
    row(
        "scf_ledger::sig::verify_batch, n=1024, 1024 distinct keys",
        bench(BATCH, || assert!(black_box(verify_batch(&batch)).is_ok())),
    );

    // Ledger mix: 512 actor signatures by 200 actor keys, interleaved with 512
    // platform signatures by one key (two signatures per event).
    let platform = SecretKey::from_seed(&seed(1_000_000));
    let platform_key = platform.public_key();
    let mut mix = Vec::with_capacity(BATCH);
    for e in 0..BATCH / 2 {
        let msg = message(10_000 + e);
        let actor = &secrets[e % ACTOR_KEYS];
        mix.push(Item {
            key: actor.public_key(),
            sig: actor.sign(&msg),
            msg: msg.clone(),
        });
        mix.push(Item {
            key: platform_key,
            sig: platform.sign(&msg),
            msg,
        });
    }
    let mix_batch = checks(&mix);
    row(
        "scf_ledger::sig::verify_batch, n=1024, ledger mix (201 keys)",
        bench(BATCH, || {
            assert!(black_box(verify_batch(&mix_batch)).is_ok())
        }),
    );

    // Informational: the cost of parsing a key (decompression + torsion check).
    let key_bytes: Vec<[u8; 32]> = distinct
        .iter()
        .take(64)
        .map(|it| *it.key.as_bytes())
        .collect();
    row(
        "(info) PublicKey::from_bytes",
        bench(64, || {
            for b in &key_bytes {
                assert!(black_box(PublicKey::from_bytes(b)).is_ok());
            }
        }),
    );
}
