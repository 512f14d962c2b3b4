//! Payables certificates: proposed by the core firm's maker, confirmed by
//! its checker within the plan, accepted by the supplier, split and
//! transferred up the chain with a notice of assignment to the issuer.

use crate::support::{Party, TestApp, plan_doc, spawn_app, spawn_app_with};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

/// A program with an approved plan, its core firm (admin and checker), its
/// funder, and approved suppliers at tier 1, tier 2 and tier 3 (beyond the
/// plan's max tier).
pub struct World {
    pub op: Party,
    pub core: Party,
    pub checker: Party,
    pub funder: Party,
    pub t1: Party,
    pub t2: Party,
    pub t3: Party,
    pub program: String,
}

pub async fn world(app: &TestApp, edit: impl FnOnce(&mut Value)) -> World {
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Core Steel").await;
    let funder = app.approved(&op, "funder", "First Bank").await;
    let checker = app.staff(&core, "checker").await;
    let bank = app.staff(&funder, "checker").await;
    let mut suppliers: Vec<Party> = Vec::new();
    for tier in 1..=3 {
        let name = format!("Tier {tier} Supplier");
        let (s, _) = app
            .invite_under(&core, "upstream", tier, &name, suppliers.last())
            .await;
        app.register(&s).await;
        app.approve(&op, &s.org).await;
        suppliers.push(s);
    }
    let mut plan = plan_doc(&funder.org);
    edit(&mut plan);
    let (program, draft) = app.program(&core, plan).await;
    let digest = draft["digest"].as_str().unwrap();
    for who in [&checker, &bank] {
        let (s, b) = app
            .act(
                who,
                &format!("/v1/programs/{program}/plans/1/approval"),
                "program.plan_approve",
                json!({"program_id": program, "version": 1, "digest": digest}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let t3 = suppliers.pop().unwrap();
    let t2 = suppliers.pop().unwrap();
    let t1 = suppliers.pop().unwrap();
    World {
        op,
        core,
        checker,
        funder,
        t1,
        t2,
        t3,
        program,
    }
}

pub fn day(offset: u64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(offset)).to_string()
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub async fn propose(
    app: &TestApp,
    w: &World,
    holder: &Party,
    face: &str,
    maturity: &str,
) -> (u16, Value, String) {
    let id = new_id();
    let (s, b) = app
        .act(
            &w.core,
            "/v1/certificates",
            "certificate.propose",
            json!({"certificate_id": id, "program_id": w.program, "holder_org_id": holder.org,
                "face_value": face, "maturity_date": maturity, "invoice_ids": []}),
        )
        .await;
    (s, b, id)
}

pub async fn confirm(
    app: &TestApp,
    who: &Party,
    id: &str,
    face: &str,
    maturity: &str,
) -> (u16, Value) {
    app.act(
        who,
        &format!("/v1/certificates/{id}/confirmation"),
        "certificate.confirm",
        json!({"certificate_id": id, "face_value": face, "maturity_date": maturity}),
    )
    .await
}

pub async fn accept(app: &TestApp, who: &Party, id: &str) -> (u16, Value) {
    app.act(
        who,
        &format!("/v1/certificates/{id}/acceptance"),
        "certificate.accept",
        json!({"certificate_id": id, "decision": "accept"}),
    )
    .await
}

/// Proposed, confirmed and accepted: an active certificate held by `holder`.
pub async fn active(
    app: &TestApp,
    w: &World,
    holder: &Party,
    face: &str,
    maturity: &str,
) -> String {
    let (s, b, id) = propose(app, w, holder, face, maturity).await;
    assert_eq!(s, 201, "propose: {b}");
    let (s, b) = confirm(app, &w.checker, &id, face, maturity).await;
    assert_eq!(s, 200, "confirm: {b}");
    let (s, b) = accept(app, holder, &id).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("active")), "{b}");
    id
}

pub fn split_body(parent: &str, amount: &str, children: &[(&str, &str)]) -> Value {
    let children: Vec<Value> = children
        .iter()
        .map(|(id, a)| json!({"certificate_id": id, "amount": a}))
        .collect();
    json!({"certificate_id": parent, "parent_amount": amount, "children": children})
}

async fn split(
    app: &TestApp,
    who: &Party,
    parent: &str,
    amount: &str,
    children: &[(&str, &str)],
) -> (u16, Value) {
    app.act(
        who,
        &format!("/v1/certificates/{parent}/split"),
        "certificate.split",
        split_body(parent, amount, children),
    )
    .await
}

async fn transfer(app: &TestApp, w: &World, who: &Party, id: &str, to: &str) -> (u16, Value) {
    app.act(
        who,
        &format!("/v1/certificates/{id}/transfer"),
        "certificate.transfer",
        json!({"certificate_id": id, "to_org_id": to, "notice_to": w.core.org}),
    )
    .await
}

async fn get(app: &TestApp, who: &Party, path: &str) -> (u16, Value) {
    let r = app.get_auth(path, &who.token).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The sum of the root's outstanding leaves, as money prints.
fn leaves_sum(app: &TestApp, root: &str) -> String {
    let mut c = app.opened.db.get().unwrap();
    let sum =
        scf_backend::receivables::certificates::leaves_sum(&mut c, root.parse().unwrap()).unwrap();
    scf_backend::pricing::money::Money::new(sum)
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn a_certificate_is_confirmed_accepted_split_and_transferred() {
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    let maturity = day(90);
    let (s, b, root) = propose(&app, &w, &w.t1, "1000000.00", &maturity).await;
    assert_eq!((s, b["status"].as_str()), (201, Some("proposed")), "{b}");

    // Maker and checker are two people; a viewer is neither.
    let (s, b) = confirm(&app, &w.core, &root, "1000000.00", &maturity).await;
    assert_eq!(s, 403, "the proposer confirming: {b}");
    let viewer = app.staff(&w.core, "viewer").await;
    let (s, b) = confirm(&app, &viewer, &root, "1000000.00", &maturity).await;
    assert_eq!(s, 403, "a viewer: {b}");
    // The checker confirms exactly what was proposed.
    let (s, b) = confirm(&app, &w.checker, &root, "1000000.00", &day(91)).await;
    assert_eq!(s, 409, "another maturity: {b}");
    let (s, b) = confirm(&app, &w.checker, &root, "1000001.00", &maturity).await;
    assert_eq!(s, 422, "another amount, refused by the ledger: {b}");
    // Until accepted, nothing moves.
    let (s, b) = confirm(&app, &w.checker, &root, "1000000.00", &maturity).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("issued")), "{b}");
    let (a, b2, c) = (new_id(), new_id(), new_id());
    let three = [
        (a.as_str(), "500000.00"),
        (b2.as_str(), "300000.00"),
        (c.as_str(), "200000"),
    ];
    let (s, b) = split(&app, &w.t1, &root, "1000000.00", &three).await;
    assert_eq!(s, 409, "split before acceptance: {b}");
    let (s, b) = accept(&app, &w.core, &root).await;
    assert_eq!(s, 403, "the issuer cannot accept for the holder: {b}");
    let (s, b) = accept(&app, &w.t2, &root).await;
    assert_eq!(s, 404, "another supplier does not see it: {b}");
    let (s, b) = accept(&app, &w.t1, &root).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("active")), "{b}");

    // Splits must sum exactly to the available balance.
    for bad in [
        [
            (a.as_str(), "500000.00"),
            (b2.as_str(), "300000.00"),
            (c.as_str(), "200000.01"),
        ],
        [
            (a.as_str(), "500000.00"),
            (b2.as_str(), "300000.00"),
            (c.as_str(), "199999.99"),
        ],
        [
            (a.as_str(), "500000.00"),
            (b2.as_str(), "500000.00"),
            (c.as_str(), "0.00"),
        ],
        [
            (a.as_str(), "500000.00"),
            (b2.as_str(), "300000.00"),
            (c.as_str(), "199999.995"),
        ],
    ] {
        let (s, b) = split(&app, &w.t1, &root, "1000000.00", &bad).await;
        assert_eq!(s, 422, "{bad:?}: {b}");
    }
    let (s, b) = split(
        &app,
        &w.t1,
        &root,
        "999999.00",
        &[(a.as_str(), "999999.00"), (b2.as_str(), "0.01")],
    )
    .await;
    assert_eq!(s, 422, "a wrong parent amount: {b}");
    let stranger_core = app.approved(&w.op, "core_enterprise", "Stranger").await;
    let (outsider, _) = app.invite(&stranger_core, "upstream", 1, "Outsider").await;
    app.register(&outsider).await;
    app.approve(&w.op, &outsider.org).await;
    let (s, b) = split(&app, &outsider, &root, "1000000.00", &three).await;
    assert_eq!(s, 404, "a foreign supplier: {b}");

    let body = split_body(&root, "1000000.00", &three);
    let env = w.t1.sign("certificate.split", body);
    let path = format!("/v1/certificates/{root}/split");
    let (s, b) = app.post_signed(&path, Some(&w.t1.token), &env).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["status"], "split");
    assert_eq!(b["children"].as_array().unwrap().len(), 3);
    assert_eq!(b["children"][2]["amount"], "200000.00");
    let (s, b) = app.post_signed(&path, Some(&w.t1.token), &env).await;
    assert_eq!(s, 409, "the same intent again (a replay): {b}");
    let (s, b) = split(
        &app,
        &w.t1,
        &root,
        "1000000.00",
        &[(&new_id(), "1"), (&new_id(), "999999")],
    )
    .await;
    assert_eq!(s, 409, "a split parent is spent: {b}");
    assert_eq!(leaves_sum(&app, &root), "1000000.00");

    // Transfer the 200,000 child to a tier-2 supplier of the program.
    let (s, b) = transfer(&app, &w, &w.t1, &c, &outsider.org).await;
    assert_eq!(s, 422, "a firm outside the program: {b}");
    let (s, b) = transfer(&app, &w, &w.t1, &c, &w.t3.org).await;
    assert_eq!(s, 422, "tier 3 supplies tier 2, not tier 1: {b}");
    assert!(
        b["detail"].as_str().unwrap().contains("your own supplier"),
        "{b}"
    );
    let (s, b) = app
        .act(
            &w.t1,
            &format!("/v1/certificates/{c}/transfer"),
            "certificate.transfer",
            json!({"certificate_id": c, "to_org_id": w.t2.org, "notice_to": w.t2.org}),
        )
        .await;
    assert_eq!(s, 422, "the notice goes to the issuer: {b}");
    let (s, b) = transfer(&app, &w, &w.t1, &c, &w.t2.org).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["holder_org_id"], w.t2.org.as_str());
    assert_eq!(
        b["notice_of_assignment"]["issuer_org_id"],
        w.core.org.as_str()
    );
    let (s, b) = transfer(&app, &w, &w.t1, &c, &w.t3.org).await;
    assert_eq!(s, 409, "no longer the holder: {b}");
    assert_eq!(leaves_sum(&app, &root), "1000000.00");

    // The entry says so: the signed transfer names the issuer it notifies.
    let (_, entries) = get(&app, &w.op, "/v1/ledger/entries?limit=200").await;
    let entry = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["type"] == "certificate.transfer")
        .cloned()
        .unwrap_or(Value::Null);
    assert!(entry.to_string().contains(&w.core.org), "{entry}");

    // Reads: lineage, holder history, notices, lists.
    let (s, d) = get(&app, &w.t2, &format!("/v1/certificates/{c}")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (d["root_id"].as_str(), d["parent_id"].as_str()),
        (Some(root.as_str()), Some(root.as_str()))
    );
    assert_eq!(d["issuer_org_id"], w.core.org.as_str());
    assert_eq!(d["maturity_date"], maturity.as_str());
    let holders: Vec<&str> = d["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["holder_org_id"].as_str().unwrap())
        .collect();
    assert_eq!(holders, [w.t1.org.as_str(), w.t2.org.as_str()]);
    assert!(d["holders"][0]["to_seq"].is_i64() && d["holders"][1]["to_seq"].is_null());
    for who in [&w.t1, &w.core, &w.funder, &w.op] {
        assert_eq!(
            get(&app, who, &format!("/v1/certificates/{c}")).await.0,
            200
        );
    }
    let (s, r) = get(&app, &w.core, &format!("/v1/certificates/{root}")).await;
    assert_eq!(s, 200);
    assert_eq!(r["children"].as_array().unwrap().len(), 3);
    for who in [&w.t2, &w.t3, &outsider, &stranger_core] {
        assert_eq!(
            get(&app, who, &format!("/v1/certificates/{root}")).await.0,
            404
        );
    }
    assert_eq!(
        get(&app, &w.t3, &format!("/v1/certificates/{c}")).await.0,
        404
    );

    let (_, notices) = get(&app, &w.core, "/v1/certificates/notices").await;
    let items = notices["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{notices}");
    assert_eq!(
        (
            items[0]["certificate_id"].as_str(),
            items[0]["assignee_org_id"].as_str(),
            items[0]["amount"].as_str()
        ),
        (Some(c.as_str()), Some(w.t2.org.as_str()), Some("200000.00"))
    );
    assert_eq!(
        get(&app, &w.t1, "/v1/certificates/notices").await.1["items"],
        json!([])
    );

    let (_, held) = get(&app, &w.t1, "/v1/certificates/held").await;
    assert_eq!(held["available_balance"], "800000.00");
    let ids: Vec<&str> = held["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "the split root and two children: {held}");
    let (_, active_only) = get(&app, &w.t1, "/v1/certificates/held?status=active&limit=1").await;
    assert_eq!(active_only["items"].as_array().unwrap().len(), 1);
    let cursor = active_only["next_cursor"].as_str().unwrap();
    let (_, second) = get(
        &app,
        &w.t1,
        &format!("/v1/certificates/held?status=active&limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
    assert_ne!(second["items"][0]["id"], active_only["items"][0]["id"]);
    assert_eq!(
        get(
            &app,
            &w.t1,
            &format!("/v1/certificates/held?status=split&limit=1&cursor={cursor}")
        )
        .await
        .0,
        400
    );
    assert_eq!(
        get(&app, &w.t1, "/v1/certificates/held?status=nope")
            .await
            .0,
        400
    );
    assert_eq!(
        get(&app, &w.t2, "/v1/certificates/held").await.1["available_balance"],
        "200000.00"
    );
    let (_, late) = get(
        &app,
        &w.t1,
        &format!("/v1/certificates/held?maturity_from={}", day(100)),
    )
    .await;
    assert_eq!(late["items"], json!([]));

    let (_, issued) = get(
        &app,
        &w.core,
        &format!("/v1/certificates/issued?root_id={root}"),
    )
    .await;
    assert_eq!(issued["items"].as_array().unwrap().len(), 4);
    let (_, issued) = get(&app, &w.t1, "/v1/certificates/issued").await;
    assert_eq!(issued["items"], json!([]));
    // The same pages as CSV: a header row and one row per item.
    for (who, path, rows) in [
        (&w.t1, "/v1/certificates/held".to_owned(), 4),
        (
            &w.core,
            format!("/v1/certificates/issued?root_id={root}"),
            5,
        ),
        (&w.core, "/v1/certificates/notices".to_owned(), 2),
    ] {
        let r = app
            .client
            .get(app.url(&path))
            .bearer_auth(&who.token)
            .header("Accept", "text/csv")
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()["content-type"],
            "text/csv; charset=utf-8",
            "{path}"
        );
        let text = r.text().await.unwrap();
        assert_eq!(text.lines().count(), rows, "{path}: {text}");
    }

    // Locked for financing: no split, no transfer; unlocked, it moves again.
    {
        let mut conn = app.opened.db.get().unwrap();
        scf_backend::receivables::certificates::lock(&mut conn, a.parse().unwrap(), 0).unwrap();
    }
    let (s, b) = split(
        &app,
        &w.t1,
        &a,
        "500000.00",
        &[(&new_id(), "1"), (&new_id(), "499999")],
    )
    .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("locked"), "{b}");
    let (s, b) = transfer(&app, &w, &w.t1, &a, &w.t2.org).await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(
        get(&app, &w.t1, "/v1/certificates/held").await.1["available_balance"],
        "300000.00"
    );
    {
        let mut conn = app.opened.db.get().unwrap();
        scf_backend::receivables::certificates::unlock(&mut conn, a.parse().unwrap(), 0).unwrap();
    }
    let (s, b) = transfer(&app, &w, &w.t1, &a, &w.t2.org).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(leaves_sum(&app, &root), "1000000.00");

    // The writer and the offline verifier agree: the export with these
    // confirmations, splits and transfers is valid.
    let cp = app.opened.writer.checkpoint().await.unwrap();
    let r = app.get_auth("/v1/ledger/export", &w.op.token).await;
    let export = r.bytes().await.unwrap().to_vec();
    assert!(String::from_utf8_lossy(&export).contains("certificate.split"));
    let report =
        scf_ledger::verify::verify_bytes(&export, &scf_ledger::verify::Options::default()).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert_eq!(report.entries, cp.size);
}

#[actix_web::test]
async fn confirmation_keeps_to_the_plan() {
    let app = spawn_app().await;
    let w = world(&app, |p| {
        p["program_limit"] = json!("1500000.00");
        p["funders"][0]["line_limit"] = json!("1500000.00");
        p["counterparty_limit"] = json!("1000000.00");
    })
    .await;
    let m = day(60);
    // Tenor outside the plan (7 days to 6 months).
    let (s, b, _) = propose(&app, &w, &w.t1, "1000.00", &day(3)).await;
    assert_eq!(s, 422, "{b}");
    let (s, b, _) = propose(&app, &w, &w.t1, "1000.00", &day(200)).await;
    assert_eq!(s, 422, "{b}");
    // A holder the plan does not cover, or that is not the core's supplier.
    let (s, b, _) = propose(&app, &w, &w.t3, "1000.00", &m).await;
    assert_eq!(s, 422, "tier 3 of a max-tier-2 plan: {b}");
    let (s, b, _) = propose(&app, &w, &w.funder, "1000.00", &m).await;
    assert_eq!(s, 422, "{b}");
    let (s, b, _) = propose(&app, &w, &w.t1, "1000.001", &m).await;
    assert_eq!(s, 422, "{b}");
    // Only the core firm's maker or admin proposes.
    let maker = app.staff(&w.core, "maker").await;
    let viewer = app.staff(&w.core, "viewer").await;
    let body = |id: String| {
        json!({"certificate_id": id, "program_id": w.program, "holder_org_id": w.t1.org,
        "face_value": "1000.00", "maturity_date": m})
    };
    assert_eq!(
        app.act(
            &viewer,
            "/v1/certificates",
            "certificate.propose",
            body(new_id())
        )
        .await
        .0,
        403
    );
    assert_eq!(
        app.act(
            &w.t1,
            "/v1/certificates",
            "certificate.propose",
            body(new_id())
        )
        .await
        .0,
        403
    );
    // Another core firm's program is not found.
    let other = app.approved(&w.op, "core_enterprise", "Other Core").await;
    assert_eq!(
        app.act(
            &other,
            "/v1/certificates",
            "certificate.propose",
            body(new_id())
        )
        .await
        .0,
        404
    );
    let (s, b) = app
        .act(
            &maker,
            "/v1/certificates",
            "certificate.propose",
            body(new_id()),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    // Two proposals fit alone; the second confirmation would pass the limit.
    let (s1, _, first) = propose(&app, &w, &w.t1, "1000000.00", &m).await;
    let (s2, _, second) = propose(&app, &w, &w.t2, "1000000.00", &m).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(
        confirm(&app, &w.checker, &first, "1000000.00", &m).await.0,
        200
    );
    let (s, b) = confirm(&app, &w.checker, &second, "1000000.00", &m).await;
    assert_eq!(s, 409, "over the program limit: {b}");
    assert!(
        b["detail"].as_str().unwrap().contains("program limit"),
        "{b}"
    );
    // A rejected certificate frees the limit.
    let (s, b) = app
        .act(
            &w.t1,
            &format!("/v1/certificates/{first}/acceptance"),
            "certificate.accept",
            json!({"certificate_id": first, "decision": "reject"}),
        )
        .await;
    assert_eq!(s, 422, "a rejection needs a reason: {b}");
    let (s, b) = app
        .act(
            &w.t1,
            &format!("/v1/certificates/{first}/acceptance"),
            "certificate.accept",
            json!({"certificate_id": first, "decision": "reject", "reason": "no such delivery"}),
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("rejected")), "{b}");
    let (s, b) = confirm(&app, &w.checker, &second, "1000000.00", &m).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = confirm(&app, &w.checker, &second, "1000000.00", &m).await;
    assert_eq!(s, 409, "confirmed twice: {b}");
    // Another tenant's certificate does not exist for it.
    let (s, _) = confirm(&app, &other, &second, "1000000.00", &m).await;
    assert_eq!(s, 404);
}

#[actix_web::test]
async fn nothing_moves_within_the_cut_off() {
    let app = spawn_app().await;
    let w = world(&app, |p| {
        p["tenor"]["min_days"] = json!(1);
        p["transfer_cutoff_days"] = json!(10);
    })
    .await;
    let id = active(&app, &w, &w.t1, "5000.00", &day(5)).await;
    let (s, b) = transfer(&app, &w, &w.t1, &id, &w.t2.org).await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["detail"].as_str().unwrap().contains("within 10 days"),
        "{b}"
    );
    let (s, b) = split(
        &app,
        &w.t1,
        &id,
        "5000.00",
        &[(&new_id(), "1000"), (&new_id(), "4000")],
    )
    .await;
    assert_eq!(s, 409, "{b}");
    // Outside the cut-off it moves.
    let far = active(&app, &w, &w.t1, "5000.00", &day(30)).await;
    assert_eq!(transfer(&app, &w, &w.t1, &far, &w.t2.org).await.0, 200);
}

