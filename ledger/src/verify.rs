//! The offline verifier (SPEC.md §10). It replays an export through the same
//! state machine the writer uses, recomputes the chain and the Merkle root,
//! checks every signature and reports the first line that fails.
//!
//! Work per chunk of lines runs in three stages: parsing (parallel), the
//! replay (sequential, everything but curve arithmetic) and signature
//! checking (parallel batches; a failed batch is re-checked one signature at
//! a time to name the culprit). The result is the same as checking each line
//! completely before the next: the reported failure is the earliest line with
//! any defect, and within a line the SPEC's check order decides the reason.

use crate::batch::{self, BatchRows};
use crate::checkpoint::Checkpoint;
use crate::entry::{COSIG_DOMAIN, Entry};
use crate::export::{MAX_LINE, Record};
use crate::hash::{CHAIN_START, Hash, chain_hash, leaf_hash, to_hex};
use crate::intent::{INTENT_DOMAIN, Intent};
use crate::merkle::Frontier;
use crate::sig::{self, PublicKey, SigCheck, Signature};
use crate::state::{KeyRole, LedgerState, Signed, Violation};
use std::collections::HashSet;
use std::io::BufRead;

/// What the verifier is told to trust: the ledger's name and its first
/// platform key. Without it, the genesis entry is taken on trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRoot {
    pub origin: String,
    pub platform_key: PublicKey,
}

impl TrustRoot {
    /// `{"origin": "...", "platform_key": "<64 hex>"}`; other members are
    /// ignored, a repeated member is refused.
    pub fn parse(bytes: &[u8]) -> Result<TrustRoot, String> {
        #[derive(serde::Deserialize)]
        struct Raw {
            origin: String,
            platform_key: String,
        }
        // SPEC.md §10.1: parsed as in §2.3 (UTF-8, no lone surrogates, no
        // repeated member names at any level, bounded depth), not canonical.
        serde_json::from_slice::<crate::jcs::StrictJson>(bytes)
            .map_err(|e| format!("trust root: {e}"))?;
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| format!("trust root: {e}"))?;
        if !crate::is_valid_origin(&raw.origin) {
            return Err(
                "trust root: origin must be 1-128 printable ASCII characters without spaces".into(),
            );
        }
        let platform_key = PublicKey::from_hex(&raw.platform_key)
            .map_err(|e| format!("trust root platform_key: {e}"))?;
        Ok(TrustRoot {
            origin: raw.origin,
            platform_key,
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::json!({"origin": self.origin, "platform_key": self.platform_key.to_hex()})
            .to_string()
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub trust_root: Option<TrustRoot>,
    /// The newest checkpoint a previous run accepted (`--state`).
    pub saved: Option<Checkpoint>,
    /// Check every signature on its own instead of in batches.
    pub strict: bool,
    pub threads: usize,
    pub chunk_lines: usize,
    /// Rows files of bulk-uploaded invoices (`--batch-rows`, §10.5).
    pub batch_rows: Option<BatchRows>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            trust_root: None,
            saved: None,
            strict: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            chunk_lines: 16_384,
            batch_rows: None,
        }
    }
}

