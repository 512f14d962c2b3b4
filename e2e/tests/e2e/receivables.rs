//! Receivables end to end against the real binary in test mode, as
//! docs/RECEIVABLES.md walks through it: the operator onboards a core
//! enterprise and a funder, the core firm brings a tier-1 and a tier-2
//! supplier, a program's plan is approved by both sides, a payables
//! certificate is confirmed by two people, accepted, split and part of it
//! transferred up the chain; both tiers finance their part, the funder
//! disburses and registers on 中登网; at maturity the core firm pays into
//! clearing and every holder is paid. A second certificate goes unpaid and
//! is classified 次级 100 days past due, and tier 1 repurchases it after
//! recourse. The exported ledger verifies.

use crate::client::{Client, Reply, new_id, new_key};
use crate::onboarding::{
    self, CORE, FUNDER, Firm, SUPPLIER_1, SUPPLIER_2, Seqs, approve, enrol_and_log_in, invite,
    register_ok, uscc,
};
use crate::server::{Server, entry_types};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use scf_ledger::asset::AssetKey;
use scf_ledger::intent::{AssetOp, AssetRef};
use scf_ledger::time::Timestamp;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The running server and the highest ledger seq any answer carried, so
/// the final export can wait for a checkpoint that covers all of them.
struct Platform {
    server: Server,
    seqs: Seqs,
}

impl Platform {
    /// The platform clock. After a test-mode move it is ahead of the wall
    /// clock, and an intent's `client_time` must be near it.
    async fn now(&self) -> Timestamp {
        let op = self.server.operator();
        let t = op.get("/v1/time").await.expect(200);
        Timestamp::parse(t["now"].as_str().unwrap()).unwrap()
    }

    /// `who`, talking to the server as it runs now (a restart gives it a
    /// fresh HTTP client, and may give it another port).
    fn rebase(&self, who: &Client) -> Client {
        who.rebased(self.server.http(), &self.server.base)
    }

    async fn today(&self) -> NaiveDate {
        self.now().await.as_datetime().date_naive()
    }

    /// `who` signs `kind` at the platform's time, with `assets` (certificate
    /// ids and what the intent does to their asset keys), and posts it.
    async fn send(
        &self,
        who: &Client,
        path: &str,
        kind: &str,
        body: Value,
        assets: &[(&str, AssetOp)],
    ) -> Reply {
        let refs = assets
            .iter()
            .map(|(cert, op)| AssetRef {
                key: certificate_key(cert),
                op: *op,
            })
            .collect();
        let at = self.now().await;
        who.mutate_full(path, kind, &who.org_id, body, refs, at)
            .await
    }

    /// [`Platform::send`] that must be answered `status`; notes the receipt.
    async fn ok(
        &mut self,
        who: &Client,
        path: &str,
        kind: &str,
        body: Value,
        assets: &[(&str, AssetOp)],
        status: u16,
    ) -> Value {
        // SCF_E2E_SHOW=1 prints each step as docs/RECEIVABLES.md shows it.
        let show = std::env::var_os("SCF_E2E_SHOW").is_some();
        if show {
            eprintln!("--> POST {path} {kind} {body}");
        }
        let reply = self.send(who, path, kind, body, assets).await;
        let answer = reply.expect(status);
        if show {
            eprintln!("<-- {status} {answer}");
        }
        self.seqs.note(answer)
    }

    /// The operator's admin moves the platform clock to 09:00 UTC of `day`.
    async fn move_clock_to(&mut self, day: NaiveDate) {
        let op = self.server.operator();
        let to = format!("{day}T09:00:00Z");
        let moved = self
            .ok(
                &op,
                "/v1/test/clock",
                "clock.advance",
                json!({ "to": to }),
                &[],
                200,
            )
            .await;
        assert_eq!(moved["to"], format!("{day}T09:00:00.000000Z"), "{moved}");
        assert_eq!(self.today().await, day);
    }

    /// The operator's admin publishes a 1Y LPR fixing dated today: a quote
    /// needs one at most 40 days old.
    async fn publish_lpr(&mut self, rate: &str) {
        let op = self.server.operator();
        let today = self.today().await;
        let b = self
            .ok(
                &op,
                "/v1/lpr",
                "lpr.publish",
                json!({"tenor": "1Y", "fixing_date": today.to_string(), "rate": rate,
                    "source": "全国银行间同业拆借中心 (test fixing)"}),
                &[],
                201,
            )
            .await;
        assert_eq!(b["fixing"]["fixing_date"], today.to_string(), "{b}");
    }
}

