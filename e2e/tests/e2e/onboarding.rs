//! Onboarding a supply chain over HTTP against the real binary: operator →
//! core enterprise and funder → invited suppliers and a distributor →
//! registration → KYC (one rejection) → both sides see the relationship →
//! the exported ledger verifies with `scf-verify`.

use crate::client::{Client, Reply, new_id, new_key};
use crate::server::{Server, entry_types};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A firm's registration figures, and the size class that the seeded 2011
/// rules (工信部联企业〔2011〕300号) give them, worked out by hand.
#[derive(Debug)]
pub(crate) struct Firm {
    pub(crate) name: &'static str,
    admin: &'static str,
    industry: &'static str,
    headcount: u32,
    /// CNY, a decimal string.
    revenue: &'static str,
    total_assets: &'static str,
    size_class: &'static str,
}

/// Industry: at or above 1000 people and 400 million revenue.
pub(crate) const CORE: Firm = Firm {
    name: "华北重型机械股份有限公司",
    admin: "Li Wei",
    industry: "industry",
    headcount: 5200,
    revenue: "8600000000.00",
    total_assets: "12400000000.00",
    size_class: "large",
};

/// "other" has a headcount bound only (300).
pub(crate) const FUNDER: Firm = Firm {
    name: "浦江商业银行",
    admin: "Chen Jing",
    industry: "other",
    headcount: 1200,
    revenue: "3100000000.00",
    total_assets: "98000000000.00",
    size_class: "large",
};

/// Industry: 20+ people and 3 million+ revenue but under 300 people.
pub(crate) const SUPPLIER_1: Firm = Firm {
    name: "苏州精密铸件有限公司",
    admin: "Wang Fang",
    industry: "industry",
    headcount: 180,
    revenue: "45000000.00",
    total_assets: "38000000.00",
    size_class: "small",
};

/// Industry: under 20 people.
pub(crate) const SUPPLIER_2: Firm = Firm {
    name: "昆山恒达五金加工厂",
    admin: "Zhao Lei",
    industry: "industry",
    headcount: 12,
    revenue: "1800000.00",
    total_assets: "900000.00",
    size_class: "micro",
};

/// Wholesale: 20+ people and 50 million+ revenue, under 200 people.
const DISTRIBUTOR: Firm = Firm {
    name: "华东机电设备销售有限公司",
    admin: "Sun Min",
    industry: "wholesale",
    headcount: 35,
    revenue: "62000000.00",
    total_assets: "21000000.00",
    size_class: "medium",
};

/// A valid GB 32100 code: `9` (registered with market regulation), `1`
/// (enterprise), a region (Shanghai Pudong), a random nine-character
/// organisation code, and the check character.
pub(crate) fn uscc() -> String {
    const CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let org_code: String = uuid::Uuid::new_v4().as_bytes()[..9]
        .iter()
        .map(|b| char::from(CHARSET[usize::from(*b) % CHARSET.len()]))
        .collect();
    let code = scf_ledger::uscc::complete(&format!("91310115{org_code}")).unwrap();
    assert_eq!(
        scf_ledger::uscc::normalise(&code).as_deref(),
        Ok(code.as_str())
    );
    code
}

/// The same code with a wrong check character.
fn corrupt(uscc: &str) -> String {
    let (head, check) = uscc.split_at(17);
    let wrong = if check == "0" { "1" } else { "0" };
    format!("{head}{wrong}")
}

/// The highest ledger seq seen, to wait for a checkpoint covering it.
#[derive(Debug, Default)]
pub(crate) struct Seqs(pub(crate) u64);

impl Seqs {
    /// Notes the receipt of a reply body and returns the body.
    pub(crate) fn note(&mut self, body: Value) -> Value {
        let seq = body["receipt"]["seq"]
            .as_u64()
            .unwrap_or_else(|| panic!("no receipt.seq in {body}"));
        self.0 = self.0.max(seq);
        body
    }
}

