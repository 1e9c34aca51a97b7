//! The service's logs and traces: one `tracing` subscriber with a log layer on stdout
//! and, when an OTLP endpoint is set, an OpenTelemetry layer exporting spans.
//!
//! Logs: JSON lines (`timestamp`, `level`, `target`, `message`, the event's own fields
//! under `fields`, and the `span`'s name, `trace_id` and `span_id` when the line is
//! written inside a traced span) or human-readable text, on stdout, filtered by
//! `KNHK_LOG_LEVEL`'s `EnvFilter` directives. The filter applies to the log layer only,
//! so spans are traced whatever the log level; the log layer itself sees events only.
//!
//! Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans of the knhk crates go through
//! tracing-opentelemetry to the SDK's batch span processor and the OTLP exporter (gRPC
//! or HTTP with protobuf), and W3C Trace Context becomes the process's propagator (the
//! server reads `traceparent` through it). Without an endpoint no OpenTelemetry layer
//! is installed and the propagator stays the API's no-op: tracing costs nothing.
//!
//! Sampling: the configured sampler (`OTEL_TRACES_SAMPLER`, read by the SDK) decides at
//! each request's edge ([`Telemetry::request_sampler`]), before any span is made; the
//! OpenTelemetry layer declines every span while a request that was left out is polled
//! (`knhk_runtime::trace::left_out`), and the SDK's own sampler ([`EdgeDecided`]) keeps
//! what the edge took, with its whole trace.
//!
//! Export never blocks a request: spans wait in the batch processor's bounded queue and
//! a thread of its own sends them. A receiver that is down or slow costs only spans,
//! each counted in [`Telemetry::spans_dropped`]: those refused because the queue is full
//! (the [`Gate`] in front of the processor keeps the count, which the SDK does not
//! expose) and those whose export failed. Each export runs on the service's tokio
//! runtime, which both exporters' clients need for their timers and sockets.

use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, IdGenerator, RandomIdGenerator, SamplingDecision,
    SamplingResult, SdkTracerProvider, ShouldSample, SpanData, SpanExporter, SpanProcessor,
};
use serde_json::{Map, Value};
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets, dynamic_filter_fn, filter_fn};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Full, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogFormat, OtlpProtocol};

/// Spans waiting for export at most; more are dropped (and counted).
const QUEUE_MAX: usize = 2048;
/// How long a graceful stop waits for the last spans to be sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// What logging and tracing need from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct TelemetryOptions {
    /// `EnvFilter` directives for the log.
    pub(crate) log_filter: crate::config::LogFilter,
    /// JSON, text, or by whether stdout is a terminal.
    pub(crate) log_format: LogFormat,
    /// Where to export spans; `None`: no export.
    pub(crate) endpoint: Option<String>,
    /// How to export them.
    pub(crate) protocol: OtlpProtocol,
    /// `service.name`, if set.
    pub(crate) service_name: Option<String>,
    /// The other resource attributes.
    pub(crate) resource_attributes: Vec<(String, String)>,
}

impl From<&Config> for TelemetryOptions {
    fn from(config: &Config) -> TelemetryOptions {
        TelemetryOptions {
            log_filter: config.log_level.clone(),
            log_format: config.log_format,
            endpoint: config.otel_endpoint.clone(),
            protocol: config.otel_protocol,
            service_name: config.otel_service_name.clone(),
            resource_attributes: config.otel_resource_attributes.clone(),
        }
    }
}

/// The installed logging and tracing; [`Telemetry::shutdown`] sends the last spans.
#[derive(Debug)]
pub(crate) struct Telemetry {
    provider: Option<SdkTracerProvider>,
    dropped: Arc<AtomicU64>,
    /// The configured sampler, when traces are exported.
    sampler: Option<Box<dyn ShouldSample>>,
}

