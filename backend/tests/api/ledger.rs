//! The single writer and the ledger endpoints, on SQLite and (with
//! SCF_TEST_DATABASE_URL) PostgreSQL.

use crate::support::{TestApp, spawn_app};
use diesel::prelude::*;
use scf_backend::db::schema::organisations;
use scf_backend::db::testing::TestDb;
use scf_backend::db::{Db, DbId, DbInstant};
use scf_backend::ledger::writer::{
    CommandError, Effect, StartError, Submission, Writer, WriterConfig,
};
use scf_backend::ledger::{export, keyfile};
use scf_ledger::entry::SigRef;
use scf_ledger::intent::{Intent, signing_message};
use scf_ledger::sig::SecretKey;
use scf_ledger::state::types;
use scf_ledger::time::Timestamp;
use scf_ledger::verify::{Options, verify_bytes};
use serde_json::json;
use std::time::Duration;

fn key(label: &str) -> SecretKey {
    SecretKey::from_seed(&scf_ledger::hash::sha256(label.as_bytes()))
}

fn signed(
    kind: &str,
    org: &str,
    signer: &SecretKey,
    id: &str,
    body: serde_json::Value,
) -> (Vec<u8>, Vec<SigRef>) {
    let intent = Intent {
        kind: kind.into(),
        org: org.into(),
        key_id: signer.public_key().key_id(),
        subject: String::new(),
        assets: vec![],
        body: body.as_object().cloned().unwrap_or_default(),
        id: id.into(),
        client_time: Timestamp::now(),
    };
    let bytes = intent.to_bytes();
    let sig = signer.sign(&signing_message(&bytes));
    (
        bytes,
        vec![SigRef {
            key_id: signer.public_key().key_id(),
            sig,
        }],
    )
}

/// Registers `k` as a self-enrolled actor key of org-a.
async fn enrol(w: &Writer, k: &SecretKey) {
    let (intent, sigs) = signed(
        types::KEY_ADD,
        "org-a",
        k,
        "k1",
        json!({"public_key": k.public_key().to_hex()}),
    );
    w.submit(Submission {
        intent,
        sigs,
        effect: noop(),
    })
    .await
    .unwrap();
}

fn noop() -> Effect {
    Box::new(|_, _| Ok(json!({})))
}

/// An effect that writes an organisation row named `name`, then fails if asked.
fn write_org(name: String, fail: bool) -> Effect {
    Box::new(move |c, view| {
        let now = DbInstant::now();
        diesel::insert_into(organisations::table)
            .values((
                organisations::id.eq(DbId::new_v7()),
                organisations::kind.eq("supplier"),
                organisations::name.eq(&name),
                organisations::status.eq("invited"),
                organisations::created_at.eq(now),
                organisations::updated_at.eq(now),
            ))
            .execute(c)?;
        if fail {
            return Err(CommandError::Rejected {
                status: 422,
                code: "test_refusal",
                message: "refused on purpose".into(),
                errors: Vec::new(),
            });
        }
        Ok(json!({"seq": view.seq}))
    })
}

struct Env {
    _db: TestDb,
    db: Db,
    dir: tempfile::TempDir,
}

fn env(t: TestDb) -> Env {
    let db = t.connect().unwrap();
    scf_backend::db::migrate(&mut db.get().unwrap()).unwrap();
    Env {
        _db: t,
        db,
        dir: tempfile::tempdir().unwrap(),
    }
}

fn start(e: &Env) -> Result<Writer, StartError> {
    let key = keyfile::load_or_create_platform_key(e.dir.path()).unwrap();
    let mut cfg = WriterConfig::new(e.dir.path().to_owned(), "test.local/ledger", "operator");
    cfg.checkpoint_interval = Duration::from_millis(200);
    Writer::start(e.db.clone(), cfg, key)
}

fn exported(e: &Env) -> Vec<u8> {
    let mut out = Vec::new();
    export(&mut e.db.get().unwrap(), &mut out).unwrap();
    out
}

