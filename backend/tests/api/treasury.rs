//! The core firm's treasury views (exposure, payables due, suppliers
//! reached), the supplier's certificate quote, the approver's context, and
//! early settlement (随借随还) of a disbursed financing.

use crate::certificates::{active, day, new_id, split_body, world};
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

/// `who` splits `parent` (`amount`) into two new parts; returns their ids.
async fn split_in_two(
    app: &TestApp,
    who: &Party,
    parent: &str,
    amount: &str,
    parts: [&str; 2],
) -> (String, String) {
    let (a, b) = (new_id(), new_id());
    let (s, r) = app
        .act(
            who,
            &format!("/v1/certificates/{parent}/split"),
            "certificate.split",
            split_body(parent, amount, &[(&a, parts[0]), (&b, parts[1])]),
        )
        .await;
    assert_eq!(s, 201, "split: {r}");
    (a, b)
}

async fn transfer(
    app: &TestApp,
    w: &crate::certificates::World,
    from: &Party,
    cert: &str,
    to: &Party,
) {
    let (s, b) = app
        .act(
            from,
            &format!("/v1/certificates/{cert}/transfer"),
            "certificate.transfer",
            json!({"certificate_id": cert, "to_org_id": to.org, "notice_to": w.core.org}),
        )
        .await;
    assert_eq!(s, 200, "transfer: {b}");
}

fn by_tier(e: &Value, tier: i64) -> &Value {
    e["by_tier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tier"] == tier)
        .unwrap_or_else(|| panic!("no tier {tier}: {e}"))
}

/// The registered name of `org`.
async fn name_of(app: &TestApp, op: &Party, org: &str) -> Value {
    let (s, o) = get(app, op, &format!("/v1/organisations/{org}")).await;
    assert_eq!(s, 200, "{o}");
    o["name"].clone()
}

/// The ISO week (Monday) of `date`.
fn monday(date: &str) -> chrono::NaiveDate {
    use chrono::Datelike;
    let d: chrono::NaiveDate = date.parse().unwrap();
    d - chrono::Days::new(u64::from(d.weekday().num_days_from_monday()))
}

