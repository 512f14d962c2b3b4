//! Storage: one diesel schema over PostgreSQL (production) and SQLite
//! (single-binary start, tests), selected at runtime by the URL scheme.
//!
//! Repository code takes `&mut DbConn` and is synchronous; async callers go
//! through [`Db::run`], which moves the closure onto tokio's blocking pool.
//!
//! What does not compile through `DbConn` (diesel 2.3.14), and the way out:
//! multi-row `insert_into(..).values(&vec)` (insert row by row inside one
//! transaction), `.returning(Row::as_returning())` (use `get_result::<Row>()`
//! with a `Queryable` struct in column order), `on_conflict` and
//! `for_update` (match on the variant and run the query on the inner
//! connection).

pub mod migrate;
pub mod schema;
pub mod testing;
pub mod types;

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, SqliteConnection};

pub use migrate::{migrate, revert_all};
pub use types::{DbDecimal, DbId, DbInstant};

/// The connection every repository function takes. `Sqlite` must stay last:
/// the derived `establish` tries variants in order and SQLite accepts any
/// string as a file name (we never call it; see [`parse_url`]).
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

impl std::fmt::Debug for DbConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pg(_) => f.write_str("DbConn::Pg"),
            Self::Sqlite(_) => f.write_str("DbConn::Sqlite"),
        }
    }
}

impl DbConn {
    pub fn kind(&self) -> DbKind {
        match self {
            Self::Pg(_) => DbKind::Postgres,
            Self::Sqlite(_) => DbKind::Sqlite,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// How a failed statement should be treated by callers (HTTP status, retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    NotFound,
    UniqueViolation,
    ForeignKey,
    /// A `CHECK` constraint rejected the row.
    Check,
    /// Transient contention: SQLite "database is locked" or a Postgres
    /// serialization failure. Safe to retry.
    Busy,
    /// The server or connection is gone.
    Unavailable,
    Other,
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Self::NotFound => "not found",
            Self::UniqueViolation => "unique violation",
            Self::ForeignKey => "foreign key violation",
            Self::Check => "check violation",
            Self::Busy => "database busy",
            Self::Unavailable => "database unavailable",
            Self::Other => "database error",
        };
        f.write_str(s)
    }
}

/// Classifies a diesel error. SQLite reports `SQLITE_BUSY` as an unknown
/// database error, so the message is the only signal.
pub fn classify(err: &DieselError) -> ErrorClass {
    match err {
        DieselError::NotFound => ErrorClass::NotFound,
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::UniqueViolation => ErrorClass::UniqueViolation,
            DatabaseErrorKind::ForeignKeyViolation => ErrorClass::ForeignKey,
            DatabaseErrorKind::CheckViolation => ErrorClass::Check,
            DatabaseErrorKind::SerializationFailure => ErrorClass::Busy,
            DatabaseErrorKind::ClosedConnection => ErrorClass::Unavailable,
            _ => {
                let msg = info.message();
                if msg.contains("database is locked")
                    || msg.contains("database table is locked")
                    || msg.contains("database schema is locked")
                {
                    ErrorClass::Busy
                } else {
                    ErrorClass::Other
                }
            }
        },
        _ => ErrorClass::Other,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database URL or path is unusable; the message says how to fix it.
    #[error("{0}")]
    Config(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("{class}: {source}")]
    Query {
        class: ErrorClass,
        #[source]
        source: DieselError,
    },
    /// The blocking task running a closure panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

impl DbError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Query { class, .. } => *class,
            Self::Unavailable(_) => ErrorClass::Unavailable,
            Self::Config(_) | Self::Migration(_) | Self::Task(_) => ErrorClass::Other,
        }
    }
}

impl From<DieselError> for DbError {
    fn from(source: DieselError) -> Self {
        Self::Query {
            class: classify(&source),
            source,
        }
    }
}

const SQLITE_MEMORY: &str = ":memory:";

