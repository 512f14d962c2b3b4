//! Crash test: the real `scf` under signed mutations from several clients
//! is killed with SIGKILL at random moments and started again on the same
//! data directory and database, cycle after cycle. Every third cycle is a
//! burst of a few hundred requests whose kill is timed, by watching the
//! database from outside, to land while the writer's group commit is open
//! (a torn batch); every fifth restart is itself killed during start-up.
//! Clients record every receipt; a request whose answer was lost in a kill
//! is "unknown" and is retried after the restart under the same
//! Idempotency-Key. At the end every acknowledged mutation is in the
//! ledger with the seq and hashes it was acknowledged with, seq has no
//! gap, no intent is recorded twice, nothing was recorded that no client
//! was told about, every stored answer replays byte for byte, and the
//! export verifies with `scf-verify`.
//!
//! `SCF_CRASH_CYCLES=N` runs N cycles (30 on SQLite and 10 on PostgreSQL by
//! default), `SCF_CRASH_SEED=S` replays the kill timing and request mix of
//! an earlier run (the seed is printed; the server's own timing still
//! varies).

use crate::client::{Client, Reply, new_id};
use crate::mutations::{self, Prepared, ledger_entries, staff};
use crate::server::{Server, Storage};
use diesel::Connection as _;
use diesel::connection::SimpleConnection as _;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WORKERS: usize = 4;
/// Requests each worker sends at once in a burst cycle: together a batch
/// of a few hundred submissions for the writer.
const BURST: usize = 64;
/// A burst's kill comes this many milliseconds after it starts, at most.
const BURST_KILL_MS: u64 = 600;
const CYCLES_SQLITE: usize = 30;
const CYCLES_POSTGRES: usize = 10;

/// SplitMix64: a seeded, dependency-free generator for kill timing and the
/// request mix.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// A mutation the operator's staff may make at any time: onboard a firm,
/// add a colleague, register a key of their own, or log in again (whose
/// answer, a token, is derived again on a retry rather than stored).
fn next_request(me: &Client, rng: &mut Rng) -> Prepared {
    const KINDS: [&str; 4] = ["core_enterprise", "funder", "warehouse", "logistics"];
    const ROLES: [&str; 5] = ["admin", "maker", "checker", "viewer", "auditor"];
    match rng.below(10) {
        0..=2 => mutations::onboard(me, &new_id(), KINDS[rng.below(4) as usize]),
        3..=5 => mutations::add_user(me, ROLES[rng.below(5) as usize]).0,
        6..=8 => mutations::add_key(me),
        _ => mutations::login(me),
    }
}

/// How an acknowledged mutation got its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// Answered at the first attempt.
    Answered,
    /// Its answer was lost in a kill, but it had committed: a retry after
    /// a restart replayed the stored answer.
    CommittedUnanswered,
    /// Lost in a kill before it committed (or before it arrived): a retry
    /// ran it.
    RanOnRetry,
}

#[derive(Debug)]
struct Ack {
    req: Prepared,
    worker: usize,
    status: u16,
    body: Vec<u8>,
    seq: u64,
    leaf: String,
    chain: String,
    how: How,
}

/// One exchange: which worker sent what, whether it was a retry of a
/// request whose answer was lost, and what came back.
#[derive(Debug)]
struct Sent {
    worker: usize,
    retry: bool,
    req: Prepared,
    got: Result<Reply, String>,
}

/// One request after another until `stop`, or until the server is gone.
async fn steady(worker: usize, me: Client, mut rng: Rng, stop: Arc<AtomicBool>) -> Vec<Sent> {
    let mut sent = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let req = next_request(&me, &mut rng);
        let got = req.try_send(&me).await;
        let gone = got.is_err();
        sent.push(Sent {
            worker,
            retry: false,
            req,
            got,
        });
        if gone {
            break;
        }
    }
    sent
}

/// `reqs` all at once; `retry` says whether they are retries.
async fn burst(worker: usize, me: Client, reqs: Vec<Prepared>, retry: bool) -> Vec<Sent> {
    let tasks: Vec<_> = reqs
        .into_iter()
        .map(|req| {
            let me = me.clone();
            tokio::spawn(async move {
                let got = req.try_send(&me).await;
                (req, got)
            })
        })
        .collect();
    let mut sent = Vec::new();
    for task in tasks {
        let (req, got) = task.await.unwrap();
        sent.push(Sent {
            worker,
            retry,
            req,
            got,
        });
    }
    sent
}

