//! Onboarding over HTTP: operator → core enterprise and funder → invited
//! suppliers and distributors → registration → KYC, all signed and in the
//! ledger; and the refusals along the way.

use crate::support::{Party, TestApp, fresh_key, fresh_uscc, signed, spawn_app};
use serde_json::{Value, json};

async fn get_json(app: &TestApp, who: &Party, path: &str) -> (u16, Value) {
    let r = app.get_auth(path, &who.token).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The whole ledger, checkpointed first so it covers every entry; verified.
async fn export(app: &TestApp) -> String {
    app.opened.writer.checkpoint().await.unwrap();
    let mut out = Vec::new();
    scf_backend::ledger::export(&mut app.opened.db.get().unwrap(), &mut out).unwrap();
    let report = scf_ledger::verify::verify_bytes(&out, &Default::default()).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure);
    String::from_utf8(out).unwrap()
}

#[actix_web::test]
async fn a_core_enterprise_brings_in_its_chain() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Core Steel").await;
    let funder = app.approved(&op, "funder", "First Bank").await;
    let (s1, rel1) = app.invite(&core, "upstream", 1, "Supplier One").await;
    let (s2, rel2) = app
        .invite_under(&core, "upstream", 2, "Supplier Two", Some(&s1))
        .await;
    let (d1, _) = app.invite(&core, "downstream", 1, "Distributor One").await;

    let (_, me) = get_json(&app, &s1, "/v1/me").await;
    assert_eq!(
        (me["user_id"].as_str(), me["org_kind"].as_str()),
        (Some(s1.user.as_str()), Some("supplier"))
    );
    // Pending until the invited firm passes KYC; both sides see it.
    let (_, org) = get_json(&app, &s1, &format!("/v1/organisations/{}", s1.org)).await;
    assert_eq!(org["status"], "invited");
    let reg = app.register(&s1).await;
    assert_eq!(reg["organisation"]["status"], "kyc_pending");
    // 50 people and 12,000,000 CNY in 工业: small (≥20 and ≥300万, <300 people).
    assert_eq!(reg["organisation"]["size_class"], "small");
    assert_eq!(
        reg["organisation"]["size_rule_id"],
        "00000000-0000-7000-8000-000000000002"
    );
    assert_eq!(reg["organisation"]["revenue"], "12000000");
    assert!(reg["receipt"]["seq"].as_u64().unwrap() > 0);
    let approved = app.approve(&op, &s1.org).await;
    assert_eq!(approved["organisation"]["status"], "approved");
    for firm in [&s2, &d1] {
        app.register(firm).await;
        app.approve(&op, &firm.org).await;
    }

    // The core sees its counterparties, they see the core, strangers see nothing.
    for (viewer, target) in [
        (&core, &s1.org),
        (&s1, &core.org),
        (&core, &d1.org),
        (&op, &s2.org),
    ] {
        let (s, b) = get_json(&app, viewer, &format!("/v1/organisations/{target}")).await;
        assert_eq!(s, 200, "{b}");
    }
    for (viewer, target) in [
        (&funder, &s1.org),
        (&s1, &s2.org),
        (&s1, &funder.org),
        (&d1, &op.org),
    ] {
        let (s, b) = get_json(&app, viewer, &format!("/v1/organisations/{target}")).await;
        assert_eq!(s, 404, "{b}");
        assert!(!b.to_string().contains("Supplier"), "{b}");
    }

    // Both sides list the relationship; the supplier sees only its own.
    let (_, page) = get_json(&app, &core, "/v1/relationships?limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = get_json(
        &app,
        &core,
        &format!("/v1/relationships?limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    // Tier 1 also sees its own supplier at tier 2, the firm it may pass
    // certificates to; tier 2 sees only its own.
    let (_, mine) = get_json(&app, &s1, "/v1/relationships").await;
    let mine = mine["items"].as_array().unwrap();
    assert_eq!(mine.len(), 2, "{mine:?}");
    let own = mine.iter().find(|r| r["id"] == rel1.as_str()).unwrap();
    assert_eq!(
        (own["status"].as_str(), own["direction"].as_str()),
        (Some("active"), Some("upstream"))
    );
    assert_eq!(own["core_org_id"], core.org.as_str());
    assert_eq!(own["parent_org_id"], Value::Null);
    let theirs = mine.iter().find(|r| r["id"] == rel2.as_str()).unwrap();
    assert_eq!(theirs["parent_org_id"], s1.org.as_str());
    assert_eq!(theirs["tier"], 2);
    let (_, t2) = get_json(&app, &s2, "/v1/relationships").await;
    assert_eq!(t2["items"].as_array().unwrap().len(), 1, "{t2}");
    let (_, none) = get_json(&app, &funder, "/v1/relationships").await;
    assert_eq!(none["items"], json!([]));
    // Organisations: the operator's review queue is empty; a supplier sees itself and its core.
    let (_, queue) = get_json(&app, &op, "/v1/organisations?status=kyc_pending").await;
    assert_eq!(queue["items"], json!([]));
    let (_, all) = get_json(&app, &op, "/v1/organisations?status=approved").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 6, "{all}");
    let (_, seen) = get_json(&app, &s1, "/v1/organisations").await;
    let mut ids: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![s1.org.as_str(), core.org.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let (s, _) = get_json(&app, &op, "/v1/organisations?status=sleeping").await;
    assert_eq!(s, 400);
    let (_, users) = get_json(&app, &s1, "/v1/users").await;
    assert_eq!(users["items"][0]["enrolled"], true);

    // Every step is a verifiable ledger entry.
    let text = export(&app).await;
    for kind in [
        "org.onboard",
        "relationship.invite",
        "org.register",
        "org.kyc",
        "auth.token",
        "key.add",
    ] {
        assert!(
            text.contains(&format!("\\\"type\\\":\\\"{kind}\\\"")),
            "{kind} missing"
        );
    }
    assert!(text.contains(&rel1));
}

#[actix_web::test]
async fn each_tier_names_the_firm_it_trades_with() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Chain Core").await;
    let other = app.approved(&op, "core_enterprise", "Other Core").await;
    let (t1, _) = app.invite(&core, "upstream", 1, "Tier One").await;
    let (d1, _) = app.invite(&core, "downstream", 1, "Dist One").await;
    let (foreign, _) = app.invite(&other, "upstream", 1, "Foreign One").await;
    let invite = |tier: u8, direction: &str, parent: Option<&str>| {
        let kind = if direction == "upstream" {
            "supplier"
        } else {
            "distributor"
        };
        json!({"relationship_id": uuid::Uuid::new_v4().to_string(), "direction": direction,
            "tier": tier, "parent_org_id": parent,
            "counterparty": {"org_id": uuid::Uuid::new_v4().to_string(), "kind": kind,
                "name": "Chain Firm", "admin": {"user_id": uuid::Uuid::new_v4().to_string(),
                "name": "Chain admin", "public_key": crate::support::fresh_key().public_key().to_hex()}}})
    };
    for (body, why) in [
        (invite(2, "upstream", None), "tier 2 without a parent"),
        (invite(1, "upstream", Some(&t1.org)), "tier 1 with a parent"),
        (
            invite(3, "upstream", Some(&t1.org)),
            "a parent two tiers nearer",
        ),
        (
            invite(2, "upstream", Some(&d1.org)),
            "a parent in the other direction",
        ),
        (
            invite(2, "upstream", Some(&foreign.org)),
            "another core firm's supplier",
        ),
        (
            invite(2, "upstream", Some(&core.org)),
            "the core firm itself",
        ),
    ] {
        let before = get_json(&app, &core, "/v1/relationships?limit=100").await.1;
        let (s, b) = app
            .act(&core, "/v1/relationships", "relationship.invite", body)
            .await;
        assert_eq!(s, 422, "{why}: {b}");
        assert!(
            b["detail"].as_str().unwrap().contains("parent_org_id"),
            "{why}: {b}"
        );
        let after = get_json(&app, &core, "/v1/relationships?limit=100").await.1;
        assert_eq!(after, before, "{why}");
    }
    // Pending parents are fine: a whole chain can be invited at once.
    for (direction, parent) in [("upstream", &t1.org), ("downstream", &d1.org)] {
        let body = invite(2, direction, Some(parent));
        let (s, b) = app
            .act(&core, "/v1/relationships", "relationship.invite", body)
            .await;
        assert_eq!(s, 201, "{b}");
    }
}

