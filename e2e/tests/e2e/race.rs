//! "N clients race on X": [`race`] releases N requests at the same instant
//! against the real server and returns what each one got, in order. The
//! tests below race for one scarce thing (an organisation id, a pending
//! enrolment, a key id, a signed intent, an Idempotency-Key) and insist on
//! exactly one winner, a clear refusal for every loser, and exactly one
//! ledger entry.
//!
//! For a later product race (two funders financing the same receivable,
//! two splits of one payables certificate, ...), prepare the N signed
//! bodies first, then
//!
//! ```ignore
//! let replies = race(64, |i| {
//!     let (client, req) = (client.clone(), bodies[i].clone());
//!     async move { req.send(&client).await }
//! })
//! .await;
//! let won = one_winner(&replies, 201, "my race");
//! ```
//!
//! and check the ledger with [`ledger_entries`].

use crate::client::{Client, Reply, new_id};
use crate::mutations::{self, Listed, Prepared, ledger_entries};
use crate::server::Server;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `f(0)`, ..., `f(n - 1)` as `n` concurrent tasks that all start at
/// the same instant, and returns their outputs in index order.
///
/// `f` itself runs before the start, one call after another: do the slow
/// preparation (signing, building bodies) there, or before, and keep the
/// future it returns to the request alone. Use a multi-threaded runtime
/// (`#[tokio::test(flavor = "multi_thread")]`) so the requests truly
/// overlap.
pub async fn race<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let gate = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (gate, fut) = (gate.clone(), f(i));
            tokio::spawn(async move {
                gate.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// How many replies had each outcome (`201`, `409 conflict`, ...).
pub fn tally(replies: &[Reply]) -> BTreeMap<String, usize> {
    let mut t = BTreeMap::new();
    for r in replies {
        *t.entry(r.outcome()).or_insert(0) += 1;
    }
    t
}

/// Insists on exactly one reply with `status` and a clear refusal for all
/// others: 409 or 422, as problem+json with a `code` and a `detail`.
/// Returns the winner's index.
#[track_caller]
pub fn one_winner(replies: &[Reply], status: u16, what: &str) -> usize {
    let summary = tally(replies);
    eprintln!("race: {} x {what}: {summary:?}", replies.len());
    let winners: Vec<usize> = (0..replies.len())
        .filter(|&i| replies[i].status == status)
        .collect();
    assert_eq!(winners.len(), 1, "{what}: one winner expected: {summary:?}");
    for r in replies.iter().filter(|r| r.status != status) {
        assert!(
            matches!(r.status, 409 | 422),
            "{what}: a loser got {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(
            r.headers["content-type"], "application/problem+json",
            "{what}"
        );
        let problem = r.json();
        assert!(problem["code"].is_string(), "{what}: {problem}");
        assert!(
            !problem["detail"].as_str().unwrap_or_default().is_empty(),
            "{what}: {problem}"
        );
    }
    winners[0]
}

/// Sends one prepared request `n` times at once, each copy from `by`.
async fn race_same(n: usize, by: &Client, reqs: Vec<Prepared>) -> Vec<Reply> {
    assert_eq!(reqs.len(), n);
    let reqs = Arc::new(reqs);
    race(n, |i| {
        let (by, reqs) = (by.clone(), reqs.clone());
        async move { reqs[i].send(&by).await }
    })
    .await
}

/// The entries whose intent id is one of `ids`.
fn entries_of<'a>(entries: &'a [Listed], ids: &[&str]) -> Vec<&'a Listed> {
    entries
        .iter()
        .filter(|e| ids.contains(&e.intent_id.as_str()))
        .collect()
}

const N: usize = 64;

/// 64 different signed `org.onboard` intents for the same organisation id:
/// one organisation, one entry; the others learn it exists (409).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race_onboard_same_org() {
    let server = Server::start().await;
    let op = server.operator();
    let org_id = new_id();
    let reqs: Vec<Prepared> = (0..N)
        .map(|_| mutations::onboard(&op, &org_id, "funder"))
        .collect();
    let replies = race_same(N, &op, reqs.clone()).await;
    let won = one_winner(&replies, 201, "org.onboard of one org_id");
    assert_eq!(replies[won].json()["org_id"], org_id.as_str());
    for r in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(r.outcome(), "409 conflict", "{}", r.json());
    }
    let ids: Vec<&str> = reqs.iter().map(|r| r.intent_id.as_str()).collect();
    let entries = ledger_entries(&op).await;
    let recorded = entries_of(&entries, &ids);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].intent_id, reqs[won].intent_id);
    let org = op
        .get(&format!("/v1/organisations/{org_id}"))
        .await
        .expect(200);
    assert_eq!(org["status"], "invited");
}

