//! `spawn_app()`: a real server on 127.0.0.1:0 with its own data directory.
//! Extend `TestApp` (a database, keys) rather than adding another helper.

use diesel::prelude::*;
use scf_backend::db::schema::{organisations, users};
use scf_backend::db::testing::{PG_ENV, TestDb};
use scf_backend::db::{DbId, DbInstant};
use scf_backend::{Application, Settings};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Logs stay quiet unless `TEST_LOG=1`; the subscriber is global, so it is
/// installed once per test binary.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = scf_backend::telemetry::init("info", scf_backend::config::LogFormat::Pretty);
    }
});

#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// Deleted when the `TestApp` is dropped.
    pub data_dir: tempfile::TempDir,
    /// The app's own database: PostgreSQL when `SCF_TEST_DATABASE_URL`
    /// names a server, else a SQLite file. Held so it lives as long as the app.
    #[allow(dead_code)]
    pub db: TestDb,
    /// The server's own storage and writer.
    pub opened: scf_backend::ledger::Opened,
}

impl Drop for TestApp {
    /// Stops the writer before the database goes: dropping a PostgreSQL test
    /// database ends its connections, and a writer that then fails to
    /// checkpoint stops the whole process (exit 70), every test with it.
    fn drop(&mut self) {
        let writer = self.opened.writer.clone();
        // Drop may run inside the test's runtime, which cannot block on
        // another; a thread of its own can.
        let stopped = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(writer.stop());
            }
        })
        .join();
        let _ = stopped;
    }
}

impl TestApp {
    /// Bootstraps the operator's first admin through the server's own writer
    /// and returns (the admin's secret key, API token).
    pub async fn bootstrap_admin(&self, name: &str) -> (scf_ledger::sig::SecretKey, String) {
        let key = scf_ledger::sig::SecretKey::from_seed(&scf_ledger::hash::sha256(name.as_bytes()));
        let b = scf_backend::parties::bootstrap::bootstrap(
            &self.opened.db,
            &self.opened.writer,
            self.opened.operator,
            name,
            &key,
        )
        .await
        .unwrap();
        (key, b.token.expose().to_owned())
    }

    /// Creates an approved organisation of `kind` directly in storage (no
    /// onboarding endpoint exists yet) and returns its id.
    pub fn add_org(&self, kind: &str, name: &str) -> DbId {
        let id = DbId::new_v7();
        let now = DbInstant::now();
        diesel::insert_into(organisations::table)
            .values((
                organisations::id.eq(id),
                organisations::kind.eq(kind),
                organisations::name.eq(name),
                organisations::status.eq("approved"),
                organisations::created_at.eq(now),
                organisations::updated_at.eq(now),
            ))
            .execute(&mut self.opened.db.get().unwrap())
            .unwrap();
        id
    }

    /// Creates a user of `org` with `role` directly in storage and returns
    /// (user id, API token).
    pub fn add_user(&self, org: DbId, role: &str) -> (DbId, String) {
        let id = DbId::new_v7();
        let mut conn = self.opened.db.get().unwrap();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(id),
                users::org_id.eq(org),
                users::name.eq(format!("{role} of {}", org.0)),
                users::role.eq(role),
                users::created_at.eq(DbInstant::now()),
            ))
            .execute(&mut conn)
            .unwrap();
        let token = scf_backend::parties::tokens::issue(&mut conn, id, org, "test", 1).unwrap();
        (id, token.expose().to_owned())
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with extra `SCF_*` settings (they go through the
/// same parser as the real environment).
pub async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    LazyLock::force(&TRACING);
    let data_dir = tempfile::tempdir().unwrap();
    let db = match std::env::var(PG_ENV) {
        Ok(server) => TestDb::postgres(&server).unwrap(),
        Err(_) => TestDb::sqlite().unwrap(),
    };
    let mut vars: HashMap<String, String> = HashMap::from([
        ("SCF_LISTEN".into(), "127.0.0.1:0".into()),
        ("SCF_DATA_DIR".into(), data_dir.path().display().to_string()),
        ("SCF_DATABASE_URL".into(), db.url().to_owned()),
        ("SCF_TEST_MODE".into(), "true".into()),
    ]);
    vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let settings = Settings::load_with(None, |k| vars.get(k).cloned()).unwrap();
    settings.ensure_data_dir().unwrap();

    let app = Application::build(settings.clone()).await.unwrap();
    let port = app.port();
    let opened = app.opened().clone();
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // The machine may set HTTP_PROXY; tests talk to loopback only.
        .no_proxy()
        .build()
        .unwrap();
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client,
        settings,
        data_dir,
        db,
        opened,
    }
}