/// The first defect found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The first seq the export fails to prove (SPEC.md §10.3).
    pub seq: u64,
    /// 1-based line number of the defect, or the line count for defects
    /// found at the end of the input.
    pub line: u64,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub failure: Option<Failure>,
    /// Entries verified (before the failure, if any).
    pub entries: u64,
    pub checkpoints: u64,
    pub origin: Option<String>,
    /// A trust root was given and the genesis matched it.
    pub anchored: bool,
    pub latest_checkpoint: Option<Checkpoint>,
    pub actor_keys: usize,
    pub revoked_keys: usize,
    pub platform_keys: usize,
    /// Size of the saved checkpoint that was found consistent, if any.
    pub saved_consistent: Option<u64>,
    pub bytes: u64,
    /// `invoice.batch` entries whose rows file was checked (§10.5).
    pub batches_checked: u64,
    /// `invoice.batch` entries verified without their rows: not supplied.
    pub batches_unchecked: u64,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.failure.is_none()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": self.is_valid(),
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "origin": self.origin,
            "anchored": self.anchored,
            "latest_checkpoint": self.latest_checkpoint.as_ref().map(|c| serde_json::json!({
                "size": c.size, "root": to_hex(&c.root), "chain": to_hex(&c.chain),
                "time": c.time.to_string(), "key_id": c.key_id.to_hex(),
            })),
            "keys": {"actor": self.actor_keys, "revoked": self.revoked_keys, "platform": self.platform_keys},
            "saved_checkpoint_consistent": self.saved_consistent,
            "batches": {"checked": self.batches_checked, "not_checked": self.batches_unchecked},
            "failure": self.failure.as_ref().map(|f| serde_json::json!({
                "seq": f.seq, "line": f.line, "code": f.code, "message": f.message,
            })),
        })
    }
}

/// The input is not an export at all, or a side file is unusable (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("cannot read input: {0}")]
    Io(String),
    #[error("not an scf-ledger export: {0}")]
    NotAnExport(String),
    #[error("unusable saved state: {0}")]
    State(String),
    #[error("unusable batch rows: {0}")]
    BatchRows(String),
}

/// Code of a defect that makes the saved state, not the export, unusable.
const STATE_UNUSABLE: &str = "state_unusable";
/// How many leading lines are searched for a well-formed record before the
/// input is declared not to be an export at all.
const RECOGNITION_WINDOW: usize = 16;
/// Signatures per batch: large enough to amortise the multiscalar
/// multiplication, small enough to re-check quickly when one fails.
const BATCH: usize = 512;

struct Line {
    bytes: Vec<u8>,
    terminated: bool,
}

enum Parsed {
    Header,
    Entry(Box<ParsedEntry>),
    Checkpoint(Box<Checkpoint>),
    Bad(Violation),
}

struct ParsedEntry {
    entry: Entry,
    intent: Result<Intent, Violation>,
    leaf: Hash,
    /// Canonical bytes of the entry without `cosig`.
    unsigned: Vec<u8>,
}

fn parse_line(line: &Line) -> Parsed {
    if !line.terminated {
        return Parsed::Bad(Violation::new(
            "malformed_record",
            "the last line has no terminating newline",
        ));
    }
    if line.bytes.len() > MAX_LINE {
        return Parsed::Bad(Violation::new(
            "malformed_record",
            "line is longer than 1 MiB",
        ));
    }
    match Record::parse(&line.bytes) {
        Ok(Record::Header) => Parsed::Header,
        Ok(Record::Checkpoint(c)) => Parsed::Checkpoint(Box::new(c)),
        Ok(Record::Entry(entry)) => {
            let intent = Intent::parse(entry.intent.as_bytes())
                .map_err(|e| Violation::new("bad_intent", e.to_string()));
            // The line is canonical and `cosig` sorts first, so the unsigned
            // form is the line with that member cut out.
            let prefix = 10 + 128 + 2; // {"cosig":"<128 hex>",
            let unsigned = match line.bytes.get(prefix..) {
                Some(rest) if line.bytes.get(prefix - 2..prefix) == Some(b"\",") => {
                    let mut u = Vec::with_capacity(rest.len() + 1);
                    u.push(b'{');
                    u.extend_from_slice(rest);
                    u
                }
                _ => entry.unsigned_bytes(),
            };
            Parsed::Entry(Box::new(ParsedEntry {
                leaf: leaf_hash(&line.bytes),
                entry,
                intent,
                unsigned,
            }))
        }
        Err(e) => Parsed::Bad(Violation::new("malformed_record", e.to_string())),
    }
}

fn parse_parallel(lines: &[Line], threads: usize) -> Vec<Parsed> {
    let threads = threads.max(1);
    if threads == 1 || lines.len() < 64 {
        return lines.iter().map(parse_line).collect();
    }
    let per = lines.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(parse_line).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(lines.len());
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                // A parser panic is a bug; report it as a defect rather than crash.
                Err(_) => out.push(Parsed::Bad(Violation::new(
                    "internal",
                    "parser thread failed",
                ))),
            }
        }
        out
    })
}

