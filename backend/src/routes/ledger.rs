//! Public ledger endpoints: the newest signed checkpoint and Merkle proofs.
//! They reveal hashes and signatures only, never entry contents, so anyone
//! holding a receipt can check it against the platform's signed head.

use crate::error::{ApiError, ErrorCode};
use crate::ledger::{CommandError, Writer};
use actix_web::{HttpResponse, get, web};
use scf_ledger::checkpoint::Checkpoint;
use scf_ledger::hash::to_hex;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Ledger(v) => ApiError::new(
                ErrorCode::Unprocessable,
                format!("the ledger refused the entry ({}): {}", v.code, v.message),
            ),
            CommandError::Rejected {
                status, message, ..
            } => {
                let code = match status {
                    404 => ErrorCode::NotFound,
                    403 => ErrorCode::Forbidden,
                    409 => ErrorCode::Conflict,
                    422 => ErrorCode::Unprocessable,
                    _ => ErrorCode::BadRequest,
                };
                ApiError::new(code, message)
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry.
    pub seq: u64,
    /// Tree size of the checkpoint to prove against; the newest by default.
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
    pub old: u64,
    /// The newer tree size; the newest checkpoint's by default.
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