/// Sixteen to thirty-two concurrent moves of one certificate: the single
/// writer serialises them and exactly one wins.
#[actix_web::test]
async fn concurrent_moves_of_one_certificate_have_one_winner() {
    let app = spawn_app_with(&[("SCF_RATE_LIMIT_PER_SEC", "0")]).await;
    let w = world(&app, |_| {}).await;
    let id = active(&app, &w, &w.t1, "900.00", &day(60)).await;
    let splits: Vec<_> = (0..24)
        .map(|_| {
            let (a, b) = (new_id(), new_id());
            w.t1.sign(
                "certificate.split",
                split_body(&id, "900.00", &[(&a, "450.00"), (&b, "450.00")]),
            )
        })
        .collect();
    let path = format!("/v1/certificates/{id}/split");
    let answers = futures_join(
        splits
            .iter()
            .map(|env| app.post_signed(&path, Some(&w.t1.token), env)),
    )
    .await;
    let won = answers.iter().filter(|(s, _)| *s == 201).count();
    let lost = answers.iter().filter(|(s, _)| *s == 409).count();
    assert_eq!((won, lost), (1, 23), "{answers:?}");
    assert_eq!(leaves_sum(&app, &id), "900.00");

    let child = answers.iter().find(|(s, _)| *s == 201).unwrap().1["children"][0]["certificate_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Tier 1's two own suppliers.
    let (other, _) = app
        .invite_under(&w.core, "upstream", 2, "Second Tier Two", Some(&w.t1))
        .await;
    app.register(&other).await;
    app.approve(&w.op, &other.org).await;
    let to = [&w.t2.org, &other.org];
    let transfers: Vec<_> =
        (0..16)
            .map(|i| {
                w.t1.sign("certificate.transfer",
                json!({"certificate_id": child, "to_org_id": to[i % 2], "notice_to": w.core.org}))
            })
            .collect();
    let path = format!("/v1/certificates/{child}/transfer");
    let answers = futures_join(
        transfers
            .iter()
            .map(|env| app.post_signed(&path, Some(&w.t1.token), env)),
    )
    .await;
    let won = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(won, 1, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 409),
        "{answers:?}"
    );
    let (_, notices) = get(&app, &w.core, "/v1/certificates/notices").await;
    assert_eq!(notices["items"].as_array().unwrap().len(), 1);
}