/// One signature to check, tied to the chunk line it belongs to.
struct Job {
    line: usize,
    key: PublicKey,
    msg: usize,
    sig: Signature,
    code: &'static str,
}

/// Index (into `jobs`) of the first signature that fails.
fn first_bad_signature(
    jobs: &[Job],
    msgs: &[Vec<u8>],
    threads: usize,
    strict: bool,
) -> Option<usize> {
    let check_part = |offset: usize, part: &[Job]| -> Option<usize> {
        for (b, batch) in part.chunks(BATCH).enumerate() {
            let checks: Vec<SigCheck<'_>> = batch
                .iter()
                .map(|j| SigCheck {
                    key: &j.key,
                    msg: msgs.get(j.msg).map_or(&[][..], |m| &m[..]),
                    sig: &j.sig,
                })
                .collect();
            if !strict && sig::verify_batch(&checks).is_ok() {
                continue;
            }
            if let Some(i) = checks
                .iter()
                .position(|c| sig::verify(c.key, c.msg, c.sig).is_err())
            {
                return Some(offset + b * BATCH + i);
            }
        }
        None
    };
    let threads = threads.max(1);
    if threads == 1 || jobs.len() < 2 * BATCH {
        return check_part(0, jobs);
    }
    let per = jobs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(per)
            .enumerate()
            .map(|(i, part)| s.spawn(move || check_part(i * per, part)))
            .collect();
        // Parts are in order, so the first part with a failure has the earliest.
        let results: Vec<Option<usize>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Some(0)))
            .collect();
        results.into_iter().flatten().min()
    })
}

struct Engine<'o> {
    opts: &'o Options,
    state: LedgerState,
    frontier: Frontier,
    chain: Hash,
    checkpoints: u64,
    latest: Option<Checkpoint>,
    /// Whether the previous record was a checkpoint covering every entry.
    covered: bool,
    lines_seen: u64,
    anchored: bool,
    saved_consistent: Option<u64>,
    /// Batch ids of the `invoice.batch` entries replayed so far.
    batches: HashSet<String>,
    batches_checked: u64,
    batches_unchecked: u64,
}

/// A defect found during the replay of one chunk.
struct Defect {
    line: usize,
    violation: Violation,
    /// Found by a check that comes after the line's signatures in SPEC
    /// order, so a bad signature on the same line takes precedence.
    after_signatures: bool,
}

impl<'o> Engine<'o> {
    fn new(opts: &'o Options) -> Self {
        Engine {
            opts,
            state: LedgerState::new(),
            frontier: Frontier::new(),
            chain: CHAIN_START,
            checkpoints: 0,
            latest: None,
            covered: false,
            lines_seen: 0,
            anchored: false,
            saved_consistent: None,
            batches: HashSet::new(),
            batches_checked: 0,
            batches_unchecked: 0,
        }
    }

    fn origin(&self) -> &str {
        self.state.origin().unwrap_or_default()
    }

