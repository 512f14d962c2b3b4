//! HTTP routes. Every handler carries `#[utoipa::path]` and is registered
//! with `.service(...)`, so the OpenAPI document is collected from the
//! routes actually served and cannot drift from them.

pub mod access;
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
pub mod time;

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
        (name = "market data", description = "Dated reference data: LPR fixings"),
        (name = "programs", description = "一企一策 programs and their versioned, jointly approved plans"),
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
    doc
}
