//! Custom SQL types that let one `schema.rs` serve both backends.
//!
//! Each type maps to the natural Postgres type and to `TEXT` on SQLite, where
//! the text form is chosen so that equality and ordering on the stored text
//! agree with equality and ordering on the value (lowercase hyphenated UUIDs,
//! fixed-width RFC 3339 instants). Decimals never pass through `f64`.

use std::io::Write as _;

use chrono::{DateTime, SubsecRound as _, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, Numeric, Text, Timestamptz};
use diesel::sqlite::{Sqlite, SqliteValue};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::MultiBackend;

pub mod sql_types {
    /// `UUID` on Postgres, lowercase hyphenated `TEXT` on SQLite.
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    #[diesel(postgres_type(oid = 2950, array_oid = 2951))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Id;

    /// `NUMERIC(28, s)` on Postgres, plain decimal `TEXT` on SQLite.
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    #[diesel(postgres_type(oid = 1700, array_oid = 1231))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Dec;

    /// `TIMESTAMPTZ` on Postgres, RFC 3339 `TEXT` with six fraction digits and
    /// `Z` on SQLite.
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    #[diesel(postgres_type(oid = 1184, array_oid = 1185))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Instant;
}

use sql_types::{Dec, Id, Instant};

/// A row id. Generated in Rust (UUIDv7, so ids sort by creation time).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = Id)]
pub struct DbId(pub Uuid);

impl DbId {
    /// A fresh time-ordered id.
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }
}

impl From<Uuid> for DbId {
    fn from(u: Uuid) -> Self {
        Self(u)
    }
}

/// An exact decimal. Read back normalised (no trailing zeros) because
/// Postgres returns the column's scale and SQLite the stored text, and the
/// JSON must not depend on the backend.
///
/// Postgres silently rounds to the column's scale (`NUMERIC(28, 2)` turns
/// `1.005` into `1.01`) while SQLite keeps the text, so writers must round to
/// the column's scale before storing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Dec)]
pub struct DbDecimal(pub Decimal);

impl From<Decimal> for DbDecimal {
    fn from(d: Decimal) -> Self {
        Self(d)
    }
}

/// A UTC instant with microsecond precision, the finest both backends keep.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = Instant)]
pub struct DbInstant(pub DateTime<Utc>);

impl DbInstant {
    /// Truncates to microseconds so a value compares equal after a round trip.
    pub fn new(t: DateTime<Utc>) -> Self {
        Self(t.trunc_subsecs(6))
    }

    pub fn now() -> Self {
        Self::new(Utc::now())
    }

    /// The SQLite text form, also usable in logs: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub fn to_text(&self) -> String {
        self.0
            .trunc_subsecs(6)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }
}

impl From<DateTime<Utc>> for DbInstant {
    fn from(t: DateTime<Utc>) -> Self {
        Self::new(t)
    }
}

/// Implements the `MultiBackend` half of a custom type: the generated backend
/// only knows its built-in types and dispatches everything else to the inner
/// backend's impls.
macro_rules! multi_backend_impls {
    ($sql:ty, $rust:ty) => {
        impl HasSqlType<$sql> for MultiBackend {
            fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                MultiBackend::lookup_sql_type::<$sql>(lookup)
            }
        }

        impl ToSql<$sql, MultiBackend> for $rust {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((<$sql>::default(), self));
                Ok(IsNull::No)
            }
        }

        impl FromSql<$sql, MultiBackend> for $rust {
            fn from_sql(
                bytes: <MultiBackend as Backend>::RawValue<'_>,
            ) -> deserialize::Result<Self> {
                bytes.from_sql::<$rust, $sql>()
            }
        }
    };
}

multi_backend_impls!(Id, DbId);
multi_backend_impls!(Dec, DbDecimal);
multi_backend_impls!(Instant, DbInstant);

// --- Id ---------------------------------------------------------------------

impl ToSql<Id, Pg> for DbId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Id, Pg> for DbId {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(Uuid::from_slice(value.as_bytes())?))
    }
}

impl ToSql<Id, Sqlite> for DbId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Id, Sqlite> for DbId {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Self(Uuid::try_parse(&text)?))
    }
}

// --- Dec --------------------------------------------------------------------

impl ToSql<Dec, Pg> for DbDecimal {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <Decimal as ToSql<Numeric, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Dec, Pg> for DbDecimal {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(
            <Decimal as FromSql<Numeric, Pg>>::from_sql(value)?.normalize(),
        ))
    }
}

impl ToSql<Dec, Sqlite> for DbDecimal {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        // Normalised so that SQL equality on the text agrees with equality on
        // the value ("1.50" and "1.5" would otherwise be different keys).
        out.set_value(self.0.normalize().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Dec, Sqlite> for DbDecimal {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        // `from_str_exact` refuses to round digits it cannot hold.
        Ok(Self(Decimal::from_str_exact(&text)?.normalize()))
    }
}

// --- Instant ----------------------------------------------------------------

impl ToSql<Instant, Pg> for DbInstant {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        let truncated = self.0.trunc_subsecs(6);
        <DateTime<Utc> as ToSql<Timestamptz, Pg>>::to_sql(&truncated, &mut out.reborrow())
    }
}

impl FromSql<Instant, Pg> for DbInstant {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(<DateTime<Utc> as FromSql<Timestamptz, Pg>>::from_sql(
            value,
        )?))
    }
}

impl ToSql<Instant, Sqlite> for DbInstant {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_text());
        Ok(IsNull::No)
    }
}

impl FromSql<Instant, Sqlite> for DbInstant {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        let parsed = DateTime::parse_from_rfc3339(&text)?;
        Ok(Self(parsed.with_timezone(&Utc)))
    }
}
