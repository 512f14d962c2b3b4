//! Validly signed intents with random bodies, for every signed-mutation
//! endpoint: Schemathesis cannot sign, so this is where bodies get past the
//! signature and reach the business rules. Random members, types, sizes,
//! unicode, numbers where money goes, and valid bodies with one member
//! spoiled. Whatever comes: no 5xx, refusals are problem+json, and a
//! refusal changes nothing (no ledger entry, no row).

use crate::support::{Party, TestApp, fresh_key, fresh_uscc, signed, spawn_app_with};
use diesel::prelude::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use scf_backend::db::schema::{
    api_tokens, assignment_notices, cash_movements, certificate_holdings, certificates, deliveries,
    financing_steps, financings, invoice_batches, invoices, ledger_entries, lpr_fixings,
    organisations, plan_approvals, program_plans, programs, purchase_orders, relationships,
    settlement_accounts, signing_keys, users,
};
use scf_ledger::sig::SecretKey;
use serde_json::{Map, Value, json};

/// Who is acting, and the objects the bodies may name.
struct World {
    op: Party,
    core: Party,
    supplier: Party,
    /// The core firm's relationship with `supplier`.
    relationship: String,
    /// A user added by the core firm, not yet enrolled, and its key.
    pending_user: String,
    pending_key: SecretKey,
    /// A funder the core firm's program names, and the program with one
    /// drafted plan version (digest `digest`).
    funder: Party,
    program: String,
    digest: String,
    /// An approved supplier of the core firm (its USCC), a purchase order
    /// of theirs with one delivery, and an invoice the supplier recorded.
    trader: Party,
    trader_uscc: String,
    po: String,
    delivery: String,
    invoice: String,
    /// The core firm's checker, an approved supplier holding `held` (an
    /// active certificate), and a certificate proposed to it.
    checker: Party,
    holder: Party,
    proposed: String,
    held: String,
    /// The core firm's accounts: one pending, one verified.
    pending_account: String,
    verified_account: String,
    /// An active certificate of the holder with a financing applied for.
    financed: String,
    financing: String,
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    RegisterKey,
    RevokeKey,
    AddUser,
    Enrol,
    IssueToken,
    RevokeToken,
    Onboard,
    Register,
    Kyc,
    Invite,
    PublishLpr,
    CreateProgram,
    DraftPlan,
    ApprovePlan,
    CreatePo,
    RecordDelivery,
    DecideDelivery,
    RecordInvoice,
    UploadInvoices,
    DecideInvoice,
    Relink,
    CancelInvoice,
    CancelCertificate,
    ProposeCertificate,
    ConfirmCertificate,
    AcceptCertificate,
    SplitCertificate,
    TransferCertificate,
    AddAccount,
    VerifyAccount,
    RevokeAccount,
    ApplyFinancing,
    RecommendFinancing,
    DecideFinancing,
    WithdrawFinancing,
    DisburseFinancing,
    RegisterFinancing,
    ClassifyFinancing,
    RecourseFinancing,
    SettleFinancingEarly,
    RepurchaseFinancing,
    ClearCertificate,
}

const ENDPOINTS: [Endpoint; 42] = [
    Endpoint::RegisterKey,
    Endpoint::RevokeKey,
    Endpoint::AddUser,
    Endpoint::Enrol,
    Endpoint::IssueToken,
    Endpoint::RevokeToken,
    Endpoint::Onboard,
    Endpoint::Register,
    Endpoint::Kyc,
    Endpoint::Invite,
    Endpoint::PublishLpr,
    Endpoint::CreateProgram,
    Endpoint::DraftPlan,
    Endpoint::ApprovePlan,
    Endpoint::CreatePo,
    Endpoint::RecordDelivery,
    Endpoint::DecideDelivery,
    Endpoint::RecordInvoice,
    Endpoint::UploadInvoices,
    Endpoint::DecideInvoice,
    Endpoint::Relink,
    Endpoint::CancelInvoice,
    Endpoint::CancelCertificate,
    Endpoint::ProposeCertificate,
    Endpoint::ConfirmCertificate,
    Endpoint::AcceptCertificate,
    Endpoint::SplitCertificate,
    Endpoint::TransferCertificate,
    Endpoint::AddAccount,
    Endpoint::VerifyAccount,
    Endpoint::RevokeAccount,
    Endpoint::ApplyFinancing,
    Endpoint::RecommendFinancing,
    Endpoint::DecideFinancing,
    Endpoint::WithdrawFinancing,
    Endpoint::DisburseFinancing,
    Endpoint::RegisterFinancing,
    Endpoint::ClassifyFinancing,
    Endpoint::RecourseFinancing,
    Endpoint::SettleFinancingEarly,
    Endpoint::RepurchaseFinancing,
    Endpoint::ClearCertificate,
];

