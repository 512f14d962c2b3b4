//! Rollback refusal: a database restored from an older copy must not be
//! served once the service has published a newer checkpoint, or the
//! history a bank or court already holds a signed head of would silently
//! change. The data directory keeps `published-checkpoint.json`; at start
//! the writer compares the database with it and refuses.

use crate::mutations;
use crate::server::{Server, Storage};
use diesel::Connection as _;
use diesel::connection::SimpleConnection as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PUBLISHED: &str = "published-checkpoint.json";

/// A copy of the server's database, taken while the server is down.
/// PostgreSQL copies are databases of their own, dropped with the copy.
enum Backup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, copy: String },
}

impl Backup {
    fn take(server: &Server, tag: &str) -> Backup {
        match server.storage() {
            Storage::Sqlite(db) => {
                let to = server.path(&format!("backup-{tag}.db"));
                let mut conn = diesel::SqliteConnection::establish(db.to_str().unwrap()).unwrap();
                conn.batch_execute(&format!("VACUUM INTO '{}'", to.display()))
                    .unwrap();
                Backup::Sqlite(to)
            }
            Storage::Postgres {
                admin_url, name, ..
            } => {
                let copy = format!("{name}_{tag}");
                // The stopped server's sessions may take a moment to end,
                // and a template must have none.
                pg_retry(
                    admin_url,
                    &format!("CREATE DATABASE {copy} TEMPLATE {name}"),
                );
                Backup::Postgres {
                    admin_url: admin_url.clone(),
                    copy,
                }
            }
        }
    }

    /// Puts this copy in place of the server's database.
    fn restore(&self, server: &Server) {
        match (self, server.storage()) {
            (Backup::Sqlite(from), Storage::Sqlite(db)) => {
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", db.display()));
                    if side.exists() {
                        std::fs::remove_file(side).unwrap();
                    }
                }
                std::fs::copy(from, db).unwrap();
            }
            (Backup::Postgres { admin_url, copy }, Storage::Postgres { name, .. }) => {
                pg_retry(admin_url, &format!("DROP DATABASE {name} WITH (FORCE)"));
                pg_retry(
                    admin_url,
                    &format!("CREATE DATABASE {name} TEMPLATE {copy}"),
                );
            }
            _ => unreachable!("a backup is restored to the server it was taken from"),
        }
    }
}

impl Drop for Backup {
    fn drop(&mut self) {
        if let Backup::Postgres { admin_url, copy } = self
            && let Ok(mut conn) = diesel::PgConnection::establish(admin_url)
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {copy} WITH (FORCE)"));
        }
    }
}

/// Runs a statement on the PostgreSQL server, retrying for up to 10 s
/// while the database it names is still in use. Names are generated hex.
fn pg_retry(admin_url: &str, sql: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut conn = diesel::PgConnection::establish(admin_url).unwrap();
    loop {
        match conn.batch_execute(sql) {
            Ok(()) => return,
            Err(e) if Instant::now() < deadline && e.to_string().contains("other users") => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("{sql}: {e}"),
        }
    }
}

fn published(server: &Server) -> (u64, Vec<u8>) {
    let bytes = std::fs::read(server.data_dir().join(PUBLISHED)).unwrap();
    let cp: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    (cp["size"].as_u64().unwrap(), bytes)
}

#[tokio::test]
async fn rollback_refused() {
    let mut server = Server::start().await;
    let op = server.operator();
    for _ in 0..3 {
        mutations::add_key(&op).send(&op).await.expect(201);
    }
    // A clean stop publishes a checkpoint over everything stored.
    server.stop();
    let (old_size, _) = published(&server);
    let old = Backup::take(&server, "old");

    server.restart().await;
    let op = server.operator();
    let mut last = 0;
    for _ in 0..5 {
        let reply = mutations::onboard(&op, &crate::client::new_id(), "funder")
            .send(&op)
            .await
            .expect(201);
        last = reply["receipt"]["seq"].as_u64().unwrap();
    }
    // Published while running, as a client would fetch it.
    server.wait_for_checkpoint(last + 1).await;
    server.stop();
    let (new_size, published_bytes) = published(&server);
    assert!(new_size > old_size, "{new_size} > {old_size}");
    let newer = Backup::take(&server, "new");

    // The operator restores last night's copy by mistake.
    old.restore(&server);
    let (status, stderr) = server.refused_start();
    eprintln!(
        "rollback: scf serve refused with {status}: {}",
        stderr.trim()
    );
    assert!(!status.success(), "{stderr}");
    assert_eq!(
        status.code(),
        Some(2),
        "an operator's error, not a crash: {stderr}"
    );
    let expected = format!(
        "refusing to start: the database holds {old_size} ledger entries, but a checkpoint of size {new_size} was already published (see {})",
        server.data_dir().join(PUBLISHED).display()
    );
    // Logs go to stderr too; the verdict is its last line.
    let verdict = stderr.trim().lines().last().unwrap_or_default();
    assert!(verdict.starts_with("scf serve: "), "{stderr}");
    assert!(verdict.contains(&expected), "{stderr}");
    assert!(
        verdict.ends_with("the database was restored from an older copy or lost writes"),
        "{stderr}"
    );
    // Refusing changed nothing: the witness still names the newer head.
    assert_eq!(published(&server).1, published_bytes);

    // With the newer copy back in place the service starts, and the whole
    // ledger, both sessions, verifies.
    newer.restore(&server);
    server.restart().await;
    let cp = server.wait_for_checkpoint(new_size).await;
    assert_eq!(cp["size"].as_u64().unwrap(), new_size);
    let export = server.export("after-rollback.jsonl");
    let report = server.verify(&export);
    assert!(
        report.contains(&format!("entries        {new_size} verified")),
        "{report}"
    );
}