impl Telemetry {
    /// Installs the process's subscriber. Needs the tokio runtime entered: the
    /// exporters' clients are built on it.
    pub(crate) fn install(options: &TelemetryOptions) -> anyhow::Result<Telemetry> {
        // The log writes events only. Spans it would never print cost it on every
        // request (each span's fields formatted at its start), so it does not see them:
        // a line names its span and trace when the span is traced (exported).
        let filter = options
            .log_filter
            .env_filter()
            .map_err(|e| anyhow::anyhow!("log_level (KNHK_LOG_LEVEL): {e}"))?
            .and(filter_fn(|meta| meta.is_event()));
        let json = match options.log_format {
            LogFormat::Json => true,
            LogFormat::Text => false,
            LogFormat::Auto => !std::io::stdout().is_terminal(),
        };
        let traced = options.endpoint.is_some();
        let log = if json {
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stdout)
                .event_format(JsonLines { traced })
                .with_filter(filter)
                .boxed()
        } else {
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stdout)
                .with_ansi(std::io::stdout().is_terminal())
                .event_format(TextLines {
                    traced,
                    inner: Format::default(),
                })
                .with_filter(filter)
                .boxed()
        };
        let dropped = Arc::new(AtomicU64::new(0));
        let Some(endpoint) = &options.endpoint else {
            tracing_subscriber::registry().with(log).try_init()?;
            return Ok(Telemetry {
                provider: None,
                dropped,
                sampler: None,
            });
        };
        // `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, read by the SDK.
        let sampler = opentelemetry_sdk::trace::Config::default().sampler;
        let provider = provider(options, endpoint, &dropped, sampler.clone())?;
        // Only knhk's own spans: the exporter's client (tonic, hyper) traces too, and
        // exporting its spans would feed the exporter with its own work.
        // And nothing of a request its sampler left out (see `request_sampler`).
        let knhk = Targets::new()
            .with_target("knhk", LevelFilter::INFO)
            // Dynamic: asked at every span, never cached per callsite.
            .and(dynamic_filter_fn(|_, _| !knhk_runtime::trace::left_out()));
        // Each span carries what it is about (its `knhk.*` and `http.*` fields) and
        // nothing per span that costs time on every request: no busy and idle times
        // (an instant read at every poll), no source location, thread or target
        // attributes.
        // Nor is a span's OpenTelemetry context made current at every poll: no code here
        // reads the current OpenTelemetry context (parents and log lines take a span's
        // context from the span itself), and that would cost a thread-local write and a
        // lookup at each enter and exit.
        let otel = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("knhk"))
            .with_context_activation(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_location(false)
            .with_threads(false)
            .with_filter(knhk);
        tracing_subscriber::registry()
            .with(log)
            .with(otel)
            .try_init()?;
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        Ok(Telemetry {
            provider: Some(provider),
            dropped,
            sampler: Some(sampler),
        })
    }

    /// Which requests to trace, when traces are exported: the configured sampler's
    /// decision, taken at the request's edge before any span is made. A request with a
    /// `traceparent` is decided on its trace id (a parent-based sampler follows its
    /// sampled flag); one without is decided on a fresh random trace id, which is what a
    /// ratio sampler needs. The request's span then gets its own ids from the SDK, whose
    /// sampler takes server spans as decided ([`EdgeDecided`]).
    pub(crate) fn request_sampler(&self) -> Option<knhk_server::RequestSampler> {
        let sampler = self.sampler.clone()?;
        let ids = RandomIdGenerator::default();
        Some(Arc::new(move |parent: &opentelemetry::Context| {
            let span = parent.span();
            let remote = span.span_context();
            let (parent, trace_id) = if remote.is_valid() {
                (Some(parent), remote.trace_id())
            } else {
                (None, ids.new_trace_id())
            };
            let result = sampler.should_sample(
                parent,
                trace_id,
                "http.request",
                &SpanKind::Server,
                &[],
                &[],
            );
            result.decision == SamplingDecision::RecordAndSample
        }))
    }

    /// How many finished spans were not exported: refused by a full queue, or lost
    /// with a failed export. Always 0 when nothing is exported.
    pub(crate) fn spans_dropped(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }

    /// [`Telemetry::spans_dropped`] as the metric `knhk_trace_spans_dropped_total`.
    pub(crate) fn dropped_metric(&self) -> SpansDropped {
        SpansDropped(self.spans_dropped())
    }

    /// Sends the spans still queued, for at most [`FLUSH_TIMEOUT`]. Blocks: call it
    /// outside the runtime's tasks, with the runtime still running.
    pub(crate) fn shutdown(self) {
        let Some(provider) = &self.provider else {
            return;
        };
        // What could not be sent is counted; a stop goes on regardless.
        let _unsent = provider.shutdown_with_timeout(FLUSH_TIMEOUT);
        let dropped = self.spans_dropped().load(Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(spans_dropped = dropped, "some spans could not be exported");
        }
    }
}

