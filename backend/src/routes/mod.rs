//! HTTP routes. Every handler carries `#[utoipa::path]` and is registered
//! with `.service(...)`, so the OpenAPI document is collected from the
//! routes actually served and cannot drift from them.

pub mod access;
pub mod accounts;
pub mod certificates;
pub mod financings;
pub mod health;
pub mod intents;
pub mod keys;
pub mod ledger;
pub mod lpr;
pub mod me;
pub mod mutation;
pub mod organisations;
pub mod programs;
pub mod relationships;
pub mod test_clock;
pub mod time;
pub mod trade;
pub mod treasury;

use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;

pub const V1: &str = "/v1";

/// Info, tags and shared components; paths come from [`configure`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "scf",
        description = "Supply-chain finance on a signed ledger. Conventions: docs/API-DESIGN.md.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "ops", description = "Liveness, readiness"),
        (name = "meta", description = "Server facts clients need"),
        (name = "intents", description = "Signed intents (ledger SPEC.md §4)"),
        (name = "parties", description = "Users, enrolment, tokens and keys"),
        (name = "organisations", description = "Onboarding, registration, KYC and size classes"),
        (name = "relationships", description = "Core enterprises and their suppliers and distributors"),
        (name = "accounts", description = "Settlement bank accounts: added by the holder, verified by the operator"),
        (name = "market data", description = "Dated reference data: LPR fixings"),
        (name = "programs", description = "一企一策 programs and their versioned, jointly approved plans"),
        (name = "trade", description = "Trade data behind receivables: purchase orders, deliveries, acceptance, invoices and bulk uploads"),
        (name = "certificates", description = "Payables certificates: confirmation (确权), acceptance, split and transfer"),
        (name = "financing", description = "Receivable financing: application, maker/checker decision within the limits, disbursement, 中登网 registration, clearing, classification"),
        (name = "treasury", description = "The core firm's views of its program: exposure against the limits, payables due by week, suppliers reached"),
        (name = "ledger", description = "Signed checkpoints and Merkle proofs (ledger SPEC.md §7, §11)"),
    ),
    components(schemas(crate::error::Problem, crate::error::ErrorCode, crate::error::FieldError)),
    modifiers(&BearerAuth),
)]
#[derive(Debug)]
pub struct ApiDoc;

/// API tokens travel as `Authorization: Bearer <token>`.
#[derive(Debug)]
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Registers every documented route; shared by the server and the
/// OpenAPI generator.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(
            utoipa_actix_web::scope(V1)
                .service(time::get_time)
                .service(intents::check_intent)
                .service(me::get_me)
                .service(keys::register_key)
                .service(keys::revoke_key)
                .service(access::add_user)
                .service(access::list_users)
                .service(access::enrol)
                .service(access::issue_token)
                .service(access::revoke_token)
                .service(organisations::onboard_organisation)
                .service(organisations::register_organisation)
                .service(organisations::decide_kyc)
                .service(organisations::get_organisation)
                .service(organisations::list_organisations)
                .service(organisations::list_size_class_rules)
                .service(relationships::invite_counterparty)
                .service(relationships::list_relationships)
                .service(relationships::relink_counterparty)
                .service(lpr::list_lpr_fixings)
                .service(lpr::lpr_in_force)
                .service(lpr::publish_lpr_fixing)
                .service(programs::create_program)
                .service(programs::draft_plan)
                .service(programs::approve_plan)
                .service(programs::list_plans)
                .service(programs::plan_in_force)
                .service(programs::diff_plans)
                .service(programs::get_plan)
                .service(programs::quote)
                .service(treasury::program_exposure)
                .service(treasury::program_payables_due)
                .service(treasury::program_reach)
                .service(trade::create_purchase_order)
                .service(trade::list_purchase_orders)
                .service(trade::get_purchase_order)
                .service(trade::record_delivery)
                .service(trade::decide_delivery)
                .service(trade::upload_invoices)
                .service(trade::get_batch_rows)
                .service(trade::record_invoice)
                .service(trade::list_invoices)
                .service(trade::get_invoice)
                .service(trade::decide_invoice)
                .service(trade::cancel_invoice)
                .service(certificates::propose_certificate)
                .service(certificates::confirm_certificate)
                .service(certificates::accept_certificate)
                .service(certificates::split_certificate)
                .service(certificates::transfer_certificate)
                .service(certificates::cancel_certificate)
                // The fixed lists before `{id}`, which would take their names.
                .service(certificates::list_held_certificates)
                .service(certificates::list_issued_certificates)
                .service(certificates::list_assignment_notices)
                .service(certificates::get_certificate)
                .service(treasury::certificate_quote)
                .service(accounts::add_account)
                .service(accounts::verify_account)
                .service(accounts::revoke_account)
                .service(accounts::get_account)
                .service(accounts::list_accounts)
                .service(financings::apply_financing)
                .service(financings::recommend_financing)
                .service(financings::decide_financing)
                .service(financings::withdraw_financing)
                .service(financings::disburse_financing)
                .service(financings::register_financing)
                .service(financings::classify_financing)
                .service(financings::recourse_financing)
                .service(financings::settle_financing_early)
                .service(financings::repurchase_financing)
                .service(financings::list_financings)
                .service(financings::get_financing)
                .service(financings::list_registration_tasks)
                .service(financings::clearing_preview)
                .service(financings::clear_certificate)
                .service(ledger::get_checkpoint)
                .service(ledger::get_inclusion_proof)
                .service(ledger::get_consistency_proof)
                .service(ledger::list_entries)
                .service(ledger::export_ledger),
        );
}

