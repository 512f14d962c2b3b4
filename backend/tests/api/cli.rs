//! The `scf` binary: keygen, sign, ledger verify, and serve's start-up checks.

use scf_ledger::intent::signing_message;
use scf_ledger::sig::{PublicKey, Signature, verify};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn scf(args: &[&str]) -> Output {
    scf_with_stdin(args, None, &[])
}

fn scf_with_stdin(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A one-line error on stderr, nothing on stdout, exit 2.
fn assert_usage_error(out: &Output, prefix: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with(prefix), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn keygen_then_sign_produces_a_verifiable_body() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("actor.key");

    let out = scf(&["keygen", "--out", p(&key)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap()
    };
    let public = PublicKey::from_hex(&field("public_key")).unwrap();
    let key_id = field("key_id");
    assert_eq!(public.key_id().to_hex(), key_id);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let seed = std::fs::read_to_string(&key).unwrap();
    assert!(
        !stdout.contains(seed.trim()),
        "the secret must not be printed"
    );

    // Never overwrite a key.
    assert_usage_error(&scf(&["keygen", "--out", p(&key)]), "scf keygen: ");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), seed);

    let template = br#"{
        "type": "invoice.issue",
        "org": "acme",
        "subject": "inv-1",
        "body": {"amount": "1234.50", "currency": "EUR"}
    }"#;
    let file = dir.path().join("intent.json");
    std::fs::write(&file, template).unwrap();
    let from_file = scf(&["sign", "--key", p(&key), "--intent", p(&file)]);
    let from_stdin = scf_with_stdin(
        &["sign", "--key", p(&key), "--intent", "-"],
        Some(template),
        &[],
    );
    for out in [from_file, from_stdin] {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let obj = body.as_object().unwrap();
        assert_eq!(obj.len(), 2, "{body}");
        let intent = body["intent"].as_str().unwrap();
        assert!(scf_ledger::jcs::is_canonical(intent.as_bytes()), "{intent}");
        let parsed = scf_ledger::intent::Intent::parse(intent.as_bytes()).unwrap();
        assert_eq!(parsed.key_id.to_hex(), key_id);
        assert_eq!(parsed.subject, "inv-1");
        assert_eq!(body["sigs"].as_array().unwrap().len(), 1);
        assert_eq!(body["sigs"][0]["key_id"], key_id.as_str());
        let sig = Signature::from_hex(body["sigs"][0]["sig"].as_str().unwrap()).unwrap();
        verify(&public, &signing_message(intent.as_bytes()), &sig).unwrap();
    }
}

