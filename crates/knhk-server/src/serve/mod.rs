//! Serving the router over TCP: knhk's own accept loop over hyper, with the timeouts
//! and the connection limit that `axum::serve` lacks, so that no client can hold the
//! server's connections (or file descriptors) for ever.
//!
//! [`serve`] accepts connections, serves each on its own task with hyper's HTTP/1.1
//! connection, and watches each with a per-connection watchdog (`connection.rs`). The
//! watchdog sees the connection through two probes: the socket wrapper notes the first
//! byte of a request head and every byte written, and the service wrapper
//! (`service.rs`) notes when a request starts (its head is complete) and when it ends
//! (hyper has dropped its response body). From those, a connection is always in one
//! of four phases, each with one bound ([`HttpLimits`]):
//!
//! | phase | from | ends when | bound |
//! |---|---|---|---|
//! | first head | accept | the first head is complete | `header_read_timeout` after accept |
//! | busy | a head complete | the response body is done | none for the connection; the request body must arrive within `body_timeout` (else 408) |
//! | idle | a response done | a byte of the next request arrives | `idle_timeout` after the last response or byte written |
//! | head | that byte | the head is complete | `header_read_timeout` after that byte |
//!
//! So a slow handler or a long response is never cut (busy), a keep-alive connection
//! may wait for its next request up to `idle_timeout`, and once a client starts a
//! request it must finish the head in `header_read_timeout` however it trickles the
//! bytes. Bounds expire by closing the socket (a partial head gets no answer); a body
//! that is too slow gets `408 request_timeout` from the handler reading it, and then
//! the connection is closed.
//!
//! Why not hyper's own `header_read_timeout`: in hyper 1.12 that timer starts whenever
//! the HTTP/1 connection starts waiting for a request head (`Conn::poll_read_head`):
//! on the connection's first poll, and again at once after each response, when the
//! connection goes idle and asks to read the next head. It is cleared when a head is
//! complete and does not run while a request is in flight. It therefore counts the
//! idle time between keep-alive requests as header time, and would close every idle
//! keep-alive connection after the header timeout, making a longer idle timeout
//! meaningless. The watchdog keeps the two apart, as nginx does with
//! `client_header_timeout` and `keepalive_timeout`, and hyper's timer is switched off.
//!
//! The connection limit: at most `connections_max` connections are served at once.
//! At the limit the loop stops accepting, and the kernel's backlog holds new
//! connections until one closes, with one exception: while some connection is idle
//! (keep-alive, between requests), the loop accepts one waiting connection, holds it
//! unserved, asks one idle connection to close (hyper's graceful shutdown, which closes
//! an idle HTTP/1 connection at once and never cuts a response), and serves the new one
//! in its place. So clients that keep idle connections open cannot starve new clients,
//! an idle connection is closed only when a client is actually waiting (nginx reuses
//! idle connections in the same way), and at most `connections_max + 1` sockets are
//! open. Connections still waiting for their first head are never reclaimed: their
//! request may already be in the socket, unread; they are bounded by the header
//! timeout.
//! Accept errors that concern one connection are skipped; others, such as running
//! out of file descriptors, pause accepting for [`ACCEPT_PAUSE`] and are reported
//! once per run of failures, so the loop never spins.
//!
//! Shutdown: when the `shutdown` future completes the listener is closed, idle
//! connections and connections that have sent nothing are closed at once, requests in
//! flight are finished (each connection closes after its response), and [`serve`]
//! returns when the last connection has closed. Dropping the [`serve`] future aborts
//! every connection, which is how a caller bounds the drain.
//!
//! HTTP/1.1 only: this workspace builds axum and hyper without HTTP/2 (no `h2` crate),
//! so `axum::serve` never answered h2c either; the phases above apply per connection
//! and would need a per-stream reading for HTTP/2.

mod connection;
mod service;

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub(crate) use service::BodyTimeout;

use connection::Census;

/// How long accepting pauses after an accept error that is not about one connection
/// (such as no file descriptor left).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The longest any timeout is taken to be: longer values are cut to it, so that a
/// deadline never overflows the clock (about 30 years, "never" for a connection).
const TIMEOUT_MAX: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// Bounds on connections: how long a client may take, and how many may be served at
/// once. See the module documentation for when each timeout runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// The time to send a complete request head: counted from accept for a
    /// connection's first request (from when it is served, for one that waited at the
    /// connection limit), from the request's first byte for later ones.
    pub header_read_timeout: Duration,
    /// The time to send a whole request body, counted from the end of its head; a
    /// handler reading a body that is late answers `408 request_timeout`.
    pub body_timeout: Duration,
    /// How long a connection with no request in flight, no next request started and
    /// no byte written may stay open.
    pub idle_timeout: Duration,
    /// The most connections served at once (at least 1).
    pub connections_max: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            connections_max: 1024,
        }
    }
}