/// What the ledger and the clients know so far.
#[derive(Debug, Default)]
struct Books {
    acks: Vec<Ack>,
    /// Requests whose answer was lost, by worker: retried after the next
    /// restart under the same Idempotency-Key.
    unknown: Vec<(usize, Prepared)>,
    server_errors: usize,
}

impl Books {
    /// Files one exchange; returns what it counted as.
    fn file(&mut self, s: Sent) -> Option<How> {
        match s.got {
            Ok(r) if r.status == 201 => {
                let how = match (s.retry, r.replayed()) {
                    (false, false) => How::Answered,
                    (true, true) => How::CommittedUnanswered,
                    (true, false) => How::RanOnRetry,
                    (false, true) => panic!("a fresh Idempotency-Key was replayed: {r:?}"),
                };
                let v = r.json();
                let receipt = &v["receipt"];
                self.acks.push(Ack {
                    worker: s.worker,
                    status: r.status,
                    seq: receipt["seq"].as_u64().unwrap(),
                    leaf: receipt["leaf"].as_str().unwrap().to_owned(),
                    chain: receipt["chain"].as_str().unwrap().to_owned(),
                    body: r.body,
                    how,
                    req: s.req,
                });
                Some(how)
            }
            // A 5xx is never a final answer: the request may be retried.
            Ok(r) if r.status >= 500 => {
                self.server_errors += 1;
                self.unknown.push((s.worker, s.req));
                None
            }
            Ok(r) => panic!(
                "{} {} ({}) answered {}: {}",
                s.req.kind,
                s.req.intent_id,
                if s.retry { "a retry" } else { "first attempt" },
                r.status,
                String::from_utf8_lossy(&r.body)
            ),
            Err(_) => {
                self.unknown.push((s.worker, s.req));
                None
            }
        }
    }
}

/// Watches for an open write transaction of the server from outside:
/// SQLite's write lock, or a PostgreSQL backend of the server's database
/// that has written in its current transaction.
enum Probe {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection, String),
}

impl Probe {
    fn open(storage: &Storage) -> Probe {
        match storage {
            Storage::Sqlite(path) => {
                // busy_timeout is 0 on a new connection: a held lock is
                // reported at once, never waited for.
                Probe::Sqlite(diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap())
            }
            Storage::Postgres { admin_url, name } => Probe::Postgres(
                diesel::PgConnection::establish(admin_url).unwrap(),
                name.clone(),
            ),
        }
    }

    fn write_tx_open(&mut self) -> bool {
        match self {
            Probe::Sqlite(conn) => match conn.batch_execute("BEGIN IMMEDIATE") {
                Ok(()) => {
                    conn.batch_execute("ROLLBACK").unwrap();
                    false
                }
                Err(e) => {
                    let busy = e.to_string().contains("locked") || e.to_string().contains("busy");
                    assert!(busy, "the SQLite probe failed: {e}");
                    true
                }
            },
            Probe::Postgres(conn, name) => {
                use diesel::RunQueryDsl as _;
                // The name is a generated scf_test_<hex>, safe to inline.
                let n: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                    &format!(
                        "(SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' AND backend_xid IS NOT NULL)"
                    ),
                ))
                .get_result(conn)
                .unwrap();
                n > 0
            }
        }
    }
}

/// Waits `delay`, then kills the server the moment a write transaction is
/// seen open (or after 5 s regardless). Returns whether one was open.
fn kill_in_write_tx(server: &mut Server, delay: Duration) -> bool {
    std::thread::sleep(delay);
    let mut probe = Probe::open(server.storage());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let open = probe.write_tx_open();
        if open || Instant::now() >= deadline {
            // Closed first, while the server still holds the database: the
            // restarted server, not this probe, must recover it.
            drop(probe);
            server.kill();
            return open;
        }
        std::thread::sleep(Duration::from_micros(300));
    }
}

#[derive(Debug, Default)]
struct Figures {
    steady: usize,
    bursts: usize,
    kills_in_write_tx: usize,
    kills_in_start_up: usize,
    restarts: Vec<Duration>,
}

