//! A user of the API: their signing key, organisation, user id and (once
//! logged in) API token; builds and signs intents as a real client must.

use reqwest::header::HeaderMap;
use scf_ledger::intent::{AssetRef, Intent, signing_message};
use scf_ledger::sig::SecretKey;
use scf_ledger::time::Timestamp;
use serde_json::{Value, json};
use std::time::Duration;

pub fn new_http() -> reqwest::Client {
    reqwest::Client::builder()
        // The machine may set HTTP_PROXY; the tests talk to loopback only.
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A fresh Ed25519 key from OS randomness (uuid v4 draws from it).
pub fn new_key() -> SecretKey {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    SecretKey::from_seed(&seed)
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// One HTTP answer, kept as bytes so that replays can be compared exactly.
#[derive(Debug)]
pub struct Reply {
    pub what: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: the body is not JSON ({e}): {}",
                self.what,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The problem `code` of an error answer.
    pub fn code(&self) -> Option<String> {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
    }

    /// Whether the server answered from its idempotency store.
    pub fn replayed(&self) -> bool {
        self.headers
            .get("Idempotent-Replayed")
            .is_some_and(|v| v == "true")
    }

    /// `201`, or `409 conflict` for a problem: what a tally counts.
    pub fn outcome(&self) -> String {
        match self.code() {
            Some(code) if self.status >= 400 => format!("{} {code}", self.status),
            _ => self.status.to_string(),
        }
    }

    /// The JSON body, after insisting on `status`.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "{} answered {} instead of {status}: {}",
            self.what,
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    pub key: SecretKey,
    pub org_id: String,
    pub user_id: String,
    pub token: Option<String>,
}

impl Client {
    pub fn new(
        http: &reqwest::Client,
        base: &str,
        key: SecretKey,
        org_id: &str,
        user_id: &str,
    ) -> Client {
        Client {
            http: http.clone(),
            base: base.to_owned(),
            key,
            org_id: org_id.to_owned(),
            user_id: user_id.to_owned(),
            token: None,
        }
    }

    /// The same user, talking to the server at `base` through `http` (a
    /// restarted server may listen elsewhere).
    pub fn rebased(&self, http: &reqwest::Client, base: &str) -> Client {
        Client {
            http: http.clone(),
            base: base.to_owned(),
            ..self.clone()
        }
    }

    /// Another user of the same server, holding `key`, not logged in.
    pub fn colleague(&self, key: SecretKey, org_id: &str, user_id: &str) -> Client {
        Client::new(&self.http, &self.base, key, org_id, user_id)
    }

    /// The same user and token, signing with another of their keys.
    pub fn with_key(&self, key: SecretKey) -> Client {
        Client {
            key,
            ..self.clone()
        }
    }

    pub fn public_key_hex(&self) -> String {
        self.key.public_key().to_hex()
    }

    pub fn key_id_hex(&self) -> String {
        self.key.public_key().key_id().to_hex()
    }

    /// A signed intent as the API takes it: `{"intent": "<canonical JSON>",
    /// "sigs": [...]}`, with a fresh id and the current time.
    pub fn sign(&self, kind: &str, org: &str, body: Value) -> Value {
        self.sign_full(kind, org, body, vec![], Timestamp::now())
    }

    /// [`Client::sign`] with asset references (ledger SPEC §6) and a chosen
    /// `client_time`: once a test-mode clock has moved, a client signs with
    /// the platform's time (`GET /v1/time`), not its own.
    pub fn sign_full(
        &self,
        kind: &str,
        org: &str,
        body: Value,
        mut assets: Vec<AssetRef>,
        client_time: Timestamp,
    ) -> Value {
        let Value::Object(body) = body else {
            panic!("an intent body is a JSON object, not {body}");
        };
        // The canonical form lists keys strictly ascending.
        assets.sort_by_key(|a| a.key.0);
        let intent = Intent {
            kind: kind.into(),
            org: org.into(),
            key_id: self.key.public_key().key_id(),
            subject: String::new(),
            assets,
            body,
            id: new_id(),
            client_time,
        };
        let bytes = intent.to_bytes();
        let sig = self.key.sign(&signing_message(&bytes));
        json!({
            "intent": String::from_utf8(bytes).unwrap(),
            "sigs": [{"key_id": self.key_id_hex(), "sig": sig.to_hex()}],
        })
    }

    /// Signs an intent and POSTs it with a fresh Idempotency-Key.
    pub async fn mutate(&self, path: &str, kind: &str, org: &str, body: Value) -> Reply {
        let signed = self.sign(kind, org, body);
        self.post(path, &new_id(), signed.to_string().into_bytes())
            .await
    }

    /// [`Client::mutate`] signed with [`Client::sign_full`].
    pub async fn mutate_full(
        &self,
        path: &str,
        kind: &str,
        org: &str,
        body: Value,
        assets: Vec<AssetRef>,
        client_time: Timestamp,
    ) -> Reply {
        let signed = self.sign_full(kind, org, body, assets, client_time);
        self.post(path, &new_id(), signed.to_string().into_bytes())
            .await
    }

    /// POSTs exact bytes under a given Idempotency-Key, with the token if
    /// logged in.
    pub async fn post(&self, path: &str, idempotency_key: &str, body: Vec<u8>) -> Reply {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Idempotency-Key", idempotency_key)
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        reply(format!("POST {path}"), req).await
    }

    /// [`Client::post`] that reports a failed exchange (connection refused
    /// or reset, as when the server is killed) instead of panicking: the
    /// caller cannot know whether the server acted on it.
    pub async fn try_post(
        &self,
        path: &str,
        idempotency_key: &str,
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Idempotency-Key", idempotency_key)
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        try_reply(format!("POST {path}"), req).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        reply(format!("GET {path}"), req).await
    }
}

async fn reply(what: String, req: reqwest::RequestBuilder) -> Reply {
    try_reply(what, req).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn try_reply(what: String, req: reqwest::RequestBuilder) -> Result<Reply, String> {
    let r = req.send().await.map_err(|e| format!("{what}: {e}"))?;
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    // A body cut off half-way is as unknown an outcome as no answer at all.
    let body = r.bytes().await.map_err(|e| format!("{what}: {e}"))?;
    Ok(Reply {
        status,
        headers,
        body: body.to_vec(),
        what,
    })
}
