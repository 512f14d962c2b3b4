//! LPR fixings (贷款市场报价利率): dated, published market data. Prices are
//! "LPR + spread", so a quote names the fixing it used; the fixing in force
//! on a date is the newest one published on or before it.

use crate::db::schema::lpr_fixings;
use crate::db::{DbConn, DbDecimal, DbId};
use crate::ledger::writer::{CommandError, EntryView};
use crate::routes::mutation::rejected;
use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The two published tenors: 1 year, and over 5 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Tenor {
    #[serde(rename = "1Y")]
    OneYear,
    #[serde(rename = "5Y")]
    FiveYear,
}

impl Tenor {
    pub fn as_str(self) -> &'static str {
        match self {
            Tenor::OneYear => "1Y",
            Tenor::FiveYear => "5Y",
        }
    }

    pub fn parse(s: &str) -> Option<Tenor> {
        match s {
            "1Y" => Some(Tenor::OneYear),
            "5Y" => Some(Tenor::FiveYear),
            _ => None,
        }
    }
}

/// One published fixing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Fixing {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub tenor: Tenor,
    /// `YYYY-MM-DD`, the publication date.
    #[schema(value_type = String, format = Date)]
    pub fixing_date: NaiveDate,
    /// Percent per annum as published, e.g. `"3.00"`.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "3.00")]
    pub rate: Decimal,
    pub source: String,
    /// The `lpr.publish` entry that recorded it; none for the seeded history.
    pub ledger_seq: Option<i64>,
}

impl crate::listing::CsvRow for Fixing {
    const COLUMNS: &'static [&'static str] =
        &["id", "tenor", "fixing_date", "rate", "source", "ledger_seq"];
}

type Row = (DbId, String, NaiveDate, DbDecimal, String, Option<i64>);

macro_rules! columns {
    () => {
        (
            lpr_fixings::id,
            lpr_fixings::tenor,
            lpr_fixings::fixing_date,
            lpr_fixings::rate,
            lpr_fixings::source,
            lpr_fixings::ledger_seq,
        )
    };
}

/// Rates read back normalised ("3"); show them as published, with at
/// least two decimals ("3.00").
fn as_published(mut rate: Decimal) -> Decimal {
    if rate.scale() < 2 {
        rate.rescale(2);
    }
    rate
}

fn to_fixing(r: Row) -> Option<Fixing> {
    Some(Fixing {
        id: r.0.0,
        tenor: Tenor::parse(&r.1)?,
        fixing_date: r.2,
        rate: as_published(r.3.0),
        source: r.4,
        ledger_seq: r.5,
    })
}

/// The fixing in force for `tenor` on `on`.
pub fn in_force(
    conn: &mut DbConn,
    tenor: Tenor,
    on: NaiveDate,
) -> Result<Option<Fixing>, diesel::result::Error> {
    let row: Option<Row> = lpr_fixings::table
        .filter(lpr_fixings::tenor.eq(tenor.as_str()))
        .filter(lpr_fixings::fixing_date.le(on))
        .order(lpr_fixings::fixing_date.desc())
        .select(columns!())
        .first(conn)
        .optional()?;
    Ok(row.and_then(to_fixing))
}

/// Fixings newest first, before `before` (a fixing date) if given.
pub fn list(
    conn: &mut DbConn,
    tenor: Option<Tenor>,
    before: Option<(NaiveDate, String)>,
    limit: i64,
) -> Result<Vec<Fixing>, diesel::result::Error> {
    let mut q = lpr_fixings::table.select(columns!()).into_boxed();
    if let Some(t) = tenor {
        q = q.filter(lpr_fixings::tenor.eq(t.as_str()));
    }
    if let Some((date, tenor)) = before {
        // Keyset on (date desc, tenor asc): the same date may hold both tenors.
        q = q.filter(
            lpr_fixings::fixing_date
                .lt(date)
                .or(lpr_fixings::fixing_date
                    .eq(date)
                    .and(lpr_fixings::tenor.gt(tenor))),
        );
    }
    let rows: Vec<Row> = q
        .order((lpr_fixings::fixing_date.desc(), lpr_fixings::tenor.asc()))
        .limit(limit)
        .load(conn)?;
    Ok(rows.into_iter().filter_map(to_fixing).collect())
}

/// Body of `lpr.publish` (signed by the platform operator).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    pub tenor: Tenor,
    #[schema(value_type = String, format = Date)]
    pub fixing_date: NaiveDate,
    /// Percent per annum as published, a decimal string with at most 4
    /// decimals, e.g. `"3.00"`.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "3.00")]
    pub rate: Decimal,
    /// Where the figure comes from (the announcement).
    pub source: String,
}

/// `lpr.publish`: records a fixing. Fixings are not edited; a date that
/// has one already is a conflict, and a date after the entry is refused.
pub fn publish(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    body: &PublishBody,
) -> Result<serde_json::Value, CommandError> {
    let unprocessable = |m: String| rejected(422, "unprocessable", m);
    if body.rate <= Decimal::ZERO || body.rate >= Decimal::ONE_HUNDRED || body.rate.scale() > 4 {
        return Err(unprocessable(
            "rate is percent per annum: above 0, below 100, at most 4 decimals".into(),
        ));
    }
    let today = view.time.as_datetime().date_naive();
    if body.fixing_date > today {
        return Err(unprocessable(format!(
            "fixing_date {} is in the future (today is {today}); publish a fixing once it is announced",
            body.fixing_date
        )));
    }
    let source = crate::parties::onboarding::text("source", &body.source)?;
    let taken: i64 = lpr_fixings::table
        .filter(lpr_fixings::tenor.eq(body.tenor.as_str()))
        .filter(lpr_fixings::fixing_date.eq(body.fixing_date))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(rejected(
            409,
            "conflict",
            format!(
                "the {} fixing of {} is published already; fixings are never edited",
                body.tenor.as_str(),
                body.fixing_date
            ),
        ));
    }
    let id = DbId::new_v7();
    diesel::insert_into(lpr_fixings::table)
        .values((
            lpr_fixings::id.eq(id),
            lpr_fixings::tenor.eq(body.tenor.as_str()),
            lpr_fixings::fixing_date.eq(body.fixing_date),
            lpr_fixings::rate.eq(DbDecimal(body.rate)),
            lpr_fixings::source.eq(source),
            lpr_fixings::ledger_seq.eq(i64::try_from(view.seq).ok()),
        ))
        .execute(conn)?;
    let fixing = Fixing {
        id: id.0,
        tenor: body.tenor,
        fixing_date: body.fixing_date,
        rate: as_published(body.rate),
        source: body.source.trim().to_owned(),
        ledger_seq: i64::try_from(view.seq).ok(),
    };
    Ok(serde_json::json!({ "fixing": fixing }))
}