fn org_names(e: &Env) -> Vec<String> {
    organisations::table
        .select(organisations::name)
        .load(&mut e.db.get().unwrap())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_keeps_each_submission_atomic() {
    for t in TestDb::all().unwrap() {
        let e = env(t);
        let w = start(&e).unwrap();
        let alice = key("alice");
        enrol(&w, &alice).await;

        // 60 concurrent submissions: every 5th fails in its business change,
        // every 7th has a forged signature; the rest must all land.
        let mut tasks = Vec::new();
        for n in 0..60u32 {
            let w = w.clone();
            let signer = if n % 7 == 3 {
                key("mallory")
            } else {
                key("alice")
            };
            let (mut intent, mut sigs) = signed(
                "logistics.delivery.confirm",
                "org-a",
                &signer,
                &format!("d{n}"),
                json!({"n": n}),
            );
            if n % 7 == 3 {
                // Claims to be Alice's key but is signed by Mallory.
                let alice_id = key("alice").public_key().key_id();
                let mut parsed = Intent::parse(&intent).unwrap();
                parsed.key_id = alice_id;
                intent = parsed.to_bytes();
                sigs = vec![SigRef {
                    key_id: alice_id,
                    sig: signer.sign(&signing_message(&intent)),
                }];
            }
            let effect = write_org(format!("org-{n}"), n.is_multiple_of(5));
            tasks.push(tokio::spawn(async move {
                (
                    n,
                    w.submit(Submission {
                        intent,
                        sigs,
                        effect,
                    })
                    .await,
                )
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            let (n, r) = t.await.unwrap();
            match (n.is_multiple_of(5), n % 7 == 3, r) {
                (false, false, Ok(o)) => {
                    assert_eq!(o.value["seq"], o.receipt.seq);
                    seqs.push(o.receipt.seq);
                }
                (true, false, Err(CommandError::Rejected { code, .. })) => {
                    assert_eq!(code, "test_refusal")
                }
                (_, true, Err(CommandError::Ledger(v))) => {
                    assert_eq!(v.code, "bad_signature", "{n}")
                }
                (a, b, r) => panic!("submission {n} (fails={a}, forged={b}): {r:?}"),
            }
        }
        seqs.sort_unstable();
        let expected: Vec<u64> = (2..2 + seqs.len() as u64).collect();
        assert_eq!(seqs, expected, "no gaps, no duplicates");
        // Only the successful submissions' business rows exist.
        let mut names = org_names(&e);
        names.retain(|n| n.starts_with("org-"));
        assert_eq!(names.len(), seqs.len());
        assert!(names.iter().all(|n| {
            let k: u32 = n.trim_start_matches("org-").parse().unwrap();
            !k.is_multiple_of(5) && k % 7 != 3
        }));
        // The stored ledger is a valid export once checkpointed.
        let cp = w.checkpoint().await.unwrap();
        assert_eq!(cp.size, 2 + seqs.len() as u64);
        let r = verify_bytes(&exported(&e), &Options::default()).unwrap();
        assert!(r.is_valid(), "{:?}", r.failure);
        assert_eq!(r.entries, cp.size);
        w.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_restores_the_head_refuses_replays_and_detects_rollback() {
    for t in TestDb::all().unwrap() {
        let e = env(t);
        let w = start(&e).unwrap();
        let alice = key("alice");
        enrol(&w, &alice).await;
        let replayed = signed(
            "logistics.delivery.confirm",
            "org-a",
            &alice,
            "once",
            json!({}),
        );
        w.submit(Submission {
            intent: replayed.0.clone(),
            sigs: replayed.1.clone(),
            effect: noop(),
        })
        .await
        .unwrap();
        let first = w.checkpoint().await.unwrap();
        w.stop().await;

        // A snapshot of storage at this point, for the rollback below.
        let snapshot = TestDb::sqlite().unwrap();
        let old = exported(&e);

        // Restart: same head; the same signed intent is refused.
        let w = start(&e).unwrap();
        assert_eq!(w.head().size, first.size);
        let err = w
            .submit(Submission {
                intent: replayed.0,
                sigs: replayed.1,
                effect: noop(),
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, CommandError::Ledger(ref v) if v.code == "duplicate_intent"),
            "{err:?}"
        );
        let (i, s) = signed(
            "logistics.delivery.confirm",
            "org-a",
            &alice,
            "twice",
            json!({}),
        );
        w.submit(Submission {
            intent: i,
            sigs: s,
            effect: noop(),
        })
        .await
        .unwrap();
        let second = w.checkpoint().await.unwrap();
        assert_eq!(second.size, first.size + 1);
        w.stop().await;

        // Roll storage back: load the old export's entries into a fresh
        // database and start the writer on it with the same data directory.
        let back = env(snapshot);
        let restore_dir = back.dir.path().to_owned();
        std::fs::copy(
            e.dir.path().join(keyfile::PLATFORM_KEY_FILE),
            restore_dir.join(keyfile::PLATFORM_KEY_FILE),
        )
        .unwrap();
        std::fs::copy(
            e.dir.path().join(keyfile::PUBLISHED_FILE),
            restore_dir.join(keyfile::PUBLISHED_FILE),
        )
        .unwrap();
        {
            let mut conn = back.db.get().unwrap();
            scf_backend::ledger::import_for_tests(&mut conn, &old).unwrap();
        }
        match start(&back) {
            Err(StartError::RolledBack {
                stored, published, ..
            }) => {
                assert_eq!((stored, published), (first.size, second.size));
            }
            other => panic!("a rolled-back database must be refused, got {other:?}"),
        }
    }
}

#[actix_web::test]
async fn checkpoint_and_proofs_over_http() {
    let app = spawn_app().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let cp: serde_json::Value = app.get("/v1/ledger/checkpoint").await.json().await.unwrap();
    assert!(cp["size"].as_u64().unwrap() >= 1, "{cp}");
    let line = cp["line"].as_str().unwrap();
    let checkpoint = scf_ledger::checkpoint::Checkpoint::parse_line(line.as_bytes()).unwrap();
    let platform = keyfile::load_or_create_platform_key(app.data_dir.path()).unwrap();
    checkpoint.verify(&platform.public_key()).unwrap();

    let p: serde_json::Value = app
        .get("/v1/ledger/proofs/inclusion?seq=0")
        .await
        .json()
        .await
        .unwrap();
    let leaf = scf_ledger::hash::from_hex::<32>(p["leaf"].as_str().unwrap()).unwrap();
    let proof: Vec<[u8; 32]> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| scf_ledger::hash::from_hex::<32>(h.as_str().unwrap()).unwrap())
        .collect();
    scf_ledger::merkle::verify_inclusion(&leaf, 0, checkpoint.size, &proof, &checkpoint.root)
        .unwrap();

    let bad = app.get("/v1/ledger/proofs/inclusion?seq=99&size=1").await;
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let bad = app.get("/v1/ledger/proofs/consistency?old=5&new=2").await;
    assert_eq!(bad.status(), 422);
    let bad = app.get("/v1/ledger/proofs/inclusion?seq=-1").await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_on_the_same_data_directory_is_refused() {
    let e = env(TestDb::sqlite().unwrap());
    let w = start(&e).unwrap();
    assert!(matches!(start(&e), Err(StartError::Locked(_))));
    w.stop().await;
    let w = start(&e).unwrap();
    w.stop().await;
}

/// A ledger with two tenants: the operator (genesis, the bootstrapped
/// admin's key, events signed by that admin) and a supplier with its own
/// key and events, interleaved. Lines are padded so that an export spans
/// several stream chunks.
struct TwoTenants {
    app: TestApp,
    operator: String,
    supplier: String,
    admin: String,
    supplier_admin: String,
    operator_viewer: String,
    operator_auditor: String,
    size: u64,
}

async fn two_tenants() -> TwoTenants {
    let app = spawn_app().await;
    let (admin_key, admin) = app.bootstrap_admin("Ada").await;
    let operator = app.opened.operator.0.to_string();
    let supplier_id = app.add_org("supplier", "Supplier Ltd");
    let supplier = supplier_id.0.to_string();
    let (supplier_user, supplier_admin) = app.add_user(supplier_id, "admin");
    let (_, operator_viewer) = app.add_user(app.opened.operator, "viewer");
    let (_, operator_auditor) = app.add_user(app.opened.operator, "auditor");

    let w = &app.opened.writer;
    let supplier_key = key("supplier");
    let submit = |(intent, sigs): (Vec<u8>, Vec<SigRef>)| {
        w.submit(Submission {
            intent,
            sigs,
            effect: noop(),
        })
    };
    submit(signed(
        types::KEY_ADD,
        &supplier,
        &supplier_key,
        "supplier-key",
        json!({"public_key": supplier_key.public_key().to_hex(), "user": supplier_user.0.to_string()}),
    ))
    .await
    .unwrap();
    let note = "x".repeat(10_000);
    for n in 0..14 {
        let (org, signer) = if n % 3 == 0 {
            (&operator, &admin_key)
        } else {
            (&supplier, &supplier_key)
        };
        submit(signed(
            "logistics.delivery.confirm",
            org,
            signer,
            &format!("delivery-{n}"),
            json!({"n": n, "note": note}),
        ))
        .await
        .unwrap();
        if n == 6 {
            // A checkpoint in the middle, for exports of a prefix.
            w.checkpoint().await.unwrap();
        }
    }
    let size = w.checkpoint().await.unwrap().size;
    TwoTenants {
        app,
        operator,
        supplier,
        admin,
        supplier_admin,
        operator_viewer,
        operator_auditor,
        size,
    }
}

/// Follows `next_cursor` from `path` (which has a query string) to the
/// end; every page but the last is full.
async fn walk(app: &TestApp, path: &str, limit: usize, token: &str) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}&limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let r = app.get_auth(&url, token).await;
        assert_eq!(r.status(), 200, "{url}");
        let page: serde_json::Value = r.json().await.unwrap();
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit);
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(got.len(), limit, "only the last page may be short");
                cursor = Some(c.to_owned());
            }
            None => return items,
        }
    }
}

