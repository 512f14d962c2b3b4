//! Relationships: a core enterprise invites its suppliers and
//! distributors; both sides see the relationship.

use crate::db::{Db, DbError, DbId};
use crate::error::ApiError;
use crate::idempotency::IdempotencyHeader;
use crate::pagination::{Page, PageQuery};
use crate::parties::auth::Principal;
use crate::parties::model::{Action, RelStatus};
use crate::parties::onboarding::{self, InviteBody, Relationship, RelinkBody};
use crate::routes::intents::SignedIntent;
use crate::routes::mutation::{Mutation, Receipt};
use crate::routes::organisations::{is_operator, permit};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Invited {
    #[schema(value_type = String, format = Uuid)]
    pub relationship_id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub counterparty_org_id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub admin_user_id: uuid::Uuid,
    pub status: RelStatus,
    pub receipt: Receipt,
}

/// Invite a supplier (upstream) or distributor (downstream).
///
/// A core enterprise that passed KYC, role admin or maker. The body is a
/// signed `relationship.invite` intent of your organisation whose body is an
/// `InviteBody`: the relationship id, direction, tier (1 to 9), and the
/// invited firm (id, kind, name, and its first admin with the public key
/// they made). The relationship stays `pending` until the firm registers
/// and passes KYC, then becomes `active`.
#[utoipa::path(tag = "relationships", operation_id = "invite_counterparty", security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed relationship.invite intent; its body is an InviteBody"),
    responses(
        (status = 201, description = "Invited", body = Invited),
        (status = 403, description = "Not a core enterprise's admin or maker, or not your own key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not yet through KYC, an id or key taken, or a replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, signature or body", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/relationships")]
pub async fn invite_counterparty(m: Mutation, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::InviteCounterparty)?;
    m.business(
        &body,
        StatusCode::CREATED,
        "relationship.invite",
        |c, view, by, body: InviteBody| {
            onboarding::invite(c, view, by.org.into(), by.user.into(), &body)
        },
    )
    .await
}

/// Record the firm a tier-2-or-further counterparty trades with directly.
///
/// The core enterprise (admin or maker). The body is a signed
/// `relationship.relink` intent whose body is a `RelinkBody`: the
/// relationship (in the path) and its new `parent_org_id`, a counterparty
/// of yours one tier nearer in the same direction. A holder transfers
/// certificates only to its own suppliers, so this decides who may pass
/// certificates to the firm from now on; certificates already passed stay
/// where they are.
#[utoipa::path(tag = "relationships", operation_id = "relink_counterparty", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The relationship"), IdempotencyHeader),
    request_body(content = SignedIntent, description = "A signed relationship.relink intent; its body is a RelinkBody"),
    responses(
        (status = 200, description = "Linked", body = Object),
        (status = 403, description = "Not a core enterprise's admin or maker", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such relationship of yours", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A replay", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid intent, a tier 1 relationship, or a parent that is not one tier nearer in the same direction", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[post("/relationships/{id}/parent")]
pub async fn relink_counterparty(
    m: Mutation,
    path: web::Path<uuid::Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    permit(&m.who, Action::InviteCounterparty)?;
    let id = path.into_inner();
    m.business(
        &body,
        StatusCode::OK,
        "relationship.relink",
        move |c, _view, by, body: RelinkBody| {
            if body.relationship_id != id {
                return Err(crate::routes::mutation::rejected(
                    422,
                    "unprocessable",
                    "intent.body.relationship_id must be the relationship in the path",
                ));
            }
            onboarding::relink(c, by.org.into(), &body)
        },
    )
    .await
}

/// Relationships you are a party to.
///
/// A core enterprise sees those it invited, a supplier or distributor those
/// that invited it and those of its own suppliers or distributors (whose
/// `parent_org_id` it is), the platform operator every one. Ordered by id.
/// `Accept: text/csv` exports the page as CSV.
#[utoipa::path(tag = "relationships", operation_id = "list_relationships", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of relationships", body = Page<Relationship>),
        (status = 400, description = "Bad limit or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/relationships")]
pub async fn list_relationships(
    http: actix_web::HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let req = page.request::<uuid::Uuid>("relationships")?;
    let (org, op, after, fetch) = (
        DbId::from(who.org_id),
        is_operator(&who),
        req.after,
        req.fetch_limit(),
    );
    let rows = db
        .run(move |c| {
            onboarding::visible_relationships(c, org, op, after.map(DbId::from), fetch)
                .map_err(DbError::from)
        })
        .await
        .map_err(|e| ApiError::new(crate::error::ErrorCode::Unavailable, e.to_string()))?;
    crate::listing::page(&http, Page::from_rows(&req, rows, |r| r.id)?)
}
