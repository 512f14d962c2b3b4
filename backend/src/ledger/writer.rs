//! The single writer. Every mutation of the service is a [`Submission`]: a
//! signed intent plus the business change it records. One thread applies
//! them in order, grouping whatever is queued into one database transaction
//! (group commit) with one savepoint per submission, so a refused submission
//! does not disturb its neighbours. An entry and its business change commit
//! together; callers hear back only after the commit.
//!
//! The writer also holds the ledger head and signs a checkpoint every
//! `checkpoint_interval` or `checkpoint_every` entries, re-reading what it
//! is about to sign from the database first (a signed mistake in an
//! append-only log is permanent).

use super::keyfile::{self, KeyFileError};
use super::store;
use crate::clock::Clock;
use crate::db::{Db, DbConn, DbError, write_tx};
use crate::idempotency::{self as idem, Lookup, Stored};
use diesel::Connection;
use scf_ledger::checkpoint::Checkpoint;
use scf_ledger::entry::SigRef;
use scf_ledger::hash::{Hash, leaf_hash, to_hex};
use scf_ledger::intent::Intent;
use scf_ledger::merkle::ProofError;
use scf_ledger::sequencer::{Head, Prepared, Receipt, Sequencer};
use scf_ledger::sig::SecretKey;
use scf_ledger::state::Violation;
use scf_ledger::time::Timestamp;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub data_dir: PathBuf,
    /// The ledger's name (SPEC.md §2.5), used when the ledger is created.
    pub origin: String,
    /// The platform operator's organisation id, named by the genesis entry.
    pub operator_org: String,
    pub checkpoint_every: u64,
    pub checkpoint_interval: Duration,
    /// Most submissions committed in one transaction.
    pub max_batch: usize,
    /// Most submissions waiting; beyond it callers get `Unavailable`.
    pub max_queue: usize,
    /// Gives every entry and checkpoint its time.
    pub clock: Clock,
}

impl WriterConfig {
    pub fn new(data_dir: PathBuf, origin: &str, operator_org: &str) -> Self {
        WriterConfig {
            data_dir,
            origin: origin.into(),
            operator_org: operator_org.into(),
            checkpoint_every: 1_000,
            checkpoint_interval: Duration::from_secs(1),
            max_batch: 512,
            max_queue: 10_000,
            clock: Clock::system(),
        }
    }
}

/// What a business change sees of the entry that records it.
#[derive(Debug)]
pub struct EntryView<'a> {
    pub seq: u64,
    pub time: Timestamp,
    pub intent: &'a Intent,
}

/// The business change of a submission. It runs inside the batch
/// transaction, under the submission's savepoint, after the entry passed the
/// ledger's rules and before the entry is stored. Its `Err` rolls back the
/// savepoint: neither the change nor the entry is kept.
pub type Effect =
    Box<dyn FnOnce(&mut DbConn, &EntryView<'_>) -> Result<serde_json::Value, CommandError> + Send>;

pub struct Submission {
    pub intent: Vec<u8>,
    pub sigs: Vec<SigRef>,
    pub effect: Effect,
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission")
            .field("intent_bytes", &self.intent.len())
            .field("sigs", &self.sigs.len())
            .finish()
    }
}

/// Idempotency for one submission (see `crate::idempotency`): the stored
/// response is looked up and recorded inside the batch transaction, so a
/// mutation and the answer to its retries commit together.
pub struct Idem {
    pub org: crate::db::DbId,
    pub user: crate::db::DbId,
    pub key: String,
    pub hash: Vec<u8>,
    /// Renders the answer to store; None for answers that must not be
    /// stored (the request may not have happened: retry it).
    pub respond: Respond,
}

/// Renders the answer to store for a submission's result.
pub type Respond = Box<dyn FnOnce(&Result<Outcome, CommandError>) -> Option<Stored> + Send>;