/// 64 enrolments of the same pending user with its key (64 different
/// `key.add` intents, all signed by that key, no token): one enrols.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race_enrol_same_user() {
    let server = Server::start().await;
    let op = server.operator();
    let (add, user) = mutations::add_user(&op, "maker");
    add.send(&op).await.expect(201);
    let reqs: Vec<Prepared> = (0..N).map(|_| mutations::enrolment(&user)).collect();
    let replies = race_same(N, &user, reqs.clone()).await;
    let won = one_winner(&replies, 201, "enrolment of one pending user");
    assert_eq!(replies[won].json()["key_id"], user.key_id_hex().as_str());
    let ids: Vec<&str> = reqs.iter().map(|r| r.intent_id.as_str()).collect();
    let entries = ledger_entries(&op).await;
    assert_eq!(entries_of(&entries, &ids).len(), 1);
    // The winner's key works: the user logs in with it.
    let login = Prepared::new(
        &user,
        "/v1/tokens",
        "auth.token",
        &user.org_id,
        serde_json::json!({"user": user.user_id, "label": "race"}),
    );
    login.send(&user).await.expect(201);
}

/// 64 registrations of the same key by its owner (64 `key.add` intents for
/// one public key through `POST /v1/keys`): one key, one entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race_register_same_key() {
    let server = Server::start().await;
    let op = server.operator();
    let new = op.with_key(crate::client::new_key());
    let reqs: Vec<Prepared> = (0..N)
        .map(|_| {
            Prepared::new(
                &new,
                "/v1/keys",
                "key.add",
                &op.org_id,
                serde_json::json!({"public_key": new.public_key_hex(), "user": op.user_id}),
            )
        })
        .collect();
    let replies = race_same(N, &op, reqs.clone()).await;
    let won = one_winner(&replies, 201, "POST /v1/keys of one key id");
    assert_eq!(replies[won].json()["key_id"], new.key_id_hex().as_str());
    let ids: Vec<&str> = reqs.iter().map(|r| r.intent_id.as_str()).collect();
    let entries = ledger_entries(&op).await;
    assert_eq!(entries_of(&entries, &ids).len(), 1);
}

/// One signed intent sent 64 times at once, each under its own
/// Idempotency-Key: the intent is recorded once, the 63 replays are 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race_one_intent_many_keys() {
    let server = Server::start().await;
    let op = server.operator();
    let first = mutations::add_key(&op);
    let reqs: Vec<Prepared> = (0..N).map(|_| first.under_new_key()).collect();
    let replies = race_same(N, &op, reqs).await;
    one_winner(&replies, 201, "one intent under 64 Idempotency-Keys");
    for r in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(r.outcome(), "409 conflict", "{}", r.json());
    }
    let entries = ledger_entries(&op).await;
    assert_eq!(entries_of(&entries, &[first.intent_id.as_str()]).len(), 1);
}

