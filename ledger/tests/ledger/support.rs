//! Shared helpers: a small generated ledger and ways to rewrite it as an
//! attacker holding the platform key would.

use scf_ledger::checkpoint::Checkpoint;
use scf_ledger::entry::{Entry, SigRef, cosig_message};
use scf_ledger::hash::{CHAIN_START, Hash, chain_hash, leaf_hash};
use scf_ledger::intent::{Intent, signing_message};
use scf_ledger::merkle::Frontier;
use scf_ledger::sig::SecretKey;
use scf_ledger::sim::{Sim, SimConfig, generate};
use scf_ledger::time::Timestamp;
use scf_ledger::verify::{Failure, Options, Report, verify_bytes};
use std::sync::OnceLock;

pub struct Small {
    pub sim: Sim,
    pub export: Vec<u8>,
}

/// 30 entries by 3 organisations, checkpoints every 6, a revocation and a
/// rotation: every kind of line, and small enough to flip every byte.
pub fn small() -> &'static Small {
    static SMALL: OnceLock<Small> = OnceLock::new();
    SMALL.get_or_init(|| {
        let sim = generate(&SimConfig {
            events: 30,
            seed: 7,
            orgs: 3,
            actors_per_org: 2,
            checkpoint_every: 6,
            ..SimConfig::default()
        })
        .expect("generate");
        let export = sim.log.export_bytes();
        Small { sim, export }
    })
}

pub fn lines(export: &[u8]) -> Vec<Vec<u8>> {
    export
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

pub fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

pub fn is_entry(line: &[u8]) -> bool {
    line.starts_with(br#"{"cosig":"#)
}

/// Number of entry lines before line `i` (the SPEC's first-bad-seq rule).
pub fn entries_before(lines: &[Vec<u8>], i: usize) -> u64 {
    lines.iter().take(i).filter(|l| is_entry(l)).count() as u64
}

pub fn opts() -> Options {
    Options {
        threads: 2,
        chunk_lines: 8,
        ..Options::default()
    }
}

pub fn check(export: &[u8], opts: &Options) -> Report {
    verify_bytes(export, opts).expect("input is an export")
}

pub fn failure(export: &[u8], opts: &Options) -> Failure {
    check(export, opts).failure.expect("export must be invalid")
}

/// Rebuilds a ledger from parsed entries as the platform would: countersigns
/// each with `platform`, recomputes the chain and tree, and closes with a
/// checkpoint. The result verifies unless an entry breaks a rule.
pub struct Forger {
    pub origin: String,
    pub platform: SecretKey,
    pub lines: Vec<Vec<u8>>,
    frontier: Frontier,
    chain: Hash,
    last_cp: u64,
    pub time: Timestamp,
}

impl Forger {
    pub fn new(origin: &str, platform: SecretKey) -> Self {
        Forger {
            origin: origin.into(),
            platform,
            lines: vec![scf_ledger::export::HEADER.to_vec()],
            frontier: Frontier::new(),
            chain: CHAIN_START,
            last_cp: 0,
            time: Timestamp::parse("2026-01-01T00:00:00Z").expect("time"),
        }
    }

    /// Copies entry lines verbatim (and follows their chain).
    pub fn copy_entry(&mut self, line: &[u8]) {
        let e = Entry::parse_line(line).expect("entry");
        self.time = e.time;
        self.push_line(line.to_vec());
    }

    fn push_line(&mut self, line: Vec<u8>) {
        let leaf = leaf_hash(&line);
        self.chain = chain_hash(&self.chain, &leaf);
        self.frontier.push(leaf);
        self.lines.push(line);
    }

    /// Appends a new entry signed by `signers` and countersigned by the platform.
    pub fn append(&mut self, intent: &Intent, signers: &[&SecretKey]) {
        let bytes = intent.to_bytes();
        let msg = signing_message(&bytes);
        let mut e = Entry {
            seq: self.frontier.size(),
            time: self.time,
            intent: String::from_utf8(bytes).expect("utf8"),
            sigs: signers
                .iter()
                .map(|k| SigRef {
                    key_id: k.public_key().key_id(),
                    sig: k.sign(&msg),
                })
                .collect(),
            cosig: scf_ledger::sig::Signature([0; 64]),
        };
        e.cosig = self
            .platform
            .sign(&cosig_message(&self.origin, &e.unsigned_bytes()));
        self.push_line(e.to_line());
    }

    pub fn checkpoint(&mut self) -> Checkpoint {
        let cp = Checkpoint::sign(
            &self.origin,
            self.frontier.size(),
            self.last_cp,
            self.frontier.root(),
            self.chain,
            self.time,
            &self.platform,
        );
        self.last_cp = cp.size;
        self.lines.push(cp.to_line());
        cp
    }

    pub fn export(&self) -> Vec<u8> {
        join(&self.lines)
    }
}

/// A business intent from `org` signed by `key`.
pub fn business_intent(org: &str, key: &SecretKey, id: &str, time: Timestamp) -> Intent {
    Intent {
        kind: "logistics.delivery.confirm".into(),
        org: org.into(),
        key_id: key.public_key().key_id(),
        subject: "forged".into(),
        assets: vec![],
        body: serde_json::json!({"quantity": "1"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        id: id.into(),
        client_time: time,
    }
}
