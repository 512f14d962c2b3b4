//! Trade data: purchase orders, deliveries and acceptance, invoices one at
//! a time and in bulk, each visible only to its parties.

use crate::support::{Party, TestApp, signed_with_assets, spawn_app};
use scf_backend::db::DbId;
use scf_ledger::asset::AssetKey;
use scf_ledger::intent::{AssetOp, AssetRef};
use serde_json::{Value, json};

/// A program with its core firm, an upstream supplier, a downstream
/// distributor, staff, and an outsider core firm with its own supplier.
pub struct World {
    pub op: Party,
    pub core: Party,
    pub core_checker: Party,
    pub core_viewer: Party,
    pub supplier: Party,
    pub supplier_uscc: String,
    pub distributor: Party,
    pub other_supplier: Party,
    pub outsider: Party,
    pub program: String,
}

pub async fn world(app: &TestApp) -> World {
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Core Steel").await;
    let program = uuid::Uuid::new_v4().to_string();
    let (s, b) = app
        .act(
            &core,
            "/v1/programs",
            "program.create",
            json!({"program_id": program, "name": "Supplier finance"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let core_checker = app.staff(&core, "checker").await;
    let core_viewer = app.staff(&core, "viewer").await;
    let (supplier, _) = app.invite(&core, "upstream", 1, "Bolt Supplier").await;
    let reg = app.register(&supplier).await;
    app.approve(&op, &supplier.org).await;
    let supplier_uscc = reg["organisation"]["uscc"].as_str().unwrap().to_owned();
    let (distributor, _) = app.invite(&core, "downstream", 1, "Shop Distributor").await;
    app.register(&distributor).await;
    app.approve(&op, &distributor.org).await;
    let (other_supplier, _) = app.invite(&core, "upstream", 1, "Nut Supplier").await;
    app.register(&other_supplier).await;
    app.approve(&op, &other_supplier.org).await;
    let outsider = app.approved(&op, "core_enterprise", "Other Core").await;
    World {
        op,
        core,
        core_checker,
        core_viewer,
        supplier,
        supplier_uscc,
        distributor,
        other_supplier,
        outsider,
        program,
    }
}

pub fn invoice_key(uscc: &str, number: &str) -> AssetKey {
    AssetKey::invoice(uscc, number).unwrap()
}

/// A signed invoice.record for `who`, encumbering the invoice's key.
pub fn record_env(who: &Party, uscc: &str, body: &Value) -> Value {
    let key = invoice_key(uscc, body["invoice_number"].as_str().unwrap());
    signed_with_assets(
        "invoice.record",
        &who.org,
        body.clone(),
        &who.key,
        vec![AssetRef {
            key,
            op: AssetOp::Encumber,
        }],
    )
}

pub fn invoice_body(w: &World, number: &str, amount: &str, due: &str) -> Value {
    json!({"invoice_id": uuid::Uuid::now_v7(), "program_id": w.program,
        "seller_org_id": w.supplier.org, "buyer_org_id": w.core.org,
        "invoice_number": number, "amount": amount,
        "issue_date": "2026-01-05", "due_date": due})
}

async fn get(app: &TestApp, who: &Party, path: &str) -> (u16, Value) {
    let r = app.get_auth(path, &who.token).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn count_invoices(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use scf_backend::db::schema::invoices;
    let pool = app.opened.db.clone();
    let mut c = pool.get().unwrap();
    invoices::table.count().get_result(&mut *c).unwrap()
}

#[actix_web::test]
async fn an_invoice_is_recorded_once_confirmed_by_its_buyer_and_seen_by_its_parties() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let body = invoice_body(&w, "fp-2026-0001", "125000.50", "2026-04-05");
    let id = body["invoice_id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .post_signed(
            "/v1/invoices",
            Some(&w.supplier.token),
            &record_env(&w.supplier, &w.supplier_uscc, &body),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["status"], "recorded");
    assert_eq!(b["amount"], "125000.50");
    let key = invoice_key(&w.supplier_uscc, "FP-2026-0001").to_hex();
    assert_eq!(b["asset_key"], key.as_str());

    // The same invoice again, however it is typed and whoever records it.
    let mut again = invoice_body(&w, "  FP-2026-0001 ", "1.00", "2026-04-05");
    let (s, b) = app
        .post_signed(
            "/v1/invoices",
            Some(&w.core.token),
            &record_env(&w.core, &w.supplier_uscc, &again),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["code"], "conflict");
    assert!(b["detail"].as_str().unwrap().contains(&key), "{b}");
    // Without the asset key in the intent's assets.
    again["invoice_number"] = json!("FP-2026-0002");
    let env = w.supplier.sign("invoice.record", again.clone());
    let (s, b) = app
        .post_signed("/v1/invoices", Some(&w.supplier.token), &env)
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(
        b["detail"].as_str().unwrap().contains("intent.assets"),
        "{b}"
    );
    // A firm that is not a party, and a trade the program does not hold.
    let (s, b) = app
        .post_signed(
            "/v1/invoices",
            Some(&w.other_supplier.token),
            &record_env(&w.other_supplier, &w.supplier_uscc, &again),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = app
        .post_signed(
            "/v1/invoices",
            Some(&w.outsider.token),
            &record_env(&w.outsider, &w.supplier_uscc, &again),
        )
        .await;
    assert_eq!(s, 404, "{b}");
    let mut sideways = again.clone();
    sideways["buyer_org_id"] = json!(w.distributor.org);
    let (s, b) = app
        .post_signed(
            "/v1/invoices",
            Some(&w.supplier.token),
            &record_env(&w.supplier, &w.supplier_uscc, &sideways),
        )
        .await;
    assert_eq!(
        s, 422,
        "supplier to distributor is no trade of the program: {b}"
    );

    // Visible to its parties and the operator; to others it does not exist.
    let path = format!("/v1/invoices/{id}");
    for p in [&w.supplier, &w.core, &w.core_viewer, &w.op] {
        let (s, b) = get(&app, p, &path).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["asset_key"], key.as_str());
    }
    for p in [&w.other_supplier, &w.outsider, &w.distributor] {
        assert_eq!(get(&app, p, &path).await.0, 404);
    }

    // Only the buyer decides, with a checker's or admin's role.
    let decision = format!("/v1/invoices/{id}/decision");
    let confirm = json!({"invoice_id": id, "decision": "confirm"});
    let (s, b) = app
        .act(&w.core_viewer, &decision, "invoice.decide", confirm.clone())
        .await;
    assert_eq!(s, 403, "viewer: {b}");
    let (s, b) = app
        .act(&w.supplier, &decision, "invoice.decide", confirm.clone())
        .await;
    assert_eq!(s, 403, "seller: {b}");
    let (s, b) = app
        .act(&w.outsider, &decision, "invoice.decide", confirm.clone())
        .await;
    assert_eq!(s, 404, "outsider: {b}");
    let (s, b) = app
        .act(
            &w.core_checker,
            &decision,
            "invoice.decide",
            json!({"invoice_id": id, "decision": "dispute"}),
        )
        .await;
    assert_eq!(s, 422, "a dispute without a reason: {b}");
    let (s, b) = app
        .act(
            &w.core_checker,
            &decision,
            "invoice.decide",
            confirm.clone(),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "confirmed");
    let (s, b) = app
        .act(&w.core_checker, &decision, "invoice.decide", confirm)
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("allowed"), "{b}");

    // The buyer's own record is confirmed from the start.
    let body2 = invoice_body(&w, "FP-2026-0003", "10", "2026-06-30");
    let (s, b) = app
        .post_signed(
            "/v1/invoices",
            Some(&w.core.token),
            &record_env(&w.core, &w.supplier_uscc, &body2),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["status"], "confirmed");

    // Lists: own invoices only, filters, cursor pages.
    let (s, b) = get(&app, &w.supplier, "/v1/invoices?limit=1").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["items"].as_array().unwrap().len(), 1);
    let cursor = b["next_cursor"].as_str().unwrap().to_owned();
    let (_, b2) = get(
        &app,
        &w.supplier,
        &format!("/v1/invoices?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(b2["items"].as_array().unwrap().len(), 1);
    assert_ne!(b["items"][0]["id"], b2["items"][0]["id"]);
    assert!(b2["next_cursor"].is_null(), "{b2}");
    let (s, _) = get(
        &app,
        &w.supplier,
        &format!("/v1/invoices?status=recorded&cursor={cursor}"),
    )
    .await;
    assert_eq!(s, 400, "a cursor of another filter");
    let (_, b) = get(
        &app,
        &w.core,
        "/v1/invoices?due_from=2026-05-01&due_to=2026-12-31",
    )
    .await;
    let items = b["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{b}");
    assert_eq!(items[0]["invoice_number"], "FP-2026-0003");
    let (_, b) = get(
        &app,
        &w.core,
        &format!(
            "/v1/invoices?counterparty={}&status=confirmed",
            w.supplier.org
        ),
    )
    .await;
    assert_eq!(b["items"].as_array().unwrap().len(), 2, "{b}");
    for p in [&w.other_supplier, &w.outsider] {
        let (_, b) = get(&app, p, "/v1/invoices").await;
        assert_eq!(b["items"], json!([]), "{b}");
    }
    let (s, _) = get(&app, &w.core, "/v1/invoices?status=lost").await;
    assert_eq!(s, 400);
}

#[actix_web::test]
async fn assigning_invoices_to_a_certificate_takes_confirmed_ones_of_the_trade() {
    use scf_backend::trade::invoices::assign_to_certificate;
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut ids = vec![];
    for (n, amount) in [("A-1", "100.10"), ("A-2", "200.20"), ("A-3", "5")] {
        let body = invoice_body(&w, n, amount, "2026-04-05");
        // A-3 is recorded by the seller and left unconfirmed.
        let who = if n == "A-3" { &w.supplier } else { &w.core };
        let (s, b) = app
            .post_signed(
                "/v1/invoices",
                Some(&who.token),
                &record_env(who, &w.supplier_uscc, &body),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        ids.push(uuid::Uuid::parse_str(body["invoice_id"].as_str().unwrap()).unwrap());
    }
    let ids2 = ids.clone();
    let (program, core, supplier, other) = (
        DbId(uuid::Uuid::parse_str(&w.program).unwrap()),
        DbId(uuid::Uuid::parse_str(&w.core.org).unwrap()),
        DbId(uuid::Uuid::parse_str(&w.supplier.org).unwrap()),
        DbId(uuid::Uuid::parse_str(&w.other_supplier.org).unwrap()),
    );
    let cert = DbId::new_v7();
    let results = app
        .opened
        .db
        .run(move |c| -> Result<_, scf_backend::db::DbError> {
            let mut out = vec![];
            // Each attempt in its own write transaction (taken up front, as
            // the writer does, so the writer's checkpoints cannot make it
            // fail on SQLite), rolled back on refusal like its savepoint.
            let attempt = |c: &mut scf_backend::db::DbConn, seller, ids: &[uuid::Uuid]| {
                scf_backend::db::write_tx(c, |c| {
                    assign_to_certificate(c, program, core, seller, ids, cert)
                        .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))
                })
                .map(|m| m.to_string())
                .map_err(|e| e.to_string())
            };
            out.push(attempt(c, supplier, &ids2));
            out.push(attempt(c, other, &ids2[..2]));
            out.push(attempt(c, supplier, &[ids2[0], ids2[0]]));
            out.push(attempt(c, supplier, &ids2[..2]));
            out.push(attempt(c, supplier, &ids2[..1]));
            Ok(out)
        })
        .await
        .unwrap();
    assert!(
        results[0].as_ref().unwrap_err().contains("recorded"),
        "{results:?}"
    );
    assert!(
        results[1].as_ref().unwrap_err().contains("not owed"),
        "{results:?}"
    );
    assert!(
        results[2].as_ref().unwrap_err().contains("twice"),
        "{results:?}"
    );
    assert_eq!(results[3].as_deref(), Ok("300.30"), "{results:?}");
    assert!(
        results[4].as_ref().unwrap_err().contains("assigned"),
        "{results:?}"
    );
    let (s, b) = get(&app, &w.core, &format!("/v1/invoices/{}", ids[0])).await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "assigned");
    assert_eq!(b["certificate_id"], cert.0.to_string());
    let (_, b) = get(&app, &w.core, &format!("/v1/invoices/{}", ids[2])).await;
    assert_eq!(b["status"], "recorded", "a refused attempt changed nothing");
}

/// The rows of a batch, and the commitments an honest client computes.
pub fn batch_rows(uscc: &str, prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"invoice_number": format!("{prefix}-{i:06}"), "seller_uscc": uscc,
                "amount": format!("{}.{:02}", 1000 + i, i % 100),
                "issue_date": "2026-01-05", "due_date": "2026-04-05"})
        })
        .collect()
}

