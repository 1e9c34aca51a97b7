//! Every request's span and log lines: the `tracing` span a request is served in, its
//! parent from the request's W3C `traceparent`, and the lines a request leaves in the
//! log (refused at debug, failed, slow).
//!
//! The span is named `HTTP <method> <route>` after the route's template
//! (`HTTP GET /cases/{case_id}`), never the raw path, so that ids stay out of span names;
//! it carries `http.request.method`, `http.route` and `http.response.status_code`. The
//! engine's action spans run inside it (knhk-runtime's `trace` module).
//!
//! Why the OpenTelemetry API in this crate: `tracing` cannot take a parent from another
//! process. The `traceparent` header is read with the process's OpenTelemetry
//! propagator (the binary installs `TraceContextPropagator` when it exports traces) and
//! set with tracing-opentelemetry's `set_parent` on the span that the binary's
//! OpenTelemetry layer exports. Only the API and the bridge are used here; without an
//! exporter the propagator is the API's no-op and nothing is read or set.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::ErrorCode;
use crate::metrics::Metrics;

/// A request that takes at least this long is logged (at warn) as slow.
pub const SLOW_REQUEST: Duration = Duration::from_secs(1);

/// Serves `request` in its span, and logs it if it was refused, failed or slow.
pub(crate) async fn request(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let span = tracing::info_span!(
        "http.request",
        otel.name = Empty,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = route.as_deref(),
        http.response.status_code = Empty,
    );
    let started = Instant::now();
    if span.is_disabled() {
        // Nothing listens: no span to name and no parent to read; the log lines need
        // no span.
        let response = next.run(request).await;
        let took = started.elapsed();
        metrics.answered(&method, route.as_deref(), &response, took);
        log(&response, &method, route.as_deref(), took);
        return response;
    }
    // An unmatched request's name has no route: its path may be anything.
    match &route {
        Some(route) => span.record("otel.name", format!("HTTP {method} {route}")),
        None => span.record("otel.name", format!("HTTP {method}")),
    };
    // The process's propagator: the binary installs W3C Trace Context when it exports
    // traces; until then it is OpenTelemetry's no-op, and no header is read.
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Headers(request.headers()))
    });
    if parent.span().span_context().is_valid() {
        // Set before the span starts (entering starts it). Without an OpenTelemetry
        // layer there is nothing to set.
        let _no_layer = span.set_parent(parent);
    }
    let response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    metrics.answered(&method, route.as_deref(), &response, took);
    let status = response.status();
    // As i64: tracing-opentelemetry turns unsigned fields into strings.
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
    let _in_span = span.enter();
    log(&response, &method, route.as_deref(), took);
    drop(_in_span);
    response
}

/// The log lines of a request that failed, was refused, or was slow.
fn log(response: &Response, method: &Method, route: Option<&str>, took: Duration) {
    let status = response.status();
    let route = route.unwrap_or("unmatched");
    let code = response.extensions().get::<ErrorCode>().map(|code| code.0);
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), code, %method, route, "request failed");
    } else if status.is_client_error() {
        tracing::debug!(status = status.as_u16(), code, %method, route, "request refused");
    }
    if took >= SLOW_REQUEST {
        let duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        tracing::warn!(
            status = status.as_u16(),
            %method,
            route,
            duration_ms,
            "slow request"
        );
    }
}

/// A request's headers, as the propagator reads them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}
