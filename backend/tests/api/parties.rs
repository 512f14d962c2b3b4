//! Tokens, bootstrap and the authenticated caller.

use crate::support::spawn_app;
use scf_backend::parties::bootstrap::{BootstrapError, bootstrap};
use scf_ledger::sig::SecretKey;

#[actix_web::test]
async fn me_needs_a_valid_token() {
    let app = spawn_app().await;
    let (_, token) = app.bootstrap_admin("Ada Operator").await;
    let r = app.get_auth("/v1/me", &token).await;
    assert_eq!(r.status(), 200);
    let me: serde_json::Value = r.json().await.unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["org_kind"], "platform_operator");
    assert_eq!(me["name"], "Ada Operator");
    assert_eq!(me["org_id"], app.opened.operator.0.to_string());

    for bad in [
        "",
        "scf_",
        "not-a-token",
        "scf_000000000000000000000000000000000000000000000000",
        &token[..token.len() - 1],
    ] {
        let r = app.get_auth("/v1/me", bad).await;
        assert_eq!(r.status(), 401, "{bad:?}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body = r.text().await.unwrap();
        assert!(!body.contains(&token), "the token must never be echoed");
    }
    assert_eq!(app.get("/v1/me").await.status(), 401);
}

#[actix_web::test]
async fn bootstrap_runs_once_and_is_recorded_in_the_ledger() {
    let app = spawn_app().await;
    let (key, _) = app.bootstrap_admin("Ada").await;
    let again = bootstrap(
        &app.opened.db,
        &app.opened.writer,
        app.opened.operator,
        "Eve",
        &SecretKey::from_seed(&[9; 32]),
    )
    .await;
    assert!(matches!(again, Err(BootstrapError::Already)), "{again:?}");
    // The admin's key is a key.add entry in the ledger.
    let cp = app.opened.writer.checkpoint().await.unwrap();
    let mut export = Vec::new();
    scf_backend::ledger::export(&mut app.opened.db.get().unwrap(), &mut export).unwrap();
    let report = scf_ledger::verify::verify_bytes(&export, &Default::default()).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert_eq!(report.entries, cp.size);
    assert_eq!(report.actor_keys, 1);
    let text = String::from_utf8(export).unwrap();
    assert!(text.contains(&key.public_key().key_id().to_hex()));
}
