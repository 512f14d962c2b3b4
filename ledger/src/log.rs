//! An in-memory ledger (SPEC.md §5–§7): appends entries, countersigns them,
//! keeps the chain and the Merkle tree, signs checkpoints and writes exports.
//! The service stores the same pieces in a database; tests, the generator
//! and benchmarks use this one directly.

use crate::checkpoint::Checkpoint;
use crate::entry::{Entry, SigRef, cosig_message};
use crate::export::{self, Record};
use crate::hash::{CHAIN_START, Hash, chain_hash, leaf_hash};
use crate::intent::{Intent, signing_message};
use crate::merkle::{ProofError, Tree};
use crate::sig::{self, SecretKey, Signature};
use crate::state::{LedgerState, SigJob, Signed, Violation, types};
use crate::time::Timestamp;
use serde_json::json;
use std::io::{self, Write};

/// What the writer hands back for an appended entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub seq: u64,
    pub leaf: Hash,
    pub chain: Hash,
}

/// The head of the ledger: enough to append and to sign a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub root: Hash,
    pub chain: Hash,
}

#[derive(Debug)]
pub struct Log {
    state: LedgerState,
    platform: SecretKey,
    tree: Tree,
    chain: Hash,
    /// Export records in order (entries and checkpoints interleaved).
    records: Vec<Vec<u8>>,
    checkpoints: Vec<Checkpoint>,
    /// Check actor signatures on append. Off only for the generator, which
    /// signs them itself a moment earlier.
    check_actor_signatures: bool,
}

impl Log {
    /// Starts a ledger: entry 0 is the genesis, signed by the platform key.
    pub fn genesis(
        origin: &str,
        operator_org: &str,
        platform: SecretKey,
        time: Timestamp,
    ) -> Result<Log, Violation> {
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
        let mut log = Log {
            state: LedgerState::new(),
            platform,
            tree: Tree::new(),
            chain: CHAIN_START,
            records: Vec::new(),
            checkpoints: Vec::new(),
            check_actor_signatures: true,
        };
        log.append(
            bytes,
            vec![SigRef {
                key_id: pk.key_id(),
                sig,
            }],
            time,
        )?;
        Ok(log)
    }

    /// Whether `append` verifies actor signatures (it always verifies its own
    /// countersignature logic). Only a trusted generator turns this off.
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

    pub fn head(&self) -> Head {
        Head {
            size: self.tree.size(),
            root: self.tree.root(),
            chain: self.chain,
        }
    }

    pub fn checkpoints(&self) -> &[Checkpoint] {
        &self.checkpoints
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Appends a signed intent. Every rule of SPEC.md §8 is checked; a refused
    /// intent changes nothing.
    pub fn append(
        &mut self,
        intent_bytes: Vec<u8>,
        sigs: Vec<SigRef>,
        time: Timestamp,
    ) -> Result<Receipt, Violation> {
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
        let msg = signing_message(entry.intent.as_bytes());
        for job in jobs.iter().filter(|j| j.signed == Signed::Intent) {
            if self.check_actor_signatures {
                check(job, &msg)?;
            }
        }
        self.state.admit(&entry, &intent)?;
        // The cosigner is whatever key the rules name; it must be ours.
        let cosigner = jobs
            .iter()
            .find(|j| j.signed == Signed::Cosig)
            .map(|j| j.key);
        if cosigner != Some(self.platform.public_key()) {
            return Err(Violation::new(
                "wrong_platform_key",
                "this log does not hold the platform key the rules require",
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
        self.state.apply(&entry, &intent);
        self.chain = chain_hash(&self.chain, &leaf);
        self.tree.push(leaf);
        self.records.push(line);
        Ok(Receipt {
            seq: entry.seq,
            leaf,
            chain: self.chain,
        })
    }

    /// Rotates the platform key: the old key signs the rotation, the new key
    /// proves possession, and the new key signs from the next entry on.
    pub fn rotate_platform_key(
        &mut self,
        new: SecretKey,
        id: &str,
        time: Timestamp,
    ) -> Result<Receipt, Violation> {
        let old_pk = self.platform.public_key();
        let new_pk = new.public_key();
        let intent = Intent {
            kind: types::ROTATE_PLATFORM_KEY.into(),
            org: self.operator_org(),
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
        let receipt = self.append(bytes, sigs, time)?;
        self.platform = new;
        Ok(receipt)
    }

    fn operator_org(&self) -> String {
        self.state
            .genesis_key()
            .and_then(|k| self.state.key(&k.key_id()))
            .map(|r| r.org.clone())
            .unwrap_or_default()
    }

    /// Signs a checkpoint of the current head. Refuses an empty ledger and a
    /// repeat of the last checkpoint's size.
    pub fn checkpoint(&mut self, time: Timestamp) -> Result<Checkpoint, Violation> {
        let head = self.head();
        let prev_size = self.checkpoints.last().map_or(0, |c| c.size);
        if head.size == 0 || (prev_size == head.size && !self.checkpoints.is_empty()) {
            return Err(Violation::new(
                "nothing_to_checkpoint",
                "no entries since the last checkpoint",
            ));
        }
        let time = self.state.last_time().map_or(time, |last| time.max(last));
        let cp = Checkpoint::sign(
            self.origin(),
            head.size,
            prev_size,
            head.root,
            head.chain,
            time,
            &self.platform,
        );
        self.records.push(cp.to_line());
        self.checkpoints.push(cp.clone());
        Ok(cp)
    }

    /// Writes the export (SPEC.md §9). Ends at the last checkpoint: entries
    /// after it are not yet provable and are left for the next export.
    pub fn export<W: Write>(&self, mut w: W) -> io::Result<()> {
        let end = self
            .records
            .iter()
            .rposition(|r| matches!(Record::kind_of(r), Some(export::Kind::Checkpoint)))
            .map_or(0, |i| i + 1);
        w.write_all(export::HEADER)?;
        w.write_all(b"\n")?;
        for r in self.records.iter().take(end) {
            w.write_all(r)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    }

    pub fn export_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.export(&mut out);
        out
    }

    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.tree.inclusion_proof(seq, size)
    }

    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        self.tree.consistency_proof(old, new)
    }
}

fn check(job: &SigJob, msg: &[u8]) -> Result<(), Violation> {
    sig::verify(&job.key, msg, &job.sig).map_err(|e| {
        Violation::new(
            "bad_signature",
            format!("signature by key {} does not verify: {e}", job.key.key_id()),
        )
    })
}