const TYPES: [&str; 42] = [
    "key.add",
    "key.revoke",
    "user.add",
    "auth.token",
    "auth.token_revoke",
    "org.onboard",
    "org.register",
    "org.kyc",
    "relationship.invite",
    "invoice.issue",
    "lpr.publish",
    "program.create",
    "program.plan_draft",
    "program.plan_approve",
    "po.create",
    "delivery.record",
    "delivery.accept",
    "invoice.record",
    "invoice.batch",
    "invoice.decide",
    "relationship.relink",
    "invoice.cancel",
    "certificate.cancel",
    "certificate.propose",
    "certificate.confirm",
    "certificate.accept",
    "certificate.split",
    "certificate.transfer",
    "account.add",
    "account.verify",
    "account.revoke",
    "financing.apply",
    "financing.recommend",
    "financing.decide",
    "financing.withdraw",
    "financing.disburse",
    "financing.register",
    "financing.classify",
    "financing.recourse",
    "financing.settle_early",
    "financing.repurchase",
    "certificate.clear",
];

/// Member names the bodies use, so random bodies hit real fields too.
const MEMBERS: [&str; 77] = [
    "certificate_id",
    "holder_org_id",
    "face_value",
    "maturity_date",
    "invoice_ids",
    "parent_amount",
    "children",
    "to_org_id",
    "notice_to",
    "tenor",
    "fixing_date",
    "rate",
    "source",
    "program_id",
    "plan",
    "effective_from",
    "version",
    "digest",
    "spread_bp",
    "user",
    "user_id",
    "public_key",
    "key_id",
    "reason",
    "label",
    "days",
    "token_id",
    "name",
    "role",
    "org_id",
    "kind",
    "admin",
    "uscc",
    "industry",
    "headcount",
    "revenue",
    "total_assets",
    "figures_year",
    "decision",
    "relationship_id",
    "direction",
    "tier",
    "counterparty",
    "amount",
    "currency",
    "po_id",
    "seller_org_id",
    "buyer_org_id",
    "invoice_id",
    "invoice_number",
    "issue_date",
    "due_date",
    "delivery_id",
    "delivered_on",
    "batch_id",
    "count",
    "total",
    "rows_root",
    "asset_keys_root",
    "account_id",
    "bank_name",
    "branch",
    "account_number",
    "account_name",
    "outcome",
    "reason",
    "financing_id",
    "funder_org_id",
    "financing_date",
    "verdict",
    "note",
    "registration_no",
    "evidence_hash",
    "root_id",
    "payouts",
    "late_interest",
    "parent_org_id",
];

/// Strings that have broken parsers of money, text and ids before.
const NASTY: [&str; 24] = [
    "",
    " ",
    "0",
    "-0",
    "-1",
    "1e5",
    "1E-7",
    "NaN",
    "Infinity",
    "0x10",
    "1,000.00",
    "1_000",
    "١٢٣٤",
    "１２３",
    "12.345678901234567890123456789",
    "99999999999999999999999999999999999999.99",
    "0.0000000000000000000000000001",
    "+5",
    ".5",
    "5.",
    "\u{0}",
    "a\u{202e}b",
    "\u{1F4B0}\u{FE0F}",
    "\u{feff}admin",
];

