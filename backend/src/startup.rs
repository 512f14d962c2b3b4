//! Builds the HTTP server. `Application::build` binds first and serves
//! later, so tests can bind port 0 and learn the port before any request.

use crate::config::Settings;
use crate::error::{self, ApiError, ErrorCode};
use crate::http_metrics;
use crate::limits::{self, Limiter};
use crate::routes;
use crate::telemetry::{self, ScfRootSpan};
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::middleware::{ErrorHandlers, Next, from_fn};
use actix_web::{App, Error, HttpResponse, HttpServer, web};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_scalar::{Scalar, Servable};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Open(#[from] crate::ledger::OpenError),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// A bound, not yet running server.
pub struct Application {
    addr: SocketAddr,
    server: Server,
    opened: crate::ledger::Opened,
    ttl_hours: u64,
    limiter: web::Data<Limiter>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// The serialised OpenAPI document, built once at start.
#[derive(Debug, Clone)]
struct OpenApiJson(web::Bytes);

impl Application {
    /// Binds `settings.listen` (port 0 picks a free port) and prepares the
    /// server. `async` so that start-up steps that await (opening a pool)
    /// can be added here.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let listener = TcpListener::bind(settings.listen).map_err(|source| StartupError::Bind {
            addr: settings.listen,
            source,
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| anyhow::anyhow!("cannot read the bound address: {e}"))?;
        // Storage and the writer come up before the server answers anything,
        // so a bad database URL, a rolled-back database or an unwritable data
        // directory stops the start with one clear line.
        let opened = {
            let settings = settings.clone();
            tokio::task::spawn_blocking(move || crate::ledger::open(&settings))
                .await
                .map_err(|e| anyhow::anyhow!("start-up task failed: {e}"))??
        };
        let db = web::Data::new(opened.db.clone());
        let writer = web::Data::new(opened.writer.clone());
        let inflight = web::Data::new(crate::idempotency::InFlight::default());
        let token_secret = web::Data::new(
            crate::parties::tokens::TokenSecret::load_or_create(&settings.data_dir)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let metrics = web::Data::new(http_metrics::handle()?);
        let doc = routes::openapi();
        let allowed = web::Data::new(routes::AllowedMethods::from_doc(&doc));
        let doc_json = OpenApiJson(web::Bytes::from(
            serde_json::to_vec(&doc).map_err(anyhow::Error::from)?,
        ));
        let max_body = settings.max_body_bytes;
        let ttl_hours = settings.idempotency_ttl_hours;
        let limiter = web::Data::new(Limiter::new(settings.rate_limit));
        let app_limiter = limiter.clone();
        let test_mode = settings.test_mode;
        let settings = web::Data::new(settings);

        let server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .app_data(settings.clone())
                .app_data(db.clone())
                .app_data(writer.clone())
                .app_data(inflight.clone())
                .app_data(token_secret.clone())
                .app_data(app_limiter.clone())
                .app_data(allowed.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_body)
                        .error_handler(error::json_error),
                )
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::QueryConfig::default().error_handler(error::query_error))
                .app_data(web::PathConfig::default().error_handler(error::path_error))
                // Before the /v1 scope, which would answer 404 for it; a bare
                // route stays out of the OpenAPI document.
                .configure(|c| {
                    if test_mode {
                        c.route(
                            "/v1/test/clock",
                            web::post().to(routes::test_clock::advance),
                        );
                    }
                })
                .configure(routes::configure)
                .map(|app| {
                    app.app_data(metrics.clone())
                        .app_data(web::Data::new(doc_json.clone()))
                        .route("/metrics", web::get().to(http_metrics::render))
                        .route("/openapi.json", web::get().to(openapi_json))
                        .service(Scalar::with_url("/docs", doc.clone()).title("scf API"))
                        .default_service(web::to(error::not_found))
                        // Listed innermost first: the last `wrap` sees a request first.
                        .wrap(ErrorHandlers::new().default_handler(error::problem_fallback))
                        .wrap(from_fn(limits::body_deadline))
                        .wrap(from_fn(reject_oversized))
                        .wrap(from_fn(limits::rate_limit))
                        .wrap(from_fn(http_metrics::record))
                        .wrap(from_fn(telemetry::echo_request_id))
                        .wrap(TracingLogger::<ScfRootSpan>::new())
                })
                .into_app()
        })
        // The head of a connection's first request must arrive within 5 s
        // (actix answers 408 and closes), an idle keep-alive connection is
        // closed after 5 s, and a closing client gets 1 s to read the rest.
        // Bodies have their own deadline (`limits::body_deadline`).
        .client_request_timeout(Duration::from_secs(5))
        .keep_alive(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(1))
        .listen(listener)
        .map_err(|e| anyhow::anyhow!("cannot start the server: {e}"))?
        .run();

        Ok(Application {
            addr,
            server,
            opened,
            ttl_hours,
            limiter,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Storage and the writer the server uses (for tests and embedding).
    pub fn opened(&self) -> &crate::ledger::Opened {
        &self.opened
    }

    /// Serves until the server is stopped (SIGINT or SIGTERM stop it
    /// gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let purge = tokio::spawn(crate::idempotency::purge_forever(
            self.opened.db.clone(),
            self.ttl_hours,
        ));
        // A writer that lost its footing stops; the server must not go on
        // answering reads from a head storage does not back.
        let handle = self.server.handle();
        let writer = self.opened.writer.clone();
        let watch = tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
            loop {
                tick.tick().await;
                if writer.has_failed() {
                    handle.stop(false).await;
                    return true;
                }
            }
        });
        let upkeep = tokio::spawn(Limiter::upkeep_forever(self.limiter));
        let result = self.server.await;
        purge.abort();
        upkeep.abort();
        watch.abort();
        if self.opened.writer.has_failed() {
            return Err(std::io::Error::other(
                "the ledger writer stopped: storage no longer matches the ledger head (see the log)",
            ));
        }
        // The server has finished its requests; a final checkpoint covers
        // every acknowledged entry, so an export taken now is complete.
        self.opened.writer.stop().await;
        result
    }
}

async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

/// Refuses a body whose declared length is over the limit before any
/// handler runs, for every route. Bodies without a length are still cut
/// off by the extractors' limits.
async fn reject_oversized(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let limit = req.app_data::<web::Data<Settings>>().map(|s| {
        if crate::routes::trade::is_bulk_path(req.path()) {
            s.max_bulk_bytes
        } else {
            s.max_body_bytes
        }
    });
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let (Some(limit), Some(len)) = (limit, declared)
        && u64::try_from(limit).is_ok_and(|limit| len > limit)
    {
        let err = ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("body is {len} bytes; the limit is {limit}"),
        );
        return Ok(req.error_response(err).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