impl HttpLimits {
    /// The limits with every timeout at most [`TIMEOUT_MAX`] and a connection limit of
    /// at least 1 (0 would never accept anything).
    fn clamped(self) -> HttpLimits {
        HttpLimits {
            header_read_timeout: self.header_read_timeout.min(TIMEOUT_MAX),
            body_timeout: self.body_timeout.min(TIMEOUT_MAX),
            idle_timeout: self.idle_timeout.min(TIMEOUT_MAX),
            connections_max: self.connections_max.max(1),
        }
    }
}

/// What every connection task shares.
struct Shared {
    builder: auto::Builder<TokioExecutor>,
    router: Router,
    limits: HttpLimits,
    census: Arc<Census>,
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes, then stops
/// accepting, lets requests in flight finish and returns when every connection has
/// closed (see the module documentation).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use knhk_server::{ApiConfig, AppState, HttpLimits};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let router = knhk_server::router(AppState::new(ApiConfig::default()));
/// let stop = async { let _ = tokio::signal::ctrl_c().await; };
/// knhk_server::serve(listener, router, HttpLimits::default(), stop).await;
/// # Ok(())
/// # }
/// ```
pub async fn serve<F>(listener: TcpListener, router: Router, limits: HttpLimits, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let limits = limits.clamped();
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    // The watchdog times heads itself: hyper's timer would count keep-alive idle time
    // as header time (see the module documentation).
    builder.http1().header_read_timeout(None);
    let shared = Arc::new(Shared {
        builder,
        router,
        limits,
        census: Arc::new(Census::default()),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let (pressure_tx, _) = watch::channel(0u64);
    let spawn = |connections: &mut JoinSet<()>, stream| {
        connections.spawn(connection::serve(
            stream,
            Arc::clone(&shared),
            stop_rx.clone(),
            pressure_tx.subscribe(),
        ));
    };
    let mut connections = JoinSet::new();
    // A connection accepted at the limit, waiting for the room an idle one makes.
    let mut parked: Option<TcpStream> = None;
    let mut failures = AcceptFailures::default();
    let mut paused_until: Option<Instant> = None;
    let mut shutdown = pin!(shutdown);

    loop {
        let at_limit = connections.len() >= limits.connections_max;
        if !at_limit && let Some(stream) = parked.take() {
            shared.census.withdraw();
            spawn(&mut connections, stream);
            continue;
        }
        // At the limit, accept only to make room for the one accepted: when some
        // connection is idle, and none is waiting already.
        let may_accept =
            paused_until.is_none() && (!at_limit || (parked.is_none() && shared.census.any_idle()));
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = connections.join_next() => {}
            // At the limit, a connection going idle may make room: for a connection
            // waiting already, it may take the request to close (which the one asked
            // first may have missed by getting a request of its own).
            () = shared.census.went_idle(), if at_limit => {
                if parked.is_some() {
                    pressure_tx.send_modify(|generation| *generation = generation.wrapping_add(1));
                }
            }
            () = tokio::time::sleep_until(paused_until.unwrap_or_else(Instant::now)),
                if paused_until.is_some() => paused_until = None,
            accepted = listener.accept(), if may_accept => match accepted {
                Ok((stream, _peer)) => {
                    failures.recovered();
                    if at_limit {
                        parked = Some(stream);
                        shared.census.ask_one_to_close();
                        pressure_tx.send_modify(|generation| *generation = generation.wrapping_add(1));
                    } else {
                        spawn(&mut connections, stream);
                    }
                }
                Err(error) if concerns_one_connection(&error) => {}
                Err(error) => {
                    failures.failed(&error);
                    paused_until = Some(Instant::now() + ACCEPT_PAUSE);
                }
            },
        }
    }

    // Closing the listener refuses new connections at once instead of leaving them
    // in the backlog until the process exits.
    drop(listener);
    drop(parked);
    stop_tx.send_replace(true);
    while connections.join_next().await.is_some() {}
}

/// Whether an accept error is about the one connection being accepted (the client
/// gave up, or its network went away), so the next accept may well succeed.
fn concerns_one_connection(error: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(
        error.kind(),
        K::ConnectionAborted
            | K::ConnectionReset
            | K::ConnectionRefused
            | K::Interrupted
            | K::NetworkDown
            | K::NetworkUnreachable
            | K::HostUnreachable
    )
}

/// A run of accept errors, reported once when it starts and once when it ends, so a
/// process out of file descriptors does not also flood its log.
#[derive(Debug, Default)]
struct AcceptFailures {
    count: u64,
}

impl AcceptFailures {
    fn failed(&mut self, error: &io::Error) {
        if self.count == 0 {
            let retry_ms = u64::try_from(ACCEPT_PAUSE.as_millis()).unwrap_or(u64::MAX);
            tracing::error!(%error, retry_ms, "cannot accept connections; retrying");
        }
        self.count += 1;
    }

    fn recovered(&mut self) {
        if self.count > 0 {
            tracing::info!(failed_attempts = self.count, "accepting connections again");
            self.count = 0;
        }
    }
}
