//! Ledger endpoints. The newest signed checkpoint and Merkle proofs are
//! public: they reveal hashes and signatures only, never entry contents, so
//! anyone holding a receipt can check it against the platform's signed head.
//! Entries and the export carry intents, so they need a token and are
//! limited to what the caller's organisation may read.

use crate::db::{Db, DbError, ErrorClass};
use crate::error::{ApiError, ErrorCode};
use crate::ledger::store::{self, ListedEntry};
use crate::ledger::{CommandError, ExportError, Writer};
use crate::pagination::{Page, PageQuery};
use crate::parties::auth::Principal;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use scf_ledger::checkpoint::Checkpoint;
use scf_ledger::hash::to_hex;
use serde::{Deserialize, Deserializer, Serialize};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Ledger(v) => ApiError::new(
                ErrorCode::Unprocessable,
                format!("the ledger refused the entry ({}): {}", v.code, v.message),
            ),
            CommandError::Rejected {
                status,
                message,
                errors,
                ..
            } => {
                let code = match status {
                    404 => ErrorCode::NotFound,
                    403 => ErrorCode::Forbidden,
                    409 => ErrorCode::Conflict,
                    422 => ErrorCode::Unprocessable,
                    _ => ErrorCode::BadRequest,
                };
                let e = ApiError::new(code, message);
                if errors.is_empty() {
                    e
                } else {
                    e.with_errors(errors)
                }
            }
            CommandError::Unavailable(m) => ApiError::new(ErrorCode::Unavailable, m),
            CommandError::Storage(m) => ApiError::internal(anyhow::anyhow!(m)),
        }
    }
}

/// A signed tree head (ledger SPEC.md §7).
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointBody {
    pub origin: String,
    /// Entries covered.
    pub size: u64,
    pub prev_size: u64,
    /// RFC 6962 Merkle root, hex.
    pub root: String,
    /// Chain hash after entry `size - 1`, hex.
    pub chain: String,
    pub time: String,
    /// Id of the platform key that signed it.
    pub key_id: String,
    /// Ed25519 signature, hex.
    pub sig: String,
    /// The checkpoint exactly as signed and exported (canonical JSON); feed
    /// this, not a re-serialisation, to a verifier.
    pub line: String,
}

impl From<&Checkpoint> for CheckpointBody {
    fn from(c: &Checkpoint) -> Self {
        CheckpointBody {
            origin: c.origin.clone(),
            size: c.size,
            prev_size: c.prev_size,
            root: to_hex(&c.root),
            chain: to_hex(&c.chain),
            time: c.time.to_string(),
            key_id: c.key_id.to_hex(),
            sig: c.sig.to_hex(),
            line: String::from_utf8_lossy(&c.to_line()).into_owned(),
        }
    }
}

/// The newest signed checkpoint.
#[utoipa::path(tag = "ledger", operation_id = "get_ledger_checkpoint", responses(
    (status = 200, description = "The newest checkpoint", body = CheckpointBody),
    (status = 503, description = "No checkpoint signed yet", body = crate::error::Problem,
        content_type = "application/problem+json"),
))]
#[get("/ledger/checkpoint")]
pub async fn get_checkpoint(writer: web::Data<Writer>) -> Result<HttpResponse, ApiError> {
    let head = writer.head();
    let cp = head.latest_checkpoint.ok_or_else(|| {
        ApiError::new(ErrorCode::Unavailable, "no checkpoint has been signed yet")
    })?;
    Ok(HttpResponse::Ok().json(CheckpointBody::from(&cp)))
}

/// Sequence numbers and tree sizes are stored as signed 64-bit integers and
/// documented as int64: a larger number is refused, not read.
fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = u64::deserialize(d)?;
    if i64::try_from(n).is_err() {
        return Err(serde::de::Error::custom(format!(
            "{n} is over the largest sequence number or size, {}",
            i64::MAX
        )));
    }
    Ok(n)
}

fn opt_int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "int64")] u64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry.
    #[serde(deserialize_with = "int64")]
    pub seq: u64,
    /// Tree size of the checkpoint to prove against; the newest by default.
    #[serde(default, deserialize_with = "opt_int64")]
    pub size: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProof {
    pub seq: u64,
    pub size: u64,
    /// The entry's leaf hash, hex.
    pub leaf: String,
    /// RFC 9162 audit path, hex, leaf to root.
    pub proof: Vec<String>,
}

