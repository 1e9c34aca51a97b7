//! One connection: hyper's HTTP/1.1 connection, the socket wrapper and the watchdog
//! that closes it when its phase's bound runs out (the phases are in the parent
//! module's documentation).
//!
//! Everything a connection does happens on its own task (hyper polls the socket, calls
//! the service and drops response bodies from inside the connection future, and the
//! watchdog selects on that future), so the phase changes in one order; the atomics
//! are there because the pieces are shared through `Arc`, not for contention.

use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::service::ConnService;
use super::{HttpLimits, Shared};

/// What the accept loop knows of all connections: how many are idle (and so may be
/// reclaimed at the connection limit), and whether one has been asked to close.
#[derive(Debug, Default)]
pub(super) struct Census {
    /// Connections in the idle phase.
    idle: AtomicUsize,
    /// One idle connection is asked to close, to make room for a waiting one; the
    /// first idle connection to see it takes it.
    reclaim: AtomicBool,
    /// Woken when a connection goes idle.
    went_idle: Notify,
}

impl Census {
    /// Whether some connection is idle.
    pub(super) fn any_idle(&self) -> bool {
        self.idle.load(Ordering::Relaxed) > 0
    }

    /// Asks one idle connection to close (the caller then wakes them all).
    pub(super) fn ask_one_to_close(&self) {
        self.reclaim.store(true, Ordering::Relaxed);
    }

    /// Withdraws the request: the room was made otherwise.
    pub(super) fn withdraw(&self) {
        self.reclaim.store(false, Ordering::Relaxed);
    }

    /// Resolves when a connection goes idle (possibly one that went idle before).
    pub(super) async fn went_idle(&self) {
        self.went_idle.notified().await;
    }

    /// Takes the request to close, if it is still open.
    fn take_reclaim(&self) -> bool {
        self.reclaim.swap(false, Ordering::Relaxed)
    }
}

/// Where a connection is in its life (see the parent module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Waiting for the first request head since accept.
    FirstHead = 0,
    /// A request in flight.
    Busy = 1,
    /// No request in flight and none started.
    Idle = 2,
    /// A later request's head has started to arrive.
    Head = 3,
    /// Idle, and asked to close to make room for another connection.
    Reclaimed = 4,
}

impl Phase {
    fn from_u8(value: u8) -> Phase {
        match value {
            0 => Phase::FirstHead,
            1 => Phase::Busy,
            2 => Phase::Idle,
            3 => Phase::Head,
            _ => Phase::Reclaimed,
        }
    }
}

/// "Never" for the millisecond time stamps below.
const NEVER: u64 = u64::MAX;

/// What the socket wrapper and the service record about one connection, read by its
/// watchdog. Times are milliseconds since accept.
#[derive(Debug)]
pub(super) struct Activity {
    accepted: Instant,
    phase: AtomicU8,
    /// Requests whose response body hyper has not dropped yet (HTTP/1: 0 or 1).
    in_flight: AtomicUsize,
    /// When the last request ended.
    quiet_since: AtomicU64,
    /// When the first byte of the request head now arriving was read.
    head_since: AtomicU64,
    /// When a byte was last written.
    last_write: AtomicU64,
    /// The current request's body came too late: its response closes the connection.
    body_timed_out: AtomicBool,
    /// Wakes the watchdog when the deadline moves earlier or appears.
    changed: Notify,
    census: Arc<Census>,
}

