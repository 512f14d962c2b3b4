//! Fresh databases for tests: a temp SQLite file always, and a throwaway
//! Postgres database when `SCF_TEST_DATABASE_URL` names a server. Public so
//! the HTTP tests can run every case on both backends too.

use std::path::PathBuf;

use diesel::connection::SimpleConnection as _;

use super::{ConnManager, Db, DbConn, DbError, DbKind};

/// Server to create test databases on, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`. Unset: SQLite only.
pub const PG_ENV: &str = "SCF_TEST_DATABASE_URL";

/// A database that exists for one test and is removed on drop.
#[derive(Debug)]
pub struct TestDb {
    url: String,
    kind: DbKind,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Dir(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl TestDb {
    /// A new SQLite file in its own temp directory.
    pub fn sqlite() -> Result<Self, DbError> {
        let dir = std::env::temp_dir().join(format!("scf-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| DbError::Config(format!("cannot create {}: {e}", dir.display())))?;
        let url = format!("sqlite://{}", dir.join("scf.db").display());
        Ok(Self {
            url,
            kind: DbKind::Sqlite,
            cleanup: Cleanup::Dir(dir),
        })
    }

    /// A new, empty database `scf_test_<uuid>` on the server `admin_url`.
    pub fn postgres(admin_url: &str) -> Result<Self, DbError> {
        let name = format!("scf_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = ConnManager::new(admin_url)?.establish()?;
        // The name is generated above from hex digits, so interpolation is safe.
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(Self {
            url: with_database(admin_url, &name),
            kind: DbKind::Postgres,
            cleanup: Cleanup::PgDatabase {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// SQLite, plus Postgres when [`PG_ENV`] is set: run each test on all.
    pub fn all() -> Result<Vec<Self>, DbError> {
        let mut dbs = vec![Self::sqlite()?];
        if let Some(url) = std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty()) {
            dbs.push(Self::postgres(&url)?);
        }
        Ok(dbs)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// One unpooled connection.
    pub fn establish(&self) -> Result<DbConn, DbError> {
        ConnManager::new(&self.url)?.establish()
    }

    /// A pool, as the service would open it.
    pub fn connect(&self) -> Result<Db, DbError> {
        Db::connect(&self.url, Some(4))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgDatabase { admin_url, name } => {
                // FORCE ends connections a test left open (pools in flight).
                let dropped = ConnManager::new(admin_url)
                    .and_then(|m| m.establish())
                    .and_then(|mut c| {
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .map_err(DbError::from)
                    });
                if let Err(e) = dropped {
                    tracing::warn!(database = %name, error = %e, "could not drop test database");
                }
            }
        }
    }
}

/// Replaces the database name (the URL path) in a Postgres URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base
        .get(authority_start..)
        .and_then(|rest| rest.find('/'))
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", base.get(..path_start).unwrap_or(base));
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_database_name() {
        assert_eq!(
            super::with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
        assert_eq!(
            super::with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
    }
}
