//! 一企一策 programs: a versioned plan drafted by the core enterprise,
//! approved by its checker and by every funder it names, in force from a
//! date, with old versions readable and a diff between them.

use crate::support::{Party, TestApp, plan_doc, spawn_app};
use serde_json::{Value, json};

async fn get(app: &TestApp, who: &Party, path: &str) -> (u16, Value) {
    let r = app.get_auth(path, &who.token).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn approve_body(program: &str, version: i64, digest: &str) -> Value {
    json!({"program_id": program, "version": version, "digest": digest})
}

#[actix_web::test]
async fn a_plan_is_drafted_jointly_approved_and_versioned() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Core Steel").await;
    let funder = app.approved(&op, "funder", "First Bank").await;
    let core_checker = app.staff(&core, "checker").await;
    let bank_approver = app.staff(&funder, "checker").await;
    let (program, draft) = app.program(&core, plan_doc(&funder.org)).await;
    assert_eq!(
        (draft["version"].as_i64(), draft["status"].as_str()),
        (Some(1), Some("draft"))
    );
    let digest = draft["digest"].as_str().unwrap().to_owned();
    assert_eq!(draft["approvals_needed"], json!([core.org, funder.org]));

    // Not in force until both sides approve; the drafter cannot approve.
    assert_eq!(
        get(&app, &core, &format!("/v1/programs/{program}/plan"))
            .await
            .0,
        404
    );
    let approve = format!("/v1/programs/{program}/plans/1/approval");
    let (s, b) = app
        .act(
            &core,
            &approve,
            "program.plan_approve",
            approve_body(&program, 1, &digest),
        )
        .await;
    assert_eq!(s, 403, "maker approving own draft: {b}");
    let (s, b) = app
        .act(
            &core_checker,
            &approve,
            "program.plan_approve",
            approve_body(&program, 1, &"0".repeat(64)),
        )
        .await;
    assert_eq!(s, 409, "wrong digest: {b}");
    let (s, b) = app
        .act(
            &core_checker,
            &approve,
            "program.plan_approve",
            approve_body(&program, 1, &digest),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["waiting_for"].clone()),
        (Some("draft"), json!([funder.org]))
    );
    let (s, _) = app
        .act(
            &core_checker,
            &approve,
            "program.plan_approve",
            approve_body(&program, 1, &digest),
        )
        .await;
    assert_eq!(s, 409, "approved twice");
    let (s, b) = app
        .act(
            &bank_approver,
            &approve,
            "program.plan_approve",
            approve_body(&program, 1, &digest),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "approved");
    let (s, v1) = get(&app, &funder, &format!("/v1/programs/{program}/plan")).await;
    assert_eq!(s, 200, "{v1}");
    assert_eq!(
        (v1["version"].as_i64(), v1["digest"].as_str()),
        (Some(1), Some(digest.as_str()))
    );
    assert_eq!(v1["approvals"].as_array().unwrap().len(), 2);
    assert_eq!(v1["plan"]["pricing"]["spread_bp"], "150");

    // Version 2 changes the spread and adds a tier; v1 stays readable and in force until v2 is approved.
    let mut plan = plan_doc(&funder.org);
    plan["pricing"]["spread_bp"] = json!("120");
    plan["eligibility"]["max_tier"] = json!(3);
    let today = chrono::Utc::now().date_naive().to_string();
    let (s, d2) = app
        .act(
            &core,
            &format!("/v1/programs/{program}/plans"),
            "program.plan_draft",
            json!({"program_id": program, "plan": plan, "effective_from": today}),
        )
        .await;
    assert_eq!((s, d2["version"].as_i64()), (201, Some(2)), "{d2}");
    let (_, diff) = get(
        &app,
        &core,
        &format!("/v1/programs/{program}/plans/diff?from=1&to=2"),
    )
    .await;
    let paths: Vec<&str> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/eligibility/max_tier", "/pricing/spread_bp"]);
    assert_eq!(diff["changes"][1]["from"], "150");
    assert_eq!(
        get(&app, &core, &format!("/v1/programs/{program}/plan"))
            .await
            .1["version"],
        1
    );
    let (_, all) = get(&app, &core, &format!("/v1/programs/{program}/plans")).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);

    // Outsiders see nothing: another core firm, a supplier, an unnamed funder.
    let other = app.approved(&op, "core_enterprise", "Other Core").await;
    let other_bank = app.approved(&op, "funder", "Other Bank").await;
    let (supplier, _) = app.invite(&core, "upstream", 1, "Supplier").await;
    for who in [&other, &other_bank, &supplier] {
        assert_eq!(
            get(&app, who, &format!("/v1/programs/{program}/plans"))
                .await
                .0,
            404
        );
        assert_eq!(
            get(&app, who, &format!("/v1/programs/{program}/plans/1"))
                .await
                .0,
            404
        );
    }
    let (s, _) = app
        .act(
            &other_bank,
            &approve.replace("/1/", "/2/"),
            "program.plan_approve",
            approve_body(&program, 2, d2["digest"].as_str().unwrap()),
        )
        .await;
    assert_eq!(s, 404);
    // One program per core enterprise.
    let (s, _) = app
        .act(
            &core,
            "/v1/programs",
            "program.create",
            json!({"program_id": uuid::Uuid::new_v4(), "name": "Second"}),
        )
        .await;
    assert_eq!(s, 409);
}

