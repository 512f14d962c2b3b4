//! Checkpoints (SPEC.md §7): signed tree heads. A checkpoint commits to the
//! Merkle root and the chain head after `size` entries, and names the
//! previous checkpoint's size so that a dropped checkpoint is noticed.

use crate::hash::{Hash, from_hex, to_hex};
use crate::jcs;
use crate::sig::{self, KeyId, PublicKey, SecretKey, Signature};
use crate::time::Timestamp;
use serde_json::{Map, Value, json};

/// Prefix of the message the platform signs: `CHECKPOINT_DOMAIN ‖ unsigned bytes`.
pub const CHECKPOINT_DOMAIN: &[u8] = b"scf-ledger/v1/checkpoint\n";

const FIELDS: [&str; 8] = [
    "chain",
    "key_id",
    "origin",
    "prev_size",
    "root",
    "sig",
    "size",
    "time",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub prev_size: u64,
    pub root: Hash,
    pub chain: Hash,
    pub time: Timestamp,
    pub key_id: KeyId,
    pub sig: Signature,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint is not canonical JSON: {0}")]
    Json(#[from] jcs::JcsError),
    #[error("checkpoint field {field}: {problem}")]
    Field {
        field: &'static str,
        problem: &'static str,
    },
}

fn bad(field: &'static str, problem: &'static str) -> CheckpointError {
    CheckpointError::Field { field, problem }
}

impl Checkpoint {
    /// Builds and signs a checkpoint.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        origin: &str,
        size: u64,
        prev_size: u64,
        root: Hash,
        chain: Hash,
        time: Timestamp,
        key: &SecretKey,
    ) -> Checkpoint {
        let mut cp = Checkpoint {
            origin: origin.to_owned(),
            size,
            prev_size,
            root,
            chain,
            time,
            key_id: key.public_key().key_id(),
            sig: Signature([0; 64]),
        };
        cp.sig = key.sign(&cp.signed_message());
        cp
    }

    fn unsigned_value(&self) -> Value {
        json!({
            "chain": to_hex(&self.chain),
            "key_id": self.key_id.to_hex(),
            "origin": self.origin,
            "prev_size": self.prev_size,
            "root": to_hex(&self.root),
            "size": self.size,
            "time": self.time.to_string(),
        })
    }

    /// The bytes the platform key signs.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut m = CHECKPOINT_DOMAIN.to_vec();
        jcs::write_canonical(&self.unsigned_value(), &mut m);
        m
    }

    /// The export line (without the newline).
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = self.unsigned_value();
        if let Value::Object(m) = &mut v {
            m.insert("sig".into(), Value::String(self.sig.to_hex()));
        }
        jcs::to_vec(&v)
    }

    pub fn verify(&self, key: &PublicKey) -> Result<(), sig::SigError> {
        sig::verify(key, &self.signed_message(), &self.sig)
    }

    pub fn parse_line(line: &[u8]) -> Result<Checkpoint, CheckpointError> {
        let Value::Object(obj) = jcs::parse_canonical(line)? else {
            return Err(bad("checkpoint", "must be a JSON object"));
        };
        Self::from_object(&obj)
    }

    pub(crate) fn from_object(obj: &Map<String, Value>) -> Result<Checkpoint, CheckpointError> {
        if obj.len() != FIELDS.len() || FIELDS.iter().any(|f| !obj.contains_key(*f)) {
            return Err(bad(
                "checkpoint",
                "must have exactly chain, key_id, origin, prev_size, root, sig, size and time",
            ));
        }
        let str_field = |f: &'static str| obj.get(f).and_then(Value::as_str);
        let hash_field = |f: &'static str| {
            str_field(f)
                .and_then(from_hex::<32>)
                .ok_or_else(|| bad(f, "must be 64 lowercase hex characters"))
        };
        let origin = str_field("origin")
            .filter(|o| crate::is_valid_origin(o))
            .ok_or_else(|| bad("origin", "must be 1-128 printable ASCII characters"))?;
        let size = obj
            .get("size")
            .and_then(Value::as_u64)
            .filter(|&n| n >= 1)
            .ok_or_else(|| bad("size", "must be a positive integer"))?;
        let prev_size = obj
            .get("prev_size")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("prev_size", "must be a non-negative integer"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            prev_size,
            root: hash_field("root")?,
            chain: hash_field("chain")?,
            time: str_field("time")
                .and_then(Timestamp::parse_canonical)
                .ok_or_else(|| bad("time", "must be RFC 3339 UTC with six fractional digits"))?,
            key_id: str_field("key_id")
                .and_then(KeyId::from_hex)
                .ok_or_else(|| bad("key_id", "must be 32 lowercase hex characters"))?,
            sig: str_field("sig")
                .and_then(Signature::from_hex)
                .ok_or_else(|| bad("sig", "must be 128 lowercase hex characters"))?,
        })
    }
}