/// The OpenAPI document of this build, without starting a server.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, mut doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(configure)
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    common_responses::add(&mut doc);
    csv_responses::add(&mut doc);
    doc
}

/// `text/csv` beside JSON for the lists that export CSV
/// ([`crate::listing::CSV_OPERATIONS`]), with the paging headers.
mod csv_responses {
    use crate::listing::{CSV_OPERATIONS, NEXT_CURSOR_HEADER};
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{Object, Type};
    use utoipa::openapi::{Content, OpenApi, RefOr};

    pub fn add(doc: &mut OpenApi) {
        let string = || Some(Object::with_type(Type::String));
        for item in doc.paths.paths.values_mut() {
            let Some(op) = item.get.as_mut() else {
                continue;
            };
            if !op
                .operation_id
                .as_deref()
                .is_some_and(|id| CSV_OPERATIONS.contains(&id))
            {
                continue;
            }
            let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") else {
                continue;
            };
            ok.content
                .insert("text/csv".to_owned(), RefOr::T(Content::new(string())));
            for (name, description) in [
                (
                    NEXT_CURSOR_HEADER,
                    "CSV only: the next page's cursor (the JSON `next_cursor`); absent on the last page",
                ),
                (
                    "Link",
                    "CSV only: `<URL>; rel=\"next\"`, this list with the next page's cursor; absent on the last page",
                ),
                ("Vary", "`Accept`: the same URL answers JSON or CSV"),
            ] {
                ok.headers.insert(
                    name.to_owned(),
                    RefOr::T(
                        HeaderBuilder::new()
                            .schema(string())
                            .description(Some(description))
                            .build(),
                    ),
                );
            }
        }
    }
}

/// The methods each documented path answers, for the `Allow` header of a
/// 405: the route macros guard whole resources, so actix itself does not
/// know them.
#[derive(Debug, Clone, Default)]
pub struct AllowedMethods(Vec<(Vec<String>, String)>);

impl AllowedMethods {
    pub fn from_doc(doc: &utoipa::openapi::OpenApi) -> AllowedMethods {
        let table = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods: Vec<&str> = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (
                    path.split('/').map(str::to_owned).collect(),
                    methods.join(", "),
                )
            })
            .collect();
        AllowedMethods(table)
    }

    /// The `Allow` value for a concrete path, if a documented path template
    /// (`{param}` matching any one segment) covers it.
    /// The most literal template wins, as in routing: `/v1/invoices/batches`
    /// before `/v1/invoices/{id}`.
    pub fn for_path(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .filter(|(template, _)| {
                template.len() == segments.len()
                    && template.iter().zip(&segments).all(|(t, s)| {
                        t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty())
                    })
            })
            .max_by_key(|(template, _)| template.iter().filter(|t| !t.starts_with('{')).count())
            .map(|(_, allow)| allow.as_str())
    }

    /// The `Allow` value when `path` is exactly a documented path without
    /// parameters: a request for it under another method is then routed to
    /// a sibling `{id}` resource and fails there, but the answer is 405.
    pub fn for_literal(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .find(|(template, _)| {
                template
                    .iter()
                    .map(String::as_str)
                    .eq(segments.iter().copied())
            })
            .map(|(_, allow)| allow.as_str())
    }
}

