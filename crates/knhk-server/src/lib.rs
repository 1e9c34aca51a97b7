//! The knhk HTTP API: JSON over HTTP (axum), a thin shell over `knhk_runtime::Engine`.
//!
//! Owns the wire contract: routes, request and response bodies, ids in URLs, limits on
//! what a request may carry, the mapping of engine errors to statuses and stable codes,
//! and the OpenAPI description (`GET /openapi.json`, generated from the handlers).
//! Leaves every decision about cases and work to the engine, and the process (config,
//! listening socket, signals) to the binary.
//!
//! The router can serve before the engine is ready: [`AppState::set_engine`] hands it
//! over once recovery is done; until then `GET /ready` and every engine route answer
//! 503 `not_ready`.
//!
//! Every request is served in a `tracing` span named after its route's template, whose
//! parent is the request's W3C `traceparent` when it has one (`trace.rs`).
//!
//! [`serve()`] runs the router on a TCP listener with knhk's own accept loop over hyper:
//! header, body and idle timeouts and a connection limit ([`HttpLimits`]), so that no
//! client can hold connections open for ever (`serve/mod.rs` explains when each bound
//! runs).

pub mod auth;
mod body;
mod cases;
mod error;
mod ids;
mod metrics;
mod openapi;
mod serve;
mod system;
mod trace;
mod work_items;
mod workflows;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use knhk_runtime::Engine;

pub use auth::{Principal, Role, Tokens};
pub use error::ApiError;
pub use openapi::openapi;
pub use serve::{HttpLimits, serve};
pub use trace::{RequestSampler, SLOW_REQUEST};

/// Limits and policies of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiConfig {
    /// How many registrations are read and verified at once, on the blocking pool;
    /// more wait for a turn (503 `busy` after [`ApiConfig::verify_time_max`]).
    pub registrations_max: usize,
    /// How long a registration's soundness check may run; past it the nets it has not
    /// decided get the verdict unknown (a warning).
    pub verify_time_max: std::time::Duration,
    /// The largest request body, in bytes (413 beyond).
    pub body_max_bytes: usize,
    /// The most elements (tasks, conditions and flows over all nets) a specification may
    /// have (413 beyond).
    pub spec_elements_max: usize,
    /// The deepest nesting of arrays and objects in case and work-item data (422 beyond).
    pub data_depth_max: usize,
    /// Whether registration refuses specifications that are not sound.
    pub reject_unsound: bool,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            registrations_max: 2,
            verify_time_max: std::time::Duration::from_secs(10),
            body_max_bytes: 16 * 1024 * 1024,
            spec_elements_max: 100_000,
            data_depth_max: 32,
            reject_unsound: false,
        }
    }
}