#[actix_web::test]
async fn kyc_rejects_with_a_reason_and_the_firm_corrects_itself() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.onboard(&op, "core_enterprise", "Core Co").await;
    app.register(&core).await;

    let org = core.org.clone();
    let (s, b) = app
        .act(
            &op,
            &format!("/v1/organisations/{org}/kyc"),
            "org.kyc",
            json!({"org_id": org, "decision": "reject"}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (422, Some("unprocessable")), "{b}");
    assert!(b["detail"].as_str().unwrap().contains("reason"), "{b}");

    let body = json!({"org_id": org, "decision": "reject", "reason": "the business licence scan is unreadable"});
    let (s, b) = app
        .act(
            &op,
            &format!("/v1/organisations/{org}/kyc"),
            "org.kyc",
            body,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["organisation"]["status"], "rejected");
    assert_eq!(
        b["organisation"]["kyc_reason"],
        "the business licence scan is unreadable"
    );
    // A rejected core enterprise cannot invite yet.
    let (s, b) = app.act(&core, "/v1/relationships", "relationship.invite", json!({
        "relationship_id": uuid::Uuid::new_v4(), "direction": "upstream", "tier": 1,
        "counterparty": {"org_id": uuid::Uuid::new_v4(), "kind": "supplier", "name": "S",
            "admin": {"user_id": uuid::Uuid::new_v4(), "name": "A", "public_key": fresh_key().public_key().to_hex()}}})).await;
    assert_eq!(s, 409, "{b}");
    // Approving twice, or deciding an organisation that is not pending, conflicts.
    let body = json!({"org_id": org, "decision": "approve"});
    let (s, _) = app
        .act(
            &op,
            &format!("/v1/organisations/{org}/kyc"),
            "org.kyc",
            body,
        )
        .await;
    assert_eq!(s, 409);

    app.register(&core).await;
    let b = app.approve(&op, &org).await;
    assert_eq!(b["organisation"]["status"], "approved");
    assert_eq!(b["organisation"]["kyc_reason"], Value::Null);
}