fn seqs(items: &[serde_json::Value]) -> Vec<u64> {
    items.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

#[actix_web::test]
async fn entries_page_by_cursor_and_each_tenant_sees_its_own() {
    let t = two_tenants().await;
    let app = &t.app;

    // The operator's admin walks the whole ledger in small pages.
    let all = walk(app, "/v1/ledger/entries?", 4, &t.admin).await;
    assert_eq!(
        seqs(&all),
        (0..t.size).collect::<Vec<_>>(),
        "no gaps, no repeats"
    );
    for e in &all {
        let line = e["line"].as_str().unwrap();
        assert_eq!(
            e["leaf"],
            scf_ledger::hash::to_hex(&scf_ledger::hash::leaf_hash(line.as_bytes()))
        );
        let entry = scf_ledger::entry::Entry::parse_line(line.as_bytes()).unwrap();
        let intent = Intent::parse(entry.intent.as_bytes()).unwrap();
        assert_eq!(e["seq"], entry.seq);
        assert_eq!(e["time"], entry.time.to_string());
        assert_eq!(e["org"], intent.org);
        assert_eq!(e["intent_id"], intent.id);
        assert_eq!(e["type"], intent.kind);
        assert_eq!(e["chain"].as_str().unwrap().len(), 64);
    }
    // One page of everything, for the auditor too.
    assert_eq!(
        walk(app, "/v1/ledger/entries?", 200, &t.operator_auditor).await,
        all
    );
    // From a seq on, the filter kept while paging.
    let from = walk(app, "/v1/ledger/entries?from=5", 3, &t.admin).await;
    assert_eq!(seqs(&from), (5..t.size).collect::<Vec<_>>());

    // Everyone else: their organisation's entries, nothing else.
    let of = |org: &str| -> Vec<serde_json::Value> {
        all.iter().filter(|e| e["org"] == org).cloned().collect()
    };
    let supplier = walk(app, "/v1/ledger/entries?", 3, &t.supplier_admin).await;
    assert_eq!(supplier.len(), 1 + 9);
    assert_eq!(supplier, of(&t.supplier));
    let viewer = walk(app, "/v1/ledger/entries?", 2, &t.operator_viewer).await;
    assert_eq!(viewer, of(&t.operator));
    assert_eq!(seqs(&viewer)[..2], [0, 1], "genesis and the admin's key");

    // A tenant proves its own entry from what the list gave it.
    let mine = &supplier[3];
    let seq = mine["seq"].as_u64().unwrap();
    let p: serde_json::Value = app
        .get(&format!(
            "/v1/ledger/proofs/inclusion?seq={seq}&size={}",
            t.size
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["leaf"], mine["leaf"]);
}

#[actix_web::test]
async fn entries_refuse_bad_limits_and_cursors_and_anonymous_callers() {
    let t = two_tenants().await;
    let app = &t.app;
    let page: serde_json::Value = app
        .get_auth("/v1/ledger/entries?limit=2", &t.admin)
        .await
        .json()
        .await
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let default: serde_json::Value = app
        .get_auth("/v1/ledger/entries", &t.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        default["items"].as_array().unwrap().len() as u64,
        t.size.min(50)
    );

    for (query, says) in [
        ("limit=0", "between 1 and 200"),
        ("limit=201", "between 1 and 200"),
        ("limit=-5", "between 1 and 200"),
        ("limit=ten", "limit must be an integer"),
        ("cursor=", "cursor"),
        ("cursor=%21%21", "cursor"),
        ("cursor=c2VxIDU", "cursor"), // base64url of "seq 5"
        (&format!("cursor={cursor}&from=1"), "another list or filter"),
        ("from=-1", "invalid query string"),
    ] {
        let r = app
            .get_auth(&format!("/v1/ledger/entries?{query}"), &t.admin)
            .await;
        assert_eq!(r.status(), 400, "{query}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["code"], "bad_request");
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{query}: {detail}");
    }
    // The same cursor with its own filter is fine.
    let r = app
        .get_auth(&format!("/v1/ledger/entries?cursor={cursor}"), &t.admin)
        .await;
    assert_eq!(r.status(), 200);
    let next: serde_json::Value = r.json().await.unwrap();
    assert_eq!(next["items"][0]["seq"], 2);

    for path in ["/v1/ledger/entries", "/v1/ledger/export"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let r = app.get_auth(path, "scf_not-a-token").await;
        assert_eq!(r.status(), 401, "{path}");
    }
}

#[actix_web::test]
async fn export_over_http_is_the_cli_export_and_verifies() {
    let t = two_tenants().await;
    let app = &t.app;
    let r = app.get_auth("/v1/ledger/export", &t.admin).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(
        r.headers().get("content-length").is_none(),
        "streamed, not buffered"
    );
    let body = r.bytes().await.unwrap().to_vec();
    assert!(body.len() > 128 * 1024, "spans several chunks");

    let platform = keyfile::load_or_create_platform_key(app.data_dir.path()).unwrap();
    let opts = Options {
        trust_root: Some(scf_ledger::verify::TrustRoot {
            origin: app.settings.origin.clone(),
            platform_key: platform.public_key(),
        }),
        ..Options::default()
    };
    let report = verify_bytes(&body, &opts).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert!(report.anchored);
    assert_eq!(report.entries, t.size);

    // Byte for byte what `scf ledger export` writes from the same storage.
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(["ledger", "export", "--out", "-"])
        .env("SCF_DATABASE_URL", app.db.url())
        .env("SCF_DATA_DIR", app.data_dir.path())
        .env_remove("SCF_CONFIG")
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(cli.stdout == body, "the HTTP export differs from the CLI's");
    // The auditor may export too.
    let r = app.get_auth("/v1/ledger/export", &t.operator_auditor).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap() == body);

    // A prefix ends at the newest checkpoint within the size asked for.
    let sizes: Vec<u64> =
        scf_backend::ledger::store::checkpoints(&mut app.opened.db.get().unwrap(), u64::MAX)
            .unwrap()
            .into_iter()
            .map(|(s, _)| s as u64)
            .collect();
    let mid = sizes[sizes.len() - 2];
    for asked in [mid, sizes[sizes.len() - 1] - 1] {
        let r = app
            .get_auth(&format!("/v1/ledger/export?size={asked}"), &t.admin)
            .await;
        assert_eq!(r.status(), 200, "size={asked}");
        let prefix = r.bytes().await.unwrap();
        let report = verify_bytes(&prefix, &opts).unwrap();
        assert!(report.is_valid(), "{:?}", report.failure);
        assert_eq!(report.entries, mid, "size={asked}");
        assert!(body.starts_with(&prefix));
    }
    let r = app.get_auth("/v1/ledger/export?size=0", &t.admin).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // Every tenant's intents: nobody else may export.
    for token in [&t.supplier_admin, &t.operator_viewer] {
        let r = app.get_auth("/v1/ledger/export", token).await;
        assert_eq!(r.status(), 403);
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["code"], "forbidden");
    }
}
