//! Entries (SPEC.md §5): an intent as the ledger sequenced it, with the
//! actors' signatures and the platform's countersignature.

use crate::hash::{Hash, leaf_hash};
use crate::jcs;
use crate::sig::{KeyId, Signature};
use crate::time::Timestamp;
use serde_json::{Map, Value, json};

/// Prefix of the message the platform countersigns (see [`cosig_message`]).
pub const COSIG_DOMAIN: &[u8] = b"scf-ledger/v1/cosig\n";
/// At most this many actor signatures on one entry.
pub const MAX_SIGS: usize = 16;

/// One actor signature over the entry's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigRef {
    pub key_id: KeyId,
    pub sig: Signature,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub time: Timestamp,
    /// The intent bytes exactly as signed (canonical JSON, hence UTF-8).
    pub intent: String,
    pub sigs: Vec<SigRef>,
    pub cosig: Signature,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("entry is not canonical JSON: {0}")]
    Json(#[from] jcs::JcsError),
    #[error("entry field {field}: {problem}")]
    Field {
        field: &'static str,
        problem: &'static str,
    },
}

fn bad(field: &'static str, problem: &'static str) -> EntryError {
    EntryError::Field { field, problem }
}

const ENTRY_FIELDS: [&str; 5] = ["cosig", "intent", "seq", "sigs", "time"];

impl Entry {
    /// The entry without its countersignature, as the platform signs it.
    fn unsigned_value(&self) -> Value {
        let sigs: Vec<Value> = self
            .sigs
            .iter()
            .map(|s| json!({"key_id": s.key_id.to_hex(), "sig": s.sig.to_hex()}))
            .collect();
        json!({
            "intent": self.intent,
            "seq": self.seq,
            "sigs": sigs,
            "time": self.time.to_string(),
        })
    }