impl std::fmt::Debug for Idem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idem")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What the writer answers for a submission.
#[derive(Debug)]
pub struct Reply {
    pub result: Result<Outcome, CommandError>,
    /// For idempotent submissions: the stored answer, and whether it is a
    /// replay of an earlier request.
    pub stored: Option<(Stored, bool)>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub receipt: Receipt,
    pub time: Timestamp,
    /// What the business change returned.
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CommandError {
    /// The entry breaks a ledger rule (SPEC.md §8).
    #[error("{0}")]
    Ledger(Violation),
    /// The business change refused (`code` is stable, `status` an HTTP status).
    #[error("{message}")]
    Rejected {
        status: u16,
        code: &'static str,
        message: String,
        /// Per-field (or, for a bulk request, per-row) reasons, if any.
        errors: Vec<crate::error::FieldError>,
    },
    #[error("storage: {0}")]
    Storage(String),
    #[error("the writer is unavailable: {0}")]
    Unavailable(String),
}

impl From<DbError> for CommandError {
    fn from(e: DbError) -> Self {
        CommandError::Storage(e.to_string())
    }
}

impl From<diesel::result::Error> for CommandError {
    fn from(e: diesel::result::Error) -> Self {
        CommandError::Storage(DbError::from(e).to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("the stored ledger is invalid at seq {seq}: {violation}")]
    Corrupt { seq: u64, violation: Violation },
    #[error(
        "refusing to start: the database holds {stored} ledger entries, but a checkpoint of size {published} was already published (see {file}); the database was restored from an older copy or lost writes"
    )]
    RolledBack {
        stored: u64,
        published: u64,
        file: String,
    },
    #[error(
        "refusing to start: the published checkpoint of size {size} (root {published}) disagrees with the stored entries (root {stored}); the database was rewritten"
    )]
    Forked {
        size: u64,
        published: String,
        stored: String,
    },
    #[error("cannot start the writer thread: {0}")]
    Thread(String),
    #[error(
        "another scf process is writing to this data directory ({0}); stop it first (a ledger has exactly one writer)"
    )]
    Locked(String),
}

/// Published read-only view of the head, for handlers.
#[derive(Debug, Clone, Default)]
pub struct HeadView {
    pub size: u64,
    pub latest_checkpoint: Option<Checkpoint>,
}

enum Job {
    Submit(Submission, Option<Idem>, oneshot::Sender<Reply>),
    Inclusion {
        seq: u64,
        size: u64,
        reply: oneshot::Sender<Result<(Hash, Vec<Hash>), ProofError>>,
    },
    Consistency {
        old: u64,
        new: u64,
        reply: oneshot::Sender<Result<Vec<Hash>, ProofError>>,
    },
    Checkpoint(oneshot::Sender<Result<Checkpoint, CommandError>>),
    /// Finish the queue, cover it with a checkpoint, and stop.
    Stop(oneshot::Sender<()>),
}

/// Handle to the writer thread. Cloning it is cheap.
#[derive(Clone, Debug)]
pub struct Writer {
    tx: Sender<Job>,
    queued: Arc<AtomicUsize>,
    max_queue: usize,
    head: Arc<RwLock<HeadView>>,
    failed: Arc<AtomicBool>,
    clock: Clock,
    /// Joined by `stop`: the thread's exit (its thread-local destructors,
    /// OpenSSL's among them when PostgreSQL runs over TLS) must finish
    /// before the process exits and runs the libraries' exit handlers, or
    /// the two race.
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Submit(..) => "Submit",
            Job::Inclusion { .. } => "Inclusion",
            Job::Consistency { .. } => "Consistency",
            Job::Checkpoint(_) => "Checkpoint",
            Job::Stop(_) => "Stop",
        })
    }
}

