//! Invoices: the receivables a payables certificate is built on. The asset
//! key (ledger SPEC.md §6: seller USCC and invoice number, normalised) is
//! unique across the platform, so one invoice backs at most one financing
//! whatever the funder.
//!
//! One invoice is an `invoice.record` intent whose `assets` encumber the
//! invoice's key, so `scf-verify` alone sees that no key is recorded twice
//! among single invoices. A bulk upload is one `invoice.batch` intent that
//! commits to its rows by an RFC 6962 Merkle root (the rows are too many
//! for an intent's 64 KiB); the database's unique index keeps batch rows
//! unique, and the intent also carries the Merkle root of the batch's
//! sorted asset keys so the holder of the rows can prove what it held.

use crate::db::schema::{invoice_batches, invoices, organisations, purchase_orders, relationships};
use crate::db::{DbConn, DbDecimal, DbId, DbInstant};
use crate::error::FieldError;
use crate::ledger::CommandError;
use crate::ledger::writer::EntryView;
use crate::parties::model::{Direction, RelStatus};
use crate::pricing::money::Money;
use crate::routes::mutation::{Actor, rejected};
use crate::trade::{
    Trade, no_such_program, parse_amount, program_core_for, seq_of, time_of, trade_parties, uscc_of,
};
use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;
use scf_ledger::asset::AssetKey;
use scf_ledger::batch::MAX_ROW_BYTES;
use scf_ledger::hash::{leaf_hash, to_hex};
use scf_ledger::intent::AssetOp;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Rows one bulk upload may hold.
pub const MAX_BATCH_ROWS: usize = 10_000;
/// Rows per multi-row INSERT: 19 columns each stays under SQLite's 32,766
/// bound parameters.
const INSERT_CHUNK: usize = 1_000;
/// Keys per `IN (...)` lookup.
const LOOKUP_CHUNK: usize = 1_000;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Where an invoice stands.
    InvoiceStatus {
        Recorded => "recorded",
        Confirmed => "confirmed",
        Disputed => "disputed",
        Assigned => "assigned",
        Settled => "settled",
        Cancelled => "cancelled",
    }
);

string_enum!(
    /// What moves an invoice.
    InvoiceEvent {
        Confirm => "confirm",
        Dispute => "dispute",
        Assign => "assign",
        Unassign => "unassign",
        Settle => "settle",
        Cancel => "cancel",
    }
);

/// Every allowed move. An invoice the seller records waits for the buyer
/// to confirm that it is owed (one the buyer records or uploads is
/// confirmed from the start); only a confirmed invoice backs a payables
/// certificate (`assigned`), and it returns to `confirmed` if that
/// certificate is cancelled before it is accepted. Settled and cancelled
/// are final: the asset key stays taken, so a settled invoice is never
/// financed again.
pub const INVOICE_TRANSITIONS: &[(InvoiceStatus, InvoiceEvent, InvoiceStatus)] = &[
    (
        InvoiceStatus::Recorded,
        InvoiceEvent::Confirm,
        InvoiceStatus::Confirmed,
    ),
    (
        InvoiceStatus::Recorded,
        InvoiceEvent::Dispute,
        InvoiceStatus::Disputed,
    ),
    (
        InvoiceStatus::Disputed,
        InvoiceEvent::Confirm,
        InvoiceStatus::Confirmed,
    ),
    (
        InvoiceStatus::Recorded,
        InvoiceEvent::Cancel,
        InvoiceStatus::Cancelled,
    ),
    (
        InvoiceStatus::Disputed,
        InvoiceEvent::Cancel,
        InvoiceStatus::Cancelled,
    ),
    (
        InvoiceStatus::Confirmed,
        InvoiceEvent::Assign,
        InvoiceStatus::Assigned,
    ),
    (
        InvoiceStatus::Assigned,
        InvoiceEvent::Unassign,
        InvoiceStatus::Confirmed,
    ),
    (
        InvoiceStatus::Confirmed,
        InvoiceEvent::Settle,
        InvoiceStatus::Settled,
    ),
    (
        InvoiceStatus::Assigned,
        InvoiceEvent::Settle,
        InvoiceStatus::Settled,
    ),
];

impl InvoiceStatus {
    pub fn next(self, event: InvoiceEvent) -> Option<InvoiceStatus> {
        INVOICE_TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == self && *e == event)
            .map(|(_, _, to)| *to)
    }

    fn allowed_events(self) -> String {
        let evs: Vec<&str> = INVOICE_TRANSITIONS
            .iter()
            .filter(|(from, _, _)| *from == self)
            .map(|(_, e, _)| e.as_str())
            .collect();
        if evs.is_empty() {
            "none".into()
        } else {
            evs.join(", ")
        }
    }
}

fn refuse_move(status: InvoiceStatus, event: InvoiceEvent) -> CommandError {
    rejected(
        409,
        "conflict",
        format!(
            "an invoice that is {} cannot {}; allowed: {}",
            status.as_str(),
            event.as_str(),
            status.allowed_events()
        ),
    )
}

/// Invoice numbers as the asset key takes them (SPEC.md §6): trimmed,
/// ASCII letters upper-cased.
pub fn normalise_number(n: &str) -> String {
    n.trim_ascii().to_ascii_uppercase()
}

/// The body of an `invoice.record` intent. Its `assets` must be exactly
/// `[{"key": <the invoice's asset key>, "op": "encumber"}]`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// Chosen by the client (a UUID), so a retry names the same invoice.
    pub invoice_id: Uuid,
    pub program_id: Uuid,
    pub seller_org_id: Uuid,
    pub buyer_org_id: Uuid,
    /// As printed on the invoice; trimmed and upper-cased for the key.
    pub invoice_number: String,
    /// CNY, a decimal string with at most 2 decimals.
    pub amount: String,
    #[schema(value_type = String, format = Date)]
    pub issue_date: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub due_date: NaiveDate,
    /// The purchase order the invoice bills, if any.
    #[serde(default)]
    pub po_id: Option<Uuid>,
}