impl Endpoint {
    fn path(self, w: &World) -> String {
        match self {
            Endpoint::RegisterKey => "/v1/keys".into(),
            Endpoint::RevokeKey => "/v1/keys/revoke".into(),
            Endpoint::AddUser => "/v1/users".into(),
            Endpoint::Enrol => "/v1/enrolments".into(),
            Endpoint::IssueToken => "/v1/tokens".into(),
            Endpoint::RevokeToken => "/v1/tokens/revoke".into(),
            Endpoint::Onboard => "/v1/organisations".into(),
            Endpoint::Register => format!("/v1/organisations/{}/registration", w.supplier.org),
            Endpoint::Kyc => format!("/v1/organisations/{}/kyc", w.supplier.org),
            Endpoint::Invite => "/v1/relationships".into(),
            Endpoint::PublishLpr => "/v1/lpr".into(),
            Endpoint::CreateProgram => "/v1/programs".into(),
            Endpoint::DraftPlan => format!("/v1/programs/{}/plans", w.program),
            Endpoint::ApprovePlan => format!("/v1/programs/{}/plans/1/approval", w.program),
            Endpoint::CreatePo => "/v1/purchase-orders".into(),
            Endpoint::RecordDelivery => format!("/v1/purchase-orders/{}/deliveries", w.po),
            Endpoint::DecideDelivery => format!("/v1/deliveries/{}/acceptance", w.delivery),
            Endpoint::RecordInvoice => "/v1/invoices".into(),
            Endpoint::UploadInvoices => "/v1/invoices/batches".into(),
            Endpoint::DecideInvoice => format!("/v1/invoices/{}/decision", w.invoice),
            Endpoint::Relink => format!("/v1/relationships/{}/parent", w.relationship),
            Endpoint::CancelInvoice => format!("/v1/invoices/{}/cancellation", w.invoice),
            Endpoint::CancelCertificate => {
                format!("/v1/certificates/{}/cancellation", w.proposed)
            }
            Endpoint::ProposeCertificate => "/v1/certificates".into(),
            Endpoint::ConfirmCertificate => format!("/v1/certificates/{}/confirmation", w.proposed),
            Endpoint::AcceptCertificate => format!("/v1/certificates/{}/acceptance", w.proposed),
            Endpoint::SplitCertificate => format!("/v1/certificates/{}/split", w.held),
            Endpoint::TransferCertificate => format!("/v1/certificates/{}/transfer", w.held),
            Endpoint::AddAccount => "/v1/accounts".into(),
            Endpoint::VerifyAccount => format!("/v1/accounts/{}/verification", w.pending_account),
            Endpoint::RevokeAccount => format!("/v1/accounts/{}/revocation", w.verified_account),
            Endpoint::ApplyFinancing => "/v1/financings".into(),
            Endpoint::RecommendFinancing => {
                format!("/v1/financings/{}/recommendation", w.financing)
            }
            Endpoint::DecideFinancing => format!("/v1/financings/{}/decision", w.financing),
            Endpoint::WithdrawFinancing => format!("/v1/financings/{}/withdrawal", w.financing),
            Endpoint::DisburseFinancing => format!("/v1/financings/{}/disbursement", w.financing),
            Endpoint::RegisterFinancing => format!("/v1/financings/{}/registration", w.financing),
            Endpoint::ClassifyFinancing => {
                format!("/v1/financings/{}/classification", w.financing)
            }
            Endpoint::RecourseFinancing => format!("/v1/financings/{}/recourse", w.financing),
            Endpoint::SettleFinancingEarly => {
                format!("/v1/financings/{}/early-settlement", w.financing)
            }
            Endpoint::RepurchaseFinancing => format!("/v1/financings/{}/repurchase", w.financing),
            Endpoint::ClearCertificate => format!("/v1/certificates/{}/clearing", w.financed),
        }
    }

