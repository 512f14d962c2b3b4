//! Cursor pagination for list endpoints (docs/API-DESIGN.md, "Pagination").
//!
//! A cursor names the last key a client has seen, never an offset: rows
//! inserted while a client pages cannot shift it, so pages neither skip nor
//! repeat items. The key is any serde value (an integer such as a ledger
//! `seq`, a string such as a UUIDv7 id, a tuple for a compound order).
//!
//! A list endpoint takes [`PageQuery`] beside its own filter, turns it into
//! a [`PageRequest`] with a *scope* (the endpoint and its filter), fetches
//! [`PageRequest::fetch_limit`] rows after [`PageRequest::after`] in key
//! order, and builds the answer with [`Page::from_rows`]:
//!
//! ```no_run
//! # use actix_web::{get, web, HttpResponse};
//! # use diesel::prelude::*;
//! # use scf_backend::db::{Db, DbError, DbId, schema::organisations};
//! # use scf_backend::pagination::{Page, PageQuery};
//! # use scf_backend::ApiError;
//! # #[derive(Queryable)] struct OrgRow { id: DbId, name: String }
//! # #[derive(serde::Serialize)] struct OrgBody { id: String, name: String }
//! # impl From<OrgRow> for OrgBody { fn from(r: OrgRow) -> Self { OrgBody { id: r.id.0.to_string(), name: r.name } } }
//! #[get("/organisations")]
//! async fn list(db: web::Data<Db>, page: web::Query<PageQuery>) -> Result<HttpResponse, ApiError> {
//!     // UUIDv7 ids sort in creation order on both backends.
//!     let req = page.request::<uuid::Uuid>("organisations")?;
//!     let (after, fetch) = (req.after, req.fetch_limit());
//!     let rows: Vec<OrgRow> = db
//!         .run(move |c| {
//!             let mut q = organisations::table
//!                 .order(organisations::id.asc())
//!                 .limit(fetch)
//!                 .select((organisations::id, organisations::name))
//!                 .into_boxed();
//!             if let Some(after) = after {
//!                 q = q.filter(organisations::id.gt(DbId(after)));
//!             }
//!             q.load(c).map_err(DbError::from)
//!         })
//!         .await
//!         .map_err(ApiError::internal)?;
//!     let page = Page::from_rows(&req, rows, |r| r.id.0)?.map(OrgBody::from);
//!     Ok(HttpResponse::Ok().json(page))
//! }
//! ```

use crate::error::{ApiError, ErrorCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
/// Far above any cursor we issue; refusing longer ones early keeps a
/// hostile query string from reaching the decoder.
const MAX_CURSOR_LEN: usize = 512;

/// `limit` and `cursor`, the query parameters of every list endpoint. Take
/// it as its own `web::Query` beside the endpoint's filter: both read the
/// same query string and ignore each other's parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "limit_param")]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page, as it was returned; omit it for
    /// the first page. Opaque: it is valid only for the same endpoint and
    /// filter.
    #[param(min_length = 1, max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// Names the parameter when it is not a number at all; the query-string
/// parser's own message ("invalid digit found in string") does not.
fn limit_param<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    raw.map(|s| {
        s.parse::<i64>().map_err(|_| {
            serde::de::Error::custom(format!(
                "limit must be an integer between 1 and {MAX_LIMIT}, not {s:?}"
            ))
        })
    })
    .transpose()
}

impl PageQuery {
    /// Checks `limit` and decodes `cursor`. `scope` names the endpoint and
    /// every filter that changes which rows a page holds (say
    /// `"ledger.entries?from=5"`), so that a cursor is refused when reused
    /// elsewhere instead of silently answering a different question.
    pub fn request<K: DeserializeOwned>(&self, scope: &str) -> Result<PageRequest<K>, ApiError> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "limit must be between 1 and {MAX_LIMIT}, not {n}"
                    ))
                })?,
        };
        let after = self
            .cursor
            .as_deref()
            .map(|c| decode_cursor(c, scope))
            .transpose()?;
        Ok(PageRequest {
            limit,
            after,
            scope: scope_tag(scope),
        })
    }
}

/// A checked page request: how many items, and the last key seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<K> {
    /// Items in the page, 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// The last key of the previous page; fetch rows with a greater key.
    /// `None` for the first page.
    pub after: Option<K>,
    scope: String,
}

impl<K> PageRequest<K> {
    /// Rows to fetch: one more than the page holds, so that the extra row
    /// tells whether a next page exists without a second query.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl<R> Page<R> {
    /// Builds a page from rows fetched with [`PageRequest::fetch_limit`] in
    /// key order; `key` gives a row's key, which the next cursor carries.
    pub fn from_rows<K: Serialize>(
        req: &PageRequest<K>,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> K,
    ) -> Result<Page<R>, ApiError> {
        let page = usize::try_from(req.limit).unwrap_or(usize::MAX);
        if rows.len() <= page {
            return Ok(Page {
                items: rows,
                next_cursor: None,
            });
        }
        rows.truncate(page);
        let next_cursor = rows
            .last()
            .map(|last| encode_cursor(&req.scope, &key(last)))
            .transpose()?;
        Ok(Page {
            items: rows,
            next_cursor,
        })
    }

    pub fn map<T>(self, f: impl FnMut(R) -> T) -> Page<T> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }

    pub fn try_map<T, E>(self, f: impl FnMut(R) -> Result<T, E>) -> Result<Page<T>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, E>>()?,
            next_cursor: self.next_cursor,
        })
    }
}