pub fn batch_body(program: &str, rows: &[Value]) -> Value {
    use scf_ledger::hash::{leaf_hash, to_hex};
    use scf_ledger::merkle::root_from_leaves;
    let leaves: Vec<_> = rows
        .iter()
        .map(|r| leaf_hash(&scf_ledger::jcs::to_vec(r)))
        .collect();
    // Rows too broken to have a key are refused before the commitments
    // are compared.
    let mut keys: Vec<[u8; 32]> = rows
        .iter()
        .filter_map(|r| {
            AssetKey::invoice(r["seller_uscc"].as_str()?, r["invoice_number"].as_str()?)
                .ok()
                .map(|k| k.0)
        })
        .collect();
    keys.sort_unstable();
    let key_leaves: Vec<_> = keys.iter().map(|k| leaf_hash(k)).collect();
    let total: rust_decimal::Decimal = rows
        .iter()
        .filter_map(|r| r["amount"].as_str()?.parse::<rust_decimal::Decimal>().ok())
        .sum();
    json!({"batch_id": uuid::Uuid::now_v7(), "program_id": program, "count": rows.len(),
        "total": total.to_string(), "rows_root": to_hex(&root_from_leaves(&leaves)),
        "asset_keys_root": to_hex(&root_from_leaves(&key_leaves))})
}