#[actix_web::test]
async fn registration_refuses_bad_input_and_changes_nothing() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let firm = app.onboard(&op, "funder", "Factor Ltd").await;
    let path = format!("/v1/organisations/{}/registration", firm.org);
    let good = json!({
        "uscc": fresh_uscc(), "name": "Factor Ltd", "industry": "leasing_business_services",
        "headcount": 12, "revenue": "0", "total_assets": "2500000.50", "figures_year": 2025,
    });
    let mut wrong_check = fresh_uscc();
    let last = wrong_check.pop().unwrap();
    wrong_check.push(if last == '0' { '1' } else { '0' });
    let cases: Vec<(&str, Value, u16)> = vec![
        ("uscc check character", json!({"uscc": wrong_check}), 422),
        ("uscc length", json!({"uscc": "91310000"}), 422),
        (
            "uscc forbidden letter",
            json!({"uscc": "91310000MA1FL8TQ3I"}),
            422,
        ),
        ("unknown industry", json!({"industry": "alchemy"}), 422),
        ("money as a number", json!({"revenue": 1000.5}), 422),
        ("negative money", json!({"total_assets": "-1"}), 422),
        ("sub-fen money", json!({"revenue": "1.001"}), 422),
        ("future year", json!({"figures_year": 2999}), 422),
        ("negative headcount", json!({"headcount": -3}), 422),
        ("unknown member", json!({"shoe_size": 42}), 422),
    ];
    for (what, patch, status) in cases {
        let mut body = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, b) = app.act(&firm, &path, "org.register", body).await;
        assert_eq!(s, status, "{what}: {b}");
        assert_eq!(b["code"], "unprocessable", "{what}: {b}");
        assert!(
            b["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}"
        );
    }
    let (_, org) = get_json(&app, &firm, &format!("/v1/organisations/{}", firm.org)).await;
    assert_eq!(org["status"], "invited", "nothing was half-written: {org}");
    assert_eq!(org["uscc"], Value::Null);

    // Malformed JSON and a bad signature are refused before the writer.
    let r = app
        .client
        .post(app.url(&path))
        .bearer_auth(&firm.token)
        .header("Idempotency-Key", "k1")
        .header("content-type", "application/json")
        .body("{\"intent\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let mut env = firm.sign("org.register", good.clone());
    env["sigs"][0]["sig"] = json!("00".repeat(64));
    let (s, b) = app.post_signed(&path, Some(&firm.token), &env).await;
    assert_eq!(s, 422, "{b}");
    // Signed by someone else's key (a valid signature, but not the caller's).
    let env = signed("org.register", &firm.org, good.clone(), &op.key);
    let (s, b) = app.post_signed(&path, Some(&firm.token), &env).await;
    assert!(s == 403 || s == 422, "{s} {b}");

    // The good one passes, and its exact replay is refused.
    let env = firm.sign("org.register", good.clone());
    let (s, b) = app.post_signed(&path, Some(&firm.token), &env).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["organisation"]["size_class"], "small");
    let (s, b) = app.post_signed(&path, Some(&firm.token), &env).await;
    assert_eq!(s, 409, "replayed intent: {b}");

    // Another firm cannot take the same USCC.
    let other = app.onboard(&op, "funder", "Copycat").await;
    let (s, b) = app
        .act(
            &other,
            &format!("/v1/organisations/{}/registration", other.org),
            "org.register",
            good,
        )
        .await;
    assert_eq!(s, 409, "{b}");
}

