//! `knhk` with no subcommand: serve the HTTP API on the embedded store.
//!
//! Start-up: bind the listening socket first, so that `/health` answers and `/ready`
//! says 503 while the store opens and recovery runs on a blocking thread; then hand the
//! engine to the router and start the timer loop. Connections are served by
//! `knhk_server::serve`, under the `[http]` timeouts and connection limit. Shutdown
//! (SIGTERM or SIGINT): stop accepting, close idle connections, let requests in flight
//! finish (at most [`DRAIN_TIMEOUT`], then the rest are cut), then drop the engine,
//! whose committer commits what is queued before its thread ends, and send the last
//! spans (`telemetry.rs` sets up the logs on stdout and the trace export).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use knhk_runtime::metrics::MetricsConfig;
use knhk_runtime::{Engine, EngineConfig, SpecCaps, StoragePaths, SystemClock};
use knhk_server::{ApiConfig, AppState, HttpLimits, RequestSampler, Tokens};

use crate::telemetry::{SpansDropped, Telemetry};

/// How long requests in flight may take to finish after a stop signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest the timer loop sleeps between passes.
const TIMER_PERIOD: Duration = Duration::from_millis(250);

/// What serving needs.
#[derive(Debug, Clone)]
pub(crate) struct ServeOptions {
    /// The address to listen on.
    pub(crate) listen: SocketAddr,
    /// The data directory and database.
    pub(crate) storage: StoragePaths,
    /// The API's limits.
    pub(crate) api: ApiConfig,
    /// The engine's limits.
    pub(crate) engine: EngineConfig,
    /// The API tokens file, if the API is not open.
    pub(crate) tokens_file: Option<PathBuf>,
    /// The connections' timeouts and limit.
    pub(crate) http: HttpLimits,
    /// Logs and traces.
    pub(crate) telemetry: crate::telemetry::TelemetryOptions,
}

impl From<&crate::config::Config> for ServeOptions {
    fn from(config: &crate::config::Config) -> ServeOptions {
        let limits = &config.limits;
        let mut engine = EngineConfig {
            page_max: limits.page_max,
            spec_caps: SpecCaps {
                specs_max: limits.specs_max,
                versions_max: limits.spec_versions_max,
            },
            lease_max_ms: u64::try_from(limits.lease_max_ms).unwrap_or(u64::MAX),
            metrics: MetricsConfig {
                spec_ids_max: config.metrics.spec_ids_max,
                task_ids_max: config.metrics.task_ids_max,
                hot_path_sample_every: u64::try_from(config.metrics.hot_path_sample_every)
                    .unwrap_or(u64::MAX),
            },
            ..EngineConfig::default()
        };
        // Checked against the kernel's ceiling (100) by the configuration.
        engine.limits.data_depth_max = u32::try_from(limits.data_depth_max).unwrap_or(u32::MAX);
        ServeOptions {
            listen: config.listen,
            storage: config.storage.clone(),
            api: ApiConfig {
                registrations_max: limits.registrations_max,
                verify_time_max: millis(limits.verify_time_max_ms),
                body_max_bytes: limits.body_max_bytes,
                spec_elements_max: limits.spec_elements_max,
                data_depth_max: limits.data_depth_max,
                reject_unsound: config.reject_unsound,
            },
            engine,
            tokens_file: config.api_tokens_file.clone(),
            http: HttpLimits {
                header_read_timeout: millis(config.http.header_read_timeout_ms),
                body_timeout: millis(config.http.body_timeout_ms),
                idle_timeout: millis(config.http.idle_timeout_ms),
                connections_max: config.http.connections_max,
            },
            telemetry: crate::telemetry::TelemetryOptions::from(config),
        }
    }
}

