//! Hostile inputs and clients: deep nesting, huge arrays, oversized and
//! slow bodies, slow heads, and clients that go over their rate limit.
//! Every refusal is quick and is problem+json with a stable code.

use crate::support::{TestApp, fresh_key, spawn_app_with};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Refusals must not depend on the size of the input beyond reading it.
const QUICK: Duration = Duration::from_secs(5);

async fn problem(res: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    body
}

async fn post(app: &TestApp, path: &str, body: String) -> (reqwest::Response, Duration) {
    let started = Instant::now();
    let res = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    (res, started.elapsed())
}

/// A canonical intent whose body is `body_json`, and a well-formed
/// signature list of `sigs` distinct entries (not valid signatures).
fn envelope(body_json: &str, sigs: usize) -> String {
    let key = fresh_key();
    let kid = key.public_key().key_id().to_hex();
    let intent = format!(
        r#"{{"assets":[],"body":{body_json},"client_time":"{}","id":"{}","key_id":"{kid}","org":"acme","schema":1,"subject":"","type":"key.add"}}"#,
        scf_ledger::time::Timestamp::now(),
        uuid::Uuid::now_v7(),
    );
    let list: Vec<Value> = (0..sigs)
        .map(|i| {
            let id = if i == 0 {
                kid.clone()
            } else {
                format!("{i:032x}")
            };
            serde_json::json!({"key_id": id, "sig": "ab".repeat(64)})
        })
        .collect();
    serde_json::json!({"intent": intent, "sigs": list}).to_string()
}

