//! Bulk-upload benchmark: 100,000 invoices (10 requests of 10,000 rows,
//! `POST /v1/invoices/batches`) against the real `scf` binary on loopback,
//! beside a raw baseline measured in the same run: the same number of rows
//! inserted with multi-row INSERTs (1,000 rows a statement, 10,000 a
//! transaction) into the same `invoices` table of the same database.
//!
//!     cargo build --release -p scf-backend -p scf-e2e
//!     target/release/bulk --db sqlite
//!     target/release/bulk --db postgres://postgres@127.0.0.1:5432/postgres
//!
//! The set-up goes through the API like any client: the operator onboards
//! a core enterprise, which invites a supplier; both register and pass KYC;
//! the core firm creates its program. Every upload is a signed
//! `invoice.batch` intent committing to its rows by Merkle roots, which the
//! server recomputes before the single writer checks the supplier and the
//! asset keys and inserts the rows.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use clap::Parser;
use diesel::connection::SimpleConnection;
use scf_e2e::{Firm, Scf, act, invite, onboard, register_and_approve, signed, uscc};
use scf_ledger::asset::AssetKey;
use scf_ledger::hash::{leaf_hash, to_hex};
use scf_ledger::merkle::root_from_leaves;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    /// `sqlite`, or a PostgreSQL server URL (a fresh database is created on it).
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Uploads to send.
    #[arg(long, default_value_t = 10)]
    requests: usize,
    /// Rows per upload (at most 10,000).
    #[arg(long, default_value_t = 10_000)]
    rows: usize,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// The scf binary to start.
    #[arg(long, default_value = "target/release/scf")]
    scf: String,
}

/// One upload's body: the signed intent and its rows. Amounts in fen.
fn upload(core: &Firm, program: &str, supplier_uscc: &str, batch: usize, rows: usize) -> String {
    let mut fen_total: i64 = 0;
    let rows: Vec<Value> = (0..rows)
        .map(|i| {
            let fen = 100_000 + ((batch * rows + i) % 9_999_901) as i64;
            fen_total += fen;
            json!({"invoice_number": format!("B{batch:03}-{i:06}"), "seller_uscc": supplier_uscc,
                "amount": format!("{}.{:02}", fen / 100, fen % 100),
                "issue_date": "2026-01-05", "due_date": "2026-04-05"})
        })
        .collect();
    let leaves: Vec<_> = rows
        .iter()
        .map(|r| leaf_hash(&scf_ledger::jcs::to_vec(r)))
        .collect();
    let mut keys: Vec<[u8; 32]> = rows
        .iter()
        .map(|r| {
            AssetKey::invoice(supplier_uscc, r["invoice_number"].as_str().unwrap())
                .unwrap()
                .0
        })
        .collect();
    keys.sort_unstable();
    let key_leaves: Vec<_> = keys.iter().map(|k| leaf_hash(k)).collect();
    let body = json!({"batch_id": uuid::Uuid::now_v7(), "program_id": program,
        "count": rows.len(), "total": format!("{}.{:02}", fen_total / 100, fen_total % 100),
        "rows_root": to_hex(&root_from_leaves(&leaves)),
        "asset_keys_root": to_hex(&root_from_leaves(&key_leaves))});
    let mut env = signed("invoice.batch", &core.org, body, &core.key, vec![]);
    env["rows"] = Value::Array(rows);
    env.to_string()
}