/// The staff's clients, talking to the server's current run.
fn clients_of(server: &Server, staff: &[Client]) -> Vec<Client> {
    staff
        .iter()
        .map(|c| c.rebased(server.http(), &server.base))
        .collect()
}

/// Retries every unknown request once, all at once, each from the worker
/// that first sent it.
fn retry_all(books: &mut Books, clients: &[Client]) -> Vec<tokio::task::JoinHandle<Vec<Sent>>> {
    let mut by_worker: Vec<Vec<Prepared>> = vec![Vec::new(); clients.len()];
    for (w, req) in books.unknown.drain(..) {
        by_worker[w].push(req);
    }
    by_worker
        .into_iter()
        .enumerate()
        .filter(|(_, reqs)| !reqs.is_empty())
        .map(|(w, reqs)| tokio::spawn(burst(w, clients[w].clone(), reqs, true)))
        .collect()
}

/// Retries every unknown request until each has a final answer; the
/// server must be up.
async fn settle(server: &Server, staff: &[Client], books: &mut Books) {
    let mut rounds = 0;
    while !books.unknown.is_empty() {
        rounds += 1;
        assert!(
            rounds <= 10,
            "still unknown after 10 rounds: {:?}",
            books.unknown
        );
        let clients = clients_of(server, staff);
        for task in retry_all(books, &clients) {
            for sent in task.await.unwrap() {
                books.file(sent);
            }
        }
    }
}