/// An invoice as its parties see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invoice {
    pub id: Uuid,
    pub program_id: Uuid,
    pub seller_org_id: Uuid,
    pub buyer_org_id: Uuid,
    pub seller_uscc: String,
    pub invoice_number: String,
    /// The asset key (ledger SPEC.md §6), hex.
    pub asset_key: String,
    pub amount: String,
    pub currency: String,
    #[schema(value_type = String, format = Date)]
    pub issue_date: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub due_date: NaiveDate,
    pub po_id: Option<Uuid>,
    pub batch_id: Option<Uuid>,
    pub status: InvoiceStatus,
    pub certificate_id: Option<Uuid>,
    pub recorded_seq: i64,
    pub created_at: String,
}

impl crate::listing::CsvRow for Invoice {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "program_id",
        "seller_org_id",
        "buyer_org_id",
        "seller_uscc",
        "invoice_number",
        "asset_key",
        "amount",
        "currency",
        "issue_date",
        "due_date",
        "po_id",
        "batch_id",
        "status",
        "certificate_id",
        "recorded_seq",
        "created_at",
    ];
}

type InvoiceRow = (
    DbId,
    DbId,
    DbId,
    DbId,
    String,
    String,
    String,
    DbDecimal,
    NaiveDate,
    NaiveDate,
    Option<DbId>,
    Option<DbId>,
    String,
    Option<DbId>,
    i64,
    DbInstant,
);

macro_rules! invoice_columns {
    () => {
        (
            invoices::id,
            invoices::program_id,
            invoices::seller_org_id,
            invoices::buyer_org_id,
            invoices::seller_uscc,
            invoices::invoice_number,
            invoices::asset_key,
            invoices::amount,
            invoices::issue_date,
            invoices::due_date,
            invoices::po_id,
            invoices::batch_id,
            invoices::status,
            invoices::certificate_id,
            invoices::recorded_seq,
            invoices::created_at,
        )
    };
}

fn to_invoice(r: InvoiceRow) -> Invoice {
    Invoice {
        id: r.0.0,
        program_id: r.1.0,
        seller_org_id: r.2.0,
        buyer_org_id: r.3.0,
        seller_uscc: r.4,
        invoice_number: r.5,
        asset_key: r.6,
        amount: Money::new(r.7.0).map_or_else(|_| r.7.0.to_string(), |m| m.to_string()),
        currency: "CNY".into(),
        issue_date: r.8,
        due_date: r.9,
        po_id: r.10.map(|d| d.0),
        batch_id: r.11.map(|d| d.0),
        status: InvoiceStatus::parse(&r.12).unwrap_or(InvoiceStatus::Recorded),
        certificate_id: r.13.map(|d| d.0),
        recorded_seq: r.14,
        created_at: r.15.to_text(),
    }
}

#[derive(Insertable)]
#[diesel(table_name = invoices)]
#[diesel(treat_none_as_default_value = false)]
struct NewInvoice {
    id: DbId,
    program_id: DbId,
    seller_org_id: DbId,
    buyer_org_id: DbId,
    seller_uscc: String,
    invoice_number: String,
    asset_key: String,
    amount: DbDecimal,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    po_id: Option<DbId>,
    batch_id: Option<DbId>,
    status: String,
    certificate_id: Option<DbId>,
    recorded_seq: i64,
    created_at: DbInstant,
}

fn unprocessable(message: impl Into<String>) -> CommandError {
    rejected(422, "unprocessable", message)
}

fn already_recorded(key: &str, uscc: &str, number: &str) -> String {
    format!(
        "invoice asset key {key} (seller USCC {uscc}, invoice number {number}) is already recorded on the platform"
    )
}

/// The purchase order an invoice bills must be one of the same trade.
fn check_po(conn: &mut DbConn, po: Uuid, trade: &Trade) -> Result<bool, diesel::result::Error> {
    let found: Option<(DbId, DbId, DbId)> = purchase_orders::table
        .filter(purchase_orders::id.eq(DbId::from(po)))
        .select((
            purchase_orders::program_id,
            purchase_orders::seller_org_id,
            purchase_orders::buyer_org_id,
        ))
        .first(conn)
        .optional()?;
    Ok(found == Some((trade.program, trade.seller, trade.buyer)))
}