/// What a cursor holds before base64url: the scope tag and the last key.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorBody<S, K> {
    s: S,
    k: K,
}

/// A short digest of the scope rather than the scope itself: filters may
/// be long or hold search text, and the cursor only has to tell scopes apart.
fn scope_tag(scope: &str) -> String {
    let digest = Sha256::digest(scope.as_bytes());
    hex::encode(digest.get(..6).unwrap_or_default())
}

fn encode_cursor<K: Serialize>(scope_tag: &str, key: &K) -> Result<String, ApiError> {
    let json = serde_json::to_vec(&CursorBody {
        s: scope_tag,
        k: key,
    })
    .map_err(|e| ApiError::internal(anyhow::anyhow!("cannot encode a cursor: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

fn decode_cursor<K: DeserializeOwned>(cursor: &str, scope: &str) -> Result<K, ApiError> {
    let malformed = || {
        ApiError::new(
            ErrorCode::BadRequest,
            "cursor is not a cursor this endpoint issued; pass next_cursor back unchanged",
        )
    };
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
        return Err(malformed());
    }
    let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| malformed())?;
    let body: CursorBody<String, K> = serde_json::from_slice(&json).map_err(|_| malformed())?;
    if body.s != scope_tag(scope) {
        return Err(ApiError::bad_request(
            "cursor belongs to another list or filter; repeat the request that returned it, with the same filter",
        ));
    }
    Ok(body.k)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn query(limit: Option<i64>, cursor: Option<&str>) -> PageQuery {
        PageQuery {
            limit,
            cursor: cursor.map(str::to_owned),
        }
    }

    #[test]
    fn limit_defaults_and_bounds() {
        let r: PageRequest<i64> = query(None, None).request("x").unwrap();
        assert_eq!((r.limit, r.after, r.fetch_limit()), (50, None, 51));
        for ok in [1, 200] {
            assert_eq!(
                query(Some(ok), None).request::<i64>("x").unwrap().limit as i64,
                ok
            );
        }
        for bad in [0, -1, 201, i64::MAX, i64::MIN] {
            let e = query(Some(bad), None).request::<i64>("x").unwrap_err();
            assert_eq!(e.code(), ErrorCode::BadRequest);
            assert!(e.detail().contains("between 1 and 200"), "{}", e.detail());
        }
    }

    #[test]
    fn cursors_round_trip_integer_string_and_compound_keys() {
        let rows: Vec<i64> = (10..16).collect();
        let req = query(Some(5), None).request::<i64>("ints").unwrap();
        let page = Page::from_rows(&req, rows, |r| *r).unwrap();
        assert_eq!(page.items, vec![10, 11, 12, 13, 14]);
        let next = page.next_cursor.unwrap();
        assert!(
            next.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let req = query(Some(5), Some(&next)).request::<i64>("ints").unwrap();
        assert_eq!(req.after, Some(14));

        let req = query(Some(1), None).request::<String>("strs").unwrap();
        let page = Page::from_rows(&req, vec!["a".to_owned(), "b".to_owned()], Clone::clone)
            .unwrap()
            .map(|s| s.len());
        assert_eq!(page.items, vec![1]);
        let back = query(None, page.next_cursor.as_deref())
            .request::<String>("strs")
            .unwrap();
        assert_eq!(back.after.as_deref(), Some("a"));

        let req = query(Some(1), None)
            .request::<(String, String)>("pairs")
            .unwrap();
        let rows = vec![("t1", "id1"), ("t2", "id2")];
        let page =
            Page::from_rows(&req, rows, |(t, i)| ((*t).to_owned(), (*i).to_owned())).unwrap();
        let back = query(None, page.next_cursor.as_deref())
            .request::<(String, String)>("pairs")
            .unwrap();
        assert_eq!(back.after, Some(("t1".to_owned(), "id1".to_owned())));
    }

    #[test]
    fn last_page_has_no_cursor() {
        let req = query(Some(3), None).request::<i64>("x").unwrap();
        for n in 0..=3 {
            let page = Page::from_rows(&req, (0..n).collect(), |r| *r).unwrap();
            assert_eq!(page.items.len() as i64, n);
            assert!(page.next_cursor.is_none());
        }
    }

    #[test]
    fn malformed_or_foreign_cursors_are_refused() {
        let req = query(Some(1), None).request::<i64>("a?from=0").unwrap();
        let cursor = Page::from_rows(&req, vec![1i64, 2], |r| *r)
            .unwrap()
            .next_cursor
            .unwrap();
        let padded = format!("{cursor}=");
        let not_json = URL_SAFE_NO_PAD.encode(b"seq 5");
        let wrong_key = encode_cursor(&scope_tag("a?from=0"), &"five").unwrap();
        let long = "A".repeat(MAX_CURSOR_LEN + 1);
        for bad in ["", "!!!", "a b", &padded, &not_json, &wrong_key, &long] {
            let e = query(None, Some(bad))
                .request::<i64>("a?from=0")
                .unwrap_err();
            assert_eq!(e.code(), ErrorCode::BadRequest, "{bad:?}");
        }
        for other in ["a?from=1", "b?from=0"] {
            let e = query(None, Some(&cursor))
                .request::<i64>(other)
                .unwrap_err();
            assert!(
                e.detail().contains("another list or filter"),
                "{}",
                e.detail()
            );
        }
    }
}