/// Checks the ledger against what the clients were told: seq without gap,
/// no intent twice, every acknowledged mutation where its receipt says,
/// nothing recorded after the first `setup_entries` that no client was
/// told about; then that every stored answer is still the answer first
/// given, byte for byte. Returns the number of entries.
async fn audit(server: &Server, staff: &[Client], acks: &[Ack], setup_entries: u64) -> u64 {
    let op = server.operator();
    let entries = ledger_entries(&op).await;
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "seq has a gap or a repeat at {i}");
    }
    let mut ids = HashSet::new();
    for e in &entries {
        assert!(
            ids.insert(e.intent_id.as_str()),
            "intent {} is recorded twice",
            e.intent_id
        );
    }
    let by_id: HashMap<&str, &crate::mutations::Listed> =
        entries.iter().map(|e| (e.intent_id.as_str(), e)).collect();
    for a in acks {
        let e = by_id.get(a.req.intent_id.as_str()).unwrap_or_else(|| {
            panic!(
                "LOST: {} {} acknowledged at seq {} ({:?}) is not in the ledger",
                a.req.kind, a.req.intent_id, a.seq, a.how
            )
        });
        assert_eq!(
            (e.seq, e.leaf.as_str(), e.chain.as_str(), e.kind.as_str()),
            (a.seq, a.leaf.as_str(), a.chain.as_str(), a.req.kind),
            "{} ({:?}) is not where its receipt says",
            a.req.intent_id,
            a.how
        );
    }
    let recorded = entries.len() as u64 - setup_entries;
    assert_eq!(
        recorded,
        acks.len() as u64,
        "every recorded mutation was acknowledged to its client, and only those"
    );

    let clients = clients_of(server, staff);
    for chunk in acks.chunks(32) {
        let replays: Vec<_> = chunk
            .iter()
            .map(|a| {
                let (me, req) = (clients[a.worker].clone(), a.req.clone());
                tokio::spawn(async move { req.send(&me).await })
            })
            .collect();
        for (a, replay) in chunk.iter().zip(replays) {
            let again = replay.await.unwrap();
            assert!(again.replayed(), "{}", a.req.intent_id);
            assert_eq!(
                (again.status, &again.body),
                (a.status, &a.body),
                "the stored answer of {} ({:?}) changed",
                a.req.intent_id,
                a.how
            );
        }
    }
    entries.len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_kill_9_cycles() {
    let started = Instant::now();
    let postgres = std::env::var(crate::server::PG_ENV).is_ok_and(|u| !u.trim().is_empty());
    let cycles = env_number("SCF_CRASH_CYCLES").map_or(
        if postgres {
            CYCLES_POSTGRES
        } else {
            CYCLES_SQLITE
        },
        |n| usize::try_from(n).unwrap(),
    );
    let seed = env_number("SCF_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    let db = if postgres { "PostgreSQL" } else { "SQLite" };
    eprintln!("crash: seed {seed:#x} (SCF_CRASH_SEED), {cycles} cycles (SCF_CRASH_CYCLES) on {db}");
    let mut rng = Rng(seed);

    let mut server = Server::start_logging("warn").await;
    let mut staff_clients = Vec::new();
    for _ in 0..WORKERS {
        staff_clients.push(staff(&server, "admin").await);
    }
    // Everything recorded after this is a worker's mutation.
    let setup_entries = ledger_entries(&server.operator()).await.len() as u64;

    let mut books = Books::default();
    let mut figures = Figures::default();
    for cycle in 1..=cycles {
        let clients = clients_of(&server, &staff_clients);
        let retried = books.unknown.len();
        // Every third cycle is a burst, its kill timed to land while the
        // writer has a large group commit open.
        let is_burst = cycle % 3 == 0;
        // The answers lost in the last kill are asked for again first, all
        // at once, beside the new load. In a burst cycle they are part of
        // the burst; otherwise the kill waits until they are settled, so
        // lost answers do not pile up from cycle to cycle.
        let retries = retry_all(&mut books, &clients);
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for (w, me) in clients.iter().enumerate() {
            let mut wrng = rng.fork();
            let me = me.clone();
            tasks.push(if is_burst {
                let reqs = (0..BURST).map(|_| next_request(&me, &mut wrng)).collect();
                tokio::spawn(burst(w, me, reqs, false))
            } else {
                tokio::spawn(steady(w, me, wrng, stop.clone()))
            });
        }
        let mut counts = [0usize; 3];
        let mut file = |books: &mut Books, sent: Vec<Sent>| {
            for s in sent {
                match books.file(s) {
                    Some(How::Answered) => counts[0] += 1,
                    Some(How::CommittedUnanswered) => counts[1] += 1,
                    Some(How::RanOnRetry) => counts[2] += 1,
                    None => {}
                }
            }
        };
        let retry_time = Instant::now();
        let mut settled_in = None;
        let in_tx = if is_burst {
            tasks.extend(retries);
            figures.bursts += 1;
            let delay = Duration::from_millis(rng.between(20, BURST_KILL_MS));
            tokio::task::block_in_place(|| kill_in_write_tx(&mut server, delay))
        } else {
            for task in retries {
                file(&mut books, task.await.unwrap());
            }
            if retried > 0 {
                settled_in = Some(retry_time.elapsed());
            }
            figures.steady += 1;
            tokio::time::sleep(Duration::from_millis(rng.between(150, 450))).await;
            server.kill();
            false
        };
        figures.kills_in_write_tx += usize::from(in_tx);
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            file(&mut books, task.await.unwrap());
        }

        // Every fifth cycle the first start-up after the kill is killed too.
        if cycle % 5 == 0 {
            let after = Duration::from_millis(rng.between(5, 300));
            server.start_and_kill(after).await;
            figures.kills_in_start_up += 1;
        }
        let restart = Instant::now();
        server.restart().await;
        figures.restarts.push(restart.elapsed());
        // The restarted server signs a checkpoint over everything it
        // restored: it must cover every answer given so far.
        let size = server.wait_for_checkpoint(0).await["size"]
            .as_u64()
            .unwrap();
        let max_acked = books.acks.iter().map(|a| a.seq).max().unwrap_or(0);
        assert!(
            size > max_acked,
            "cycle {cycle}: the restarted ledger has {size} entries, but seq {max_acked} was acknowledged"
        );
        let kind = match (is_burst, in_tx) {
            (false, _) => "steady",
            (true, true) => "burst, killed in a write transaction",
            (true, false) => "burst, killed outside a write transaction",
        };
        let settled = settled_in.map_or(String::new(), |t| format!(" in {t:.0?}"));
        eprintln!(
            "crash: cycle {cycle:>3} {kind}: {retried} retried{settled} -> {} had committed, {} ran; {} answered; {} unknown; restart {:.0?}",
            counts[1],
            counts[2],
            counts[0],
            books.unknown.len(),
            figures.restarts.last().unwrap(),
        );
    }

    // The server is up after the last restart: settle what is unknown.
    settle(&server, &staff_clients, &mut books).await;
    let entries = audit(&server, &staff_clients, &books.acks, setup_entries).await;
    let acks = books.acks;

    // A clean stop covers everything with a checkpoint; the export of the
    // whole crashed-and-restarted ledger verifies offline.
    tokio::task::block_in_place(|| server.stop());
    let export = server.export("crash.jsonl");
    let report = server.verify(&export);
    assert!(
        report.contains(&format!("entries        {entries} verified")),
        "{report}"
    );

    let count = |how| acks.iter().filter(|a| a.how == how).count();
    let restarts = &figures.restarts;
    let mean = restarts.iter().sum::<Duration>() / u32::try_from(restarts.len().max(1)).unwrap();
    eprintln!(
        "crash: {cycles} kill -9 cycles on {db} survived ({} steady, {} burst, {} of the burst kills in an open write transaction, {} more kills during start-up), seed {seed:#x}",
        figures.steady, figures.bursts, figures.kills_in_write_tx, figures.kills_in_start_up
    );
    eprintln!(
        "crash: {} mutations acknowledged ({} answered at once, {} committed but unanswered, {} ran on retry), 0 lost, none twice; {} ledger entries VALID; {} 5xx answers; restart mean {:.1?}, max {:.1?}; {:.1?} in all",
        acks.len(),
        count(How::Answered),
        count(How::CommittedUnanswered),
        count(How::RanOnRetry),
        entries,
        books.server_errors,
        mean,
        restarts.iter().max().copied().unwrap_or_default(),
        started.elapsed()
    );
    assert!(
        figures.bursts == 0 || figures.kills_in_write_tx > 0,
        "no burst kill landed in a write transaction"
    );
}