/// `invoice.record`: one invoice, recorded by its seller (then `recorded`,
/// awaiting the buyer) or its buyer (then `confirmed`).
pub fn record(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    actor: Actor,
    body: &RecordBody,
) -> Result<serde_json::Value, CommandError> {
    let org = DbId::from(actor.org);
    let trade = trade_parties(
        conn,
        body.program_id.into(),
        body.seller_org_id.into(),
        body.buyer_org_id.into(),
        org,
    )?;
    let uscc = uscc_of(conn, trade.seller)?
        .ok_or_else(|| unprocessable("the seller has not registered its USCC yet"))?;
    let number = normalise_number(&body.invoice_number);
    let key = AssetKey::invoice(&uscc, &number)
        .map_err(|e| unprocessable(format!("intent.body.invoice_number: {e}")))?;
    let key_hex = key.to_hex();
    let claims_key = matches!(view.intent.assets.as_slice(),
        [a] if a.key == key && a.op == AssetOp::Encumber);
    if !claims_key {
        return Err(unprocessable(format!(
            "intent.assets must be exactly [{{\"key\":\"{key_hex}\",\"op\":\"encumber\"}}]: the invoice's asset key"
        )));
    }
    let amount = parse_amount(&body.amount)
        .map_err(|e| unprocessable(format!("intent.body.amount: {e}")))?;
    if body.due_date < body.issue_date {
        return Err(unprocessable(
            "intent.body.due_date must not be before issue_date",
        ));
    }
    if let Some(po) = body.po_id
        && !check_po(conn, po, &trade)?
    {
        return Err(unprocessable(
            "intent.body.po_id is not a purchase order of this seller and buyer in this program",
        ));
    }
    let taken: Option<DbId> = invoices::table
        .filter(invoices::asset_key.eq(&key_hex))
        .select(invoices::id)
        .first(conn)
        .optional()?;
    if taken.is_some() {
        return Err(rejected(
            409,
            "conflict",
            already_recorded(&key_hex, &uscc, &number),
        ));
    }
    let exists: Option<DbId> = invoices::table
        .filter(invoices::id.eq(DbId::from(body.invoice_id)))
        .select(invoices::id)
        .first(conn)
        .optional()?;
    if exists.is_some() {
        return Err(rejected(409, "conflict", "intent.body.invoice_id is taken"));
    }
    let status = if org == trade.buyer {
        InvoiceStatus::Confirmed
    } else {
        InvoiceStatus::Recorded
    };
    let now = time_of(view);
    diesel::insert_into(invoices::table)
        .values(NewInvoice {
            id: body.invoice_id.into(),
            program_id: trade.program,
            seller_org_id: trade.seller,
            buyer_org_id: trade.buyer,
            seller_uscc: uscc,
            invoice_number: number,
            asset_key: key_hex.clone(),
            amount: DbDecimal(amount.into()),
            issue_date: body.issue_date,
            due_date: body.due_date,
            po_id: body.po_id.map(DbId::from),
            batch_id: None,
            status: status.as_str().into(),
            certificate_id: None,
            recorded_seq: seq_of(view),
            created_at: now,
        })
        .execute(conn)?;
    Ok(serde_json::json!({
        "invoice_id": body.invoice_id,
        "asset_key": key_hex,
        "status": status,
        "amount": amount.to_string(),
    }))
}

/// The body of an `invoice.decide` intent: the buyer confirms the invoice
/// is owed, or disputes it with a reason.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    pub invoice_id: Uuid,
    pub decision: InvoiceDecision,
    /// Required for a dispute.
    #[serde(default)]
    pub reason: Option<String>,
}

string_enum!(
    InvoiceDecision {
        Confirm => "confirm",
        Dispute => "dispute",
    }
);

/// `invoice.decide`, by the buyer.
pub fn decide(
    conn: &mut DbConn,
    _view: &EntryView<'_>,
    actor: Actor,
    body: &DecideBody,
) -> Result<serde_json::Value, CommandError> {
    let org = DbId::from(actor.org);
    let (seller, buyer, status) = party_to(conn, org, body.invoice_id)?;
    if buyer != org || seller == org {
        return Err(rejected(
            403,
            "forbidden",
            "only the buyer confirms or disputes an invoice",
        ));
    }
    let event = match body.decision {
        InvoiceDecision::Confirm => InvoiceEvent::Confirm,
        InvoiceDecision::Dispute => InvoiceEvent::Dispute,
    };
    if event == InvoiceEvent::Dispute && body.reason.as_deref().is_none_or(|r| r.trim().is_empty())
    {
        return Err(unprocessable(
            "intent.body.reason: a dispute needs a reason the seller can act on",
        ));
    }
    let next = status
        .next(event)
        .ok_or_else(|| refuse_move(status, event))?;
    diesel::update(invoices::table.filter(invoices::id.eq(DbId::from(body.invoice_id))))
        .set(invoices::status.eq(next.as_str()))
        .execute(conn)?;
    Ok(serde_json::json!({ "invoice_id": body.invoice_id, "status": next }))
}

/// Body of `invoice.cancel`: the seller voids (红冲) an invoice the buyer
/// has not confirmed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub invoice_id: Uuid,
    /// Why, for the buyer and the audit trail.
    pub reason: String,
}

/// `invoice.cancel`: the seller voids an invoice still awaiting the buyer
/// or disputed by it. Its asset key stays taken: a voided invoice number
/// is never financed, nor recorded again. A confirmed invoice is owed and
/// is not the seller's alone to void.
pub fn cancel(
    conn: &mut DbConn,
    _view: &EntryView<'_>,
    actor: Actor,
    body: &CancelBody,
) -> Result<serde_json::Value, CommandError> {
    let org = DbId::from(actor.org);
    let (seller, _, status) = party_to(conn, org, body.invoice_id)?;
    if seller != org {
        return Err(rejected(
            403,
            "forbidden",
            "only the seller voids an invoice; the buyer disputes it",
        ));
    }
    let reason = crate::parties::onboarding::text("reason", &body.reason)?;
    let next = status
        .next(InvoiceEvent::Cancel)
        .ok_or_else(|| refuse_move(status, InvoiceEvent::Cancel))?;
    diesel::update(invoices::table.filter(invoices::id.eq(DbId::from(body.invoice_id))))
        .set(invoices::status.eq(next.as_str()))
        .execute(conn)?;
    Ok(serde_json::json!({ "invoice_id": body.invoice_id, "status": next, "reason": reason }))
}

/// Seller, buyer and status of an invoice `org` is a party to; 404 for
/// anyone else, as if it did not exist.
fn party_to(
    conn: &mut DbConn,
    org: DbId,
    id: Uuid,
) -> Result<(DbId, DbId, InvoiceStatus), CommandError> {
    let found: Option<(DbId, DbId, String)> = invoices::table
        .filter(invoices::id.eq(DbId::from(id)))
        .select((
            invoices::seller_org_id,
            invoices::buyer_org_id,
            invoices::status,
        ))
        .first(conn)
        .optional()?;
    let (seller, buyer, status) = found
        .filter(|(s, b, _)| *s == org || *b == org)
        .ok_or_else(no_such_invoice)?;
    let status = InvoiceStatus::parse(&status).unwrap_or(InvoiceStatus::Cancelled);
    Ok((seller, buyer, status))
}

pub(crate) fn no_such_invoice() -> CommandError {
    rejected(404, "not_found", "no such invoice visible to you")
}