#[actix_web::test]
async fn the_treasury_sees_its_exposure_payables_and_the_suppliers_reached() {
    let app = spawn_app().await;
    let w = world(&app, |_| {}).await;
    publish_lpr(&app, &w.op).await;
    let f = funder_staff(&app, &w).await;
    // One payable of 1,000,000 reaches three tiers: tier 1 keeps 600,000,
    // tier 2 gets 400,000 and passes 100,000 on to tier 3. Another of
    // 200,000 stays with tier 1, unfinanced.
    let root = active(&app, &w, &w.t1, "1000000.00", &day(90)).await;
    let (keep, pass) =
        split_in_two(&app, &w.t1, &root, "1000000.00", ["600000.00", "400000.00"]).await;
    transfer(&app, &w, &w.t1, &pass, &w.t2).await;
    let (t2_part, t3_part) =
        split_in_two(&app, &w.t2, &pass, "400000.00", ["300000.00", "100000.00"]).await;
    transfer(&app, &w, &w.t2, &t3_part, &w.t3).await;
    let other = active(&app, &w, &w.t1, "200000.00", &day(20)).await;
    // Tier 1 finances its 600,000 (advance 540,000), tier 2 its 300,000
    // (advance 270,000).
    let acct1 = verified_account(&app, &w.op, &w.t1).await;
    let acct2 = verified_account(&app, &w.op, &w.t2).await;
    disbursed(&app, &f, &w.funder.org, &w.t1, &acct1, &keep).await;
    disbursed(&app, &f, &w.funder.org, &w.t2, &acct2, &t2_part).await;

    // Exposure.
    let (s, e) = get(
        &app,
        &w.core,
        &format!("/v1/programs/{}/exposure", w.program),
    )
    .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["outstanding"]["amount"], "1200000.00", "{e}");
    assert_eq!(e["outstanding"]["count"], 4, "{e}");
    assert_eq!(e["financed_face"], "900000.00", "{e}");
    assert_eq!(e["financed_advance"], "810000.00", "{e}");
    assert_eq!(e["financings"], 2, "{e}");
    assert_eq!(e["plan_version"], 1, "{e}");
    let limits = &e["limits"];
    assert_eq!(limits["certificates"]["limit"], "100000000.00", "{e}");
    assert_eq!(limits["certificates"]["used"], "1200000.00", "{e}");
    assert_eq!(limits["certificates"]["available"], "98800000.00", "{e}");
    assert_eq!(limits["financing"]["used"], "810000.00", "{e}");
    assert_eq!(limits["financing"]["available"], "99190000.00", "{e}");
    assert_eq!(limits["counterparty_limit"], "5000000.00", "{e}");
    let funders = e["by_funder"].as_array().unwrap();
    assert_eq!(funders.len(), 1, "{e}");
    assert_eq!(funders[0]["funder_org_id"], w.funder.org.as_str(), "{e}");
    assert_eq!(
        funders[0]["name"],
        name_of(&app, &w.op, &w.funder.org).await,
        "{e}"
    );
    assert_eq!(funders[0]["line"]["limit"], "60000000.00", "{e}");
    assert_eq!(funders[0]["line"]["used"], "810000.00", "{e}");
    assert_eq!(funders[0]["line"]["available"], "59190000.00", "{e}");
    assert_eq!(funders[0]["financed_face"], "900000.00", "{e}");
    assert_eq!(funders[0]["financings"], 2, "{e}");
    // The financed parts count for the tier of the supplier who financed
    // them, though the funder holds them now.
    let t1 = by_tier(&e, 1);
    assert_eq!(t1["outstanding"]["amount"], "800000.00", "{e}");
    assert_eq!(t1["outstanding"]["count"], 2, "{e}");
    assert_eq!(t1["financed_face"], "600000.00", "{e}");
    assert_eq!(t1["financed_advance"], "540000.00", "{e}");
    let t2 = by_tier(&e, 2);
    assert_eq!(t2["outstanding"]["amount"], "300000.00", "{e}");
    assert_eq!(t2["financed_advance"], "270000.00", "{e}");
    assert_eq!(t2["financings"], 1, "{e}");
    let t3 = by_tier(&e, 3);
    assert_eq!(t3["outstanding"]["amount"], "100000.00", "{e}");
    assert_eq!(t3["financed_face"], "0.00", "{e}");
    assert_eq!(e["by_tier"].as_array().unwrap().len(), 3, "{e}");

    // Payables due, by ISO week of maturity.
    let path = format!("/v1/programs/{}/payables-due", w.program);
    let (s, d) = get(&app, &w.core, &path).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["items"].as_array().unwrap().len(), 13, "{d}");
    let (s, d) = get(&app, &w.core, &format!("{path}?weeks=20")).await;
    assert_eq!(s, 200, "{d}");
    let weeks = d["items"].as_array().unwrap();
    assert_eq!(weeks.len(), 20);
    assert_eq!(weeks[0]["week_start"], monday(&day(0)).to_string(), "{d}");
    let week_of = |date: &str| {
        weeks
            .iter()
            .find(|wk| wk["week_start"] == monday(date).to_string())
            .unwrap_or_else(|| panic!("no week for {date}: {d}"))
    };
    let near = week_of(&day(20));
    assert_eq!(near["amount"], "200000.00", "{d}");
    assert_eq!(near["certificates"], 1, "{d}");
    assert_eq!(near["financed_amount"], "0.00", "{d}");
    let far = week_of(&day(90));
    assert_eq!(far["amount"], "1000000.00", "{d}");
    assert_eq!(far["certificates"], 3, "{d}");
    assert_eq!(far["financed_amount"], "900000.00", "{d}");
    let iso = {
        use chrono::Datelike;
        let i = monday(&day(90)).iso_week();
        format!("{}-W{:02}", i.year(), i.week())
    };
    assert_eq!(far["iso_week"], iso.as_str(), "{d}");
    let empty = weeks.iter().filter(|wk| wk["certificates"] == 0).count();
    assert_eq!(empty, 18, "{d}");
    assert_eq!(d["total"]["amount"], "1200000.00", "{d}");
    assert_eq!(d["total"]["count"], 4, "{d}");
    assert_eq!(d["past_due"]["count"], 0, "{d}");
    for bad in ["0", "105", "x"] {
        let (s, b) = get(&app, &w.core, &format!("{path}?weeks={bad}")).await;
        assert_eq!(s, 400, "weeks={bad}: {b}");
    }
    let r = app
        .client
        .get(app.url(&format!("{path}?weeks=20")))
        .bearer_auth(&w.core.token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 21, "{csv}");
    assert_eq!(
        lines[0],
        "iso_week,week_start,week_end,amount,certificates,financed_amount"
    );
    assert!(
        lines.contains(
            &format!(
                "{iso},{},{},1000000.00,3,900000.00",
                monday(&day(90)),
                monday(&day(90)) + chrono::Days::new(6)
            )
            .as_str()
        ),
        "{csv}"
    );

    // Reach: every tier the payable reached, what each holds and financed.
    let path = format!("/v1/programs/{}/reach", w.program);
    let (s, r) = get(&app, &w.core, &path).await;
    assert_eq!(s, 200, "{r}");
    let items = r["items"].as_array().unwrap();
    let tiers: Vec<i64> = items.iter().map(|i| i["tier"].as_i64().unwrap()).collect();
    assert_eq!(tiers, [1, 2, 3], "funders aside: {r}");
    assert_eq!(items[0]["org_id"], w.t1.org.as_str());
    assert_eq!(items[0]["held_amount"], "200000.00", "{r}");
    assert_eq!(items[0]["held_certificates"], 1, "{r}");
    assert_eq!(items[0]["financed_face"], "600000.00", "{r}");
    assert_eq!(items[0]["financed_advance"], "540000.00", "{r}");
    assert_eq!(items[1]["held_amount"], "0.00", "all financed: {r}");
    assert_eq!(items[1]["financed_face"], "300000.00", "{r}");
    assert_eq!(items[2]["org_id"], w.t3.org.as_str());
    assert_eq!(items[2]["held_amount"], "100000.00", "{r}");
    assert_eq!(items[2]["financings"], 0, "{r}");
    assert!(items[0]["size_class"].is_string(), "{r}");
    let (_, only) = get(&app, &w.core, &format!("{path}?tier=3")).await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1, "{only}");
    assert_eq!(only["items"][0]["org_id"], w.t3.org.as_str(), "{only}");
    let size = items[0]["size_class"].as_str().unwrap();
    let same = items.iter().filter(|i| i["size_class"] == size).count();
    let (_, sized) = get(&app, &w.core, &format!("{path}?size_class={size}")).await;
    assert_eq!(sized["items"].as_array().unwrap().len(), same, "{sized}");
    for bad in ["size_class=giant", "tier=0", "tier=10", "tier=x"] {
        let (s, b) = get(&app, &w.core, &format!("{path}?{bad}")).await;
        assert_eq!(s, 400, "{bad}: {b}");
    }
    let r = app
        .client
        .get(app.url(&path))
        .bearer_auth(&w.core.token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[0].starts_with("org_id,name,tier,size_class,held_amount"),
        "{csv}"
    );
    let t3_name = name_of(&app, &w.op, &w.t3.org).await;
    assert!(
        lines[3].starts_with(&format!("{},{},3,", w.t3.org, t3_name.as_str().unwrap())),
        "{csv}"
    );

    // Only the program's core firm and the operator see these views.
    let other_core = app.approved(&w.op, "core_enterprise", "Other Core").await;
    for view in ["exposure", "payables-due", "reach"] {
        let path = format!("/v1/programs/{}/{view}", w.program);
        for who in [&other_core, &w.t1, &w.funder] {
            let (s, b) = get(&app, who, &path).await;
            assert_eq!(s, 404, "{view}: {b}");
        }
        let (s, b) = get(&app, &w.op, &path).await;
        assert_eq!(s, 200, "{view}: {b}");
    }

    // The supplier's quote for a certificate it holds; not for others'.
    let (s, q) = get(&app, &w.t1, &format!("/v1/certificates/{other}/quote")).await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["face_amount"], "200000.00", "{q}");
    assert_eq!(q["maturity_date"], day(20), "{q}");
    assert_eq!(q["quote"]["quote"]["advance_amount"], "180000.00", "{q}");
    assert_eq!(
        q["funders"][0]["funder_org_id"],
        w.funder.org.as_str(),
        "{q}"
    );
    assert!(q["size_class"].is_string(), "{q}");
    let (s, b) = get(
        &app,
        &w.t1,
        &format!("/v1/certificates/{other}/quote?financing_date=2020-01-02"),
    )
    .await;
    assert_eq!(s, 422, "in the past: {b}");
    let (s, _) = get(&app, &w.t2, &format!("/v1/certificates/{other}/quote")).await;
    assert_eq!(s, 404);
    let (s, _) = get(&app, &w.t1, &format!("/v1/certificates/{keep}/quote")).await;
    assert_eq!(s, 404, "financed: the funder holds it");
    let (s, _) = get(&app, &w.funder, &format!("/v1/certificates/{keep}/quote")).await;
    assert_eq!(s, 409, "financed: not active");

    // The approver's one read: tier 1 applies for its other certificate.
    let (s, b, fin) = apply(&app, &w, &w.t1, &other).await;
    assert_eq!(s, 201, "{b}");
    recommend(&app, &f, &fin).await;
    let (s, queue) = get(&app, &f.approver, "/v1/financings?status=recommended").await;
    assert_eq!(s, 200, "{queue}");
    let row = &queue["items"][0];
    assert_eq!(queue["items"].as_array().unwrap().len(), 1, "{queue}");
    assert_eq!(
        row["applicant_name"],
        name_of(&app, &w.op, &w.t1.org).await,
        "{queue}"
    );
    assert_eq!(row["applicant_tier"], 1, "{queue}");
    assert!(row["applicant_size_class"].is_string(), "{queue}");
    let core_name = name_of(&app, &w.op, &w.core.org).await;
    assert_eq!(row["issuer_name"], core_name, "{queue}");
    let (_, d) = get(&app, &f.approver, &format!("/v1/financings/{fin}")).await;
    let dc = &d["decision"];
    assert_eq!(dc["certificate"]["issuer_name"], core_name, "{d}");
    assert_eq!(dc["certificate"]["maturity_date"], day(20), "{d}");
    assert_eq!(dc["certificate"]["days_to_maturity"], 20, "{d}");
    assert_eq!(dc["limits"]["advance"], "180000.00", "{d}");
    assert_eq!(dc["limits"]["program"]["used"], "810000.00", "{d}");
    assert_eq!(dc["limits"]["funder_line"]["used"], "810000.00", "{d}");
    assert_eq!(
        dc["limits"]["funder_line"]["available"], "59190000.00",
        "{d}"
    );
    assert_eq!(dc["limits"]["counterparty"]["used"], "540000.00", "{d}");
    assert_eq!(
        dc["limits"]["counterparty"]["available"], "4460000.00",
        "{d}"
    );
    assert_eq!(dc["limits"]["fits"], true, "{d}");
    // The applicant does not see the program's limit usage.
    let (_, mine) = get(&app, &w.t1, &format!("/v1/financings/{fin}")).await;
    assert!(mine["decision"].is_null(), "{mine}");
    assert_eq!(mine["applicant_tier"], 1, "{mine}");
}

