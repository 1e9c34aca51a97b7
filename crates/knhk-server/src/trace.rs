//! Every request's span and log lines: the `tracing` span a request is served in, its
//! parent from the request's W3C `traceparent`, and the lines a request leaves in the
//! log (refused at debug, failed, slow).
//!
//! The span is named `HTTP <method> <route>` after the route's template
//! (`HTTP GET /cases/{case_id}`), never the raw path, so that ids stay out of span names;
//! it carries `http.request.method`, `http.route` and `http.response.status_code`. The
//! engine's action spans run inside it (knhk-runtime's `trace` module).
//!
//! Whether a request is traced at all is decided first, by the binary's
//! [`RequestSampler`]: a request it leaves out gets no span and is polled under
//! `knhk_runtime::trace::leave_out`, so that its actions make none either.
//!
//! Why the OpenTelemetry API in this crate: `tracing` cannot take a parent from another
//! process. The `traceparent` header is read with the process's OpenTelemetry
//! propagator (the binary installs `TraceContextPropagator` when it exports traces) and
//! set with tracing-opentelemetry's `set_parent` on the span that the binary's
//! OpenTelemetry layer exports. Only the API and the bridge are used here; without an
//! exporter there is no sampler, and nothing is read or set.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;
use tower::{Layer, Service};
use tracing::field::Empty;
use tracing::instrument::Instrumented;
use tracing::{Instrument, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::ErrorCode;
use crate::metrics::{Metrics, Route};

/// A request that takes at least this long is logged (at warn) as slow.
pub const SLOW_REQUEST: Duration = Duration::from_secs(1);

/// Whether to trace a request, from its parent (the `traceparent` it came with, read
/// by the process's propagator; an empty context when none). Decided before any span is
/// made: a request left out makes no span at all (see [`knhk_runtime::trace::leave_out`]),
/// which is what makes sampling save what tracing costs. The binary builds it from the
/// OpenTelemetry sampler it configures ([`crate::AppState::with_request_sampler`]).
pub type RequestSampler = Arc<dyn Fn(&opentelemetry::Context) -> bool + Send + Sync>;

/// The layer every request passes through: its span, its log lines and its metrics.
/// A hand-written service rather than `axum::middleware::from_fn`, which boxes a
/// service and a future per request; this one only wraps the route's own future.
#[derive(Clone)]
pub(crate) struct RequestLayer {
    metrics: Arc<Metrics>,
    sampler: Option<RequestSampler>,
}

impl RequestLayer {
    pub(crate) fn new(metrics: Arc<Metrics>, sampler: Option<RequestSampler>) -> RequestLayer {
        RequestLayer { metrics, sampler }
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> RequestService<S> {
        RequestService {
            inner,
            metrics: Arc::clone(&self.metrics),
            sampler: self.sampler.clone(),
        }
    }
}

/// [`RequestLayer`]'s service around one route.
#[derive(Clone)]
pub(crate) struct RequestService<S> {
    inner: S,
    metrics: Arc<Metrics>,
    sampler: Option<RequestSampler>,
}

impl<S> Service<Request> for RequestService<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RequestFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> RequestFuture<S::Future> {
        let method = request.method().clone();
        let route = Route(request.extensions().get::<MatchedPath>().cloned());
        // Without a sampler nothing is exported: no parent to read, nothing to decide.
        let (parent, left_out) = match &self.sampler {
            Some(sampler) => {
                // The process's propagator: W3C Trace Context, which the binary installs
                // with its exporter.
                let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
                    propagator.extract(&Headers(request.headers()))
                });
                let sampled = sampler(&parent);
                (Some(parent), !sampled)
            }
            None => (None, false),
        };
        let span = if left_out {
            Span::none()
        } else {
            tracing::info_span!(
                "http.request",
                otel.name = Empty,
                otel.kind = "server",
                otel.status_code = Empty,
                http.request.method = %method,
                http.route = route.0.as_ref().map(MatchedPath::as_str),
                http.response.status_code = Empty,
            )
        };
        // Nothing listens (no exporter, and the log sees no spans): no span to name.
        if !span.is_disabled() {
            // An unmatched request's name has no route: its path may be anything.
            let name = match &route.0 {
                Some(route) => format!("HTTP {method} {}", route.as_str()),
                None => format!("HTTP {method}"),
            };
            span.record("otel.name", name);
            if let Some(parent) = parent.filter(|p| p.span().span_context().is_valid()) {
                // Set before the span starts (entering starts it).
                let _no_layer = span.set_parent(parent);
            }
        }
        let started = Instant::now();
        let inner = {
            let _in_span = span.enter();
            knhk_runtime::trace::leave_out(left_out, || self.inner.call(request))
        };
        RequestFuture {
            inner: inner.instrument(span.clone()),
            left_out,
            answered: Some(Answered {
                span,
                started,
                method,
                route,
                metrics: Arc::clone(&self.metrics),
            }),
        }
    }
}

pin_project_lite::pin_project! {
    /// The route's future, in the request's span; notes the answer when it is ready.
    pub(crate) struct RequestFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        // Whether the sampler left the request out: its polls make no spans.
        left_out: bool,
        answered: Option<Answered>,
    }
}

impl<F, E> Future for RequestFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let polled = knhk_runtime::trace::leave_out(*this.left_out, || inner.poll(cx));
        let result = std::task::ready!(polled);
        if let (Ok(response), Some(answered)) = (&result, this.answered.take()) {
            answered.note(response);
        }
        Poll::Ready(result)
    }
}

/// What a request's answer is noted with.
struct Answered {
    span: Span,
    started: Instant,
    method: Method,
    route: Route,
    metrics: Arc<Metrics>,
}

impl Answered {
    /// Records the status on the span, counts the request, and logs it if it failed, was
    /// refused or was slow.
    fn note(self, response: &Response) {
        let took = self.started.elapsed();
        self.metrics
            .answered(&self.method, &self.route, response, took);
        let status = response.status();
        // As i64: tracing-opentelemetry turns unsigned fields into strings.
        self.span
            .record("http.response.status_code", i64::from(status.as_u16()));
        if status.is_server_error() {
            self.span.record("otel.status_code", "error");
        }
        let _in_span = self.span.enter();
        log(response, &self.method, self.route.as_str(), took);
    }
}

/// The log lines of a request that failed, was refused, or was slow.
fn log(response: &Response, method: &Method, route: &str, took: Duration) {
    let status = response.status();
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