/// Runs the futures concurrently on this task and collects their outputs in order.
pub async fn futures_join<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut pending: Vec<(usize, std::pin::Pin<Box<F>>)> =
        handles.into_iter().enumerate().collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, f)| match f.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => {
                out[*i] = Some(v);
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

/// One random move: split the n-th live certificate into parts (the last
/// one possibly off by a fen), or transfer it to the other supplier.
#[derive(Debug, Clone)]
enum Move {
    Split(usize, Vec<u64>, i64),
    Transfer(usize),
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    let m = prop_oneof![
        3 => (0usize..16, prop::collection::vec(1u64..100, 1..3), prop_oneof![6 => Just(0i64), 1 => Just(1i64), 1 => Just(-1i64)])
            .prop_map(|(n, w, off)| Move::Split(n, w, off)),
        1 => (0usize..16).prop_map(Move::Transfer),
    ];
    prop::collection::vec(m, 1..7)
}

/// Random split and transfer sequences never create or destroy money: the
/// active leaves of the root always sum to its face value, whatever was
/// refused on the way.
#[test]
fn random_moves_conserve_the_face_value() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, w) = rt.block_on(async {
        let app = spawn_app_with(&[("SCF_RATE_LIMIT_PER_SEC", "0")]).await;
        let w = world(&app, |_| {}).await;
        (app, w)
    });
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&moves(), |seq| {
            rt.block_on(async {
                let face: u64 = 1_000_000; // fen
                let root = active(&app, &w, &w.t1, "10000.00", &day(60)).await;
                // (id, amount in fen, holder)
                let mut live: Vec<(String, u64, &Party)> = vec![(root.clone(), face, &w.t1)];
                for m in seq {
                    match m {
                        Move::Split(n, weights, off) => {
                            let (id, amount, holder) = live[n % live.len()].clone();
                            let total: u64 = weights.iter().sum::<u64>() + 1;
                            let mut parts: Vec<u64> =
                                weights.iter().map(|x| amount * x / total).collect();
                            parts.push(amount - parts.iter().sum::<u64>());
                            if let Some(l) = parts.last_mut() {
                                *l = l.saturating_add_signed(off);
                            }
                            let kids: Vec<(String, String)> = parts
                                .iter()
                                .map(|p| (new_id(), format!("{}.{:02}", p / 100, p % 100)))
                                .collect();
                            let refs: Vec<(&str, &str)> =
                                kids.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                            let amount_s = format!("{}.{:02}", amount / 100, amount % 100);
                            let (s, b) = split(&app, holder, &id, &amount_s, &refs).await;
                            let valid = off == 0 && parts.iter().all(|p| *p > 0);
                            prop_assert_eq!(s == 201, valid, "{:?} {}", parts, b);
                            if s == 201 {
                                live.retain(|(l, _, _)| *l != id);
                                for ((k, _), p) in kids.iter().zip(&parts) {
                                    live.push((k.clone(), *p, holder));
                                }
                            }
                        }
                        Move::Transfer(n) => {
                            // Down the chain only: each tier to its own
                            // supplier; tier 3 has none, so back up is refused.
                            let i = n % live.len();
                            let holder = live[i].2.org.clone();
                            let to = if holder == w.t1.org {
                                Some(&w.t2)
                            } else if holder == w.t2.org {
                                Some(&w.t3)
                            } else {
                                None
                            };
                            let target = to.map_or(&w.t1.org, |t| &t.org);
                            let (s, b) = transfer(&app, &w, live[i].2, &live[i].0, target).await;
                            prop_assert_eq!(s, if to.is_some() { 200 } else { 422 }, "{}", b);
                            if let Some(t) = to {
                                live[i].2 = t;
                            }
                        }
                    }
                    prop_assert_eq!(leaves_sum(&app, &root), "10000.00");
                    let held: u64 = live.iter().map(|(_, a, _)| *a).sum();
                    prop_assert_eq!(held, face);
                }
                Ok(())
            })
        })
        .unwrap();
    drop(app);
}