/// Each entry's intent type and its asset operations (key hex, op), in
/// ledger order.
fn entry_assets(export: &std::path::Path) -> Vec<(String, Vec<(String, AssetOp)>)> {
    use scf_ledger::export::{Kind, Record};
    let bytes = std::fs::read(export).unwrap();
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| Record::kind_of(l) == Some(Kind::Entry))
        .map(|l| {
            let entry = scf_ledger::entry::Entry::parse_line(l).unwrap();
            let intent = scf_ledger::intent::Intent::parse(entry.intent.as_bytes()).unwrap();
            let ops = intent
                .assets
                .iter()
                .map(|a| (a.key.to_hex(), a.op))
                .collect();
            (intent.kind, ops)
        })
        .collect()
}

/// The ledger asset key of a payables certificate (ledger SPEC §6).
fn certificate_key(id: &str) -> AssetKey {
    AssetKey::payables_certificate(id).unwrap()
}

fn money(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
        .parse()
        .unwrap()
}

fn plus(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_add_days(Days::new(days)).unwrap()
}

/// `admin` adds a colleague with `role`, who enrols their key and logs in.
async fn staff(p: &mut Platform, admin: &Client, role: &str, name: &str) -> Client {
    let mut user = admin.colleague(new_key(), &admin.org_id, &new_id());
    let b = p
        .ok(
            admin,
            "/v1/users",
            "user.add",
            json!({"user_id": user.user_id, "name": name, "role": role,
                "public_key": user.public_key_hex()}),
            &[],
            201,
        )
        .await;
    assert_eq!(b["user_id"], user.user_id.as_str(), "{b}");
    let b = user
        .mutate(
            "/v1/enrolments",
            "key.add",
            &user.org_id,
            json!({"user": user.user_id, "public_key": user.public_key_hex()}),
        )
        .await
        .expect(201);
    p.seqs.note(b);
    let login = user
        .mutate(
            "/v1/tokens",
            "auth.token",
            &user.org_id,
            json!({"user": user.user_id, "label": "e2e", "days": 1}),
        )
        .await
        .expect(201);
    user.token = Some(login["token"].as_str().unwrap().to_owned());
    p.seqs.note(login);
    let me = user.get("/v1/me").await.expect(200);
    assert_eq!(me["role"], role, "{me}");
    user
}

/// An organisation onboarded by the operator, registered and approved.
async fn firm_onboarded(p: &mut Platform, kind: &str, firm: &Firm) -> Client {
    let op = p.server.operator();
    let mut admin = onboarding::onboard(&p.server, &op, &mut p.seqs, kind, firm).await;
    enrol_and_log_in(&mut admin, &mut p.seqs, kind).await;
    register_ok(&admin, &mut p.seqs, &uscc(), firm, 2025).await;
    approve(&op, &mut p.seqs, &admin.org_id).await;
    admin
}

/// A supplier invited by the core firm at `tier`, registered and approved.
async fn supplier(
    p: &mut Platform,
    core: &Client,
    (tier, parent): (u8, Option<&str>),
    firm: &Firm,
) -> Client {
    let op = p.server.operator();
    let (mut admin, _) = invite(
        &p.server,
        core,
        &mut p.seqs,
        ("upstream", tier, "supplier", parent),
        firm,
    )
    .await;
    enrol_and_log_in(&mut admin, &mut p.seqs, "supplier").await;
    register_ok(&admin, &mut p.seqs, &uscc(), firm, 2025).await;
    approve(&op, &mut p.seqs, &admin.org_id).await;
    admin
}

