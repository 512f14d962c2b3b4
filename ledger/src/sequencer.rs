//! The sequencer (SPEC.md §5–§8): the writer's side of the ledger. It checks
//! an entry against the replay rules, countersigns it, and advances the chain
//! and the Merkle tree, in two steps so that a caller with a database can
//! store the entry between them:
//!
//! 1. [`Sequencer::prepare`] checks and countersigns; it changes nothing;
//! 2. the caller stores `Prepared::line` (in the same transaction as the
//!    business change the entry records);
//! 3. [`Sequencer::commit`] advances the in-memory head.
//!
//! If storing fails, the prepared entry is dropped and nothing happened.

use crate::checkpoint::Checkpoint;
use crate::entry::{Entry, SigRef, cosig_message};
use crate::hash::{CHAIN_START, Hash, chain_hash, leaf_hash};
use crate::intent::{Intent, signing_message};
use crate::merkle::Tree;
use crate::sig::{self, SecretKey, Signature};
use crate::state::{LedgerState, Signed, Violation, types};
use crate::time::Timestamp;
use serde_json::json;

/// What the writer hands back for an appended entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub seq: u64,
    pub leaf: Hash,
    pub chain: Hash,
}

/// The head of the ledger: enough to sign a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub root: Hash,
    pub chain: Hash,
}

/// A checked, countersigned entry that is not yet part of the ledger.
#[derive(Debug)]
pub struct Prepared {
    pub entry: Entry,
    pub intent: Intent,
    /// The export line: what storage keeps, byte for byte.
    pub line: Vec<u8>,
    pub leaf: Hash,
    pub chain: Hash,
    /// The key that signs from the next entry on, for a rotation.
    next_platform: Option<SecretKey>,
}

#[derive(Debug)]
pub struct Sequencer {
    state: LedgerState,
    platform: SecretKey,
    tree: Tree,
    chain: Hash,
    last_checkpoint: Option<Checkpoint>,
    check_actor_signatures: bool,
}

impl Sequencer {
    /// An empty ledger whose first entry must be the genesis.
    pub fn new(platform: SecretKey) -> Self {
        Sequencer {
            state: LedgerState::new(),
            platform,
            tree: Tree::new(),
            chain: CHAIN_START,
            last_checkpoint: None,
            check_actor_signatures: true,
        }
    }

    /// Whether `prepare` verifies actor signatures. Only callers that
    /// verified them already (the generator, batch ingest) turn this off.
    pub fn set_check_actor_signatures(&mut self, on: bool) {
        self.check_actor_signatures = on;
    }

    pub fn state(&self) -> &LedgerState {
        &self.state
    }

    pub fn origin(&self) -> &str {
        self.state.origin().unwrap_or_default()
    }

