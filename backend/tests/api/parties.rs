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

fn key_add(
    org: &str,
    user: &str,
    new_key: &SecretKey,
    id: &str,
    signer: &SecretKey,
) -> serde_json::Value {
    use scf_ledger::intent::{Intent, signing_message};
    let pk = new_key.public_key();
    let intent = Intent {
        kind: "key.add".into(),
        org: org.into(),
        key_id: signer.public_key().key_id(),
        subject: String::new(),
        assets: vec![],
        body: serde_json::json!({"public_key": pk.to_hex(), "user": user})
            .as_object()
            .cloned()
            .unwrap(),
        id: id.into(),
        client_time: scf_ledger::time::Timestamp::now(),
    };
    let bytes = intent.to_bytes();
    let mut sigs = vec![serde_json::json!({
        "key_id": signer.public_key().key_id().to_hex(),
        "sig": signer.sign(&signing_message(&bytes)).to_hex(),
    })];
    if signer.public_key() != pk {
        sigs.push(serde_json::json!({
            "key_id": pk.key_id().to_hex(),
            "sig": new_key.sign(&signing_message(&bytes)).to_hex(),
        }));
    }
    serde_json::json!({"intent": String::from_utf8(bytes).unwrap(), "sigs": sigs})
}

#[actix_web::test]
async fn a_user_registers_a_key_with_a_signed_intent() {
    let app = spawn_app().await;
    let (_, token) = app.bootstrap_admin("Ada").await;
    let me: serde_json::Value = app.get_auth("/v1/me", &token).await.json().await.unwrap();
    let (org, user) = (
        me["org_id"].as_str().unwrap(),
        me["user_id"].as_str().unwrap(),
    );
    let laptop = SecretKey::from_seed(&[7; 32]);
    let post = |body: serde_json::Value, token: Option<String>| {
        let mut req = app
            .client
            .post(app.url("/v1/keys"))
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };

    let body = key_add(org, user, &laptop, "laptop-1", &laptop);
    let r = post(body.clone(), Some(token.clone())).await.unwrap();
    assert_eq!(r.status(), 201);
    let reg: serde_json::Value = r.json().await.unwrap();
    assert_eq!(reg["key_id"], laptop.public_key().key_id().to_hex());
    let seq = reg["receipt"]["seq"].as_u64().unwrap();

    // The same signed intent again: a replay, refused, nothing written.
    let r = post(body, Some(token.clone())).await.unwrap();
    assert_eq!(r.status(), 409);
    // No token, another organisation's id, a forged signature, a weak key.
    let other = SecretKey::from_seed(&[8; 32]);
    assert_eq!(
        post(key_add(org, user, &other, "x1", &other), None)
            .await
            .unwrap()
            .status(),
        401
    );
    let r = post(
        key_add("someone-else", user, &other, "x2", &other),
        Some(token.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let mut forged = key_add(org, user, &other, "x3", &other);
    forged["sigs"][0]["sig"] =
        serde_json::json!(SecretKey::from_seed(&[9; 32]).sign(b"x").to_hex());
    let r = post(forged, Some(token.clone())).await.unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("bad_signature"), "{body}");

    // The receipt becomes an offline-checkable inclusion proof.
    let cp = app.opened.writer.checkpoint().await.unwrap();
    let p: serde_json::Value = app
        .get(&format!(
            "/v1/ledger/proofs/inclusion?seq={seq}&size={}",
            cp.size
        ))
        .await
        .json()
        .await
        .unwrap();
    let leaf = scf_ledger::hash::from_hex::<32>(p["leaf"].as_str().unwrap()).unwrap();
    let path: Vec<[u8; 32]> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| scf_ledger::hash::from_hex::<32>(h.as_str().unwrap()).unwrap())
        .collect();
    scf_ledger::merkle::verify_inclusion(&leaf, seq, cp.size, &path, &cp.root).unwrap();
    assert_eq!(p["leaf"], reg["receipt"]["leaf"]);
}