pub fn upload(who: &Party, body: Value, rows: Vec<Value>) -> Value {
    let mut env = who.sign("invoice.batch", body);
    env["rows"] = Value::Array(rows);
    env
}

#[actix_web::test]
async fn a_bulk_upload_records_every_row_or_none() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let path = "/v1/invoices/batches";

    // 10,000 rows in one request.
    let rows = batch_rows(&w.supplier_uscc, "BULK", 10_000);
    let body = batch_body(&w.program, &rows);
    let batch = body["batch_id"].as_str().unwrap().to_owned();
    let env = upload(&w.core, body.clone(), rows.clone());
    let (s, b) = app.post_signed(path, Some(&w.core.token), &env).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["count"], 10_000);
    assert_eq!(b["total"], body["total"]);
    assert_eq!(count_invoices(&app), 10_000);
    let (_, page) = get(
        &app,
        &w.supplier,
        &format!("/v1/invoices?batch_id={batch}&limit=200"),
    )
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 200);
    assert_eq!(items[0]["status"], "confirmed");
    assert_eq!(items[0]["batch_id"], batch.as_str());
    assert!(page["next_cursor"].is_string());

    // Bad rows: every one named, nothing written.
    let mut rows = batch_rows(&w.supplier_uscc, "BAD", 6);
    rows[1]["amount"] = json!("-5");
    rows[2]["due_date"] = json!("2025-01-01");
    rows[3]["seller_uscc"] = json!("91350100M000100Y44");
    rows[4] = json!({"invoice_number": "X"});
    let env = upload(&w.core, batch_body(&w.program, &rows), rows);
    let (s, b) = app.post_signed(path, Some(&w.core.token), &env).await;
    assert_eq!(s, 422, "{b}");
    let bad: Vec<u64> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(bad, vec![1, 2, 3, 4], "{b}");
    assert!(b["errors"][0]["field"].is_string() && b["errors"][0]["message"].is_string());

    // A seller that is not an active supplier of the uploader: found under
    // the writer, still every row named and nothing written.
    let mut rows = batch_rows(&w.supplier_uscc, "WHO", 3);
    let stranger = crate::support::fresh_uscc();
    rows[0]["seller_uscc"] = json!(stranger);
    rows[2]["seller_uscc"] = json!(stranger);
    let env = upload(&w.core, batch_body(&w.program, &rows), rows);
    let (s, b) = app.post_signed(path, Some(&w.core.token), &env).await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"].as_array().unwrap().len(), 2, "{b}");
    assert_eq!(b["errors"][1]["row"], 2);

    // The same key twice in a batch, and keys recorded by an earlier batch.
    let mut rows = batch_rows(&w.supplier_uscc, "DUP", 3);
    rows[2]["invoice_number"] = json!("dup-000000 ");
    let env = upload(&w.core, batch_body(&w.program, &rows), rows);
    let (s, b) = app.post_signed(path, Some(&w.core.token), &env).await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["errors"][0]["row"], 2, "{b}");
    let mut rows = batch_rows(&w.supplier_uscc, "NEW", 3);
    rows[1]["invoice_number"] = json!("BULK-000007");
    let env = upload(&w.core, batch_body(&w.program, &rows), rows);
    let (s, b) = app.post_signed(path, Some(&w.core.token), &env).await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["errors"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["errors"][0]["row"], 1);
    let key = invoice_key(&w.supplier_uscc, "BULK-000007").to_hex();
    assert!(
        b["errors"][0]["message"].as_str().unwrap().contains(&key),
        "{b}"
    );
    // A single invoice whose key a batch recorded.
    let single = invoice_body(&w, "BULK-000008", "1", "2026-04-05");
    let (s, b) = app
        .post_signed(
            "/v1/invoices",
            Some(&w.supplier.token),
            &record_env(&w.supplier, &w.supplier_uscc, &single),
        )
        .await;
    assert_eq!(s, 409, "{b}");

    // Commitments that do not match the rows sent.
    let rows = batch_rows(&w.supplier_uscc, "MIS", 3);
    let mut body = batch_body(&w.program, &rows);
    let mut other = rows.clone();
    other[0]["amount"] = json!("1.00");
    body["rows_root"] = batch_body(&w.program, &other)["rows_root"].clone();
    let env = upload(&w.core, body, rows.clone());
    let (s, b) = app.post_signed(path, Some(&w.core.token), &env).await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"][0]["field"], "intent.body.rows_root", "{b}");
    let mut body = batch_body(&w.program, &rows);
    body["count"] = json!(4);
    body["total"] = json!("1.00");
    let env = upload(&w.core, body, rows.clone());
    let (s, b) = app.post_signed(path, Some(&w.core.token), &env).await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"].as_array().unwrap().len(), 2, "{b}");

    // Wrong role, wrong kind, wrong program.
    let body = batch_body(&w.program, &rows);
    let (s, b) = app
        .post_signed(
            path,
            Some(&w.core_viewer.token),
            &upload(&w.core_viewer, body.clone(), rows.clone()),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = app
        .post_signed(
            path,
            Some(&w.supplier.token),
            &upload(&w.supplier, body.clone(), rows.clone()),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = app
        .post_signed(
            path,
            Some(&w.outsider.token),
            &upload(&w.outsider, body.clone(), rows.clone()),
        )
        .await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(
        count_invoices(&app),
        10_000,
        "no refused upload wrote a row"
    );

    // The same request again is answered from storage.
    let env = upload(&w.core, body, rows);
    let key = uuid::Uuid::new_v4().to_string();
    let mut answers = vec![];
    for _ in 0..2 {
        let r = app
            .client
            .post(app.url(path))
            .bearer_auth(&w.core.token)
            .header("Idempotency-Key", &key)
            .json(&env)
            .send()
            .await
            .unwrap();
        answers.push((r.status().as_u16(), r.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, 201, "{answers:?}");
    assert_eq!(answers[0], answers[1]);
    assert_eq!(count_invoices(&app), 10_003);
}

#[actix_web::test]
async fn the_bulk_route_alone_takes_large_bodies() {
    let app = crate::support::spawn_app_with(&[
        ("SCF_MAX_BODY_BYTES", "4096"),
        ("SCF_MAX_BULK_BYTES", "200000"),
    ])
    .await;
    let w = world(&app).await;
    let rows = batch_rows(&w.supplier_uscc, "MID", 200);
    let env = upload(&w.core, batch_body(&w.program, &rows), rows);
    assert!(env.to_string().len() > 4096);
    let (s, b) = app
        .post_signed("/v1/invoices/batches", Some(&w.core.token), &env)
        .await;
    assert_eq!(s, 201, "{b}");
    let rows = batch_rows(&w.supplier_uscc, "BIG", 2_000);
    let env = upload(&w.core, batch_body(&w.program, &rows), rows);
    let (s, b) = app
        .post_signed("/v1/invoices/batches", Some(&w.core.token), &env)
        .await;
    assert_eq!(s, 413, "{b}");
    // Any other route keeps the small limit.
    let mut padded = invoice_body(&w, "PAD-1", "1", "2026-04-05");
    padded["padding"] = json!("x".repeat(5000));
    let (s, _) = app
        .post_signed(
            "/v1/invoices",
            Some(&w.supplier.token),
            &record_env(&w.supplier, &w.supplier_uscc, &padded),
        )
        .await;
    assert_eq!(s, 413);
}

#[actix_web::test]
async fn a_purchase_order_is_delivered_by_its_carrier_and_accepted_by_its_buyer() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let carrier = app.approved(&w.op, "logistics", "Fast Freight").await;
    let other_carrier = app.approved(&w.op, "logistics", "Slow Freight").await;
    let po = uuid::Uuid::new_v4().to_string();
    let body = json!({"po_id": po, "program_id": w.program, "seller_org_id": w.supplier.org,
        "carrier_org_id": carrier.org, "po_number": "PO-77", "amount": "50000", "order_date": "2026-01-02"});
    let (s, b) = app
        .act(
            &w.core_viewer,
            "/v1/purchase-orders",
            "po.create",
            body.clone(),
        )
        .await;
    assert_eq!(s, 403, "viewer: {b}");
    let (s, b) = app
        .act(&w.core, "/v1/purchase-orders", "po.create", body.clone())
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["amount"], "50000.00");
    let (s, b) = app
        .act(&w.core, "/v1/purchase-orders", "po.create", body.clone())
        .await;
    assert_eq!(s, 409, "{b}");

    let path = format!("/v1/purchase-orders/{po}");
    for p in [&w.core, &w.supplier, &carrier, &w.op] {
        assert_eq!(get(&app, p, &path).await.0, 200);
    }
    for p in [
        &w.other_supplier,
        &w.outsider,
        &other_carrier,
        &w.distributor,
    ] {
        assert_eq!(get(&app, p, &path).await.0, 404);
    }

    let deliver = format!("/v1/purchase-orders/{po}/deliveries");
    let delivery = uuid::Uuid::new_v4().to_string();
    let dbody = json!({"delivery_id": delivery, "po_id": po, "delivered_on": "2026-01-10", "reference": "WB-1"});
    let (s, b) = app
        .act(&other_carrier, &deliver, "delivery.record", dbody.clone())
        .await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = app
        .act(&w.core, &deliver, "delivery.record", dbody.clone())
        .await;
    assert_eq!(s, 403, "the buyer does not deliver: {b}");
    let (s, b) = app
        .act(&carrier, &deliver, "delivery.record", dbody.clone())
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["po_status"], "delivered");

    let accept = format!("/v1/deliveries/{delivery}/acceptance");
    let abody = json!({"delivery_id": delivery, "decision": "accept"});
    let (s, b) = app
        .act(&w.supplier, &accept, "delivery.accept", abody.clone())
        .await;
    assert_eq!(s, 403, "the seller does not accept: {b}");
    let (s, b) = app
        .act(&w.outsider, &accept, "delivery.accept", abody.clone())
        .await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = app
        .act(&w.core_checker, &accept, "delivery.accept", abody.clone())
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["po_status"], "accepted");
    let (s, b) = app
        .act(&w.core_checker, &accept, "delivery.accept", abody)
        .await;
    assert_eq!(s, 409, "{b}");

    let (_, b) = get(&app, &carrier, &path).await;
    assert_eq!(b["status"], "accepted");
    assert_eq!(b["deliveries"][0]["status"], "accepted");
    let (_, b) = get(&app, &w.supplier, "/v1/purchase-orders?status=accepted").await;
    assert_eq!(b["items"].as_array().unwrap().len(), 1, "{b}");
    let (_, b) = get(&app, &other_carrier, "/v1/purchase-orders").await;
    assert_eq!(b["items"], json!([]));

    // An invoice billing the order; one naming another trade's order is refused.
    let mut inv = invoice_body(&w, "PO-INV-1", "50000", "2026-04-05");
    inv["po_id"] = json!(po);
    let (s, b) = app
        .post_signed(
            "/v1/invoices",
            Some(&w.supplier.token),
            &record_env(&w.supplier, &w.supplier_uscc, &inv),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}