/// Rebuilds the sequencer from storage, checking every stored entry against
/// the ledger's rules and the stored hashes, then against the published
/// checkpoint.
fn restore(
    conn: &mut DbConn,
    cfg: &WriterConfig,
    platform: SecretKey,
) -> Result<Sequencer, StartError> {
    let mut seq = Sequencer::new(SecretKey::from_seed(&platform.seed()));
    let mut next = 0u64;
    loop {
        let rows = store::entries(conn, next, u64::MAX, store::PAGE)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let at = u64::try_from(row.seq).unwrap_or(u64::MAX);
            let corrupt = |violation: Violation| StartError::Corrupt { seq: at, violation };
            let receipt = seq.restore_entry(row.line.as_bytes()).map_err(corrupt)?;
            if receipt.seq != at || row.leaf != receipt.leaf || row.chain != receipt.chain {
                return Err(corrupt(Violation::new(
                    "stored_hash_mismatch",
                    "the stored leaf or chain hash does not match the stored line",
                )));
            }
            next = at + 1;
        }
    }
    for (size, line) in store::checkpoints(conn, seq.head().size)? {
        let at = u64::try_from(size).unwrap_or(0);
        let cp = Checkpoint::parse_line(line.as_bytes()).map_err(|e| StartError::Corrupt {
            seq: at,
            violation: Violation::new("malformed_record", e.to_string()),
        })?;
        seq.restore_checkpoint(cp)
            .map_err(|violation| StartError::Corrupt { seq: at, violation })?;
    }
    if let Some(published) = keyfile::read_published(&cfg.data_dir)? {
        let stored = seq.head().size;
        if stored < published.size {
            return Err(StartError::RolledBack {
                stored,
                published: published.size,
                file: cfg
                    .data_dir
                    .join(keyfile::PUBLISHED_FILE)
                    .display()
                    .to_string(),
            });
        }
        let root = seq
            .tree()
            .root_at(published.size)
            .map_err(|e| StartError::Corrupt {
                seq: published.size,
                violation: Violation::new("bad_checkpoint_size", e.to_string()),
            })?;
        if root != published.root {
            return Err(StartError::Forked {
                size: published.size,
                published: to_hex(&published.root),
                stored: to_hex(&root),
            });
        }
    }
    seq.with_platform_key(platform)
        .map_err(|violation| StartError::Corrupt { seq: 0, violation })
}

struct State {
    _lock: std::fs::File,
    db: Db,
    cfg: WriterConfig,
    seq: Sequencer,
    head: Arc<RwLock<HeadView>>,
    queued: Arc<AtomicUsize>,
    last_checkpoint_at: Instant,
    failed: Arc<AtomicBool>,
}