/// What every handler shares: the engine (once ready) and the API's configuration.
#[derive(Clone)]
pub struct AppState {
    engine: Arc<OnceLock<Engine>>,
    config: ApiConfig,
    /// The API tokens; `None`: the API is open.
    tokens: Option<Arc<Tokens>>,
    /// What `/ready` warns about (an open API reachable beyond this machine, ...).
    warnings: Arc<Vec<String>>,
    /// Turns of the blocking pool for registrations.
    registrations: Arc<tokio::sync::Semaphore>,
    /// What `GET /metrics` shows.
    metrics: Arc<metrics::Metrics>,
    /// Which requests are traced, when traces are exported.
    request_sampler: Option<RequestSampler>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("engine", &self.engine)
            .field("config", &self.config)
            .field("tokens", &self.tokens)
            .field("warnings", &self.warnings)
            .field("request_sampler", &self.request_sampler.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A state without an engine yet: the API answers 503 until [`AppState::set_engine`].
    pub fn new(config: ApiConfig) -> AppState {
        AppState {
            engine: Arc::new(OnceLock::new()),
            config,
            tokens: None,
            warnings: Arc::new(Vec::new()),
            registrations: Arc::new(tokio::sync::Semaphore::new(config.registrations_max.max(1))),
            metrics: Arc::new(metrics::Metrics::new()),
            request_sampler: None,
        }
    }

    /// The same state, deciding with `sampler` which requests are traced (the binary
    /// sets it when it exports traces; without it no request is left out).
    pub fn with_request_sampler(mut self, sampler: RequestSampler) -> AppState {
        self.request_sampler = Some(sampler);
        self
    }

    /// The same state, requiring API tokens from `tokens` on every route but `/health`
    /// and `/ready` (see [`auth`]).
    pub fn with_tokens(mut self, tokens: Tokens) -> AppState {
        self.tokens = Some(Arc::new(tokens));
        self
    }

    /// The same state, with warnings `/ready` repeats to whoever checks it.
    pub fn with_warnings(mut self, warnings: Vec<String>) -> AppState {
        self.warnings = Arc::new(warnings);
        self
    }

    /// What `/ready` warns about.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Hands over the engine, once recovery is done, and adds its metrics to
    /// `GET /metrics`. A second call changes nothing.
    pub fn set_engine(&self, engine: Engine) {
        if self.engine.get().is_none() {
            self.metrics
                .register(|registry| engine.register_metrics(registry));
        }
        let _already_set = self.engine.set(engine);
    }

    /// Adds metrics of the caller's to `GET /metrics` (the binary's build information,
    /// say). A metric's name must not be registered twice.
    pub fn register_metrics(&self, add: impl FnOnce(&mut prometheus_client::registry::Registry)) {
        self.metrics.register(add);
    }

    /// The engine, or 503 while it is recovering.
    fn engine(&self) -> Result<&Engine, ApiError> {
        self.engine.get().ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the engine is still opening its store and recovering cases",
            )
        })
    }
}

/// The API's routes over `state`.
pub fn router(state: AppState) -> Router {
    let body_max = state.config.body_max_bytes;
    Router::new()
        .route("/health", get(system::health))
        .route("/ready", get(system::ready))
        .route("/openapi.json", get(system::openapi_json))
        .route("/metrics", get(metrics::metrics))
        .route("/workflows", post(workflows::register).get(workflows::list))
        .route("/workflows/{spec_id}", get(workflows::get))
        .route("/workflows/{spec_id}/xes", get(workflows::xes))
        .route("/cases", post(cases::launch).get(cases::list))
        .route("/cases/{case_id}", get(cases::get))
        .route("/cases/{case_id}/cancel", post(cases::cancel))
        .route("/cases/{case_id}/suspend", post(cases::suspend))
        .route("/cases/{case_id}/resume", post(cases::resume))
        .route("/cases/{case_id}/history", get(cases::history))
        .route("/cases/{case_id}/signals/{name}", post(cases::signal))
        .route(
            "/cases/{case_id}/tasks/{task_id}/instances",
            post(cases::add_instance),
        )
        .route("/work-items", get(work_items::list))
        .route("/work-items/claim", post(work_items::claim))
        .route("/work-items/{id}", get(work_items::get))
        .route("/work-items/{id}/start", post(work_items::start))
        .route("/work-items/{id}/complete", post(work_items::complete))
        .route("/work-items/{id}/fail", post(work_items::fail))
        .route("/work-items/{id}/release", post(work_items::release))
        .route("/work-items/{id}/suspend", post(work_items::suspend))
        .route("/work-items/{id}/resume", post(work_items::resume))
        .route("/work-items/{id}/offer", post(work_items::offer))
        .route("/work-items/{id}/allocate", post(work_items::allocate))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .fallback(system::not_found)
        .method_not_allowed_fallback(system::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_max))
        // Outermost, so that the request's span, log lines and metrics cover
        // authentication and every refusal, and (applied per route by `Router::layer`)
        // see the matched route's template.
        .layer(trace::RequestLayer::new(
            Arc::clone(&state.metrics),
            state.request_sampler.clone(),
        ))
        .with_state(state)
}