#[actix_web::test]
async fn an_early_refund_goes_back_to_each_party_in_the_discount_shares() {
    let app = spawn_app().await;
    let w = world(&app, |p| {
        p["pricing"]["discount_bearer"] = json!({"kind": "split", "supplier_share": "0.40"});
    })
    .await;
    publish_lpr(&app, &w.op).await;
    let f = funder_staff(&app, &w).await;
    let cert = active(&app, &w, &w.t1, "1000000.00", &day(90)).await;
    let acct = verified_account(&app, &w.op, &w.t1).await;
    let fin = disbursed(&app, &f, &w.funder.org, &w.t1, &acct, &cert).await;
    move_clock_to(&app, &w.op, &day(30)).await;
    // By hand: charged 10,125.00, the supplier 40% = 4,050.00, the core
    // firm 6,075.00. Earned 3,375.00: supplier 1,350.00, core 2,025.00.
    // Refunds: supplier 2,700.00 (it repays 900,000 − 2,700 = 897,300.00),
    // core firm 4,050.00 (paid back to it by the funder).
    let (s, b) = settle_early(&app, &w.t1, &fin, &cert, true).await;
    assert_eq!(s, 200, "{b}");
    let st = &b["settlement"];
    assert_eq!(st["interest_charged"]["supplier"], "4050.00", "{b}");
    assert_eq!(st["interest_earned"]["supplier"], "1350.00", "{b}");
    assert_eq!(st["refund"]["supplier"], "2700.00", "{b}");
    assert_eq!(st["refund"]["core_firm"], "4050.00", "{b}");
    assert_eq!(b["repaid"], "897300.00", "{b}");
    let (_, d) = get(&app, &w.core, &format!("/v1/financings/{fin}")).await;
    let mut moves: Vec<(String, String, String)> = d["cash"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "early_settlement")
        .map(|c| {
            (
                c["payer_org_id"].as_str().unwrap().to_owned(),
                c["payee_org_id"].as_str().unwrap().to_owned(),
                c["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // One entry records both: their order within it is not the point.
    moves.sort_by_key(|m| m.2.len());
    assert_eq!(
        moves,
        [
            (
                w.funder.org.clone(),
                w.core.org.clone(),
                "4050.00".to_owned()
            ),
            (
                w.t1.org.clone(),
                w.funder.org.clone(),
                "897300.00".to_owned()
            ),
        ],
        "{d}"
    );

    // At maturity the issuer pays the supplier, who holds the part again:
    // nothing is financed, so nothing is released (the ledger agrees).
    move_clock_to(&app, &w.op, &day(90)).await;
    let (s, p) = get(&app, &w.core, &format!("/v1/certificates/{cert}/clearing")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["payouts"][0]["holder_org_id"], w.t1.org.as_str(), "{p}");
    assert_eq!(p["release_assets"].as_array().unwrap().len(), 0, "{p}");
    let (s, b) = act_assets(
        &app,
        &w.checker,
        &format!("/v1/certificates/{cert}/clearing"),
        "certificate.clear",
        json!({"root_id": cert, "amount": "1000000.00", "payouts": p["payouts"]}),
        &[],
    )
    .await;
    assert_eq!(s, 200, "clear: {b}");
    assert_eq!(b["financings_settled"].as_array().unwrap().len(), 0, "{b}");
}