    pub fn platform_key(&self) -> &SecretKey {
        &self.platform
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn last_checkpoint(&self) -> Option<&Checkpoint> {
        self.last_checkpoint.as_ref()
    }

    pub fn head(&self) -> Head {
        Head {
            size: self.tree.size(),
            root: self.tree.root(),
            chain: self.chain,
        }
    }

    /// The genesis intent and its signature for a new ledger.
    pub fn genesis_intent(
        origin: &str,
        operator_org: &str,
        platform: &SecretKey,
        time: Timestamp,
    ) -> (Vec<u8>, Vec<SigRef>) {
        let pk = platform.public_key();
        let intent = Intent {
            kind: types::GENESIS.into(),
            org: operator_org.into(),
            key_id: pk.key_id(),
            subject: origin.into(),
            assets: vec![],
            body: json!({"origin": origin, "platform_key": pk.to_hex()})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            id: "genesis".into(),
            client_time: time,
        };
        let bytes = intent.to_bytes();
        let sig = platform.sign(&signing_message(&bytes));
        (
            bytes,
            vec![SigRef {
                key_id: pk.key_id(),
                sig,
            }],
        )
    }

    /// Checks a signed intent against every rule of SPEC.md §8 and
    /// countersigns it. Changes nothing.
    pub fn prepare(
        &self,
        intent_bytes: Vec<u8>,
        sigs: Vec<SigRef>,
        time: Timestamp,
    ) -> Result<Prepared, Violation> {
        let intent = Intent::parse(&intent_bytes)
            .map_err(|e| Violation::new("bad_intent", e.to_string()))?;
        let intent_text = String::from_utf8(intent_bytes)
            .map_err(|_| Violation::new("bad_intent", "intent is not UTF-8"))?;
        let mut entry = Entry {
            seq: self.state.size(),
            time,
            intent: intent_text,
            sigs,
            cosig: Signature([0; 64]),
        };
        let jobs = self.state.authorise(&entry, &intent)?;
        if self.check_actor_signatures {
            let msg = signing_message(entry.intent.as_bytes());
            for job in jobs.iter().filter(|j| j.signed == Signed::Intent) {
                sig::verify(&job.key, &msg, &job.sig).map_err(|e| {
                    Violation::new(
                        "bad_signature",
                        format!("signature by key {} does not verify: {e}", job.key.key_id()),
                    )
                })?;
            }
        }
        self.state.admit(&entry, &intent)?;
        // The rules name the countersigning key; it must be the one we hold.
        let cosigner = jobs
            .iter()
            .find(|j| j.signed == Signed::Cosig)
            .map(|j| j.key);
        if cosigner != Some(self.platform.public_key()) {
            return Err(Violation::new(
                "wrong_platform_key",
                "the sequencer does not hold the platform key the rules require",
            ));
        }
        let origin = match intent.kind.as_str() {
            types::GENESIS => intent.body_str("origin").unwrap_or_default().to_owned(),
            _ => self.origin().to_owned(),
        };
        entry.cosig = self
            .platform
            .sign(&cosig_message(&origin, &entry.unsigned_bytes()));
        let line = entry.to_line();
        let leaf = leaf_hash(&line);
        Ok(Prepared {
            chain: chain_hash(&self.chain, &leaf),
            entry,
            intent,
            line,
            leaf,
            next_platform: None,
        })
    }

    /// Makes a prepared entry part of the ledger. The entry must have been
    /// prepared against the current head (the writer is the only caller and
    /// prepares one entry at a time).
    pub fn commit(&mut self, p: Prepared) -> Result<Receipt, Violation> {
        if p.entry.seq != self.state.size() {
            return Err(Violation::new(
                "stale_prepare",
                "the entry was prepared against an older head",
            ));
        }
        self.state.apply(&p.entry, &p.intent);
        self.chain = p.chain;
        self.tree.push(p.leaf);
        if let Some(next) = p.next_platform {
            self.platform = next;
        }
        Ok(Receipt {
            seq: p.entry.seq,
            leaf: p.leaf,
            chain: p.chain,
        })
    }

    /// Prepares a platform key rotation: the old key signs it, the new key
    /// proves possession, and the new key signs from the next entry on.
    pub fn prepare_rotation(
        &self,
        new: SecretKey,
        id: &str,
        time: Timestamp,
    ) -> Result<Prepared, Violation> {
        let old_pk = self.platform.public_key();
        let new_pk = new.public_key();
        let operator_org = self
            .state
            .genesis_key()
            .and_then(|k| self.state.key(&k.key_id()))
            .map(|r| r.org.clone())
            .unwrap_or_default();
        let intent = Intent {
            kind: types::ROTATE_PLATFORM_KEY.into(),
            org: operator_org,
            key_id: old_pk.key_id(),
            subject: self.origin().to_owned(),
            assets: vec![],
            body: json!({"new_key": new_pk.to_hex()})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            id: id.into(),
            client_time: time,
        };
        let bytes = intent.to_bytes();
        let msg = signing_message(&bytes);
        let sigs = vec![
            SigRef {
                key_id: old_pk.key_id(),
                sig: self.platform.sign(&msg),
            },
            SigRef {
                key_id: new_pk.key_id(),
                sig: new.sign(&msg),
            },
        ];
        let mut p = self.prepare(bytes, sigs, time)?;
        p.next_platform = Some(new);
        Ok(p)
    }

    /// Signs a checkpoint of the current head. Refuses an empty ledger and a
    /// repeat of the last checkpoint's size.
    pub fn checkpoint(&mut self, time: Timestamp) -> Result<Checkpoint, Violation> {
        let head = self.head();
        let prev_size = self.last_checkpoint.as_ref().map_or(0, |c| c.size);
        if head.size == 0 || prev_size == head.size {
            return Err(Violation::new(
                "nothing_to_checkpoint",
                "no entries since the last checkpoint",
            ));
        }
        let floor = [
            self.state.last_time(),
            self.last_checkpoint.as_ref().map(|c| c.time),
        ]
        .into_iter()
        .flatten()
        .max();
        let time = floor.map_or(time, |f| time.max(f));
        let cp = Checkpoint::sign(
            self.origin(),
            head.size,
            prev_size,
            head.root,
            head.chain,
            time,
            &self.platform,
        );
        self.last_checkpoint = Some(cp.clone());
        Ok(cp)
    }

    /// Rebuilds the head from a stored line without re-checking signatures
    /// (they were checked when the entry was written; `scf-verify` re-checks
    /// them offline). Every other rule is applied, so a stored ledger that
    /// breaks one is refused.
    pub fn restore_entry(&mut self, line: &[u8]) -> Result<Receipt, Violation> {
        let entry = Entry::parse_line(line)
            .map_err(|e| Violation::new("malformed_record", e.to_string()))?;
        let intent = Intent::parse(entry.intent.as_bytes())
            .map_err(|e| Violation::new("bad_intent", e.to_string()))?;
        self.state.authorise(&entry, &intent)?;
        self.state.admit(&entry, &intent)?;
        let leaf = leaf_hash(line);
        let p = Prepared {
            chain: chain_hash(&self.chain, &leaf),
            entry,
            intent,
            line: line.to_vec(),
            leaf,
            next_platform: None,
        };
        self.commit(p)
    }

    /// Takes a stored checkpoint as the last one after checking that it
    /// matches the restored head and is signed by the platform key in force.
    pub fn restore_checkpoint(&mut self, cp: Checkpoint) -> Result<(), Violation> {
        let root = self
            .tree
            .root_at(cp.size)
            .map_err(|e| Violation::new("bad_checkpoint_size", e.to_string()))?;
        if cp.root != root {
            return Err(Violation::new(
                "fork_evidence",
                format!(
                    "stored checkpoint of size {} does not match the stored entries",
                    cp.size
                ),
            ));
        }
        let key = self
            .state
            .platform_key_at_size(cp.size)
            .ok_or_else(|| Violation::new("wrong_platform_key", "no platform key at that size"))?;
        cp.verify(key)
            .map_err(|e| Violation::new("bad_checkpoint_signature", e.to_string()))?;
        if self
            .last_checkpoint
            .as_ref()
            .is_none_or(|c| c.size < cp.size)
        {
            self.last_checkpoint = Some(cp);
        }
        Ok(())
    }

    /// After a restore, hand over the current platform secret (the one the
    /// replayed ledger names as current).
    pub fn with_platform_key(mut self, key: SecretKey) -> Result<Self, Violation> {
        if self.state.size() > 0 && self.state.platform_key() != Some(&key.public_key()) {
            return Err(Violation::new(
                "wrong_platform_key",
                "the configured platform key is not the ledger's current platform key",
            ));
        }
        self.platform = key;
        Ok(self)
    }
}
