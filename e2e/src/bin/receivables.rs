//! Receivables benchmark against the real `scf` binary on loopback, with a
//! no-op baseline through the same client in the same run:
//!
//! - a **1,000-way fan-out**: one certificate split into 10 and each of
//!   those into 100 (11 signed splits), then the 1,000 leaves transferred
//!   to a tier-2 supplier, `--clients` at a time;
//! - **quotes at load**: `GET /v1/programs/{id}/quote` (plan and LPR in
//!   force, discount, fees, XIRR) for `--seconds`;
//! - **applications, recommendations and approvals at load**: the tier-2
//!   supplier applies on each leaf (its asset key encumbered, a quote
//!   stored), the funder's analyst recommends each, and its approver
//!   approves each, every approval checking the three limits atomically.
//!
//! Run it with:
//!
//! ```text
//! cargo build --release -p scf-backend -p scf-e2e
//! target/release/receivables --db sqlite
//! target/release/receivables --db postgres://postgres@127.0.0.1:5432/postgres
//! ```
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use clap::Parser;
use scf_e2e::{
    Api, Firm, Stats, act, drive, invite, invite_under, onboard, register_and_approve, staff, uscc,
};
use scf_ledger::asset::AssetKey;
use scf_ledger::intent::{AssetOp, AssetRef};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser, Debug)]
struct Args {
    /// `sqlite`, or a PostgreSQL server URL (a fresh database is created on it).
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds for the time-bound measurements (no-op, quotes).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// The scf binary to start.
    #[arg(long, default_value = "target/release/scf")]
    scf: String,
}

fn day(offset: u64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(offset)).to_string()
}

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn split_body(parent: &str, amount: &str, children: &[String], each: &str) -> Value {
    let children: Vec<Value> = children
        .iter()
        .map(|c| json!({"certificate_id": c, "amount": each}))
        .collect();
    json!({"certificate_id": parent, "parent_amount": amount, "children": children})
}