/// With the platform clock moved past maturity (test mode), a certificate
/// neither splits nor transfers: the business date is the entry's time.
#[actix_web::test]
async fn nothing_moves_after_maturity() {
    use scf_ledger::time::Timestamp;
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    let id = active(&app, &w, &w.t1, "800.00", &day(30)).await;
    let now = Timestamp::now().unix_micros();
    let later = Timestamp::from_unix_micros(now + 40 * 86_400 * 1_000_000).unwrap();
    let (s, b) = app
        .act(
            &w.op,
            "/v1/test/clock",
            "clock.advance",
            json!({"to": later.to_string()}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let body = json!({"certificate_id": id, "to_org_id": w.t2.org, "notice_to": w.core.org});
    let path = format!("/v1/certificates/{id}/transfer");
    let (s, b) = app
        .act_now(&w.t1, &path, "certificate.transfer", body)
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("matured"), "{b}");
    let body = split_body(
        &id,
        "800.00",
        &[(&new_id(), "400.00"), (&new_id(), "400.00")],
    );
    let path = format!("/v1/certificates/{id}/split");
    let (s, b) = app.act_now(&w.t1, &path, "certificate.split", body).await;
    assert_eq!(s, 409, "{b}");
}

/// The core firm records an invoice its supplier `seller` issued to it.
async fn owed_invoice(
    app: &TestApp,
    w: &World,
    seller: &Party,
    number: &str,
    amount: &str,
) -> String {
    let (_, org) = get(app, &w.op, &format!("/v1/organisations/{}", seller.org)).await;
    let uscc = org["uscc"].as_str().unwrap().to_owned();
    let body = json!({"invoice_id": new_id(), "program_id": w.program,
        "seller_org_id": seller.org, "buyer_org_id": w.core.org, "invoice_number": number,
        "amount": amount, "issue_date": day(0), "due_date": day(60)});
    let env = crate::trade::record_env(&w.core, &uscc, &body);
    let (s, b) = app
        .post_signed("/v1/invoices", Some(&w.core.token), &env)
        .await;
    assert_eq!(s, 201, "invoice.record: {b}");
    body["invoice_id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_certificate_confirms_no_more_than_the_invoices_behind_it() {
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    let a = owed_invoice(&app, &w, &w.t1, "INV-A", "600000.00").await;
    let b = owed_invoice(&app, &w, &w.t1, "INV-B", "500000.00").await;
    let maturity = day(60);
    let propose_with = |ids: Vec<String>, face: &'static str| {
        let id = new_id();
        let body = json!({"certificate_id": id, "program_id": w.program, "holder_org_id": w.t1.org,
            "face_value": face, "maturity_date": maturity, "invoice_ids": ids});
        (id, body)
    };
    // More than the invoices cover: refused at confirmation, nothing assigned.
    let (over, body) = propose_with(vec![a.clone()], "700000.00");
    let (s, r) = app
        .act(&w.core, "/v1/certificates", "certificate.propose", body)
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, r) = confirm(&app, &w.checker, &over, "700000.00", &maturity).await;
    assert_eq!(s, 422, "{r}");
    let (_, inv) = get(&app, &w.core, &format!("/v1/invoices/{a}")).await;
    assert_eq!(inv["status"], "confirmed", "{inv}");
    // Both invoices back one certificate and are assigned to it.
    let (cert, body) = propose_with(vec![a.clone(), b.clone()], "1000000.00");
    let (s, r) = app
        .act(&w.core, "/v1/certificates", "certificate.propose", body)
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, r) = confirm(&app, &w.checker, &cert, "1000000.00", &maturity).await;
    assert_eq!(s, 200, "{r}");
    for id in [&a, &b] {
        let (_, inv) = get(&app, &w.core, &format!("/v1/invoices/{id}")).await;
        assert_eq!(inv["status"], "assigned", "{inv}");
        assert_eq!(inv["certificate_id"], cert.as_str(), "{inv}");
    }
    // An invoice backs one certificate only.
    let (again, body) = propose_with(vec![b.clone()], "100000.00");
    let (s, r) = app
        .act(&w.core, "/v1/certificates", "certificate.propose", body)
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, r) = confirm(&app, &w.checker, &again, "100000.00", &maturity).await;
    assert_eq!(s, 409, "{r}");
    // The ledger itself refuses it, so scf-verify proves it offline.
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("invoice_financed_twice"),
        "{r}"
    );
    // The buyer's invoice list as CSV: a header and one row per invoice,
    // amounts as the JSON's decimal strings.
    let r = app
        .client
        .get(app.url(&format!("/v1/invoices?program_id={}", w.program)))
        .bearer_auth(&w.core.token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("id,program_id,seller_org_id"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        text.contains(",600000.00,") && text.contains(",500000.00,"),
        "{text}"
    );
}