    /// The OpenAPI operation this endpoint is.
    fn operation_id(self) -> &'static str {
        match self {
            Endpoint::RegisterKey => "register_key",
            Endpoint::RevokeKey => "revoke_key",
            Endpoint::AddUser => "add_user",
            Endpoint::Enrol => "enrol",
            Endpoint::IssueToken => "issue_token",
            Endpoint::RevokeToken => "revoke_token",
            Endpoint::Onboard => "onboard_organisation",
            Endpoint::Register => "register_organisation",
            Endpoint::Kyc => "decide_kyc",
            Endpoint::Invite => "invite_counterparty",
            Endpoint::PublishLpr => "publish_lpr_fixing",
            Endpoint::CreateProgram => "create_program",
            Endpoint::DraftPlan => "draft_plan",
            Endpoint::ApprovePlan => "approve_plan",
            Endpoint::CreatePo => "create_purchase_order",
            Endpoint::RecordDelivery => "record_delivery",
            Endpoint::DecideDelivery => "decide_delivery",
            Endpoint::RecordInvoice => "record_invoice",
            Endpoint::UploadInvoices => "upload_invoices",
            Endpoint::DecideInvoice => "decide_invoice",
            Endpoint::Relink => "relink_counterparty",
            Endpoint::CancelInvoice => "cancel_invoice",
            Endpoint::CancelCertificate => "cancel_certificate",
            Endpoint::ProposeCertificate => "propose_certificate",
            Endpoint::ConfirmCertificate => "confirm_certificate",
            Endpoint::AcceptCertificate => "accept_certificate",
            Endpoint::SplitCertificate => "split_certificate",
            Endpoint::TransferCertificate => "transfer_certificate",
            Endpoint::AddAccount => "add_account",
            Endpoint::VerifyAccount => "verify_account",
            Endpoint::RevokeAccount => "revoke_account",
            Endpoint::ApplyFinancing => "apply_financing",
            Endpoint::RecommendFinancing => "recommend_financing",
            Endpoint::DecideFinancing => "decide_financing",
            Endpoint::WithdrawFinancing => "withdraw_financing",
            Endpoint::DisburseFinancing => "disburse_financing",
            Endpoint::RegisterFinancing => "register_financing",
            Endpoint::ClassifyFinancing => "classify_financing",
            Endpoint::RecourseFinancing => "recourse_financing",
            Endpoint::SettleFinancingEarly => "settle_financing_early",
            Endpoint::RepurchaseFinancing => "repurchase_financing",
            Endpoint::ClearCertificate => "clear_certificate",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Endpoint::RegisterKey | Endpoint::Enrol => "key.add",
            Endpoint::RevokeKey => "key.revoke",
            Endpoint::AddUser => "user.add",
            Endpoint::IssueToken => "auth.token",
            Endpoint::RevokeToken => "auth.token_revoke",
            Endpoint::Onboard => "org.onboard",
            Endpoint::Register => "org.register",
            Endpoint::Kyc => "org.kyc",
            Endpoint::Invite => "relationship.invite",
            Endpoint::PublishLpr => "lpr.publish",
            Endpoint::CreateProgram => "program.create",
            Endpoint::DraftPlan => "program.plan_draft",
            Endpoint::ApprovePlan => "program.plan_approve",
            Endpoint::CreatePo => "po.create",
            Endpoint::RecordDelivery => "delivery.record",
            Endpoint::DecideDelivery => "delivery.accept",
            Endpoint::RecordInvoice => "invoice.record",
            Endpoint::UploadInvoices => "invoice.batch",
            Endpoint::DecideInvoice => "invoice.decide",
            Endpoint::Relink => "relationship.relink",
            Endpoint::CancelInvoice => "invoice.cancel",
            Endpoint::CancelCertificate => "certificate.cancel",
            Endpoint::ProposeCertificate => "certificate.propose",
            Endpoint::ConfirmCertificate => "certificate.confirm",
            Endpoint::AcceptCertificate => "certificate.accept",
            Endpoint::SplitCertificate => "certificate.split",
            Endpoint::TransferCertificate => "certificate.transfer",
            Endpoint::AddAccount => "account.add",
            Endpoint::VerifyAccount => "account.verify",
            Endpoint::RevokeAccount => "account.revoke",
            Endpoint::ApplyFinancing => "financing.apply",
            Endpoint::RecommendFinancing => "financing.recommend",
            Endpoint::DecideFinancing => "financing.decide",
            Endpoint::WithdrawFinancing => "financing.withdraw",
            Endpoint::DisburseFinancing => "financing.disburse",
            Endpoint::RegisterFinancing => "financing.register",
            Endpoint::ClassifyFinancing => "financing.classify",
            Endpoint::RecourseFinancing => "financing.recourse",
            Endpoint::SettleFinancingEarly => "financing.settle_early",
            Endpoint::RepurchaseFinancing => "financing.repurchase",
            Endpoint::ClearCertificate => "certificate.clear",
        }
    }

    /// The signer, the organisation it acts for, and the token sent along.
    fn actor(self, w: &World) -> (&SecretKey, &str, Option<&str>) {
        match self {
            Endpoint::Onboard | Endpoint::Kyc | Endpoint::PublishLpr | Endpoint::VerifyAccount => {
                (&w.op.key, &w.op.org, Some(&w.op.token))
            }
            Endpoint::ApprovePlan
            | Endpoint::RecommendFinancing
            | Endpoint::DecideFinancing
            | Endpoint::DisburseFinancing
            | Endpoint::RegisterFinancing
            | Endpoint::ClassifyFinancing
            | Endpoint::RecourseFinancing => (&w.funder.key, &w.funder.org, Some(&w.funder.token)),
            Endpoint::ConfirmCertificate
            | Endpoint::ClearCertificate
            | Endpoint::CancelCertificate => (&w.checker.key, &w.core.org, Some(&w.checker.token)),
            Endpoint::AcceptCertificate
            | Endpoint::SplitCertificate
            | Endpoint::TransferCertificate
            | Endpoint::ApplyFinancing
            | Endpoint::WithdrawFinancing
            | Endpoint::SettleFinancingEarly
            | Endpoint::RepurchaseFinancing => {
                (&w.holder.key, &w.holder.org, Some(&w.holder.token))
            }
            Endpoint::Register => (&w.supplier.key, &w.supplier.org, Some(&w.supplier.token)),
            Endpoint::RecordDelivery | Endpoint::RecordInvoice | Endpoint::CancelInvoice => {
                (&w.trader.key, &w.trader.org, Some(&w.trader.token))
            }
            Endpoint::Enrol => (&w.pending_key, &w.core.org, None),
            Endpoint::IssueToken => (&w.core.key, &w.core.org, None),
            _ => (&w.core.key, &w.core.org, Some(&w.core.token)),
        }
    }

    /// A body this endpoint would accept (ids made fresh from `seed`).
    fn template(self, w: &World, seed: u64) -> Value {
        let id = |n: u64| uuid::Uuid::from_u64_pair(seed, n).to_string();
        let public = |n: u64| {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&seed.to_le_bytes());
            s[8..16].copy_from_slice(&n.to_le_bytes());
            SecretKey::from_seed(&s).public_key()
        };
        let key = |n: u64| public(n).to_hex();
        let admin = json!({"user_id": id(2), "name": "Fuzz Admin", "public_key": key(2)});
        match self {
            Endpoint::RegisterKey => json!({"user": w.core.user, "public_key": key(1)}),
            Endpoint::RevokeKey => json!({"key_id": public(1).key_id().to_hex(), "reason": "lost"}),
            Endpoint::AddUser => json!({"user_id": id(1), "name": "Fuzz User", "role": "viewer",
                "public_key": key(1)}),
            Endpoint::Enrol => json!({"user": w.pending_user,
                "public_key": w.pending_key.public_key().to_hex()}),
            Endpoint::IssueToken => json!({"user": w.core.user, "label": "fuzz", "days": 1}),
            Endpoint::RevokeToken => json!({"token_id": id(1)}),
            Endpoint::Onboard => {
                json!({"org_id": id(1), "kind": "funder", "name": "Fuzz Bank", "admin": admin})
            }
            Endpoint::Register => json!({"uscc": fresh_uscc(), "name": "Fuzz Supplier",
                "industry": "industry", "headcount": 20, "revenue": "1500000.00",
                "total_assets": "900000", "figures_year": 2025}),
            Endpoint::Kyc => json!({"org_id": w.supplier.org, "decision": "reject",
                "reason": "figures do not add up"}),
            Endpoint::Invite => json!({"relationship_id": id(1), "direction": "downstream",
                "tier": 1, "counterparty": {"org_id": id(3), "kind": "distributor",
                "name": "Fuzz Distributor", "admin": admin}}),
            Endpoint::PublishLpr => {
                let day = chrono::NaiveDate::from_ymd_opt(2019, 8, 1).unwrap()
                    + chrono::Days::new(seed % 2500);
                json!({"tenor": "5Y", "fixing_date": day.to_string(), "rate": "3.45",
                    "source": "fuzz"})
            }
            Endpoint::CreateProgram => json!({"program_id": id(1), "name": "Fuzz Program"}),
            Endpoint::DraftPlan => json!({"program_id": w.program,
                "plan": crate::support::plan_doc(&w.funder.org),
                "effective_from": chrono::Utc::now().date_naive().to_string()}),
            Endpoint::ApprovePlan => json!({"program_id": w.program, "version": 1,
                "digest": w.digest}),
            Endpoint::CreatePo => json!({"po_id": id(1), "program_id": w.program,
                "seller_org_id": w.trader.org, "po_number": format!("PO-{seed}"),
                "amount": "100.00", "order_date": "2026-01-02"}),
            Endpoint::RecordDelivery => json!({"delivery_id": id(1), "po_id": w.po,
                "delivered_on": "2026-01-10", "reference": format!("WB-{seed}")}),
            Endpoint::DecideDelivery => json!({"delivery_id": w.delivery, "decision": "reject",
                "note": "short delivery"}),
            Endpoint::RecordInvoice => json!({"invoice_id": id(1), "program_id": w.program,
                "seller_org_id": w.trader.org, "buyer_org_id": w.core.org,
                "invoice_number": format!("FZ-{seed}"), "amount": "10.00",
                "issue_date": "2026-01-05", "due_date": "2026-04-05"}),
            Endpoint::UploadInvoices => {
                let mut b = crate::trade::batch_body(&w.program, &batch_rows(w, seed));
                b["batch_id"] = json!(id(1));
                b
            }
            Endpoint::DecideInvoice => json!({"invoice_id": w.invoice, "decision": "dispute",
                "reason": "short delivery"}),
            Endpoint::Relink => json!({"relationship_id": w.relationship,
                "parent_org_id": w.supplier.org}),
            Endpoint::CancelInvoice => json!({"invoice_id": w.invoice, "reason": "红冲"}),
            Endpoint::CancelCertificate => json!({"certificate_id": w.proposed,
                "reason": "fuzz"}),
            Endpoint::ProposeCertificate => {
                json!({"certificate_id": id(1), "program_id": w.program,
                "holder_org_id": w.holder.org, "face_value": "1000.00",
                "maturity_date": crate::certificates::day(30)})
            }
            Endpoint::ConfirmCertificate => json!({"certificate_id": w.proposed,
                "face_value": "1000.00", "maturity_date": crate::certificates::day(30)}),
            Endpoint::AcceptCertificate => json!({"certificate_id": w.proposed,
                "decision": "reject", "reason": "fuzz"}),
            Endpoint::SplitCertificate => crate::certificates::split_body(
                &w.held,
                "1000.00",
                &[(&id(1), "400.00"), (&id(2), "600.00")],
            ),
            Endpoint::TransferCertificate => json!({"certificate_id": w.held,
                "to_org_id": w.supplier.org, "notice_to": w.core.org}),
            Endpoint::AddAccount => json!({"account_id": id(1), "bank_name": "Fuzz Bank",
                "branch": "Fuzz Branch", "account_number": format!("{:016}", seed % 10_000_000_000_000_000),
                "account_name": "Registered name", "currency": "CNY"}),
            Endpoint::VerifyAccount => json!({"account_id": w.pending_account,
                "outcome": "rejected", "reason": "test transfer bounced"}),
            Endpoint::RevokeAccount => json!({"account_id": w.verified_account,
                "reason": "account closed"}),
            Endpoint::ApplyFinancing => json!({"financing_id": id(1), "certificate_id": w.financed,
                "funder_org_id": w.funder.org, "financing_date": crate::certificates::day(0)}),
            Endpoint::RecommendFinancing => json!({"financing_id": w.financing,
                "verdict": "approve", "note": "fuzz"}),
            Endpoint::DecideFinancing => json!({"financing_id": w.financing,
                "decision": "decline", "note": "fuzz"}),
            Endpoint::WithdrawFinancing
            | Endpoint::ClassifyFinancing
            | Endpoint::SettleFinancingEarly => {
                json!({"financing_id": w.financing})
            }
            Endpoint::DisburseFinancing => json!({"financing_id": w.financing,
                "account_id": w.verified_account}),
            Endpoint::RegisterFinancing => json!({"financing_id": w.financing,
                "registration_no": "ZD0001", "evidence_hash": "ab".repeat(32)}),
            Endpoint::RecourseFinancing => json!({"financing_id": w.financing, "note": "fuzz"}),
            Endpoint::RepurchaseFinancing => {
                json!({"financing_id": w.financing, "amount": "1000.00"})
            }
            Endpoint::ClearCertificate => json!({"root_id": w.financed, "amount": "1000.00",
                "payouts": [{"certificate_id": w.financed, "holder_org_id": w.holder.org,
                    "amount": "1000.00"}]}),
        }
    }
}