/// Sends `req` until the answer is final: a concurrent repeat may be told
/// the first is still running (409 `request_in_progress`).
async fn until_final(by: &Client, req: &Prepared) -> (Reply, usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut in_progress = 0;
    loop {
        let r = req.send(by).await;
        if r.code().as_deref() != Some("request_in_progress") {
            return (r, in_progress);
        }
        in_progress += 1;
        assert!(Instant::now() < deadline, "still in progress after 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The same request under the same Idempotency-Key, 64 times at once and
/// then 64 times in a row: it runs once, and every final answer is the
/// first one, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_concurrent_then_sequential() {
    let server = Server::start().await;
    let op = server.operator();
    let req = Arc::new(mutations::onboard(&op, &new_id(), "warehouse"));
    let finals = race(N, |_| {
        let (op, req) = (op.clone(), req.clone());
        async move { until_final(&op, &req).await }
    })
    .await;
    let waited: usize = finals.iter().map(|(_, n)| n).sum();
    let replies: Vec<Reply> = finals.into_iter().map(|(r, _)| r).collect();
    eprintln!(
        "race: {N} x one Idempotency-Key: {:?} ({waited} request_in_progress answers retried)",
        tally(&replies)
    );
    let originals: Vec<&Reply> = replies.iter().filter(|r| !r.replayed()).collect();
    assert_eq!(originals.len(), 1, "one request runs, the rest replay it");
    let original = originals[0];
    original.expect(201);
    for r in &replies {
        assert_eq!(r.status, 201);
        assert_eq!(r.body, original.body, "every final answer is the first one");
    }
    for _ in 0..N {
        let again = req.send(&op).await;
        assert!(again.replayed());
        assert_eq!(again.status, 201);
        assert_eq!(again.body, original.body);
        assert_eq!(
            again.headers["content-type"],
            original.headers["content-type"]
        );
    }
    let entries = ledger_entries(&op).await;
    assert_eq!(entries_of(&entries, &[req.intent_id.as_str()]).len(), 1);
}

/// 64 different requests under one Idempotency-Key at once: exactly one
/// runs; the others are told the key is busy (409 `request_in_progress`)
/// or, once it has an answer, that it belongs to another request (422
/// `idempotency_key_reused`), and they stay that way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race_one_idempotency_key_many_bodies() {
    let server = Server::start().await;
    let op = server.operator();
    let key = new_id();
    let reqs: Vec<Prepared> = (0..N)
        .map(|_| Prepared {
            idempotency_key: key.clone(),
            ..mutations::add_key(&op)
        })
        .collect();
    let replies = race_same(N, &op, reqs.clone()).await;
    let won = one_winner(&replies, 201, "64 requests under one Idempotency-Key");
    for r in replies.iter().filter(|r| r.status != 201) {
        assert!(
            matches!(
                r.outcome().as_str(),
                "409 request_in_progress" | "422 idempotency_key_reused"
            ),
            "{}",
            r.json()
        );
    }
    // Settled: every loser is now told the key is taken, the winner gets
    // its answer back.
    for (i, req) in reqs.iter().enumerate() {
        let again = req.send(&op).await;
        if i == won {
            assert!(again.replayed());
            assert_eq!(again.body, replies[won].body);
        } else {
            assert_eq!(again.outcome(), "422 idempotency_key_reused");
        }
    }
    let ids: Vec<&str> = reqs.iter().map(|r| r.intent_id.as_str()).collect();
    let entries = ledger_entries(&op).await;
    let recorded = entries_of(&entries, &ids);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].intent_id, reqs[won].intent_id);
}

/// A committed intent replayed under a new Idempotency-Key right after a
/// `kill -9` and a restart is still refused (the restarted writer knows
/// every recorded intent id), and its own key still returns the original
/// answer byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_refused_after_restart() {
    let mut server = Server::start().await;
    let op = server.operator();
    let reqs = [
        mutations::add_key(&op),
        mutations::onboard(&op, &new_id(), "logistics"),
        mutations::add_user(&op, "viewer").0,
    ];
    let mut originals = Vec::new();
    for req in &reqs {
        let first = req.send(&op).await;
        first.expect(201);
        originals.push(first);
    }
    server.kill();
    server.restart().await;
    let op = server.operator();
    for (i, req) in reqs.iter().enumerate() {
        // First thing after the restart: the replay under a new key.
        let replay = req.under_new_key().send(&op).await;
        assert_eq!(replay.outcome(), "409 conflict", "{}", replay.json());
        // A key.add replay breaks the key rule before the intent-id rule;
        // both say the ledger has it already.
        let detail = replay.json()["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.starts_with("duplicate_intent")
                || (req.kind == "key.add" && detail.starts_with("key_exists")),
            "{detail}"
        );
        let again = req.send(&op).await;
        assert!(again.replayed());
        assert_eq!(again.status, originals[i].status);
        assert_eq!(
            again.body, originals[i].body,
            "the stored answer survives kill -9, byte for byte"
        );
    }
    // And 64 replays at once after the restart: all refused.
    let replays: Vec<Prepared> = (0..N).map(|_| reqs[0].under_new_key()).collect();
    let replies = race_same(N, &op, replays).await;
    assert_eq!(
        tally(&replies).get("409 conflict"),
        Some(&N),
        "{:?}",
        tally(&replies)
    );
    let entries = ledger_entries(&op).await;
    for req in &reqs {
        assert_eq!(entries_of(&entries, &[req.intent_id.as_str()]).len(), 1);
    }
}