impl Writer {
    /// Restores the ledger from `db` (creating the genesis entry if the
    /// ledger is empty) and starts the writer thread.
    pub fn start(db: Db, cfg: WriterConfig, platform: SecretKey) -> Result<Writer, StartError> {
        // One writer per data directory: a second one would sequence from a
        // stale head. The lock lives as long as the writer thread.
        let lock_path = cfg.data_dir.join("writer.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StartError::Locked(format!("{}: {e}", lock_path.display())))?;
        lock.try_lock()
            .map_err(|_| StartError::Locked(lock_path.display().to_string()))?;
        let mut conn = db.get()?;
        let mut seq = restore(&mut conn, &cfg, platform)?;
        cfg.clock.resume_from(seq.state().last_time());
        if seq.head().size == 0 {
            let now = cfg.clock.now();
            let (intent, sigs) =
                Sequencer::genesis_intent(&cfg.origin, &cfg.operator_org, seq.platform_key(), now);
            let p = seq
                .prepare(intent, sigs, now)
                .map_err(|violation| StartError::Corrupt { seq: 0, violation })?;
            write_tx(&mut conn, |c| store::insert_prepared(c, &p))?;
            seq.commit(p)
                .map_err(|violation| StartError::Corrupt { seq: 0, violation })?;
        }
        drop(conn);
        let head = Arc::new(RwLock::new(HeadView {
            size: seq.head().size,
            latest_checkpoint: seq.last_checkpoint().cloned(),
        }));
        let queued = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        let max_queue = cfg.max_queue;
        let failed = Arc::new(AtomicBool::new(false));
        let clock = cfg.clock.clone();
        let mut state = State {
            _lock: lock,
            db,
            cfg,
            seq,
            head: head.clone(),
            queued: queued.clone(),
            last_checkpoint_at: Instant::now(),
            failed: failed.clone(),
        };
        // Entries left uncovered by the last run get a checkpoint now.
        state.maybe_checkpoint(true);
        let thread = std::thread::Builder::new()
            .name("scf-writer".into())
            .spawn(move || state.run(rx))
            .map_err(|e| StartError::Thread(e.to_string()))?;
        Ok(Writer {
            tx,
            queued,
            max_queue,
            head,
            failed,
            clock,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// The platform clock the writer stamps entries with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// True once the writer stopped because storage no longer backs its
    /// head; the process should then exit (see `Application`).
    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    pub fn head(&self) -> HeadView {
        self.head.read().map(|h| h.clone()).unwrap_or_default()
    }

    fn send(&self, job: Job) -> Result<(), CommandError> {
        if self.queued.load(Ordering::Relaxed) >= self.max_queue {
            return Err(CommandError::Unavailable(
                "the write queue is full; retry shortly".into(),
            ));
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.tx.send(job).map_err(|_| {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            CommandError::Unavailable("the writer has stopped".into())
        })
    }

    /// Sends a job carrying a reply channel and waits for the answer.
    async fn ask<T>(&self, job: impl FnOnce(oneshot::Sender<T>) -> Job) -> Result<T, CommandError> {
        let (reply, rx) = oneshot::channel();
        self.send(job(reply))?;
        rx.await
            .map_err(|_| CommandError::Unavailable("the writer stopped before answering".into()))
    }

    fn bad_proof(e: ProofError) -> CommandError {
        CommandError::Rejected {
            status: 422,
            code: "invalid_proof_request",
            message: e.to_string(),
            errors: Vec::new(),
        }
    }

    /// Sequences a submission; resolves after its transaction committed.
    pub async fn submit(&self, s: Submission) -> Result<Outcome, CommandError> {
        self.ask(|reply| Job::Submit(s, None, reply)).await?.result
    }

    /// Sequences a submission under an idempotency key: a retry of a
    /// request that already committed gets its stored answer instead of
    /// running again. Returns the answer and whether it was a replay.
    pub async fn submit_idempotent(
        &self,
        s: Submission,
        key: Idem,
    ) -> Result<(Stored, bool), CommandError> {
        let reply = self.ask(|reply| Job::Submit(s, Some(key), reply)).await?;
        match reply.stored {
            Some(stored) => Ok(stored),
            None => Err(reply.result.err().unwrap_or_else(|| {
                CommandError::Unavailable("the answer could not be stored".into())
            })),
        }
    }

    /// Signs a checkpoint of everything committed so far (or returns the
    /// latest if nothing is new).
    pub async fn checkpoint(&self) -> Result<Checkpoint, CommandError> {
        self.ask(Job::Checkpoint).await?
    }

    /// Commits what is queued, signs a final checkpoint and stops the
    /// thread; later calls on any handle get `Unavailable`.
    pub async fn stop(&self) {
        let (reply, rx) = oneshot::channel();
        // Counted like any job: the writer subtracts every job it drains.
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Job::Stop(reply)).is_ok() {
            let _ = rx.await;
        } else {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            // The thread has answered or failed, so it is ending: a short wait.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// The leaf hash of `seq` and its inclusion proof in the tree of `size`.
    pub async fn inclusion_proof(
        &self,
        seq: u64,
        size: u64,
    ) -> Result<(Hash, Vec<Hash>), CommandError> {
        self.ask(|reply| Job::Inclusion { seq, size, reply })
            .await?
            .map_err(Self::bad_proof)
    }

    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, CommandError> {
        self.ask(|reply| Job::Consistency { old, new, reply })
            .await?
            .map_err(Self::bad_proof)
    }
}

/// A submission waiting in a batch.
type Queued = (Submission, Option<Idem>, oneshot::Sender<Reply>);

/// One submission's result inside a batch, before the batch commits.
struct Done {
    reply: oneshot::Sender<Reply>,
    answer: Reply,
}

impl State {
    fn run(mut self, rx: Receiver<Job>) {
        loop {
            if self.failed.load(Ordering::SeqCst) {
                return;
            }
            let wait = self
                .cfg
                .checkpoint_interval
                .saturating_sub(self.last_checkpoint_at.elapsed())
                .max(Duration::from_millis(1));
            let first = match rx.recv_timeout(wait) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    self.maybe_checkpoint(false);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Every handle is gone: cover what was written and stop.
                    self.maybe_checkpoint(true);
                    return;
                }
            };
            let mut batch = vec![first];
            while batch.len() < self.cfg.max_batch {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.queued.fetch_sub(batch.len(), Ordering::Relaxed);
            let mut submissions = Vec::new();
            let mut stop = None;
            for job in batch {
                match job {
                    Job::Submit(s, key, reply) => submissions.push((s, key, reply)),
                    Job::Inclusion { seq, size, reply } => {
                        let r = self.seq.tree().inclusion_proof(seq, size).and_then(|p| {
                            let leaf = self
                                .seq
                                .tree()
                                .leaf(seq)
                                .ok_or(ProofError::IndexOutOfRange { index: seq, size })?;
                            Ok((leaf, p))
                        });
                        let _ = reply.send(r);
                    }
                    Job::Consistency { old, new, reply } => {
                        let _ = reply.send(self.seq.tree().consistency_proof(old, new));
                    }
                    Job::Checkpoint(reply) => {
                        self.commit_batch(std::mem::take(&mut submissions));
                        self.maybe_checkpoint(true);
                        let r = self.seq.last_checkpoint().cloned().ok_or_else(|| {
                            CommandError::Unavailable("no checkpoint could be signed".into())
                        });
                        let _ = reply.send(r);
                    }
                    Job::Stop(reply) => stop = Some(reply),
                }
            }
            self.commit_batch(submissions);
            if let Some(reply) = stop {
                self.maybe_checkpoint(true);
                // Release the data-directory lock before answering, so the
                // caller may start a new writer at once.
                drop(self);
                let _ = reply.send(());
                return;
            }
            self.maybe_checkpoint(false);
        }
    }

    /// Applies a batch in one transaction, one savepoint per submission.
    fn commit_batch(&mut self, batch: Vec<Queued>) {
        if batch.is_empty() {
            return;
        }
        let mut conn = match self.db.get() {
            Ok(c) => c,
            Err(e) => {
                for (_, _, reply) in batch {
                    let _ = reply.send(Reply {
                        result: Err(CommandError::Unavailable(e.to_string())),
                        stored: None,
                    });
                }
                return;
            }
        };
        let seq = &mut self.seq;
        let clock = &self.cfg.clock;
        let mut done: Vec<Done> = Vec::with_capacity(batch.len());
        let committed = write_tx(&mut conn, |c| -> Result<(), CommandError> {
            for (s, key, reply) in batch {
                let answer = match key {
                    None => Reply {
                        result: apply_one(c, seq, s, clock.now()),
                        stored: None,
                    },
                    Some(key) => apply_idempotent(c, seq, s, key, clock.now())?,
                };
                done.push(Done { reply, answer });
            }
            Ok(())
        });
        match committed {
            Ok(()) => {
                for d in done {
                    let _ = d.reply.send(d.answer);
                }
            }
            Err(e) => {
                // Nothing of the batch is stored, but the sequencer advanced
                // for the submissions that passed: rebuild it from storage.
                tracing::error!(error = %e, "batch commit failed; reloading the ledger head");
                for d in done {
                    let _ = d.reply.send(Reply {
                        result: Err(CommandError::Unavailable(format!(
                            "the batch could not be committed: {e}"
                        ))),
                        stored: None,
                    });
                }
                self.reload();
            }
        }
        self.publish_head();
    }

    fn reload(&mut self) {
        let platform = SecretKey::from_seed(&self.seq.platform_key().seed());
        let restored = self
            .db
            .get()
            .map_err(StartError::from)
            .and_then(|mut c| restore(&mut c, &self.cfg, platform));
        match restored {
            Ok(s) => self.seq = s,
            Err(e) => {
                // Serving on from a head that storage does not back would sign
                // a lie; stopping is the only safe answer. The writer thread
                // ends (callers get 503) and the server exits (`Application`).
                tracing::error!(error = %e, "cannot rebuild the ledger head from storage; stopping the writer");
                self.failed.store(true, Ordering::SeqCst);
            }
        }
    }

    fn publish_head(&self) {
        if let Ok(mut h) = self.head.write() {
            h.size = self.seq.head().size;
            h.latest_checkpoint = self.seq.last_checkpoint().cloned();
        }
    }

    /// Signs a checkpoint when the cadence says so (or `force` and there is
    /// anything new), after checking the uncovered stored entries against
    /// the head it is about to sign.
    fn maybe_checkpoint(&mut self, force: bool) {
        let head: Head = self.seq.head();
        let covered = self.seq.last_checkpoint().map_or(0, |c| c.size);
        let pending = head.size.saturating_sub(covered);
        let due = pending >= self.cfg.checkpoint_every
            || (pending > 0 && self.last_checkpoint_at.elapsed() >= self.cfg.checkpoint_interval);
        if pending == 0 || !(due || force) {
            if pending == 0 {
                self.last_checkpoint_at = Instant::now();
            }
            return;
        }
        if let Err(e) = self.sign_checkpoint(covered) {
            tracing::error!(error = %e, "checkpoint failed; reloading the ledger head");
            self.reload();
        }
        self.last_checkpoint_at = Instant::now();
        self.publish_head();
    }

    fn sign_checkpoint(&mut self, covered: u64) -> Result<(), CommandError> {
        let mut conn = self.db.get()?;
        // Verify before sign: what storage holds must hash to our head.
        let head = self.seq.head();
        let mut next = covered;
        while next < head.size {
            let rows = store::entries(&mut conn, next, head.size, store::PAGE)?;
            if rows.is_empty() {
                return Err(CommandError::Storage(format!(
                    "entries from seq {next} are missing from storage"
                )));
            }
            for row in rows {
                let at = u64::try_from(row.seq).unwrap_or(u64::MAX);
                let stored_leaf = leaf_hash(row.line.as_bytes());
                if at != next || self.seq.tree().leaf(at) != Some(stored_leaf) {
                    return Err(CommandError::Storage(format!(
                        "stored entry {at} does not match the ledger head"
                    )));
                }
                next = at + 1;
            }
        }
        let cp = self
            .seq
            .checkpoint(self.cfg.clock.now())
            .map_err(CommandError::Ledger)?;
        conn.transaction(|c| store::insert_checkpoint(c, &cp))?;
        keyfile::write_published(&self.cfg.data_dir, &cp)
            .map_err(|e| CommandError::Storage(e.to_string()))?;
        Ok(())
    }
}

/// One submission under its own savepoint: the ledger rules, then the
/// business change, then the entry row. The sequencer advances only if all
/// three succeed.
fn apply_one(
    conn: &mut DbConn,
    seq: &mut Sequencer,
    s: Submission,
    now: Timestamp,
) -> Result<Outcome, CommandError> {
    let last = seq.state().last_time();
    let time = last.map_or(now, |l| now.max(l));
    let prepared: Prepared = seq
        .prepare(s.intent, s.sigs, time)
        .map_err(CommandError::Ledger)?;
    let effect = s.effect;
    let value = conn.transaction(|c| -> Result<serde_json::Value, CommandError> {
        let view = EntryView {
            seq: prepared.entry.seq,
            time,
            intent: &prepared.intent,
        };
        let value = effect(c, &view)?;
        store::insert_prepared(c, &prepared)?;
        Ok(value)
    })?;
    let receipt = seq.commit(prepared).map_err(CommandError::Ledger)?;
    Ok(Outcome {
        receipt,
        time,
        value,
    })
}

/// A submission under an idempotency key, inside the batch transaction:
/// replay a stored answer, refuse a key reused for another request, or run
/// it and store its answer in the same transaction as its entry.
fn apply_idempotent(
    conn: &mut DbConn,
    seq: &mut Sequencer,
    s: Submission,
    key: Idem,
    now: Timestamp,
) -> Result<Reply, CommandError> {
    match idem::lookup(conn, key.user, &key.key, &key.hash)? {
        Lookup::Replay(stored) => Ok(Reply {
            result: Err(CommandError::Unavailable("replayed".into())),
            stored: Some((stored, true)),
        }),
        Lookup::Mismatch => Ok(Reply {
            result: Err(CommandError::Unavailable("key reused".into())),
            stored: Some((idem::Stored::problem(&idem::reused()), false)),
        }),
        Lookup::New => {
            let result = apply_one(conn, seq, s, now);
            let stored = (key.respond)(&result);
            if let Some(st) = &stored {
                idem::record(conn, key.org, key.user, &key.key, &key.hash, st)?;
            }
            Ok(Reply {
                result,
                stored: stored.map(|st| (st, false)),
            })
        }
    }
}