/// The rows an upload sends beside its intent.
fn batch_rows(w: &World, seed: u64) -> Vec<Value> {
    crate::trade::batch_rows(&w.trader_uscc, &format!("FZB{seed}"), 2)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,24}",
        2 => proptest::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        2 => proptest::sample::select(&NASTY[..]).prop_map(str::to_owned),
        1 => (1usize..70_000).prop_map(|n| "\u{4e2d}".repeat(n / 3 + 1)),
        1 => "[0-9]{1,40}(\\.[0-9]{0,30})?",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(i64::from(u32::MAX) + 1)]
            .prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop_oneof![
            Just(1e308),
            Just(-0.0),
            Just(0.1),
            Just(5e-324),
            Just(1234.5)
        ]
        .prop_map(|f: f64| json!(f)),
    ]
}

fn value(w_ids: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
        proptest::sample::select(w_ids).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(member(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn member() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(&MEMBERS[..]).prop_map(str::to_owned),
        1 => text(),
    ]
}

/// One case: which endpoint, whether to start from a valid body, members
/// to set (over the valid ones), a seed for fresh ids, and whether to use
/// another intent type.
type Case = (usize, bool, Vec<(String, Value)>, u64, Option<usize>);

fn case(ids: Vec<String>) -> impl Strategy<Value = Case> {
    (
        0..ENDPOINTS.len(),
        any::<bool>(),
        proptest::collection::vec((member(), value(ids)), 0..4),
        any::<u64>(),
        proptest::option::weighted(0.1, 0..TYPES.len()),
    )
}

/// Rows a refusal must not add: ledger entries and the tables that
/// mutations write (the idempotency store keeps refusals on purpose).
fn footprint(app: &TestApp) -> [i64; 21] {
    let mut c = app.opened.db.get().unwrap();
    [
        lpr_fixings::table.count().get_result(&mut c).unwrap(),
        programs::table.count().get_result(&mut c).unwrap(),
        program_plans::table.count().get_result(&mut c).unwrap(),
        plan_approvals::table.count().get_result(&mut c).unwrap(),
        ledger_entries::table.count().get_result(&mut c).unwrap(),
        organisations::table.count().get_result(&mut c).unwrap(),
        users::table.count().get_result(&mut c).unwrap(),
        signing_keys::table.count().get_result(&mut c).unwrap(),
        api_tokens::table.count().get_result(&mut c).unwrap(),
        relationships::table.count().get_result(&mut c).unwrap(),
        purchase_orders::table.count().get_result(&mut c).unwrap(),
        deliveries::table.count().get_result(&mut c).unwrap(),
        invoices::table.count().get_result(&mut c).unwrap(),
        invoice_batches::table.count().get_result(&mut c).unwrap(),
        certificates::table.count().get_result(&mut c).unwrap(),
        certificate_holdings::table
            .count()
            .get_result(&mut c)
            .unwrap(),
        assignment_notices::table
            .count()
            .get_result(&mut c)
            .unwrap(),
        settlement_accounts::table
            .count()
            .get_result(&mut c)
            .unwrap(),
        financings::table.count().get_result(&mut c).unwrap(),
        financing_steps::table.count().get_result(&mut c).unwrap(),
        cash_movements::table.count().get_result(&mut c).unwrap(),
    ]
}

async fn run_case(app: &TestApp, w: &World, c: Case) -> Result<u16, TestCaseError> {
    let (which, from_template, members, seed, other_type) = c;
    let endpoint = ENDPOINTS[which];
    let mut body = if from_template {
        endpoint.template(w, seed)
    } else {
        Value::Object(Map::new())
    };
    let obj = body.as_object_mut().unwrap();
    for (name, v) in members {
        obj.insert(name, v);
    }
    let (key, org, token) = endpoint.actor(w);
    let kind = other_type.map_or(endpoint.kind(), |t| TYPES[t]);
    let mut envelope = match (endpoint, body["invoice_number"].as_str()) {
        // An invoice's intent claims its asset key; without it every case
        // would stop at the same 422.
        (Endpoint::RecordInvoice, Some(n)) => {
            scf_ledger::asset::AssetKey::invoice(&w.trader_uscc, n).map_or_else(
                |_| signed(kind, org, body.clone(), key),
                |k| {
                    crate::support::signed_with_assets(
                        kind,
                        org,
                        body.clone(),
                        key,
                        vec![scf_ledger::intent::AssetRef {
                            key: k,
                            op: scf_ledger::intent::AssetOp::Encumber,
                        }],
                    )
                },
            )
        }
        _ => signed(kind, org, body.clone(), key),
    };
    if let Endpoint::UploadInvoices = endpoint {
        envelope["rows"] = Value::Array(batch_rows(w, seed));
    }

    let before = footprint(app);
    let mut req = app
        .client
        .post(app.url(&endpoint.path(w)))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&envelope);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap();
    let after = footprint(app);
    let what = format!("{endpoint:?} {kind} {body} -> {status} {text}");

    prop_assert!(status < 500, "{}", what);
    if status >= 400 {
        prop_assert_eq!(
            content_type.as_deref(),
            Some("application/problem+json"),
            "{}",
            what
        );
        let problem: Value = serde_json::from_str(&text).unwrap();
        prop_assert!(problem["code"].is_string(), "{}", what);
        prop_assert_eq!(
            problem["status"].as_u64(),
            Some(u64::from(status)),
            "{}",
            what
        );
        prop_assert_eq!(before, after, "a refusal changed something: {}", what);
    } else {
        prop_assert_eq!(after[4], before[4] + 1, "one entry per success: {}", what);
    }
    Ok(status)
}

