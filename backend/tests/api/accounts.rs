//! Settlement bank accounts: added by the holder, verified by the
//! operator, revoked by the holder; visible to the holder and the
//! operator only; and the check the disbursement workflow will call.

use crate::support::{Party, TestApp, spawn_app};
use scf_backend::db::DbId;
use scf_backend::ledger::CommandError;
use scf_backend::parties::accounts::verified_account;
use serde_json::{Value, json};

/// `approved()` registers every firm under this name.
const REGISTERED: &str = "Registered name";

fn add_body(id: &str, number: &str) -> Value {
    json!({"account_id": id, "bank_name": "中国工商银行", "branch": "上海分行营业部",
        "account_number": number, "account_name": REGISTERED, "currency": "CNY"})
}

async fn add(app: &TestApp, who: &Party, body: Value) -> (u16, Value) {
    app.act(who, "/v1/accounts", "account.add", body).await
}

async fn verify(
    app: &TestApp,
    who: &Party,
    id: &str,
    outcome: &str,
    reason: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({"account_id": id, "outcome": outcome});
    if let Some(r) = reason {
        body["reason"] = json!(r);
    }
    app.act(
        who,
        &format!("/v1/accounts/{id}/verification"),
        "account.verify",
        body,
    )
    .await
}

async fn revoke(app: &TestApp, who: &Party, id: &str) -> (u16, Value) {
    let body = json!({"account_id": id, "reason": "account closed"});
    app.act(
        who,
        &format!("/v1/accounts/{id}/revocation"),
        "account.revoke",
        body,
    )
    .await
}

async fn get(app: &TestApp, who: &Party, path: &str) -> (u16, Value) {
    let r = app.get_auth(path, &who.token).await;
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn disbursable(app: &TestApp, org: &str, account: &str) -> Result<String, CommandError> {
    let mut c = app.opened.db.get().unwrap();
    let org = DbId::from(uuid::Uuid::parse_str(org).unwrap());
    let account = DbId::from(uuid::Uuid::parse_str(account).unwrap());
    verified_account(&mut c, org, account).map(|r| r.account_number)
}

fn status_of(e: CommandError) -> u16 {
    match e {
        CommandError::Rejected { status, .. } => status,
        other => panic!("not a refusal: {other:?}"),
    }
}

#[actix_web::test]
async fn add_verify_disburse_revoke() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Acct Core").await;
    let id = uuid::Uuid::new_v4().to_string();

    let (s, b) = add(&app, &core, add_body(&id, "6222 0212-3456 7890")).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["account"]["status"], "pending");
    assert_eq!(b["account"]["account_number"], "6222021234567890");
    assert_eq!(b["account"]["account_number_masked"], "****7890");
    assert!(b["receipt"]["seq"].is_u64(), "{b}");
    // Not yet verified: nothing may be paid into it.
    assert_eq!(
        status_of(disbursable(&app, &core.org, &id).unwrap_err()),
        409
    );

    let (s, b) = get(&app, &core, &format!("/v1/accounts/{id}")).await;
    assert_eq!((s, b["account_name"].as_str()), (200, Some(REGISTERED)));
    let (s, b) = get(&app, &op, "/v1/accounts?status=pending").await;
    assert_eq!(s, 200);
    assert!(
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id.as_str())
    );

    // The holder cannot vouch for its own account.
    let (s, b) = verify(&app, &core, &id, "verified", None).await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = verify(
        &app,
        &op,
        &id,
        "verified",
        Some("test transfer of 0.37 returned"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["account"]["status"], "verified");
    assert_eq!(b["account"]["decided_by"], op.user.as_str());
    let (s, b) = verify(&app, &op, &id, "verified", None).await;
    assert_eq!(s, 409, "double verify: {b}");
    assert!(b["detail"].as_str().unwrap().contains("revoke"), "{b}");

    assert_eq!(
        disbursable(&app, &core.org, &id).unwrap(),
        "6222021234567890"
    );
    // Another organisation's account is refused as if it did not exist.
    let other = app.approved(&op, "funder", "Acct Bank").await;
    assert_eq!(
        status_of(disbursable(&app, &other.org, &id).unwrap_err()),
        422
    );
    assert_eq!(
        status_of(disbursable(&app, &core.org, &uuid::Uuid::new_v4().to_string()).unwrap_err()),
        422
    );

    // The same number cannot be registered twice while live.
    let (s, b) = add(
        &app,
        &core,
        add_body(&uuid::Uuid::new_v4().to_string(), "6222021234567890"),
    )
    .await;
    assert_eq!(s, 409, "{b}");

    let (s, b) = revoke(&app, &core, &id).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["account"]["status"], "revoked");
    assert_eq!(
        status_of(disbursable(&app, &core.org, &id).unwrap_err()),
        409
    );
    assert_eq!(revoke(&app, &core, &id).await.0, 409);
    assert_eq!(verify(&app, &op, &id, "verified", None).await.0, 409);
    // Once revoked, the account may be added again, as a new review.
    let again = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        add(&app, &core, add_body(&again, "6222021234567890"))
            .await
            .0,
        201
    );
    // Each step is a ledger entry of the organisation that took it.
    let (_, entries) = get(&app, &core, "/v1/ledger/entries?limit=200").await;
    let kinds: Vec<&str> = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| t.starts_with("account."))
        .collect();
    assert_eq!(kinds, ["account.add", "account.revoke", "account.add"]);
}