/// The operator onboards an organisation; returns its first admin, whose
/// key is named now and enrolled later by the admin.
pub(crate) async fn onboard(
    server: &Server,
    operator: &Client,
    seqs: &mut Seqs,
    kind: &str,
    firm: &Firm,
) -> Client {
    let admin = server.client(new_key(), &new_id(), &new_id());
    let body = operator
        .mutate(
            "/v1/organisations",
            "org.onboard",
            &operator.org_id,
            json!({
                "org_id": admin.org_id,
                "kind": kind,
                "name": firm.name,
                "admin": {"user_id": admin.user_id, "name": firm.admin, "public_key": admin.public_key_hex()},
            }),
        )
        .await
        .expect(201);
    let body = seqs.note(body);
    assert_eq!(body["org_id"], admin.org_id.as_str());
    assert_eq!(body["admin_user_id"], admin.user_id.as_str());
    assert_eq!(body["status"], "invited");
    admin
}

/// The core enterprise invites a counterparty; returns its first admin and
/// the relationship id.
pub(crate) async fn invite(
    server: &Server,
    core: &Client,
    seqs: &mut Seqs,
    (direction, tier, kind, parent): (&str, u8, &str, Option<&str>),
    firm: &Firm,
) -> (Client, String) {
    let admin = server.client(new_key(), &new_id(), &new_id());
    let relationship_id = new_id();
    let body = core
        .mutate(
            "/v1/relationships",
            "relationship.invite",
            &core.org_id,
            json!({
                "relationship_id": relationship_id,
                "direction": direction,
                "tier": tier,
                "parent_org_id": parent,
                "counterparty": {
                    "org_id": admin.org_id,
                    "kind": kind,
                    "name": firm.name,
                    "admin": {"user_id": admin.user_id, "name": firm.admin, "public_key": admin.public_key_hex()},
                },
            }),
        )
        .await
        .expect(201);
    let body = seqs.note(body);
    assert_eq!(body["relationship_id"], relationship_id.as_str());
    assert_eq!(body["counterparty_org_id"], admin.org_id.as_str());
    assert_eq!(body["status"], "pending");
    (admin, relationship_id)
}

/// The new admin enrols the key named at onboarding (no token yet: the
/// signature is the credential), then logs in with it.
pub(crate) async fn enrol_and_log_in(admin: &mut Client, seqs: &mut Seqs, kind: &str) {
    assert!(admin.token.is_none());
    let body = admin
        .mutate(
            "/v1/enrolments",
            "key.add",
            &admin.org_id,
            json!({"user": admin.user_id, "public_key": admin.public_key_hex()}),
        )
        .await
        .expect(201);
    assert_eq!(seqs.note(body)["key_id"], admin.key_id_hex().as_str());

    let login = admin
        .mutate(
            "/v1/tokens",
            "auth.token",
            &admin.org_id,
            json!({"user": admin.user_id, "label": "e2e", "days": 1}),
        )
        .await
        .expect(201);
    // The plan says a login is not a ledger event; should it answer with a
    // receipt all the same, the final checkpoint must still cover it.
    if login.get("receipt").is_some() {
        seqs.note(login.clone());
    }
    let token = login["token"].as_str().unwrap();
    assert!(token.starts_with("scf_"), "{login}");
    admin.token = Some(token.to_owned());

    let me = admin.get("/v1/me").await.expect(200);
    assert_eq!(me["org_id"], admin.org_id.as_str());
    assert_eq!(me["user_id"], admin.user_id.as_str());
    assert_eq!(me["org_kind"], kind);
    assert_eq!(me["role"], "admin");
}

async fn register(admin: &Client, uscc: &str, firm: &Firm, figures_year: u16) -> Reply {
    admin
        .mutate(
            &format!("/v1/organisations/{}/registration", admin.org_id),
            "org.register",
            &admin.org_id,
            json!({
                "uscc": uscc,
                "name": firm.name,
                "industry": firm.industry,
                "headcount": firm.headcount,
                "revenue": firm.revenue,
                "total_assets": firm.total_assets,
                "figures_year": figures_year,
            }),
        )
        .await
}

/// Registers and checks that the organisation now waits for KYC with the
/// expected size class.
pub(crate) async fn register_ok(
    admin: &Client,
    seqs: &mut Seqs,
    uscc: &str,
    firm: &Firm,
    year: u16,
) {
    let body = seqs.note(register(admin, uscc, firm, year).await.expect(200));
    let org = &body["organisation"];
    assert_eq!(org["status"], "kyc_pending", "{body}");
    assert_eq!(org["size_class"], firm.size_class, "{}: {body}", firm.name);
    assert_eq!(org["uscc"], uscc, "{body}");
}