/// The tracer provider: resource, batch processor behind a [`Gate`], exporter.
fn provider(
    options: &TelemetryOptions,
    endpoint: &str,
    dropped: &Arc<AtomicU64>,
    sampler: Box<dyn ShouldSample>,
) -> anyhow::Result<SdkTracerProvider> {
    let exporter = match options.protocol {
        OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build(),
        // Given as the base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT is: the traces'
        // path is added, as the specification says for that variable.
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build(),
    }
    .with_context(|| format!("OTEL_EXPORTER_OTLP_ENDPOINT: cannot export traces to {endpoint}"))?;
    let counts = Arc::new(Counts {
        dropped: Arc::clone(dropped),
        pending: AtomicUsize::new(0),
    });
    let exporter = Counted {
        inner: Arc::new(exporter),
        runtime: tokio::runtime::Handle::try_current()
            .context("tracing is set up outside the async runtime")?,
        counts: Arc::clone(&counts),
    };
    let batch = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(QUEUE_MAX)
                .build(),
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(Gate {
            inner: batch,
            counts,
        })
        .with_resource(resource(options))
        .with_sampler(EdgeDecided { sampler })
        .build())
}

/// The SDK's sampler. A server span (a request's) was sampled at the request's edge
/// ([`Telemetry::request_sampler`]), or it would not have been made; so was the trace of
/// a span whose parent is sampled (an action under its request, or under its case's
/// launch): both are kept, so that traces stay whole whatever the configured sampler
/// (a ratio sampler's edge decision was taken on an id the trace does not carry). Only a
/// span without a parent (an action no request caused: a timer, a lease running out)
/// goes to the configured sampler.
#[derive(Debug, Clone)]
struct EdgeDecided {
    sampler: Box<dyn ShouldSample>,
}