#[actix_web::test]
async fn refusals() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Acct Core").await;
    let new = || uuid::Uuid::new_v4().to_string();

    let mut body = add_body(&new(), "62220212345678");
    body["account_name"] = json!("Someone Else Ltd");
    let (s, b) = add(&app, &core, body).await;
    assert_eq!(s, 422, "name mismatch: {b}");
    assert!(b["detail"].as_str().unwrap().contains(REGISTERED), "{b}");
    let mut body = add_body(&new(), "62220212345678");
    body["currency"] = json!("USD");
    assert_eq!(add(&app, &core, body).await.0, 422);
    for bad in ["1234567", "6222O212345678", &"1".repeat(33)] {
        let (s, b) = add(&app, &core, add_body(&new(), bad)).await;
        assert_eq!(s, 422, "{bad}: {b}");
    }
    // A firm that has not passed KYC has no account yet.
    let fresh = app.onboard(&op, "funder", "Unreviewed Bank").await;
    let mut body = add_body(&new(), "62220212345678");
    body["account_name"] = json!("Unreviewed Bank");
    assert_eq!(add(&app, &fresh, body).await.0, 409);
    // Only an admin adds.
    let maker = app.staff(&core, "maker").await;
    assert_eq!(
        add(&app, &maker, add_body(&new(), "62220212345678"))
            .await
            .0,
        403
    );

    let id = new();
    assert_eq!(
        add(&app, &core, add_body(&id, "62220212345678")).await.0,
        201
    );
    // A pending account cannot be revoked; a rejection needs a reason.
    assert_eq!(revoke(&app, &core, &id).await.0, 409);
    assert_eq!(verify(&app, &op, &id, "rejected", None).await.0, 422);
    // Only the operator's admin or checker decides.
    let op_viewer = app.staff(&op, "viewer").await;
    assert_eq!(verify(&app, &op_viewer, &id, "verified", None).await.0, 403);
    let op_checker = app.staff(&op, "checker").await;
    let (s, b) = verify(
        &app,
        &op_checker,
        &id,
        "rejected",
        Some("name differs at the bank"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["account"]["status"], "rejected");
    assert_eq!(b["account"]["reason"], "name differs at the bank");
    assert_eq!(verify(&app, &op, &id, "verified", None).await.0, 409);
    assert_eq!(revoke(&app, &core, &id).await.0, 409);

    // Only the holder's admin revokes; the operator sees it but may not.
    let id = new();
    assert_eq!(
        add(&app, &core, add_body(&id, "62220212340000")).await.0,
        201
    );
    assert_eq!(verify(&app, &op, &id, "verified", None).await.0, 200);
    assert_eq!(revoke(&app, &maker, &id).await.0, 403);
    assert_eq!(revoke(&app, &op, &id).await.0, 403);
    // The body must name the account in the path.
    let body = json!({"account_id": new(), "reason": "x"});
    let (s, _) = app
        .act(
            &core,
            &format!("/v1/accounts/{id}/revocation"),
            "account.revoke",
            body,
        )
        .await;
    assert_eq!(s, 422);
}

#[actix_web::test]
async fn other_tenants_see_nothing() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Acct Core").await;
    let rival = app.approved(&op, "core_enterprise", "Rival Core").await;
    let id = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        add(&app, &core, add_body(&id, "99990000111122")).await.0,
        201
    );

    let (s, _) = get(&app, &rival, &format!("/v1/accounts/{id}")).await;
    assert_eq!(s, 404);
    let (s, b) = get(&app, &rival, "/v1/accounts").await;
    assert_eq!(s, 200);
    assert_eq!(b["items"], json!([]));
    assert!(!b.to_string().contains("99990000111122"));
    // Deciding or revoking a foreign account: as if it did not exist.
    assert_eq!(verify(&app, &rival, &id, "verified", None).await.0, 404);
    assert_eq!(revoke(&app, &rival, &id).await.0, 404);
    // The holder's staff of any role read it, in full.
    let viewer = app.staff(&core, "viewer").await;
    let (s, b) = get(&app, &viewer, &format!("/v1/accounts/{id}")).await;
    assert_eq!(
        (s, b["account_number"].as_str()),
        (200, Some("99990000111122"))
    );
    // The operator lists every organisation's, by status.
    let (_, b) = get(&app, &op, "/v1/accounts?status=verified").await;
    assert_eq!(b["items"], json!([]));
    let (_, b) = get(&app, &op, "/v1/accounts?status=pending").await;
    assert_eq!(b["items"][0]["account_number"], "99990000111122");
    let (s, _) = get(&app, &op, "/v1/accounts?status=closed").await;
    assert_eq!(s, 400);
}

#[actix_web::test]
async fn pages_follow_the_cursor() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Acct Core").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = uuid::Uuid::now_v7().to_string();
        assert_eq!(
            add(&app, &core, add_body(&id, &format!("1000000{n}99")))
                .await
                .0,
            201
        );
        ids.push(id);
    }
    let mut seen = Vec::new();
    let mut path = "/v1/accounts?limit=2".to_owned();
    loop {
        let (s, b) = get(&app, &core, &path).await;
        assert_eq!(s, 200, "{b}");
        seen.extend(
            b["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned()),
        );
        match b["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/accounts?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}
