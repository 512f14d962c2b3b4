//! Intents (SPEC.md §4): the JSON object an actor signs. Its bytes are kept
//! exactly as signed; this module only reads them, it never re-serialises.

use crate::asset::AssetKey;
use crate::jcs;
use crate::sig::KeyId;
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// Prefix of the message an actor signs: `INTENT_DOMAIN ‖ intent bytes`.
pub const INTENT_DOMAIN: &[u8] = b"scf-ledger/v1/intent\n";
/// The only intent schema version defined so far.
pub const SCHEMA_VERSION: u64 = 1;
/// Limits that keep a hostile intent cheap to reject.
pub const MAX_INTENT_BYTES: usize = 64 * 1024;
pub const MAX_ASSETS: usize = 64;
pub const MAX_ID_LEN: usize = 64;
pub const MAX_TYPE_LEN: usize = 64;
pub const MAX_SUBJECT_LEN: usize = 256;

const FIELDS: [&str; 9] = [
    "assets",
    "body",
    "client_time",
    "id",
    "key_id",
    "org",
    "schema",
    "subject",
    "type",
];

/// What an intent does to an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetOp {
    /// Pledge, finance or otherwise lock the asset; it must not be locked already.
    Encumber,
    /// End the lock; the asset must be locked.
    Release,
    /// Mention the asset without changing its state.
    Reference,
}

impl AssetOp {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetOp::Encumber => "encumber",
            AssetOp::Release => "release",
            AssetOp::Reference => "reference",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "encumber" => Some(AssetOp::Encumber),
            "release" => Some(AssetOp::Release),
            "reference" => Some(AssetOp::Reference),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetRef {
    pub key: AssetKey,
    pub op: AssetOp,
}

/// A parsed, schema-checked intent.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub kind: String,
    pub org: String,
    pub key_id: KeyId,
    pub subject: String,
    pub assets: Vec<AssetRef>,
    pub body: Map<String, Value>,
    pub id: String,
    pub client_time: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntentError {
    #[error("intent is larger than {MAX_INTENT_BYTES} bytes")]
    TooLarge,
    #[error("intent is not canonical JSON: {0}")]
    Json(#[from] jcs::JcsError),
    #[error("intent field {field}: {problem}")]
    Field {
        field: &'static str,
        problem: &'static str,
    },
    #[error("intent has an unknown field {0:?}")]
    UnknownField(String),
}

fn bad(field: &'static str, problem: &'static str) -> IntentError {
    IntentError::Field { field, problem }
}

/// Identifier syntax shared by `org` and `id`: short, printable, and safe to
/// put in a URL or a log line without escaping.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// `segment(.segment)+`, each segment `[a-z][a-z0-9_]*`: dotted names such as
/// `key.add` or `receivable.confirm`.
pub fn is_valid_type(s: &str) -> bool {
    if s.is_empty() || s.len() > MAX_TYPE_LEN {
        return false;
    }
    let mut segments = 0;
    for seg in s.split('.') {
        let mut bytes = seg.bytes();
        match bytes.next() {
            Some(b'a'..=b'z') => {}
            _ => return false,
        }
        if !bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_')) {
            return false;
        }
        segments += 1;
    }
    segments >= 2
}

fn take_str<'a>(obj: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, IntentError> {
    obj.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(field, "must be a string"))
}

impl Intent {
    /// Parses intent bytes: canonical JSON (RFC 8785) first, then the schema.
    pub fn parse(bytes: &[u8]) -> Result<Intent, IntentError> {
        if bytes.len() > MAX_INTENT_BYTES {
            return Err(IntentError::TooLarge);
        }
        let value = jcs::parse_canonical(bytes)?;
        Self::from_value(value)
    }

