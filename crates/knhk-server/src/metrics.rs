//! `GET /metrics`: the Prometheus text exposition of the server's and the engine's
//! metrics, and what the server measures itself (requests by route template and status,
//! their latency, errors by code; the request middleware in `trace.rs` reports each
//! answered request here).
//!
//! The registry is the server's, not global: the binary adds what only it knows (build
//! information) with [`crate::AppState::register_metrics`], and the engine's families
//! join it when the engine is handed over. A route is labelled by its template
//! (`/cases/{case_id}`), never by the path a client sent, and a request that matched no
//! route by `unmatched`, so the label values are the routes of the API.

use std::fmt::Write as _;
use std::sync::RwLock;
use std::time::Duration;

use axum::extract::{MatchedPath, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::error::ErrorCode;
use crate::{ApiError, AppState};

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Route,
}

/// A route template as a label value, `unmatched` for a request that matched none.
/// Shares the router's own text: labelling a request copies no string.
#[derive(Debug, Clone)]
pub(crate) struct Route(pub(crate) Option<MatchedPath>);

impl Route {
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Route) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        encoder.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

fn latency_histogram() -> Histogram {
    // 250 µs to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The registry and the server's own families.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: RwLock<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    errors: Family<CodeLabel, Counter>,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let metrics = Metrics {
            registry: RwLock::new(Registry::default()),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            errors: Family::default(),
        };
        metrics.register(|registry| {
            registry.register(
                "knhk_http_requests",
                "HTTP requests answered, by method, route template and status",
                metrics.requests.clone(),
            );
            registry.register_with_unit(
                "knhk_http_request_duration",
                "Time from a request's head to its response's head, by method and route template",
                Unit::Seconds,
                metrics.latency.clone(),
            );
            registry.register(
                "knhk_workflow_errors",
                "Error responses by their stable code (docs/api.md)",
                metrics.errors.clone(),
            );
        });
        metrics
    }

    /// Adds to the registry.
    pub(crate) fn register(&self, add: impl FnOnce(&mut Registry)) {
        // A poisoned lock means a registration panicked; what is registered still encodes.
        add(&mut self
            .registry
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let registry = self
            .registry
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?;
        Ok(text)
    }
}

impl Metrics {
    /// Counts and times one answered request (the request middleware, `trace.rs`, calls
    /// it: one layer for the request's span, log lines and metrics).
    pub(crate) fn answered(
        &self,
        method: &Method,
        route: &Route,
        response: &Response,
        took: Duration,
    ) {
        if let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>() {
            self.errors.get_or_create(&CodeLabel { code }).inc();
        }
        let method = method_label(method);
        let labels = RouteLabels {
            method,
            route: route.clone(),
        };
        self.latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        let labels = RequestLabels {
            method: labels.method,
            route: labels.route,
            status: response.status().as_u16(),
        };
        self.requests.get_or_create(&labels).inc();
    }
}

/// A method as a label value: the ones the API serves by name, any other as `other`
/// (a client may send any token as a method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Every metric, in the Prometheus text format (version 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "system", operation_id = "metrics",
    responses((status = 200, description = "every metric, in the Prometheus text exposition \
        format 0.0.4 (docs/observability.md lists them)", content_type = "text/plain",
        body = String)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            )],
            text,
        )
            .into_response(),
        Err(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the metrics could not be written",
        )
        .into_response(),
    }
}