/// Answers an operation may give because of its shape rather than its
/// logic (it takes a body, a query, a token; it is rate limited). They are
/// added here from that shape, so no operation can forget one; what an
/// operation documents itself for the same status is kept.
mod common_responses {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::schema::{Object, Ref, Type};
    use utoipa::openapi::{Content, OpenApi, RefOr};

    const BAD_REQUEST: (&str, &str) = ("400", "BadRequest");
    const UNAUTHENTICATED: (&str, &str) = ("401", "Unauthenticated");
    const FOREIGN_INTENT: (&str, &str) = ("403", "ForeignIntent");
    const REQUEST_TIMEOUT: (&str, &str) = ("408", "RequestTimeout");
    const PAYLOAD_TOO_LARGE: (&str, &str) = ("413", "PayloadTooLarge");
    const UNSUPPORTED_MEDIA_TYPE: (&str, &str) = ("415", "UnsupportedMediaType");
    const RATE_LIMITED: (&str, &str) = ("429", "RateLimited");
    const UNAVAILABLE: (&str, &str) = ("503", "Unavailable");

    fn problem(description: &str) -> ResponseBuilder {
        ResponseBuilder::new().description(description).content(
            crate::error::PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
    }

    pub fn add(doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let rate_limited = problem(
            "Too many requests from this API token (or, without one, this address); retry after `Retry-After` seconds",
        )
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(Object::with_type(Type::Integer)))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
        for ((_, name), response) in [
            (
                BAD_REQUEST,
                problem(
                    "Malformed request: the query string, a header such as Idempotency-Key, or the JSON body",
                ),
            ),
            (UNAUTHENTICATED, problem("No valid API token")),
            (
                FOREIGN_INTENT,
                problem(
                    "The intent is not for your own organisation, or not signed by one of your own valid keys",
                ),
            ),
            (
                REQUEST_TIMEOUT,
                problem("The body did not arrive within `SCF_BODY_TIMEOUT_SECS`"),
            ),
            (
                PAYLOAD_TOO_LARGE,
                problem("The body is over `SCF_MAX_BODY_BYTES`"),
            ),
            (
                UNSUPPORTED_MEDIA_TYPE,
                problem("The body is not `application/json`"),
            ),
            (RATE_LIMITED, rate_limited),
            (
                UNAVAILABLE,
                problem("The database or the ledger writer is unavailable; retry"),
            ),
        ] {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(response.build()));
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let limited = !crate::limits::EXEMPT.contains(&path.as_str());
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_to(op, limited);
            }
        }
    }

    fn add_to(op: &mut Operation, limited: bool) {
        let params = op.parameters.iter().flatten().filter_map(|p| match p {
            RefOr::T(p) => Some(&p.parameter_in),
            RefOr::Ref(_) => None,
        });
        let reads_params = params
            .clone()
            .any(|p| matches!(p, ParameterIn::Query | ParameterIn::Header));
        let idempotent = op
            .parameters
            .iter()
            .flatten()
            .any(|p| matches!(p, RefOr::T(p) if p.name == crate::idempotency::HEADER));
        let body = op.request_body.is_some();
        let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
        let mut wanted = Vec::new();
        if body || reads_params {
            wanted.push(BAD_REQUEST);
        }
        if secured {
            wanted.push(UNAUTHENTICATED);
        }
        // A signed mutation by a caller with a token acts as that caller.
        if secured && idempotent {
            wanted.push(FOREIGN_INTENT);
        }
        if body {
            wanted.extend([REQUEST_TIMEOUT, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE]);
        }
        if limited {
            wanted.push(RATE_LIMITED);
        }
        // Whatever reads a token or goes to the writer needs storage.
        if secured || idempotent {
            wanted.push(UNAVAILABLE);
        }
        for (status, name) in wanted {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    /// A name in `CSV_OPERATIONS` that matches no list would leave the
    /// document silent about that list's CSV.
    #[test]
    fn every_csv_list_documents_text_csv() {
        let doc = serde_json::to_value(super::openapi()).unwrap();
        let mut documented = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                if op["responses"]["200"]["content"].get("text/csv").is_some() {
                    documented.push(op["operationId"].as_str().unwrap().to_owned());
                }
            }
        }
        documented.sort();
        let mut wanted: Vec<String> = crate::listing::CSV_OPERATIONS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        wanted.sort();
        assert_eq!(documented, wanted);
    }
}