    /// Canonical bytes of the entry without `cosig`.
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        jcs::to_vec(&self.unsigned_value())
    }

    /// The export line (without the newline); also the leaf-hash input.
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = self.unsigned_value();
        if let Value::Object(m) = &mut v {
            m.insert("cosig".into(), Value::String(self.cosig.to_hex()));
        }
        jcs::to_vec(&v)
    }

    pub fn leaf(&self) -> Hash {
        leaf_hash(&self.to_line())
    }

    /// Parses one export line. Checks canonical form and field types only;
    /// everything that needs ledger state is the verifier's job.
    pub fn parse_line(line: &[u8]) -> Result<Entry, EntryError> {
        if let Some(e) = Self::parse_fast(line) {
            return Ok(e);
        }
        let Value::Object(obj) = jcs::parse_canonical(line)? else {
            return Err(bad("entry", "must be a JSON object"));
        };
        Self::from_object(obj)
    }

    /// The verifier's hot path: a typed parse, then the canonical form of
    /// this fixed schema written out and compared with the line. Anything
    /// unusual (an escape where none belongs, a duplicate member, a big
    /// number) returns None, and the general path decides and explains.
    fn parse_fast(line: &[u8]) -> Option<Entry> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw<'a> {
            #[serde(borrow)]
            cosig: &'a str,
            intent: String,
            seq: u64,
            #[serde(borrow)]
            sigs: Vec<RawSig<'a>>,
            #[serde(borrow)]
            time: &'a str,
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawSig<'a> {
            #[serde(borrow)]
            key_id: &'a str,
            #[serde(borrow)]
            sig: &'a str,
        }
        let raw: Raw<'_> = serde_json::from_slice(line).ok()?;
        // JCS writes integers above 2^53 as rounded doubles: leave them to
        // the general path, which refuses them.
        if raw.seq > (1u64 << 53) - 1 {
            return None;
        }
        let mut canon = Vec::with_capacity(line.len());
        canon.extend_from_slice(br#"{"cosig":"#);
        jcs::write_str(raw.cosig, &mut canon);
        canon.extend_from_slice(br#","intent":"#);
        jcs::write_str(&raw.intent, &mut canon);
        canon.extend_from_slice(br#","seq":"#);
        canon.extend_from_slice(raw.seq.to_string().as_bytes());
        canon.extend_from_slice(br#","sigs":["#);
        for (i, s) in raw.sigs.iter().enumerate() {
            if i > 0 {
                canon.push(b',');
            }
            canon.extend_from_slice(br#"{"key_id":"#);
            jcs::write_str(s.key_id, &mut canon);
            canon.extend_from_slice(br#","sig":"#);
            jcs::write_str(s.sig, &mut canon);
            canon.push(b'}');
        }
        canon.extend_from_slice(br#"],"time":"#);
        jcs::write_str(raw.time, &mut canon);
        canon.push(b'}');
        if canon != line {
            return None;
        }
        Self::build(
            raw.cosig,
            raw.intent,
            raw.seq,
            raw.sigs.iter().map(|s| (s.key_id, s.sig)),
            raw.time,
        )
        .ok()
    }

    /// Field checks shared by both parse paths.
    fn build<'a>(
        cosig: &str,
        intent: String,
        seq: u64,
        sigs: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
        time: &str,
    ) -> Result<Entry, EntryError> {
        let time = Timestamp::parse_canonical(time)
            .ok_or_else(|| bad("time", "must be RFC 3339 UTC with six fractional digits"))?;
        let cosig = Signature::from_hex(cosig)
            .ok_or_else(|| bad("cosig", "must be 128 lowercase hex characters"))?;
        if sigs.len() == 0 || sigs.len() > MAX_SIGS {
            return Err(bad("sigs", "must hold 1 to 16 signatures"));
        }
        let mut out: Vec<SigRef> = Vec::with_capacity(sigs.len());
        for (key_id, sig) in sigs {
            let key_id = KeyId::from_hex(key_id)
                .ok_or_else(|| bad("sigs", "key_id must be 32 lowercase hex characters"))?;
            let sig = Signature::from_hex(sig)
                .ok_or_else(|| bad("sigs", "sig must be 128 lowercase hex characters"))?;
            if out.iter().any(|s| s.key_id == key_id) {
                return Err(bad("sigs", "a key signs an entry at most once"));
            }
            out.push(SigRef { key_id, sig });
        }
        Ok(Entry {
            seq,
            time,
            intent,
            sigs: out,
            cosig,
        })
    }

    pub(crate) fn from_object(mut obj: Map<String, Value>) -> Result<Entry, EntryError> {
        if obj.len() != ENTRY_FIELDS.len() || ENTRY_FIELDS.iter().any(|f| !obj.contains_key(*f)) {
            return Err(bad(
                "entry",
                "must have exactly cosig, intent, seq, sigs and time",
            ));
        }
        let seq = obj
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("seq", "must be a non-negative integer"))?;
        let str_of = |f: &'static str, problem: &'static str| {
            obj.get(f)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(f, problem))
        };
        let time = str_of("time", "must be RFC 3339 UTC")?;
        let cosig = str_of("cosig", "must be 128 lowercase hex characters")?;
        let sigs = obj
            .get("sigs")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("sigs", "must be an array"))?
            .iter()
            .map(|item| {
                let pair = item.as_object().filter(|o| o.len() == 2).and_then(|o| {
                    Some((
                        o.get("key_id")?.as_str()?.to_owned(),
                        o.get("sig")?.as_str()?.to_owned(),
                    ))
                });
                pair.ok_or_else(|| bad("sigs", "items must be {\"key_id\", \"sig\"} strings"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let intent = match obj.remove("intent") {
            Some(Value::String(s)) => s,
            _ => return Err(bad("intent", "must be a string")),
        };
        Self::build(
            &cosig,
            intent,
            seq,
            sigs.iter().map(|(k, s)| (k.as_str(), s.as_str())),
            &time,
        )
    }
}

/// `COSIG_DOMAIN ‖ origin ‖ "\n" ‖ unsigned entry bytes`. The origin binds
/// the countersignature to one ledger, so an entry cannot be replayed into
/// another ledger run by the same platform key.
pub fn cosig_message(origin: &str, unsigned: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(COSIG_DOMAIN.len() + origin.len() + 1 + unsigned.len());
    m.extend_from_slice(COSIG_DOMAIN);
    m.extend_from_slice(origin.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(unsigned);
    m
}
