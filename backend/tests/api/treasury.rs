//! The core firm's treasury views (exposure, payables due, suppliers
//! reached), the supplier's certificate quote, the approver's context, and
//! early settlement (随借随还) of a disbursed financing.

use crate::certificates::{active, day, new_id, world};
use crate::financing::{
    Funder, act_assets, apply, asset, decide, funder_staff, get, move_clock_to, publish_lpr,
    recommend, verified_account,
};
use crate::support::{Party, TestApp, spawn_app};
use serde_json::{Value, json};

/// `holder` finances `cert` with `funder` today, through disbursement to
/// its verified account `acct`; returns the financing id.
async fn disbursed(
    app: &TestApp,
    f: &Funder,
    funder_org: &str,
    holder: &Party,
    acct: &str,
    cert: &str,
) -> String {
    let today = app.server_time().await.as_datetime().date_naive();
    let id = new_id();
    let (s, b) = act_assets(
        app,
        holder,
        "/v1/financings",
        "financing.apply",
        json!({"financing_id": id, "certificate_id": cert, "funder_org_id": funder_org,
            "financing_date": today.to_string()}),
        &[(asset(cert), "encumber")],
    )
    .await;
    assert_eq!(s, 201, "apply: {b}");
    recommend(app, f, &id).await;
    let (s, b) = decide(app, &f.approver, &id, "approve").await;
    assert_eq!(s, 200, "decide: {b}");
    let (s, b) = app
        .act_now(
            &f.approver,
            &format!("/v1/financings/{id}/disbursement"),
            "financing.disburse",
            json!({"financing_id": id, "account_id": acct}),
        )
        .await;
    assert_eq!(s, 200, "disburse: {b}");
    id
}

async fn settle_early(
    app: &TestApp,
    who: &Party,
    id: &str,
    cert: &str,
    release: bool,
) -> (u16, Value) {
    let assets = if release {
        vec![(asset(cert), "release")]
    } else {
        vec![]
    };
    act_assets(
        app,
        who,
        &format!("/v1/financings/{id}/early-settlement"),
        "financing.settle_early",
        json!({"financing_id": id}),
        &assets,
    )
    .await
}

#[actix_web::test]
async fn a_supplier_settles_early_with_interest_to_the_day() {
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    publish_lpr(&app, &w.op).await;
    let f = funder_staff(&app, &w).await;
    let long = active(&app, &w, &w.t1, "1000000.00", &day(90)).await;
    let short = active(&app, &w, &w.t1, "100000.00", &day(20)).await;
    let acct = verified_account(&app, &w.op, &w.t1).await;
    let fin = disbursed(&app, &f, &w.funder.org, &w.t1, &acct, &long).await;
    let fin_short = disbursed(&app, &f, &w.funder.org, &w.t1, &acct, &short).await;

    move_clock_to(&app, &w.op, &day(30)).await;
    // The asset key must be released, only the applicant settles, and a
    // matured financing is cleared by the issuer, not settled early.
    let (s, b) = settle_early(&app, &w.t1, &fin, &long, false).await;
    assert_eq!(s, 422, "{b}");
    let (s, b) = settle_early(&app, &f.approver, &fin, &long, true).await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = settle_early(&app, &w.t2, &fin, &long, true).await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = settle_early(&app, &w.t1, &fin_short, &short, true).await;
    assert_eq!(s, 409, "matured: {b}");

    // By hand: advance 90% of 1,000,000 = 900,000 at LPR 3.00% + 150 bp =
    // 4.50%, ACT/360. Charged for 90 days: 900,000 × 4.5% × 90/360 =
    // 10,125.00. Earned for the 30 days used: 3,375.00. Refund: 6,750.00,
    // all the supplier's (it bore the discount). Repaid: 893,250.00.
    let (s, b) = settle_early(&app, &w.t1, &fin, &long, true).await;
    assert_eq!(s, 200, "settle early: {b}");
    assert_eq!(b["status"], "settled", "{b}");
    let st = &b["settlement"];
    assert_eq!(st["days_used"], 30, "{b}");
    assert_eq!(st["days_unused"], 60, "{b}");
    assert_eq!(st["interest_charged"]["total"], "10125.00", "{b}");
    assert_eq!(st["interest_earned"]["total"], "3375.00", "{b}");
    assert_eq!(st["refund"]["total"], "6750.00", "{b}");
    assert_eq!(st["refund"]["supplier"], "6750.00", "{b}");
    assert_eq!(st["refund"]["core_firm"], "0.00", "{b}");
    assert_eq!(b["repaid"], "893250.00", "{b}");

    // Recorded: the repayment from the supplier to the funder, the step.
    let (_, d) = get(&app, &w.t1, &format!("/v1/financings/{fin}")).await;
    assert_eq!(d["status"], "settled", "{d}");
    let repay = d["cash"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "early_settlement")
        .unwrap_or_else(|| panic!("no repayment: {d}"));
    assert_eq!(repay["amount"], "893250.00", "{d}");
    assert_eq!(repay["payer_org_id"], w.t1.org.as_str(), "{d}");
    assert_eq!(repay["payee_org_id"], w.funder.org.as_str(), "{d}");
    assert_eq!(
        d["steps"].as_array().unwrap().last().unwrap()["step"],
        "settled"
    );

    // The certificate is the supplier's again, active, with a holding row.
    let (_, c) = get(&app, &w.t1, &format!("/v1/certificates/{long}")).await;
    assert_eq!(c["status"], "active", "{c}");
    assert_eq!(c["holder_org_id"], w.t1.org.as_str(), "{c}");
    let holdings = c["holders"].as_array().unwrap();
    assert_eq!(holdings.len(), 3, "{c}");
    assert_eq!(holdings[2]["holder_org_id"], w.t1.org.as_str(), "{c}");

    // Settled once: a second settlement is refused (by the ledger too: the
    // key is no longer encumbered), and the released asset key lets the
    // supplier finance the certificate again.
    let (s, b) = settle_early(&app, &w.t1, &fin, &long, false).await;
    assert_eq!(s, 409, "{b}");
    let (s, b) = settle_early(&app, &w.t1, &fin, &long, true).await;
    assert_eq!(s, 422, "{b}");
    assert!(b.to_string().contains("asset_not_encumbered"), "{b}");
    let (s, b, _) = apply(&app, &w, &w.t1, &long).await;
    assert_eq!(s, 201, "financed again: {b}");
}

#[actix_web::test]
async fn early_settlement_is_refused_when_the_plan_does_not_allow_it() {
    let app = spawn_app().await;
    let w = world(&app, |p| p["early_settlement"] = json!(false)).await;
    publish_lpr(&app, &w.op).await;
    let f = funder_staff(&app, &w).await;
    let cert = active(&app, &w, &w.t1, "50000.00", &day(60)).await;
    let acct = verified_account(&app, &w.op, &w.t1).await;
    let fin = disbursed(&app, &f, &w.funder.org, &w.t1, &acct, &cert).await;
    let (s, b) = settle_early(&app, &w.t1, &fin, &cert, true).await;
    assert_eq!(s, 409, "{b}");
    assert!(b.to_string().contains("early settlement"), "{b}");
    let (_, d) = get(&app, &w.t1, &format!("/v1/financings/{fin}")).await;
    assert_eq!(d["status"], "disbursed", "{d}");
}