impl Activity {
    fn new(census: Arc<Census>) -> Activity {
        Activity {
            accepted: Instant::now(),
            phase: AtomicU8::new(Phase::FirstHead as u8),
            in_flight: AtomicUsize::new(0),
            quiet_since: AtomicU64::new(0),
            head_since: AtomicU64::new(NEVER),
            last_write: AtomicU64::new(0),
            body_timed_out: AtomicBool::new(false),
            changed: Notify::new(),
            census,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(NEVER - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.accepted + std::time::Duration::from_millis(ms)
    }

    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    /// Moves to `phase`, keeping the census's idle count.
    fn set_phase(&self, phase: Phase) {
        let old = Phase::from_u8(self.phase.swap(phase as u8, Ordering::Relaxed));
        match (old == Phase::Idle, phase == Phase::Idle) {
            (true, false) => {
                self.census.idle.fetch_sub(1, Ordering::Relaxed);
            }
            (false, true) => {
                self.census.idle.fetch_add(1, Ordering::Relaxed);
                self.census.went_idle.notify_one();
            }
            _ => {}
        }
    }

    /// When the connection is to be closed, or `None` while a request is in flight.
    fn deadline(&self, limits: &HttpLimits) -> Option<Instant> {
        match self.phase() {
            Phase::FirstHead => Some(self.accepted + limits.header_read_timeout),
            Phase::Busy => None,
            Phase::Head => {
                Some(self.at(self.head_since.load(Ordering::Relaxed)) + limits.header_read_timeout)
            }
            Phase::Idle | Phase::Reclaimed => {
                let quiet = self.quiet_since.load(Ordering::Relaxed);
                let written = self.last_write.load(Ordering::Relaxed);
                Some(self.at(quiet.max(written)) + limits.idle_timeout)
            }
        }
    }

    /// Bytes were read: on an idle connection, the next request's head has started.
    fn on_read(&self) {
        if self.phase() == Phase::Idle {
            self.head_since.store(self.now_ms(), Ordering::Relaxed);
            self.set_phase(Phase::Head);
            self.changed.notify_one();
        }
    }

    /// Bytes were written: an idle connection still flushing a response is not idle.
    fn on_write(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            self.last_write.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// A request's head is complete and the service is called.
    pub(super) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(NEVER, Ordering::Relaxed);
        self.body_timed_out.store(false, Ordering::Relaxed);
        self.set_phase(Phase::Busy);
    }

    /// A request is over: hyper dropped its response body, or its handler was dropped.
    pub(super) fn request_ended(&self) {
        if self.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.quiet_since.store(self.now_ms(), Ordering::Relaxed);
            self.set_phase(Phase::Idle);
            self.changed.notify_one();
        }
    }

    /// The current request's body did not arrive in time.
    pub(super) fn body_timed_out(&self) {
        self.body_timed_out.store(true, Ordering::Relaxed);
    }

    /// Whether the current request's body did not arrive in time.
    pub(super) fn has_body_timed_out(&self) -> bool {
        self.body_timed_out.load(Ordering::Relaxed)
    }

    /// Takes the census's request to close, if this connection is idle.
    fn reclaim(&self) -> bool {
        if self.phase() == Phase::Idle && self.census.take_reclaim() {
            self.set_phase(Phase::Reclaimed);
            true
        } else {
            false
        }
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        if self.phase() == Phase::Idle {
            self.census.idle.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Serves one accepted connection until it closes, its phase's bound runs out, or a
/// stop (or a request to make room) closes it gracefully.
pub(super) async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    mut pressure: watch::Receiver<u64>,
) {
    let activity = Arc::new(Activity::new(Arc::clone(&shared.census)));
    let io = TokioIo::new(WatchedIo {
        stream,
        activity: Arc::clone(&activity),
    });
    let service = ConnService::new(
        shared.router.clone(),
        Arc::clone(&activity),
        shared.limits.body_timeout,
    );
    let mut conn = pin!(shared.builder.serve_connection(io, service));
    let mut closing = false;
    let mut pressure_open = true;
    loop {
        let deadline = activity.deadline(&shared.limits);
        tokio::select! {
            // The connection first, so that bytes already in the socket are read
            // before a deadline or a request to close is looked at.
            biased;
            // An error here is the client's doing (reset, malformed request); hyper
            // has answered what it could.
            _ = conn.as_mut() => return,
            () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)),
                if deadline.is_some() =>
            {
                // Dropping the connection closes the socket.
                if activity.deadline(&shared.limits).is_some_and(|d| d <= Instant::now()) {
                    return;
                }
            }
            () = activity.changed.notified() => {}
            _ = stop.wait_for(|stopped| *stopped), if !closing => {
                // Closes an idle or untouched connection at once, and any other after
                // its response.
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            changed = pressure.changed(), if !closing && pressure_open => match changed {
                Ok(()) => {
                    if activity.reclaim() {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
                Err(_) => pressure_open = false,
            },
        }
    }
}

/// The socket, noting reads and writes in the connection's [`Activity`].
struct WatchedIo {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.on_read();
        }
        polled
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.on_write();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.on_write();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