/// Splits a database URL into the backend and the string to open.
///
/// Accepts `postgres://…`, `postgresql://…`, `sqlite://PATH` and
/// `sqlite::memory:`. Anything else is an error rather than a SQLite file
/// name, so a typo never creates an empty database somewhere.
pub fn parse_url(url: &str) -> Result<(DbKind, String), DbError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((DbKind::Postgres, url.to_owned()));
    }
    if url == "sqlite::memory:" || url == "sqlite://:memory:" {
        return Ok((DbKind::Sqlite, SQLITE_MEMORY.to_owned()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(DbError::Config(format!(
                "database URL {url:?} has no path; use sqlite://PATH, e.g. sqlite://scf-data/scf.db"
            )));
        }
        if path.contains('?') || path.starts_with("file:") {
            return Err(DbError::Config(format!(
                "database URL {url:?}: SQLite URI parameters are not supported; use sqlite://PATH"
            )));
        }
        return Ok((DbKind::Sqlite, path.to_owned()));
    }
    let scheme = url.split_once(':').map_or("(none)", |(s, _)| s);
    Err(DbError::Config(format!(
        "unknown database URL scheme {scheme:?} in {:?}; use sqlite://PATH or postgres://USER@HOST/DB",
        redact(url)
    )))
}

/// Hides a password in `scheme://user:password@host` for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let userinfo = url.get(start + 3..at).unwrap_or_default();
            match userinfo.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    url.get(..start + 3).unwrap_or_default(),
                    url.get(at..).unwrap_or_default()
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// How long to wait for Postgres to accept a connection, and for the pool to
/// hand one out, before reporting the database as unavailable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const SQLITE_POOL_SIZE: u32 = 4;
pub const DEFAULT_PG_POOL_SIZE: u32 = 8;

/// Opens connections of the kind named by the URL and prepares SQLite ones.
#[derive(Debug, Clone)]
pub struct ConnManager {
    kind: DbKind,
    target: String,
}

impl ConnManager {
    pub fn new(url: &str) -> Result<Self, DbError> {
        let (kind, target) = parse_url(url)?;
        let target = match kind {
            DbKind::Postgres => with_connect_timeout(&target),
            DbKind::Sqlite => target,
        };
        Ok(Self { kind, target })
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Opens one connection outside any pool (migrations, tests).
    pub fn establish(&self) -> Result<DbConn, DbError> {
        match self.kind {
            DbKind::Postgres => PgConnection::establish(&self.target)
                .map(DbConn::Pg)
                .map_err(|e| {
                    DbError::Unavailable(format!(
                        "cannot connect to PostgreSQL: {}",
                        one_line(&e.to_string())
                    ))
                }),
            DbKind::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target).map_err(|e| {
                    DbError::Unavailable(format!(
                        "cannot open SQLite database {:?}: {e}",
                        self.target
                    ))
                })?;
                sqlite_pragmas(&mut conn)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// libpq waits for the OS TCP timeout (minutes) by default; a server that is
/// down must instead fail startup within a few seconds.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={}", CONNECT_TIMEOUT.as_secs())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Per-connection settings, each its own statement, in this order: the busy
/// timeout first so the WAL switch itself waits for other connections;
/// `synchronous=FULL` because an acknowledged write must survive power loss
/// (NORMAL in WAL mode may lose the last commits); foreign keys are off by
/// default on every new SQLite connection.
fn sqlite_pragmas(conn: &mut SqliteConnection) -> Result<(), DbError> {
    use diesel::connection::SimpleConnection as _;
    for pragma in [
        "PRAGMA busy_timeout = 5000",
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
    ] {
        conn.batch_execute(pragma)
            .map_err(|e| DbError::Unavailable(format!("SQLite {pragma:?} failed: {e}")))?;
    }
    Ok(())
}

impl ManageConnection for ConnManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.establish().map_err(|e| match e {
            DbError::Query { source, .. } => diesel::r2d2::Error::QueryError(source),
            other => diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                other.to_string(),
            )),
        })
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Checks that SQLite can create its database, `-wal` and `-shm` files next
/// to `path`, so a bad path fails at startup with a plain message instead of
/// "unable to open database file" on the first request.
fn check_sqlite_dir(path: &str) -> Result<(), DbError> {
    if path == SQLITE_MEMORY {
        return Ok(());
    }
    let file = Path::new(path);
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(DbError::Config(format!(
            "SQLite directory {} does not exist; create it or fix the sqlite:// path",
            dir.display()
        )));
    }
    let probe = dir.join(format!(
        ".scf-write-probe-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            DbError::Config(format!(
                "SQLite directory {} is not writable: {e}",
                dir.display()
            ))
        })
}

