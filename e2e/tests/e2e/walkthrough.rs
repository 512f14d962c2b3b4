//! The README's five-minute walkthrough, step by step, against the binary:
//! bootstrap, serve, /v1/me, a second key made with `scf keygen` and signed
//! with `scf sign`, idempotent replay, then export and offline verification.

use crate::client::{new_id, new_key};
use crate::server::{OPERATOR_NAME, Server, entry_types, read_key, succeed};
use serde_json::json;
use std::time::Instant;

#[tokio::test]
async fn walkthrough() {
    let started = Instant::now();
    let server = Server::start().await;
    let admin = server.operator();

    let me = admin.get("/v1/me").await.expect(200);
    assert_eq!(me["org_id"], admin.org_id.as_str());
    assert_eq!(me["user_id"], admin.user_id.as_str());
    assert_eq!(me["org_kind"], "platform_operator");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["name"], OPERATOR_NAME);
    assert_eq!(
        admin.key_id_hex(),
        server.bootstrap.key_id,
        "the key file holds the key bootstrap registered"
    );

    // The laptop key, exactly as the README makes it: keygen, a template,
    // `scf sign`, curl.
    let laptop_file = server.path("laptop.key");
    let out = succeed(
        "scf keygen",
        server.scf(&["keygen", "--out", laptop_file.to_str().unwrap()]),
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap()
    };
    let (laptop_pub, laptop_kid) = (field("public_key"), field("key_id"));
    let template = server.path("add-key.json");
    std::fs::write(
        &template,
        json!({"type": "key.add", "org": admin.org_id, "body": {"public_key": laptop_pub, "user": admin.user_id}})
            .to_string(),
    )
    .unwrap();
    let out = succeed(
        "scf sign",
        server.scf(&[
            "sign",
            "--key",
            laptop_file.to_str().unwrap(),
            "--intent",
            template.to_str().unwrap(),
        ]),
    );
    let body = out.stdout;

    let idem = new_id();
    let first = admin.post("/v1/keys", &idem, body.clone()).await;
    let registered = first.expect(201);
    assert_eq!(registered["key_id"], laptop_kid.as_str());
    let receipt = &registered["receipt"];
    let seq = receipt["seq"].as_u64().unwrap();
    assert_eq!(receipt["checkpoint_url"], "/v1/ledger/checkpoint");
    assert_eq!(
        receipt["inclusion_proof_url"],
        format!("/v1/ledger/proofs/inclusion?seq={seq}").as_str()
    );

    // A retry with the same key is answered from storage, byte for byte.
    let again = admin.post("/v1/keys", &idem, body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "the replay must be the same bytes");
    assert_eq!(again.headers["Idempotent-Replayed"], "true");
    assert!(!first.headers.contains_key("Idempotent-Replayed"));
    // The same signed intent under a new key is a replay of the intent.
    admin.post("/v1/keys", &new_id(), body).await.expect(409);

    // The harness's own signing: a phone key registered with an intent
    // signed in-process, then revoked with the laptop key.
    let phone = admin.with_key(new_key());
    let added = phone
        .mutate(
            "/v1/keys",
            "key.add",
            &admin.org_id,
            json!({"public_key": phone.public_key_hex(), "user": admin.user_id}),
        )
        .await
        .expect(201);
    assert_eq!(added["key_id"], phone.key_id_hex().as_str());
    let laptop = admin.with_key(read_key(&laptop_file));
    let revoked = laptop
        .mutate(
            "/v1/keys/revoke",
            "key.revoke",
            &admin.org_id,
            json!({"key_id": phone.key_id_hex(), "reason": "phone lost"}),
        )
        .await
        .expect(200);
    let last = revoked["receipt"]["seq"].as_u64().unwrap();

    // The export reads the database beside the running server (SQLite in
    // WAL mode, or PostgreSQL) and stops at the newest checkpoint, so wait
    // for one that covers the last entry instead of stopping the server.
    let checkpoint = server.wait_for_checkpoint(last + 1).await;
    assert_eq!(checkpoint["origin"], crate::server::ORIGIN);
    let export = server.export("ledger.jsonl");
    let size = checkpoint["size"].as_u64().unwrap();

    let report = server.verify(&export);
    assert!(
        report.contains(&format!("entries        {size} verified")),
        "{report}"
    );
    // Three actor keys were added; the revoked one is counted apart.
    assert!(
        report.contains("keys           2 actor, 1 revoked, 1 platform"),
        "{report}"
    );
    // The state file now holds the checkpoint; a second run checks the
    // same export against it.
    let report = server.verify(&export);
    assert!(
        report.contains(&format!(
            "saved state    consistent with the checkpoint of size {size}"
        )),
        "{report}"
    );

    let types = entry_types(&export);
    assert_eq!(types.first().map(String::as_str), Some("ledger.genesis"));
    let count = |t: &str| types.iter().filter(|k| *k == t).count();
    assert_eq!(count("key.add"), 3, "{types:?}");
    assert_eq!(count("key.revoke"), 1, "{types:?}");

    eprintln!("walkthrough took {:.2?}", started.elapsed());
}
