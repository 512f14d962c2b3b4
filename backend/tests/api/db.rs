//! Storage layer: every test runs on a fresh SQLite file and, when
//! `SCF_TEST_DATABASE_URL` is set, on a fresh PostgreSQL database too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::type_complexity
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant as StdInstant};

use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use rust_decimal::Decimal;
use scf_backend::db::testing::{PG_ENV, TestDb};
use scf_backend::db::{
    self, Db, DbConn, DbDecimal, DbError, DbId, DbInstant, DbKind, ErrorClass, classify, parse_url,
    schema, write_tx,
};

fn migrations_dir(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(kind)
}

fn version_dirs(kind: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(migrations_dir(kind))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// diesel reports a version as the directory name up to the first `_`.
fn expected_versions() -> Vec<String> {
    version_dirs("postgres")
        .iter()
        .map(|d| d.split('_').next().unwrap().to_owned())
        .collect()
}

#[derive(QueryableByName, Debug)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = BigInt)]
    nullable: i64,
}

/// Coarse type class: what the value is stored as on SQLite.
fn type_class(kind: DbKind, declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let class = match (kind, t.as_str()) {
        (DbKind::Sqlite, "text") => "text",
        (DbKind::Sqlite, "integer") => "integer",
        (DbKind::Sqlite, "blob") => "blob",
        (DbKind::Postgres, "text" | "uuid" | "numeric" | "timestamp with time zone" | "date") => {
            "text"
        }
        // diesel stores `Bool` as 0 or 1 on SQLite.
        (DbKind::Postgres, "integer" | "bigint" | "boolean") => "integer",
        (DbKind::Postgres, "bytea") => "blob",
        _ => panic!("column type {declared:?} on {kind:?} is outside the portable set"),
    };
    class.to_owned()
}

/// table -> ordered (column, type class, nullable) of the application tables.
type SchemaDump = BTreeMap<String, Vec<(String, String, bool)>>;

fn dump_schema(conn: &mut DbConn) -> SchemaDump {
    let kind = conn.kind();
    let sql = match kind {
        DbKind::Sqlite => {
            // STRICT tables enforce NOT NULL on primary keys even where the
            // column is not declared NOT NULL, so count pk columns as such.
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
             CAST(CASE WHEN p.\"notnull\" = 0 AND p.pk = 0 THEN 1 ELSE 0 END AS INTEGER) AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%' \
             ORDER BY m.name, p.cid"
        }
        DbKind::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
             data_type::text AS data_type, \
             CAST(CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS BIGINT) AS nullable \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%' \
             ORDER BY table_name, ordinal_position"
        }
    };
    let rows: Vec<ColumnRow> = diesel::sql_query(sql).load(conn).unwrap();
    let mut out = SchemaDump::new();
    for r in rows {
        out.entry(r.table_name).or_default().push((
            r.column_name,
            type_class(kind, &r.data_type),
            r.nullable != 0,
        ));
    }
    out
}

#[test]
fn migration_trees_list_the_same_versions() {
    let pg = version_dirs("postgres");
    let sqlite = version_dirs("sqlite");
    assert!(!pg.is_empty());
    assert_eq!(pg, sqlite);
    for kind in ["postgres", "sqlite"] {
        for dir in &pg {
            for file in ["up.sql", "down.sql"] {
                let path = migrations_dir(kind).join(dir).join(file);
                assert!(path.is_file(), "missing {}", path.display());
            }
        }
    }
}

#[test]
fn migrations_up_down_up() {
    for tdb in TestDb::all().unwrap() {
        let mut conn = tdb.establish().unwrap();
        let applied = db::migrate(&mut conn).unwrap();
        assert_eq!(applied, expected_versions(), "{:?}", tdb.kind());
        assert_eq!(
            db::migrate::applied_versions(&mut conn).unwrap(),
            expected_versions()
        );
        assert!(
            db::migrate(&mut conn).unwrap().is_empty(),
            "second run applies nothing"
        );
        let first = dump_schema(&mut conn);
        assert_eq!(first.len(), 28, "{:?}: {:?}", tdb.kind(), first.keys());

        let mut reverted = db::revert_all(&mut conn).unwrap();
        reverted.reverse();
        assert_eq!(reverted, expected_versions());
        assert!(
            dump_schema(&mut conn).is_empty(),
            "{:?}: down left tables",
            tdb.kind()
        );

        db::migrate(&mut conn).unwrap();
        assert_eq!(
            dump_schema(&mut conn),
            first,
            "{:?}: up after down differs",
            tdb.kind()
        );
    }
}