/// SIGTERM in the middle of a burst, as a service manager stops the
/// service: it exits 0, every answer it gave is in the ledger, and the
/// checkpoint it published on the way out covers all of them, so an export
/// taken while it is down is complete. Requests it cut off are settled
/// after a restart, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load() {
    let mut server = Server::start_logging("warn").await;
    let mut staff_clients = Vec::new();
    for _ in 0..2 {
        staff_clients.push(staff(&server, "admin").await);
    }
    let setup_entries = ledger_entries(&server.operator()).await.len() as u64;
    let mut rng = Rng(env_number("SCF_CRASH_SEED").unwrap_or(0x5eed));
    let tasks: Vec<_> = clients_of(&server, &staff_clients)
        .into_iter()
        .enumerate()
        .map(|(w, me)| {
            let reqs = (0..BURST).map(|_| next_request(&me, &mut rng)).collect();
            tokio::spawn(burst(w, me, reqs, false))
        })
        .collect();
    // Early in the burst: most requests are still in flight.
    tokio::time::sleep(Duration::from_millis(60)).await;
    tokio::task::block_in_place(|| server.stop());
    let mut books = Books::default();
    for task in tasks {
        for sent in task.await.unwrap() {
            books.file(sent);
        }
    }
    let answered = books.acks.len();
    let cut_off = books.unknown.len();

    let published: serde_json::Value = serde_json::from_slice(
        &std::fs::read(server.data_dir().join("published-checkpoint.json")).unwrap(),
    )
    .unwrap();
    let covered = published["size"].as_u64().unwrap();
    let max_acked = books.acks.iter().map(|a| a.seq).max().unwrap_or(0);
    assert!(
        covered > max_acked,
        "the checkpoint published at stop covers {covered} entries, but seq {max_acked} was acknowledged"
    );
    let export = server.export("stopped.jsonl");
    let report = server.verify(&export);
    assert!(
        report.contains(&format!("entries        {covered} verified")),
        "{report}"
    );

    server.restart().await;
    settle(&server, &staff_clients, &mut books).await;
    let entries = audit(&server, &staff_clients, &books.acks, setup_entries).await;
    // A graceful stop answers what it ran: nothing it cut off had
    // committed.
    let committed_unanswered = books
        .acks
        .iter()
        .filter(|a| a.how == How::CommittedUnanswered)
        .count();
    eprintln!(
        "sigterm: {answered} answered before the stop (all covered by the final checkpoint of {covered}), {cut_off} cut off ({committed_unanswered} of them had committed) and settled after the restart; {entries} entries"
    );
    assert_eq!(
        committed_unanswered, 0,
        "SIGTERM committed requests without answering them"
    );
}
