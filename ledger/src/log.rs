//! An in-memory ledger: a [`Sequencer`] that also keeps every line, so it can
//! write exports and answer proofs. Tests, the generator and benchmarks use
//! it; the service stores the lines in its database instead.

use crate::checkpoint::Checkpoint;
use crate::entry::SigRef;
use crate::export;
use crate::hash::Hash;
use crate::merkle::{ProofError, Tree};
use crate::sequencer::Sequencer;
pub use crate::sequencer::{Head, Receipt};
use crate::sig::SecretKey;
use crate::state::{LedgerState, Violation};
use crate::time::Timestamp;
use std::io::{self, Write};

#[derive(Debug)]
pub struct Log {
    seq: Sequencer,
    /// Export records in order (entries and checkpoints interleaved).
    records: Vec<Vec<u8>>,
    checkpoints: Vec<Checkpoint>,
}

impl Log {
    /// Starts a ledger: entry 0 is the genesis, signed by the platform key.
    pub fn genesis(
        origin: &str,
        operator_org: &str,
        platform: SecretKey,
        time: Timestamp,
    ) -> Result<Log, Violation> {
        let (bytes, sigs) = Sequencer::genesis_intent(origin, operator_org, &platform, time);
        let mut log = Log {
            seq: Sequencer::new(platform),
            records: Vec::new(),
            checkpoints: Vec::new(),
        };
        log.append(bytes, sigs, time)?;
        Ok(log)
    }

    /// Whether `append` verifies actor signatures. Only a trusted generator
    /// turns this off.
    pub fn set_check_actor_signatures(&mut self, on: bool) {
        self.seq.set_check_actor_signatures(on);
    }

    pub fn state(&self) -> &LedgerState {
        self.seq.state()
    }

    pub fn origin(&self) -> &str {
        self.seq.origin()
    }

    pub fn platform_key(&self) -> &SecretKey {
        self.seq.platform_key()
    }

    pub fn head(&self) -> Head {
        self.seq.head()
    }

    pub fn checkpoints(&self) -> &[Checkpoint] {
        &self.checkpoints
    }

    pub fn tree(&self) -> &Tree {
        self.seq.tree()
    }

    /// Appends a signed intent. Every rule of SPEC.md §8 is checked; a refused
    /// intent changes nothing.
    pub fn append(
        &mut self,
        intent_bytes: Vec<u8>,
        sigs: Vec<SigRef>,
        time: Timestamp,
    ) -> Result<Receipt, Violation> {
        let p = self.seq.prepare(intent_bytes, sigs, time)?;
        let line = p.line.clone();
        let receipt = self.seq.commit(p)?;
        self.records.push(line);
        Ok(receipt)
    }

    /// Rotates the platform key (see [`Sequencer::prepare_rotation`]).
    pub fn rotate_platform_key(
        &mut self,
        new: SecretKey,
        id: &str,
        time: Timestamp,
    ) -> Result<Receipt, Violation> {
        let p = self.seq.prepare_rotation(new, id, time)?;
        let line = p.line.clone();
        let receipt = self.seq.commit(p)?;
        self.records.push(line);
        Ok(receipt)
    }

    /// Signs a checkpoint of the current head.
    pub fn checkpoint(&mut self, time: Timestamp) -> Result<Checkpoint, Violation> {
        let cp = self.seq.checkpoint(time)?;
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
            .rposition(|r| matches!(export::Record::kind_of(r), Some(export::Kind::Checkpoint)))
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
        self.seq.tree().inclusion_proof(seq, size)
    }

    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        self.seq.tree().consistency_proof(old, new)
    }
}
