//! The replay state machine (SPEC.md §8): what the ledger knows after each
//! entry (keys, intent ids, asset locks) and the rules an entry must meet to
//! be appended. The in-memory [`crate::log::Log`] and the offline verifier run
//! the same code, so what one accepts the other accepts.

use crate::asset::AssetKey;
use crate::entry::Entry;
use crate::hash::sha256;
use crate::intent::{AssetOp, Intent};
use crate::sig::{KeyId, PublicKey, Signature};
use crate::time::Timestamp;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Event types with ledger-level meaning. Other types in the `ledger.` and
/// `key.` namespaces are refused, so a later version cannot be confused
/// with an unknown business event.
pub mod types {
    pub const GENESIS: &str = "ledger.genesis";
    pub const ROTATE_PLATFORM_KEY: &str = "ledger.rotate_platform_key";
    pub const KEY_ADD: &str = "key.add";
    pub const KEY_REVOKE: &str = "key.revoke";
}

/// Longest ledger origin name.
pub const MAX_ORIGIN_LEN: usize = 128;

/// Printable ASCII without spaces: the origin goes into signed messages
/// followed by a newline, so it must not contain one.
pub fn is_valid_origin(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ORIGIN_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Why an entry (or checkpoint) was refused. `code` is stable and
/// machine-readable; `message` is for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
}

impl Violation {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Violation {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Violation {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// Signs intents on behalf of an organisation.
    Actor,
    /// Countersigns entries and signs checkpoints.
    Platform,
}

#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub key: PublicKey,
    pub org: String,
    pub role: KeyRole,
    /// First seq at which the key may sign.
    pub valid_from: u64,
    /// Last seq at which the key may sign, once revoked or rotated out.
    pub valid_until: Option<u64>,
}

impl KeyRecord {
    pub fn valid_at(&self, seq: u64) -> bool {
        self.valid_from <= seq && self.valid_until.is_none_or(|u| seq <= u)
    }
}

/// Which message a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// `INTENT_DOMAIN ‖ intent` (actor signatures).
    Intent,
    /// The countersignature message.
    Cosig,
}

/// A signature the caller must check before the entry counts as valid.
#[derive(Debug, Clone, Copy)]
pub struct SigJob {
    pub key: PublicKey,
    pub signed: Signed,
    pub sig: Signature,
}

/// A business rule checked on every entry, on top of the ledger's own.
/// `check` must not change anything; `apply` runs only after every check of
/// the entry (and its signatures) passed.
pub trait Invariant: Send + Sync + fmt::Debug {
    fn name(&self) -> &'static str;
    fn check(&self, seq: u64, intent: &Intent) -> Result<(), Violation>;
    fn apply(&mut self, seq: u64, intent: &Intent);
}

/// No asset key is encumbered twice at once (SPEC.md §8.5).
#[derive(Debug, Default, Clone)]
pub struct NoDoubleEncumbrance {
    held: HashMap<AssetKey, u64>,
}

impl NoDoubleEncumbrance {
    /// Seq of the entry holding the asset, if it is encumbered.
    pub fn holder(&self, key: &AssetKey) -> Option<u64> {
        self.held.get(key).copied()
    }
}