/// Under the writer, for the payables-certificate workflow: the invoices
/// must be the seller's, owed by the buyer in the program, confirmed and
/// not yet backing a certificate. They are marked `assigned` to
/// `certificate_id` and their total is returned. Any failure changes
/// nothing (the caller's savepoint rolls back).
pub fn assign_to_certificate(
    conn: &mut DbConn,
    program_id: DbId,
    buyer: DbId,
    seller: DbId,
    invoice_ids: &[Uuid],
    certificate_id: DbId,
) -> Result<Money, CommandError> {
    if invoice_ids.is_empty() {
        return Err(unprocessable(
            "a certificate is backed by at least one invoice",
        ));
    }
    let wanted: HashSet<Uuid> = invoice_ids.iter().copied().collect();
    if wanted.len() != invoice_ids.len() {
        return Err(unprocessable("an invoice is named twice"));
    }
    let mut found: HashMap<Uuid, (DbId, DbId, DbId, String, DbDecimal)> = HashMap::new();
    for chunk in invoice_ids.chunks(LOOKUP_CHUNK) {
        let ids: Vec<DbId> = chunk.iter().copied().map(DbId::from).collect();
        let rows: Vec<(DbId, DbId, DbId, DbId, String, DbDecimal)> = invoices::table
            .filter(invoices::id.eq_any(ids))
            .select((
                invoices::id,
                invoices::program_id,
                invoices::seller_org_id,
                invoices::buyer_org_id,
                invoices::status,
                invoices::amount,
            ))
            .load(conn)?;
        for r in rows {
            found.insert(r.0.0, (r.1, r.2, r.3, r.4, r.5));
        }
    }
    let mut amounts = Vec::with_capacity(invoice_ids.len());
    for id in invoice_ids {
        let Some((p, s, b, status, amount)) = found.get(id) else {
            return Err(rejected(404, "not_found", format!("no such invoice {id}")));
        };
        if (*p, *s, *b) != (program_id, seller, buyer) {
            return Err(unprocessable(format!(
                "invoice {id} is not owed by this buyer to this seller in this program"
            )));
        }
        let status = InvoiceStatus::parse(status).unwrap_or(InvoiceStatus::Cancelled);
        if status.next(InvoiceEvent::Assign).is_none() {
            return Err(rejected(
                409,
                "conflict",
                format!(
                    "invoice {id} is {}; only a confirmed invoice not yet backing a certificate can be assigned",
                    status.as_str()
                ),
            ));
        }
        amounts.push(Money::new(amount.0).map_err(|e| CommandError::Storage(e.to_string()))?);
    }
    let total = Money::sum(amounts).map_err(|e| unprocessable(e.to_string()))?;
    for chunk in invoice_ids.chunks(LOOKUP_CHUNK) {
        let ids: Vec<DbId> = chunk.iter().copied().map(DbId::from).collect();
        // The status filter repeats the check in SQL, so a row that moved
        // since it was read is not overwritten.
        let n = diesel::update(
            invoices::table
                .filter(invoices::id.eq_any(ids))
                .filter(invoices::status.eq(InvoiceStatus::Confirmed.as_str())),
        )
        .set((
            invoices::status.eq(InvoiceStatus::Assigned.as_str()),
            invoices::certificate_id.eq(Some(certificate_id)),
        ))
        .execute(conn)?;
        if n != chunk.len() {
            return Err(rejected(
                409,
                "conflict",
                "an invoice changed while it was being assigned",
            ));
        }
    }
    Ok(total)
}

/// Under the writer, for a certificate cancelled before acceptance: its
/// invoices are confirmed and free again. Returns how many were released.
pub fn release_from_certificate(
    conn: &mut DbConn,
    certificate_id: DbId,
) -> Result<usize, CommandError> {
    Ok(diesel::update(
        invoices::table
            .filter(invoices::certificate_id.eq(Some(certificate_id)))
            .filter(invoices::status.eq(InvoiceStatus::Assigned.as_str())),
    )
    .set((
        invoices::status.eq(InvoiceStatus::Confirmed.as_str()),
        invoices::certificate_id.eq(None::<DbId>),
    ))
    .execute(conn)?)
}

// ---------------------------------------------------------------- bulk

/// One row of a bulk upload: an invoice the uploading core enterprise owes
/// one of its upstream suppliers (named by USCC).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRow {
    pub invoice_number: String,
    /// The supplier's USCC (统一社会信用代码).
    pub seller_uscc: String,
    /// CNY, a decimal string with at most 2 decimals.
    pub amount: String,
    #[schema(value_type = String, format = Date)]
    pub issue_date: String,
    #[schema(value_type = String, format = Date)]
    pub due_date: String,
    #[serde(default)]
    pub po_id: Option<Uuid>,
}

/// The body of an `invoice.batch` intent: it commits to the rows that
/// travel beside it in the request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    pub batch_id: Uuid,
    pub program_id: Uuid,
    /// How many rows.
    pub count: usize,
    /// The rows' amounts summed, CNY.
    pub total: String,
    /// RFC 6962 Merkle root, hex, over the leaves SHA-256(0x00 ‖ JCS(row))
    /// in row order (JCS: RFC 8785 canonical JSON of the row as sent).
    pub rows_root: String,
    /// RFC 6962 Merkle root, hex, over the leaves SHA-256(0x00 ‖ key) of the
    /// rows' 32-byte asset keys sorted ascending.
    pub asset_keys_root: String,
}

/// A row that passed the checks that need no stored state.
#[derive(Debug, Clone)]
pub struct CheckedRow {
    pub invoice_number: String,
    pub seller_uscc: String,
    pub asset_key: String,
    pub amount: Money,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub po_id: Option<Uuid>,
}

/// The rows of a bulk upload, checked, with what the intent must commit to.
#[derive(Debug, Clone)]
pub struct PreparedBatch {
    pub rows: Vec<CheckedRow>,
    /// The rows file `scf-verify --batch-rows` reads (ledger SPEC.md
    /// §10.5): each row's JCS, the bytes its leaf hashes, and `\n`.
    pub rows_jsonl: String,
    pub rows_root: String,
    pub asset_keys_root: String,
    pub total: Money,
}

