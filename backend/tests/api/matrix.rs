//! The cross-tenant authorisation matrix, generated from the served OpenAPI
//! document so a new route cannot escape it: every operation × every role
//! of tenant A (and no token at all) × tenant B's objects. The answer is
//! 401, 403 or 404 wherever a foreign object is named, and no answer ever
//! holds B's data.

use crate::support::{Party, TestApp, fresh_key, spawn_app};
use serde_json::{Value, json};

/// What tenant B has, as A would have to name it.
struct Foreign {
    core: Party,
    supplier_org: String,
    relationship: String,
    pending_user: String,
    token_id: String,
    program: String,
    plan_digest: String,
    /// B's supplier's USCC, and a purchase order, delivery and invoice of theirs.
    supplier_uscc: String,
    po: String,
    delivery: String,
    invoice: String,
    /// A bulk upload of B's core firm (its rows file is B's alone).
    batch: String,
    /// An issued certificate of B's program, held by B's supplier.
    certificate: String,
    account: String,
    /// A financing B's supplier applied for against another certificate.
    financing: String,
    /// Strings that must never appear in an answer to A.
    markers: Vec<String>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn tenant_b(app: &TestApp, op: &Party) -> Foreign {
    let core = app
        .approved(op, "core_enterprise", "Bravo Core Secretco")
        .await;
    let (supplier, relationship) = app
        .invite(&core, "upstream", 1, "Bravo Supplier Hiddenco")
        .await;
    let reg = app.register(&supplier).await;
    let pending_user = uuid::Uuid::new_v4().to_string();
    let body = json!({"user_id": pending_user, "name": "Bravo Pending", "role": "viewer",
        "public_key": fresh_key().public_key().to_hex()});
    assert_eq!(app.act(&core, "/v1/users", "user.add", body).await.0, 201);
    let env = core.sign("auth.token", json!({"user": core.user, "label": "bravo"}));
    let (s, b) = app.post_signed("/v1/tokens", None, &env).await;
    assert_eq!(s, 201, "{b}");
    let bank = app.approved(op, "funder", "Bravo Bank Quietco").await;
    let (program, draft) = app
        .program(&core, crate::support::plan_doc(&bank.org))
        .await;
    let plan_digest = draft["digest"].as_str().unwrap().to_owned();
    // An approved plan and supplier, and a certificate issued under them.
    app.approve(op, &supplier.org).await;
    for approver in [
        app.staff(&core, "checker").await,
        app.staff(&bank, "checker").await,
    ] {
        let body = json!({"program_id": program, "version": 1, "digest": plan_digest});
        let path = format!("/v1/programs/{program}/plans/1/approval");
        let (s, answer) = app
            .act(&approver, &path, "program.plan_approve", body)
            .await;
        assert_eq!(s, 200, "{answer}");
    }
    let certificate = uuid::Uuid::now_v7().to_string();
    let cert = json!({"certificate_id": certificate, "face_value": "1000.00",
        "maturity_date": crate::certificates::day(30)});
    let mut proposal = cert.clone();
    proposal["program_id"] = json!(program);
    proposal["holder_org_id"] = json!(supplier.org);
    let (s, answer) = app
        .act(&core, "/v1/certificates", "certificate.propose", proposal)
        .await;
    assert_eq!(s, 201, "{answer}");
    let checker = app.staff(&core, "checker").await;
    let path = format!("/v1/certificates/{certificate}/confirmation");
    let (s, answer) = app.act(&checker, &path, "certificate.confirm", cert).await;
    assert_eq!(s, 200, "{answer}");
    let account = uuid::Uuid::new_v4().to_string();
    let body = json!({"account_id": account, "bank_name": "Bravo Bank", "branch": "Main",
        "account_number": "77770000123456", "account_name": "Registered name", "currency": "CNY"});
    let (s, added) = app.act(&core, "/v1/accounts", "account.add", body).await;
    assert_eq!(s, 201, "{added}");
    let supplier_uscc = reg["organisation"]["uscc"].as_str().unwrap().to_owned();
    let (po, delivery, invoice) = (new_id(), new_id(), new_id());
    let body = json!({"po_id": po, "program_id": program, "seller_org_id": supplier.org,
        "po_number": "PO-SECRET", "amount": "100.00", "order_date": "2026-01-02"});
    let (s, b2) = app
        .act(&core, "/v1/purchase-orders", "po.create", body)
        .await;
    assert_eq!(s, 201, "{b2}");
    let body = json!({"delivery_id": delivery, "po_id": po, "delivered_on": "2026-01-10",
        "reference": "WB-SECRET"});
    let path = format!("/v1/purchase-orders/{po}/deliveries");
    let (s, b2) = app.act(&supplier, &path, "delivery.record", body).await;
    assert_eq!(s, 201, "{b2}");
    let body = json!({"invoice_id": invoice, "program_id": program,
        "seller_org_id": supplier.org, "buyer_org_id": core.org,
        "invoice_number": "INV-SECRET", "amount": "10.00",
        "issue_date": "2026-01-05", "due_date": "2026-04-05"});
    let env = crate::trade::record_env(&supplier, &supplier_uscc, &body);
    let (s, b2) = app
        .post_signed("/v1/invoices", Some(&supplier.token), &env)
        .await;
    assert_eq!(s, 201, "{b2}");
    let rows = crate::trade::batch_rows(&supplier_uscc, "BATCH-SECRET", 2);
    let body = crate::trade::batch_body(&program, &rows);
    let batch = body["batch_id"].as_str().unwrap().to_owned();
    let env = crate::trade::upload(&core, body, rows);
    let (s, up) = app
        .post_signed("/v1/invoices/batches", Some(&core.token), &env)
        .await;
    assert_eq!(s, 201, "{up}");
    // B's supplier holds a second certificate and applies to finance it.
    let cw = crate::certificates::World {
        op: op.clone(),
        core: core.clone(),
        checker: checker.clone(),
        funder: bank.clone(),
        t1: supplier.clone(),
        t2: supplier.clone(),
        t3: supplier.clone(),
        program: program.clone(),
    };
    crate::financing::publish_lpr(app, op).await;
    let financed = crate::certificates::active(
        app,
        &cw,
        &supplier,
        "2000.00",
        &crate::certificates::day(30),
    )
    .await;
    let (s, answer, financing) = crate::financing::apply(app, &cw, &supplier, &financed).await;
    assert_eq!(s, 201, "{answer}");
    let markers = vec![
        po.clone(),
        delivery.clone(),
        invoice.clone(),
        batch.clone(),
        "SECRET".into(),
        b2["asset_key"].as_str().unwrap().to_owned(),
        financing.clone(),
        financed.clone(),
        certificate.clone(),
        account.clone(),
        "77770000123456".into(),
        program.clone(),
        plan_digest.clone(),
        bank.org.clone(),
        "Quietco".into(),
        core.org.clone(),
        core.user.clone(),
        supplier.org.clone(),
        supplier.user.clone(),
        relationship.clone(),
        pending_user.clone(),
        "Secretco".into(),
        "Hiddenco".into(),
        reg["organisation"]["uscc"].as_str().unwrap().to_owned(),
        b["token_id"].as_str().unwrap().to_owned(),
        core.key.public_key().key_id().to_hex(),
    ];
    Foreign {
        supplier_org: supplier.org,
        relationship,
        pending_user,
        token_id: b["token_id"].as_str().unwrap().to_owned(),
        program,
        plan_digest,
        supplier_uscc,
        po,
        delivery,
        invoice,
        batch,
        certificate,
        account,
        financing,
        core,
        markers,
    }
}

/// The body A sends to each mutation: a validly signed intent that names
/// B's objects (or acts for B). An operation missing here fails the test.
fn attack(op_id: &str, a: &Party, b: &Foreign) -> Value {
    let new = || uuid::Uuid::new_v4().to_string();
    let pk = || fresh_key().public_key().to_hex();
    let signed_for =
        |kind: &str, org: &str, body: Value| crate::support::signed(kind, org, body, &a.key);
    match op_id {
        // A intent of B's organisation, signed by A's key.
        "register_key" => signed_for("key.add", &b.core.org, json!({"user": b.core.user, "public_key": a.key.public_key().to_hex()})),
        "revoke_key" => a.sign("key.revoke", json!({"key_id": b.core.key.public_key().key_id().to_hex(), "reason": "x"})),
        "add_user" => signed_for("user.add", &b.core.org, json!({"user_id": new(), "name": "n", "role": "admin", "public_key": pk()})),
        "enrol" => signed_for("key.add", &b.core.org, json!({"user": b.pending_user, "public_key": a.key.public_key().to_hex()})),
        "issue_token" => signed_for("auth.token", &b.core.org, json!({"user": b.core.user, "label": "stolen"})),
        "revoke_token" => a.sign("auth.token_revoke", json!({"token_id": b.token_id})),
        "onboard_organisation" => a.sign("org.onboard", json!({"org_id": new(), "kind": "funder", "name": "n",
            "admin": {"user_id": new(), "name": "n", "public_key": pk()}})),
        "register_organisation" => a.sign("org.register", json!({"uscc": "91350100M000100Y43", "name": "n",
            "industry": "industry", "headcount": 1, "revenue": "1", "total_assets": "1", "figures_year": 2025})),
        "decide_kyc" => a.sign("org.kyc", json!({"org_id": b.supplier_org, "decision": "approve"})),
        "invite_counterparty" => signed_for("relationship.invite", &b.core.org, json!({"relationship_id": new(),
            "direction": "upstream", "tier": 1, "counterparty": {"org_id": new(), "kind": "supplier", "name": "n",
            "admin": {"user_id": new(), "name": "n", "public_key": pk()}}})),
        "publish_lpr_fixing" => a.sign("lpr.publish", json!({"tenor": "1Y", "fixing_date": "2025-06-20", "rate": "9.99", "source": "forged"})),
        "create_program" => signed_for("program.create", &b.core.org, json!({"program_id": new(), "name": "n"})),
        "draft_plan" => a.sign("program.plan_draft", json!({"program_id": b.program, "plan": crate::support::plan_doc(&b.core.org),
            "effective_from": chrono::Utc::now().date_naive().to_string()})),
        "approve_plan" => a.sign("program.plan_approve", json!({"program_id": b.program, "version": 1, "digest": b.plan_digest})),
        "create_purchase_order" => signed_for("po.create", &b.core.org, json!({"po_id": new(), "program_id": b.program,
            "seller_org_id": b.supplier_org, "po_number": "PO-X", "amount": "1.00", "order_date": "2026-01-02"})),
        "record_delivery" => a.sign("delivery.record", json!({"delivery_id": new(), "po_id": b.po,
            "delivered_on": "2026-01-10", "reference": "WB-X"})),
        "decide_delivery" => a.sign("delivery.accept", json!({"delivery_id": b.delivery, "decision": "accept"})),
        "record_invoice" => crate::trade::record_env(a, &b.supplier_uscc, &json!({"invoice_id": new(),
            "program_id": b.program, "seller_org_id": b.supplier_org, "buyer_org_id": a.org,
            "invoice_number": "INV-X", "amount": "1.00", "issue_date": "2026-01-05", "due_date": "2026-04-05"})),
        // A well-formed upload into B's program: refused for the program, not the rows.
        "upload_invoices" => {
            let rows = crate::trade::batch_rows(&b.supplier_uscc, "MATRIX", 2);
            crate::trade::upload(a, crate::trade::batch_body(&b.program, &rows), rows)
        }
        "relink_counterparty" => a.sign("relationship.relink", json!({"relationship_id": b.relationship, "parent_org_id": b.supplier_org})),
        "decide_invoice" => a.sign("invoice.decide", json!({"invoice_id": b.invoice, "decision": "confirm"})),
        "cancel_invoice" => a.sign("invoice.cancel", json!({"invoice_id": b.invoice, "reason": "x"})),
        "cancel_certificate" => a.sign("certificate.cancel", json!({"certificate_id": b.certificate, "reason": "x"})),
        "propose_certificate" => a.sign("certificate.propose", json!({"certificate_id": new(), "program_id": b.program,
            "holder_org_id": b.supplier_org, "face_value": "1000.00", "maturity_date": crate::certificates::day(30)})),
        "confirm_certificate" => a.sign("certificate.confirm", json!({"certificate_id": b.certificate, "face_value": "1000.00",
            "maturity_date": crate::certificates::day(30)})),
        "accept_certificate" => a.sign("certificate.accept", json!({"certificate_id": b.certificate, "decision": "accept"})),
        "split_certificate" => a.sign("certificate.split", crate::certificates::split_body(&b.certificate, "1000.00",
            &[(&new(), "500.00"), (&new(), "500.00")])),
        "transfer_certificate" => a.sign("certificate.transfer", json!({"certificate_id": b.certificate, "to_org_id": a.org,
            "notice_to": b.core.org})),
        "add_account" => signed_for("account.add", &b.core.org, json!({"account_id": new(), "bank_name": "b",
            "branch": "b", "account_number": "12345678", "account_name": "Registered name", "currency": "CNY"})),
        "verify_account" => a.sign("account.verify", json!({"account_id": b.account, "outcome": "verified"})),
        "revoke_account" => a.sign("account.revoke", json!({"account_id": b.account, "reason": "x"})),
        "apply_financing" => a.sign("financing.apply", json!({"financing_id": new(), "certificate_id": b.certificate,
            "funder_org_id": a.org, "financing_date": crate::certificates::day(0)})),
        "recommend_financing" => a.sign("financing.recommend", json!({"financing_id": b.financing, "verdict": "approve", "note": "x"})),
        "decide_financing" => a.sign("financing.decide", json!({"financing_id": b.financing, "decision": "approve", "note": "x"})),
        "withdraw_financing" => a.sign("financing.withdraw", json!({"financing_id": b.financing})),
        "disburse_financing" => a.sign("financing.disburse", json!({"financing_id": b.financing, "account_id": b.account})),
        "register_financing" => a.sign("financing.register", json!({"financing_id": b.financing, "registration_no": "x",
            "evidence_hash": "ab".repeat(32)})),
        "classify_financing" => a.sign("financing.classify", json!({"financing_id": b.financing})),
        "recourse_financing" => a.sign("financing.recourse", json!({"financing_id": b.financing, "note": "x"})),
        "settle_financing_early" => a.sign("financing.settle_early", json!({"financing_id": b.financing})),
        "repurchase_financing" => a.sign("financing.repurchase", json!({"financing_id": b.financing, "amount": "1000.00"})),
        "clear_certificate" => a.sign("certificate.clear", json!({"root_id": b.certificate, "amount": "1000.00",
            "payouts": [{"certificate_id": b.certificate, "holder_org_id": b.supplier_org, "amount": "1000.00"}]})),
        // Stateless: it echoes the caller's own intent.
        "check_intent" => a.sign("org.register", json!({})),
        other => panic!("the matrix has no attack for operation {other}; add one to matrix.rs"),
    }
}

/// Operations that name no foreign object may answer 2xx, about the
/// caller or the platform, but still never with B's data.
const SELF_SCOPED: &[&str] = &["check_intent"];

#[actix_web::test]
async fn no_role_of_one_tenant_reaches_another() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let b = tenant_b(&app, &op).await;
    let a_admin = app.approved(&op, "core_enterprise", "Alpha Core").await;
    let mut callers: Vec<(String, Option<Party>)> = vec![
        ("anonymous".into(), None),
        ("admin".into(), Some(a_admin.clone())),
    ];
    for role in ["maker", "checker", "viewer", "auditor"] {
        callers.push((role.into(), Some(app.staff(&a_admin, role).await)));
    }
    let (a_supplier, _) = app.invite(&a_admin, "upstream", 1, "Alpha Supplier").await;
    callers.push(("supplier admin".into(), Some(a_supplier)));