/// Asset keys in any order are signed ascending, as the canonical form
/// requires; the same key twice is still refused.
#[test]
fn sign_orders_asset_keys() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("actor.key");
    let out = scf(&["keygen", "--out", p(&key)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (low, high) = ("0a".repeat(32), "f0".repeat(32));
    let template = |keys: [&str; 2]| {
        format!(
            r#"{{"type":"certificate.clear","org":"acme","body":{{}},
                "assets":[{{"key":"{}","op":"release"}},{{"key":"{}","op":"release"}}]}}"#,
            keys[0], keys[1]
        )
    };
    let sign = |stdin: String| {
        scf_with_stdin(
            &["sign", "--key", p(&key), "--intent", "-"],
            Some(stdin.as_bytes()),
            &[],
        )
    };
    let out = sign(template([&high, &low]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let intent = body["intent"].as_str().unwrap();
    let parsed = scf_ledger::intent::Intent::parse(intent.as_bytes()).unwrap();
    let keys: Vec<String> = parsed.assets.iter().map(|a| a.key.to_hex()).collect();
    assert_eq!(keys, [low.clone(), high.clone()]);
    assert_usage_error(&sign(template([&low, &low])), "scf sign: ");
}

#[test]
fn sign_rejects_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    assert_eq!(scf(&["keygen", "--out", p(&key)]).status.code(), Some(0));
    let sign = |stdin: &[u8]| {
        scf_with_stdin(
            &["sign", "--key", p(&key), "--intent", "-"],
            Some(stdin),
            &[],
        )
    };

    assert_usage_error(&sign(b"{not json"), "scf sign: intent is not JSON");
    assert_usage_error(&sign(b"[]"), "scf sign: intent must be a JSON object");
    assert_usage_error(
        &sign(br#"{"type":"Bad","org":"acme","body":{}}"#),
        "scf sign: intent field type",
    );
    assert_usage_error(
        &sign(br#"{"type":"a.b","org":"acme","body":{},"extra":1}"#),
        "scf sign: intent has an unknown field",
    );

    let bad_key = dir.path().join("bad.key");
    std::fs::write(&bad_key, "secret-not-hex").unwrap();
    let out = scf_with_stdin(
        &["sign", "--key", p(&bad_key), "--intent", "-"],
        Some(b"{}"),
        &[],
    );
    assert_usage_error(&out, "scf sign: ");
    assert!(!text(&out.stderr).contains("secret-not-hex"));
    assert_usage_error(
        &scf(&["sign", "--key", "/nonexistent/key", "--intent", "-"]),
        "scf sign: /nonexistent/key",
    );
}

#[test]
fn ledger_verify_matches_scf_verify() {
    let export = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ledger/testdata/small-export.jsonl"
    );
    let out = scf(&["ledger", "verify", export]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("VALID"),
        "{}",
        text(&out.stdout)
    );

    let out = scf(&["ledger", "verify", "--json", export]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], true);

    // One flipped signature character: invalid, exit 1.
    let mut bytes = std::fs::read(export).unwrap();
    let line2 = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let at = line2 + 20;
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, &bytes).unwrap();
    let out = scf(&["ledger", "verify", "--json", p(&bad)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));

    assert_eq!(
        scf(&["ledger", "verify", "/nonexistent/export"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn serve_refuses_an_unusable_data_dir() {
    let out = scf_with_stdin(
        &["serve"],
        None,
        &[("SCF_DATA_DIR", "/proc/scf"), ("SCF_LISTEN", "127.0.0.1:0")],
    );
    assert_usage_error(&out, "scf serve: SCF_DATA_DIR: /proc/scf:");
}

#[test]
fn serve_refuses_invalid_config() {
    let out = scf_with_stdin(&["serve"], None, &[("SCF_LISTEN", "nowhere")]);
    assert_usage_error(&out, "scf serve: SCF_LISTEN:");
    let out = scf_with_stdin(&["serve", "--config", "/nonexistent.toml"], None, &[]);
    assert_usage_error(&out, "scf serve: config file /nonexistent.toml:");
}

#[test]
fn serve_refuses_an_unknown_or_unreachable_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = scf_with_stdin(
        &["serve"],
        None,
        &[
            ("SCF_DATA_DIR", p(dir.path())),
            ("SCF_LISTEN", "127.0.0.1:0"),
            ("SCF_DATABASE_URL", "mysql://localhost/scf"),
        ],
    );
    assert_usage_error(&out, "scf serve: SCF_DATABASE_URL:");
    let out = scf_with_stdin(
        &["serve"],
        None,
        &[
            ("SCF_DATA_DIR", p(dir.path())),
            ("SCF_LISTEN", "127.0.0.1:0"),
            ("SCF_DATABASE_URL", "postgres://postgres@127.0.0.1:1/scf"),
        ],
    );
    assert_usage_error(&out, "scf serve: database:");
}

/// The real binary on the default SQLite storage: serve, sign a checkpoint,
/// stop; then export the stored ledger and verify it offline.
#[test]
fn serve_then_export_then_verify() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let envs = [
        ("SCF_DATA_DIR", p(dir.path())),
        ("SCF_LISTEN", listen.as_str()),
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_scf"))
        .arg("serve")
        .envs(envs)
        .env("SCF_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = http_probe::get_ready(&format!("http://{listen}/readyz"));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        ready,
        "the server never became ready: {}",
        text(&out.stderr)
    );
    assert!(dir.path().join("scf.db").exists());
    assert!(dir.path().join("platform.key").exists());

    let export = dir.path().join("export.jsonl");
    let out = scf_with_stdin(&["ledger", "export", "--out", p(&export)], None, &envs);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = scf_with_stdin(&["ledger", "verify", p(&export)], None, &[]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).starts_with("VALID"));
}

mod http_probe {
    use std::io::{Read, Write};

    /// One plain HTTP/1.0 GET; returns the whole response as text.
    pub fn get(host: &str, path: &str, token: Option<&str>) -> String {
        let Ok(mut s) = std::net::TcpStream::connect(host) else {
            return String::new();
        };
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n{auth}\r\n");
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        buf
    }

    /// Polls `url` with a plain HTTP/1.0 GET over a socket until it answers
    /// 200 (10 s at most); no async runtime needed in a sync test.
    pub fn get_ready(url: &str) -> bool {
        let addr = url.trim_start_matches("http://");
        let (host, path) = addr.split_once('/').unwrap();
        for _ in 0..100 {
            if let Ok(mut s) = std::net::TcpStream::connect(host) {
                let _ = write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200") {
                    return true;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    }
}

/// `scf bootstrap` once, then the token it printed authenticates against
/// the real server; a second bootstrap is refused.
#[test]
fn bootstrap_then_serve_authenticates_the_admin() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("admin.key");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let envs = [
        ("SCF_DATA_DIR", p(dir.path())),
        ("SCF_LISTEN", listen.as_str()),
    ];
    let out = scf_with_stdin(
        &["bootstrap", "--name", "Ada", "--key-out", p(&key)],
        None,
        &envs,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("API token"))
        .map(|t| t.trim().to_owned())
        .unwrap();
    assert!(token.starts_with("scf_"), "{stdout}");
    assert!(key.exists());

    let again = scf_with_stdin(
        &[
            "bootstrap",
            "--name",
            "Eve",
            "--key-out",
            p(&dir.path().join("eve.key")),
        ],
        None,
        &envs,
    );
    assert_usage_error(&again, "scf bootstrap: already bootstrapped");
    assert!(
        !dir.path().join("eve.key").exists(),
        "a refused bootstrap leaves no key behind"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_scf"))
        .arg("serve")
        .envs(envs)
        .env("SCF_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = http_probe::get_ready(&format!("http://{listen}/readyz"));
    let me = http_probe::get(&listen, "/v1/me", Some(&token));
    let anonymous = http_probe::get(&listen, "/v1/me", None);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(ready, "{}", text(&out.stderr));
    assert!(
        me.lines().next().is_some_and(|l| l.contains(" 200 ")),
        "{me}"
    );
    assert!(me.contains("\"role\":\"admin\""), "{me}");
    assert!(
        anonymous
            .lines()
            .next()
            .is_some_and(|l| l.contains(" 401 ")),
        "{anonymous}"
    );
    assert!(
        !text(&out.stderr).contains(&token),
        "the token must not be logged"
    );
}
