//! Embedded migrations, one tree per backend with identical version names.
//! They run on the inner connection because `MigrationHarness` is
//! implemented per backend, not for the generated `MultiBackend`.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DbConn, DbError};

pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// Applies pending migrations; returns the versions applied, oldest first.
pub fn migrate(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts every applied migration (tests, and the down-migration check).
pub fn revert_all(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let reverted = match conn {
        DbConn::Pg(c) => c.revert_all_migrations(POSTGRES),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(reverted.iter().map(ToString::to_string).collect())
}

/// Versions that have been applied, oldest first.
pub fn applied_versions(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let versions = match conn {
        DbConn::Pg(c) => c.applied_migrations(),
        DbConn::Sqlite(c) => c.applied_migrations(),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    let mut out: Vec<String> = versions.iter().map(ToString::to_string).collect();
    out.sort();
    Ok(out)
}
