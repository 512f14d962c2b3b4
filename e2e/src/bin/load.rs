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
use scf_backend::db::testing::TestDb;
use scf_e2e::drive;
use scf_ledger::intent::{Intent, signing_message};
use scf_ledger::sig::SecretKey;
use scf_ledger::time::Timestamp;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    let dir = tempfile::tempdir().unwrap();
    let test_db = if args.db == "sqlite" {
        TestDb::sqlite()
    } else {
        TestDb::postgres(&args.db)
    }
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let envs = [
        ("SCF_DATA_DIR", dir.path().display().to_string()),
        ("SCF_LISTEN", listen.clone()),
        ("SCF_DATABASE_URL", test_db.url().to_owned()),
        ("SCF_LOG", "warn".to_owned()),
        // One token at thousands of requests a second is the point here.
        ("SCF_RATE_LIMIT_PER_SEC", "0".to_owned()),
    ];
    let key_file = dir.path().join("admin.key");
    let out = Command::new(&args.scf)
        .args(["bootstrap", "--name", "Load", "--key-out"])
        .arg(&key_file)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run scf bootstrap");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("API token").map(|t| t.trim().to_owned()))
        .expect("token");
    let mut server = Command::new(&args.scf)
        .arg("serve")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .spawn()
        .expect("start scf serve");
    let base = format!("http://{listen}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.clients)
        .build()
        .unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the server did not become ready");
    let me: serde_json::Value = client
        .get(format!("{base}/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (org, user) = (
        me["org_id"].as_str().unwrap().to_owned(),
        me["user_id"].as_str().unwrap().to_owned(),
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
    let _ = server.kill();
    let _ = server.wait();

    let raw = raw_inserts(test_db.url(), 50_000);
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