impl Invariant for NoDoubleEncumbrance {
    fn name(&self) -> &'static str {
        "no_double_encumbrance"
    }

    fn check(&self, _seq: u64, intent: &Intent) -> Result<(), Violation> {
        for a in &intent.assets {
            match (a.op, self.held.get(&a.key)) {
                (AssetOp::Encumber, Some(at)) => {
                    return Err(Violation::new(
                        "asset_already_encumbered",
                        format!("asset {} is already encumbered by seq {at}", a.key),
                    ));
                }
                (AssetOp::Release, None) => {
                    return Err(Violation::new(
                        "asset_not_encumbered",
                        format!("asset {} is released but is not encumbered", a.key),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn apply(&mut self, seq: u64, intent: &Intent) {
        for a in &intent.assets {
            match a.op {
                AssetOp::Encumber => {
                    self.held.insert(a.key, seq);
                }
                AssetOp::Release => {
                    self.held.remove(&a.key);
                }
                AssetOp::Reference => {}
            }
        }
    }
}

/// The ledger as replayed up to some size.
#[derive(Debug)]
pub struct LedgerState {
    origin: Option<String>,
    genesis_key: Option<PublicKey>,
    platform: Option<KeyId>,
    keys: HashMap<KeyId, KeyRecord>,
    intent_ids: HashSet<[u8; 16]>,
    invariants: Vec<Box<dyn Invariant>>,
    last_time: Option<Timestamp>,
    size: u64,
}

impl Default for LedgerState {
    fn default() -> Self {
        Self::new()
    }
}

fn body_key(intent: &Intent, field: &'static str) -> Result<PublicKey, Violation> {
    let hex = intent
        .body_str(field)
        .map_err(|e| Violation::new("bad_intent", e.to_string()))?;
    PublicKey::from_hex(hex).map_err(|e| {
        Violation::new(
            "bad_key",
            format!("body.{field} is not an acceptable Ed25519 key: {e}"),
        )
    })
}

impl LedgerState {
    /// A state with the ledger's built-in invariants (no double
    /// encumbrance; a certificate split conserves its amount; an invoice
    /// backs one certificate).
    pub fn new() -> Self {
        LedgerState {
            origin: None,
            genesis_key: None,
            platform: None,
            keys: HashMap::new(),
            intent_ids: HashSet::new(),
            invariants: vec![
                Box::new(NoDoubleEncumbrance::default()),
                Box::new(crate::conservation::SplitConservesAmount::default()),
                Box::new(crate::backing::InvoiceBacksOneCertificate::default()),
            ],
            last_time: None,
            size: 0,
        }
    }

    /// Registers another business invariant; later product modules add theirs.
    pub fn with_invariant(mut self, inv: Box<dyn Invariant>) -> Self {
        self.invariants.push(inv);
        self
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    pub fn genesis_key(&self) -> Option<&PublicKey> {
        self.genesis_key.as_ref()
    }

    pub fn last_time(&self) -> Option<Timestamp> {
        self.last_time
    }

    /// The platform key in force for the next entry and for a checkpoint of
    /// the current size.
    pub fn platform_key(&self) -> Option<&PublicKey> {
        self.platform
            .as_ref()
            .and_then(|id| self.keys.get(id))
            .map(|r| &r.key)
    }

    pub fn key(&self, id: &KeyId) -> Option<&KeyRecord> {
        self.keys.get(id)
    }

    pub fn keys(&self) -> impl Iterator<Item = (&KeyId, &KeyRecord)> {
        self.keys.iter()
    }

    /// The platform key that signed a checkpoint of `size` entries, if
    /// `size` is within the replayed range.
    pub fn platform_key_at_size(&self, size: u64) -> Option<&PublicKey> {
        // The key in force after entry size-1 is the one valid at seq `size`.
        self.keys
            .values()
            .find(|r| r.role == KeyRole::Platform && r.valid_at(size))
            .map(|r| &r.key)
    }

    fn actor_key(&self, id: &KeyId, seq: u64) -> Result<&KeyRecord, Violation> {
        let rec = self
            .keys
            .get(id)
            .ok_or_else(|| Violation::new("unknown_key", format!("key {id} is not registered")))?;
        if rec.role != KeyRole::Actor {
            return Err(Violation::new(
                "wrong_key_role",
                format!("key {id} is a platform key and cannot sign intents"),
            ));
        }
        if !rec.valid_at(seq) {
            return Err(Violation::new(
                "key_not_valid",
                match rec.valid_until {
                    Some(u) if seq > u => format!("key {id} was revoked at seq {u}"),
                    _ => format!("key {id} is not valid before seq {}", rec.valid_from),
                },
            ));
        }
        Ok(rec)
    }

    /// Checks an entry up to (not including) signature arithmetic and returns
    /// the signatures that must verify. Changes nothing.
    pub fn authorise(&self, entry: &Entry, intent: &Intent) -> Result<Vec<SigJob>, Violation> {
        let seq = entry.seq;
        if seq != self.size {
            return Err(Violation::new(
                "bad_seq",
                format!("expected seq {}, found {seq}", self.size),
            ));
        }
        if let Some(last) = self.last_time
            && entry.time < last
        {
            return Err(Violation::new(
                "time_regressed",
                format!(
                    "entry time {} is before the previous entry's {last}",
                    entry.time
                ),
            ));
        }
        let actor = entry
            .sigs
            .first()
            .ok_or_else(|| Violation::new("no_signature", "the entry has no actor signature"))?;
        if actor.key_id != intent.key_id {
            return Err(Violation::new(
                "actor_mismatch",
                "the first signature must be by the intent's key_id",
            ));
        }
        let is_genesis = intent.kind == types::GENESIS;
        if (seq == 0) != is_genesis {
            return Err(Violation::new(
                "bad_genesis",
                "seq 0, and only seq 0, must be a ledger.genesis entry",
            ));
        }
        let ledger_event = intent.kind.starts_with("ledger.") || intent.kind.starts_with("key.");
        if ledger_event && !intent.assets.is_empty() {
            return Err(Violation::new(
                "bad_intent",
                "ledger.* and key.* events carry no asset operations",
            ));
        }
        let mut jobs = Vec::with_capacity(entry.sigs.len() + 1);
        let sig_of = |id: &KeyId| entry.sigs.iter().find(|s| s.key_id == *id).map(|s| s.sig);
        let cosigner = match intent.kind.as_str() {
            types::GENESIS => {
                let key = body_key(intent, "platform_key")?;
                let origin = intent
                    .body_str("origin")
                    .map_err(|e| Violation::new("bad_intent", e.to_string()))?;
                if !is_valid_origin(origin) {
                    return Err(Violation::new(
                        "bad_origin",
                        "origin must be 1-128 printable ASCII characters without spaces",
                    ));
                }
                if entry.sigs.len() != 1 || key.key_id() != intent.key_id {
                    return Err(Violation::new(
                        "bad_genesis",
                        "the genesis entry is signed by its platform key alone",
                    ));
                }
                jobs.push(SigJob {
                    key,
                    signed: Signed::Intent,
                    sig: actor.sig,
                });
                key
            }
            types::ROTATE_PLATFORM_KEY => {
                let old = self.current_platform()?;
                if intent.key_id != old.key_id() {
                    return Err(Violation::new(
                        "bad_rotation",
                        "a platform key rotation is signed by the current platform key",
                    ));
                }
                let new = body_key(intent, "new_key")?;
                if self.keys.contains_key(&new.key_id()) {
                    return Err(Violation::new(
                        "key_exists",
                        "the new platform key is already known",
                    ));
                }
                let new_sig = sig_of(&new.key_id()).filter(|_| entry.sigs.len() == 2).ok_or_else(|| {
                    Violation::new(
                        "bad_rotation",
                        "a rotation carries exactly two signatures: the old and the new platform key",
                    )
                })?;
                jobs.push(SigJob {
                    key: old,
                    signed: Signed::Intent,
                    sig: actor.sig,
                });
                jobs.push(SigJob {
                    key: new,
                    signed: Signed::Intent,
                    sig: new_sig,
                });
                old
            }
            types::KEY_ADD => {
                let new = body_key(intent, "public_key")?;
                let new_id = new.key_id();
                if self.keys.contains_key(&new_id) {
                    return Err(Violation::new(
                        "key_exists",
                        format!("key {new_id} is already registered"),
                    ));
                }
                for s in &entry.sigs {
                    let key = if s.key_id == new_id {
                        new
                    } else {
                        let rec = self.actor_key(&s.key_id, seq)?;
                        if s.key_id == actor.key_id && rec.org != intent.org {
                            return Err(Violation::new(
                                "wrong_org",
                                format!(
                                    "key {} belongs to {}, not to {}",
                                    s.key_id, rec.org, intent.org
                                ),
                            ));
                        }
                        rec.key
                    };
                    jobs.push(SigJob {
                        key,
                        signed: Signed::Intent,
                        sig: s.sig,
                    });
                }
                // Proof of possession: the new key signs its own registration.
                if sig_of(&new_id).is_none() {
                    return Err(Violation::new(
                        "no_proof_of_possession",
                        "a key.add entry must be signed by the key it adds",
                    ));
                }
                self.current_platform()?
            }
            kind if kind != types::KEY_REVOKE
                && (kind.starts_with("ledger.") || kind.starts_with("key.")) =>
            {
                return Err(Violation::new(
                    "reserved_type",
                    format!("{kind} is in a reserved namespace and not defined"),
                ));
            }
            _ => {
                for s in &entry.sigs {
                    let rec = self.actor_key(&s.key_id, seq)?;
                    if s.key_id == actor.key_id && rec.org != intent.org {
                        return Err(Violation::new(
                            "wrong_org",
                            format!(
                                "key {} belongs to {}, not to {}",
                                s.key_id, rec.org, intent.org
                            ),
                        ));
                    }
                    jobs.push(SigJob {
                        key: rec.key,
                        signed: Signed::Intent,
                        sig: s.sig,
                    });
                }
                self.current_platform()?
            }
        };
        jobs.push(SigJob {
            key: cosigner,
            signed: Signed::Cosig,
            sig: entry.cosig,
        });
        Ok(jobs)
    }

    fn current_platform(&self) -> Result<PublicKey, Violation> {
        self.platform_key().copied().ok_or_else(|| {
            Violation::new("bad_genesis", "no platform key: the ledger has no genesis")
        })
    }

    fn intent_id_hash(intent: &Intent) -> [u8; 16] {
        let mut input = Vec::with_capacity(intent.org.len() + intent.id.len() + 1);
        input.extend_from_slice(intent.org.as_bytes());
        input.push(b'\n');
        input.extend_from_slice(intent.id.as_bytes());
        let h = sha256(&input);
        let mut out = [0u8; 16];
        out.copy_from_slice(h.get(..16).unwrap_or(&[0u8; 16]));
        out
    }

    /// The checks that follow the signatures: replay, key-event semantics and
    /// the business invariants. Changes nothing.
    pub fn admit(&self, entry: &Entry, intent: &Intent) -> Result<(), Violation> {
        if self.intent_ids.contains(&Self::intent_id_hash(intent)) {
            return Err(Violation::new(
                "duplicate_intent",
                format!(
                    "intent id {:?} of {} was already recorded",
                    intent.id, intent.org
                ),
            ));
        }
        if intent.kind == types::KEY_REVOKE {
            let target = intent
                .body_str("key_id")
                .ok()
                .and_then(KeyId::from_hex)
                .ok_or_else(|| {
                    Violation::new(
                        "bad_intent",
                        "body.key_id must be 32 lowercase hex characters",
                    )
                })?;
            let rec = self.actor_key(&target, entry.seq)?;
            if rec.org != intent.org {
                return Err(Violation::new(
                    "wrong_org",
                    format!("key {target} belongs to {}, not to {}", rec.org, intent.org),
                ));
            }
        }
        for inv in &self.invariants {
            inv.check(entry.seq, intent)?;
        }
        Ok(())
    }

    /// Records an entry that passed `authorise`, its signatures and `admit`.
    pub fn apply(&mut self, entry: &Entry, intent: &Intent) {
        let seq = entry.seq;
        self.intent_ids.insert(Self::intent_id_hash(intent));
        match intent.kind.as_str() {
            types::GENESIS => {
                if let (Ok(key), Ok(origin)) =
                    (body_key(intent, "platform_key"), intent.body_str("origin"))
                {
                    self.origin = Some(origin.to_owned());
                    self.genesis_key = Some(key);
                    self.platform = Some(key.key_id());
                    self.keys.insert(
                        key.key_id(),
                        KeyRecord {
                            key,
                            org: intent.org.clone(),
                            role: KeyRole::Platform,
                            valid_from: 0,
                            valid_until: None,
                        },
                    );
                }
            }
            types::ROTATE_PLATFORM_KEY => {
                if let (Ok(new), Some(old)) = (body_key(intent, "new_key"), self.platform) {
                    if let Some(rec) = self.keys.get_mut(&old) {
                        rec.valid_until = Some(seq);
                    }
                    self.platform = Some(new.key_id());
                    self.keys.insert(
                        new.key_id(),
                        KeyRecord {
                            key: new,
                            org: intent.org.clone(),
                            role: KeyRole::Platform,
                            valid_from: seq + 1,
                            valid_until: None,
                        },
                    );
                }
            }
            types::KEY_ADD => {
                if let Ok(key) = body_key(intent, "public_key") {
                    self.keys.insert(
                        key.key_id(),
                        KeyRecord {
                            key,
                            org: intent.org.clone(),
                            role: KeyRole::Actor,
                            valid_from: seq,
                            valid_until: None,
                        },
                    );
                }
            }
            types::KEY_REVOKE => {
                if let Some(rec) = intent
                    .body_str("key_id")
                    .ok()
                    .and_then(KeyId::from_hex)
                    .and_then(|id| self.keys.get_mut(&id))
                {
                    rec.valid_until = Some(seq);
                }
            }
            _ => {}
        }
        for inv in &mut self.invariants {
            inv.apply(seq, intent);
        }
        self.last_time = Some(entry.time);
        self.size = seq + 1;
    }
}
