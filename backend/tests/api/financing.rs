//! Receivable financing end to end over HTTP: a supplier applies against a
//! certificate at the quote in force, the funder's analyst recommends and
//! its approver decides within the limits, the funder disburses to the
//! supplier's verified account and registers on 中登网, the core firm pays
//! at maturity and clearing pays every holder; an unpaid certificate goes
//! overdue and is classified. The clock is moved in test mode.

use crate::certificates::{World, active, day, new_id, world};
use crate::support::{Party, TestApp, spawn_app};
use scf_ledger::asset::AssetKey;
use scf_ledger::time::Timestamp;
use serde_json::{Value, json};

/// The funder's analyst (maker) and approver (checker).
pub struct Funder {
    pub analyst: Party,
    pub approver: Party,
}

pub async fn funder_staff(app: &TestApp, w: &World) -> Funder {
    Funder {
        analyst: app.staff(&w.funder, "maker").await,
        approver: app.staff(&w.funder, "checker").await,
    }
}

/// A current 1Y fixing (the seeded history ends in 2025).
pub async fn publish_lpr(app: &TestApp, op: &Party) {
    let today = app.server_time().await.as_datetime().date_naive();
    let (s, b) = app
        .act_now(
            op,
            "/v1/lpr",
            "lpr.publish",
            json!({"tenor": "1Y", "fixing_date": today.to_string(), "rate": "3.00", "source": "test fixing"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}

pub fn asset(cert: &str) -> String {
    AssetKey::payables_certificate(cert).unwrap().to_hex()
}

/// `who` signs `kind` at the server's time with `assets`.
pub async fn act_assets(
    app: &TestApp,
    who: &Party,
    path: &str,
    kind: &str,
    body: Value,
    assets: &[(String, &str)],
) -> (u16, Value) {
    use scf_ledger::intent::{AssetOp, AssetRef, Intent, signing_message};
    let mut refs: Vec<AssetRef> = assets
        .iter()
        .map(|(k, op)| AssetRef {
            key: AssetKey::from_hex(k).unwrap(),
            op: match *op {
                "encumber" => AssetOp::Encumber,
                "release" => AssetOp::Release,
                _ => AssetOp::Reference,
            },
        })
        .collect();
    refs.sort_by_key(|a| a.key.0);
    let intent = Intent {
        kind: kind.into(),
        org: who.org.clone(),
        key_id: who.key.public_key().key_id(),
        subject: String::new(),
        assets: refs,
        body: body.as_object().cloned().unwrap(),
        id: uuid::Uuid::now_v7().to_string(),
        client_time: app.server_time().await,
    };
    let bytes = intent.to_bytes();
    let sig = who.key.sign(&signing_message(&bytes));
    let env = json!({
        "intent": String::from_utf8(bytes).unwrap(),
        "sigs": [{"key_id": who.key.public_key().key_id().to_hex(), "sig": sig.to_hex()}],
    });
    app.post_signed(path, Some(&who.token), &env).await
}

pub async fn apply(app: &TestApp, w: &World, who: &Party, cert: &str) -> (u16, Value, String) {
    let id = new_id();
    let today = app
        .server_time()
        .await
        .as_datetime()
        .date_naive()
        .to_string();
    let (s, b) = act_assets(
        app,
        who,
        "/v1/financings",
        "financing.apply",
        json!({"financing_id": id, "certificate_id": cert, "funder_org_id": w.funder.org,
            "financing_date": today}),
        &[(asset(cert), "encumber")],
    )
    .await;
    (s, b, id)
}

pub async fn recommend(app: &TestApp, f: &Funder, id: &str) {
    let (s, b) = app
        .act_now(
            &f.analyst,
            &format!("/v1/financings/{id}/recommendation"),
            "financing.recommend",
            json!({"financing_id": id, "verdict": "approve", "note": "trade background checked"}),
        )
        .await;
    assert_eq!(s, 200, "recommend: {b}");
}

pub async fn decide(app: &TestApp, who: &Party, id: &str, decision: &str) -> (u16, Value) {
    app.act_now(
        who,
        &format!("/v1/financings/{id}/decision"),
        "financing.decide",
        json!({"financing_id": id, "decision": decision, "note": "within appetite"}),
    )
    .await
}

/// A verified settlement account of `who` (named as registered).
pub async fn verified_account(app: &TestApp, op: &Party, who: &Party) -> String {
    let org: Value = app
        .get_auth(&format!("/v1/organisations/{}", who.org), &who.token)
        .await
        .json()
        .await
        .unwrap();
    let id = new_id();
    let (s, b) = app
        .act_now(
            who,
            "/v1/accounts",
            "account.add",
            json!({"account_id": id, "bank_name": "Bank of Shanghai", "branch": "Pudong",
                "account_number": "6222020200112233", "account_name": org["name"], "currency": "CNY"}),
        )
        .await;
    assert_eq!(s, 201, "account.add: {b}");
    let checker = app.staff(op, "checker").await;
    let (s, b) = app
        .act_now(
            &checker,
            &format!("/v1/accounts/{id}/verification"),
            "account.verify",
            json!({"account_id": id, "outcome": "verified"}),
        )
        .await;
    assert_eq!(s, 200, "account.verify: {b}");
    id
}

/// The issuer's checker pays `amount` for `root` with the payouts, late
/// interest and releases of its clearing preview `p`.
pub async fn clear(app: &TestApp, w: &World, root: &str, amount: Value, p: &Value) -> (u16, Value) {
    let release: Vec<(String, &str)> = p["release_assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k.as_str().unwrap().to_owned(), "release"))
        .collect();
    act_assets(
        app,
        &w.checker,
        &format!("/v1/certificates/{root}/clearing"),
        "certificate.clear",
        json!({"root_id": root, "amount": amount, "payouts": p["payouts"],
            "late_interest": p["late_interest"]}),
        &release,
    )
    .await
}

pub async fn get(app: &TestApp, who: &Party, path: &str) -> (u16, Value) {
    let r = app.get_auth(path, &who.token).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub async fn move_clock_to(app: &TestApp, op: &Party, date: &str) {
    let to = format!("{date}T09:00:00Z");
    let (s, b) = app
        .act_now(op, "/v1/test/clock", "clock.advance", json!({ "to": to }))
        .await;
    assert_eq!(s, 200, "clock: {b}");
    assert!(app.server_time().await >= Timestamp::parse(&to).unwrap());
}

#[actix_web::test]
async fn a_certificate_part_is_financed_disbursed_registered_and_cleared() {
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    publish_lpr(&app, &w.op).await;
    let f = funder_staff(&app, &w).await;
    let maturity = day(90);
    let root = active(&app, &w, &w.t1, "1000000.00", &maturity).await;
    // Tier 1 keeps 600,000 and passes 400,000 to tier 2.
    let (keep, pass) = (new_id(), new_id());
    let (s, b) = app
        .act(
            &w.t1,
            &format!("/v1/certificates/{root}/split"),
            "certificate.split",
            crate::certificates::split_body(
                &root,
                "1000000.00",
                &[(&keep, "600000.00"), (&pass, "400000.00")],
            ),
        )
        .await;
    assert_eq!(s, 201, "split: {b}");
    let (s, b) = app
        .act(
            &w.t1,
            &format!("/v1/certificates/{pass}/transfer"),
            "certificate.transfer",
            json!({"certificate_id": pass, "to_org_id": w.t2.org, "notice_to": w.core.org}),
        )
        .await;
    assert_eq!(s, 200, "transfer: {b}");

    // Without the asset key encumbered the application is refused.
    let (s, b) = app
        .act_now(
            &w.t1,
            "/v1/financings",
            "financing.apply",
            json!({"financing_id": new_id(), "certificate_id": keep, "funder_org_id": w.funder.org,
                "financing_date": day(0)}),
        )
        .await;
    assert_eq!(s, 422, "{b}");

    // Both tiers apply; the quote is stored with the application.
    let (s, b, fin1) = apply(&app, &w, &w.t1, &keep).await;
    assert_eq!(s, 201, "apply: {b}");
    assert_eq!(b["quote"]["quote"]["face_amount"], "600000.00", "{b}");
    assert!(b["quote"]["lpr_fixing"]["fixing_date"].is_string(), "{b}");
    let (s, b, fin2) = apply(&app, &w, &w.t2, &pass).await;
    assert_eq!(s, 201, "apply: {b}");
    // The locked certificate can no longer move, nor be applied for twice.
    let (s, b, _) = apply(&app, &w, &w.t1, &keep).await;
    assert_eq!(s, 409, "{b}");

    // Maker and checker: the analyst cannot decide, the approver can.
    for id in [&fin1, &fin2] {
        recommend(&app, &f, id).await;
        let (s, b) = decide(&app, &f.analyst, id, "approve").await;
        assert_eq!(s, 403, "{b}");
        let (s, b) = decide(&app, &f.approver, id, "approve").await;
        assert_eq!(s, 200, "decide: {b}");
        assert_eq!(b["flags"]["first_loan"], true, "{b}");
        assert_eq!(b["flags"]["inclusive_sme"], true, "{b}");
    }

    // The funder's queue and the supplier's view; others see nothing.
    let (s, q) = get(&app, &f.approver, "/v1/financings?status=approved").await;
    assert_eq!(s, 200);
    assert_eq!(q["items"].as_array().unwrap().len(), 2, "{q}");
    let (s, _) = get(&app, &w.t3, &format!("/v1/financings/{fin1}")).await;
    assert_eq!(s, 404);

    // Disbursement only to a verified account of the applicant.
    let acct1 = verified_account(&app, &w.op, &w.t1).await;
    let acct2 = verified_account(&app, &w.op, &w.t2).await;
    let (s, b) = app
        .act_now(
            &f.approver,
            &format!("/v1/financings/{fin1}/disbursement"),
            "financing.disburse",
            json!({"financing_id": fin1, "account_id": acct2}),
        )
        .await;
    assert_eq!(s, 422, "someone else's account: {b}");
    for (id, acct) in [(&fin1, &acct1), (&fin2, &acct2)] {
        let (s, b) = app
            .act_now(
                &f.approver,
                &format!("/v1/financings/{id}/disbursement"),
                "financing.disburse",
                json!({"financing_id": id, "account_id": acct}),
            )
            .await;
        assert_eq!(s, 200, "disburse: {b}");
    }
    let (_, d) = get(&app, &w.t1, &format!("/v1/financings/{fin1}")).await;
    assert_eq!(d["status"], "disbursed", "{d}");
    assert_eq!(d["cash"][0]["kind"], "disbursement", "{d}");
    assert_eq!(d["cash"][0]["amount"], d["net_proceeds"], "{d}");
    let steps: Vec<&str> = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["applied", "recommended", "approved", "disbursed"]);

    // Registration: one on time; the other left open until it is overdue.
    let (s, b) = app
        .act_now(
            &f.analyst,
            &format!("/v1/financings/{fin1}/registration"),
            "financing.register",
            json!({"financing_id": fin1, "registration_no": "ZD2026112600001",
                "evidence_hash": "ab".repeat(32)}),
        )
        .await;
    assert_eq!(s, 200, "register: {b}");
    assert_eq!(b["late"], false);
    // That registration is tier 1's assignment to the bank: it does not
    // cover tier 2's financing.
    let (s, b) = app
        .act_now(
            &f.analyst,
            &format!("/v1/financings/{fin2}/registration"),
            "financing.register",
            json!({"financing_id": fin2, "registration_no": "ZD2026112600001",
                "evidence_hash": "cd".repeat(32)}),
        )
        .await;
    assert_eq!(s, 409, "another assignor's registration: {b}");
    let (_, t) = get(&app, &f.approver, "/v1/registration-tasks?state=open").await;
    assert_eq!(t["items"].as_array().unwrap().len(), 1, "{t}");
    move_clock_to(&app, &w.op, &day(20)).await;
    let (_, t) = get(&app, &f.approver, "/v1/registration-tasks?state=overdue").await;
    assert_eq!(t["items"][0]["financing_id"], fin2.as_str(), "{t}");

    // Not before maturity: the funders' discount runs to that day.
    let (_, early) = get(&app, &w.core, &format!("/v1/certificates/{root}/clearing")).await;
    let (s, b) = act_assets(
        &app,
        &w.checker,
        &format!("/v1/certificates/{root}/clearing"),
        "certificate.clear",
        json!({"root_id": root, "amount": "1000000.00", "payouts": early["payouts"]}),
        &[(asset(&keep), "release"), (asset(&pass), "release")],
    )
    .await;
    assert_eq!(s, 409, "before maturity: {b}");
    assert!(b["detail"].as_str().unwrap().contains(&maturity), "{b}");

    // At maturity the core firm pays the face value; every holder of a
    // part is paid its share: the funder for both financed parts. On time,
    // no late interest is owed.
    move_clock_to(&app, &w.op, &maturity).await;
    let (s, p) = get(&app, &w.core, &format!("/v1/certificates/{root}/clearing")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["late_interest"], json!([]), "{p}");
    assert_eq!(p["total_due"], "1000000.00", "{p}");
    assert_eq!(p["as_of"], maturity.as_str(), "{p}");
    let payouts = p["payouts"].clone();
    assert_eq!(payouts.as_array().unwrap().len(), 2, "{p}");
    for po in payouts.as_array().unwrap() {
        assert_eq!(po["holder_org_id"], w.funder.org.as_str(), "{p}");
    }
    let (s, b) = clear(&app, &w, &root, json!("999999.99"), &p).await;
    assert_eq!(s, 422, "not the face value: {b}");
    let (s, b) = clear(&app, &w, &root, json!("1000000.00"), &p).await;
    assert_eq!(s, 200, "clear: {b}");
    let paid: rust_decimal::Decimal = b["payouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["amount"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(paid.to_string(), "1000000.00");
    for id in [&fin1, &fin2] {
        let (_, d) = get(&app, &w.core, &format!("/v1/financings/{id}")).await;
        assert_eq!(d["status"], "settled", "{d}");
    }
    // Paid: the unfiled registration is no longer owed.
    let (_, t) = get(&app, &f.approver, "/v1/registration-tasks?state=overdue").await;
    assert_eq!(t["items"].as_array().unwrap().len(), 0, "{t}");

    // Offline: the export with the applications (assets encumbered), the
    // decisions, disbursements and the clearing (paying exactly the face
    // value, releasing the assets) verifies.
    let cp = app.opened.writer.checkpoint().await.unwrap();
    let r = app.get_auth("/v1/ledger/export", &w.op.token).await;
    let export = r.bytes().await.unwrap().to_vec();
    let text = String::from_utf8_lossy(&export);
    for kind in ["financing.apply", "financing.disburse", "certificate.clear"] {
        assert!(text.contains(kind), "{kind}");
    }
    let report =
        scf_ledger::verify::verify_bytes(&export, &scf_ledger::verify::Options::default()).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert_eq!(report.entries, cp.size);
}

#[actix_web::test]
async fn an_unpaid_certificate_goes_overdue_and_is_classified() {
    let app = spawn_app().await;
    let w = world(&app, |p| p["recourse"] = json!(true)).await;
    publish_lpr(&app, &w.op).await;
    let f = funder_staff(&app, &w).await;
    let maturity = day(30);
    let cert = active(&app, &w, &w.t1, "200000.00", &maturity).await;
    let (s, b, id) = apply(&app, &w, &w.t1, &cert).await;
    assert_eq!(s, 201, "{b}");
    recommend(&app, &f, &id).await;
    let (s, b) = decide(&app, &f.approver, &id, "approve").await;
    assert_eq!(s, 200, "{b}");
    let acct = verified_account(&app, &w.op, &w.t1).await;
    let (s, b) = app
        .act_now(
            &f.approver,
            &format!("/v1/financings/{id}/disbursement"),
            "financing.disburse",
            json!({"financing_id": id, "account_id": acct}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Recourse is refused before the certificate is past due.
    let (s, b) = app
        .act_now(
            &f.approver,
            &format!("/v1/financings/{id}/recourse"),
            "financing.recourse",
            json!({"financing_id": id, "note": "early"}),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    // 100 days past maturity, beyond the 3 grace days: 次级.
    move_clock_to(&app, &w.op, &day(30 + 3 + 100)).await;
    let (s, b) = app
        .act_now(
            &f.approver,
            &format!("/v1/financings/{id}/classification"),
            "financing.classify",
            json!({"financing_id": id}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["days_past_due"], 100, "{b}");
    assert_eq!(b["risk_class"], "substandard", "{b}");
    assert_eq!(b["risk_class_zh"], "次级", "{b}");
    let (_, d) = get(&app, &w.t1, &format!("/v1/financings/{id}")).await;
    assert_eq!(d["overdue"]["days_past_due"], 100, "{d}");
    assert_ne!(d["overdue"]["penalty_interest"], "0.00", "{d}");
    // A hundred days always span a quarter-end 结息日: the penalty accrued
    // by then compounds at the penalty rate.
    assert_ne!(d["overdue"]["compound_interest"], "0.00", "{d}");
    assert_eq!(d["credit"]["risk_class"], "substandard", "{d}");
    let (s, b) = app
        .act_now(
            &f.approver,
            &format!("/v1/financings/{id}/recourse"),
            "financing.recourse",
            json!({"financing_id": id, "note": "the issuer has not paid"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "recourse", "{b}");

    // The supplier repurchases: it pays exactly today's claim and takes the
    // certificate back; the asset key is released.
    let (_, d) = get(&app, &w.t1, &format!("/v1/financings/{id}")).await;
    let claim = d["overdue"]["total_due"].as_str().unwrap().to_owned();
    assert_ne!(claim, "200000.00", "penalty interest is owed: {d}");
    let path = format!("/v1/financings/{id}/repurchase");
    let release = [(asset(&cert), "release")];
    let repurchase = async |who: &Party, amount: &str, assets: &[(String, &str)]| {
        let body = json!({"financing_id": id, "amount": amount});
        act_assets(&app, who, &path, "financing.repurchase", body, assets).await
    };
    for (who, amount, assets, status, why) in [
        (&w.t1, "200000.00", &release[..], 422, "face only"),
        (&w.t1, claim.as_str(), &[][..], 422, "asset not released"),
        (
            &f.approver,
            claim.as_str(),
            &release[..],
            403,
            "the funder does not repurchase",
        ),
    ] {
        let (s, b) = repurchase(who, amount, assets).await;
        assert_eq!(s, status, "{why}: {b}");
    }
    let (s, b) = repurchase(&w.t1, &claim, &release).await;
    assert_eq!(s, 200, "repurchase: {b}");
    assert_eq!(
        (b["status"].as_str(), b["certificate_status"].as_str()),
        (Some("settled"), Some("active")),
        "{b}"
    );
    assert_eq!(b["paid"], claim.as_str(), "{b}");
    let (_, d) = get(&app, &f.approver, &format!("/v1/financings/{id}")).await;
    assert_eq!(d["overdue"], Value::Null, "{d}");
    let paid: Vec<_> = d["cash"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "recourse_repayment")
        .collect();
    assert_eq!(paid.len(), 1, "{d}");
    assert_eq!(
        (
            paid[0]["payer_org_id"].as_str(),
            paid[0]["payee_org_id"].as_str()
        ),
        (Some(w.t1.org.as_str()), Some(w.funder.org.as_str()))
    );
    assert_eq!(paid[0]["amount"], claim.as_str());
    let (_, c) = get(&app, &w.t1, &format!("/v1/certificates/{cert}")).await;
    assert_eq!(c["holder_org_id"], w.t1.org.as_str(), "{c}");
    // Twice: the ledger itself refuses, the asset key is no longer encumbered.
    let (s, b) = repurchase(&w.t1, &claim, &release).await;
    assert_eq!(s, 422, "settled already: {b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("asset_not_encumbered"),
        "{b}"
    );

    // When the issuer finally pays, the supplier holding the part is paid;
    // no financing is outstanding, so no late interest is owed to anyone.
    let (_, p) = get(&app, &w.core, &format!("/v1/certificates/{cert}/clearing")).await;
    assert_eq!(p["late_interest"], json!([]), "{p}");
    assert_eq!(p["payouts"][0]["holder_org_id"], w.t1.org.as_str(), "{p}");
    let (s, b) = act_assets(
        &app,
        &w.checker,
        &format!("/v1/certificates/{cert}/clearing"),
        "certificate.clear",
        json!({"root_id": cert, "amount": "200000.00", "payouts": p["payouts"]}),
        &[],
    )
    .await;
    assert_eq!(s, 200, "clear: {b}");
}

/// Paid after the grace days, a clearing also pays each funder its penalty
/// interest to the day, and the issuer must sign exactly that.
#[actix_web::test]
async fn a_late_clearing_pays_the_funder_its_penalty_interest() {
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    publish_lpr(&app, &w.op).await;
    let f = funder_staff(&app, &w).await;
    let maturity = day(30);
    let cert = active(&app, &w, &w.t1, "200000.00", &maturity).await;
    let (s, b, id) = apply(&app, &w, &w.t1, &cert).await;
    assert_eq!(s, 201, "{b}");
    recommend(&app, &f, &id).await;
    assert_eq!(decide(&app, &f.approver, &id, "approve").await.0, 200);
    let acct = verified_account(&app, &w.op, &w.t1).await;
    let (s, b) = app
        .act_now(
            &f.approver,
            &format!("/v1/financings/{id}/disbursement"),
            "financing.disburse",
            json!({"financing_id": id, "account_id": acct}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Within the grace days nothing is owed beyond the face value.
    move_clock_to(&app, &w.op, &day(30 + 3)).await;
    let path = format!("/v1/certificates/{cert}/clearing");
    let (_, p) = get(&app, &w.core, &path).await;
    assert_eq!(p["late_interest"], json!([]), "{p}");
    // Ten days past due: penalty interest at the contract rate plus the
    // plan's uplift, ACT/360, on the face value.
    move_clock_to(&app, &w.op, &day(30 + 3 + 10)).await;
    let (_, p) = get(&app, &w.core, &path).await;
    let late = p["late_interest"].as_array().unwrap().clone();
    assert_eq!(late.len(), 1, "{p}");
    assert_eq!(late[0]["financing_id"], id.as_str(), "{p}");
    assert_eq!(late[0]["funder_org_id"], w.funder.org.as_str(), "{p}");
    let (_, d) = get(&app, &w.core, &format!("/v1/financings/{id}")).await;
    assert_eq!(d["overdue"]["days_past_due"], 10, "{d}");
    let dec = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap()
    };
    assert_eq!(
        dec(&late[0]["amount"]),
        dec(&d["overdue"]["penalty_interest"]) + dec(&d["overdue"]["compound_interest"])
    );
    let rate = dec(&d["overdue"]["penalty_rate"]["annual_rate"]);
    let by_hand = rust_decimal::Decimal::from(200_000) * rate * rust_decimal::Decimal::from(10)
        / rust_decimal::Decimal::from(360);
    assert!(
        (dec(&d["overdue"]["penalty_interest"]) - by_hand).abs()
            <= rust_decimal::Decimal::new(1, 2),
        "{} vs {by_hand} ({d})",
        late[0]["amount"]
    );
    assert_eq!(
        dec(&p["total_due"]),
        rust_decimal::Decimal::from(200_000) + dec(&late[0]["amount"])
    );
    let release = [(asset(&cert), "release")];
    let sign = |late: Value| json!({"root_id": cert, "amount": "200000.00", "payouts": p["payouts"], "late_interest": late});
    let short = json!([{"financing_id": id, "funder_org_id": w.funder.org, "amount": "0.01"}]);
    for (body, why) in [
        (sign(json!([])), "late interest left out"),
        (sign(short), "the wrong amount"),
    ] {
        let (s, b) = act_assets(&app, &w.checker, &path, "certificate.clear", body, &release).await;
        assert_eq!(s, 422, "{why}: {b}");
    }
    let (s, b) = act_assets(
        &app,
        &w.checker,
        &path,
        "certificate.clear",
        sign(Value::Array(late.clone())),
        &release,
    )
    .await;
    assert_eq!(s, 200, "clear: {b}");
    assert_eq!(b["late_interest"], Value::Array(late.clone()), "{b}");
    let (_, d) = get(&app, &f.approver, &format!("/v1/financings/{id}")).await;
    assert_eq!(d["status"], "settled", "{d}");
    let kinds: Vec<(&str, &str)> = d["cash"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["amount"].as_str().unwrap()))
        .collect();
    assert!(
        kinds.contains(&("late_interest", late[0]["amount"].as_str().unwrap())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("clearing_payout", "200000.00")),
        "{kinds:?}"
    );
    // The export still verifies: the clearing paid exactly the face value
    // to the parts, the late interest beside it.
    app.export_verifies(&w.op).await;
}

#[actix_web::test]
async fn a_declined_or_withdrawn_application_frees_the_certificate() {
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    publish_lpr(&app, &w.op).await;
    let f = funder_staff(&app, &w).await;
    let cert = active(&app, &w, &w.t1, "50000.00", &day(60)).await;
    let (s, b, id) = apply(&app, &w, &w.t1, &cert).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = act_assets(
        &app,
        &w.t1,
        &format!("/v1/financings/{id}/withdrawal"),
        "financing.withdraw",
        json!({"financing_id": id}),
        &[(asset(&cert), "release")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // Free again: a new application may encumber it once more.
    let (s, b, id) = apply(&app, &w, &w.t1, &cert).await;
    assert_eq!(s, 201, "{b}");
    recommend(&app, &f, &id).await;
    let (s, b) = decide(&app, &f.approver, &id, "decline").await;
    assert_eq!(s, 422, "a decline must release the asset: {b}");
    let (s, b) = act_assets(
        &app,
        &f.approver,
        &format!("/v1/financings/{id}/decision"),
        "financing.decide",
        json!({"financing_id": id, "decision": "decline", "note": "concentration"}),
        &[(asset(&cert), "release")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, c) = get(&app, &w.t1, &format!("/v1/certificates/{cert}")).await;
    assert_eq!(
        c["certificate"]["status"].as_str().or(c["status"].as_str()),
        Some("active"),
        "{c}"
    );
}

#[actix_web::test]
async fn concurrent_approvals_never_exceed_the_counterparty_limit() {
    let app = spawn_app().await;
    // A counterparty limit of 1,000,000 advance; 32 applications of
    // 90,000 advance (100,000 face at 90 %) compete: at most 11 fit.
    let w = world(&app, |p| p["counterparty_limit"] = json!("1000000.00")).await;
    publish_lpr(&app, &w.op).await;
    let f = funder_staff(&app, &w).await;
    let root = active(&app, &w, &w.t1, "3200000.00", &day(90)).await;
    let children: Vec<String> = (0..32).map(|_| new_id()).collect();
    let pairs: Vec<(&str, &str)> = children.iter().map(|c| (c.as_str(), "100000.00")).collect();
    let (s, b) = app
        .act(
            &w.t1,
            &format!("/v1/certificates/{root}/split"),
            "certificate.split",
            crate::certificates::split_body(&root, "3200000.00", &pairs),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let mut ids = Vec::new();
    for c in &children {
        let (s, b, id) = apply(&app, &w, &w.t1, c).await;
        assert_eq!(s, 201, "{b}");
        recommend(&app, &f, &id).await;
        ids.push(id);
    }
    let answers = crate::certificates::futures_join(
        ids.iter()
            .map(|id| decide(&app, &f.approver, id, "approve")),
    )
    .await;
    let approved = answers.iter().filter(|(s, _)| *s == 200).count();
    let refused = answers.iter().filter(|(s, _)| *s == 409).count();
    assert_eq!(approved + refused, 32, "{answers:?}");
    assert_eq!(approved, 11, "{answers:?}");
}