/// The router's state: the API's limits, the tokens (when configured), and what to
/// warn about. Refuses a tokens file that no longer reads.
fn app_state(options: &ServeOptions, dropped: SpansDropped) -> anyhow::Result<AppState> {
    let state = AppState::new(options.api);
    state.register_metrics(|registry| {
        registry.register_collector(Box::new(dropped));
        let labels = [
            ("version", env!("CARGO_PKG_VERSION")),
            // The binary's optional Cargo features compiled in; it has none yet.
            ("features", ""),
        ];
        registry.register(
            "knhk_build",
            "The running build: its version and features",
            prometheus_client::metrics::info::Info::new(labels),
        );
    });
    let Some(file) = &options.tokens_file else {
        let mut warnings = Vec::new();
        if !options.listen.ip().is_loopback() {
            warnings.push(format!(
                "the API is open to anyone who reaches {}: no API tokens file is set \
                 (KNHK_API_TOKENS_FILE), and it listens beyond this machine",
                options.listen
            ));
        }
        return Ok(state.with_warnings(warnings));
    };
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the API tokens file {}", file.display()))?;
    let tokens = Tokens::parse(&text).map_err(|problems| {
        anyhow::anyhow!(
            "the API tokens file {} is not valid:\n  {}",
            file.display(),
            problems.join("\n  ")
        )
    })?;
    Ok(state.with_tokens(tokens))
}

/// `ms` milliseconds (a count beyond `u64` is "never", and the server caps it anyway).
fn millis(ms: usize) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Serves until SIGTERM or SIGINT; exit code 0 after a graceful stop.
pub(crate) fn run(options: ServeOptions) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The exporters' clients are built on the runtime.
    let telemetry = {
        let _entered = runtime.enter();
        Telemetry::install(&options.telemetry)?
    };
    let served = runtime.block_on(serve(
        options,
        telemetry.dropped_metric(),
        telemetry.request_sampler(),
    ));
    if let Err(e) = &served {
        tracing::error!("{e:#}");
    }
    // Outside the runtime's tasks (it blocks), while the runtime still runs the exports.
    telemetry.shutdown();
    served?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    options: ServeOptions,
    dropped: SpansDropped,
    sampler: Option<RequestSampler>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        %address,
        data = %options.storage.workflow_db.display(),
        "knhk listening on http://{address}"
    );
    let mut state = app_state(&options, dropped)?;
    if let Some(sampler) = sampler {
        state = state.with_request_sampler(sampler);
    }
    for warning in state.warnings() {
        // Loud on purpose: an open API on the network is a decision, not a default.
        tracing::warn!("WARNING: {warning}");
    }
    let app = knhk_server::router(state.clone());

    let storage = options.storage.clone();
    let config = options.engine;
    let started = Instant::now();
    let opening = tokio::task::spawn_blocking(move || -> anyhow::Result<Engine> {
        let store = storage.open_store()?;
        Ok(Engine::open(
            Arc::new(store),
            Arc::new(SystemClock),
            config,
        )?)
    });

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = {
        let mut stop = stop_rx.clone();
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }
    };
    let mut server = tokio::spawn(knhk_server::serve(listener, app, options.http, stopped));

    // Open the engine while already answering /health and /ready (503).
    let engine = tokio::select! {
        opened = opening => opened.context("the store's opening thread failed")??,
        signal = stop_signal() => {
            signal?;
            let _ = stop_tx.send(true);
            let _ = server.await;
            return Ok(());
        }
    };
    tracing::info!(
        cases_in_flight = engine.cases_in_flight(),
        quarantined = engine.quarantined().len(),
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "recovery done; knhk ready"
    );
    let timers = engine.spawn_timers(TIMER_PERIOD);
    state.set_engine(engine);

    stop_signal().await?;
    tracing::info!("knhk stopping: finishing requests in flight");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await {
        Ok(served) => served.context("the server task failed")?,
        Err(_) => {
            tracing::warn!(
                drain_timeout_s = DRAIN_TIMEOUT.as_secs(),
                "requests still in flight after the drain timeout; stopping anyway"
            );
            // Aborting the accept loop aborts every connection it serves.
            server.abort();
            let _ = server.await;
        }
    }
    timers.abort();
    // The router (with its engine) is gone with the server task; the engine's last
    // clone goes with `state` here, which joins the committer after its last commit.
    drop(state);
    tracing::info!("knhk stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