impl ShouldSample for EdgeDecided {
    fn should_sample(
        &self,
        parent: Option<&opentelemetry::Context>,
        trace_id: TraceId,
        name: &str,
        kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let parent_sampled =
            parent.is_some_and(|cx| cx.has_active_span() && cx.span().span_context().is_sampled());
        if *kind == SpanKind::Server || parent_sampled {
            return SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state: parent
                    .map(|cx| cx.span().span_context().trace_state().clone())
                    .unwrap_or_default(),
            };
        }
        self.sampler
            .should_sample(parent, trace_id, name, kind, attributes, links)
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES`, then `service.name` (`OTEL_SERVICE_NAME` wins over
/// the attributes, as the specification says; `knhk` if neither names it) and
/// `service.version`.
fn resource(options: &TelemetryOptions) -> Resource {
    let attributes = &options.resource_attributes;
    let named = attributes.iter().any(|(key, _)| key == "service.name");
    let builder = Resource::builder_empty()
        .with_attributes(
            attributes
                .iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        )
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    match (&options.service_name, named) {
        (Some(name), _) => builder.with_service_name(name.clone()),
        (None, false) => builder.with_service_name("knhk"),
        (None, true) => builder,
    }
    .build()
}

/// What the [`Gate`] and the [`Counted`] exporter share.
#[derive(Debug)]
struct Counts {
    /// Spans not exported.
    dropped: Arc<AtomicU64>,
    /// Spans handed to the batch processor and not yet through an export.
    pending: AtomicUsize,
}

/// The batch processor, refusing (and counting) a span when [`QUEUE_MAX`] spans are
/// still pending, so that its own queue, which drops without telling, never fills.
#[derive(Debug)]
struct Gate {
    inner: BatchSpanProcessor,
    counts: Arc<Counts>,
}

impl SpanProcessor for Gate {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        // The batch processor ignores unsampled spans: they are never pending.
        if span.span_context.is_sampled()
            && self.counts.pending.fetch_add(1, Ordering::Relaxed) >= QUEUE_MAX
        {
            self.counts.pending.fetch_sub(1, Ordering::Relaxed);
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// An exporter run on the tokio runtime (the batch processor's thread has none), with
/// its outcomes counted.
#[derive(Debug)]
struct Counted<E> {
    inner: Arc<E>,
    runtime: tokio::runtime::Handle,
    counts: Arc<Counts>,
}

impl<E: SpanExporter + 'static> SpanExporter for Counted<E> {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let spans = batch.len();
        let inner = Arc::clone(&self.inner);
        let counts = Arc::clone(&self.counts);
        let task = self.runtime.spawn(async move { inner.export(batch).await });
        async move {
            let result = task
                .await
                .unwrap_or_else(|e| Err(OTelSdkError::InternalFailure(e.to_string())));
            counts.pending.fetch_sub(spans, Ordering::Relaxed);
            if result.is_err() {
                counts
                    .dropped
                    .fetch_add(u64::try_from(spans).unwrap_or(u64::MAX), Ordering::Relaxed);
            }
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Called while the provider is built, before any export holds a clone.
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

/// The trace and span ids of the current span, when it is traced.
fn trace_ids(traced: bool) -> Option<(String, String)> {
    if !traced {
        return None;
    }
    // `Span::current`, not the formatter's context: the log's filter may hide the
    // span from the log layer while it is traced.
    let context = tracing::Span::current().context();
    let span = context.span();
    let ids = span.span_context();
    ids.is_valid()
        .then(|| (ids.trace_id().to_string(), ids.span_id().to_string()))
}

/// One JSON object per line.
struct JsonLines {
    traced: bool,
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut fields = JsonFields(Map::new());
        event.record(&mut fields);
        let mut fields = fields.0;
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        let message = fields.remove("message").unwrap_or_default();
        line.insert("message".into(), message);
        if !fields.is_empty() {
            line.insert("fields".into(), Value::Object(fields));
        }
        if let Some(span) = tracing::Span::current().metadata() {
            line.insert("span".into(), span.name().into());
        }
        if let Some((trace_id, span_id)) = trace_ids(self.traced) {
            line.insert("trace_id".into(), trace_id.into());
            line.insert("span_id".into(), span_id.into());
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// An event's fields as JSON values.
struct JsonFields(Map<String, Value>);

impl tracing::field::Visit for JsonFields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
}

/// `tracing-subscriber`'s text lines, with the trace and span ids at the end.
struct TextLines {
    traced: bool,
    inner: Format<Full>,
}

impl<S> FormatEvent<S, DefaultFields> for TextLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, DefaultFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some((trace_id, span_id)) = trace_ids(self.traced) else {
            return self.inner.format_event(ctx, writer, event);
        };
        // Formatted aside to append the ids (without colours: a plain `Writer` has none).
        let mut text = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut text), event)?;
        let text = text.trim_end_matches('\n');
        writeln!(writer, "{text} trace_id={trace_id} span_id={span_id}")
    }
}

/// The count of spans not exported, read at each scrape of `GET /metrics`.
#[derive(Debug)]
pub(crate) struct SpansDropped(Arc<AtomicU64>);

impl prometheus_client::collector::Collector for SpansDropped {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        let counter = prometheus_client::metrics::counter::ConstCounter::new(
            self.0.load(std::sync::atomic::Ordering::Relaxed),
        );
        counter.encode(encoder.encode_descriptor(
            "knhk_trace_spans_dropped",
            "Finished spans not exported over OTLP: refused by a full export queue, or lost \
             with a failed export",
            None,
            counter.metric_type(),
        )?)
    }
}