/// The connection pool. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnManager>,
    kind: DbKind,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("kind", &self.kind)
            .field("state", &self.pool.state())
            .finish()
    }
}

pub type PooledConn = PooledConnection<ConnManager>;

impl Db {
    /// Connects and builds the pool. `pool_size` applies to Postgres; SQLite
    /// has one writer anyway, so its pool stays at [`SQLITE_POOL_SIZE`].
    /// Blocks for at most about [`CONNECT_TIMEOUT`]; call it before the
    /// async runtime starts serving, or from `spawn_blocking`.
    pub fn connect(url: &str, pool_size: Option<u32>) -> Result<Self, DbError> {
        let manager = ConnManager::new(url)?;
        let kind = manager.kind();
        let memory = kind == DbKind::Sqlite && manager.target == SQLITE_MEMORY;
        if kind == DbKind::Sqlite {
            check_sqlite_dir(&manager.target)?;
        }
        // One direct connection first: r2d2 would only report a timeout,
        // while this surfaces the real cause (refused, auth, bad path).
        drop(manager.establish()?);

        let builder = Pool::builder().connection_timeout(CONNECT_TIMEOUT);
        let builder = match (kind, memory) {
            // Every connection to ":memory:" is a separate empty database,
            // so the pool must hold exactly one that never gets recycled.
            (DbKind::Sqlite, true) => builder
                .max_size(1)
                .min_idle(Some(1))
                .idle_timeout(None)
                .max_lifetime(None),
            (DbKind::Sqlite, false) => builder.max_size(SQLITE_POOL_SIZE).min_idle(Some(1)),
            // No idle floor: with one, r2d2 opens a replacement in the
            // background whenever every connection is in use, and a TLS
            // handshake still running on its worker thread when the process
            // exits races OpenSSL's exit-time cleanup (a crash after a
            // successful `scf bootstrap` was seen once in CI). Connections
            // are opened when asked for and kept until idle.
            (DbKind::Postgres, _) => builder
                .max_size(pool_size.unwrap_or(DEFAULT_PG_POOL_SIZE).max(1))
                .min_idle(Some(0)),
        };
        let pool = builder
            .build(manager)
            .map_err(|e| DbError::Unavailable(one_line(&e.to_string())))?;
        Ok(Self { pool, kind })
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// A pooled connection; waits at most [`CONNECT_TIMEOUT`]. Blocking.
    pub fn get(&self) -> Result<PooledConn, DbError> {
        self.pool
            .get()
            .map_err(|e| DbError::Unavailable(one_line(&e.to_string())))
    }

    /// Runs a blocking closure on a pooled connection on tokio's blocking
    /// pool, so diesel never stalls the async workers.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| DbError::Unavailable(one_line(&e.to_string())))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }
}

/// Runs `f` in a write transaction and commits if it returns `Ok`.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: taking the write
/// lock up front means `busy_timeout` applies, whereas a deferred transaction
/// that reads first fails at once with SQLITE_BUSY when it tries to upgrade.
/// Inside an open transaction this becomes a savepoint, like `transaction`.
///
/// Nested `conn.transaction(..)` calls inside `f` are savepoints on both
/// backends: an inner `Err` rolls back only the inner work.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DieselError>,
{
    let in_transaction =
        <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()?
            .is_some();
    if in_transaction {
        return conn.transaction(f);
    }
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    // From here on the inner connection's transaction manager tracks the
    // transaction, and `DbConn`'s manager delegates to it, so nested
    // `transaction` calls in `f` become savepoints.
    type Tm = <DbConn as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(user_error) => match Tm::rollback_transaction(conn) {
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(user_error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}
