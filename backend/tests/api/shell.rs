//! The HTTP shell: probes, metrics, OpenAPI, docs, problem details, limits
//! and request ids.

use crate::support::{spawn_app, spawn_app_with};
use reqwest::StatusCode;
use scf_ledger::sig::SecretKey;
use scf_ledger::time::Timestamp;
use serde_json::Value;

async fn problem(res: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status(), status);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert_eq!(body["type"], format!("urn:scf:problem:{code}"), "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

#[tokio::test]
async fn probes_respond() {
    let app = spawn_app().await;
    assert!(app.settings.data_dir.starts_with(app.data_dir.path()));
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn time_is_rfc3339_utc_with_microseconds() {
    let app = spawn_app().await;
    let before = Timestamp::now();
    let body: Value = app.get("/v1/time").await.json().await.unwrap();
    let now = body["now"].as_str().unwrap();
    assert_eq!(now.len(), "2026-01-31T08:00:00.123456Z".len(), "{now}");
    let t = Timestamp::parse(now).unwrap();
    assert!(t >= before && t <= Timestamp::now());
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    app.get("/no/such/route").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    for needle in [
        r#"http_requests_total{method="GET",route="/healthz",status="200"}"#,
        r#"http_requests_total{method="GET",route="unmatched",status="404"}"#,
        r#"http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="0.005"}"#,
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[tokio::test]
async fn openapi_json_and_docs_are_served() {
    let app = spawn_app().await;
    let res = app.get("/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert!(doc["paths"]["/v1/time"]["get"].is_object(), "{doc}");
    assert!(
        doc["paths"]["/v1/intents/check"]["post"].is_object(),
        "{doc}"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object(), "{doc}");

    let res = app.get("/docs").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("/v1/time"), "the page embeds the spec");
}

/// The committed `api-spec/openapi.yaml` must equal what the code generates.
#[test]
fn openapi_snapshot_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api-spec/openapi.yaml");
    let generated = scf_backend::routes::openapi().to_yaml().unwrap();
    if std::env::var_os("SCF_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "api-spec/openapi.yaml is out of date (first difference at line {}).\n\
             Regenerate it with: SCF_UPDATE_OPENAPI=1 cargo test -p scf-backend openapi",
            first + 1
        );
    }
}

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    let body = problem(
        app.get("/v1/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(body["detail"], "no route for GET /v1/nope");
}

#[tokio::test]
async fn wrong_method_is_a_405_problem_with_allow() {
    let app = spawn_app().await;
    let res = app.post_json("/v1/time", "{}").await;
    assert_eq!(res.headers()["allow"], "GET");
    problem(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let cases = [
        ("TRACE", "/v1/keys".to_owned(), "POST"),
        ("PATCH", "/v1/users".to_owned(), "GET, POST"),
        (
            "DELETE",
            format!("/v1/organisations/{}", uuid::Uuid::new_v4()),
            "GET",
        ),
        (
            "PUT",
            format!("/v1/organisations/{}/kyc", uuid::Uuid::new_v4()),
            "POST",
        ),
        ("POST", "/metrics".to_owned(), "GET"),
        ("DELETE", "/v1/invoices/batches".to_owned(), "POST"),
    ];
    for (method, path, allow) in cases {
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        problem(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    }
    // A literal path beside a `{id}` sibling: an authenticated GET reaches
    // the sibling's route, yet the answer is the literal path's 405.
    let op = app.operator().await;
    let res = app.get_auth("/v1/invoices/batches", &op.token).await;
    assert_eq!(res.headers()["allow"], "POST");
    problem(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

/// Answers due to an operation's shape are documented on every operation
/// of that shape (routes::common_responses).
#[test]
fn every_operation_documents_its_shape_errors() {
    let doc = serde_json::to_value(scf_backend::routes::openapi()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let has = |status: &str| op["responses"].get(status).is_some();
            let probe = ["/healthz", "/readyz"].contains(&path.as_str());
            assert_eq!(has("429"), !probe, "{method} {path}");
            if op.get("requestBody").is_some() {
                for status in ["400", "408", "413", "415"] {
                    assert!(has(status), "{method} {path} {status}");
                }
            }
            if op.get("security").is_some() {
                assert!(has("401") && has("503"), "{method} {path}");
            }
        }
    }
    let limited = &doc["components"]["responses"]["RateLimited"];
    assert!(limited["headers"]["Retry-After"].is_object(), "{limited}");
}

#[tokio::test]
async fn oversized_body_is_a_413_problem() {
    let app = spawn_app_with(&[("SCF_MAX_BODY_BYTES", "1024")]).await;
    let big = format!(
        r#"{{"intent":"{}","sigs":[]}}"#,
        "x".repeat(4 * app.settings.max_body_bytes)
    );
    let res = app.post_json("/v1/intents/check", big.clone()).await;
    problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // Without a Content-Length (chunked), the extractor's limit applies.
    let port = app.port;
    let raw = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut req = b"POST /v1/intents/check HTTP/1.1\r\nHost: x\r\n\
            Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
            Connection: close\r\n\r\n"
            .to_vec();
        for chunk in big.as_bytes().chunks(512) {
            req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            req.extend_from_slice(chunk);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        tcp.write_all(&req).unwrap();
        let mut out = String::new();
        let _ = tcp.read_to_string(&mut out);
        out
    })
    .await
    .unwrap();
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains("application/problem+json"), "{raw}");
    assert!(raw.contains(r#""code":"payload_too_large""#), "{raw}");
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    let body = problem(
        app.post_json("/v1/intents/check", "{\"intent\": ").await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("EOF"), "{body}");

    let body = problem(
        app.post_json("/v1/intents/check", r#"{"intent": "x"}"#)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("missing field `sigs`"),
        "{body}"
    );

    let res = app
        .client
        .post(app.url("/v1/intents/check"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "client-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "client-42");

    let res = app.get("/v1/nope").await;
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn signed_intents_are_checked() {
    let app = spawn_app().await;
    let key = SecretKey::from_seed(&[9; 32]);
    let signed = scf_backend::cli::sign_template(
        &key,
        br#"{"type":"invoice.issue","org":"acme","body":{"amount":"10.00"}}"#,
        Timestamp::now(),
        uuid::Uuid::now_v7(),
    )
    .unwrap();
    let res = app
        .post_json("/v1/intents/check", serde_json::to_vec(&signed).unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "invoice.issue");
    assert_eq!(body["key_id"], key.public_key().key_id().to_hex());
    assert_eq!(body["sigs"], 1);

    let mut stale = scf_backend::cli::sign_template(
        &key,
        br#"{"type":"invoice.issue","org":"acme","body":{},"client_time":"2020-01-01T00:00:00Z"}"#,
        Timestamp::now(),
        uuid::Uuid::now_v7(),
    )
    .unwrap();
    stale.sigs[0].sig = "zz".into();
    let res = app
        .post_json("/v1/intents/check", serde_json::to_vec(&stale).unwrap())
        .await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["sigs[0].sig", "intent.client_time"]);
}

/// Every stable error code is listed in docs/API-DESIGN.md.
#[test]
fn error_codes_are_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/API-DESIGN.md"
    ))
    .unwrap();
    for code in scf_backend::ErrorCode::ALL {
        assert!(
            doc.contains(&format!("`{}`", code.as_str())),
            "{code} is not documented"
        );
    }
}