/// A change that makes a valid plan invalid.
type Edit = Box<dyn Fn(&mut Value)>;

#[actix_web::test]
async fn plans_are_checked_against_the_rules() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Core").await;
    let funder = app.approved(&op, "funder", "Bank").await;
    let (program, _) = app.program(&core, plan_doc(&funder.org)).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let not_yet_kyc = app.onboard(&op, "funder", "Pending Bank").await;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "commitment fee for small firms",
            Box::new(
                |p| p["fees"] = json!([{"fee_type": "commitment_fee", "payer": "supplier", "payee": "funder", "basis": {"kind": "fixed", "amount": "100.00"}}]),
            ),
        ),
        (
            "fund-management fee even if the core pays",
            Box::new(
                |p| p["fees"] = json!([{"fee_type": "fund_management_fee", "payer": "core_firm", "payee": "funder", "basis": {"kind": "fixed", "amount": "100.00"}}]),
            ),
        ),
        (
            "a fee type off the whitelist",
            Box::new(
                |p| p["fees"] = json!([{"fee_type": "convenience_fee", "payer": "supplier", "payee": "funder", "basis": {"kind": "fixed", "amount": "1.00"}}]),
            ),
        ),
        (
            "9 months without a reason",
            Box::new(|p| p["tenor"]["max_months"] = json!(9)),
        ),
        (
            "13 months",
            Box::new(|p| {
                p["tenor"]["max_months"] = json!(13);
                p["tenor"]["long_tenor_reason"] = json!("x");
            }),
        ),
        (
            "penalty uplift 60%",
            Box::new(|p| p["penalty_uplift"] = json!("0.60")),
        ),
        (
            "advance above 100%",
            Box::new(|p| p["advance_rate"] = json!("1.10")),
        ),
        (
            "line above the program",
            Box::new(|p| p["funders"][0]["line_limit"] = json!("200000000.00")),
        ),
        (
            "money as a number",
            Box::new(|p| p["program_limit"] = json!(1000)),
        ),
        ("no products", Box::new(|p| p["products"] = json!([]))),
        (
            "an unknown member",
            Box::new(|p| p["cashback"] = json!(true)),
        ),
    ];
    for (what, edit) in cases {
        let mut plan = plan_doc(&funder.org);
        edit(&mut plan);
        let (s, b) = app
            .act(
                &core,
                &format!("/v1/programs/{program}/plans"),
                "program.plan_draft",
                json!({"program_id": program, "plan": plan, "effective_from": today}),
            )
            .await;
        assert_eq!(s, 422, "{what}: {b}");
    }
    let mut plan = plan_doc(&not_yet_kyc.org);
    plan["funders"][0]["line_limit"] = json!("1000.00");
    let (s, b) = app
        .act(
            &core,
            &format!("/v1/programs/{program}/plans"),
            "program.plan_draft",
            json!({"program_id": program, "plan": plan, "effective_from": today}),
        )
        .await;
    assert_eq!(s, 422, "a funder without KYC: {b}");
    // Nine months is fine with a reason; only one draft exists besides.
    let mut plan = plan_doc(&funder.org);
    plan["tenor"]["max_months"] = json!(9);
    plan["tenor"]["long_tenor_reason"] =
        json!("steel payment cycles run 8 months; funder reviewed");
    let (s, b) = app
        .act(
            &core,
            &format!("/v1/programs/{program}/plans"),
            "program.plan_draft",
            json!({"program_id": program, "plan": plan, "effective_from": "2020-01-01"}),
        )
        .await;
    assert_eq!(s, 422, "a plan does not act on the past: {b}");
    let (s, b) = app
        .act(
            &core,
            &format!("/v1/programs/{program}/plans"),
            "program.plan_draft",
            json!({"program_id": program, "plan": plan, "effective_from": today}),
        )
        .await;
    assert_eq!((s, b["version"].as_i64()), (201, Some(2)), "{b}");
    // Only a core enterprise's admin or maker drafts.
    let viewer = app.staff(&core, "viewer").await;
    let (s, _) = app
        .act(
            &viewer,
            &format!("/v1/programs/{program}/plans"),
            "program.plan_draft",
            json!({"program_id": program, "plan": plan_doc(&funder.org), "effective_from": today}),
        )
        .await;
    assert_eq!(s, 403);
}