fn row_error(row: usize, field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        row: Some(row),
        field: field.into(),
        message: message.into(),
    }
}

/// Why a batch is refused before anything is stored.
#[derive(Debug)]
pub enum BatchRefusal {
    /// 422: rows that are malformed (every one named).
    Invalid(Vec<FieldError>),
    /// 409: the same asset key twice in the batch (every repeat named).
    Duplicate(Vec<FieldError>),
}

/// Checks every row (all errors, not the first) and computes the digests.
/// Pure: this runs in the handler, off the single writer.
pub fn prepare_batch(rows: &[serde_json::Value]) -> Result<PreparedBatch, BatchRefusal> {
    let mut errors = Vec::new();
    let mut checked = Vec::with_capacity(rows.len());
    let mut leaves = Vec::with_capacity(rows.len());
    let mut jsonl = Vec::with_capacity(rows.len() * 192);
    for (i, value) in rows.iter().enumerate() {
        let canonical = scf_ledger::jcs::to_vec(value);
        // The verifier refuses longer lines, so such a row could never be
        // checked against the entry.
        if canonical.len() > MAX_ROW_BYTES {
            errors.push(row_error(
                i,
                "row",
                format!("is longer than {MAX_ROW_BYTES} bytes as canonical JSON"),
            ));
        }
        leaves.push(leaf_hash(&canonical));
        jsonl.extend_from_slice(&canonical);
        jsonl.push(b'\n');
        let row: BatchRow = match serde_json::from_value(value.clone()) {
            Ok(r) => r,
            Err(e) => {
                errors.push(row_error(i, "row", e.to_string()));
                continue;
            }
        };
        let before = errors.len();
        let uscc = scf_ledger::uscc::normalise(&row.seller_uscc)
            .map_err(|e| errors.push(row_error(i, "seller_uscc", e.to_string())))
            .ok();
        let number = normalise_number(&row.invoice_number);
        let key = uscc.as_ref().and_then(|u| {
            AssetKey::invoice(u, &number)
                .map_err(|e| errors.push(row_error(i, "invoice_number", e.to_string())))
                .ok()
        });
        let amount = parse_amount(&row.amount)
            .map_err(|e| errors.push(row_error(i, "amount", e)))
            .ok();
        let date = |errors: &mut Vec<FieldError>, field: &str, text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| errors.push(row_error(i, field, "must be a date, YYYY-MM-DD")))
                .ok()
        };
        let issue = date(&mut errors, "issue_date", &row.issue_date);
        let due = date(&mut errors, "due_date", &row.due_date);
        if let (Some(a), Some(b)) = (issue, due)
            && b < a
        {
            errors.push(row_error(i, "due_date", "must not be before issue_date"));
        }
        if errors.len() > before {
            continue;
        }
        if let (Some(uscc), Some(key), Some(amount), Some(issue_date), Some(due_date)) =
            (uscc, key, amount, issue, due)
        {
            checked.push((
                i,
                CheckedRow {
                    invoice_number: number,
                    seller_uscc: uscc,
                    asset_key: key.to_hex(),
                    amount,
                    issue_date,
                    due_date,
                    po_id: row.po_id,
                },
                key,
            ));
        }
    }
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut dups = Vec::new();
    for (i, r, _) in &checked {
        if let Some(at) = first.get(r.asset_key.as_str()) {
            dups.push(row_error(
                *i,
                "invoice_number",
                format!(
                    "asset key {} repeats row {at} (seller USCC {}, invoice number {})",
                    r.asset_key, r.seller_uscc, r.invoice_number
                ),
            ));
        } else {
            first.insert(r.asset_key.as_str(), *i);
        }
    }
    if !errors.is_empty() {
        errors.extend(dups);
        errors.sort_by_key(|e| e.row);
        return Err(BatchRefusal::Invalid(errors));
    }
    if !dups.is_empty() {
        return Err(BatchRefusal::Duplicate(dups));
    }
    let mut keys: Vec<[u8; 32]> = checked.iter().map(|(_, _, k)| k.0).collect();
    keys.sort_unstable();
    let key_leaves: Vec<_> = keys.iter().map(|k| leaf_hash(k)).collect();
    let rows: Vec<CheckedRow> = checked.into_iter().map(|(_, r, _)| r).collect();
    let whole = |message: String| {
        BatchRefusal::Invalid(vec![FieldError {
            row: None,
            field: "rows".into(),
            message,
        }])
    };
    let total = Money::sum(rows.iter().map(|r| r.amount)).map_err(|e| whole(e.to_string()))?;
    // JCS of parsed JSON is UTF-8; this cannot fail.
    let rows_jsonl = String::from_utf8(jsonl).map_err(|e| whole(e.to_string()))?;
    Ok(PreparedBatch {
        rows,
        rows_jsonl,
        rows_root: to_hex(&scf_ledger::merkle::root_from_leaves(&leaves)),
        asset_keys_root: to_hex(&scf_ledger::merkle::root_from_leaves(&key_leaves)),
        total,
    })
}

/// The intent's commitments against the rows that came with it; every
/// mismatch is named.
pub fn check_commitment(body: &BatchBody, prepared: &PreparedBatch) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut field = |f: &str, m: String| {
        errors.push(FieldError {
            row: None,
            field: format!("intent.body.{f}"),
            message: m,
        })
    };
    if body.count != prepared.rows.len() {
        field(
            "count",
            format!(
                "is {}, the request holds {} rows",
                body.count,
                prepared.rows.len()
            ),
        );
    }
    let total_ok = body
        .total
        .trim()
        .parse::<Decimal>()
        .is_ok_and(|t| t == Decimal::from(prepared.total));
    if !total_ok {
        field(
            "total",
            format!("is {:?}, the rows sum to {}", body.total, prepared.total),
        );
    }
    if body.rows_root != prepared.rows_root {
        field(
            "rows_root",
            format!(
                "does not match the rows sent (their root is {})",
                prepared.rows_root
            ),
        );
    }
    if body.asset_keys_root != prepared.asset_keys_root {
        field(
            "asset_keys_root",
            format!(
                "does not match the rows' asset keys (their root is {})",
                prepared.asset_keys_root
            ),
        );
    }
    errors
}