#[actix_web::test]
async fn roles_and_tenants_are_enforced() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Core A").await;
    let other_core = app.approved(&op, "core_enterprise", "Core B").await;

    // An admin adds a maker and a viewer; they enrol and log in.
    let mut staff = Vec::new();
    for role in ["maker", "viewer"] {
        let (user, key) = (uuid::Uuid::new_v4().to_string(), fresh_key());
        let body = json!({"user_id": user, "name": role, "role": role, "public_key": key.public_key().to_hex()});
        let (s, b) = app.act(&core, "/v1/users", "user.add", body).await;
        assert_eq!(s, 201, "{b}");
        staff.push(app.enrol_and_login(&core.org, &user, key).await);
    }
    let (maker, viewer) = (&staff[0], &staff[1]);
    // The maker may invite; the viewer may not; nor may anyone add users but an admin.
    let (sup, _) = app.invite(maker, "upstream", 1, "Made by maker").await;
    let invite = |who: &Party| {
        who.sign("relationship.invite", json!({
        "relationship_id": uuid::Uuid::new_v4(), "direction": "upstream", "tier": 1,
        "counterparty": {"org_id": uuid::Uuid::new_v4(), "kind": "supplier", "name": "S",
            "admin": {"user_id": uuid::Uuid::new_v4(), "name": "A", "public_key": fresh_key().public_key().to_hex()}}}))
    };
    let (s, b) = app
        .post_signed("/v1/relationships", Some(&viewer.token), &invite(viewer))
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, _) = app
        .post_signed("/v1/relationships", Some(&sup.token), &invite(&sup))
        .await;
    assert_eq!(s, 403, "a supplier does not invite");
    let body = json!({"user_id": uuid::Uuid::new_v4(), "name": "x", "role": "admin", "public_key": fresh_key().public_key().to_hex()});
    let (s, _) = app.act(maker, "/v1/users", "user.add", body).await;
    assert_eq!(s, 403);
    // Only the operator onboards and decides KYC.
    let body = json!({"org_id": uuid::Uuid::new_v4(), "kind": "funder", "name": "F",
        "admin": {"user_id": uuid::Uuid::new_v4(), "name": "A", "public_key": fresh_key().public_key().to_hex()}});
    let (s, _) = app
        .act(&core, "/v1/organisations", "org.onboard", body)
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .act(
            &core,
            &format!("/v1/organisations/{}/kyc", sup.org),
            "org.kyc",
            json!({"org_id": sup.org, "decision": "approve"}),
        )
        .await;
    assert_eq!(s, 403);
    // Another tenant's ids: 404, never its data; acting for another org: 403.
    let (s, b) = app
        .act(
            &other_core,
            &format!("/v1/organisations/{}/registration", sup.org),
            "org.register",
            json!({}),
        )
        .await;
    assert_eq!(s, 404, "{b}");
    let (s, _) = app
        .post_signed("/v1/relationships", Some(&other_core.token), &invite(&core))
        .await;
    assert_eq!(s, 403, "an intent of another organisation");
    // The operator may not use a supplier's admin's key to act for the operator.
    let env = signed("org.onboard", &op.org, json!({}), &sup.key);
    let (s, _) = app
        .post_signed("/v1/organisations", Some(&op.token), &env)
        .await;
    assert!(s == 403 || s == 422, "{s}");
}