    fn from_value(value: Value) -> Result<Intent, IntentError> {
        let Value::Object(mut obj) = value else {
            return Err(bad("intent", "must be a JSON object"));
        };
        if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(IntentError::UnknownField(k.clone()));
        }
        match obj.get("schema").and_then(Value::as_u64) {
            Some(SCHEMA_VERSION) => {}
            Some(_) => return Err(bad("schema", "is not a supported version (1)")),
            None => return Err(bad("schema", "must be the integer 1")),
        }
        let kind = take_str(&obj, "type")?;
        if !is_valid_type(kind) {
            return Err(bad(
                "type",
                "must be dotted lowercase segments, e.g. key.add",
            ));
        }
        let org = take_str(&obj, "org")?;
        if !is_valid_id(org) {
            return Err(bad("org", "must be 1-64 characters of A-Z a-z 0-9 . _ : -"));
        }
        let id = take_str(&obj, "id")?;
        if !is_valid_id(id) {
            return Err(bad("id", "must be 1-64 characters of A-Z a-z 0-9 . _ : -"));
        }
        let key_id = KeyId::from_hex(take_str(&obj, "key_id")?)
            .ok_or_else(|| bad("key_id", "must be 32 lowercase hex characters"))?;
        let subject = take_str(&obj, "subject")?;
        if subject.chars().count() > MAX_SUBJECT_LEN {
            return Err(bad("subject", "is longer than 256 characters"));
        }
        let client_time = Timestamp::parse(take_str(&obj, "client_time")?).ok_or_else(|| {
            bad(
                "client_time",
                "must be RFC 3339 UTC, e.g. 2026-01-31T08:00:00Z",
            )
        })?;
        let assets = parse_assets(obj.get("assets"))?;
        let (kind, org, id, subject) = (
            kind.to_owned(),
            org.to_owned(),
            id.to_owned(),
            subject.to_owned(),
        );
        let body = match obj.remove("body") {
            Some(Value::Object(m)) => m,
            _ => return Err(bad("body", "must be a JSON object")),
        };
        Ok(Intent {
            kind,
            org,
            key_id,
            subject,
            assets,
            body,
            id,
            client_time,
        })
    }

    /// The canonical bytes of this intent. Used by writers (clients, the
    /// generator); readers keep the bytes they received instead.
    pub fn to_bytes(&self) -> Vec<u8> {
        let assets: Vec<Value> = self
            .assets
            .iter()
            .map(|a| serde_json::json!({"key": a.key.to_hex(), "op": a.op.as_str()}))
            .collect();
        let value = serde_json::json!({
            "assets": assets,
            "body": Value::Object(self.body.clone()),
            "client_time": self.client_time.to_string(),
            "id": self.id,
            "key_id": self.key_id.to_hex(),
            "org": self.org,
            "schema": SCHEMA_VERSION,
            "subject": self.subject,
            "type": self.kind,
        });
        jcs::to_vec(&value)
    }

    /// A body field that must be a string.
    pub fn body_str(&self, field: &'static str) -> Result<&str, IntentError> {
        self.body
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(field, "must be a string in the body"))
    }
}

fn parse_assets(v: Option<&Value>) -> Result<Vec<AssetRef>, IntentError> {
    let arr = v
        .and_then(Value::as_array)
        .ok_or_else(|| bad("assets", "must be an array"))?;
    if arr.len() > MAX_ASSETS {
        return Err(bad("assets", "has more than 64 items"));
    }
    let mut out: Vec<AssetRef> = Vec::with_capacity(arr.len());
    for item in arr {
        let obj = item
            .as_object()
            .filter(|o| o.len() == 2)
            .ok_or_else(|| bad("assets", "items must be {\"key\", \"op\"} objects"))?;
        let key = obj
            .get("key")
            .and_then(Value::as_str)
            .and_then(AssetKey::from_hex)
            .ok_or_else(|| bad("assets", "key must be 64 lowercase hex characters"))?;
        let op = obj
            .get("op")
            .and_then(Value::as_str)
            .and_then(AssetOp::parse)
            .ok_or_else(|| bad("assets", "op must be encumber, release or reference"))?;
        // Strictly ascending keys: one spelling per set, and no asset twice.
        if out.last().is_some_and(|prev| prev.key >= key) {
            return Err(bad("assets", "keys must be unique and in ascending order"));
        }
        out.push(AssetRef { key, op });
    }
    Ok(out)
}

/// The message an actor signs for `intent_bytes`.
pub fn signing_message(intent_bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(INTENT_DOMAIN.len() + intent_bytes.len());
    m.extend_from_slice(INTENT_DOMAIN);
    m.extend_from_slice(intent_bytes);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_type("key.add"));
        assert!(is_valid_type("receivable.certificate.split"));
        for bad in [
            "key", "Key.add", "key.", ".add", "key..add", "key.1add", "key.a-b",
        ] {
            assert!(!is_valid_type(bad), "{bad}");
        }
        assert!(is_valid_id("0190f5b2-7c1e-7d3a-9f00-000000000001"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a b"));
    }
}
