//! Purchase orders and their deliveries: the trade background a funder
//! checks before financing. The buyer records the order (naming a carrier
//! if a logistics firm ships it); the carrier or the seller records a
//! delivery; the buyer accepts or rejects it.

use crate::db::schema::{deliveries, purchase_orders};
use crate::db::{DbConn, DbDecimal, DbId, DbInstant};
use crate::ledger::CommandError;
use crate::ledger::writer::EntryView;
use crate::parties::model::OrgKind;
use crate::pricing::money::Money;
use crate::routes::mutation::{Actor, rejected};
use crate::trade::invoices::string_enum;
use crate::trade::{parse_amount, seq_of, time_of, trade_parties};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

string_enum!(
    /// Where a purchase order stands.
    PoStatus {
        Issued => "issued",
        Delivered => "delivered",
        Accepted => "accepted",
        Rejected => "rejected",
    }
);

string_enum!(
    PoEvent {
        Deliver => "deliver",
        Accept => "accept",
        Reject => "reject",
    }
);

/// A rejected delivery may be followed by another; an accepted order is
/// final.
pub const PO_TRANSITIONS: &[(PoStatus, PoEvent, PoStatus)] = &[
    (PoStatus::Issued, PoEvent::Deliver, PoStatus::Delivered),
    (PoStatus::Rejected, PoEvent::Deliver, PoStatus::Delivered),
    (PoStatus::Delivered, PoEvent::Accept, PoStatus::Accepted),
    (PoStatus::Delivered, PoEvent::Reject, PoStatus::Rejected),
];

impl PoStatus {
    pub fn next(self, event: PoEvent) -> Option<PoStatus> {
        PO_TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == self && *e == event)
            .map(|(_, _, to)| *to)
    }
}

fn refuse(status: PoStatus, event: PoEvent) -> CommandError {
    let allowed: Vec<&str> = PO_TRANSITIONS
        .iter()
        .filter(|(f, _, _)| *f == status)
        .map(|(_, e, _)| e.as_str())
        .collect();
    rejected(
        409,
        "conflict",
        format!(
            "a purchase order that is {} cannot {}; allowed: {}",
            status.as_str(),
            event.as_str(),
            if allowed.is_empty() {
                "none".into()
            } else {
                allowed.join(", ")
            }
        ),
    )
}

fn unprocessable(message: impl Into<String>) -> CommandError {
    rejected(422, "unprocessable", message)
}

pub(crate) fn no_such_po() -> CommandError {
    rejected(404, "not_found", "no such purchase order visible to you")
}

/// The body of a `po.create` intent, recorded by the buyer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoBody {
    pub po_id: Uuid,
    pub program_id: Uuid,
    pub seller_org_id: Uuid,
    /// The logistics firm that ships the goods, if any: it may record the
    /// delivery and sees the order.
    #[serde(default)]
    pub carrier_org_id: Option<Uuid>,
    pub po_number: String,
    /// CNY, a decimal string with at most 2 decimals.
    pub amount: String,
    #[schema(value_type = String, format = Date)]
    pub order_date: NaiveDate,
}