    let doc = serde_json::to_value(scf_backend::routes::openapi()).unwrap();
    let mut cases = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op_doc) in item.as_object().unwrap() {
            let op_id = op_doc["operationId"].as_str().unwrap();
            let path = fill_path(template, op_doc, &b);
            let names_foreign = path.split('?').next() != Some(template.as_str());
            for (who, caller) in &callers {
                let token = caller.as_ref().map(|p| p.token.as_str());
                let (status, text) = match method.as_str() {
                    "get" => {
                        let mut req = app.client.get(app.url(&path));
                        if let Some(t) = token {
                            req = req.bearer_auth(t);
                        }
                        let r = req.send().await.unwrap();
                        (r.status().as_u16(), r.text().await.unwrap())
                    }
                    "post" => {
                        let signer = caller.clone().unwrap_or_else(|| a_admin.clone());
                        let (s, v) = app
                            .post_signed(&path, token, &attack(op_id, &signer, &b))
                            .await;
                        (s, v.to_string())
                    }
                    other => panic!("no matrix rule for method {other} ({op_id})"),
                };
                cases += 1;
                for m in &b.markers {
                    assert!(
                        !text.contains(m.as_str()),
                        "{who} {method} {path} ({op_id}) leaked {m}: {text}"
                    );
                }
                let must_refuse =
                    names_foreign || (method == "post" && !SELF_SCOPED.contains(&op_id));
                if must_refuse {
                    assert!(
                        matches!(status, 401 | 403 | 404),
                        "{who} {method} {path} ({op_id}): expected 401/403/404, got {status}: {text}"
                    );
                }
                assert!(status < 500, "{who} {method} {path}: {status} {text}");
            }
        }
    }
    // Every operation, every caller: at least the routes of this issue.
    assert!(cases >= 25 * callers.len(), "{cases} cases");
}

