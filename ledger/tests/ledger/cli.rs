//! The `scf-verify` binary: exit codes, reports and the state file.

use crate::support::*;
use std::path::PathBuf;
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scf-verify-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scf-verify"))
        .args(args)
        .output()
        .expect("run scf-verify")
}

#[test]
fn exit_codes_and_reports() {
    let s = small();
    let export = tmp("ok.jsonl");
    std::fs::write(&export, &s.export).unwrap();
    let root = tmp("root.json");
    std::fs::write(&root, s.sim.trust_root.to_json()).unwrap();

    let out = run(&[
        "--trust-root",
        root.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("VALID"), "{text}");
    assert!(text.contains("anchored in the trust root"), "{text}");

    // Tampered: exit 1 and the JSON report names the seq.
    let mut bad = s.export.clone();
    let lines = lines(&s.export);
    let third = lines[0].len() + lines[1].len() + lines[2].len() + 2 + 40;
    bad[third] ^= 1;
    let bad_path = tmp("bad.jsonl");
    std::fs::write(&bad_path, &bad).unwrap();
    let out = run(&["--json", bad_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["failure"]["seq"], entries_before(&lines, 3));

    // Garbage, a missing file, a bad trust root: exit 2.
    let garbage = tmp("garbage.bin");
    std::fs::write(&garbage, [0x00, 0xff, 0x13, 0x37]).unwrap();
    assert_eq!(run(&[garbage.to_str().unwrap()]).status.code(), Some(2));
    assert_eq!(run(&["/nonexistent/export"]).status.code(), Some(2));
    assert_eq!(
        run(&[
            "--trust-root",
            garbage.to_str().unwrap(),
            export.to_str().unwrap()
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(run(&["--no-such-flag"]).status.code(), Some(2));

    // Another ledger's trust root: invalid, at seq 0.
    let other = tmp("other-root.json");
    std::fs::write(&other, r#"{"origin":"someone.else","platform_key":"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"}"#).unwrap();
    let out = run(&[
        "--json",
        "--trust-root",
        other.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failure"]["code"], "untrusted_genesis");
}

#[test]
fn state_file_detects_rollback_on_the_next_run() {
    let s = small();
    let lines = lines(&s.export);
    let full = tmp("full.jsonl");
    std::fs::write(&full, &s.export).unwrap();
    let state = tmp("state.json");
    let _ = std::fs::remove_file(&state);
    // First run creates the state, second run accepts it.
    assert_eq!(
        run(&["--state", state.to_str().unwrap(), full.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    assert!(state.exists());
    assert_eq!(
        run(&["--state", state.to_str().unwrap(), full.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    // A shorter (rolled back) export is refused.
    let cut = (1..lines.len() - 1)
        .rev()
        .find(|&k| !is_entry(&lines[k]))
        .unwrap();
    let short = tmp("short.jsonl");
    std::fs::write(&short, join(&lines[..=cut])).unwrap();
    let out = run(&[
        "--json",
        "--state",
        state.to_str().unwrap(),
        short.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failure"]["code"], "truncated");
    assert_eq!(report["failure"]["seq"], entries_before(&lines, cut));
    // A corrupt state file is unusable input.
    std::fs::write(&state, b"not a checkpoint").unwrap();
    assert_eq!(
        run(&["--state", state.to_str().unwrap(), full.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
}