/// Until its holder accepts it, the issuer may cancel a certificate: a
/// proposal by its proposer or a checker, an issued one only by a checker.
/// Cancelled or rejected, its invoices are free to back another.
#[actix_web::test]
async fn a_cancelled_or_rejected_certificate_frees_its_invoices() {
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    let inv = owed_invoice(&app, &w, &w.t1, "INV-C", "500000.00").await;
    let maker = app.staff(&w.core, "maker").await;
    let other_maker = app.staff(&w.core, "maker").await;
    let maturity = day(60);
    let propose_by = async |who: &Party| {
        let id = new_id();
        let body = json!({"certificate_id": id, "program_id": w.program, "holder_org_id": w.t1.org,
            "face_value": "500000.00", "maturity_date": maturity, "invoice_ids": [inv]});
        let (s, b) = app
            .act(who, "/v1/certificates", "certificate.propose", body)
            .await;
        assert_eq!(s, 201, "{b}");
        id
    };
    let cancel = async |who: &Party, id: &str, reason: &str| {
        app.act(
            who,
            &format!("/v1/certificates/{id}/cancellation"),
            "certificate.cancel",
            json!({"certificate_id": id, "reason": reason}),
        )
        .await
    };
    let invoice = async || get(&app, &w.core, &format!("/v1/invoices/{inv}")).await.1;

    // A proposal: another maker may not withdraw it, its proposer may.
    let p = propose_by(&maker).await;
    for (who, reason, status, why) in [
        (&other_maker, "not mine", 403, "another maker"),
        (&w.t1, "x", 403, "the holder is no issuer"),
        (&maker, "", 422, "a reason is required"),
    ] {
        let (s, b) = cancel(who, &p, reason).await;
        assert_eq!(s, status, "{why}: {b}");
    }
    let (s, b) = cancel(&maker, &p, "wrong maturity").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "cancelled", "{b}");
    assert_eq!(
        confirm(&app, &w.checker, &p, "500000.00", &maturity)
            .await
            .0,
        409
    );

    // Issued: its invoice is assigned; the maker cannot cancel it, the
    // checker can, and the invoice is confirmed and free again.
    let issued = propose_by(&maker).await;
    assert_eq!(
        confirm(&app, &w.checker, &issued, "500000.00", &maturity)
            .await
            .0,
        200
    );
    assert_eq!(invoice().await["status"], "assigned");
    assert_eq!(cancel(&maker, &issued, "wrong").await.0, 403);
    let (s, b) = cancel(&w.checker, &issued, "the payable was settled in cash").await;
    assert_eq!(s, 200, "{b}");
    let freed = invoice().await;
    assert_eq!(freed["status"], "confirmed", "{freed}");
    assert_eq!(freed["certificate_id"], Value::Null, "{freed}");
    assert_eq!(accept(&app, &w.t1, &issued).await.0, 409);
    assert_eq!(cancel(&w.checker, &issued, "again").await.0, 409);
    // The supplier still sees it, cancelled, adding nothing to its balance.
    let (_, held) = get(&app, &w.t1, "/v1/certificates/held").await;
    let row = held["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == issued.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (row["status"].as_str(), row["available"].as_str()),
        (Some("cancelled"), Some("0.00"))
    );
    assert_eq!(held["available_balance"], "0.00", "{held}");

    // Rejected by the supplier: the invoice is free again too. The answer
    // names the certificate canonically, as the ledger compares it.
    let rejected = propose_by(&maker).await;
    assert_eq!(
        confirm(&app, &w.checker, &rejected, "500000.00", &maturity)
            .await
            .0,
        200
    );
    let shouting = rejected.to_uppercase();
    let (s, b) = app
        .act(
            &w.t1,
            &format!("/v1/certificates/{rejected}/acceptance"),
            "certificate.accept",
            json!({"certificate_id": shouting, "decision": "reject", "reason": "wrong amount"}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(invoice().await["status"], "assigned");
    let (s, b) = app
        .act(
            &w.t1,
            &format!("/v1/certificates/{rejected}/acceptance"),
            "certificate.accept",
            json!({"certificate_id": rejected, "decision": "reject", "reason": "wrong amount"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(invoice().await["status"], "confirmed");

    // Accepted: the supplier holds it; the issuer can no longer cancel.
    let kept = propose_by(&maker).await;
    assert_eq!(
        confirm(&app, &w.checker, &kept, "500000.00", &maturity)
            .await
            .0,
        200
    );
    assert_eq!(accept(&app, &w.t1, &kept).await.0, 200);
    let (s, b) = cancel(&w.checker, &kept, "too late").await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(invoice().await["certificate_id"], kept.as_str());

    // The export verifies: the cancelled and rejected certificates are void.
    app.export_verifies(&w.op).await;
}

/// The core firm re-links a tier-2 supplier to another tier-1 firm: from
/// then on only the new buyer may pass it certificates.
#[actix_web::test]
async fn a_relinked_supplier_takes_certificates_from_its_new_buyer_only() {
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    let (other_t1, t1_rel) = app.invite(&w.core, "upstream", 1, "Other Tier 1").await;
    app.register(&other_t1).await;
    app.approve(&w.op, &other_t1.org).await;
    let (t2b, rel) = app
        .invite_under(&w.core, "upstream", 2, "Moving Tier 2", Some(&w.t1))
        .await;
    app.register(&t2b).await;
    app.approve(&w.op, &t2b.org).await;
    let relink = async |who: &Party, rel: &str, parent: &str| {
        app.act(
            who,
            &format!("/v1/relationships/{rel}/parent"),
            "relationship.relink",
            json!({"relationship_id": rel, "parent_org_id": parent}),
        )
        .await
    };
    for (who, r, parent, status, why) in [
        (
            &w.t1,
            rel.as_str(),
            other_t1.org.as_str(),
            403,
            "a supplier does not relink",
        ),
        (
            &w.core,
            t1_rel.as_str(),
            w.t1.org.as_str(),
            422,
            "tier 1 has no parent",
        ),
        (
            &w.core,
            rel.as_str(),
            w.t2.org.as_str(),
            422,
            "a parent at the same tier",
        ),
        (
            &w.core,
            rel.as_str(),
            w.core.org.as_str(),
            422,
            "the core firm itself",
        ),
    ] {
        let (s, b) = relink(who, r, parent).await;
        assert_eq!(s, status, "{why}: {b}");
    }
    let stranger = app
        .approved(&w.op, "core_enterprise", "Stranger Core")
        .await;
    let (s, b) = relink(&stranger, &rel, &other_t1.org).await;
    assert_eq!(s, 404, "not its relationship: {b}");

    let first = active(&app, &w, &w.t1, "1000.00", &day(60)).await;
    let (s, b) = relink(&w.core, &rel, &other_t1.org).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["parent_org_id"], other_t1.org.as_str(), "{b}");
    let (s, b) = transfer(&app, &w, &w.t1, &first, &t2b.org).await;
    assert_eq!(s, 422, "no longer tier 1's supplier: {b}");
    let (_, mine) = get(&app, &other_t1, "/v1/relationships").await;
    assert!(
        mine.to_string().contains(&rel),
        "the new buyer sees it: {mine}"
    );
    // Back to tier 1: it may pass the certificate again.
    assert_eq!(relink(&w.core, &rel, &w.t1.org).await.0, 200);
    let (s, b) = transfer(&app, &w, &w.t1, &first, &t2b.org).await;
    assert_eq!(s, 200, "{b}");
}