#[tokio::test]
async fn deep_nesting_is_refused_quickly() {
    let app = spawn_app_with(&[]).await;
    // Typed bodies stop at the first value of the wrong shape.
    let deep = format!("{}{}", "[".repeat(400_000), "]".repeat(400_000));
    for path in ["/v1/intents/check", "/v1/enrolments", "/v1/tokens"] {
        let (res, took) = post(&app, path, deep.clone()).await;
        problem(res, StatusCode::BAD_REQUEST, "invalid_json").await;
        assert!(took < QUICK, "{path}: {took:?}");
    }
    // Inside the intent, where any JSON is allowed, serde_json's recursion
    // limit applies: it refuses a 128th level (the intent object and its
    // body are two of them).
    for depth in [125, 126, 30_000] {
        let nested = format!(r#"{{"x":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let (res, took) = post(&app, "/v1/intents/check", envelope(&nested, 1)).await;
        assert!(took < QUICK, "{depth}: {took:?}");
        if depth + 2 < 128 {
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "{depth}: {}",
                res.text().await.unwrap()
            );
            continue;
        }
        let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable").await;
        assert!(
            body["detail"].as_str().unwrap().contains("recursion limit"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn huge_arrays_under_the_body_limit_are_refused_quickly() {
    let app = spawn_app_with(&[("SCF_MAX_BODY_BYTES", &(16 << 20).to_string())]).await;
    // ~10 MB of distinct, well-formed signatures: a quadratic duplicate
    // check over them would take minutes.
    let many = envelope("{}", 55_000);
    assert!(many.len() > 10_000_000, "{}", many.len());
    for path in ["/v1/intents/check", "/v1/enrolments", "/v1/tokens"] {
        let (res, took) = post(&app, path, many.clone()).await;
        let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable").await;
        assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
        assert!(took < QUICK, "{path}: {took:?}");
    }
    // 10 MB of numbers where objects belong, and a bare 10 MB array.
    let numbers = format!(r#"{{"intent":"x","sigs":[{}0]}}"#, "0,".repeat(5_000_000));
    let bare = format!("[{}1]", "1,".repeat(5_000_000));
    for body in [numbers, bare] {
        let (res, took) = post(&app, "/v1/intents/check", body).await;
        problem(res, StatusCode::BAD_REQUEST, "invalid_json").await;
        assert!(took < QUICK, "{took:?}");
    }
    // Over the limit: refused by its declared length, before any handler.
    let over = "x".repeat(17 << 20);
    for path in ["/v1/intents/check", "/v1/keys", "/v1/enrolments"] {
        let (res, took) = post(&app, path, over.clone()).await;
        problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        assert!(took < QUICK, "{path}: {took:?}");
    }
}

/// Sends the head of a POST announcing `len` body bytes, and `sent` of them.
async fn start_slow_post(port: u16, len: usize, sent: &[u8]) -> TcpStream {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "POST /v1/intents/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {len}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(sent).await.unwrap();
    tcp
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(tcp: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(within, tcp.read_to_end(&mut out))
        .await
        .expect("the server should close the connection")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn slow_bodies_do_not_block_others_and_time_out() {
    let app = spawn_app_with(&[("SCF_BODY_TIMEOUT_SECS", "3")]).await;
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..64 {
        slow.push(start_slow_post(app.port, 1000, br#"{"intent":"#).await);
    }
    // One more that keeps dribbling, a byte every 100 ms: the deadline is
    // for the whole body, not for the gap between bytes.
    let mut dribbler = start_slow_post(app.port, 1000, b"{").await;
    let dribble = tokio::spawn(async move {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if dribbler.write_all(b" ").await.is_err() {
                break;
            }
        }
        read_to_close(&mut dribbler, Duration::from_secs(10)).await
    });

    // Meanwhile everyone else is served at once.
    for _ in 0..20 {
        let t = Instant::now();
        let res = app.get("/v1/time").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    let signed = envelope("{}", 1);
    let (res, _) = post(&app, "/v1/intents/check", signed).await;
    assert_eq!(res.status(), StatusCode::OK);
    // ... while the slow ones are still waiting for their answer.
    for tcp in &slow {
        let mut buf = [0u8; 64];
        let pending = tcp.try_read(&mut buf);
        assert!(
            matches!(&pending, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a slow client was answered before the others: {pending:?} after {:?}",
            started.elapsed()
        );
    }

    // Then each slow client gets a 408 problem and is disconnected.
    for tcp in &mut slow {
        let raw = read_to_close(tcp, Duration::from_secs(10)).await;
        assert!(raw.starts_with("HTTP/1.1 408"), "{raw}");
        assert!(raw.contains("application/problem+json"), "{raw}");
        assert!(raw.contains(r#""code":"request_timeout""#), "{raw}");
    }
    let raw = dribble.await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 408"), "{raw}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off() {
    let app = spawn_app_with(&[]).await;
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    tcp.write_all(b"GET /v1/time HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    let res = app.get("/v1/time").await;
    assert_eq!(res.status(), StatusCode::OK);
    // actix's own answer: a bare 408, then the connection is closed.
    let raw = read_to_close(&mut tcp, Duration::from_secs(10)).await;
    assert!(raw.starts_with("HTTP/1.1 408"), "{raw}");
    assert!(started.elapsed() < Duration::from_secs(8));
}

async fn get_with(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn assert_limited(res: reqwest::Response) -> u64 {
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After: {retry}");
    let body = problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(body["status"], 429);
    retry
}

#[tokio::test]
async fn each_token_has_its_own_rate_limit() {
    let app = spawn_app_with(&[
        ("SCF_RATE_LIMIT_PER_SEC", "1"),
        ("SCF_RATE_LIMIT_BURST", "3"),
    ])
    .await;
    let org = app.add_org("core_enterprise", "Limited Co");
    let (_, busy) = app.add_user(org, "admin");
    let (_, calm) = app.add_user(org, "viewer");
    for _ in 0..3 {
        assert_eq!(get_with(&app, "/v1/me", Some(&busy)).await.status(), 200);
    }
    let retry = assert_limited(get_with(&app, "/v1/me", Some(&busy)).await).await;
    // Mutations draw from the same bucket, before anything else is checked.
    let res = app
        .client
        .post(app.url("/v1/keys"))
        .bearer_auth(&busy)
        .send()
        .await
        .unwrap();
    assert_limited(res).await;

    // Another token, and callers without one, are not affected.
    for _ in 0..3 {
        assert_eq!(get_with(&app, "/v1/me", Some(&calm)).await.status(), 200);
    }
    assert_eq!(get_with(&app, "/v1/time", None).await.status(), 200);
    // Probes are never limited.
    for _ in 0..10 {
        assert_eq!(get_with(&app, "/healthz", Some(&busy)).await.status(), 200);
    }

    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(get_with(&app, "/v1/me", Some(&busy)).await.status(), 200);
}

#[tokio::test]
async fn callers_without_a_token_are_limited_by_address() {
    let app = spawn_app_with(&[
        ("SCF_RATE_LIMIT_PER_SEC", "1"),
        ("SCF_RATE_LIMIT_BURST", "4"),
    ])
    .await;
    let org = app.add_org("core_enterprise", "Limited Co");
    let (_, token) = app.add_user(org, "admin");
    // Enrolment and login take no token: their bucket is the address's.
    for path in [
        "/v1/enrolments",
        "/v1/tokens",
        "/v1/enrolments",
        "/v1/tokens",
    ] {
        let (res, _) = post(&app, path, "{}".into()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    for path in ["/v1/enrolments", "/v1/tokens", "/v1/time"] {
        let (res, _) = post(&app, path, "{}".into()).await;
        assert_limited(res).await;
    }
    assert_eq!(get_with(&app, "/v1/me", Some(&token)).await.status(), 200);
}

#[tokio::test]
async fn made_up_tokens_do_not_buy_fresh_buckets() {
    let app = spawn_app_with(&[
        ("SCF_RATE_LIMIT_PER_SEC", "1"),
        ("SCF_RATE_LIMIT_BURST", "3"),
    ])
    .await;
    let made_up = || {
        format!(
            "scf_{}",
            hex::encode(uuid::Uuid::new_v4().as_bytes()).repeat(2)[..48].to_owned()
        )
    };
    for _ in 0..4 {
        let res = get_with(&app, "/v1/me", Some(&made_up())).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(get_with(&app, "/v1/me", Some(&made_up())).await).await;
    assert_limited(get_with(&app, "/v1/time", None).await).await;
}

#[tokio::test]
async fn ledger_numbers_beyond_int64_are_refused() {
    let app = spawn_app_with(&[]).await;
    let over = (1u64 << 63).to_string();
    for query in [
        format!("/v1/ledger/proofs/inclusion?seq={over}"),
        format!("/v1/ledger/proofs/inclusion?seq=0&size={over}"),
        format!("/v1/ledger/proofs/consistency?old={over}"),
        format!("/v1/ledger/proofs/consistency?old=1&new={over}"),
    ] {
        let body = problem(
            app.get(&query).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("9223372036854775807"),
            "{body}"
        );
    }
    let max = i64::MAX.to_string();
    let res = app
        .get(&format!("/v1/ledger/proofs/consistency?old=1&new={max}"))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
