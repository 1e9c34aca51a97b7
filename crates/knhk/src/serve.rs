//! `knhk` with no subcommand: serve the HTTP API on the embedded store.
//!
//! Start-up: bind the listening socket first, so that `/health` answers and `/ready`
//! says 503 while the store opens and recovery runs on a blocking thread; then hand the
//! engine to the router and start the timer loop. Connections are served by
//! `knhk_server::serve`, under the `[http]` timeouts and connection limit. Shutdown
//! (SIGTERM or SIGINT): stop accepting, close idle connections, let requests in flight
//! finish (at most [`DRAIN_TIMEOUT`], then the rest are cut), then drop the engine,
//! whose committer commits what is queued before its thread ends.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use knhk_runtime::{Engine, EngineConfig, StoragePaths, SystemClock};
use knhk_server::{ApiConfig, AppState, HttpLimits};

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
    /// The connections' timeouts and limit.
    pub(crate) http: HttpLimits,
    /// The largest page a query returns.
    pub(crate) page_max: usize,
    /// Whether to print the start and stop lines (level `info` or more verbose).
    pub(crate) verbose: bool,
}

impl From<&crate::config::Config> for ServeOptions {
    fn from(config: &crate::config::Config) -> ServeOptions {
        ServeOptions {
            listen: config.listen,
            storage: config.storage.clone(),
            api: ApiConfig {
                body_max_bytes: config.limits.body_max_bytes,
                spec_elements_max: config.limits.spec_elements_max,
                data_depth_max: config.limits.data_depth_max,
                reject_unsound: config.reject_unsound,
            },
            http: HttpLimits {
                header_read_timeout: millis(config.http.header_read_timeout_ms),
                body_timeout: millis(config.http.body_timeout_ms),
                idle_timeout: millis(config.http.idle_timeout_ms),
                connections_max: config.http.connections_max,
            },
            page_max: config.limits.page_max,
            verbose: config.log_level <= crate::config::LogLevel::Info,
        }
    }
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
    runtime.block_on(serve(options))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let verbose = options.verbose;
    let info = move |line: &str| {
        if verbose {
            eprintln!("{line}");
        }
    };
    info(&format!(
        "knhk {} listening on http://{address}, data in {}",
        env!("CARGO_PKG_VERSION"),
        options.storage.workflow_db.display()
    ));
    let state = AppState::new(options.api);
    let app = knhk_server::router(state.clone());

    let storage = options.storage.clone();
    let config = EngineConfig {
        page_max: options.page_max,
        ..EngineConfig::default()
    };
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
    let timers = engine.spawn_timers(TIMER_PERIOD);
    state.set_engine(engine);
    info("knhk ready");

    stop_signal().await?;
    info("knhk stopping: finishing requests in flight");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await {
        Ok(served) => served.context("the server task failed")?,
        Err(_) => {
            eprintln!(
                "knhk: requests still in flight after {} s; stopping anyway",
                DRAIN_TIMEOUT.as_secs()
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
    info("knhk stopped");
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
