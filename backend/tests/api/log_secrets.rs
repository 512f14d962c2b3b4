//! No secret ever reaches the logs: the real `scf` binary runs with
//! `SCF_LOG=trace` (more than debug: at debug, only the service's own
//! lines appear) through bootstrap, logins, failed authentication and
//! errors, and its whole log is searched for every token and key it saw.

use crate::support::signed;
use scf_backend::db::testing::{PG_ENV, TestDb};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn scf(data_dir: &Path, db: &TestDb, listen: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scf"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SCF_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("SCF_DATA_DIR", data_dir)
        .env("SCF_DATABASE_URL", db.url())
        .env("SCF_LISTEN", listen)
        .env("SCF_LOG", "trace")
        .env("NO_COLOR", "1");
    cmd
}

/// Every 64-hex secret the data directory holds (the platform key, the
/// token key).
fn data_dir_secrets(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect()
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let data = tempfile::tempdir().unwrap();
    let db = match std::env::var(PG_ENV) {
        Ok(server) => TestDb::postgres(&server).unwrap(),
        Err(_) => TestDb::sqlite().unwrap(),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let key_file = data.path().join("admin.key");

    let boot = scf(data.path(), &db, &listen)
        .args(["bootstrap", "--name", "Ada Operator", "--key-out"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(boot.status.success(), "{boot:?}");
    let stdout = String::from_utf8_lossy(&boot.stdout);
    let boot_token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("API token"))
        .unwrap()
        .trim()
        .to_owned();
    let seed = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_owned();
    let key = scf_backend::ledger::keyfile::parse_seed(&seed).unwrap();

    let log_path = data.path().join("serve.log");
    let mut server = scf(data.path(), &db, &listen)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://{listen}");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the server did not start");

    let me: Value = http
        .get(format!("{base}/v1/me"))
        .bearer_auth(&boot_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (org, user) = (
        me["org_id"].as_str().unwrap().to_owned(),
        me["user_id"].as_str().unwrap().to_owned(),
    );

    // A login, and its retry (which re-derives the same token).
    let login = signed(
        "auth.token",
        &org,
        json!({"user": user, "label": "laptop"}),
        &key,
    );
    let mut tokens = vec![boot_token.clone()];
    for _ in 0..2 {
        let res = http
            .post(format!("{base}/v1/tokens"))
            .header("Idempotency-Key", "login-1")
            .json(&login)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        tokens.push(body["token"].as_str().unwrap().to_owned());
    }

    // Failed authentication: a well-formed stranger, a malformed one, and
    // a token that was revoked.
    let stranger = format!("scf_{}", "0123456789abcdef".repeat(3));
    let malformed = "not-a-token-but-secret-looking-s3cr3t".to_owned();
    for t in [&stranger, &malformed] {
        let res = http
            .get(format!("{base}/v1/me"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let login_token = tokens[1].clone();
    let me2: Value = http
        .get(format!("{base}/v1/me"))
        .bearer_auth(&login_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me2["user_id"], user);

    // Errors of several kinds, each with a valid token.
    let bad_bodies: [(&str, &str); 4] = [
        ("/v1/keys", "{not json"),
        ("/v1/keys", r#"{"intent":"{}","sigs":[]}"#),
        (
            "/v1/organisations",
            r#"{"intent":"x","sigs":[{"key_id":"a","sig":"b"}]}"#,
        ),
        ("/v1/nope", "{}"),
    ];
    for (path, body) in bad_bodies {
        let res = http
            .post(format!("{base}{path}"))
            .bearer_auth(&login_token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{path}: {}", res.status());
    }
    // A request the writer refuses: a replay of the login under a new key.
    let res = http
        .post(format!("{base}/v1/tokens"))
        .header("Idempotency-Key", "login-2")
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);

    let _ = server.kill();
    let _ = server.wait();
    let mut log = String::from_utf8_lossy(&boot.stderr).into_owned();
    log.push_str(&std::fs::read_to_string(&log_path).unwrap());
    // The log is really at the most verbose level and covers these requests.
    assert!(log.contains("TRACE actix_http"), "{log}");
    assert!(
        log.contains("/v1/tokens") && log.contains("/v1/me"),
        "{log}"
    );

    let mut secrets = tokens;
    secrets.extend([stranger, malformed, seed]);
    secrets.extend(data_dir_secrets(data.path()));
    assert!(secrets.len() >= 7, "{secrets:?}");
    for s in &secrets {
        assert!(
            !log.contains(s.as_str()),
            "the log holds a secret ({s}):\n{log}"
        );
        // Nor its tail: a prefix is fine to log, the random part is not.
        let tail = &s[s.len() - 24..];
        assert!(!log.contains(tail), "the log holds part of a secret ({s})");
    }
}