/// A signed-intent envelope `{intent, sigs}` of `kind` for `org`, signed by
/// `signer` (and by each of `cosigners` after it).
pub fn signed(
    kind: &str,
    org: &str,
    body: serde_json::Value,
    signer: &scf_ledger::sig::SecretKey,
) -> serde_json::Value {
    signed_at(kind, org, body, signer, scf_ledger::time::Timestamp::now())
}

/// As [`signed`], with the intent's `assets` (sorted by key, as SPEC §4 wants).
pub fn signed_with_assets(
    kind: &str,
    org: &str,
    body: serde_json::Value,
    signer: &scf_ledger::sig::SecretKey,
    assets: Vec<scf_ledger::intent::AssetRef>,
) -> serde_json::Value {
    signed_full(
        kind,
        org,
        body,
        signer,
        assets,
        scf_ledger::time::Timestamp::now(),
    )
}

/// [`signed`] with a chosen `client_time`: after a test-mode clock move the
/// client must sign with the server's time (`TestApp::server_time`).
pub fn signed_at(
    kind: &str,
    org: &str,
    body: serde_json::Value,
    signer: &scf_ledger::sig::SecretKey,
    client_time: scf_ledger::time::Timestamp,
) -> serde_json::Value {
    signed_full(kind, org, body, signer, vec![], client_time)
}

fn signed_full(
    kind: &str,
    org: &str,
    body: serde_json::Value,
    signer: &scf_ledger::sig::SecretKey,
    mut assets: Vec<scf_ledger::intent::AssetRef>,
    client_time: scf_ledger::time::Timestamp,
) -> serde_json::Value {
    use scf_ledger::intent::{Intent, signing_message};
    assets.sort_by_key(|a| a.key.0);
    let intent = Intent {
        kind: kind.into(),
        org: org.into(),
        key_id: signer.public_key().key_id(),
        subject: String::new(),
        assets,
        body: body.as_object().cloned().unwrap(),
        id: uuid::Uuid::now_v7().to_string(),
        client_time,
    };
    let bytes = intent.to_bytes();
    let sig = signer.sign(&signing_message(&bytes));
    serde_json::json!({
        "intent": String::from_utf8(bytes).unwrap(),
        "sigs": [{"key_id": signer.public_key().key_id().to_hex(), "sig": sig.to_hex()}],
    })
}

/// A user the tests act as: their key, organisation, user id and token.
#[derive(Debug, Clone)]
pub struct Party {
    pub key: scf_ledger::sig::SecretKey,
    pub org: String,
    pub user: String,
    pub token: String,
}

impl Party {
    pub fn sign(&self, kind: &str, body: serde_json::Value) -> serde_json::Value {
        signed(kind, &self.org, body, &self.key)
    }

    pub fn sign_at(
        &self,
        kind: &str,
        body: serde_json::Value,
        at: scf_ledger::time::Timestamp,
    ) -> serde_json::Value {
        signed_at(kind, &self.org, body, &self.key, at)
    }
}

/// A fresh key per call, so no two test parties share one.
pub fn fresh_key() -> scf_ledger::sig::SecretKey {
    scf_ledger::sig::SecretKey::from_seed(
        uuid::Uuid::new_v4().as_bytes().repeat(2)[..32]
            .try_into()
            .unwrap(),
    )
}

/// A valid USCC that differs per call.
pub fn fresh_uscc() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000;
    scf_ledger::uscc::complete(&format!("91310000{n:09}")).unwrap()
}