    /// Replays one chunk. Returns the signature jobs, their messages, the
    /// entry count before each line, and the first defect (replay stops there).
    #[allow(clippy::type_complexity)]
    fn replay(
        &mut self,
        parsed: &[Parsed],
    ) -> Result<(Vec<Job>, Vec<Vec<u8>>, Vec<(u64, u64)>, Option<Defect>), InputError> {
        let mut jobs = Vec::with_capacity(parsed.len() * 2);
        let mut msgs = Vec::with_capacity(parsed.len() * 2);
        let mut before = Vec::with_capacity(parsed.len());
        for (i, p) in parsed.iter().enumerate() {
            before.push((self.state.size(), self.checkpoints));
            let first_line = self.lines_seen == 0 && i == 0;
            let defect = |violation: Violation, after_signatures: bool| Defect {
                line: i,
                violation,
                after_signatures,
            };
            match p {
                Parsed::Header if first_line => {}
                Parsed::Header => {
                    return Ok((
                        jobs,
                        msgs,
                        before,
                        Some(defect(
                            Violation::new(
                                "malformed_record",
                                "a header line in the middle of the export",
                            ),
                            false,
                        )),
                    ));
                }
                _ if first_line => {
                    return Ok((
                        jobs,
                        msgs,
                        before,
                        Some(defect(
                            Violation::new(
                                "bad_header",
                                "the first line is not the version-1 export header",
                            ),
                            false,
                        )),
                    ));
                }
                Parsed::Bad(v) => return Ok((jobs, msgs, before, Some(defect(v.clone(), false)))),
                Parsed::Entry(pe) => match self.entry(pe, i, &mut jobs, &mut msgs)? {
                    Ok(()) => {}
                    Err((v, after)) => return Ok((jobs, msgs, before, Some(defect(v, after)))),
                },
                Parsed::Checkpoint(cp) => match self.checkpoint(cp, i, &mut jobs, &mut msgs) {
                    Ok(()) => {}
                    Err((v, after)) => return Ok((jobs, msgs, before, Some(defect(v, after)))),
                },
            }
        }
        Ok((jobs, msgs, before, None))
    }

    #[allow(clippy::type_complexity)]
    fn entry(
        &mut self,
        pe: &ParsedEntry,
        line: usize,
        jobs: &mut Vec<Job>,
        msgs: &mut Vec<Vec<u8>>,
    ) -> Result<Result<(), (Violation, bool)>, InputError> {
        let intent = match &pe.intent {
            Ok(i) => i,
            Err(v) => return Ok(Err((v.clone(), false))),
        };
        let sig_jobs = match self.state.authorise(&pe.entry, intent) {
            Ok(j) => j,
            Err(v) => return Ok(Err((v, false))),
        };
        if pe.entry.seq == 0
            && let Err(v) = self.check_genesis(intent)
        {
            return Ok(Err((v, false)));
        }
        let origin = match intent.kind.as_str() {
            crate::state::types::GENESIS => intent.body_str("origin").unwrap_or_default(),
            _ => self.origin(),
        };
        let intent_msg = msgs.len();
        let mut m = Vec::with_capacity(INTENT_DOMAIN.len() + pe.entry.intent.len());
        m.extend_from_slice(INTENT_DOMAIN);
        m.extend_from_slice(pe.entry.intent.as_bytes());
        msgs.push(m);
        let mut c = Vec::with_capacity(COSIG_DOMAIN.len() + origin.len() + 1 + pe.unsigned.len());
        c.extend_from_slice(COSIG_DOMAIN);
        c.extend_from_slice(origin.as_bytes());
        c.push(b'\n');
        c.extend_from_slice(&pe.unsigned);
        msgs.push(c);
        for j in &sig_jobs {
            let (msg, code) = match j.signed {
                Signed::Intent => (intent_msg, "bad_signature"),
                Signed::Cosig => (intent_msg + 1, "bad_cosig"),
            };
            jobs.push(Job {
                line,
                key: j.key,
                msg,
                sig: j.sig,
                code,
            });
        }
        let with_rows = match self.batch_rows(intent)? {
            Ok(w) => w,
            Err(v) => return Ok(Err((v, true))),
        };
        let intent = with_rows.as_ref().unwrap_or(intent);
        if let Err(v) = self.state.admit(&pe.entry, intent) {
            return Ok(Err((v, true)));
        }
        self.state.apply(&pe.entry, intent);
        if intent.kind == batch::BATCH_TYPE {
            if with_rows.is_some() {
                self.batches_checked += 1;
            } else {
                self.batches_unchecked += 1;
            }
            if let Ok(id) = batch::batch_id(intent) {
                self.batches.insert(id);
            }
        }
        self.chain = chain_hash(&self.chain, &pe.leaf);
        self.frontier.push(pe.leaf);
        self.covered = false;
        if let Some(saved) = &self.opts.saved
            && saved.size == self.frontier.size()
            && let Err(v) = self.check_saved(saved)
        {
            return Ok(Err((v, true)));
        }
        Ok(Ok(()))
    }

