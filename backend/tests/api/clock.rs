//! The test-mode clock: the operator moves platform time forward, signed
//! and recorded; in normal mode the route does not exist. `spawn_app` runs
//! in test mode.

use crate::support::{spawn_app, spawn_app_with};
use scf_ledger::time::Timestamp;
use serde_json::json;

fn days_after(t: Timestamp, days: i64) -> Timestamp {
    Timestamp::from_unix_micros(t.unix_micros() + days * 86_400_000_000).unwrap()
}

#[tokio::test]
async fn normal_mode_has_no_clock_route() {
    let app = spawn_app_with(&[("SCF_TEST_MODE", "false")]).await;
    let op = app.operator().await;
    let to = days_after(Timestamp::now(), 30).to_string();
    let (s, b) = app
        .act(&op, "/v1/test/clock", "clock.advance", json!({ "to": to }))
        .await;
    assert_eq!(s, 404, "{b}");
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"].get("/v1/test/clock").is_none());
    assert!(app.server_time().await < days_after(Timestamp::now(), 1));
}

#[tokio::test]
async fn the_operator_admin_moves_time_forward_and_it_stays_there() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let target = days_after(Timestamp::now(), 200);
    let (s, b) = app
        .act(
            &op,
            "/v1/test/clock",
            "clock.advance",
            json!({ "to": target.to_string() }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let now = app.server_time().await;
    assert!(
        now >= target && now < days_after(target, 1),
        "{now} vs {target}"
    );

    // An intent signed on the client's own (now 200 days slow) clock is out
    // of the allowed skew; one signed at the server's time is accepted and
    // its entry carries the moved time.
    let maker = json!({"user_id": uuid::Uuid::new_v4(), "name": "Mo", "role": "maker",
        "public_key": crate::support::fresh_key().public_key().to_hex()});
    let (s, b) = app.act(&op, "/v1/users", "user.add", maker.clone()).await;
    assert_eq!(s, 422, "{b}");
    let (s, b) = app.act_now(&op, "/v1/users", "user.add", maker).await;
    assert_eq!(s, 201, "{b}");
    let entry_time = Timestamp::parse(b["receipt"]["time"].as_str().unwrap()).unwrap();
    assert!(entry_time >= target, "{b}");

    // Backwards is refused and changes nothing.
    let (s, b) = app
        .act_now(
            &op,
            "/v1/test/clock",
            "clock.advance",
            json!({ "to": Timestamp::now().to_string() }),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(app.server_time().await >= target);
}

#[tokio::test]
async fn only_the_operator_admin_may_move_it() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let checker = app.staff(&op, "checker").await;
    let to = days_after(Timestamp::now(), 5).to_string();
    let (s, b) = app
        .act(
            &checker,
            "/v1/test/clock",
            "clock.advance",
            json!({ "to": to }),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let core = app.onboard(&op, "core_enterprise", "Core Co").await;
    let (s, b) = app
        .act(
            &core,
            "/v1/test/clock",
            "clock.advance",
            json!({ "to": to }),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    assert!(app.server_time().await < days_after(Timestamp::now(), 1));
}
