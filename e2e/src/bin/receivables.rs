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
//!   approves each, every approval checking the three limits atomically;
//! - **latency at a stated offered load** (open loop): for each `--rate`,
//!   quotes and approvals sent at that many per second whatever the
//!   answers, latency counted from each request's scheduled send time, so
//!   queueing is in it. The approvals are of another root certificate
//!   held by the tier-1 supplier, split into as many parts as the rates
//!   need, applied for and recommended beforehand.
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
    Api, Firm, Stats, act, drive, drive_at, invite, invite_under, onboard, register_and_approve,
    staff, uscc,
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
    /// Offered loads (requests per second) for the open-loop measurements.
    #[arg(long, value_delimiter = ',', default_value = "50,100,200")]
    rate: Vec<u32>,
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

/// Request `i` posts `calls[i]` (a path and a body signed ahead of time)
/// as `who`; 2xx counts.
fn posts(
    api: &Api,
    who: &Firm,
    calls: Vec<(String, String)>,
) -> impl Fn(usize) -> scf_e2e::Send + use<> {
    let (api, token, calls) = (api.clone(), who.token.clone(), Arc::new(calls));
    move |i| {
        let (api, token, calls) = (api.clone(), token.clone(), calls.clone());
        Box::pin(async move {
            let (path, body) = &calls[i];
            let (s, _) = api.post(path, Some(&token), body.clone()).await;
            (200..300).contains(&s)
        })
    }
}

/// Every request GETs `url`, with `token` if given; 200 counts.
fn gets(api: &Api, url: String, token: Option<String>) -> impl Fn(usize) -> scf_e2e::Send + use<> {
    let c = api.http.clone();
    move |_| {
        let (c, url, token) = (c.clone(), url.clone(), token.clone());
        Box::pin(async move {
            let mut r = c.get(&url);
            if let Some(t) = &token {
                r = r.bearer_auth(t);
            }
            r.send().await.is_ok_and(|r| r.status() == 200)
        })
    }
}

/// Posts `calls`, `clients` at a time.
async fn signed_load(api: &Api, who: &Firm, clients: usize, calls: Vec<(String, String)>) -> Stats {
    let n = calls.len();
    drive(clients, 3600, n, posts(api, who, calls)).await
}

/// Proposed by the core firm, confirmed by its checker and accepted by
/// `holder`: an active root certificate.
async fn active_certificate(
    api: &Api,
    core: &Firm,
    checker: &Firm,
    program: &str,
    holder: &Firm,
    face: &str,
    maturity: &str,
) -> String {
    let root = id();
    let cert = json!({"certificate_id": root, "face_value": face, "maturity_date": maturity});
    let mut proposal = cert.clone();
    proposal["program_id"] = json!(program);
    proposal["holder_org_id"] = json!(holder.org);
    act(
        api,
        core,
        "/v1/certificates",
        "certificate.propose",
        proposal,
    )
    .await;
    act(
        api,
        checker,
        &format!("/v1/certificates/{root}/confirmation"),
        "certificate.confirm",
        cert,
    )
    .await;
    act(
        api,
        holder,
        &format!("/v1/certificates/{root}/acceptance"),
        "certificate.accept",
        json!({"certificate_id": root, "decision": "accept"}),
    )
    .await;
    root
}

/// Splits `root` (held by `holder`) into `groups` × 100 parts of 1,000.00;
/// returns the parts.
async fn leaves_of(api: &Api, holder: &Firm, root: &str, groups: usize) -> Vec<String> {
    let mids: Vec<String> = (0..groups).map(|_| id()).collect();
    act(
        api,
        holder,
        &format!("/v1/certificates/{root}/split"),
        "certificate.split",
        split_body(
            root,
            &format!("{}.00", groups * 100_000),
            &mids,
            "100000.00",
        ),
    )
    .await;
    let mut leaves = Vec::new();
    for mid in &mids {
        let hundred: Vec<String> = (0..100).map(|_| id()).collect();
        act(
            api,
            holder,
            &format!("/v1/certificates/{mid}/split"),
            "certificate.split",
            split_body(mid, "100000.00", &hundred, "1000.00"),
        )
        .await;
        leaves.extend(hundred);
    }
    leaves
}

/// Signed applications by `who` for each leaf, and the financing ids.
fn applications(
    who: &Firm,
    funder: &str,
    leaves: &[String],
) -> (Vec<String>, Vec<(String, String)>) {
    let financings: Vec<String> = leaves.iter().map(|_| id()).collect();
    let calls = leaves
        .iter()
        .zip(&financings)
        .map(|(leaf, f)| {
            let key = AssetKey::payables_certificate(leaf).unwrap();
            (
                "/v1/financings".to_owned(),
                who.sign(
                    "financing.apply",
                    json!({"financing_id": f, "certificate_id": leaf,
                 "funder_org_id": funder, "financing_date": day(0)}),
                    vec![AssetRef {
                        key,
                        op: AssetOp::Encumber,
                    }],
                ),
            )
        })
        .collect();
    (financings, calls)
}