#[test]
fn signed_random_bodies_never_fail_the_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, world) = rt.block_on(async {
        let app = spawn_app_with(&[("SCF_RATE_LIMIT_PER_SEC", "0")]).await;
        let op = app.operator().await;
        let core = app.approved(&op, "core_enterprise", "Fuzz Core").await;
        let (supplier, relationship) = app.invite(&core, "upstream", 1, "Fuzz Supplier").await;
        let (pending_user, pending_key) = (uuid::Uuid::new_v4().to_string(), fresh_key());
        let body = json!({"user_id": pending_user, "name": "Pending", "role": "maker",
            "public_key": pending_key.public_key().to_hex()});
        let (s, b) = app.act(&core, "/v1/users", "user.add", body).await;
        assert_eq!(s, 201, "{b}");
        let funder = app.approved(&op, "funder", "Fuzz Bank").await;
        let (program, draft) = app
            .program(&core, crate::support::plan_doc(&funder.org))
            .await;
        let digest = draft["digest"].as_str().unwrap().to_owned();
        let (trader, _) = app.invite(&core, "upstream", 1, "Fuzz Trader").await;
        let reg = app.register(&trader).await;
        app.approve(&op, &trader.org).await;
        let trader_uscc = reg["organisation"]["uscc"].as_str().unwrap().to_owned();
        let (po, delivery) = (
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
        );
        let body = json!({"po_id": po, "program_id": program, "seller_org_id": trader.org,
            "po_number": "PO-FUZZ", "amount": "100.00", "order_date": "2026-01-02"});
        let (s, b) = app
            .act(&core, "/v1/purchase-orders", "po.create", body)
            .await;
        assert_eq!(s, 201, "{b}");
        let body = json!({"delivery_id": delivery, "po_id": po, "delivered_on": "2026-01-10",
            "reference": "WB-FUZZ"});
        let path = format!("/v1/purchase-orders/{po}/deliveries");
        let (s, b) = app.act(&trader, &path, "delivery.record", body).await;
        assert_eq!(s, 201, "{b}");
        let invoice = uuid::Uuid::new_v4().to_string();
        let body = json!({"invoice_id": invoice, "program_id": program,
            "seller_org_id": trader.org, "buyer_org_id": core.org,
            "invoice_number": "FZ-SETUP", "amount": "10.00",
            "issue_date": "2026-01-05", "due_date": "2026-04-05"});
        let env = crate::trade::record_env(&trader, &trader_uscc, &body);
        let (s, b) = app
            .post_signed("/v1/invoices", Some(&trader.token), &env)
            .await;
        assert_eq!(s, 201, "{b}");
        // Certificates need an approved plan and an approved supplier.
        let checker = app.staff(&core, "checker").await;
        for who in [&checker, &funder] {
            let (s, b) = app
                .act(
                    who,
                    &format!("/v1/programs/{program}/plans/1/approval"),
                    "program.plan_approve",
                    json!({"program_id": program, "version": 1, "digest": digest}),
                )
                .await;
            assert_eq!(s, 200, "{b}");
        }
        let (holder, _) = app.invite(&core, "upstream", 1, "Fuzz Holder").await;
        app.register(&holder).await;
        app.approve(&op, &holder.org).await;
        let cw = crate::certificates::World {
            op: op.clone(),
            core: core.clone(),
            checker: checker.clone(),
            funder: funder.clone(),
            t1: holder.clone(),
            t2: holder.clone(),
            t3: holder.clone(),
            program: program.clone(),
        };
        let maturity = crate::certificates::day(30);
        let held = crate::certificates::active(&app, &cw, &holder, "1000.00", &maturity).await;
        let (s, b, proposed) =
            crate::certificates::propose(&app, &cw, &holder, "1000.00", &maturity).await;
        assert_eq!(s, 201, "{b}");
        crate::financing::publish_lpr(&app, &op).await;
        let financed = crate::certificates::active(&app, &cw, &holder, "1000.00", &maturity).await;
        let (s, b, financing) = crate::financing::apply(&app, &cw, &holder, &financed).await;
        assert_eq!(s, 201, "{b}");
        let mut accounts = Vec::new();
        for number in ["11112222333344", "55556666777788"] {
            let id = uuid::Uuid::new_v4().to_string();
            let body = json!({"account_id": id, "bank_name": "Fuzz Bank", "branch": "Main",
                "account_number": number, "account_name": "Registered name", "currency": "CNY"});
            let (s, b) = app.act(&core, "/v1/accounts", "account.add", body).await;
            assert_eq!(s, 201, "{b}");
            accounts.push(id);
        }
        let verified_account = accounts.pop().unwrap();
        let pending_account = accounts.pop().unwrap();
        let path = format!("/v1/accounts/{verified_account}/verification");
        let body = json!({"account_id": verified_account, "outcome": "verified"});
        let (s, b) = app.act(&op, &path, "account.verify", body).await;
        assert_eq!(s, 200, "{b}");
        let world = World {
            relationship,
            trader,
            trader_uscc,
            po,
            delivery,
            invoice,
            op,
            core,
            supplier,
            pending_user,
            pending_key,
            funder,
            program,
            digest,
            checker,
            holder,
            proposed,
            held,
            pending_account,
            verified_account,
            financed,
            financing,
        };
        (app, world)
    });
    // Every signed mutation the server documents is fuzzed here.
    let doc = serde_json::to_value(scf_backend::routes::openapi()).unwrap();
    let mut posts: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|item| item["post"]["operationId"].as_str().map(str::to_owned))
        .filter(|op| op != "check_intent")
        .collect();
    posts.sort();
    let mut covered: Vec<String> = ENDPOINTS
        .iter()
        .map(|e| e.operation_id().to_owned())
        .collect();
    covered.sort();
    assert_eq!(posts, covered, "add new signed mutations to signed_fuzz.rs");
    // Money travels as decimal strings: a JSON number is refused, never
    // read through a float.
    for revenue in [json!(1234.5), json!(1234), json!(1e300)] {
        let mut body = Endpoint::Register.template(&world, 0);
        body["revenue"] = revenue;
        let path = Endpoint::Register.path(&world);
        let (s, b) = rt.block_on(app.act(&world.supplier, &path, "org.register", body));
        assert_eq!(s, 422, "{b}");
    }
    // Ids the bodies may name; never the acting keys' own, whose revocation
    // would only make every later case a 403.
    let ids = vec![
        world.op.org.clone(),
        world.op.user.clone(),
        world.core.org.clone(),
        world.core.user.clone(),
        world.supplier.org.clone(),
        world.supplier.user.clone(),
        world.pending_user.clone(),
        world.pending_key.public_key().to_hex(),
        world.pending_key.public_key().key_id().to_hex(),
        fresh_key().public_key().to_hex(),
        world.holder.org.clone(),
        world.proposed.clone(),
        world.held.clone(),
        world.program.clone(),
        world.pending_account.clone(),
        world.verified_account.clone(),
        world.financed.clone(),
        world.financing.clone(),
    ];
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::new());
    runner
        .run(&case(ids), |c| {
            let status = rt.block_on(run_case(&app, &world, c))?;
            *statuses.borrow_mut().entry(status).or_insert(0u32) += 1;
            Ok(())
        })
        .unwrap();
    let statuses = statuses.into_inner();
    eprintln!("statuses over {cases} cases: {statuses:?}");
    // The cases reached past the envelope: some succeeded, some were
    // refused by the business rules, not only by the parser.
    assert!(statuses.keys().any(|s| *s < 300), "{statuses:?}");
    assert!(statuses.contains_key(&422), "{statuses:?}");
    assert!(
        statuses.contains_key(&409) || statuses.contains_key(&404),
        "{statuses:?}"
    );
    drop(app);
}
