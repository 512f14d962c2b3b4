//! Load generator: signed mutations over HTTP against the real `scf`
//! binary on loopback, beside two baselines measured in the same run: a
//! no-op endpoint through the same client, and raw multi-row inserts into
//! the same database.
//!
//!     cargo build --release -p scf-backend -p scf-e2e
//!     target/release/load --db sqlite --seconds 10 --clients 64
//!     target/release/load --db postgres://postgres@127.0.0.1:5432/postgres --seconds 10
//!
//! The mutation is `POST /v1/keys`: each request registers a fresh key with
//! a `key.add` intent signed twice (actor and proof of possession), so the
//! server checks signatures, the idempotency key, the ledger rules, and
//! commits the entry with its business row. Requests are bounded in count
//! and time and go to 127.0.0.1 only.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use clap::Parser;
use diesel::connection::SimpleConnection;
use scf_e2e::{Scf, drive};
use scf_ledger::intent::{Intent, signing_message};
use scf_ledger::sig::SecretKey;
use scf_ledger::time::Timestamp;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser, Debug)]
struct Args {
    /// `sqlite`, or a PostgreSQL server URL (a fresh database is created on it).
    #[arg(long, default_value = "sqlite")]
    db: String,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Most mutations to prepare (and send).
    #[arg(long, default_value_t = 60_000)]
    requests: usize,
    /// The scf binary to start.
    #[arg(long, default_value = "target/release/scf")]
    scf: String,
}

fn key_add(org: &str, user: &str, n: usize) -> String {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(n as u64).to_le_bytes());
    seed[8] = 0xA5;
    let key = SecretKey::from_seed(&seed);
    let pk = key.public_key();
    let intent = Intent {
        kind: "key.add".into(),
        org: org.into(),
        key_id: pk.key_id(),
        subject: String::new(),
        assets: vec![],
        body: serde_json::json!({"public_key": pk.to_hex(), "user": user})
            .as_object()
            .cloned()
            .unwrap(),
        id: format!("load-{n}"),
        client_time: Timestamp::now(),
    };
    let bytes = intent.to_bytes();
    let sig = key.sign(&signing_message(&bytes));
    serde_json::json!({
        "intent": String::from_utf8(bytes).unwrap(),
        "sigs": [{"key_id": pk.key_id().to_hex(), "sig": sig.to_hex()}],
    })
    .to_string()
}

/// Raw baseline: multi-row inserts of `rows` 300-byte rows, 100 per
/// transaction, into a scratch table of the same database.
fn raw_inserts(url: &str, rows: usize) -> f64 {
    let db = scf_backend::db::Db::connect(url, Some(1)).unwrap();
    let mut conn = db.get().unwrap();
    conn.batch_execute("CREATE TABLE bench_raw (id TEXT PRIMARY KEY, payload TEXT NOT NULL)")
        .unwrap();
    let payload = "x".repeat(268);
    let start = Instant::now();
    for chunk in 0..rows / 100 {
        let mut sql = String::from("BEGIN; INSERT INTO bench_raw (id, payload) VALUES ");
        for i in 0..100 {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("('{:032x}', '{payload}')", chunk * 100 + i));
        }
        sql.push_str("; COMMIT;");
        conn.batch_execute(&sql).unwrap();
    }
    let rate = rows as f64 / start.elapsed().as_secs_f64();
    conn.batch_execute("DROP TABLE bench_raw").unwrap();
    rate
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut scf = Scf::start(&args.scf, &args.db, &[]).await;
    let base = scf.api.base.clone();
    let client = scf.api.http.clone();
    let (org, user, token) = (
        scf.op.org.clone(),
        scf.op.user.clone(),
        scf.op.token.clone(),
    );

    eprintln!("preparing {} signed intents ...", args.requests);
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..args.requests)
            .map(|n| key_add(&org, &user, n))
            .collect(),
    );

    let c = client.clone();
    let url = format!("{base}/healthz");
    let noop = drive(args.clients, args.seconds, usize::MAX, move |_| {
        let (c, url) = (c.clone(), url.clone());
        Box::pin(async move { c.get(&url).send().await.is_ok_and(|r| r.status() == 200) })
    })
    .await;

    let c = client.clone();
    let url = format!("{base}/v1/keys");
    let b = bodies.clone();
    let tok = token.clone();
    let signed = drive(args.clients, args.seconds, args.requests, move |i| {
        let (c, url, b, tok) = (c.clone(), url.clone(), b.clone(), tok.clone());
        Box::pin(async move {
            c.post(&url)
                .bearer_auth(&tok)
                .header("Idempotency-Key", format!("load-{i}"))
                .header("content-type", "application/json")
                .body(b[i].clone())
                .send()
                .await
                .is_ok_and(|r| r.status() == 201)
        })
    })
    .await;
    scf.stop();

    let raw = raw_inserts(scf.db.url(), 50_000);
    let backend = if args.db == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    println!(
        "backend: {backend}; clients: {}; duration: {} s per measurement",
        args.clients, args.seconds
    );
    println!();
    println!("| measurement | throughput | p50 | p99 | requests | errors |");
    println!("|---|---|---|---|---|---|");
    println!("{}", noop.line("baseline: no-op endpoint (GET /healthz)"));
    println!(
        "| baseline: raw multi-row insert, 100 rows/transaction | {raw:.0} rows/s | | | 50000 | 0 |"
    );
    println!("{}", signed.line("signed mutation (POST /v1/keys)"));
}