/// Signed `kind` steps by `who` on each financing at `/v1/financings/{f}/{path}`.
fn steps(
    who: &Firm,
    financings: &[String],
    path: &str,
    kind: &str,
    body: Value,
) -> Vec<(String, String)> {
    financings
        .iter()
        .map(|f| {
            let mut b = body.clone();
            b["financing_id"] = json!(f);
            (
                format!("/v1/financings/{f}/{path}"),
                who.sign(kind, b, vec![]),
            )
        })
        .collect()
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
    let root = active_certificate(
        &api,
        &core,
        &core_checker,
        &program,
        &t1,
        "1000000.00",
        &maturity,
    )
    .await;

    // Baseline: the no-op endpoint through the same client.
    let healthz = format!("{}/healthz", api.base);
    let noop = drive(
        args.clients,
        args.seconds,
        usize::MAX,
        gets(&api, healthz.clone(), None),
    )
    .await;

    // The fan-out: 1 → 10 → 1,000, then 1,000 transfers.
    eprintln!("fan-out ...");
    let start = Instant::now();
    let leaves = leaves_of(&api, &t1, &root, 10).await;
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
    let quote_url = format!(
        "{}/v1/programs/{program}/quote?face_amount=1000.00&financing_date={}&maturity_date={maturity}&size_class=small",
        api.base,
        day(0)
    );
    let quote = || gets(&api, quote_url.clone(), Some(t2.token.clone()));
    let quotes = drive(args.clients, args.seconds, usize::MAX, quote()).await;

    // Applications, recommendations, approvals: one per leaf.
    eprintln!("applications, recommendations, approvals ...");
    let (financings, applies) = applications(&t2, &funder.org, &leaves);
    let apply = signed_load(&api, &t2, args.clients, applies).await;
    let recommends = steps(
        &analyst,
        &financings,
        "recommendation",
        "financing.recommend",
        json!({"verdict": "approve", "note": "bench"}),
    );
    let recommend = signed_load(&api, &analyst, args.clients, recommends).await;
    let decides = steps(
        &approver,
        &financings,
        "decision",
        "financing.decide",
        json!({"decision": "approve", "note": "bench"}),
    );
    let approve = signed_load(&api, &approver, args.clients, decides).await;
    let (s, q) = api
        .get("/v1/financings?status=approved&limit=200", &approver.token)
        .await;
    assert_eq!(s, 200, "{q}");

    // Open loop: the no-op, quotes and approvals at each offered load.
    eprintln!("open loop at {:?} requests per second ...", args.rate);
    let needed: usize = args
        .rate
        .iter()
        .map(|r| *r as usize * args.seconds as usize)
        .sum();
    let groups = needed.div_ceil(100).max(2);
    let root2 = active_certificate(
        &api,
        &core,
        &core_checker,
        &program,
        &t1,
        &format!("{}.00", groups * 100_000),
        &maturity,
    )
    .await;
    let leaves2 = leaves_of(&api, &t1, &root2, groups).await;
    let (financings2, applies2) = applications(&t1, &funder.org, &leaves2);
    let s2 = signed_load(&api, &t1, args.clients, applies2).await;
    assert_eq!(s2.errors, 0, "every application succeeds");
    let recommends2 = steps(
        &analyst,
        &financings2,
        "recommendation",
        "financing.recommend",
        json!({"verdict": "approve", "note": "bench"}),
    );
    let s2 = signed_load(&api, &analyst, args.clients, recommends2).await;
    assert_eq!(s2.errors, 0, "every recommendation succeeds");
    let mut decides2 = steps(
        &approver,
        &financings2,
        "decision",
        "financing.decide",
        json!({"decision": "approve", "note": "bench"}),
    );
    let mut open = Vec::new();
    for rate in &args.rate {
        let r = f64::from(*rate);
        let noop = drive_at(
            r,
            args.seconds,
            usize::MAX,
            gets(&api, healthz.clone(), None),
        )
        .await;
        let quotes = drive_at(r, args.seconds, usize::MAX, quote()).await;
        let n = (*rate as usize * args.seconds as usize).min(decides2.len());
        let calls: Vec<_> = decides2.drain(..n).collect();
        let approvals = drive_at(r, args.seconds, n, posts(&api, &approver, calls)).await;
        open.push((*rate, noop, quotes, approvals));
    }
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
    println!();
    println!(
        "open loop, {} s per load, latency from the scheduled send time; the approvals run with {} financings of the program already approved",
        args.seconds,
        financings.len()
    );
    println!();
    println!("| offered load | measurement | answered | p50 | p99 | max | requests | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for (rate, noop, quotes, approvals) in &open {
        for (name, st) in [
            ("baseline: no-op (GET /healthz)", noop),
            ("quote", quotes),
            ("approval", approvals),
        ] {
            println!(
                "| {rate}/s | {name} | {:.0}/s | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} |",
                st.done as f64 / st.secs,
                st.percentile_ms(0.50),
                st.percentile_ms(0.99),
                st.percentile_ms(1.0),
                st.done,
                st.errors
            );
        }
    }
}