/// Inclusion proof of an entry in the tree of a checkpoint (RFC 9162 §2.1.3).
#[utoipa::path(tag = "ledger", operation_id = "get_inclusion_proof", params(InclusionQuery), responses(
    (status = 200, description = "The audit path", body = InclusionProof),
    (status = 422, description = "seq or size out of range", body = crate::error::Problem,
        content_type = "application/problem+json"),
))]
#[get("/ledger/proofs/inclusion")]
pub async fn get_inclusion_proof(
    writer: web::Data<Writer>,
    q: web::Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    let size = match q.size {
        Some(s) => s,
        None => newest_size(&writer)?,
    };
    let (leaf, proof) = writer.inclusion_proof(q.seq, size).await?;
    Ok(HttpResponse::Ok().json(InclusionProof {
        seq: q.seq,
        size,
        leaf: to_hex(&leaf),
        proof: proof.iter().map(|h| to_hex(h)).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size.
    #[serde(deserialize_with = "int64")]
    pub old: u64,
    /// The newer tree size; the newest checkpoint's by default.
    #[serde(default, deserialize_with = "opt_int64")]
    pub new: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub old: u64,
    pub new: u64,
    /// RFC 9162 consistency proof, hex.
    pub proof: Vec<String>,
}

/// Consistency proof between two tree sizes (RFC 9162 §2.1.4): shows that
/// the newer tree extends the older one, which a client that saved an older
/// checkpoint uses to detect rollback and forks.
#[utoipa::path(tag = "ledger", operation_id = "get_consistency_proof", params(ConsistencyQuery), responses(
    (status = 200, description = "The proof", body = ConsistencyProof),
    (status = 422, description = "Sizes out of range", body = crate::error::Problem,
        content_type = "application/problem+json"),
))]
#[get("/ledger/proofs/consistency")]
pub async fn get_consistency_proof(
    writer: web::Data<Writer>,
    q: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let new = match q.new {
        Some(n) => n,
        None => newest_size(&writer)?,
    };
    let proof = writer.consistency_proof(q.old, new).await?;
    Ok(HttpResponse::Ok().json(ConsistencyProof {
        old: q.old,
        new,
        proof: proof.iter().map(|h| to_hex(h)).collect(),
    }))
}

fn newest_size(writer: &Writer) -> Result<u64, ApiError> {
    writer
        .head()
        .latest_checkpoint
        .map(|c| c.size)
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "no checkpoint has been signed yet"))
}

/// Whether the caller may read every organisation's entries: the platform
/// operator's administrators and auditors. Everyone else reads their own
/// organisation's entries only.
fn reads_whole_ledger(who: &Principal) -> bool {
    who.org_kind == "platform_operator" && matches!(who.role.as_str(), "admin" | "auditor")
}

/// One ledger entry as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntry {
    pub seq: u64,
    /// The platform's time for the entry.
    pub time: String,
    /// The organisation the intent belongs to (`intent.org`).
    pub org: String,
    /// The intent's own id (`intent.id`).
    pub intent_id: String,
    /// The intent's type, e.g. `key.add`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The entry's leaf hash (ledger SPEC.md §3), hex.
    pub leaf: String,
    /// The chain hash after the entry, hex.
    pub chain: String,
    /// The entry line exactly as stored and exported (canonical JSON, SPEC.md
    /// §5.3): hash these bytes to check `leaf`, then an inclusion proof.
    pub line: String,
}

impl crate::listing::CsvRow for LedgerEntry {
    const COLUMNS: &'static [&'static str] = &[
        "seq",
        "time",
        "org",
        "intent_id",
        "type",
        "leaf",
        "chain",
        "line",
    ];
}

impl TryFrom<ListedEntry> for LedgerEntry {
    type Error = ApiError;