/// Posts `bodies[i]` (signed ahead of time) to `paths[i]` as `who`,
/// `clients` at a time; 2xx counts.
async fn signed_load(api: &Api, who: &Firm, clients: usize, calls: Vec<(String, String)>) -> Stats {
    let (api, token, calls) = (api.clone(), who.token.clone(), Arc::new(calls));
    let n = calls.len();
    drive(clients, 3600, n, move |i| {
        let (api, token, calls) = (api.clone(), token.clone(), calls.clone());
        Box::pin(async move {
            let (path, body) = &calls[i];
            let (s, _) = api.post(path, Some(&token), body.clone()).await;
            (200..300).contains(&s)
        })
    })
    .await
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut scf = scf_e2e::Scf::start(&args.scf, &args.db, &[]).await;
    let (api, op) = (scf.api.clone(), scf.op.clone());

    eprintln!("setting up the program through the API ...");
    let core = onboard(&api, &op, "core_enterprise", "Bench Core").await;
    register_and_approve(&api, &op, &core, &uscc(1)).await;
    let funder = onboard(&api, &op, "funder", "Bench Bank").await;
    register_and_approve(&api, &op, &funder, &uscc(2)).await;
    let core_checker = staff(&api, &core, "checker").await;
    let analyst = staff(&api, &funder, "maker").await;
    let approver = staff(&api, &funder, "checker").await;
    let t1 = invite(&api, &core, 1, "Tier One").await;
    register_and_approve(&api, &op, &t1, &uscc(3)).await;
    let t2 = invite_under(&api, &core, 2, "Tier Two", Some(&t1)).await;
    register_and_approve(&api, &op, &t2, &uscc(4)).await;
    act(
        &api,
        &op,
        "/v1/lpr",
        "lpr.publish",
        json!({"tenor": "1Y", "fixing_date": day(0),
        "rate": "3.00", "source": "bench fixing"}),
    )
    .await;
    let program = id();
    act(
        &api,
        &core,
        "/v1/programs",
        "program.create",
        json!({"program_id": program, "name": "Bench"}),
    )
    .await;
    let plan = json!({
        "products": ["receivables"],
        "program_limit": "10000000000.00",
        "funders": [{"org_id": funder.org, "line_limit": "10000000000.00"}],
        "counterparty_limit": "10000000000.00",
        "eligibility": {"directions": ["upstream"], "max_tier": 2, "size_classes": ["micro", "small", "medium"]},
        "advance_rate": "0.90",
        "pricing": {"benchmark": "1Y", "spread_bp": "150", "discount_bearer": {"kind": "supplier"}},
        "fees": [{"fee_type": "platform_service_fee", "payer": "core_firm", "payee": "platform",
                  "basis": {"kind": "rate_of_advance", "rate": "0.001"}}],
        "tenor": {"min_days": 7, "max_months": 6},
        "transfer_cutoff_days": 3, "grace_days": 3, "penalty_uplift": "0.50",
        "recourse": true, "notice_acknowledgement_required": false, "early_settlement": true,
    });
    let draft = act(
        &api,
        &core,
        &format!("/v1/programs/{program}/plans"),
        "program.plan_draft",
        json!({"program_id": program, "plan": plan, "effective_from": day(0)}),
    )
    .await;
    let digest = draft["digest"].as_str().unwrap();
    for who in [&core_checker, &approver] {
        act(
            &api,
            who,
            &format!("/v1/programs/{program}/plans/1/approval"),
            "program.plan_approve",
            json!({"program_id": program, "version": 1, "digest": digest}),
        )
        .await;
    }
    let maturity = day(90);
    let root = id();
    let cert =
        json!({"certificate_id": root, "face_value": "1000000.00", "maturity_date": maturity});
    let mut proposal = cert.clone();
    proposal["program_id"] = json!(program);
    proposal["holder_org_id"] = json!(t1.org);
    act(
        &api,
        &core,
        "/v1/certificates",
        "certificate.propose",
        proposal,
    )
    .await;
    act(
        &api,
        &core_checker,
        &format!("/v1/certificates/{root}/confirmation"),
        "certificate.confirm",
        cert,
    )
    .await;
    act(
        &api,
        &t1,
        &format!("/v1/certificates/{root}/acceptance"),
        "certificate.accept",
        json!({"certificate_id": root, "decision": "accept"}),
    )
    .await;

    // Baseline: the no-op endpoint through the same client.
    let (c, url) = (api.http.clone(), format!("{}/healthz", api.base));
    let noop = drive(args.clients, args.seconds, usize::MAX, move |_| {
        let (c, url) = (c.clone(), url.clone());
        Box::pin(async move { c.get(&url).send().await.is_ok_and(|r| r.status() == 200) })
    })
    .await;

    // The fan-out: 1 → 10 → 1,000, then 1,000 transfers.
    eprintln!("fan-out ...");
    let start = Instant::now();
    let tens: Vec<String> = (0..10).map(|_| id()).collect();
    act(
        &api,
        &t1,
        &format!("/v1/certificates/{root}/split"),
        "certificate.split",
        split_body(&root, "1000000.00", &tens, "100000.00"),
    )
    .await;
    let mut leaves = Vec::new();
    for ten in &tens {
        let hundred: Vec<String> = (0..100).map(|_| id()).collect();
        act(
            &api,
            &t1,
            &format!("/v1/certificates/{ten}/split"),
            "certificate.split",
            split_body(ten, "100000.00", &hundred, "1000.00"),
        )
        .await;
        leaves.extend(hundred);
    }
    let splits = start.elapsed();
    let transfers: Vec<(String, String)> = leaves
        .iter()
        .map(|leaf| {
            (
                format!("/v1/certificates/{leaf}/transfer"),
                t1.sign(
                    "certificate.transfer",
                    json!({"certificate_id": leaf, "to_org_id": t2.org,
                 "notice_to": core.org}),
                    vec![],
                ),
            )
        })
        .collect();
    let transfer = signed_load(&api, &t1, args.clients, transfers).await;
    let fan_out = start.elapsed();
    assert_eq!(transfer.errors, 0, "every transfer succeeds");

    // Quotes at load, as the tier-2 supplier.
    eprintln!("quotes ...");
    let (c, url, tok) = (
        api.http.clone(),
        format!(
            "{}/v1/programs/{program}/quote?face_amount=1000.00&financing_date={}&maturity_date={maturity}&size_class=small",
            api.base,
            day(0)
        ),
        t2.token.clone(),
    );
    let quotes = drive(args.clients, args.seconds, usize::MAX, move |_| {
        let (c, url, tok) = (c.clone(), url.clone(), tok.clone());
        Box::pin(async move {
            c.get(&url)
                .bearer_auth(&tok)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
    })
    .await;

    // Applications, recommendations, approvals: one per leaf.
    eprintln!("applications, recommendations, approvals ...");
    let financings: Vec<String> = leaves.iter().map(|_| id()).collect();
    let applies: Vec<(String, String)> = leaves
        .iter()
        .zip(&financings)
        .map(|(leaf, f)| {
            let key = AssetKey::payables_certificate(leaf).unwrap();
            (
                "/v1/financings".to_owned(),
                t2.sign(
                    "financing.apply",
                    json!({"financing_id": f, "certificate_id": leaf,
                 "funder_org_id": funder.org, "financing_date": day(0)}),
                    vec![AssetRef {
                        key,
                        op: AssetOp::Encumber,
                    }],
                ),
            )
        })
        .collect();
    let apply = signed_load(&api, &t2, args.clients, applies).await;
    let recommends: Vec<(String, String)> = financings
        .iter()
        .map(|f| {
            (
                format!("/v1/financings/{f}/recommendation"),
                analyst.sign(
                    "financing.recommend",
                    json!({"financing_id": f, "verdict": "approve",
                 "note": "bench"}),
                    vec![],
                ),
            )
        })
        .collect();
    let recommend = signed_load(&api, &analyst, args.clients, recommends).await;
    let decides: Vec<(String, String)> = financings
        .iter()
        .map(|f| {
            (
                format!("/v1/financings/{f}/decision"),
                approver.sign(
                    "financing.decide",
                    json!({"financing_id": f, "decision": "approve",
                 "note": "bench"}),
                    vec![],
                ),
            )
        })
        .collect();
    let approve = signed_load(&api, &approver, args.clients, decides).await;
    let (s, q) = api
        .get("/v1/financings?status=approved&limit=200", &approver.token)
        .await;
    assert_eq!(s, 200, "{q}");
    scf.stop();

    let backend = if args.db == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    println!(
        "backend: {backend}; clients: {}; time-bound measurements {} s",
        args.clients, args.seconds
    );
    println!();
    println!("| measurement | throughput | p50 | p99 | requests | errors |");
    println!("|---|---|---|---|---|---|");
    println!("{}", noop.line("baseline: no-op endpoint (GET /healthz)"));
    println!("{}", quotes.line("quote (GET /v1/programs/{id}/quote)"));
    println!(
        "{}",
        transfer.line("transfer of a split leaf (POST .../transfer)")
    );
    println!(
        "{}",
        apply.line("financing application (quote stored, asset encumbered)")
    );
    println!("{}", recommend.line("recommendation (funder's analyst)"));
    println!(
        "{}",
        approve.line("approval (three limits checked atomically, flags)")
    );
    println!();
    println!(
        "1,000-way fan-out: 11 splits (1 → 10 → 1,000) in {:.2} s, then 1,000 transfers in {:.2} s; {:.2} s in all",
        splits.as_secs_f64(),
        transfer.secs,
        fan_out.as_secs_f64()
    );
}