#[test]
fn schema_parity_between_backends() {
    let sqlite = TestDb::sqlite().unwrap();
    let mut conn = sqlite.establish().unwrap();
    db::migrate(&mut conn).unwrap();
    let sqlite_schema = dump_schema(&mut conn);
    let Ok(pg_url) = std::env::var(PG_ENV) else {
        eprintln!("schema parity: {PG_ENV} not set, compared nothing against Postgres");
        return;
    };
    let pg = TestDb::postgres(&pg_url).unwrap();
    let mut conn = pg.establish().unwrap();
    db::migrate(&mut conn).unwrap();
    let pg_schema = dump_schema(&mut conn);
    assert_eq!(
        sqlite_schema.keys().collect::<Vec<_>>(),
        pg_schema.keys().collect::<Vec<_>>()
    );
    for (table, cols) in &sqlite_schema {
        assert_eq!(Some(cols), pg_schema.get(table), "table {table}");
    }
}

#[test]
fn seeded_size_class_rules_are_identical() {
    let mut seen = Vec::new();
    for tdb in TestDb::all().unwrap() {
        let mut conn = tdb.establish().unwrap();
        db::migrate(&mut conn).unwrap();
        use schema::size_class_rules::dsl as r;
        let rows: Vec<(DbId, String, chrono::NaiveDate, i32, String)> = r::size_class_rules
            .select((r::id, r::industry, r::effective_from, r::version, r::rule))
            .order(r::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(rows.len(), 15);
        for row in &rows {
            let rule: serde_json::Value = serde_json::from_str(&row.4).unwrap();
            assert!(rule["small_min"].is_object(), "{}", row.1);
        }
        seen.push(rows);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}

diesel::table! {
    use diesel::sql_types::*;
    use scf_backend::db::types::sql_types::*;

    type_probe (id) {
        id -> Id,
        amount -> Dec,
        maybe -> Nullable<Dec>,
        at -> Instant,
        bytes -> Binary,
    }
}

fn create_probe(conn: &mut DbConn) {
    let ddl = match conn.kind() {
        DbKind::Sqlite => {
            "CREATE TABLE type_probe (id TEXT PRIMARY KEY, amount TEXT NOT NULL, maybe TEXT, \
             at TEXT NOT NULL, bytes BLOB NOT NULL) STRICT"
        }
        DbKind::Postgres => {
            "CREATE TABLE type_probe (id UUID PRIMARY KEY, amount NUMERIC(28, 10) NOT NULL, \
             maybe NUMERIC(28, 10), at TIMESTAMPTZ NOT NULL, bytes BYTEA NOT NULL)"
        }
    };
    conn.batch_execute(ddl).unwrap();
}

#[test]
fn custom_types_round_trip() {
    let big = Decimal::from_str("12345678901234567.0123456789").unwrap();
    let at = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap()
        + chrono::Duration::nanoseconds(123_456_789);
    let at_us = DateTime::parse_from_rfc3339("2024-02-29T23:59:59.123456Z")
        .unwrap()
        .with_timezone(&Utc);
    for tdb in TestDb::all().unwrap() {
        let mut conn = tdb.establish().unwrap();
        create_probe(&mut conn);
        use type_probe::dsl as p;
        let id = DbId::new_v7();
        let other = DbId::new_v7();
        let rows = vec![
            (
                p::id.eq(id),
                p::amount.eq(DbDecimal(big)),
                p::maybe.eq(Some(DbDecimal(Decimal::from_str("-1.50").unwrap()))),
                p::at.eq(DbInstant(at)),
                p::bytes.eq(vec![0u8, 255, 1, 2]),
            ),
            (
                p::id.eq(other),
                p::amount.eq(DbDecimal(Decimal::ZERO)),
                p::maybe.eq(None),
                p::at.eq(DbInstant::new(at_us + chrono::Duration::microseconds(1))),
                p::bytes.eq(vec![]),
            ),
        ];
        // Multi-row VALUES does not compile through MultiConnection (see the
        // `db` module docs); one statement per row.
        for row in &rows {
            diesel::insert_into(p::type_probe)
                .values(row)
                .execute(&mut conn)
                .unwrap();
        }

        let got: (DbId, DbDecimal, Option<DbDecimal>, DbInstant, Vec<u8>) = p::type_probe
            .filter(p::id.eq(id))
            .select((p::id, p::amount, p::maybe, p::at, p::bytes))
            .first(&mut conn)
            .unwrap();
        let k = tdb.kind();
        assert_eq!(got.0, id, "{k:?}");
        assert_eq!(got.1.0.to_string(), "12345678901234567.0123456789", "{k:?}");
        assert_eq!(
            got.2.map(|d| d.0.to_string()).as_deref(),
            Some("-1.5"),
            "{k:?} normalised"
        );
        assert_eq!(got.3.0, at_us, "{k:?} truncated to µs");
        assert_eq!(got.4, vec![0u8, 255, 1, 2]);

        // Filtering and ordering on the custom types behave the same.
        let later: Vec<DbId> = p::type_probe
            .filter(p::at.gt(DbInstant(at_us)))
            .select(p::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(later, vec![other], "{k:?}");
        let mut ids = vec![id, other];
        ids.sort();
        let ordered: Vec<DbId> = p::type_probe
            .select(p::id)
            .order(p::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(ordered, ids, "{k:?}: uuid order");

        // UPDATE … RETURNING through the MultiConnection.
        let zero: (DbId, DbDecimal, Option<DbDecimal>, DbInstant, Vec<u8>) =
            diesel::update(p::type_probe.filter(p::id.eq(other)))
                .set(p::maybe.eq(Some(DbDecimal(Decimal::new(1, 10)))))
                .get_result(&mut conn)
                .unwrap();
        assert_eq!(zero.1.0.to_string(), "0", "{k:?}");
        assert_eq!(zero.2.unwrap().0.to_string(), "0.0000000001", "{k:?}");

        if k == DbKind::Sqlite {
            // The stored text is the exact, canonical form.
            #[derive(QueryableByName)]
            struct Raw {
                #[diesel(sql_type = Text)]
                id: String,
                #[diesel(sql_type = Text)]
                amount: String,
                #[diesel(sql_type = Text)]
                at: String,
            }
            let raw: Raw =
                diesel::sql_query("SELECT id, amount, at FROM type_probe WHERE amount <> '0'")
                    .get_result(&mut conn)
                    .unwrap();
            assert_eq!(raw.id, id.0.hyphenated().to_string());
            assert_eq!(raw.amount, "12345678901234567.0123456789");
            assert_eq!(raw.at, "2024-02-29T23:59:59.123456Z");
        }
    }
}

fn new_org(conn: &mut DbConn, name: &str, uscc: Option<&str>) -> QueryResult<DbId> {
    use schema::organisations::dsl as o;
    let id = DbId::new_v7();
    let now = DbInstant::now();
    diesel::insert_into(o::organisations)
        .values((
            o::id.eq(id),
            o::kind.eq("supplier"),
            o::name.eq(name),
            o::uscc.eq(uscc),
            o::status.eq("registered"),
            o::revenue.eq(Some(DbDecimal(Decimal::new(123_456_789, 2)))),
            o::created_at.eq(now),
            o::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

fn org_names(conn: &mut DbConn) -> Vec<String> {
    use schema::organisations::dsl as o;
    o::organisations
        .select(o::name)
        .order(o::name)
        .load(conn)
        .unwrap()
}

#[test]
fn constraint_errors_are_classified() {
    for tdb in TestDb::all().unwrap() {
        let mut conn = tdb.establish().unwrap();
        db::migrate(&mut conn).unwrap();
        let k = tdb.kind();
        let org = new_org(&mut conn, "a", Some("914403001922038216")).unwrap();

        let dup = new_org(&mut conn, "b", Some("914403001922038216")).unwrap_err();
        assert_eq!(classify(&dup), ErrorClass::UniqueViolation, "{k:?}: {dup}");

        use schema::users::dsl as u;
        let user = |org_id: DbId, role: &str| {
            (
                u::id.eq(DbId::new_v7()),
                u::org_id.eq(org_id),
                u::name.eq("x"),
                u::role.eq(role.to_owned()),
                u::created_at.eq(DbInstant::now()),
            )
        };
        // Foreign keys are enforced, so the SQLite pragma took effect.
        let fk = diesel::insert_into(u::users)
            .values(user(DbId::new_v7(), "admin"))
            .execute(&mut conn)
            .unwrap_err();
        assert_eq!(classify(&fk), ErrorClass::ForeignKey, "{k:?}: {fk}");
        let check = diesel::insert_into(u::users)
            .values(user(org, "root"))
            .execute(&mut conn)
            .unwrap_err();
        assert_eq!(classify(&check), ErrorClass::Check, "{k:?}: {check}");

        let missing = schema::organisations::table
            .find(DbId::new_v7())
            .select(schema::organisations::name)
            .first::<String>(&mut conn)
            .unwrap_err();
        assert_eq!(classify(&missing), ErrorClass::NotFound);
        let e: DbError = missing.into();
        assert_eq!(e.class(), ErrorClass::NotFound);

        use schema::organisations::dsl as o;
        let revenue: Option<DbDecimal> = o::organisations
            .find(org)
            .select(o::revenue)
            .first(&mut conn)
            .unwrap();
        assert_eq!(revenue.unwrap().0.to_string(), "1234567.89", "{k:?}");
    }
}

#[test]
fn sqlite_lock_contention_is_busy() {
    let tdb = TestDb::sqlite().unwrap();
    let mut writer = tdb.establish().unwrap();
    db::migrate(&mut writer).unwrap();
    let mut other = tdb.establish().unwrap();
    other.batch_execute("PRAGMA busy_timeout = 0").unwrap();
    let err = write_tx(&mut writer, |w| {
        new_org(w, "held", None)?;
        // The first connection holds the write lock until this closure ends.
        Ok::<_, diesel::result::Error>(
            write_tx(&mut other, |o| new_org(o, "blocked", None)).unwrap_err(),
        )
    })
    .unwrap();
    assert_eq!(classify(&err), ErrorClass::Busy, "{err}");
    assert_eq!(org_names(&mut writer), vec!["held"]);
}

#[test]
fn savepoint_failure_rolls_back_only_that_command() {
    for tdb in TestDb::all().unwrap() {
        let mut conn = tdb.establish().unwrap();
        db::migrate(&mut conn).unwrap();
        let k = tdb.kind();
        // One transaction per batch, one savepoint per command.
        let outcomes = write_tx(&mut conn, |c| {
            let mut outcomes = Vec::new();
            for (name, uscc) in [
                ("first", Some("914403001922038216")),
                ("second", None),
                ("dup", Some("914403001922038216")),
                ("third", None),
            ] {
                let r = c.transaction(|c| {
                    new_org(c, name, None)?;
                    // A command that writes, then fails: its first write must go too.
                    new_org(c, &format!("{name}-x"), uscc)
                });
                outcomes.push(r.map(|_| ()).map_err(|e| classify(&e)));
            }
            Ok::<_, diesel::result::Error>(outcomes)
        })
        .unwrap();
        assert_eq!(
            outcomes,
            vec![Ok(()), Ok(()), Err(ErrorClass::UniqueViolation), Ok(())],
            "{k:?}"
        );
        assert_eq!(
            org_names(&mut conn),
            vec!["first", "first-x", "second", "second-x", "third", "third-x"],
            "{k:?}"
        );

        // An error from the batch itself rolls back every command in it.
        let r: Result<(), DbError> = write_tx(&mut conn, |c| {
            c.transaction(|c| new_org(c, "lost", None))?;
            Err(DbError::Task("batch aborted".into()))
        });
        assert!(r.is_err());
        assert_eq!(org_names(&mut conn).len(), 6, "{k:?}");

        // write_tx nested in a transaction is a savepoint, not a new BEGIN.
        conn.transaction(|c| {
            let inner: QueryResult<()> = write_tx(c, |c| {
                new_org(c, "nested", None)?;
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(inner.is_err());
            new_org(c, "kept", None)
        })
        .unwrap();
        let names = org_names(&mut conn);
        assert!(
            names.contains(&"kept".to_owned()) && !names.contains(&"nested".to_owned()),
            "{k:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_runs_closures_and_applies_pragmas() {
    for tdb in TestDb::all().unwrap() {
        let pool: Db = tdb.connect().unwrap();
        assert_eq!(pool.kind(), tdb.kind());
        let applied = pool.run(db::migrate).await.unwrap();
        assert_eq!(applied, expected_versions());
        let names = pool
            .run(|c| {
                write_tx(c, |c| new_org(c, "via-run", None))?;
                Ok::<_, DbError>(org_names(c))
            })
            .await
            .unwrap();
        assert_eq!(names, vec!["via-run"]);

        if tdb.kind() == DbKind::Sqlite {
            #[derive(QueryableByName)]
            struct Pragmas {
                #[diesel(sql_type = Text)]
                journal_mode: String,
                #[diesel(sql_type = BigInt)]
                synchronous: i64,
                #[diesel(sql_type = BigInt)]
                foreign_keys: i64,
                #[diesel(sql_type = BigInt)]
                busy_timeout: i64,
            }
            let p: Pragmas = pool
                .run(|c| {
                    diesel::sql_query(
                        "SELECT (SELECT journal_mode FROM pragma_journal_mode) AS journal_mode, \
                         (SELECT synchronous FROM pragma_synchronous) AS synchronous, \
                         (SELECT foreign_keys FROM pragma_foreign_keys) AS foreign_keys, \
                         (SELECT timeout FROM pragma_busy_timeout) AS busy_timeout",
                    )
                    .get_result(c)
                    .map_err(DbError::from)
                })
                .await
                .unwrap();
            assert_eq!(p.journal_mode, "wal");
            assert_eq!(p.synchronous, 2, "FULL");
            assert_eq!(p.foreign_keys, 1);
            assert_eq!(p.busy_timeout, 5000);
        }
    }
}

#[test]
fn url_parsing() {
    assert_eq!(parse_url("postgres://u@h/db").unwrap().0, DbKind::Postgres);
    assert_eq!(
        parse_url("postgresql://u@h/db").unwrap().0,
        DbKind::Postgres
    );
    assert_eq!(
        parse_url("sqlite://scf-data/scf.db").unwrap(),
        (DbKind::Sqlite, "scf-data/scf.db".to_owned())
    );
    assert_eq!(
        parse_url("sqlite:///var/lib/scf/scf.db").unwrap(),
        (DbKind::Sqlite, "/var/lib/scf/scf.db".to_owned())
    );
    assert_eq!(
        parse_url("sqlite::memory:").unwrap(),
        (DbKind::Sqlite, ":memory:".to_owned())
    );
    for bad in [
        "pgdb",
        "scf.db",
        "mysql://u@h/db",
        "postgres:/u@h",
        "sqlite:scf.db",
        "sqlite://",
        "",
    ] {
        let err = parse_url(bad).unwrap_err().to_string();
        assert!(!err.contains('\n'), "{bad:?}: {err}");
        if !bad.starts_with("sqlite://") {
            assert!(
                err.contains("unknown database URL scheme"),
                "{bad:?}: {err}"
            );
            assert!(
                err.contains("use sqlite://PATH or postgres://"),
                "{bad:?}: {err}"
            );
        }
    }
    let err = parse_url("mysql://root:hunter2@h/db")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn typo_url_creates_no_file() {
    let dir = std::env::temp_dir().join(format!("scf-typo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let typo = dir.join("pgdb");
    assert!(Db::connect(typo.to_str().unwrap(), None).is_err());
    assert!(!typo.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sqlite_missing_directory_is_a_clear_error() {
    let url = format!(
        "sqlite:///nonexistent-{}/scf.db",
        uuid::Uuid::new_v4().simple()
    );
    let err = Db::connect(&url, None).unwrap_err();
    assert!(matches!(err, DbError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn in_memory_sqlite_keeps_one_database() {
    let pool = Db::connect("sqlite::memory:", None).unwrap();
    db::migrate(&mut pool.get().unwrap()).unwrap();
    // A second checkout must see the same migrated database.
    assert!(org_names(&mut pool.get().unwrap()).is_empty());
}

#[test]
fn unreachable_postgres_fails_fast() {
    let start = StdInstant::now();
    // Port 1 on loopback: connection refused at once.
    let err = Db::connect("postgres://postgres@127.0.0.1:1/postgres", None).unwrap_err();
    assert!(matches!(err, DbError::Unavailable(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("cannot connect to PostgreSQL") && !msg.contains('\n'),
        "{msg}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    // A server that accepts TCP but never answers: bounded by connect_timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let start = StdInstant::now();
    let err = Db::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        None,
    )
    .unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, DbError::Unavailable(_)), "{err:?}");
    assert!(took < Duration::from_secs(9), "took {took:?}: {err}");
    drop(silent);
}

/// Writes and reads one row of every table through `schema.rs`, so a column
/// whose type or name drifted from the migrations fails on that backend.
#[test]
fn schema_rs_matches_migrations() {
    use schema::*;
    for tdb in TestDb::all().unwrap() {
        let mut conn = tdb.establish().unwrap();
        db::migrate(&mut conn).unwrap();
        let k = tdb.kind();
        let now = DbInstant::now();
        let hash = |b: u8| vec![b; 32];
        let core = new_org(&mut conn, "core", None).unwrap();
        let supplier = new_org(&mut conn, "supplier", None).unwrap();
        let user = DbId::new_v7();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(user),
                users::org_id.eq(core),
                users::name.eq("u"),
                users::role.eq("maker"),
                users::created_at.eq(now),
                users::disabled_at.eq(None::<DbInstant>),
            ))
            .execute(&mut conn)
            .unwrap();

        let token = (
            DbId::new_v7(),
            user,
            core,
            "scf_ab12".to_owned(),
            hash(1),
            "ci".to_owned(),
            now,
            now,
            None::<DbInstant>,
            Some(now),
        );
        let got: (
            DbId,
            DbId,
            DbId,
            String,
            Vec<u8>,
            String,
            DbInstant,
            DbInstant,
            Option<DbInstant>,
            Option<DbInstant>,
        ) = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(token.0),
                api_tokens::user_id.eq(token.1),
                api_tokens::org_id.eq(token.2),
                api_tokens::prefix.eq(&token.3),
                api_tokens::token_hash.eq(&token.4),
                api_tokens::label.eq(&token.5),
                api_tokens::created_at.eq(token.6),
                api_tokens::expires_at.eq(token.7),
                api_tokens::revoked_at.eq(token.8),
                api_tokens::last_used_at.eq(token.9),
            ))
            .returning((
                api_tokens::id,
                api_tokens::user_id,
                api_tokens::org_id,
                api_tokens::prefix,
                api_tokens::token_hash,
                api_tokens::label,
                api_tokens::created_at,
                api_tokens::expires_at,
                api_tokens::revoked_at,
                api_tokens::last_used_at,
            ))
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(got, token, "{k:?} api_tokens");

        let key = (
            "0123456789abcdef0123456789abcdef".to_owned(),
            user,
            core,
            hash(2),
            0i64,
            Some(7i64),
            now,
        );
        diesel::insert_into(signing_keys::table)
            .values((
                signing_keys::key_id.eq(&key.0),
                signing_keys::user_id.eq(key.1),
                signing_keys::org_id.eq(key.2),
                signing_keys::public_key.eq(&key.3),
                signing_keys::added_seq.eq(key.4),
                signing_keys::revoked_seq.eq(key.5),
                signing_keys::created_at.eq(key.6),
            ))
            .execute(&mut conn)
            .unwrap();
        let got: (String, DbId, DbId, Vec<u8>, i64, Option<i64>, DbInstant) =
            signing_keys::table.first(&mut conn).unwrap();
        assert_eq!(got, key, "{k:?} signing_keys");
        let bad_key = diesel::insert_into(signing_keys::table)
            .values((
                signing_keys::key_id.eq("0123456789ABCDEF0123456789ABCDEF"),
                signing_keys::user_id.eq(user),
                signing_keys::org_id.eq(core),
                signing_keys::public_key.eq(hash(3)),
                signing_keys::added_seq.eq(1i64),
                signing_keys::created_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap_err();
        assert_eq!(
            classify(&bad_key),
            ErrorClass::Check,
            "{k:?}: uppercase key id"
        );

        let rel = (
            DbId::new_v7(),
            core,
            supplier,
            "upstream".to_owned(),
            1i32,
            "invited".to_owned(),
            user,
            now,
            Some(supplier),
        );
        diesel::insert_into(relationships::table)
            .values((
                relationships::id.eq(rel.0),
                relationships::core_org_id.eq(rel.1),
                relationships::counterparty_org_id.eq(rel.2),
                relationships::direction.eq(&rel.3),
                relationships::tier.eq(rel.4),
                relationships::status.eq(&rel.5),
                relationships::invited_by_user_id.eq(rel.6),
                relationships::created_at.eq(rel.7),
                relationships::parent_org_id.eq(rel.8),
            ))
            .execute(&mut conn)
            .unwrap();
        #[allow(clippy::type_complexity)]
        let got: (
            DbId,
            DbId,
            DbId,
            String,
            i32,
            String,
            DbId,
            DbInstant,
            Option<DbId>,
        ) = relationships::table.first(&mut conn).unwrap();
        assert_eq!(got, rel, "{k:?} relationships");

        let entry = (
            0i64,
            "org-1".to_owned(),
            "intent-1".to_owned(),
            "key.add".to_owned(),
            now,
            "{\"seq\":0}".to_owned(),
            hash(5),
            hash(6),
        );
        diesel::insert_into(ledger_entries::table)
            .values((
                ledger_entries::seq.eq(entry.0),
                ledger_entries::org_id.eq(&entry.1),
                ledger_entries::intent_id.eq(&entry.2),
                ledger_entries::event_type.eq(&entry.3),
                ledger_entries::time.eq(entry.4),
                ledger_entries::line.eq(&entry.5),
                ledger_entries::leaf.eq(&entry.6),
                ledger_entries::chain.eq(&entry.7),
            ))
            .execute(&mut conn)
            .unwrap();
        let got: (
            i64,
            String,
            String,
            String,
            DbInstant,
            String,
            Vec<u8>,
            Vec<u8>,
        ) = ledger_entries::table.first(&mut conn).unwrap();
        assert_eq!(got, entry, "{k:?} ledger_entries");

        let cp = (1i64, "{\"size\":1}".to_owned(), hash(7), hash(8), now);
        diesel::insert_into(ledger_checkpoints::table)
            .values((
                ledger_checkpoints::size.eq(cp.0),
                ledger_checkpoints::line.eq(&cp.1),
                ledger_checkpoints::root.eq(&cp.2),
                ledger_checkpoints::chain.eq(&cp.3),
                ledger_checkpoints::time.eq(cp.4),
            ))
            .execute(&mut conn)
            .unwrap();
        let got: (i64, String, Vec<u8>, Vec<u8>, DbInstant) =
            ledger_checkpoints::table.first(&mut conn).unwrap();
        assert_eq!(got, cp, "{k:?} ledger_checkpoints");

        let idem = (
            core,
            user,
            "k-1".to_owned(),
            hash(9),
            Some(201i32),
            Some(b"{}".to_vec()),
            Some("[]".to_owned()),
            now,
            Some(now),
        );
        diesel::insert_into(idempotency::table)
            .values((
                idempotency::org_id.eq(idem.0),
                idempotency::user_id.eq(idem.1),
                idempotency::key.eq(&idem.2),
                idempotency::request_hash.eq(&idem.3),
                idempotency::status.eq(idem.4),
                idempotency::response_body.eq(&idem.5),
                idempotency::response_headers.eq(&idem.6),
                idempotency::created_at.eq(idem.7),
                idempotency::completed_at.eq(idem.8),
            ))
            .execute(&mut conn)
            .unwrap();
        let got = idempotency::table
            .find((user, "k-1"))
            .first::<(
                DbId,
                DbId,
                String,
                Vec<u8>,
                Option<i32>,
                Option<Vec<u8>>,
                Option<String>,
                DbInstant,
                Option<DbInstant>,
            )>(&mut conn)
            .unwrap();
        assert_eq!(got, idem, "{k:?} idempotency");

        let org: (
            DbId,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<i32>,
            Option<DbDecimal>,
            Option<DbDecimal>,
            Option<i32>,
            DbInstant,
            DbInstant,
            Option<DbId>,
            Option<DbId>,
        ) = organisations::table.find(core).first(&mut conn).unwrap();
        assert_eq!(
            org.9,
            Some(DbDecimal(Decimal::new(123_456_789, 2))),
            "{k:?}"
        );
    }
}