    /// For an `invoice.batch` entry whose rows file was given: the intent
    /// as if its `assets` encumbered every row's key, so the invariants
    /// judge them like single invoices' keys (§10.5). `None` for other
    /// entries and for batches whose rows were not supplied.
    fn batch_rows(&self, intent: &Intent) -> Result<Result<Option<Intent>, Violation>, InputError> {
        if intent.kind != batch::BATCH_TYPE {
            return Ok(Ok(None));
        }
        let Some(rows) = &self.opts.batch_rows else {
            return Ok(Ok(None));
        };
        let id = match batch::batch_id(intent) {
            Ok(id) => id,
            Err(v) => return Ok(Err(v)),
        };
        let Some(path) = rows.file(&id) else {
            if rows.require {
                return Ok(Err(Violation::new(
                    "batch_rows_missing",
                    format!("no rows file {id}.{} for batch {id}", batch::ROWS_EXT),
                )));
            }
            return Ok(Ok(None));
        };
        let name = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| InputError::BatchRows(format!("{name}: {e}")))?;
        match batch::check_rows(intent, &name, file).map_err(InputError::BatchRows)? {
            Ok(assets) => {
                let mut with = intent.clone();
                with.assets.extend(assets);
                Ok(Ok(Some(with)))
            }
            Err(v) => Ok(Err(v)),
        }
    }

    fn check_genesis(&mut self, intent: &Intent) -> Result<(), Violation> {
        let origin = intent.body_str("origin").unwrap_or_default();
        if let Some(root) = &self.opts.trust_root {
            let key = intent.body_str("platform_key").unwrap_or_default();
            if root.origin != origin || root.platform_key.to_hex() != key {
                return Err(Violation::new(
                    "untrusted_genesis",
                    format!(
                        "the genesis names ledger {origin:?} with platform key {key}, the trust root expects {:?} with {}",
                        root.origin,
                        root.platform_key.to_hex()
                    ),
                ));
            }
            self.anchored = true;
        }
        if let Some(saved) = &self.opts.saved
            && saved.origin != origin
        {
            return Err(Violation::new(
                STATE_UNUSABLE,
                format!(
                    "the saved checkpoint is for ledger {:?}, the export is {origin:?}",
                    saved.origin
                ),
            ));
        }
        Ok(())
    }

    /// Compares the tree at the saved checkpoint's size with it. A saved
    /// checkpoint that is not this ledger's is reported as `state_unusable`,
    /// which the caller turns into unusable input if it is the first defect.
    fn check_saved(&mut self, saved: &Checkpoint) -> Result<(), Violation> {
        let unusable = |msg: String| Violation::new(STATE_UNUSABLE, msg);
        let key = self
            .state
            .platform_key_at_size(saved.size)
            .filter(|k| k.key_id() == saved.key_id)
            .ok_or_else(|| {
                unusable(format!(
                    "the saved checkpoint's key {} is not this ledger's platform key at size {}",
                    saved.key_id, saved.size
                ))
            })?;
        saved.verify(key).map_err(|e| {
            unusable(format!(
                "the saved checkpoint's signature does not verify: {e}"
            ))
        })?;
        if saved.root != self.frontier.root() || saved.chain != self.chain {
            return Err(Violation::new(
                "fork",
                format!(
                    "a checkpoint of size {} saved earlier (root {}) disagrees with this export (root {}): the ledger was forked or rewritten",
                    saved.size,
                    to_hex(&saved.root),
                    to_hex(&self.frontier.root())
                ),
            ));
        }
        self.saved_consistent = Some(saved.size);
        Ok(())
    }

    fn checkpoint(
        &mut self,
        cp: &Checkpoint,
        line: usize,
        jobs: &mut Vec<Job>,
        msgs: &mut Vec<Vec<u8>>,
    ) -> Result<(), (Violation, bool)> {
        let v = |code, msg: String| (Violation::new(code, msg), false);
        let size = self.frontier.size();
        if cp.origin != self.origin() {
            return Err(v(
                "wrong_origin",
                format!(
                    "checkpoint origin {:?} is not the ledger's {:?}",
                    cp.origin,
                    self.origin()
                ),
            ));
        }
        if cp.size != size || size == 0 {
            return Err(v(
                "bad_checkpoint_size",
                format!("checkpoint claims size {} after {size} entries", cp.size),
            ));
        }
        let prev = self.latest.as_ref().map_or(0, |c| c.size);
        if cp.prev_size != prev || (self.latest.is_some() && prev == size) {
            return Err(v(
                "checkpoint_gap",
                format!(
                    "checkpoint names previous size {}, the previous checkpoint has size {prev}",
                    cp.prev_size
                ),
            ));
        }
        let floor = [self.state.last_time(), self.latest.as_ref().map(|c| c.time)]
            .into_iter()
            .flatten()
            .max();
        if floor.is_some_and(|t| cp.time < t) {
            return Err(v(
                "time_regressed",
                "checkpoint time is before the entries or checkpoint it follows".into(),
            ));
        }
        let key = match self.state.platform_key_at_size(size) {
            Some(k) if k.key_id() == cp.key_id => *k,
            _ => {
                return Err(v(
                    "wrong_platform_key",
                    format!(
                        "checkpoint is signed by {}, not by the platform key in force at size {size}",
                        cp.key_id
                    ),
                ));
            }
        };
        msgs.push(cp.signed_message());
        jobs.push(Job {
            line,
            key,
            msg: msgs.len() - 1,
            sig: cp.sig,
            code: "bad_checkpoint_signature",
        });
        if cp.root != self.frontier.root() || cp.chain != self.chain {
            return Err((
                Violation::new(
                    "fork_evidence",
                    format!(
                        "a validly signed checkpoint of size {size} disagrees with the entries: the platform signed two histories"
                    ),
                ),
                true,
            ));
        }
        self.checkpoints += 1;
        self.latest = Some(cp.clone());
        self.covered = true;
        Ok(())
    }
}