/// The operator's KYC decision; returns the organisation as answered.
async fn kyc(
    operator: &Client,
    seqs: &mut Seqs,
    org_id: &str,
    decision: &str,
    reason: &str,
) -> Value {
    let body = operator
        .mutate(
            &format!("/v1/organisations/{org_id}/kyc"),
            "org.kyc",
            &operator.org_id,
            json!({"org_id": org_id, "decision": decision, "reason": reason}),
        )
        .await
        .expect(200);
    seqs.note(body)["organisation"].clone()
}

pub(crate) async fn approve(operator: &Client, seqs: &mut Seqs, org_id: &str) {
    let org = kyc(operator, seqs, org_id, "approve", "documents verified").await;
    // "approved", the organisations.status value in the migration.
    assert_eq!(org["status"], "approved", "{org}");
}

pub(crate) async fn list(client: &Client, path: &str) -> Vec<Value> {
    let body = client.get(path).await.expect(200);
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("GET {path}: no items in {body}"))
        .clone()
}

/// list items are the resources themselves, each named by `id`
/// (while the creating responses say `org_id` / `relationship_id`).
fn by_id<'a>(items: &'a [Value], id: &str) -> Option<&'a Value> {
    items.iter().find(|item| item["id"] == id)
}

#[tokio::test]
async fn onboarding() {
    let server = Server::start().await;
    let operator = server.operator();
    let mut seqs = Seqs::default();

    // The platform operator brings in a core enterprise and a funder.
    let mut core = onboard(&server, &operator, &mut seqs, "core_enterprise", &CORE).await;
    let mut funder = onboard(&server, &operator, &mut seqs, "funder", &FUNDER).await;
    let (core_uscc, funder_uscc) = (uscc(), uscc());
    enrol_and_log_in(&mut core, &mut seqs, "core_enterprise").await;
    register_ok(&core, &mut seqs, &core_uscc, &CORE, 2025).await;
    enrol_and_log_in(&mut funder, &mut seqs, "funder").await;
    register_ok(&funder, &mut seqs, &funder_uscc, &FUNDER, 2025).await;

    // The operator finds both in the KYC queue and approves them.
    let queue = list(&operator, "/v1/organisations?status=kyc_pending").await;
    for firm in [&core, &funder] {
        assert!(
            by_id(&queue, &firm.org_id).is_some(),
            "{} missing from {queue:?}",
            firm.org_id
        );
    }
    approve(&operator, &mut seqs, &core.org_id).await;
    approve(&operator, &mut seqs, &funder.org_id).await;

    // The core firm brings its chain: two suppliers upstream, one
    // distributor downstream.
    let (mut s1, rel_s1) = invite(
        &server,
        &core,
        &mut seqs,
        ("upstream", 1, "supplier", None),
        &SUPPLIER_1,
    )
    .await;
    let (mut s2, rel_s2) = invite(
        &server,
        &core,
        &mut seqs,
        ("upstream", 2, "supplier", Some(&s1.org_id)),
        &SUPPLIER_2,
    )
    .await;
    let (mut d1, rel_d1) = invite(
        &server,
        &core,
        &mut seqs,
        ("downstream", 1, "distributor", None),
        &DISTRIBUTOR,
    )
    .await;
    let rels = list(&core, "/v1/relationships").await;
    for id in [&rel_s1, &rel_s2, &rel_d1] {
        let rel = by_id(&rels, id).unwrap_or_else(|| panic!("{rels:?}"));
        assert_eq!(rel["status"], "pending", "{rel}");
    }

    for (admin, firm) in [(&mut s1, &SUPPLIER_1), (&mut s2, &SUPPLIER_2)] {
        enrol_and_log_in(admin, &mut seqs, "supplier").await;
        let code = uscc();
        // a wrong check character is refused as unprocessable
        // (422) and recorded nowhere.
        register(admin, &corrupt(&code), firm, 2025)
            .await
            .expect(422);
        register_ok(admin, &mut seqs, &code, firm, 2025).await;
        approve(&operator, &mut seqs, &admin.org_id).await;
    }

    // The distributor's first registration is rejected with a reason, then
    // corrected and approved.
    enrol_and_log_in(&mut d1, &mut seqs, "distributor").await;
    let d1_uscc = uscc();
    register_ok(&d1, &mut seqs, &d1_uscc, &DISTRIBUTOR, 2023).await;
    let reason = "the figures are from 2023; submit the 2025 annual report";
    let org = kyc(&operator, &mut seqs, &d1.org_id, "reject", reason).await;
    // "rejected" (the migration's status) and the reason as
    // `kyc_reason` (its column).
    assert_eq!(org["status"], "rejected", "{org}");
    assert_eq!(org["kyc_reason"], reason, "{org}");
    let seen = d1
        .get(&format!("/v1/organisations/{}", d1.org_id))
        .await
        .expect(200);
    // GET /v1/organisations/{id} answers the organisation itself.
    assert_eq!(seen["status"], "rejected", "{seen}");
    assert_eq!(seen["kyc_reason"], reason, "{seen}");
    let rels = list(&core, "/v1/relationships").await;
    let rel = by_id(&rels, &rel_d1).unwrap();
    assert_eq!(
        rel["status"], "pending",
        "a rejected firm stays pending: {rel}"
    );
    register_ok(&d1, &mut seqs, &d1_uscc, &DISTRIBUTOR, 2025).await;
    approve(&operator, &mut seqs, &d1.org_id).await;

    // Both sides see the now active relationships.
    // an approved counterparty's relationship is "active", and
    // items carry core_org_id, counterparty_org_id, direction and tier.
    let rels = list(&core, "/v1/relationships").await;
    for (id, who, direction, tier) in [
        (&rel_s1, &s1, "upstream", 1),
        (&rel_s2, &s2, "upstream", 2),
        (&rel_d1, &d1, "downstream", 1),
    ] {
        let rel = by_id(&rels, id).unwrap_or_else(|| panic!("{rels:?}"));
        assert_eq!(rel["status"], "active", "{rel}");
        assert_eq!(rel["core_org_id"], core.org_id.as_str(), "{rel}");
        assert_eq!(rel["counterparty_org_id"], who.org_id.as_str(), "{rel}");
        assert_eq!(rel["direction"], direction, "{rel}");
        assert_eq!(rel["tier"], tier, "{rel}");
    }
    let theirs = list(&s1, "/v1/relationships").await;
    let rel = by_id(&theirs, &rel_s1).unwrap_or_else(|| panic!("{theirs:?}"));
    assert_eq!(rel["core_org_id"], core.org_id.as_str(), "{rel}");
    assert_eq!(rel["status"], "active", "{rel}");
    // A supplier sees its own relationship and its own supplier's (the
    // firm it may pass certificates to), not the core firm's other
    // counterparties.
    assert_eq!(theirs.len(), 2, "{theirs:?}");
    let below = by_id(&theirs, &rel_s2).unwrap_or_else(|| panic!("{theirs:?}"));
    assert_eq!(below["parent_org_id"], s1.org_id.as_str(), "{below}");
    assert!(by_id(&theirs, &rel_d1).is_none(), "{theirs:?}");

    // The ledger holds the whole story and verifies offline.
    server.wait_for_checkpoint(seqs.0 + 1).await;
    let export = server.export("onboarding.jsonl");
    let report = server.verify(&export);
    assert!(
        report.contains("keys           6 actor, 0 revoked, 1 platform"),
        "{report}"
    );
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for kind in entry_types(&export) {
        *counts.entry(kind).or_default() += 1;
    }
    // Logins are ledger events (the token is not); refused requests leave
    // nothing behind.
    let expected: BTreeMap<String, usize> = [
        ("ledger.genesis", 1),
        ("key.add", 6), // the operator's, then five enrolments
        ("org.onboard", 2),
        ("relationship.invite", 3),
        ("org.register", 6), // five firms, one of them twice
        ("org.kyc", 6),      // five approvals and one rejection
        ("auth.token", 5),   // each new admin's login
    ]
    .into_iter()
    .map(|(k, n)| (k.to_owned(), n))
    .collect();
    assert_eq!(counts, expected);
}