#[actix_web::test]
async fn idempotency_keys_replay_refuse_and_serialise() {
    let app = spawn_app().await;
    let (_, token) = app.bootstrap_admin("Ada").await;
    let me: serde_json::Value = app.get_auth("/v1/me", &token).await.json().await.unwrap();
    let (org, user) = (
        me["org_id"].as_str().unwrap(),
        me["user_id"].as_str().unwrap(),
    );
    let send = |body: &serde_json::Value, key: Option<&str>| {
        let mut req = app
            .client
            .post(app.url("/v1/keys"))
            .bearer_auth(&token)
            .json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send()
    };
    let k1 = SecretKey::from_seed(&[11; 32]);
    let body = key_add(org, user, &k1, "idem-1", &k1);

    let r = send(&body, None).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("idempotency_key_required"));

    let first = send(&body, Some("req-1")).await.unwrap();
    assert_eq!(first.status(), 201);
    let first_bytes = first.bytes().await.unwrap();
    let again = send(&body, Some("req-1")).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.bytes().await.unwrap(),
        first_bytes,
        "replayed byte for byte"
    );

    let k2 = SecretKey::from_seed(&[12; 32]);
    let other = key_add(org, user, &k2, "idem-2", &k2);
    let r = send(&other, Some("req-1")).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("idempotency_key_reused"));

    // Many copies of one request at once: it runs once; every answer is
    // the first response or a 409 while it runs.
    let k3 = SecretKey::from_seed(&[13; 32]);
    let body3 = key_add(org, user, &k3, "idem-3", &k3);
    let answers = futures_join(16, || send(&body3, Some("req-3"))).await;
    let created: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    assert!(!created.is_empty());
    assert!(
        created.iter().all(|(_, b)| b == &created[0].1),
        "every 201 is the same bytes"
    );
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{answers:?}"
    );
    let keys: i64 = {
        use diesel::prelude::*;
        scf_backend::db::schema::signing_keys::table
            .filter(
                scf_backend::db::schema::signing_keys::key_id.eq(k3.public_key().key_id().to_hex()),
            )
            .count()
            .get_result(&mut app.opened.db.get().unwrap())
            .unwrap()
    };
    assert_eq!(keys, 1);
}

async fn futures_join<F, Fut>(n: usize, f: F) -> Vec<(u16, Vec<u8>)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let mut pending = Vec::new();
    for _ in 0..n {
        pending.push(f());
    }
    let mut out = Vec::new();
    for r in join_all(pending).await {
        let r = r.unwrap();
        let status = r.status().as_u16();
        out.push((status, r.bytes().await.unwrap().to_vec()));
    }
    out
}

/// Polls all futures concurrently on the current task.
async fn join_all<T, Fut: std::future::Future<Output = T>>(futs: Vec<Fut>) -> Vec<T> {
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

fn key_revoke(org: &str, target: &str, id: &str, signer: &SecretKey) -> serde_json::Value {
    use scf_ledger::intent::{Intent, signing_message};
    let intent = Intent {
        kind: "key.revoke".into(),
        org: org.into(),
        key_id: signer.public_key().key_id(),
        subject: String::new(),
        assets: vec![],
        body: serde_json::json!({"key_id": target, "reason": "laptop lost"})
            .as_object()
            .cloned()
            .unwrap(),
        id: id.into(),
        client_time: scf_ledger::time::Timestamp::now(),
    };
    let bytes = intent.to_bytes();
    serde_json::json!({
        "intent": String::from_utf8(bytes.clone()).unwrap(),
        "sigs": [{
            "key_id": signer.public_key().key_id().to_hex(),
            "sig": signer.sign(&signing_message(&bytes)).to_hex(),
        }],
    })
}

#[actix_web::test]
async fn keys_are_revoked_with_a_signed_intent() {
    let app = spawn_app().await;
    let (admin_key, token) = app.bootstrap_admin("Ada").await;
    let me: serde_json::Value = app.get_auth("/v1/me", &token).await.json().await.unwrap();
    let (org, user) = (
        me["org_id"].as_str().unwrap(),
        me["user_id"].as_str().unwrap(),
    );
    let send = |path: &'static str, body: serde_json::Value| {
        app.client
            .post(app.url(path))
            .bearer_auth(&token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
    };
    let laptop = SecretKey::from_seed(&[21; 32]);
    let laptop_id = laptop.public_key().key_id().to_hex();
    let r = send(
        "/v1/keys",
        key_add(org, user, &laptop, "add-laptop", &laptop),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);

    // The admin's key revokes the laptop's.
    let r = send(
        "/v1/keys/revoke",
        key_revoke(org, &laptop_id, "rev-1", &admin_key),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["key_id"], laptop_id);
    let revoked_seq: Option<i64> = {
        use diesel::prelude::*;
        use scf_backend::db::schema::signing_keys;
        signing_keys::table
            .filter(signing_keys::key_id.eq(&laptop_id))
            .select(signing_keys::revoked_seq)
            .first(&mut app.opened.db.get().unwrap())
            .unwrap()
    };
    assert_eq!(revoked_seq, body["receipt"]["seq"].as_i64());

    // A revoked key signs nothing any more, not even its own revocation.
    let r = send(
        "/v1/keys/revoke",
        key_revoke(org, &laptop_id, "rev-2", &laptop),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("key_not_valid"));
    // A key that is not in the caller's organisation does not exist for them.
    let r = send(
        "/v1/keys/revoke",
        key_revoke(org, "00112233445566778899aabbccddeeff", "rev-3", &admin_key),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404);

    // The ledger agrees: the laptop key is revoked at that seq.
    let cp = app.opened.writer.checkpoint().await.unwrap();
    let mut export = Vec::new();
    scf_backend::ledger::export(&mut app.opened.db.get().unwrap(), &mut export).unwrap();
    let report = scf_ledger::verify::verify_bytes(&export, &Default::default()).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert_eq!((report.entries, report.revoked_keys), (cp.size, 1));
}