fn read_line<R: BufRead>(mut r: R, buf: &mut Vec<u8>) -> Result<Option<bool>, InputError> {
    batch::read_line_within(&mut r, buf, MAX_LINE).map_err(|e| InputError::Io(e.to_string()))
}

/// Verifies an export read from `input`. `progress` is called after each
/// chunk with the number of entries verified and bytes read so far.
pub fn verify<R: BufRead>(
    mut input: R,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, InputError> {
    if let Some(saved) = &opts.saved
        && saved.size == 0
    {
        return Err(InputError::State("the saved checkpoint has size 0".into()));
    }
    let mut engine = Engine::new(opts);
    let mut bytes = 0u64;
    let mut buf = Vec::new();
    let mut failure = None;
    let mut entries_ok = 0u64;
    let mut checkpoints_ok = 0u64;
    'chunks: loop {
        let mut lines = Vec::with_capacity(opts.chunk_lines.min(1 << 16));
        while lines.len() < opts.chunk_lines.max(1) {
            match read_line(&mut input, &mut buf)? {
                None => break,
                Some(terminated) => {
                    bytes += u64::try_from(buf.len()).unwrap_or(0) + u64::from(terminated);
                    lines.push(Line {
                        bytes: std::mem::take(&mut buf),
                        terminated,
                    });
                }
            }
        }
        if lines.is_empty() {
            break;
        }
        let parsed = parse_parallel(&lines, opts.threads);
        if engine.lines_seen == 0 {
            let window = parsed.iter().take(RECOGNITION_WINDOW);
            if !window.into_iter().any(|p| !matches!(p, Parsed::Bad(_))) {
                return Err(InputError::NotAnExport(
                    "no line among the first ones is an export header, entry or checkpoint".into(),
                ));
            }
        }
        let (jobs, msgs, before, defect) = engine.replay(&parsed)?;
        let bad_sig = first_bad_signature(&jobs, &msgs, opts.threads, opts.strict);
        let sig_failure = bad_sig.and_then(|i| jobs.get(i)).map(|j| {
            (
                j.line,
                Violation::new(
                    j.code,
                    format!("signature by key {} does not verify", j.key.key_id()),
                ),
            )
        });
        let chosen = match (sig_failure, defect) {
            (Some((sl, sv)), Some(d)) => {
                if sl < d.line || (sl == d.line && d.after_signatures) {
                    Some((sl, sv))
                } else {
                    Some((d.line, d.violation))
                }
            }
            (Some(s), None) => Some(s),
            (None, Some(d)) => Some((d.line, d.violation)),
            (None, None) => None,
        };
        let base_line = engine.lines_seen;
        engine.lines_seen += u64::try_from(lines.len()).unwrap_or(0);
        if let Some((_, v)) = chosen.as_ref().filter(|(_, v)| v.code == STATE_UNUSABLE) {
            return Err(InputError::State(v.message.clone()));
        }
        if let Some((line, v)) = chosen {
            let (seq, cps) = before
                .get(line)
                .copied()
                .unwrap_or((engine.state.size(), engine.checkpoints));
            entries_ok = seq;
            checkpoints_ok = cps;
            failure = Some(Failure {
                seq,
                line: base_line + u64::try_from(line).unwrap_or(0) + 1,
                code: v.code,
                message: v.message,
            });
            break 'chunks;
        }
        entries_ok = engine.state.size();
        checkpoints_ok = engine.checkpoints;
        progress(entries_ok, bytes);
    }
    if engine.lines_seen == 0 {
        return Err(InputError::NotAnExport("the input is empty".into()));
    }
    if failure.is_none() {
        let n = engine.state.size();
        let last_cp = engine.latest.as_ref().map_or(0, |c| c.size);
        if !engine.covered {
            failure = Some(Failure {
                seq: last_cp,
                line: engine.lines_seen,
                code: "uncovered_entries",
                message: if n == 0 {
                    "the export holds no entries".into()
                } else {
                    format!(
                        "entries from seq {last_cp} to {} are not covered by a checkpoint at the end of the export",
                        n.saturating_sub(1)
                    )
                },
            });
        } else if let Some(saved) = opts.saved.as_ref().filter(|s| s.size > n) {
            failure = Some(Failure {
                seq: n,
                line: engine.lines_seen,
                code: "truncated",
                message: format!(
                    "the export ends at size {n}, but a checkpoint of size {} was accepted earlier: the ledger was truncated or rolled back",
                    saved.size
                ),
            });
        }
    }
    if failure.is_none()
        && let Some(rows) = &opts.batch_rows
        && let Some(id) = rows.batch_ids().find(|id| !engine.batches.contains(*id))
    {
        return Err(InputError::BatchRows(format!(
            "{id}.{}: no invoice.batch entry of the export has batch_id {id:?}",
            batch::ROWS_EXT
        )));
    }
    let mut actor_keys = 0;
    let mut revoked_keys = 0;
    let mut platform_keys = 0;
    for (_, r) in engine.state.keys() {
        match r.role {
            KeyRole::Platform => platform_keys += 1,
            KeyRole::Actor if r.valid_until.is_some() => revoked_keys += 1,
            KeyRole::Actor => actor_keys += 1,
        }
    }
    Ok(Report {
        entries: entries_ok,
        checkpoints: checkpoints_ok,
        origin: engine.state.origin().map(str::to_owned),
        anchored: engine.anchored && failure.is_none(),
        latest_checkpoint: if failure.is_none() {
            engine.latest.clone()
        } else {
            None
        },
        actor_keys,
        revoked_keys,
        platform_keys,
        saved_consistent: engine.saved_consistent,
        bytes,
        batches_checked: engine.batches_checked,
        batches_unchecked: engine.batches_unchecked,
        failure,
    })
}

/// Verifies an export held in memory.
pub fn verify_bytes(export: &[u8], opts: &Options) -> Result<Report, InputError> {
    verify(export, opts, &mut |_, _| {})
}