/// `po.create`: the buyer's purchase order.
pub fn create(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    actor: Actor,
    body: &PoBody,
) -> Result<serde_json::Value, CommandError> {
    let org = DbId::from(actor.org);
    let trade = trade_parties(
        conn,
        body.program_id.into(),
        body.seller_org_id.into(),
        org,
        org,
    )?;
    if let Some(carrier) = body.carrier_org_id {
        use crate::db::schema::organisations;
        let kind: Option<String> = organisations::table
            .filter(organisations::id.eq(DbId::from(carrier)))
            .select(organisations::kind)
            .first(conn)
            .optional()?;
        if kind.as_deref() != Some(OrgKind::Logistics.as_str()) {
            return Err(unprocessable(
                "intent.body.carrier_org_id must be a logistics firm",
            ));
        }
    }
    let number = body.po_number.trim();
    if number.is_empty() || number.chars().count() > 64 || number.chars().any(char::is_control) {
        return Err(unprocessable(
            "intent.body.po_number must be 1-64 characters without control characters",
        ));
    }
    let amount = parse_amount(&body.amount)
        .map_err(|e| unprocessable(format!("intent.body.amount: {e}")))?;
    let clash: Option<DbId> = purchase_orders::table
        .filter(
            purchase_orders::id
                .eq(DbId::from(body.po_id))
                .or(purchase_orders::program_id
                    .eq(trade.program)
                    .and(purchase_orders::seller_org_id.eq(trade.seller))
                    .and(purchase_orders::po_number.eq(number))),
        )
        .select(purchase_orders::id)
        .first(conn)
        .optional()?;
    if clash.is_some() {
        return Err(rejected(
            409,
            "conflict",
            format!(
                "purchase order {number} (or id {}) is already recorded",
                body.po_id
            ),
        ));
    }
    let now = time_of(view);
    diesel::insert_into(purchase_orders::table)
        .values((
            purchase_orders::id.eq(DbId::from(body.po_id)),
            purchase_orders::program_id.eq(trade.program),
            purchase_orders::core_org_id.eq(trade.core),
            purchase_orders::buyer_org_id.eq(trade.buyer),
            purchase_orders::seller_org_id.eq(trade.seller),
            purchase_orders::carrier_org_id.eq(body.carrier_org_id.map(DbId::from)),
            purchase_orders::po_number.eq(number),
            purchase_orders::amount.eq(DbDecimal(amount.into())),
            purchase_orders::currency.eq("CNY"),
            purchase_orders::order_date.eq(body.order_date),
            purchase_orders::status.eq(PoStatus::Issued.as_str()),
            purchase_orders::recorded_seq.eq(seq_of(view)),
            purchase_orders::created_at.eq(now),
            purchase_orders::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(serde_json::json!({
        "po_id": body.po_id,
        "status": PoStatus::Issued,
        "amount": amount.to_string(),
    }))
}

type PoParties = (DbId, DbId, Option<DbId>, String, DbId, DbId);

fn po_parties(conn: &mut DbConn, po: Uuid) -> Result<Option<PoParties>, diesel::result::Error> {
    purchase_orders::table
        .filter(purchase_orders::id.eq(DbId::from(po)))
        .select((
            purchase_orders::buyer_org_id,
            purchase_orders::seller_org_id,
            purchase_orders::carrier_org_id,
            purchase_orders::status,
            purchase_orders::program_id,
            purchase_orders::core_org_id,
        ))
        .first(conn)
        .optional()
}

/// The body of a `delivery.record` intent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryBody {
    pub delivery_id: Uuid,
    pub po_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub delivered_on: NaiveDate,
    /// The waybill or delivery-note number.
    pub reference: String,
}

/// `delivery.record`: by the order's carrier or its seller.
pub fn record_delivery(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    actor: Actor,
    body: &DeliveryBody,
) -> Result<serde_json::Value, CommandError> {
    let org = DbId::from(actor.org);
    let Some((buyer, seller, carrier, status, program, core)) = po_parties(conn, body.po_id)?
        .filter(|(b, s, c, ..)| *b == org || *s == org || *c == Some(org))
    else {
        return Err(no_such_po());
    };
    if org != seller && Some(org) != carrier {
        let _ = buyer;
        return Err(rejected(
            403,
            "forbidden",
            "the carrier or the seller records a delivery; the buyer accepts it",
        ));
    }
    let status = PoStatus::parse(&status).unwrap_or(PoStatus::Accepted);
    let next = status
        .next(PoEvent::Deliver)
        .ok_or_else(|| refuse(status, PoEvent::Deliver))?;
    let reference = body.reference.trim();
    if reference.is_empty() || reference.chars().count() > 128 {
        return Err(unprocessable(
            "intent.body.reference must be 1-128 characters",
        ));
    }
    let taken: Option<DbId> = deliveries::table
        .filter(deliveries::id.eq(DbId::from(body.delivery_id)))
        .select(deliveries::id)
        .first(conn)
        .optional()?;
    if taken.is_some() {
        return Err(rejected(
            409,
            "conflict",
            "intent.body.delivery_id is taken",
        ));
    }
    let now = time_of(view);
    diesel::insert_into(deliveries::table)
        .values((
            deliveries::id.eq(DbId::from(body.delivery_id)),
            deliveries::program_id.eq(program),
            deliveries::core_org_id.eq(core),
            deliveries::po_id.eq(DbId::from(body.po_id)),
            deliveries::recorded_by.eq(org),
            deliveries::delivered_on.eq(body.delivered_on),
            deliveries::reference.eq(reference),
            deliveries::status.eq("delivered"),
            deliveries::recorded_seq.eq(seq_of(view)),
            deliveries::created_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(purchase_orders::table.filter(purchase_orders::id.eq(DbId::from(body.po_id))))
        .set((
            purchase_orders::status.eq(next.as_str()),
            purchase_orders::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(serde_json::json!({
        "delivery_id": body.delivery_id,
        "po_id": body.po_id,
        "po_status": next,
    }))
}

string_enum!(
    AcceptanceDecision {
        Accept => "accept",
        Reject => "reject",
    }
);

/// The body of a `delivery.accept` intent, by the buyer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceBody {
    pub delivery_id: Uuid,
    pub decision: AcceptanceDecision,
    /// Required for a rejection.
    #[serde(default)]
    pub note: Option<String>,
}

/// `delivery.accept`: the buyer accepts or rejects the newest delivery.
pub fn decide_delivery(
    conn: &mut DbConn,
    view: &EntryView<'_>,
    actor: Actor,
    body: &AcceptanceBody,
) -> Result<serde_json::Value, CommandError> {
    let org = DbId::from(actor.org);
    let found: Option<(DbId, String)> = deliveries::table
        .filter(deliveries::id.eq(DbId::from(body.delivery_id)))
        .select((deliveries::po_id, deliveries::status))
        .first(conn)
        .optional()?;
    let Some((po, delivery_status)) = found else {
        return Err(no_such_delivery());
    };
    let Some((buyer, _, _, status, ..)) =
        po_parties(conn, po.0)?.filter(|(b, s, c, ..)| *b == org || *s == org || *c == Some(org))
    else {
        return Err(no_such_delivery());
    };
    if buyer != org {
        return Err(rejected(
            403,
            "forbidden",
            "only the buyer accepts or rejects a delivery",
        ));
    }
    let (event, decided) = match body.decision {
        AcceptanceDecision::Accept => (PoEvent::Accept, "accepted"),
        AcceptanceDecision::Reject => (PoEvent::Reject, "rejected"),
    };
    if event == PoEvent::Reject && body.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(unprocessable(
            "intent.body.note: a rejection needs a note the seller can act on",
        ));
    }
    if delivery_status != "delivered" {
        return Err(rejected(
            409,
            "conflict",
            format!("the delivery is already {delivery_status}"),
        ));
    }
    let status = PoStatus::parse(&status).unwrap_or(PoStatus::Accepted);
    let next = status.next(event).ok_or_else(|| refuse(status, event))?;
    let now = time_of(view);
    diesel::update(deliveries::table.filter(deliveries::id.eq(DbId::from(body.delivery_id))))
        .set((
            deliveries::status.eq(decided),
            deliveries::decision_note.eq(body.note.as_deref().map(str::trim)),
            deliveries::decided_seq.eq(Some(seq_of(view))),
            deliveries::decided_at.eq(Some(now)),
        ))
        .execute(conn)?;
    diesel::update(purchase_orders::table.filter(purchase_orders::id.eq(po)))
        .set((
            purchase_orders::status.eq(next.as_str()),
            purchase_orders::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(serde_json::json!({
        "delivery_id": body.delivery_id,
        "status": decided,
        "po_id": po.0,
        "po_status": next,
    }))
}

pub(crate) fn no_such_delivery() -> CommandError {
    rejected(404, "not_found", "no such delivery visible to you")
}

/// A delivery as the order's parties see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub recorded_by: Uuid,
    #[schema(value_type = String, format = Date)]
    pub delivered_on: NaiveDate,
    pub reference: String,
    pub status: String,
    pub decision_note: Option<String>,
    pub recorded_seq: i64,
    pub decided_seq: Option<i64>,
}

/// A purchase order with its deliveries, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurchaseOrder {
    pub id: Uuid,
    pub program_id: Uuid,
    pub buyer_org_id: Uuid,
    pub seller_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub po_number: String,
    pub amount: String,
    pub currency: String,
    #[schema(value_type = String, format = Date)]
    pub order_date: NaiveDate,
    pub status: PoStatus,
    pub recorded_seq: i64,
    pub created_at: String,
    /// Omitted in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<Delivery>>,
}

/// Deliveries are left out of the CSV: one row per order.
impl crate::listing::CsvRow for PurchaseOrder {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "program_id",
        "buyer_org_id",
        "seller_org_id",
        "carrier_org_id",
        "po_number",
        "amount",
        "currency",
        "order_date",
        "status",
        "recorded_seq",
        "created_at",
    ];
}

type PoRow = (
    DbId,
    DbId,
    DbId,
    DbId,
    Option<DbId>,
    String,
    DbDecimal,
    String,
    NaiveDate,
    String,
    i64,
    DbInstant,
);

macro_rules! po_columns {
    () => {
        (
            purchase_orders::id,
            purchase_orders::program_id,
            purchase_orders::buyer_org_id,
            purchase_orders::seller_org_id,
            purchase_orders::carrier_org_id,
            purchase_orders::po_number,
            purchase_orders::amount,
            purchase_orders::currency,
            purchase_orders::order_date,
            purchase_orders::status,
            purchase_orders::recorded_seq,
            purchase_orders::created_at,
        )
    };
}

fn to_po(r: PoRow) -> PurchaseOrder {
    PurchaseOrder {
        id: r.0.0,
        program_id: r.1.0,
        buyer_org_id: r.2.0,
        seller_org_id: r.3.0,
        carrier_org_id: r.4.map(|d| d.0),
        po_number: r.5,
        amount: Money::new(r.6.0).map_or_else(|_| r.6.0.to_string(), |m| m.to_string()),
        currency: r.7,
        order_date: r.8,
        status: PoStatus::parse(&r.9).unwrap_or(PoStatus::Issued),
        recorded_seq: r.10,
        created_at: r.11.to_text(),
        deliveries: None,
    }
}

type DeliveryRow = (
    DbId,
    DbId,
    NaiveDate,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
);

fn party(p: &PurchaseOrder, org: DbId) -> bool {
    p.buyer_org_id == org.0 || p.seller_org_id == org.0 || p.carrier_org_id == Some(org.0)
}

/// One purchase order with its deliveries, if `org` is its buyer, seller
/// or carrier (or `all` is set).
pub fn get(
    conn: &mut DbConn,
    id: Uuid,
    org: DbId,
    all: bool,
) -> Result<Option<PurchaseOrder>, diesel::result::Error> {
    let row: Option<PoRow> = purchase_orders::table
        .filter(purchase_orders::id.eq(DbId::from(id)))
        .select(po_columns!())
        .first(conn)
        .optional()?;
    let Some(mut po) = row.map(to_po).filter(|p| all || party(p, org)) else {
        return Ok(None);
    };
    let rows: Vec<DeliveryRow> = deliveries::table
        .filter(deliveries::po_id.eq(DbId::from(id)))
        .order(deliveries::id.asc())
        .select((
            deliveries::id,
            deliveries::recorded_by,
            deliveries::delivered_on,
            deliveries::reference,
            deliveries::status,
            deliveries::decision_note,
            deliveries::recorded_seq,
            deliveries::decided_seq,
        ))
        .load(conn)?;
    po.deliveries = Some(
        rows.into_iter()
            .map(|d| Delivery {
                id: d.0.0,
                recorded_by: d.1.0,
                delivered_on: d.2,
                reference: d.3,
                status: d.4,
                decision_note: d.5,
                recorded_seq: d.6,
                decided_seq: d.7,
            })
            .collect(),
    );
    Ok(Some(po))
}

/// Filters of the purchase-order list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PoFilter {
    pub status: Option<PoStatus>,
    /// The other party (seller or buyer) of your orders.
    #[param(value_type = Option<String>, format = Uuid)]
    pub counterparty: Option<Uuid>,
    #[param(value_type = Option<String>, format = Uuid)]
    pub program_id: Option<Uuid>,
}

impl PoFilter {
    pub fn scope(&self) -> String {
        format!(
            "purchase-orders?status={:?}&counterparty={:?}&program={:?}",
            self.status.map(PoStatus::as_str),
            self.counterparty,
            self.program_id
        )
    }
}

/// A page of the orders `org` is buyer, seller or carrier of.
pub fn list(
    conn: &mut DbConn,
    org: DbId,
    all: bool,
    f: &PoFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<PurchaseOrder>, diesel::result::Error> {
    let mut q = purchase_orders::table
        .order(purchase_orders::id.asc())
        .limit(fetch)
        .select(po_columns!())
        .into_boxed();
    if !all {
        q = q.filter(
            purchase_orders::buyer_org_id
                .eq(org)
                .or(purchase_orders::seller_org_id.eq(org))
                .or(purchase_orders::carrier_org_id.eq(org)),
        );
    }
    if let Some(s) = f.status {
        q = q.filter(purchase_orders::status.eq(s.as_str()));
    }
    if let Some(c) = f.counterparty {
        let c = DbId::from(c);
        q = q.filter(
            purchase_orders::buyer_org_id
                .eq(c)
                .or(purchase_orders::seller_org_id.eq(c)),
        );
    }
    if let Some(p) = f.program_id {
        q = q.filter(purchase_orders::program_id.eq(DbId::from(p)));
    }
    if let Some(a) = after {
        q = q.filter(purchase_orders::id.gt(DbId::from(a)));
    }
    Ok(q.load::<PoRow>(conn)?.into_iter().map(to_po).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every step is in the table and an accepted order never moves.
        #[test]
        fn no_move_outside_the_table(events in prop::collection::vec(prop::sample::select(PoEvent::ALL.to_vec()), 0..40)) {
            let mut status = PoStatus::Issued;
            for e in events {
                if let Some(next) = status.next(e) {
                    prop_assert!(PO_TRANSITIONS.contains(&(status, e, next)));
                    prop_assert_ne!(status, PoStatus::Accepted);
                    status = next;
                }
            }
        }
    }
}