    fn try_from(r: ListedEntry) -> Result<Self, ApiError> {
        Ok(LedgerEntry {
            seq: u64::try_from(r.seq).map_err(|_| {
                ApiError::internal(anyhow::anyhow!("stored entry has seq {}", r.seq))
            })?,
            time: r.time.to_text(),
            org: r.org_id,
            intent_id: r.intent_id,
            kind: r.event_type,
            leaf: to_hex(&r.leaf),
            chain: to_hex(&r.chain),
            line: r.line,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// The first seq to list; 0 by default.
    #[serde(default, deserialize_with = "opt_int64")]
    pub from: Option<u64>,
}

/// Ledger entries in seq order.
///
/// Who sees what: administrators and auditors of the platform operator's
/// organisation see every entry; every other caller sees only the entries of
/// their own organisation (`org`), and can then fetch the inclusion proof of
/// each. Paginated with `limit` and `cursor` (docs/API-DESIGN.md);
/// `Accept: text/csv` exports the page as CSV.
#[utoipa::path(tag = "ledger", operation_id = "list_ledger_entries", security(("bearer" = [])),
    params(EntriesQuery, PageQuery),
    responses(
        (status = 200, description = "One page of entries", body = Page<LedgerEntry>),
        (status = 400, description = "limit out of range, or a malformed or foreign cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/ledger/entries")]
pub async fn list_entries(
    who: Principal,
    db: web::Data<Db>,
    q: web::Query<EntriesQuery>,
    page: web::Query<PageQuery>,
    http: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let from = q.from.unwrap_or(0);
    let req = page.request::<i64>(&format!("ledger.entries?from={from}"))?;
    let start = match req.after {
        Some(last) => last.saturating_add(1),
        None => 0,
    }
    .max(i64::try_from(from).unwrap_or(i64::MAX));
    let org = (!reads_whole_ledger(&who)).then(|| who.org_id.to_string());
    let fetch = req.fetch_limit();
    let rows = db
        .run(move |c| store::list_entries(c, start, org.as_deref(), fetch))
        .await
        .map_err(storage_error)?;
    let page = Page::from_rows(&req, rows, |r| r.seq)?.try_map(LedgerEntry::try_from)?;
    crate::listing::page(&http, page)
}

fn storage_error(e: DbError) -> ApiError {
    match e.class() {
        ErrorClass::Unavailable => {
            ApiError::new(ErrorCode::Unavailable, "the database is unavailable")
        }
        _ => ApiError::internal(e),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Export a prefix: stop at the newest checkpoint covering at most this
    /// many entries (an export must end with a checkpoint). The whole
    /// ledger, up to its newest checkpoint, by default.
    #[serde(default, deserialize_with = "opt_int64")]
    pub size: Option<u64>,
}

/// Media type of the export: JSON Lines.
pub const EXPORT_CONTENT_TYPE: &str = "application/x-ndjson";

/// The whole ledger as an export (ledger SPEC.md §9).
///
/// The same bytes as `scf ledger export`: the header, every entry and every
/// checkpoint up to the newest checkpoint, ready for `scf-verify`. Streamed.
///
/// Only administrators and auditors of the platform operator may export:
/// the export holds every organisation's signed intents, so any other caller
/// gets 403 (they read their own entries with `GET /v1/ledger/entries`).
#[utoipa::path(tag = "ledger", operation_id = "export_ledger", security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "The export, one record per line", body = String, content_type = "application/x-ndjson"),
        (status = 403, description = "Not an administrator or auditor of the platform operator", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No checkpoint covers at most `size` entries", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No checkpoint signed yet", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/ledger/export")]
pub async fn export_ledger(
    who: Principal,
    db: web::Data<Db>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    if !reads_whole_ledger(&who) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only administrators and auditors of the platform operator may export the ledger: it holds every organisation's intents",
        ));
    }
    let size = q.size;
    let (tx, mut rx) = mpsc::channel(EXPORT_CHUNKS_QUEUED);
    let db = db.get_ref().clone();
    tokio::task::spawn_blocking(move || produce_export(&db, size.unwrap_or(u64::MAX), tx));
    // The first chunk or error decides the status: a ledger without a
    // checkpoint, or a failure before any byte is sent, is still a problem
    // response rather than a cut-off 200.
    let first = match rx.recv().await {
        Some(Ok(bytes)) => bytes,
        Some(Err(e)) => return Err(export_error(e, size)),
        None => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "the export task ended without output"
            )));
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(EXPORT_CONTENT_TYPE)
        // Every tenant's intents: not for shared caches.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(ExportBody {
            first: Some(first),
            rx,
        }))
}

fn export_error(e: ExportError, size: Option<u64>) -> ApiError {
    match (e, size) {
        (ExportError::NoCheckpoint, Some(n)) => ApiError::unprocessable(format!(
            "no checkpoint covers {n} entries or fewer; ask for a larger size"
        )),
        (ExportError::NoCheckpoint, None) => {
            ApiError::new(ErrorCode::Unavailable, "no checkpoint has been signed yet")
        }
        (ExportError::Db(e), _) => storage_error(e),
        (other, _) => ApiError::internal(other),
    }
}

/// Bytes per chunk handed from the export task to the response.
const EXPORT_CHUNK: usize = 64 * 1024;
/// Chunks waiting for the client: a slow client holds the export task
/// back instead of letting the whole ledger pile up in memory.
const EXPORT_CHUNKS_QUEUED: usize = 4;

type Chunk = Result<Bytes, ExportError>;

/// Runs the export on a blocking thread and sends it in chunks.
fn produce_export(db: &Db, max_size: u64, tx: mpsc::Sender<Chunk>) {
    let mut out = ChunkWriter {
        tx: tx.clone(),
        buf: Vec::with_capacity(EXPORT_CHUNK),
        sent: false,
    };
    let result = db
        .get()
        .map_err(ExportError::from)
        .and_then(|mut conn| crate::ledger::export_upto(&mut conn, &mut out, max_size));
    let Err(e) = result else { return };
    if tx.is_closed() {
        // The client went away; the failed write is how the export noticed.
        tracing::debug!("ledger export abandoned by the client");
        return;
    }
    if out.sent {
        // Part of the body is out: the stream ends with an error, which cuts
        // the connection, so the client sees a truncated transfer and no
        // checkpoint at the end. Only the log says why.
        tracing::error!(error = %e, "ledger export failed while streaming");
    }
    let _ = tx.blocking_send(Err(e));
}

/// `io::Write` over the channel, in chunks of [`EXPORT_CHUNK`].
struct ChunkWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
    sent: bool,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(EXPORT_CHUNK),
        ));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })?;
        self.sent = true;
        Ok(())
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= EXPORT_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The response body: the first chunk (already received to choose the
/// status), then whatever the export task sends.
#[derive(Debug)]
struct ExportBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Chunk>,
}

impl MessageBody for ExportBody {
    type Error = ExportError;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        this.rx.poll_recv(cx)
    }
}