/// The core enterprise uploads the invoices it owes tier 1 in one bulk
/// request (`POST /v1/invoices/batches`): a signed `invoice.batch` intent
/// committing to the rows by Merkle roots (of each row's canonical JSON,
/// and of the sorted invoice asset keys), the rows beside it. Returns the
/// batch id and the ids of the invoices, oldest first: the trade each
/// certificate names.
async fn upload_invoices(
    p: &mut Platform,
    core: &Client,
    program: &str,
    seller: &Client,
    amounts: &[&str],
) -> (String, Vec<String>) {
    use scf_ledger::hash::{leaf_hash, to_hex};
    use scf_ledger::merkle::root_from_leaves;
    let org = seller
        .get(&format!("/v1/organisations/{}", seller.org_id))
        .await
        .expect(200);
    let uscc = org["uscc"].as_str().unwrap().to_owned();
    let today = p.today().await;
    let rows: Vec<Value> = amounts
        .iter()
        .enumerate()
        .map(|(i, amount)| {
            json!({"invoice_number": format!("FP2026-{i:04}"), "seller_uscc": uscc, "amount": amount,
                "issue_date": today.to_string(), "due_date": plus(today, 90).to_string()})
        })
        .collect();
    let leaves: Vec<_> = rows
        .iter()
        .map(|r| leaf_hash(&scf_ledger::jcs::to_vec(r)))
        .collect();
    let mut keys: Vec<[u8; 32]> = rows
        .iter()
        .map(|r| {
            AssetKey::invoice(&uscc, r["invoice_number"].as_str().unwrap())
                .unwrap()
                .0
        })
        .collect();
    keys.sort_unstable();
    let key_leaves: Vec<_> = keys.iter().map(|k| leaf_hash(k)).collect();
    let total: Decimal = amounts.iter().map(|a| a.parse::<Decimal>().unwrap()).sum();
    let batch = new_id();
    let body = json!({"batch_id": batch, "program_id": program, "count": rows.len(),
        "total": total.to_string(), "rows_root": to_hex(&root_from_leaves(&leaves)),
        "asset_keys_root": to_hex(&root_from_leaves(&key_leaves))});
    let at = p.now().await;
    let mut env = core.sign_full("invoice.batch", &core.org_id, body, vec![], at);
    env["rows"] = Value::Array(rows);
    let answer = core
        .post(
            "/v1/invoices/batches",
            &new_id(),
            env.to_string().into_bytes(),
        )
        .await
        .expect(201);
    assert_eq!(answer["count"], amounts.len(), "{answer}");
    p.seqs.note(answer);
    let page = core
        .get(&format!("/v1/invoices?batch_id={batch}"))
        .await
        .expect(200);
    let ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(
                i["status"], "confirmed",
                "the buyer's own upload is confirmed: {i}"
            );
            i["id"]
                .as_str()
                .or(i["invoice_id"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), amounts.len(), "{page}");
    (batch, ids)
}

/// A verified settlement account of `firm` (in its registered name),
/// verified by the operator's admin.
async fn verified_account(p: &mut Platform, firm: &Client, name: &str, number: &str) -> String {
    let id = new_id();
    let b = p
        .ok(
            firm,
            "/v1/accounts",
            "account.add",
            json!({"account_id": id, "bank_name": "上海银行", "branch": "浦东分行",
                "account_number": number, "account_name": name, "currency": "CNY"}),
            &[],
            201,
        )
        .await;
    assert_eq!(b["account"]["status"], "pending", "{b}");
    let op = p.server.operator();
    let b = p
        .ok(
            &op,
            &format!("/v1/accounts/{id}/verification"),
            "account.verify",
            json!({"account_id": id, "outcome": "verified"}),
            &[],
            200,
        )
        .await;
    assert_eq!(b["account"]["status"], "verified", "{b}");
    id
}

/// The core firm's maker (proposes) and checker (confirms, clears).
struct Core {
    admin: Client,
    maker: Client,
    checker: Client,
}

/// The funder's analyst (recommends, registers) and approver (approves
/// the plan, decides, disburses, classifies).
struct Funder {
    admin: Client,
    analyst: Client,
    approver: Client,
}