impl TestApp {
    /// POSTs `body` with a fresh Idempotency-Key (and `token` if given);
    /// returns the status and the JSON answer.
    pub async fn post_signed(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .client
            .post(self.url(path))
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    pub async fn act(
        &self,
        who: &Party,
        path: &str,
        kind: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.post_signed(path, Some(&who.token), &who.sign(kind, body))
            .await
    }

    /// The server's clock (`GET /v1/time`), which a test-mode move shifts.
    /// `op` exports the whole ledger, which must verify offline.
    pub async fn export_verifies(&self, op: &Party) -> scf_ledger::verify::Report {
        let r = self.get_auth("/v1/ledger/export", &op.token).await;
        let export = r.bytes().await.unwrap().to_vec();
        let report = scf_ledger::verify::verify_bytes(&export, &Default::default()).unwrap();
        assert!(report.is_valid(), "{:?}", report.failure);
        report
    }

    pub async fn server_time(&self) -> scf_ledger::time::Timestamp {
        let t: serde_json::Value = self.get("/v1/time").await.json().await.unwrap();
        scf_ledger::time::Timestamp::parse(t["now"].as_str().unwrap()).unwrap()
    }

    /// `who` acts with intents signed at the server's time.
    pub async fn act_now(
        &self,
        who: &Party,
        path: &str,
        kind: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let at = self.server_time().await;
        self.post_signed(path, Some(&who.token), &who.sign_at(kind, body, at))
            .await
    }

    /// The operator's first admin, bootstrapped.
    pub async fn operator(&self) -> Party {
        let (key, token) = self.bootstrap_admin("Olga Operator").await;
        let me: serde_json::Value = self.get_auth("/v1/me", &token).await.json().await.unwrap();
        Party {
            key,
            org: me["org_id"].as_str().unwrap().to_owned(),
            user: me["user_id"].as_str().unwrap().to_owned(),
            token,
        }
    }

    /// Enrols a created user's key and logs them in.
    pub async fn enrol_and_login(
        &self,
        org: &str,
        user: &str,
        key: scf_ledger::sig::SecretKey,
    ) -> Party {
        let pk = key.public_key().to_hex();
        let env = signed(
            "key.add",
            org,
            serde_json::json!({"user": user, "public_key": pk}),
            &key,
        );
        let (s, b) = self.post_signed("/v1/enrolments", None, &env).await;
        assert_eq!(s, 201, "enrol: {b}");
        let env = signed(
            "auth.token",
            org,
            serde_json::json!({"user": user, "label": "tests"}),
            &key,
        );
        let (s, b) = self.post_signed("/v1/tokens", None, &env).await;
        assert_eq!(s, 201, "login: {b}");
        Party {
            key,
            org: org.to_owned(),
            user: user.to_owned(),
            token: b["token"].as_str().unwrap().to_owned(),
        }
    }

    /// The operator onboards a firm of `kind`; its admin enrols and logs in.
    pub async fn onboard(&self, op: &Party, kind: &str, name: &str) -> Party {
        let (org, user, key) = (
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
            fresh_key(),
        );
        let body = serde_json::json!({
            "org_id": org, "kind": kind, "name": name,
            "admin": {"user_id": user, "name": format!("{name} admin"), "public_key": key.public_key().to_hex()},
        });
        let (s, b) = self.act(op, "/v1/organisations", "org.onboard", body).await;
        assert_eq!(s, 201, "onboard: {b}");
        self.enrol_and_login(&org, &user, key).await
    }

    /// The firm registers with valid figures (a small industrial firm).
    pub async fn register(&self, firm: &Party) -> serde_json::Value {
        let body = serde_json::json!({
            "uscc": fresh_uscc(), "name": "Registered name", "industry": "industry",
            "headcount": 50, "revenue": "12000000.00", "total_assets": "8000000", "figures_year": 2025,
        });
        let (s, b) = self
            .act(
                firm,
                &format!("/v1/organisations/{}/registration", firm.org),
                "org.register",
                body,
            )
            .await;
        assert_eq!(s, 200, "register: {b}");
        b
    }

    pub async fn approve(&self, op: &Party, org: &str) -> serde_json::Value {
        let body = serde_json::json!({"org_id": org, "decision": "approve"});
        let (s, b) = self
            .act(op, &format!("/v1/organisations/{org}/kyc"), "org.kyc", body)
            .await;
        assert_eq!(s, 200, "kyc: {b}");
        b
    }

    /// Onboarded, registered and approved.
    pub async fn approved(&self, op: &Party, kind: &str, name: &str) -> Party {
        let firm = self.onboard(op, kind, name).await;
        self.register(&firm).await;
        self.approve(op, &firm.org).await;
        firm
    }

    /// `core` invites a tier 1 counterparty; its admin enrols and logs in.
    /// Returns the firm and the relationship id.
    pub async fn invite(
        &self,
        core: &Party,
        direction: &str,
        tier: u8,
        name: &str,
    ) -> (Party, String) {
        self.invite_under(core, direction, tier, name, None).await
    }

    /// As `invite`, naming from tier 2 the tier n−1 firm this one trades
    /// with directly.
    pub async fn invite_under(
        &self,
        core: &Party,
        direction: &str,
        tier: u8,
        name: &str,
        parent: Option<&Party>,
    ) -> (Party, String) {
        let kind = if direction == "upstream" {
            "supplier"
        } else {
            "distributor"
        };
        let (org, user, rel, key) = (
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
            fresh_key(),
        );
        let body = serde_json::json!({
            "relationship_id": rel, "direction": direction, "tier": tier,
            "parent_org_id": parent.map(|p| p.org.clone()),
            "counterparty": {"org_id": org, "kind": kind, "name": name,
                "admin": {"user_id": user, "name": format!("{name} admin"), "public_key": key.public_key().to_hex()}},
        });
        let (s, b) = self
            .act(core, "/v1/relationships", "relationship.invite", body)
            .await;
        assert_eq!(s, 201, "invite: {b}");
        (self.enrol_and_login(&org, &user, key).await, rel)
    }
}

impl TestApp {
    /// `admin` adds a user with `role` to its organisation; the user enrols
    /// and logs in.
    pub async fn staff(&self, admin: &Party, role: &str) -> Party {
        let (user, key) = (uuid::Uuid::new_v4().to_string(), fresh_key());
        let body = serde_json::json!({"user_id": user, "name": format!("{role} user"), "role": role,
            "public_key": key.public_key().to_hex()});
        let (s, b) = self.act(admin, "/v1/users", "user.add", body).await;
        assert_eq!(s, 201, "user.add: {b}");
        self.enrol_and_login(&admin.org, &user, key).await
    }
}

/// A valid plan document financing micro to medium suppliers up to tier 2
/// with one funder.
pub fn plan_doc(funder_org: &str) -> serde_json::Value {
    serde_json::json!({
        "products": ["receivables"],
        "program_limit": "100000000.00",
        "funders": [{"org_id": funder_org, "line_limit": "60000000.00"}],
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
    })
}

impl TestApp {
    /// `core` creates its program and drafts version 1 with `plan`, effective
    /// today; returns the program id and the draft's answer.
    pub async fn program(
        &self,
        core: &Party,
        plan: serde_json::Value,
    ) -> (String, serde_json::Value) {
        let program = uuid::Uuid::new_v4().to_string();
        let (s, b) = self
            .act(
                core,
                "/v1/programs",
                "program.create",
                serde_json::json!({"program_id": program, "name": "Supplier finance"}),
            )
            .await;
        assert_eq!(s, 201, "program.create: {b}");
        let today = chrono::Utc::now().date_naive().to_string();
        let body =
            serde_json::json!({"program_id": program, "plan": plan, "effective_from": today});
        let (s, b) = self
            .act(
                core,
                &format!("/v1/programs/{program}/plans"),
                "program.plan_draft",
                body,
            )
            .await;
        assert_eq!(s, 201, "program.plan_draft: {b}");
        (program, b)
    }
}