#[actix_web::test]
async fn a_quote_prices_under_the_plan_and_lpr_in_force() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Core").await;
    let funder = app.approved(&op, "funder", "Bank").await;
    let checker = app.staff(&core, "checker").await;
    let bank = app.staff(&funder, "checker").await;
    let (supplier, _) = app.invite(&core, "upstream", 1, "Supplier").await;
    app.register(&supplier).await;
    app.approve(&op, &supplier.org).await;
    let (program, draft) = app.program(&core, plan_doc(&funder.org)).await;
    let digest = draft["digest"].as_str().unwrap();
    for who in [&checker, &bank] {
        let (s, b) = app
            .act(
                who,
                &format!("/v1/programs/{program}/plans/1/approval"),
                "program.plan_approve",
                approve_body(&program, 1, digest),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let today = chrono::Utc::now().date_naive();
    let maturity = today + chrono::Days::new(90);
    let path = |size: &str, maturity: chrono::NaiveDate| {
        format!(
            "/v1/programs/{program}/quote?face_amount=1000000.00&financing_date={today}&maturity_date={maturity}&size_class={size}"
        )
    };
    // The seeded LPR history ends in 2025: a quote today needs a current fixing.
    let (s, b) = get(&app, &supplier, &path("small", maturity)).await;
    assert_eq!(s, 409, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("LPR"), "{b}");
    let (s, b) = app.act(&op, "/v1/lpr", "lpr.publish",
        json!({"tenor": "1Y", "fixing_date": today.to_string(), "rate": "3.00", "source": "test fixing"})).await;
    assert_eq!(s, 201, "{b}");

    let (s, q) = get(&app, &supplier, &path("small", maturity)).await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(
        (
            q["plan_version"].as_i64(),
            q["lpr_fixing"]["fixing_date"].as_str()
        ),
        (Some(1), Some(today.to_string().as_str()))
    );
    let quote = &q["quote"];
    // 1,000,000.00 × 0.90 = 900,000.00 advanced; 900,000 × (3.00 % + 1.50 %) × 90 / 360 = 10,125.00
    // deducted (the supplier bears it); the 0.1 % platform fee (900.00) is the core firm's.
    assert_eq!(quote["advance_amount"], "900000.00");
    assert_eq!(quote["tenor_days"], 90);
    assert_eq!(quote["discount_interest"]["total"], "10125.00");
    assert_eq!(quote["net_proceeds"], "889875.00");
    assert_eq!(quote["fees"][0]["amount"], "900.00");
    assert!(
        quote["supplier_xirr"]["rate"]
            .as_str()
            .unwrap()
            .starts_with("0.04"),
        "{}",
        quote["supplier_xirr"]
    );

    // Outside the terms, or outside the program: refused.
    assert_eq!(get(&app, &supplier, &path("large", maturity)).await.0, 422);
    assert_eq!(
        get(
            &app,
            &supplier,
            &path("small", today + chrono::Days::new(200))
        )
        .await
        .0,
        422
    );
    assert_eq!(
        get(
            &app,
            &supplier,
            &path("small", today + chrono::Days::new(3))
        )
        .await
        .0,
        422
    );
    let stranger = app.approved(&op, "core_enterprise", "Stranger").await;
    assert_eq!(get(&app, &stranger, &path("small", maturity)).await.0, 404);
    let r = app.get_auth(&format!("/v1/programs/{program}/quote?face_amount=1.001&financing_date={today}&maturity_date={maturity}&size_class=small"), &supplier.token).await;
    assert_eq!(r.status(), 400);
}
