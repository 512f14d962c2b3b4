//! What the benchmark tools share: starting the real `scf` binary on
//! loopback with a fresh database, a client that signs intents the way any
//! client must, onboarding through the API, and a closed-loop load driver
//! that records latencies. Tools only: nothing here is used by the server.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use scf_backend::db::testing::TestDb;
use scf_ledger::intent::{AssetRef, Intent, signing_message};
use scf_ledger::sig::SecretKey;
use scf_ledger::time::Timestamp;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A running `scf serve` with its own data directory and database.
#[derive(Debug)]
pub struct Scf {
    pub api: Api,
    /// The platform operator's first admin.
    pub op: Firm,
    pub db: TestDb,
    server: Child,
    _dir: tempfile::TempDir,
}

impl Scf {
    /// Bootstraps and serves `scf` (`db`: `sqlite` or a PostgreSQL server
    /// URL, on which a fresh database is created), with `extra` settings.
    pub async fn start(scf: &str, db: &str, extra: &[(&str, &str)]) -> Scf {
        let dir = tempfile::tempdir().unwrap();
        let test_db = if db == "sqlite" {
            TestDb::sqlite()
        } else {
            TestDb::postgres(db)
        }
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let mut envs: Vec<(String, String)> = vec![
            ("SCF_DATA_DIR".into(), dir.path().display().to_string()),
            ("SCF_LISTEN".into(), listen.clone()),
            ("SCF_DATABASE_URL".into(), test_db.url().to_owned()),
            ("SCF_LOG".into(), "warn".into()),
            // One token at thousands of requests a second is the point here.
            ("SCF_RATE_LIMIT_PER_SEC".into(), "0".into()),
        ];
        envs.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        let key_file = dir.path().join("admin.key");
        let out = Command::new(scf)
            .args(["bootstrap", "--name", "Bench", "--key-out"])
            .arg(&key_file)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run scf bootstrap");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |label: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(label).map(|t| t.trim().to_owned()))
                .expect(label)
        };
        let hex = std::fs::read_to_string(&key_file).unwrap();
        let op = Firm {
            key: SecretKey::from_seed(&scf_ledger::hash::from_hex::<32>(hex.trim()).unwrap()),
            org: field("organisation"),
            user: field("admin user"),
            token: field("API token"),
        };
        let mut server = Command::new(scf)
            .arg("serve")
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .spawn()
            .expect("start scf serve");
        let api = Api {
            http: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(256)
                .build()
                .unwrap(),
            base: format!("http://{listen}"),
        };
        for _ in 0..100 {
            if api
                .http
                .get(format!("{}/readyz", api.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return Scf {
                    api,
                    op,
                    db: test_db,
                    server,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = server.kill();
        let _ = server.wait();
        panic!("the server did not become ready");
    }

    /// Stops the server (its database stays until `self` is dropped).
    pub fn stop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Drop for Scf {
    fn drop(&mut self) {
        self.stop();
    }
}

/// HTTP to the server under test.
#[derive(Debug, Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    /// POSTs `body` with a fresh Idempotency-Key.
    pub async fn post(&self, path: &str, token: Option<&str>, body: String) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// The server's clock, which intents are judged against.
    pub async fn now(&self) -> Timestamp {
        let r: Value = self
            .http
            .get(format!("{}/v1/time", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Timestamp::parse(r["now"].as_str().unwrap()).unwrap()
    }
}

/// A user acting for a firm.
#[derive(Debug, Clone)]
pub struct Firm {
    pub key: SecretKey,
    pub org: String,
    pub user: String,
    pub token: String,
}

impl Firm {
    /// A signed envelope of `kind` with `assets` (sorted as the ledger
    /// wants them), as the request body.
    pub fn sign(&self, kind: &str, body: Value, assets: Vec<AssetRef>) -> String {
        signed(kind, &self.org, body, &self.key, assets).to_string()
    }
}

/// `{intent, sigs}` of `kind` for `org`, signed by `key` at this moment.
pub fn signed(
    kind: &str,
    org: &str,
    body: Value,
    key: &SecretKey,
    mut assets: Vec<AssetRef>,
) -> Value {
    assets.sort_by_key(|a| a.key.0);
    let intent = Intent {
        kind: kind.into(),
        org: org.into(),
        key_id: key.public_key().key_id(),
        subject: String::new(),
        assets,
        body: body.as_object().cloned().unwrap(),
        id: uuid::Uuid::now_v7().to_string(),
        client_time: Timestamp::now(),
    };
    let bytes = intent.to_bytes();
    let sig = key.sign(&signing_message(&bytes));
    json!({
        "intent": String::from_utf8(bytes).unwrap(),
        "sigs": [{"key_id": key.public_key().key_id().to_hex(), "sig": sig.to_hex()}],
    })
}

pub fn fresh_key() -> SecretKey {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    SecretKey::from_seed(&seed)
}

/// A valid USCC numbered `n`.
pub fn uscc(n: u64) -> String {
    scf_ledger::uscc::complete(&format!("91310000{:09}", n % 1_000_000_000)).unwrap()
}

/// `who` signs and posts; anything but 2xx panics with the answer.
pub async fn act(api: &Api, who: &Firm, path: &str, kind: &str, body: Value) -> Value {
    act_assets(api, who, path, kind, body, vec![]).await
}

pub async fn act_assets(
    api: &Api,
    who: &Firm,
    path: &str,
    kind: &str,
    body: Value,
    assets: Vec<AssetRef>,
) -> Value {
    let (s, b) = api
        .post(path, Some(&who.token), who.sign(kind, body, assets))
        .await;
    assert!((200..300).contains(&s), "{kind} {path}: {s} {b}");
    b
}

/// A created user's key is enrolled and logged in.
pub async fn login(api: &Api, org: &str, user: &str, key: SecretKey) -> Firm {
    let pk = key.public_key().to_hex();
    let env = signed(
        "key.add",
        org,
        json!({"user": user, "public_key": pk}),
        &key,
        vec![],
    );
    let (s, b) = api.post("/v1/enrolments", None, env.to_string()).await;
    assert_eq!(s, 201, "enrol: {b}");
    let env = signed(
        "auth.token",
        org,
        json!({"user": user, "label": "bench"}),
        &key,
        vec![],
    );
    let (s, b) = api.post("/v1/tokens", None, env.to_string()).await;
    assert_eq!(s, 201, "login: {b}");
    Firm {
        key,
        org: org.to_owned(),
        user: user.to_owned(),
        token: b["token"].as_str().unwrap().to_owned(),
    }
}

/// The operator onboards a firm of `kind` (core enterprise, funder); its
/// admin enrols and logs in.
pub async fn onboard(api: &Api, op: &Firm, kind: &str, name: &str) -> Firm {
    let (org, user, key) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        fresh_key(),
    );
    act(
        api,
        op,
        "/v1/organisations",
        "org.onboard",
        json!({"org_id": org, "kind": kind,
        "name": name, "admin": {"user_id": user, "name": format!("{name} admin"),
        "public_key": key.public_key().to_hex()}}),
    )
    .await;
    login(api, &org, &user, key).await
}

/// `core` invites an upstream supplier of `tier`; its admin logs in.
pub async fn invite(api: &Api, core: &Firm, tier: u8, name: &str) -> Firm {
    invite_under(api, core, tier, name, None).await
}

/// As `invite`, naming from tier 2 the firm this supplier supplies.
pub async fn invite_under(
    api: &Api,
    core: &Firm,
    tier: u8,
    name: &str,
    parent: Option<&Firm>,
) -> Firm {
    let (org, user, key) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        fresh_key(),
    );
    act(
        api,
        core,
        "/v1/relationships",
        "relationship.invite",
        json!({
        "relationship_id": uuid::Uuid::new_v4(), "direction": "upstream", "tier": tier,
        "parent_org_id": parent.map(|p| p.org.clone()),
        "counterparty": {"org_id": org, "kind": "supplier", "name": name,
            "admin": {"user_id": user, "name": format!("{name} admin"),
                "public_key": key.public_key().to_hex()}}}),
    )
    .await;
    login(api, &org, &user, key).await
}

/// `admin` adds a user with `role`, who logs in.
pub async fn staff(api: &Api, admin: &Firm, role: &str) -> Firm {
    let (user, key) = (uuid::Uuid::new_v4().to_string(), fresh_key());
    act(
        api,
        admin,
        "/v1/users",
        "user.add",
        json!({"user_id": user, "name": format!("{role} user"),
        "role": role, "public_key": key.public_key().to_hex()}),
    )
    .await;
    login(api, &admin.org, &user, key).await
}

/// The firm registers (a small firm's figures) and the operator approves.
pub async fn register_and_approve(api: &Api, op: &Firm, firm: &Firm, uscc: &str) {
    let body = json!({"uscc": uscc, "name": "Registered", "industry": "industry",
        "headcount": 50, "revenue": "12000000.00", "total_assets": "8000000", "figures_year": 2025});
    act(
        api,
        firm,
        &format!("/v1/organisations/{}/registration", firm.org),
        "org.register",
        body,
    )
    .await;
    act(
        api,
        op,
        &format!("/v1/organisations/{}/kyc", firm.org),
        "org.kyc",
        json!({"org_id": firm.org, "decision": "approve"}),
    )
    .await;
}

/// Latencies of one closed-loop measurement.
#[derive(Debug, Default)]
pub struct Stats {
    pub done: usize,
    pub errors: usize,
    pub secs: f64,
    pub lat: Vec<Duration>,
}

impl Stats {
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let mut lat = self.lat.clone();
        lat.sort_unstable();
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }

    /// A Markdown table row: name, throughput, p50, p99, count, errors.
    pub fn line(&self, name: &str) -> String {
        format!(
            "| {name} | {:.0}/s | {:.2} ms | {:.2} ms | {} | {} |",
            self.done as f64 / self.secs,
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.done,
            self.errors
        )
    }
}

/// Open loop: sends `send(i)` at `rate` requests per second, whatever the
/// answers, until `secs` pass or the `items` run out; each latency counts
/// from the request's scheduled send time, so time spent queueing (in the
/// client or the server) is in it. `secs` runs to the last answer, so a
/// server that falls behind shows a throughput below `rate`.
pub async fn drive_at<F>(rate: f64, secs: u64, items: usize, send: F) -> Stats
where
    F: Fn(usize) -> Send + std::marker::Send + Sync + 'static,
{
    let send = Arc::new(send);
    let period = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now();
    let window = Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..items {
        let at = start + period.mul_f64(i as f64);
        if at.duration_since(start) >= window {
            break;
        }
        tokio::time::sleep_until(at).await;
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let ok = send(i).await;
            (ok, at.elapsed())
        }));
    }
    let mut stats = Stats::default();
    for t in tasks {
        let (ok, lat) = t.await.unwrap();
        if ok {
            stats.done += 1;
            stats.lat.push(lat);
        } else {
            stats.errors += 1;
        }
    }
    stats.secs = start.elapsed().as_secs_f64();
    stats
}

/// The future one request is.
pub type Send = std::pin::Pin<Box<dyn std::future::Future<Output = bool> + std::marker::Send>>;

/// Sends `send(i)` for i in 0.. from `clients` tasks until `secs` pass or
/// the `items` run out; a `false` answer counts as an error.
pub async fn drive<F>(clients: usize, secs: u64, items: usize, send: F) -> Stats
where
    F: Fn(usize) -> Send + std::marker::Send + Sync + 'static,
{
    let send = Arc::new(send);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (send, next) = (send.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                if send(i).await {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut stats = Stats::default();
    for t in tasks {
        let (lat, errors) = t.await.unwrap();
        stats.done += lat.len();
        stats.errors += errors;
        stats.lat.extend(lat);
    }
    stats.secs = start.elapsed().as_secs_f64();
    stats
}