/// Proposed by the core's maker, confirmed by its checker, accepted by
/// `holder`: an active certificate.
async fn certificate(
    p: &mut Platform,
    core: &Core,
    program: &str,
    holder: &Client,
    face: &str,
    maturity: NaiveDate,
    invoices: &[String],
) -> String {
    let id = new_id();
    let b = p
        .ok(
            &core.maker,
            "/v1/certificates",
            "certificate.propose",
            json!({"certificate_id": id, "program_id": program, "holder_org_id": holder.org_id,
                "face_value": face, "maturity_date": maturity.to_string(), "invoice_ids": invoices}),
            &[],
            201,
        )
        .await;
    assert_eq!(b["status"], "proposed", "{b}");
    // The maker cannot also confirm: 确权 takes two people.
    let confirm = json!({"certificate_id": id, "face_value": face,
        "maturity_date": maturity.to_string()});
    let path = format!("/v1/certificates/{id}/confirmation");
    let refused = p
        .send(
            &core.maker,
            &path,
            "certificate.confirm",
            confirm.clone(),
            &[],
        )
        .await;
    assert_eq!(
        refused.status,
        403,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    let b = p
        .ok(
            &core.checker,
            &path,
            "certificate.confirm",
            confirm,
            &[],
            200,
        )
        .await;
    assert_eq!(b["status"], "issued", "{b}");
    let b = p
        .ok(
            holder,
            &format!("/v1/certificates/{id}/acceptance"),
            "certificate.accept",
            json!({"certificate_id": id, "decision": "accept"}),
            &[],
            200,
        )
        .await;
    assert_eq!(b["status"], "active", "{b}");
    id
}

/// `who` applies to `funder` on `cert` with its asset key encumbered;
/// returns the financing id and the answer (with the quote).
async fn apply(p: &mut Platform, who: &Client, funder: &Client, cert: &str) -> (String, Value) {
    let id = new_id();
    let today = p.today().await;
    let b = p
        .ok(
            who,
            "/v1/financings",
            "financing.apply",
            json!({"financing_id": id, "certificate_id": cert, "funder_org_id": funder.org_id,
                "financing_date": today.to_string()}),
            &[(cert, AssetOp::Encumber)],
            201,
        )
        .await;
    assert_eq!(b["status"], "applied", "{b}");
    (id, b)
}

/// The analyst recommends, the approver approves, then disburses the net
/// proceeds into `account`; returns the disbursement's answer.
async fn approve_and_disburse(p: &mut Platform, f: &Funder, id: &str, account: &str) -> Value {
    let b = p
        .ok(
            &f.analyst,
            &format!("/v1/financings/{id}/recommendation"),
            "financing.recommend",
            json!({"financing_id": id, "verdict": "approve",
                "note": "trade background and the core firm's confirmation checked"}),
            &[],
            200,
        )
        .await;
    assert_eq!(b["status"], "recommended", "{b}");
    let decision = json!({"financing_id": id, "decision": "approve", "note": "within appetite"});
    let path = format!("/v1/financings/{id}/decision");
    // Maker and checker: the analyst who recommended cannot decide.
    let refused = p
        .send(&f.analyst, &path, "financing.decide", decision.clone(), &[])
        .await;
    assert_eq!(
        refused.status,
        403,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    let b = p
        .ok(&f.approver, &path, "financing.decide", decision, &[], 200)
        .await;
    assert_eq!(b["status"], "approved", "{b}");
    let b = p
        .ok(
            &f.approver,
            &format!("/v1/financings/{id}/disbursement"),
            "financing.disburse",
            json!({"financing_id": id, "account_id": account}),
            &[],
            200,
        )
        .await;
    assert_eq!(b["status"], "disbursed", "{b}");
    assert_eq!(b["account_id"], account, "{b}");
    b
}

async fn financing(who: &Client, id: &str) -> Value {
    who.get(&format!("/v1/financings/{id}")).await.expect(200)
}

#[tokio::test]
async fn receivables() {
    let mut p = Platform {
        server: Server::start_test_mode().await,
        seqs: Seqs::default(),
    };
    // The operator onboards the core enterprise and the funder; the core
    // firm brings a tier-1 and a tier-2 supplier. Each has its staff.
    let core_admin = firm_onboarded(&mut p, "core_enterprise", &CORE).await;
    let funder_admin = firm_onboarded(&mut p, "funder", &FUNDER).await;
    let t1 = supplier(&mut p, &core_admin, (1, None), &SUPPLIER_1).await;
    let t2 = supplier(&mut p, &core_admin, (2, Some(&t1.org_id)), &SUPPLIER_2).await;
    let core = Core {
        maker: staff(&mut p, &core_admin, "maker", "Zhou Min (AP clerk)").await,
        checker: staff(&mut p, &core_admin, "checker", "Qian Hui (treasurer)").await,
        admin: core_admin,
    };
    let f = Funder {
        analyst: staff(&mut p, &funder_admin, "maker", "Xu Jun (analyst)").await,
        approver: staff(&mut p, &funder_admin, "checker", "He Yan (approver)").await,
        admin: funder_admin,
    };
    p.publish_lpr("3.00").await;

    // The core firm's program: its plan is approved by the core firm's
    // checker and the funder's approver, over the same digest.
    let program = new_id();
    let b = p
        .ok(
            &core.admin,
            "/v1/programs",
            "program.create",
            json!({"program_id": program, "name": "华北重型 供应商融资"}),
            &[],
            201,
        )
        .await;
    assert_eq!(b["program_id"], program.as_str(), "{b}");
    let start = p.today().await;
    let plan = json!({
        "products": ["receivables"],
        "program_limit": "100000000.00",
        "funders": [{"org_id": f.admin.org_id, "line_limit": "60000000.00"}],
        "counterparty_limit": "5000000.00",
        "eligibility": {"directions": ["upstream"], "max_tier": 2, "size_classes": ["micro", "small", "medium"]},
        "advance_rate": "0.90",
        "pricing": {"benchmark": "1Y", "spread_bp": "150", "discount_bearer": {"kind": "supplier"}},
        "fees": [{"fee_type": "platform_service_fee", "payer": "core_firm", "payee": "platform",
                  "basis": {"kind": "rate_of_advance", "rate": "0.001"}}],
        "tenor": {"min_days": 7, "max_months": 6},
        "transfer_cutoff_days": 3,
        "grace_days": 3,
        "penalty_uplift": "0.50",
        "recourse": true,
        "notice_acknowledgement_required": false,
        "early_settlement": true,
    });
    let draft = p
        .ok(
            &core.admin,
            &format!("/v1/programs/{program}/plans"),
            "program.plan_draft",
            json!({"program_id": program, "plan": plan, "effective_from": start.to_string()}),
            &[],
            201,
        )
        .await;
    let digest = draft["digest"].as_str().unwrap().to_owned();
    for who in [&core.checker, &f.approver] {
        p.ok(
            who,
            &format!("/v1/programs/{program}/plans/1/approval"),
            "program.plan_approve",
            json!({"program_id": program, "version": 1, "digest": digest}),
            &[],
            200,
        )
        .await;
    }
    let in_force = core
        .admin
        .get(&format!("/v1/programs/{program}/plan?on={start}"))
        .await
        .expect(200);
    assert_eq!(in_force["version"], 1, "{in_force}");

    let (batch, invoices) = upload_invoices(
        &mut p,
        &core.admin,
        &program,
        &t1,
        &["1000000.00", "200000.00"],
    )
    .await;

    // A certificate of 1,000,000.00 for tier 1, due in 90 days.
    let maturity = plus(start, 90);
    let root = certificate(
        &mut p,
        &core,
        &program,
        &t1,
        "1000000.00",
        maturity,
        &invoices[..1],
    )
    .await;

    // Tier 1 splits it: 500,000 to finance, 200,000 to keep to maturity,
    // 300,000 to pay its own tier-2 supplier. The children must add up.
    let (a, b_keep, c) = (new_id(), new_id(), new_id());
    let split_path = format!("/v1/certificates/{root}/split");
    let split = |third: &str| {
        json!({"certificate_id": root, "parent_amount": "1000000.00", "children": [
            {"certificate_id": a, "amount": "500000.00"},
            {"certificate_id": b_keep, "amount": "200000.00"},
            {"certificate_id": c, "amount": third},
        ]})
    };
    let refused = p
        .send(
            &t1,
            &split_path,
            "certificate.split",
            split("300000.01"),
            &[],
        )
        .await;
    assert_eq!(
        refused.status,
        422,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    let b = p
        .ok(
            &t1,
            &split_path,
            "certificate.split",
            split("300000.00"),
            &[],
            201,
        )
        .await;
    assert_eq!(b["children"].as_array().unwrap().len(), 3, "{b}");

    // The transfer to tier 2 is a notice of assignment to the issuer; the
    // new holder holds it at once, with nothing to accept.
    let b = p
        .ok(
            &t1,
            &format!("/v1/certificates/{c}/transfer"),
            "certificate.transfer",
            json!({"certificate_id": c, "to_org_id": t2.org_id, "notice_to": core.admin.org_id}),
            &[],
            200,
        )
        .await;
    assert_eq!(b["holder_org_id"], t2.org_id.as_str(), "{b}");
    let held = t2.get("/v1/certificates/held").await.expect(200);
    assert_eq!(held["available_balance"], "300000.00", "{held}");
    assert_eq!(held["items"][0]["id"], c.as_str(), "{held}");
    assert_eq!(held["items"][0]["status"], "active", "{held}");
    let accept_again = p
        .send(
            &t2,
            &format!("/v1/certificates/{c}/acceptance"),
            "certificate.accept",
            json!({"certificate_id": c, "decision": "accept"}),
            &[],
        )
        .await;
    assert_eq!(
        accept_again.status,
        409,
        "a transferred certificate is active already: {}",
        String::from_utf8_lossy(&accept_again.body)
    );
    let notices = core.admin.get("/v1/certificates/notices").await.expect(200);
    let notice = &notices["items"][0];
    assert_eq!(notice["certificate_id"], c.as_str(), "{notices}");
    assert_eq!(notice["assignee_org_id"], t2.org_id.as_str(), "{notices}");

    // Each supplier's verified settlement account (受托支付).
    let acct1 = verified_account(&mut p, &t1, SUPPLIER_1.name, "6222 0202 0011 2233").await;
    let acct2 = verified_account(&mut p, &t2, SUPPLIER_2.name, "6217-0011-2233-4455").await;

    // Both tiers finance their part. Without the asset key encumbered the
    // application is refused, and nothing is recorded.
    let bare = p
        .send(
            &t1,
            "/v1/financings",
            "financing.apply",
            json!({"financing_id": new_id(), "certificate_id": a, "funder_org_id": f.admin.org_id,
                "financing_date": start.to_string()}),
            &[],
        )
        .await;
    assert_eq!(bare.status, 422, "{}", String::from_utf8_lossy(&bare.body));
    let (fin1, applied1) = apply(&mut p, &t1, &f.admin, &a).await;
    let (fin2, applied2) = apply(&mut p, &t2, &f.admin, &c).await;
    for (applied, face) in [(&applied1, "500000.00"), (&applied2, "300000.00")] {
        let q = &applied["quote"]["quote"];
        assert_eq!(q["face_amount"], face, "{applied}");
        // 90 % advance rate.
        assert_eq!(
            money(&q["advance_amount"]),
            money(&q["face_amount"]) * Decimal::new(90, 2),
            "{applied}"
        );
        assert!(
            money(&q["net_proceeds"]) < money(&q["advance_amount"]),
            "{applied}"
        );
    }
    // A part under application is locked: it cannot be applied for again.
    let twice = p
        .send(
            &t1,
            "/v1/financings",
            "financing.apply",
            json!({"financing_id": new_id(), "certificate_id": a, "funder_org_id": f.admin.org_id,
                "financing_date": start.to_string()}),
            &[(a.as_str(), AssetOp::Encumber)],
        )
        .await;
    assert_eq!(
        twice.status,
        409,
        "{}",
        String::from_utf8_lossy(&twice.body)
    );

    for (id, acct, applied) in [(&fin1, &acct1, &applied1), (&fin2, &acct2, &applied2)] {
        let paid = approve_and_disburse(&mut p, &f, id, acct).await;
        assert_eq!(
            paid["paid"], applied["quote"]["quote"]["net_proceeds"],
            "{paid}"
        );
        // 中登网: the analyst records the registration on time.
        let b = p
            .ok(
                &f.analyst,
                &format!("/v1/financings/{id}/registration"),
                "financing.register",
                json!({"financing_id": id, "registration_no": format!("ZD{}", &id[id.len() - 12..]),
                    "evidence_hash": "5e".repeat(32)}),
                &[],
                200,
            )
            .await;
        assert_eq!(b["late"], false, "{b}");
    }
    let d = financing(&t1, &fin1).await;
    assert_eq!(d["status"], "disbursed", "{d}");
    assert_eq!(d["cash"][0]["kind"], "disbursement", "{d}");
    let steps: Vec<&str> = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "applied",
            "recommended",
            "approved",
            "disbursed",
            "registered"
        ]
    );
    // The financed parts now belong to the funder; the kept part to tier 1.
    let cert_a = f
        .admin
        .get(&format!("/v1/certificates/{a}"))
        .await
        .expect(200);
    assert_eq!(cert_a["holder_org_id"], f.admin.org_id.as_str(), "{cert_a}");
    let open = f
        .approver
        .get("/v1/registration-tasks?state=open")
        .await
        .expect(200);
    assert_eq!(open["items"], json!([]), "{open}");

    // Maturity: the core firm pays the face value into clearing and every
    // holder of a part is paid its share.
    p.move_clock_to(maturity).await;
    let preview = core
        .checker
        .get(&format!("/v1/certificates/{root}/clearing"))
        .await
        .expect(200);
    assert_eq!(preview["face_amount"], "1000000.00", "{preview}");
    // A client without the ledger crate derives the same key from the
    // certificate id (SPEC §6), as docs/RECEIVABLES.md does with sha256sum.
    let by_hand = scf_ledger::hash::to_hex(&scf_ledger::hash::sha256(
        format!(
            "scf-ledger/v1/asset\npayables_certificate\n{}",
            a.to_ascii_uppercase()
        )
        .as_bytes(),
    ));
    assert_eq!(by_hand, certificate_key(&a).to_hex());
    let mut expected_release = vec![certificate_key(&a).to_hex(), certificate_key(&c).to_hex()];
    expected_release.sort();
    assert_eq!(
        preview["release_assets"],
        json!(expected_release),
        "{preview}"
    );
    let clear = json!({"root_id": root, "amount": "1000000.00", "payouts": preview["payouts"]});
    let clear_path = format!("/v1/certificates/{root}/clearing");
    // Without releasing the financed parts' keys the ledger would keep
    // them encumbered forever: refused.
    let unreleased = p
        .send(
            &core.checker,
            &clear_path,
            "certificate.clear",
            clear.clone(),
            &[],
        )
        .await;
    assert_eq!(
        unreleased.status,
        422,
        "{}",
        String::from_utf8_lossy(&unreleased.body)
    );
    let cleared = p
        .ok(
            &core.checker,
            &clear_path,
            "certificate.clear",
            clear,
            &[
                (a.as_str(), AssetOp::Release),
                (c.as_str(), AssetOp::Release),
            ],
            200,
        )
        .await;
    let mut by_holder: BTreeMap<String, Decimal> = BTreeMap::new();
    for po in cleared["payouts"].as_array().unwrap() {
        *by_holder
            .entry(po["holder_org_id"].as_str().unwrap().to_owned())
            .or_default() += money(&po["amount"]);
    }
    let total: Decimal = by_holder.values().copied().sum();
    assert_eq!(total, Decimal::new(100_000_000, 2), "{cleared}");
    assert_eq!(
        by_holder,
        BTreeMap::from([
            (f.admin.org_id.clone(), Decimal::new(80_000_000, 2)),
            (t1.org_id.clone(), Decimal::new(20_000_000, 2)),
        ]),
        "{cleared}"
    );
    let mut settled: Vec<&str> = cleared["financings_settled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    settled.sort_unstable();
    let mut ours = [fin1.as_str(), fin2.as_str()];
    ours.sort_unstable();
    assert_eq!(settled, ours, "{cleared}");
    for id in [&fin1, &fin2] {
        assert_eq!(financing(&core.admin, id).await["status"], "settled");
    }
    // Paid off: nothing is left to clear, and tier 1 holds nothing live.
    let again = core.checker.get(&clear_path).await;
    assert_eq!(
        again.status,
        409,
        "{}",
        String::from_utf8_lossy(&again.body)
    );
    let held = t1.get("/v1/certificates/held").await.expect(200);
    assert_eq!(held["available_balance"], "0.00", "{held}");
    let settled_list = f
        .approver
        .get("/v1/financings?status=settled")
        .await
        .expect(200);
    assert_eq!(
        settled_list["items"].as_array().unwrap().len(),
        2,
        "{settled_list}"
    );

    // A restart (SIGTERM, then serve on the same data): all of the above is
    // durable, and in test mode the platform clock resumes at the moved
    // time, not at the wall clock 90 days behind it.
    p.server.stop();
    p.server.restart().await;
    assert_eq!(p.today().await, maturity);
    let core = Core {
        admin: p.rebase(&core.admin),
        maker: p.rebase(&core.maker),
        checker: p.rebase(&core.checker),
    };
    let f = Funder {
        admin: p.rebase(&f.admin),
        analyst: p.rebase(&f.analyst),
        approver: p.rebase(&f.approver),
    };
    let t1 = p.rebase(&t1);
    assert_eq!(financing(&t1, &fin1).await["status"], "settled");

    // A second certificate goes unpaid. The fixing published 90 days ago
    // is stale now: the application is refused until a current one is in.
    let day90 = p.today().await;
    let due = plus(day90, 30);
    let second = certificate(
        &mut p,
        &core,
        &program,
        &t1,
        "200000.00",
        due,
        &invoices[1..],
    )
    .await;
    let stale = p
        .send(
            &t1,
            "/v1/financings",
            "financing.apply",
            json!({"financing_id": new_id(), "certificate_id": second,
                "funder_org_id": f.admin.org_id, "financing_date": day90.to_string()}),
            &[(second.as_str(), AssetOp::Encumber)],
        )
        .await;
    assert_eq!(
        stale.status,
        409,
        "{}",
        String::from_utf8_lossy(&stale.body)
    );
    assert!(
        String::from_utf8_lossy(&stale.body).contains("LPR"),
        "{}",
        String::from_utf8_lossy(&stale.body)
    );
    p.publish_lpr("3.00").await;
    let (fin3, _) = apply(&mut p, &t1, &f.admin, &second).await;
    approve_and_disburse(&mut p, &f, &fin3, &acct1).await;

    // Maturity, 3 grace days, then 100 days past due: 次级.
    p.move_clock_to(plus(due, 3 + 100)).await;
    let b = p
        .ok(
            &f.approver,
            &format!("/v1/financings/{fin3}/classification"),
            "financing.classify",
            json!({"financing_id": fin3}),
            &[],
            200,
        )
        .await;
    assert_eq!(b["risk_class"], "substandard", "{b}");
    assert_eq!(b["risk_class_zh"], "次级", "{b}");
    assert_eq!(b["days_past_due"], 100, "{b}");
    let d = financing(&t1, &fin3).await;
    assert_eq!(d["overdue"]["days_past_due"], 100, "{d}");
    assert!(
        money(&d["overdue"]["penalty_interest"]) > Decimal::ZERO,
        "{d}"
    );
    // A hundred days span a quarter-end 结息日: unpaid penalty compounds.
    assert!(
        money(&d["overdue"]["compound_interest"]) > Decimal::ZERO,
        "{d}"
    );
    assert_eq!(d["credit"]["risk_class"], "substandard", "{d}");
    // The registration was never recorded: the funder's task is overdue.
    let overdue = f
        .approver
        .get("/v1/registration-tasks?state=overdue")
        .await
        .expect(200);
    assert_eq!(
        overdue["items"][0]["financing_id"],
        fin3.as_str(),
        "{overdue}"
    );
    let b = p
        .ok(
            &f.approver,
            &format!("/v1/financings/{fin3}/recourse"),
            "financing.recourse",
            json!({"financing_id": fin3, "note": "the issuer has not paid; recourse to the supplier"}),
            &[],
            200,
        )
        .await;
    assert_eq!(b["status"], "recourse", "{b}");
    assert!(money(&b["claim"]) > Decimal::new(20_000_000, 2), "{b}");
    // Tier 1 repurchases: it pays exactly the day's claim and holds the
    // payable again, its asset key released.
    let claim = b["claim"].clone();
    let b = p
        .ok(
            &t1,
            &format!("/v1/financings/{fin3}/repurchase"),
            "financing.repurchase",
            json!({"financing_id": fin3, "amount": claim}),
            &[(second.as_str(), AssetOp::Release)],
            200,
        )
        .await;
    assert_eq!(
        (b["status"].as_str(), b["certificate_status"].as_str()),
        (Some("settled"), Some("active")),
        "{b}"
    );
    assert_eq!(b["paid"], claim, "{b}");

    // The whole story verifies offline.
    p.server.wait_for_checkpoint(p.seqs.0 + 1).await;
    let export = p.server.export("receivables.jsonl");
    let report = p.server.verify(&export);
    // The operator's admin, four firms' admins and four staff.
    assert!(
        report.contains("keys           9 actor, 0 revoked, 1 platform"),
        "{report}"
    );
    assert!(
        report.contains(
            "batches        0 checked against their rows, 1 not checked: rows not supplied"
        ),
        "{report}"
    );

    // The bulk upload checked against its rows: the core firm downloads
    // the rows file (the supplier, whose invoices are only some of the
    // rows, may not), and scf-verify recomputes the entry's roots and
    // follows the rows' invoice keys with the other asset keys.
    let rows_path = format!("/v1/invoices/batches/{batch}/rows");
    assert_eq!(t1.get(&rows_path).await.status, 404);
    let rows = core.admin.get(&rows_path).await;
    assert_eq!(rows.status, 200, "{}", String::from_utf8_lossy(&rows.body));
    assert_eq!(rows.headers["content-type"], "application/x-ndjson");
    let dir = p.server.path("batch-rows");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{batch}.jsonl"));
    std::fs::write(&file, &rows.body).unwrap();
    let args = [
        "--batch-rows".as_ref(),
        dir.as_os_str(),
        "--require-batch-rows".as_ref(),
    ];
    let (code, checked) = p.server.verify_with(&args, &export);
    assert_eq!(code, Some(0), "{checked}");
    assert!(checked.starts_with("VALID"), "{checked}");
    assert!(
        checked.contains("batches        1 checked against their rows, 0 not checked"),
        "{checked}"
    );
    // One row tampered with: the amount of the first invoice.
    let honest = String::from_utf8(rows.body.clone()).unwrap();
    let tampered = honest.replacen(r#""amount":"1000000.00""#, r#""amount":"1000001.00""#, 1);
    assert_ne!(tampered, honest);
    std::fs::write(&file, tampered).unwrap();
    let (code, invalid) = p.server.verify_with(&args, &export);
    assert_eq!(code, Some(1), "{invalid}");
    assert!(invalid.starts_with("INVALID"), "{invalid}");
    assert!(
        invalid.contains("reason         batch_rows_root_mismatch"),
        "{invalid}"
    );
    // The asset keys the verifier followed: each application encumbered
    // its part, the clearing released the two it paid off, the repurchase
    // the third.
    let mut encumbered: Vec<String> = Vec::new();
    for (kind, assets) in entry_assets(&export) {
        for (key, op) in assets {
            match (kind.as_str(), op) {
                ("financing.apply", AssetOp::Encumber) => encumbered.push(key),
                ("certificate.clear" | "financing.repurchase", AssetOp::Release) => {
                    encumbered.retain(|k| *k != key)
                }
                other => panic!("an unexpected asset operation {other:?} on {key}"),
            }
        }
    }
    assert!(encumbered.is_empty(), "{encumbered:?}");
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for kind in entry_types(&export) {
        *counts.entry(kind).or_default() += 1;
    }
    let expect = [
        ("clock.advance", 2),
        ("lpr.publish", 2),
        ("program.create", 1),
        ("program.plan_draft", 1),
        ("program.plan_approve", 2),
        ("account.add", 2),
        ("account.verify", 2),
        ("certificate.propose", 2),
        ("certificate.confirm", 2),
        ("certificate.accept", 2),
        ("certificate.split", 1),
        ("certificate.transfer", 1),
        ("certificate.clear", 1),
        ("financing.apply", 3),
        ("financing.recommend", 3),
        ("financing.decide", 3),
        ("financing.disburse", 3),
        ("financing.register", 2),
        ("financing.classify", 1),
        ("financing.recourse", 1),
        ("financing.repurchase", 1),
    ];
    for (kind, n) in expect {
        assert_eq!(counts.get(kind).copied(), Some(n), "{kind}: {counts:?}");
    }
}