#[actix_web::test]
async fn the_export_shows_each_single_invoice_key_and_each_batch_commitment() {
    use scf_backend::ledger::keyfile;
    use scf_ledger::batch::BatchRows;
    use scf_ledger::verify::{Options, TrustRoot, verify_bytes};
    let app = spawn_app().await;
    let w = world(&app).await;
    let body = invoice_body(&w, "EXP-1", "10", "2026-04-05");
    let env = record_env(&w.supplier, &w.supplier_uscc, &body);
    let (s, b) = app
        .post_signed("/v1/invoices", Some(&w.supplier.token), &env)
        .await;
    assert_eq!(s, 201, "{b}");
    let key = invoice_key(&w.supplier_uscc, "EXP-1").to_hex();
    let mut rows = batch_rows(&w.supplier_uscc, "EXPB", 3);
    // Spellings the invoices table normalises away (number case and
    // padding, "0.5" for 0.50, an explicit null, member order):
    // the rows file must give them back as committed.
    rows.push(
        json!({"po_id": null, "due_date": "2026-04-05", "issue_date": "2026-01-05",
        "amount": "0.5", "seller_uscc": w.supplier_uscc, "invoice_number": " expb-ax "}),
    );
    let commitment = batch_body(&w.program, &rows);
    let batch_id = commitment["batch_id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .post_signed(
            "/v1/invoices/batches",
            Some(&w.core.token),
            &upload(&w.core, commitment.clone(), rows),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let seq = b["receipt"]["seq"].as_u64().unwrap();

    // The export stops at the newest checkpoint; one is signed every second.
    let mut export = Vec::new();
    for _ in 0..50 {
        let r = app.get_auth("/v1/ledger/export", &w.op.token).await;
        export = r.bytes().await.unwrap().to_vec();
        if String::from_utf8_lossy(&export).contains(&format!("\"seq\":{seq},")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let platform = keyfile::load_or_create_platform_key(app.data_dir.path()).unwrap();
    let opts = Options {
        trust_root: Some(TrustRoot {
            origin: app.settings.origin.clone(),
            platform_key: platform.public_key(),
        }),
        ..Options::default()
    };
    let report = verify_bytes(&export, &opts).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert_eq!((report.batches_checked, report.batches_unchecked), (0, 1));
    let intents: Vec<Value> = String::from_utf8(export.clone())
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| serde_json::from_str(e["intent"].as_str()?).ok())
        .collect();
    let single = intents
        .iter()
        .find(|i| i["type"] == "invoice.record")
        .unwrap();
    assert_eq!(single["assets"], json!([{"key": key, "op": "encumber"}]));
    let batch = intents
        .iter()
        .find(|i| i["type"] == "invoice.batch")
        .unwrap();
    assert_eq!(batch["assets"], json!([]));
    for m in ["rows_root", "asset_keys_root", "count", "total"] {
        assert_eq!(batch["body"][m], commitment[m], "{m}");
    }

    // The rows file: the uploader and the operator read it, the supplier
    // (whose invoices are only some of the rows) does not.
    let path = format!("/v1/invoices/batches/{batch_id}/rows");
    let mut file = Vec::new();
    for who in [&w.core, &w.core_viewer, &w.op] {
        let r = app.get_auth(&path, &who.token).await;
        let status = r.status().as_u16();
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        file = r.bytes().await.unwrap().to_vec();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&file));
        assert_eq!(ct, "application/x-ndjson");
    }
    let text = String::from_utf8(file.clone()).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(text.contains(r#""invoice_number":" expb-ax ","#), "{text}");
    assert!(text.contains(r#""po_id":null,"#), "{text}");
    let (s, b) = get(&app, &w.supplier, &path).await;
    assert_eq!(s, 404, "{b}");
    let (s, _) = get(
        &app,
        &w.core,
        &format!("/v1/invoices/batches/{}/rows", uuid::Uuid::now_v7()),
    )
    .await;
    assert_eq!(s, 404);

    // scf-verify --batch-rows: the file matches the entry, its keys join
    // the single invoice's; the same file tampered does not.
    let dir = tempfile::tempdir().unwrap();
    let rows_path = dir.path().join(format!("{batch_id}.jsonl"));
    std::fs::write(&rows_path, &file).unwrap();
    let with_rows = Options {
        batch_rows: Some(BatchRows::open(dir.path(), true).unwrap()),
        ..opts.clone()
    };
    let report = verify_bytes(&export, &with_rows).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert_eq!((report.batches_checked, report.batches_unchecked), (1, 0));
    std::fs::write(&rows_path, text.replace("\"0.5\"", "\"5.0\"")).unwrap();
    let report = verify_bytes(&export, &with_rows).unwrap();
    let f = report.failure.unwrap();
    assert_eq!((f.seq, f.code), (seq, "batch_rows_root_mismatch"));
}

/// The seller voids (红冲) an invoice the buyer has not confirmed; the
/// number stays taken, and a confirmed invoice is not the seller's to void.
#[actix_web::test]
async fn the_seller_voids_an_unconfirmed_invoice_and_its_number_stays_taken() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let record = async |number: &str| {
        let body = invoice_body(&w, number, "1000.00", "2026-04-05");
        let env = record_env(&w.supplier, &w.supplier_uscc, &body);
        let (s, b) = app
            .post_signed("/v1/invoices", Some(&w.supplier.token), &env)
            .await;
        assert_eq!(s, 201, "{b}");
        body["invoice_id"].as_str().unwrap().to_owned()
    };
    let cancel = async |who: &Party, id: &str, reason: &str| {
        app.act(
            who,
            &format!("/v1/invoices/{id}/cancellation"),
            "invoice.cancel",
            json!({"invoice_id": id, "reason": reason}),
        )
        .await
    };
    let wrong = record("FP-VOID-1").await;
    for (who, reason, status, why) in [
        (
            &w.core,
            "not ours",
            403,
            "the buyer disputes, it does not void",
        ),
        (&w.other_supplier, "x", 404, "not a party"),
        (&w.supplier, "  ", 422, "a reason is required"),
    ] {
        let (s, b) = cancel(who, &wrong, reason).await;
        assert_eq!(s, status, "{why}: {b}");
    }
    let (s, b) = cancel(&w.supplier, &wrong, "issued in error, 红冲").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "cancelled", "{b}");
    let (_, b) = get(&app, &w.core, &format!("/v1/invoices/{wrong}")).await;
    assert_eq!(b["status"], "cancelled", "{b}");
    // Final: neither confirmed nor voided again, and the number is spent.
    let (s, b) = app
        .act(
            &w.core_checker,
            &format!("/v1/invoices/{wrong}/decision"),
            "invoice.decide",
            json!({"invoice_id": wrong, "decision": "confirm"}),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(cancel(&w.supplier, &wrong, "again").await.0, 409);
    let body = invoice_body(&w, "FP-VOID-1", "1000.00", "2026-04-05");
    let env = record_env(&w.supplier, &w.supplier_uscc, &body);
    let (s, b) = app
        .post_signed("/v1/invoices", Some(&w.supplier.token), &env)
        .await;
    assert_eq!(s, 409, "a voided number is not recorded again: {b}");
    // Once the buyer confirms it is owed, the seller cannot void it.
    let owed = record("FP-VOID-2").await;
    let (s, b) = app
        .act(
            &w.core_checker,
            &format!("/v1/invoices/{owed}/decision"),
            "invoice.decide",
            json!({"invoice_id": owed, "decision": "confirm"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = cancel(&w.supplier, &owed, "changed our mind").await;
    assert_eq!(s, 409, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("confirmed"), "{b}");
}