/// `invoice.batch`, under the writer: only the checks that need stored
/// state (the program, the suppliers, the purchase orders, asset keys taken
/// earlier) and the inserts. Every row is written or none.
pub fn record_batch(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    actor: Actor,
    body: &BatchBody,
    prepared: &PreparedBatch,
) -> Result<serde_json::Value, CommandError> {
    let core = DbId::from(actor.org);
    let program = DbId::from(body.program_id);
    if program_core_for(conn, program, core)? != Some(core) {
        return Err(no_such_program());
    }
    if !view.intent.assets.is_empty() {
        return Err(unprocessable(
            "intent.assets must be empty for invoice.batch: the rows' keys are committed by asset_keys_root",
        ));
    }
    let exists: Option<DbId> = invoice_batches::table
        .filter(invoice_batches::id.eq(DbId::from(body.batch_id)))
        .select(invoice_batches::id)
        .first(conn)
        .optional()?;
    if exists.is_some() {
        return Err(rejected(409, "conflict", "intent.body.batch_id is taken"));
    }
    // The core firm's active suppliers, by USCC.
    let suppliers: HashMap<String, DbId> = relationships::table
        .inner_join(
            organisations::table.on(organisations::id.eq(relationships::counterparty_org_id)),
        )
        .filter(relationships::core_org_id.eq(core))
        .filter(relationships::status.eq(RelStatus::Active.as_str()))
        .filter(relationships::direction.eq(Direction::Upstream.as_str()))
        .select((organisations::uscc, organisations::id))
        .load::<(Option<String>, DbId)>(conn)?
        .into_iter()
        .filter_map(|(u, id)| u.map(|u| (u, id)))
        .collect();
    let po_ids: Vec<DbId> = prepared
        .rows
        .iter()
        .filter_map(|r| r.po_id.map(DbId::from))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut pos: HashMap<DbId, (DbId, DbId, DbId)> = HashMap::new();
    for chunk in po_ids.chunks(LOOKUP_CHUNK) {
        let rows: Vec<(DbId, DbId, DbId, DbId)> = purchase_orders::table
            .filter(purchase_orders::id.eq_any(chunk.to_vec()))
            .select((
                purchase_orders::id,
                purchase_orders::program_id,
                purchase_orders::seller_org_id,
                purchase_orders::buyer_org_id,
            ))
            .load(conn)?;
        for (id, p, s, b) in rows {
            pos.insert(id, (p, s, b));
        }
    }
    let mut errors = Vec::new();
    let mut sellers = Vec::with_capacity(prepared.rows.len());
    for (i, r) in prepared.rows.iter().enumerate() {
        match suppliers.get(&r.seller_uscc) {
            Some(s) => {
                if let Some(po) = r.po_id
                    && pos.get(&DbId::from(po)) != Some(&(program, *s, core))
                {
                    errors.push(row_error(
                        i,
                        "po_id",
                        "is not a purchase order of this supplier to you in this program",
                    ));
                }
                sellers.push(*s);
            }
            None => {
                errors.push(row_error(
                    i,
                    "seller_uscc",
                    format!(
                        "{} is not an active upstream supplier of yours",
                        r.seller_uscc
                    ),
                ));
                sellers.push(core);
            }
        }
    }
    if !errors.is_empty() {
        return Err(CommandError::Rejected {
            status: 422,
            code: "unprocessable",
            message: format!("{} rows are invalid; nothing was recorded", errors.len()),
            errors,
        });
    }
    let now = time_of(view);
    let seq = seq_of(view);
    let batch = DbId::from(body.batch_id);
    diesel::insert_into(invoice_batches::table)
        .values((
            invoice_batches::id.eq(batch),
            invoice_batches::program_id.eq(program),
            invoice_batches::core_org_id.eq(core),
            invoice_batches::uploaded_by.eq(DbId::from(actor.user)),
            invoice_batches::row_count.eq(i32::try_from(prepared.rows.len()).unwrap_or(i32::MAX)),
            invoice_batches::total.eq(DbDecimal(prepared.total.into())),
            invoice_batches::rows_root.eq(&prepared.rows_root),
            invoice_batches::asset_keys_root.eq(&prepared.asset_keys_root),
            invoice_batches::ledger_seq.eq(seq),
            invoice_batches::created_at.eq(now),
            invoice_batches::rows_jsonl.eq(Some(&prepared.rows_jsonl)),
        ))
        .execute(conn)?;
    // Keys taken earlier are found by the unique index as the rows go in:
    // a lookup of 10,000 keys first would cost more than the inserts (on
    // PostgreSQL a large `= ANY` is planned as a scan of the table).
    let mut inserted = 0;
    let mut new_rows = Vec::with_capacity(INSERT_CHUNK);
    for (chunk, chunk_sellers) in prepared
        .rows
        .chunks(INSERT_CHUNK)
        .zip(sellers.chunks(INSERT_CHUNK))
    {
        new_rows.clear();
        for (r, seller) in chunk.iter().zip(chunk_sellers) {
            new_rows.push(NewInvoice {
                id: DbId::new_v7(),
                program_id: program,
                seller_org_id: *seller,
                buyer_org_id: core,
                seller_uscc: r.seller_uscc.clone(),
                invoice_number: r.invoice_number.clone(),
                asset_key: r.asset_key.clone(),
                amount: DbDecimal(r.amount.into()),
                issue_date: r.issue_date,
                due_date: r.due_date,
                po_id: r.po_id.map(DbId::from),
                batch_id: Some(batch),
                // The buyer uploads what it owes: confirmed from the start.
                status: InvoiceStatus::Confirmed.as_str().into(),
                certificate_id: None,
                recorded_seq: seq,
                created_at: now,
            });
        }
        inserted += insert_many(conn, &new_rows)?;
    }
    if inserted != prepared.rows.len() {
        return Err(taken_keys(conn, prepared, batch));
    }
    Ok(serde_json::json!({
        "batch_id": body.batch_id,
        "count": prepared.rows.len(),
        "total": prepared.total.to_string(),
        "rows_root": prepared.rows_root,
        "asset_keys_root": prepared.asset_keys_root,
    }))
}