/// Fills each path parameter with B's object of that kind; a parameter the
/// matrix does not know fails the test (so it is extended, not skipped).
fn fill_path(template: &str, op_doc: &Value, b: &Foreign) -> String {
    let mut path = template.to_owned();
    for p in op_doc["parameters"].as_array().into_iter().flatten() {
        if p["in"] != "path" {
            continue;
        }
        let name = p["name"].as_str().unwrap();
        let value = match (template, name) {
            (t, "id") if t.starts_with("/v1/organisations/") => b.supplier_org.as_str(),
            (t, "id") if t.starts_with("/v1/relationships/") => b.relationship.as_str(),
            (t, "id") if t.starts_with("/v1/programs/") => b.program.as_str(),
            (t, "version") if t.starts_with("/v1/programs/") => "1",
            (t, "id") if t.starts_with("/v1/invoices/batches/") => b.batch.as_str(),
            (t, "id") if t.starts_with("/v1/invoices/") => b.invoice.as_str(),
            (t, "id") if t.starts_with("/v1/purchase-orders/") => b.po.as_str(),
            (t, "id") if t.starts_with("/v1/deliveries/") => b.delivery.as_str(),
            (t, "id") if t.starts_with("/v1/certificates/") => b.certificate.as_str(),
            (t, "id") if t.starts_with("/v1/accounts/") => b.account.as_str(),
            (t, "id") if t.starts_with("/v1/financings/") => b.financing.as_str(),
            _ => panic!(
                "no foreign value for path parameter {name} of {template}; add one to matrix.rs"
            ),
        };
        path = path.replace(&format!("{{{name}}}"), value);
    }
    // Required query parameters get a plausible value, so a refusal is
    // about the foreign object and not a missing parameter.
    let mut query = Vec::new();
    for p in op_doc["parameters"].as_array().into_iter().flatten() {
        if p["in"] != "query" || p["required"] != true {
            continue;
        }
        let name = p["name"].as_str().unwrap();
        let value = match name {
            "from" | "to" => "1",
            "face_amount" => "1000.00",
            "financing_date" => "2026-01-05",
            "maturity_date" => "2026-03-05",
            "size_class" => "small",
            "tenor" => "1Y",
            _ if path == template => continue,
            _ => panic!(
                "no value for required query parameter {name} of {template}; add one to matrix.rs"
            ),
        };
        query.push(format!("{name}={value}"));
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    path
}
