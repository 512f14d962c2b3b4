//! `--batch-rows` (SPEC.md §10.5): bulk-uploaded invoices checked against
//! their rows files, their keys in the same double-encumbrance set as
//! single invoices'. Batches are built by hand, as the platform commits
//! them, on top of the small generated ledger.

use crate::support::*;
use scf_ledger::asset::AssetKey;
use scf_ledger::batch::BatchRows;
use scf_ledger::hash::{leaf_hash, to_hex};
use scf_ledger::intent::{AssetOp, AssetRef};
use scf_ledger::merkle::root_from_leaves;
use scf_ledger::sig::SecretKey;
use scf_ledger::verify::{InputError, Options, Report, verify_bytes};
use serde_json::{Value, json};
use std::path::PathBuf;

const USCC: &str = "91350100M000100Y43";

fn row(number: &str, amount: &str) -> Value {
    json!({"invoice_number": number, "seller_uscc": USCC, "amount": amount,
        "issue_date": "2026-01-05", "due_date": "2026-04-05"})
}

fn batch_id(n: u8) -> String {
    format!("0192f0c1-7c3a-7def-8123-4567890000{n:02x}")
}

/// The rows file: each row's canonical JSON and a newline.
fn jsonl(rows: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        out.extend(scf_ledger::jcs::to_vec(r));
        out.push(b'\n');
    }
    out
}

/// The `invoice.batch` body committing to `rows`, as the platform computes it.
fn batch_body(id: &str, rows: &[Value]) -> Value {
    let leaves: Vec<_> = rows
        .iter()
        .map(|r| leaf_hash(&scf_ledger::jcs::to_vec(r)))
        .collect();
    let mut keys: Vec<[u8; 32]> = rows
        .iter()
        .map(|r| {
            AssetKey::invoice(
                r["seller_uscc"].as_str().unwrap_or("x"),
                r["invoice_number"].as_str().unwrap_or("x"),
            )
            .map_or([0; 32], |k| k.0)
        })
        .collect();
    keys.sort_unstable();
    let key_leaves: Vec<_> = keys.iter().map(|k| leaf_hash(k)).collect();
    json!({"batch_id": id, "program_id": batch_id(0xff), "count": rows.len(), "total": "0",
        "rows_root": to_hex(&root_from_leaves(&leaves)),
        "asset_keys_root": to_hex(&root_from_leaves(&key_leaves))})
}