/// Raw baseline: `n` invoice rows in multi-row INSERTs of 1,000 rows, one
/// transaction per 10,000, into the same table (same foreign keys, same
/// unique index) of the same database.
fn raw_inserts(url: &str, n: usize, program: &str, seller: &str, buyer: &str) -> Duration {
    let db = scf_backend::db::Db::connect(url, Some(1)).unwrap();
    let mut conn = db.get().unwrap();
    let start = Instant::now();
    for tx in 0..n.div_ceil(10_000) {
        let mut sql = String::from("BEGIN;");
        for stmt in 0..10 {
            sql.push_str(
                " INSERT INTO invoices (id, program_id, seller_org_id, buyer_org_id, seller_uscc, \
                 invoice_number, asset_key, amount, issue_date, due_date, po_id, batch_id, status, \
                 certificate_id, recorded_seq, created_at) VALUES ",
            );
            for i in 0..1_000 {
                let k = tx * 10_000 + stmt * 1_000 + i;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "('{}', '{program}', '{seller}', '{buyer}', '{}', 'RAW-{k:07}', '{k:064x}', \
                     '{}.{:02}', '2026-01-05', '2026-04-05', NULL, NULL, 'confirmed', NULL, 0, \
                     '2026-01-05T00:00:00.000000Z')",
                    uuid::Uuid::now_v7(),
                    uscc(1),
                    1000 + k,
                    k % 100
                ));
            }
            sql.push(';');
        }
        sql.push_str(" COMMIT;");
        conn.batch_execute(&sql).unwrap();
    }
    start.elapsed()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut scf = Scf::start(&args.scf, &args.db, &[]).await;
    let (api, op) = (scf.api.clone(), scf.op.clone());

    // The parties, through the API.
    let core = onboard(&api, &op, "core_enterprise", "Bench Core").await;
    register_and_approve(&api, &op, &core, &uscc(1)).await;
    let supplier = invite(&api, &core, 1, "Bench Supplier").await;
    let supplier_uscc = uscc(2);
    register_and_approve(&api, &op, &supplier, &supplier_uscc).await;
    let (core_org, sup_org) = (core.org.clone(), supplier.org.clone());
    let program = uuid::Uuid::new_v4().to_string();
    act(
        &api,
        &core,
        "/v1/programs",
        "program.create",
        json!({"program_id": program, "name": "Bench program"}),
    )
    .await;

    eprintln!(
        "preparing {} uploads of {} rows ...",
        args.requests, args.rows
    );
    let t = Instant::now();
    let bodies: Vec<String> = (0..args.requests)
        .map(|b| upload(&core, &program, &supplier_uscc, b, args.rows))
        .collect();
    let prepare = t.elapsed();
    let bytes: usize = bodies.iter().map(String::len).sum();

    // The uploads, `clients` at a time.
    let api = std::sync::Arc::new(api);
    let token = std::sync::Arc::new(core.token.clone());
    let bodies = std::sync::Arc::new(bodies);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (api, token, bodies, next) = (api.clone(), token.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let (s, b) = api
                    .post("/v1/invoices/batches", Some(&token), body.clone())
                    .await;
                assert_eq!(s, 201, "upload {i}: {b}");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let http = start.elapsed();
    lat.sort_unstable();
    scf.stop();

    let total_rows = args.requests * args.rows;
    let raw = raw_inserts(scf.db.url(), total_rows, &program, &sup_org, &core_org);
    let db = scf_backend::db::Db::connect(scf.db.url(), Some(1)).unwrap();
    let mut conn = db.get().unwrap();
    use diesel::prelude::*;
    let stored: i64 = scf_backend::db::schema::invoices::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(stored as usize, 2 * total_rows, "every row is stored");

    let backend = if args.db == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    println!(
        "backend: {backend}; {} uploads of {} rows ({:.1} MB of JSON), {} in flight; client-side preparation (signing, roots) {:.2} s, not counted",
        args.requests,
        args.rows,
        bytes as f64 / 1e6,
        args.clients,
        prepare.as_secs_f64()
    );
    println!();
    println!("| measurement | rows | time | rows/s | per request p50 | max |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| baseline: raw multi-row INSERT into `invoices` (1,000 rows/statement, 10,000/transaction) | {total_rows} | {:.2} s | {:.0} | | |",
        raw.as_secs_f64(),
        total_rows as f64 / raw.as_secs_f64()
    );
    println!(
        "| **bulk upload over HTTP** (`POST /v1/invoices/batches`) | {total_rows} | **{:.2} s** | {:.0} | {:.0} ms | {:.0} ms |",
        http.as_secs_f64(),
        total_rows as f64 / http.as_secs_f64(),
        lat.get(lat.len() / 2)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3),
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    );
}
