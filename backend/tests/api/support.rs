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