enum Event {
    Batch(Value),
    Single(&'static str),
}

fn key(number: &str) -> AssetKey {
    AssetKey::invoice(USCC, number).unwrap()
}

/// The small ledger followed by `events`; returns the export and the seq
/// of the first event.
fn ledger(events: &[Event]) -> (Vec<u8>, u64) {
    let s = small();
    let actor = s.sim.actors.iter().find(|a| !a.revoked).unwrap();
    let mut f = Forger::new(
        &s.sim.trust_root.origin,
        SecretKey::from_seed(&s.sim.log.platform_key().seed()),
    );
    for l in lines(&s.export).iter().skip(1).filter(|l| is_entry(l)) {
        f.copy_entry(l);
    }
    let first = s.sim.log.state().size();
    for (n, e) in events.iter().enumerate() {
        let mut i = business_intent(&actor.org, &actor.key, &format!("bulk-{n}"), f.time);
        match e {
            Event::Batch(body) => {
                i.kind = "invoice.batch".into();
                i.body = body.as_object().cloned().unwrap();
            }
            Event::Single(number) => {
                i.kind = "invoice.record".into();
                i.assets = vec![AssetRef {
                    key: key(number),
                    op: AssetOp::Encumber,
                }];
            }
        }
        f.append(&i, &[&actor.key]);
    }
    f.checkpoint();
    (f.export(), first)
}

/// A fresh directory holding `files` (batch id, bytes).
fn dir(name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scf-batch-rows-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    for (id, bytes) in files {
        std::fs::write(d.join(format!("{id}.jsonl")), bytes).unwrap();
    }
    d
}

fn with_rows(d: &std::path::Path, require: bool) -> Options {
    Options {
        batch_rows: Some(BatchRows::open(d, require).unwrap()),
        ..opts()
    }
}

fn run(export: &[u8], name: &str, files: &[(&str, &[u8])]) -> Result<Report, InputError> {
    verify_bytes(export, &with_rows(&dir(name, files), false))
}

fn bad(report: Result<Report, InputError>) -> (u64, &'static str, String) {
    let f = report.unwrap().failure.expect("must be invalid");
    (f.seq, f.code, f.message)
}

fn a_rows() -> Vec<Value> {
    vec![row("A-1", "10.00"), row("A-2", "0.5"), row("A-3", "7")]
}

fn b_rows() -> Vec<Value> {
    vec![row("B-1", "1.00"), row("b-2 ", "2.00")]
}

#[test]
fn honest_batches_are_checked_and_counted() {
    let (a, b) = (a_rows(), b_rows());
    let (export, _) = ledger(&[
        Event::Batch(batch_body(&batch_id(1), &a)),
        Event::Single("C-1"),
        Event::Batch(batch_body(&batch_id(2), &b)),
    ]);
    let (fa, fb) = (jsonl(&a), jsonl(&b));
    let r = run(
        &export,
        "honest",
        &[(&batch_id(1), &fa), (&batch_id(2), &fb)],
    )
    .unwrap();
    assert!(r.is_valid(), "{:?}", r.failure);
    assert_eq!((r.batches_checked, r.batches_unchecked), (2, 0));
    assert_eq!(
        r.to_json()["batches"],
        json!({"checked": 2, "not_checked": 2 - 2})
    );

    // Without the directory, or with one file only: valid, the rest not checked.
    let r = verify_bytes(&export, &opts()).unwrap();
    assert!(r.is_valid(), "{:?}", r.failure);
    assert_eq!((r.batches_checked, r.batches_unchecked), (0, 2));
    let r = run(&export, "one", &[(&batch_id(2), &fb)]).unwrap();
    assert!(r.is_valid(), "{:?}", r.failure);
    assert_eq!((r.batches_checked, r.batches_unchecked), (1, 1));

    // Required: the batch without a file fails, at its seq.
    let d = dir("required", &[(&batch_id(2), &fb)]);
    let f = verify_bytes(&export, &with_rows(&d, true))
        .unwrap()
        .failure
        .unwrap();
    let n = small().sim.log.state().size();
    assert_eq!((f.seq, f.code), (n, "batch_rows_missing"), "{f:?}");
}

/// The platform takes a batch id in any UUID spelling and serves the rows
/// file under the canonical one; the verifier pairs them all the same.
#[test]
fn a_batch_id_in_another_spelling_finds_its_rows_file() {
    let a = a_rows();
    let shouting = batch_id(3).to_uppercase().replace('-', "");
    let (export, _) = ledger(&[Event::Batch(batch_body(&shouting, &a))]);
    let fa = jsonl(&a);
    for (name, file) in [("canonical", batch_id(3)), ("as-sent", shouting.clone())] {
        let d = dir(name, &[(&file, &fa)]);
        let r = verify_bytes(&export, &with_rows(&d, true)).unwrap();
        assert!(r.is_valid(), "{name}: {:?}", r.failure);
        assert_eq!((r.batches_checked, r.batches_unchecked), (1, 0), "{name}");
    }
}

#[test]
fn tampered_rows_are_caught() {
    let a = a_rows();
    let (export, n) = ledger(&[Event::Batch(batch_body(&batch_id(1), &a))]);
    let id = batch_id(1);
    let honest = jsonl(&a);
    assert!(run(&export, "t0", &[(&id, &honest)]).unwrap().is_valid());

    // One amount changed, still canonical JSON.
    let mut t = a.clone();
    t[1]["amount"] = json!("500");
    let (seq, code, msg) = bad(run(&export, "t1", &[(&id, &jsonl(&t))]));
    assert_eq!((seq, code), (n, "batch_rows_root_mismatch"), "{msg}");
    assert!(msg.contains(&format!("{id}.jsonl")), "{msg}");

    // Rows swapped: the order is committed.
    let swapped = vec![a[1].clone(), a[0].clone(), a[2].clone()];
    let (seq, code, _) = bad(run(&export, "t2", &[(&id, &jsonl(&swapped))]));
    assert_eq!((seq, code), (n, "batch_rows_root_mismatch"));

    // A row dropped, a row added.
    let (seq, code, msg) = bad(run(&export, "t3", &[(&id, &jsonl(&a[..2]))]));
    assert_eq!((seq, code), (n, "batch_row_count_mismatch"), "{msg}");
    assert!(
        msg.contains("holds 2 rows, the entry commits to 3"),
        "{msg}"
    );
    let mut more = a.clone();
    more.push(row("A-4", "1"));
    let (seq, code, msg) = bad(run(&export, "t4", &[(&id, &jsonl(&more))]));
    assert_eq!((seq, code), (n, "batch_row_count_mismatch"), "{msg}");
}

#[test]
fn a_key_twice_fails_wherever_it_was_recorded() {
    let a = a_rows();
    // Invoice A-2 again in a second batch, spelled differently: the same key.
    let b = vec![row("B-1", "1"), row(" a-2", "3.00")];
    let (fa, fb) = (jsonl(&a), jsonl(&b));
    let (export, n) = ledger(&[
        Event::Batch(batch_body(&batch_id(1), &a)),
        Event::Batch(batch_body(&batch_id(2), &b)),
    ]);
    let files: &[(&str, &[u8])] = &[(&batch_id(1), &fa), (&batch_id(2), &fb)];
    let (seq, code, msg) = bad(run(&export, "d1", files));
    assert_eq!((seq, code), (n + 1, "asset_already_encumbered"), "{msg}");
    assert!(msg.contains(&key("A-2").to_hex()), "{msg}");
    // Each batch alone is fine: only both together prove the double record.
    assert!(run(&export, "d1a", &files[..1]).unwrap().is_valid());
    assert!(run(&export, "d1b", &files[1..]).unwrap().is_valid());

    // A batch key recorded again as a single invoice, and the other way round.
    let (export, n) = ledger(&[
        Event::Batch(batch_body(&batch_id(1), &a)),
        Event::Single("A-3"),
    ]);
    let (seq, code, _) = bad(run(&export, "d2", &[(&batch_id(1), &fa)]));
    assert_eq!((seq, code), (n + 1, "asset_already_encumbered"));
    let (export, n) = ledger(&[
        Event::Single("a-1"),
        Event::Batch(batch_body(&batch_id(1), &a)),
    ]);
    let (seq, code, _) = bad(run(&export, "d3", &[(&batch_id(1), &fa)]));
    assert_eq!((seq, code), (n + 1, "asset_already_encumbered"));

    // A key twice in one batch that the entry committed to anyway.
    let twice = vec![row("A-1", "1"), row("B-1", "1"), row("a-1", "2")];
    let (export, n) = ledger(&[Event::Batch(batch_body(&batch_id(3), &twice))]);
    let (seq, code, msg) = bad(run(&export, "d4", &[(&batch_id(3), &jsonl(&twice))]));
    assert_eq!((seq, code), (n, "batch_duplicate_key"), "{msg}");
    assert!(msg.contains("rows 0 and 2"), "{msg}");
}

#[test]
fn wrong_commitments_and_rows_without_a_key_are_named() {
    let a = a_rows();
    let mut body = batch_body(&batch_id(1), &a);
    body["asset_keys_root"] = json!(to_hex(&[7u8; 32]));
    let (export, n) = ledger(&[Event::Batch(body)]);
    let (seq, code, _) = bad(run(&export, "c1", &[(&batch_id(1), &jsonl(&a))]));
    assert_eq!((seq, code), (n, "batch_asset_keys_root_mismatch"));

    let keyless = vec![row("A-1", "1"), json!({"amount": "1"})];
    let (export, n) = ledger(&[Event::Batch(batch_body(&batch_id(2), &keyless))]);
    let (seq, code, msg) = bad(run(&export, "c2", &[(&batch_id(2), &jsonl(&keyless))]));
    assert_eq!((seq, code), (n, "bad_batch_row"), "{msg}");
    assert!(msg.contains("row 1"), "{msg}");

    let mut body = batch_body(&batch_id(3), &a);
    body["count"] = json!("3");
    let (export, n) = ledger(&[Event::Batch(body)]);
    let (seq, code, _) = bad(run(&export, "c3", &[(&batch_id(3), &jsonl(&a))]));
    assert_eq!((seq, code), (n, "bad_intent"));
}

#[test]
fn hostile_rows_files_are_unusable_not_a_panic() {
    let a = a_rows();
    let id = batch_id(1);
    let (export, _) = ledger(&[Event::Batch(batch_body(&id, &a))]);
    let unusable = |name: &str, bytes: &[u8]| match run(&export, name, &[(&id, bytes)]) {
        Err(InputError::BatchRows(m)) => m,
        other => panic!("{name}: expected unusable rows, got {other:?}"),
    };
    let m = unusable("h1", b"\x00\xff not json\n");
    assert!(m.contains("line 1: not a row in canonical JSON"), "{m}");
    let m = unusable("h2", b"{ \"amount\": \"1\" }\n");
    assert!(m.contains("line 1"), "{m}");
    let mut huge = jsonl(&a[..1]);
    huge.extend(vec![b' '; 200_000]);
    huge.push(b'\n');
    let m = unusable("h3", &huge);
    assert!(m.contains("line 2: longer than 65536 bytes"), "{m}");
    let mut cut = jsonl(&a);
    cut.pop();
    let m = unusable("h4", &cut);
    assert!(m.contains("line 3: no terminating newline"), "{m}");
    let m = unusable("h5", b"\n");
    assert!(m.contains("line 1"), "{m}");

    // A file for a batch the export does not hold.
    let other = batch_id(9);
    let fa = jsonl(&a);
    match run(&export, "h6", &[(&id, &fa), (&other, &fa)]) {
        Err(InputError::BatchRows(m)) => assert!(m.contains(&other), "{m}"),
        r => panic!("expected an unknown batch, got {r:?}"),
    }
    // Files that are not `.jsonl` are not rows files.
    let d = dir("h7", &[(&id, &fa)]);
    std::fs::write(d.join("README.txt"), b"x").unwrap();
    let r = verify_bytes(&export, &with_rows(&d, false)).unwrap();
    assert!(r.is_valid(), "{:?}", r.failure);
    assert!(BatchRows::open(&d.join("missing"), false).is_err());
}

#[test]
fn the_cli_reports_batches() {
    use std::process::Command;
    let a = a_rows();
    let id = batch_id(1);
    let (export, _) = ledger(&[Event::Batch(batch_body(&id, &a))]);
    let d = dir("cli", &[(&id, &jsonl(&a))]);
    let path = d.join("export.ledger");
    std::fs::write(&path, &export).unwrap();
    let verify = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scf-verify"))
            .args(args)
            .arg(&path)
            .output()
            .unwrap()
    };
    let d_s = d.to_str().unwrap();
    let out = verify(&["--batch-rows", d_s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "batches        1 checked against their rows, 0 not checked: rows not supplied"
        ),
        "{text}"
    );
    let out = verify(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0 checked against their rows, 1 not checked"),
        "{text}"
    );

    let mut t = a.clone();
    t[0]["invoice_number"] = json!("A-9");
    std::fs::write(d.join(format!("{id}.jsonl")), jsonl(&t)).unwrap();
    let out = verify(&["--batch-rows", d_s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("batch_rows_root_mismatch"), "{text}");

    std::fs::write(d.join(format!("{id}.jsonl")), b"garbage\n").unwrap();
    let out = verify(&["--batch-rows", d_s]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unusable batch rows"));

    std::fs::remove_file(d.join(format!("{id}.jsonl"))).unwrap();
    let out = verify(&["--batch-rows", d_s, "--require-batch-rows"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("batch_rows_missing"), "{text}");
    // --require-batch-rows needs the directory.
    assert_eq!(verify(&["--require-batch-rows"]).status.code(), Some(2));
}