/// One multi-row INSERT that skips rows whose asset key is taken; returns
/// how many went in. diesel builds those per backend only, so this goes to
/// the inner connection (the same connection and transaction).
fn insert_many(conn: &mut DbConn, rows: &[NewInvoice]) -> Result<usize, diesel::result::Error> {
    match conn {
        DbConn::Pg(c) => diesel::insert_into(invoices::table)
            .values(rows)
            .on_conflict(invoices::asset_key)
            .do_nothing()
            .execute(c),
        DbConn::Sqlite(c) => diesel::insert_into(invoices::table)
            .values(rows)
            .on_conflict(invoices::asset_key)
            .do_nothing()
            .execute(c),
    }
}

/// The refusal of a batch some of whose keys were recorded before it (the
/// rows it did insert are rolled back with the savepoint): every such row
/// is named.
fn taken_keys(conn: &mut DbConn, prepared: &PreparedBatch, batch: DbId) -> CommandError {
    let mut row_of: HashMap<&str, usize> = HashMap::with_capacity(prepared.rows.len());
    for (i, r) in prepared.rows.iter().enumerate() {
        row_of.insert(r.asset_key.as_str(), i);
    }
    let keys: Vec<&str> = prepared.rows.iter().map(|r| r.asset_key.as_str()).collect();
    let mut dups = Vec::new();
    // Small chunks keep each lookup on the index.
    for chunk in keys.chunks(100) {
        let taken: Result<Vec<String>, _> = invoices::table
            .filter(invoices::asset_key.eq_any(chunk.to_vec()))
            .filter(
                invoices::batch_id
                    .is_null()
                    .or(invoices::batch_id.ne(batch)),
            )
            .select(invoices::asset_key)
            .load(conn);
        let taken = match taken {
            Ok(t) => t,
            Err(e) => return e.into(),
        };
        for k in taken {
            let i = row_of.get(k.as_str()).copied().unwrap_or(0);
            let (uscc, number) = prepared
                .rows
                .get(i)
                .map(|r| (r.seller_uscc.as_str(), r.invoice_number.as_str()))
                .unwrap_or_default();
            dups.push(row_error(
                i,
                "invoice_number",
                already_recorded(&k, uscc, number),
            ));
        }
    }
    dups.sort_by_key(|e| e.row);
    CommandError::Rejected {
        status: 409,
        code: "conflict",
        message: format!(
            "{} rows name invoices already recorded; nothing was recorded",
            dups.len()
        ),
        errors: dups,
    }
}

// ---------------------------------------------------------------- reads

/// One invoice, if `org` is its seller or buyer (or `all` is set).
pub fn get(
    conn: &mut DbConn,
    id: Uuid,
    org: DbId,
    all: bool,
) -> Result<Option<Invoice>, diesel::result::Error> {
    let row: Option<InvoiceRow> = invoices::table
        .filter(invoices::id.eq(DbId::from(id)))
        .select(invoice_columns!())
        .first(conn)
        .optional()?;
    Ok(row
        .map(to_invoice)
        .filter(|i| all || i.seller_org_id == org.0 || i.buyer_org_id == org.0))
}

/// What `GET /v1/invoices/batches/{id}/rows` finds.
#[derive(Debug)]
pub enum BatchRowsRead {
    /// No such batch visible to the caller.
    Hidden,
    /// The batch predates the storing of its rows (migration 12).
    NotKept,
    /// The rows file: JSON Lines, each row's JCS.
    Rows(String),
}

/// A batch's rows file, for the core enterprise that uploaded it (`org`)
/// or the operator (`all`). The sellers see their own invoices one by one;
/// the file would show them every other supplier's, so it is not theirs.
pub fn batch_rows(
    conn: &mut DbConn,
    id: Uuid,
    org: DbId,
    all: bool,
) -> Result<BatchRowsRead, diesel::result::Error> {
    let found: Option<(DbId, Option<String>)> = invoice_batches::table
        .filter(invoice_batches::id.eq(DbId::from(id)))
        .select((invoice_batches::core_org_id, invoice_batches::rows_jsonl))
        .first(conn)
        .optional()?;
    Ok(match found {
        Some((core, rows)) if all || core == org => {
            rows.map_or(BatchRowsRead::NotKept, BatchRowsRead::Rows)
        }
        _ => BatchRowsRead::Hidden,
    })
}

/// Filters of the invoice list; all optional and combined with AND.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceFilter {
    pub status: Option<InvoiceStatus>,
    /// The other party (seller or buyer) of your invoices.
    #[param(value_type = Option<String>, format = Uuid)]
    pub counterparty: Option<Uuid>,
    #[param(value_type = Option<String>, format = Uuid)]
    pub program_id: Option<Uuid>,
    /// Invoices from one bulk upload.
    #[param(value_type = Option<String>, format = Uuid)]
    pub batch_id: Option<Uuid>,
    /// Due on or after, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub due_from: Option<NaiveDate>,
    /// Due on or before, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub due_to: Option<NaiveDate>,
}

impl InvoiceFilter {
    /// Names the filter in the cursor scope, so a cursor is not reused
    /// under another filter.
    pub fn scope(&self) -> String {
        format!(
            "invoices?status={:?}&counterparty={:?}&program={:?}&batch={:?}&from={:?}&to={:?}",
            self.status.map(InvoiceStatus::as_str),
            self.counterparty,
            self.program_id,
            self.batch_id,
            self.due_from,
            self.due_to
        )
    }
}