#[actix_web::test]
async fn enrolment_and_tokens() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let (org, user, key) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        fresh_key(),
    );
    let body = json!({"org_id": org, "kind": "logistics", "name": "Fast Freight",
        "admin": {"user_id": user, "name": "Lu", "public_key": key.public_key().to_hex()}});
    let (s, _) = app.act(&op, "/v1/organisations", "org.onboard", body).await;
    assert_eq!(s, 201);
    // The same public key cannot be named for a second user.
    let twice = json!({"org_id": uuid::Uuid::new_v4(), "kind": "logistics", "name": "Copy Freight",
        "admin": {"user_id": uuid::Uuid::new_v4(), "name": "Lu2", "public_key": key.public_key().to_hex()}});
    assert_eq!(
        app.act(&op, "/v1/organisations", "org.onboard", twice)
            .await
            .0,
        409
    );

    // Someone else's key cannot enrol as that user; an unknown user is 404.
    let thief = fresh_key();
    let env = signed(
        "key.add",
        &org,
        json!({"user": user, "public_key": thief.public_key().to_hex()}),
        &thief,
    );
    let (s, b) = app.post_signed("/v1/enrolments", None, &env).await;
    assert_eq!(s, 403, "{b}");
    let env = signed(
        "key.add",
        &org,
        json!({"user": uuid::Uuid::new_v4(), "public_key": key.public_key().to_hex()}),
        &key,
    );
    assert_eq!(app.post_signed("/v1/enrolments", None, &env).await.0, 404);
    // No login before enrolment.
    let env = signed(
        "auth.token",
        &org,
        json!({"user": user, "label": "early"}),
        &key,
    );
    let (s, b) = app.post_signed("/v1/tokens", None, &env).await;
    assert!(s == 403 || s == 422, "{s} {b}");

    let env = signed(
        "key.add",
        &org,
        json!({"user": user, "public_key": key.public_key().to_hex()}),
        &key,
    );
    let (s, b) = app.post_signed("/v1/enrolments", None, &env).await;
    assert_eq!(s, 201, "{b}");
    let env2 = signed(
        "key.add",
        &org,
        json!({"user": user, "public_key": key.public_key().to_hex()}),
        &key,
    );
    assert_eq!(app.post_signed("/v1/enrolments", None, &env2).await.0, 409);

    // Login: the same request and key give the same bytes, token included;
    // the stored answer does not hold the token.
    let env = signed(
        "auth.token",
        &org,
        json!({"user": user, "label": "laptop", "days": 7}),
        &key,
    );
    let send = || {
        app.client
            .post(app.url("/v1/tokens"))
            .header("Idempotency-Key", "login-1")
            .json(&env)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first = first.bytes().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.bytes().await.unwrap(), first);
    let issued: Value = serde_json::from_slice(&first).unwrap();
    let token = issued["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("scf_") && token != scf_backend::parties::tokens::REDACTED);
    let dump = {
        use diesel::prelude::*;
        use scf_backend::db::schema::idempotency;
        let bodies: Vec<Option<Vec<u8>>> = idempotency::table
            .select(idempotency::response_body)
            .load(&mut app.opened.db.get().unwrap())
            .unwrap();
        bodies
            .into_iter()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect::<String>()
    };
    assert!(!dump.contains(&token), "a token is never stored");
    assert!(
        !export(&app).await.contains(&token),
        "nor written to the ledger"
    );
    let r = app.get_auth("/v1/me", &token).await;
    assert_eq!(r.status(), 200);

    // Revoked: refused at once.
    let p = Party {
        key: key.clone(),
        org: org.clone(),
        user: user.clone(),
        token: token.clone(),
    };
    let (s, b) = app
        .act(
            &p,
            "/v1/tokens/revoke",
            "auth.token_revoke",
            json!({"token_id": issued["token_id"]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(app.get_auth("/v1/me", &token).await.status(), 401);
    let (s, _) = app
        .act(
            &op,
            "/v1/tokens/revoke",
            "auth.token_revoke",
            json!({"token_id": issued["token_id"]}),
        )
        .await;
    assert_eq!(s, 404, "another organisation's token is not found");
}

#[actix_web::test]
async fn idempotency_keys_expire() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let onboard = |name: &str| {
        op.sign("org.onboard", json!({"org_id": uuid::Uuid::new_v4(), "kind": "funder", "name": name,
            "admin": {"user_id": uuid::Uuid::new_v4(), "name": "A", "public_key": fresh_key().public_key().to_hex()}}))
    };
    let send = |body: Value| {
        app.client
            .post(app.url("/v1/organisations"))
            .bearer_auth(&op.token)
            .header("Idempotency-Key", "reused-after-a-day")
            .json(&body)
            .send()
    };
    assert_eq!(send(onboard("First")).await.unwrap().status(), 201);
    assert_eq!(
        send(onboard("Second")).await.unwrap().status(),
        422,
        "reused within the window"
    );
    // A day later the purge has removed the answer; the key is free again.
    let later = scf_backend::db::DbInstant::new(chrono::Utc::now() + chrono::Duration::seconds(1));
    let purged = scf_backend::idempotency::purge(&mut app.opened.db.get().unwrap(), later).unwrap();
    assert!(purged >= 1);
    assert_eq!(send(onboard("Second")).await.unwrap().status(), 201);
}
