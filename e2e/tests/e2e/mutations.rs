//! Signed mutations prepared ahead of sending, so a test can send the same
//! bytes again (a retry under the same Idempotency-Key, a replay under a
//! new one) and find them in the ledger by intent id; and the operator's
//! staff, for tests that need several independent clients.

use crate::client::{Client, Reply, new_id, new_key};
use crate::server::Server;
use serde_json::{Value, json};

/// One request as it goes on the wire.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub path: String,
    pub kind: &'static str,
    pub idempotency_key: String,
    pub body: Vec<u8>,
    /// The signed intent's own id: at most one ledger entry may carry it.
    pub intent_id: String,
}

impl Prepared {
    /// Signs `body` as an intent of `kind` for `org` with `signer`'s key,
    /// under a fresh Idempotency-Key.
    pub fn new(signer: &Client, path: &str, kind: &'static str, org: &str, body: Value) -> Self {
        let signed = signer.sign(kind, org, body);
        let intent: Value = serde_json::from_str(signed["intent"].as_str().unwrap()).unwrap();
        Prepared {
            path: path.to_owned(),
            kind,
            idempotency_key: new_id(),
            body: signed.to_string().into_bytes(),
            intent_id: intent["id"].as_str().unwrap().to_owned(),
        }
    }

    /// The same signed intent under another Idempotency-Key: a replay.
    pub fn under_new_key(&self) -> Prepared {
        Prepared {
            idempotency_key: new_id(),
            ..self.clone()
        }
    }

    pub async fn send(&self, by: &Client) -> Reply {
        by.post(&self.path, &self.idempotency_key, self.body.clone())
            .await
    }

    pub async fn try_send(&self, by: &Client) -> Result<Reply, String> {
        by.try_post(&self.path, &self.idempotency_key, self.body.clone())
            .await
    }
}

/// `org.onboard` of a new organisation `org_id` by the operator `op`, its
/// first admin named with a fresh key.
pub fn onboard(op: &Client, org_id: &str, kind: &str) -> Prepared {
    let admin_key = new_key();
    Prepared::new(
        op,
        "/v1/organisations",
        "org.onboard",
        &op.org_id,
        json!({
            "org_id": org_id,
            "kind": kind,
            "name": format!("E2E {kind} {}", &org_id[..8]),
            "admin": {
                "user_id": new_id(),
                "name": "First Admin",
                "public_key": admin_key.public_key().to_hex(),
            },
        }),
    )
}

/// `user.add` of a new user of the admin's organisation; returns the
/// request and the user (not yet enrolled, no token).
pub fn add_user(admin: &Client, role: &str) -> (Prepared, Client) {
    let user = admin.colleague(new_key(), &admin.org_id, &new_id());
    let prepared = Prepared::new(
        admin,
        "/v1/users",
        "user.add",
        &admin.org_id,
        json!({
            "user_id": user.user_id,
            "name": format!("Staff {}", &user.user_id[24..]),
            "role": role,
            "public_key": user.public_key_hex(),
        }),
    );
    (prepared, user)
}

/// `key.add` through `POST /v1/keys`: `user` registers a new key of their
/// own, the intent signed by that key (proof of possession).
pub fn add_key(user: &Client) -> Prepared {
    let new = user.with_key(new_key());
    Prepared::new(
        &new,
        "/v1/keys",
        "key.add",
        &user.org_id,
        json!({"public_key": new.public_key_hex(), "user": user.user_id}),
    )
}

/// The enrolment of a pending user's key (`POST /v1/enrolments`, no
/// token): a `key.add` signed by the key named when the user was created.
pub fn enrolment(user: &Client) -> Prepared {
    Prepared::new(
        user,
        "/v1/enrolments",
        "key.add",
        &user.org_id,
        json!({"user": user.user_id, "public_key": user.public_key_hex()}),
    )
}

/// A login (`POST /v1/tokens`, an `auth.token` intent signed by one of the
/// user's keys, no token needed). Its answer holds a token the server
/// never stores: a retry gets the same token, derived again.
pub fn login(user: &Client) -> Prepared {
    Prepared::new(
        user,
        "/v1/tokens",
        "auth.token",
        &user.org_id,
        json!({"user": user.user_id, "label": "e2e", "days": 1}),
    )
}

/// A user of the operator's organisation with `role`, added by the
/// bootstrapped admin, enrolled and logged in: an independent client with
/// its own key, token and Idempotency-Keys.
pub async fn staff(server: &Server, role: &str) -> Client {
    let op = server.operator();
    let (add, mut user) = add_user(&op, role);
    add.send(&op).await.expect(201);
    enrolment(&user).send(&user).await.expect(201);
    let token = login(&user).send(&user).await.expect(201)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    user.token = Some(token);
    user
}

/// One entry as `GET /v1/ledger/entries` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub seq: u64,
    pub intent_id: String,
    pub kind: String,
    pub leaf: String,
    pub chain: String,
    pub line: String,
}

/// Every stored entry, in seq order, as an operator admin reads them.
pub async fn ledger_entries(admin: &Client) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/ledger/entries?limit=200&cursor={c}"),
            None => "/v1/ledger/entries?limit=200".to_owned(),
        };
        let page = admin.get(&path).await.expect(200);
        for item in page["items"].as_array().unwrap() {
            out.push(Listed {
                seq: item["seq"].as_u64().unwrap(),
                intent_id: item["intent_id"].as_str().unwrap().to_owned(),
                kind: item["type"].as_str().unwrap().to_owned(),
                leaf: item["leaf"].as_str().unwrap().to_owned(),
                chain: item["chain"].as_str().unwrap().to_owned(),
                line: item["line"].as_str().unwrap().to_owned(),
            });
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}