/// A page of the invoices `org` is party to (every invoice when `all`), in
/// id (creation) order after `after`.
pub fn list(
    conn: &mut DbConn,
    org: DbId,
    all: bool,
    f: &InvoiceFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<Invoice>, diesel::result::Error> {
    let mut q = invoices::table
        .order(invoices::id.asc())
        .limit(fetch)
        .select(invoice_columns!())
        .into_boxed();
    if !all {
        q = q.filter(
            invoices::seller_org_id
                .eq(org)
                .or(invoices::buyer_org_id.eq(org)),
        );
    }
    if let Some(s) = f.status {
        q = q.filter(invoices::status.eq(s.as_str()));
    }
    if let Some(c) = f.counterparty {
        let c = DbId::from(c);
        q = q.filter(
            invoices::seller_org_id
                .eq(c)
                .or(invoices::buyer_org_id.eq(c)),
        );
    }
    if let Some(p) = f.program_id {
        q = q.filter(invoices::program_id.eq(DbId::from(p)));
    }
    if let Some(b) = f.batch_id {
        q = q.filter(invoices::batch_id.eq(DbId::from(b)));
    }
    if let Some(d) = f.due_from {
        q = q.filter(invoices::due_date.ge(d));
    }
    if let Some(d) = f.due_to {
        q = q.filter(invoices::due_date.le(d));
    }
    if let Some(a) = after {
        q = q.filter(invoices::id.gt(DbId::from(a)));
    }
    Ok(q.load::<InvoiceRow>(conn)?
        .into_iter()
        .map(to_invoice)
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = InvoiceEvent> {
        prop::sample::select(InvoiceEvent::ALL.to_vec())
    }

    fn start() -> impl Strategy<Value = InvoiceStatus> {
        prop::sample::select(vec![InvoiceStatus::Recorded, InvoiceStatus::Confirmed])
    }

    proptest! {
        /// Whatever is attempted, every step taken is in the table, an
        /// invoice backs a certificate only straight from `confirmed`, and
        /// nothing leaves `settled` or `cancelled`.
        #[test]
        fn no_move_outside_the_table(start in start(), events in prop::collection::vec(event(), 0..60)) {
            let mut status = start;
            for e in events {
                match status.next(e) {
                    Some(next) => {
                        prop_assert!(INVOICE_TRANSITIONS.contains(&(status, e, next)));
                        prop_assert!(!matches!(status, InvoiceStatus::Settled | InvoiceStatus::Cancelled));
                        if next == InvoiceStatus::Assigned {
                            prop_assert_eq!(status, InvoiceStatus::Confirmed);
                        }
                        status = next;
                    }
                    None => prop_assert!(!INVOICE_TRANSITIONS.iter().any(|(f, ev, _)| *f == status && *ev == e)),
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse(s.as_str()), Some(*s));
        }
        for e in InvoiceEvent::ALL {
            assert_eq!(InvoiceEvent::parse(e.as_str()), Some(*e));
        }
    }

    const USCC: &str = "91350100M000100Y43";

    fn row(n: &str, amount: &str) -> serde_json::Value {
        serde_json::json!({"invoice_number": n, "seller_uscc": USCC, "amount": amount,
            "issue_date": "2026-01-05", "due_date": "2026-04-05"})
    }

    #[test]
    fn every_bad_row_is_named() {
        let rows = vec![
            row("A-1", "10.00"),
            row("A-2", "-1"),
            serde_json::json!({"invoice_number": "A-3"}),
            row("a-1 ", "5.00"),
            row("A-5", "1.005"),
        ];
        let Err(BatchRefusal::Invalid(errors)) = prepare_batch(&rows) else {
            panic!("expected invalid rows")
        };
        let named: Vec<usize> = errors.iter().filter_map(|e| e.row).collect();
        assert_eq!(named, vec![1, 2, 3, 4], "{errors:?}");
    }

    #[test]
    fn a_row_too_long_for_the_verifier_is_refused() {
        let long = format!("{}A-1", " ".repeat(MAX_ROW_BYTES));
        let Err(BatchRefusal::Invalid(errors)) = prepare_batch(&[row("B-1", "1"), row(&long, "1")])
        else {
            panic!("expected invalid rows")
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].row, errors[0].field.as_str()), (Some(1), "row"));
    }

    #[test]
    fn repeats_are_duplicates() {
        let rows = vec![row("A-1", "10.00"), row("B-1", "1"), row(" a-1", "5.00")];
        let Err(BatchRefusal::Duplicate(errors)) = prepare_batch(&rows) else {
            panic!("expected a duplicate")
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].row, Some(2));
    }

    #[test]
    fn digests_commit_to_rows_and_keys() {
        let rows = vec![row("A-1", "10.00"), row("A-2", "0.5")];
        let p = prepare_batch(&rows).unwrap();
        assert_eq!(p.total.to_string(), "10.50");
        let leaves: Vec<_> = rows
            .iter()
            .map(|r| leaf_hash(&scf_ledger::jcs::to_vec(r)))
            .collect();
        assert_eq!(
            p.rows_root,
            to_hex(&scf_ledger::merkle::root_from_leaves(&leaves))
        );
        let lines: Vec<_> = p.rows_jsonl.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2);
        for (line, leaf) in lines.iter().zip(&leaves) {
            assert_eq!(&leaf_hash(line.as_bytes()), leaf);
        }
        assert!(p.rows_jsonl.ends_with('\n'));
        let swapped = vec![rows[1].clone(), rows[0].clone()];
        let q = prepare_batch(&swapped).unwrap();
        assert_ne!(p.rows_root, q.rows_root, "row order is committed");
        assert_eq!(p.asset_keys_root, q.asset_keys_root, "keys are sorted");
    }
}
