//! `knhk_server::serve` over real sockets, in process, with short timeouts: partial
//! heads and silent connections are closed after the header timeout however the bytes
//! trickle, a late body gets `408 request_timeout` and a closed connection, idle
//! keep-alive connections are closed while slow requests, streamed responses and slowly
//! sent bodies are not cut, the connection limit holds new connections until one frees
//! (and makes room by closing an idle one), and a stop closes idle connections at once
//! and finishes requests in flight.
//!
//! Timing: nothing is asserted to be fast. Each check waits generously for something
//! to happen (a reply, an EOF), and "not before" is asserted only against a bound the
//! server cannot beat (a lower bound from the moment the test connected).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use http_body::Frame;
use knhk_runtime::{Engine, EngineConfig, ManualClock, MemoryStore};
use knhk_server::{ApiConfig, AppState, HttpLimits};
use serde_json::Value;

/// How long `/slow` takes, and how long `/stream` takes between its chunks.
const SLOW: Duration = Duration::from_millis(1200);
const CHUNK_GAP: Duration = Duration::from_millis(400);
/// The most any wait in these tests lasts before it counts as "never".
const PATIENCE: Duration = Duration::from_secs(20);

/// A server on its own runtime, on a free port of 127.0.0.1.
struct Served {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: mpsc::Receiver<()>,
    // Dropped last: dropping the runtime ends every task.
    _runtime: tokio::runtime::Runtime,
}

impl Served {
    fn start(router: Router, limits: HttpLimits) -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done) = mpsc::channel();
        runtime.spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            knhk_server::serve(listener, router, limits, shutdown).await;
            let _ = done_tx.send(());
        });
        Served {
            address,
            stop: Some(stop),
            done,
            _runtime: runtime,
        }
    }

    fn connect(&self) -> TcpStream {
        TcpStream::connect(self.address).unwrap()
    }

    /// Sends the stop signal.
    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn limits(header_ms: u64, body_ms: u64, idle_ms: u64, connections_max: usize) -> HttpLimits {
    HttpLimits {
        header_read_timeout: Duration::from_millis(header_ms),
        body_timeout: Duration::from_millis(body_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        connections_max,
    }
}

/// A router with a quick route, a slow one, a streamed response and an echo of the
/// body's length.
fn test_router() -> Router {
    counted_router(Arc::default())
}

/// [`test_router`], counting in `slow_started` the `/slow` requests that have begun.
fn counted_router(slow_started: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/slow",
            get(move || async move {
                slow_started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(SLOW).await;
                "slow"
            }),
        )
        .route("/stream", get(|| async { Body::new(Chunks::new(4)) }))
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
}

/// A response body of `left` chunks `x`, [`CHUNK_GAP`] apart.
struct Chunks {
    left: u32,
    gap: Pin<Box<tokio::time::Sleep>>,
}

impl Chunks {
    fn new(left: u32) -> Chunks {
        Chunks {
            left,
            gap: Box::pin(tokio::time::sleep(CHUNK_GAP)),
        }
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        if self.gap.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.left -= 1;
        let next = tokio::time::Instant::now() + CHUNK_GAP;
        self.gap.as_mut().reset(next);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
    }
}

/// The knhk router over an in-memory engine.
fn knhk_router() -> Router {
    let state = AppState::new(ApiConfig::default());
    let engine = Engine::open(
        Arc::new(MemoryStore::new()),
        Arc::new(ManualClock::new(0)),
        EngineConfig::default(),
    )
    .unwrap();
    state.set_engine(engine);
    knhk_server::router(state)
}

/// A response as read off the wire.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).unwrap();
}

/// Reads one response (content-length or chunked), waiting up to `PATIENCE`.
fn reply(stream: &mut TcpStream) -> Reply {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at;
        }
        fill(stream, &mut buffer);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let mut rest = buffer[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    let reply = Reply {
        status,
        headers,
        body: Vec::new(),
    };
    let body = if let Some(length) = reply.header("content-length") {
        let length: usize = length.parse().unwrap();
        while rest.len() < length {
            fill(stream, &mut rest);
        }
        rest[..length].to_vec()
    } else if reply.header("transfer-encoding") == Some("chunked") {
        dechunk(stream, rest)
    } else {
        Vec::new()
    };
    Reply { body, ..reply }
}

/// The body of a chunked response whose first bytes are `buffer`.
fn dechunk(stream: &mut TcpStream, mut buffer: Vec<u8>) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(at) = find(&buffer, b"\r\n") {
                break at;
            }
            fill(stream, &mut buffer);
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&buffer[..line_end]).unwrap(), 16).unwrap();
        while buffer.len() < line_end + 2 + size + 2 {
            fill(stream, &mut buffer);
        }
        body.extend_from_slice(&buffer[line_end + 2..line_end + 2 + size]);
        buffer.drain(..line_end + 2 + size + 2);
        if size == 0 {
            return body;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Appends what the next read gives; panics on EOF or when nothing comes in time.
fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk) {
        Ok(0) => panic!("EOF in the middle of a response: {buffer:?}"),
        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        Err(e) => panic!("no response: {e}"),
    }
}

/// What a connection does next.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The server closed it (EOF).
    Closed,
    /// The server reset it.
    Reset,
    /// Nothing came within the wait.
    Quiet,
    /// Bytes came.
    Data(Vec<u8>),
}

fn next(stream: &mut TcpStream, wait: Duration) -> Next {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk) {
        Ok(0) => Next::Closed,
        Ok(n) => Next::Data(chunk[..n].to_vec()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Next::Quiet,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Next::Reset,
        Err(e) => panic!("read failed: {e}"),
    }
}

/// Asserts that the server closes the connection (EOF, no data) within `PATIENCE`.
fn assert_closed(stream: &mut TcpStream, what: &str) {
    assert_eq!(next(stream, PATIENCE), Next::Closed, "{what}");
}

#[test]
fn partial_heads_and_silent_connections_are_closed_after_the_header_timeout() {
    let served = Served::start(test_router(), limits(300, 10_000, 60_000, 64));

    let mut silent = served.connect();
    let mut partial = served.connect();
    send(&mut partial, b"GET / HTTP/1.1\r\nHost: te");
    assert_closed(&mut silent, "a connection that sends nothing");
    assert_closed(&mut partial, "a partial head");

    // Bytes trickling in do not extend the time a head may take.
    let mut trickle = served.connect();
    send(&mut trickle, b"GET / HTTP/1.1\r\n");
    let deadline = Instant::now() + PATIENCE;
    let closed = loop {
        assert!(Instant::now() < deadline, "a trickled head was never cut");
        let _ = trickle.write_all(b"X");
        match next(&mut trickle, Duration::from_millis(50)) {
            Next::Quiet => continue,
            other => break other,
        }
    };
    assert!(
        matches!(closed, Next::Closed | Next::Reset),
        "a trickled head: {closed:?}"
    );

    // On a keep-alive connection, the next request's head is timed from its first
    // byte, by the header timeout (here much shorter than the idle timeout).
    let mut kept = served.connect();
    send(&mut kept, &get_request("/"));
    assert_eq!(reply(&mut kept).status, 200);
    send(&mut kept, b"GET / HTTP/1.1\r\n");
    assert_closed(&mut kept, "the second request's partial head");
}

#[test]
fn a_late_body_gets_408_and_the_connection_is_closed() {
    let served = Served::start(knhk_router(), limits(10_000, 300, 10_000, 64));
    let mut late = served.connect();
    send(
        &mut late,
        b"POST /workflows HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"spec\": ",
    );
    let reply = reply(&mut late);
    assert_eq!(reply.status, 408, "{reply:?}");
    let body = reply.json();
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert_eq!(body["error"]["details"], Value::Null);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("300 ms"),
        "{body}"
    );
    assert_eq!(reply.header("connection"), Some("close"));
    assert_closed(&mut late, "after the 408");

    // A body that arrives in time, however it is split, is read as usual.
    let mut prompt = served.connect();
    send(
        &mut prompt,
        b"POST /workflows HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
          Content-Length: 2\r\n\r\n{",
    );
    std::thread::sleep(Duration::from_millis(50));
    send(&mut prompt, b"}");
    let reply = self::reply(&mut prompt);
    assert_eq!(reply.status, 422, "{reply:?}");
    assert_eq!(reply.json()["error"]["code"], "invalid_body");
}

#[test]
fn idle_connections_are_closed_but_requests_in_flight_are_not() {
    let served = Served::start(test_router(), limits(400, 5_000, 400, 64));
    let address = served.address;
    let connect = || TcpStream::connect(address).unwrap();
    std::thread::scope(|scope| {
        // Keep-alive works, and the connection is closed once idle.
        scope.spawn(|| {
            let mut kept = connect();
            for _ in 0..2 {
                send(&mut kept, &get_request("/"));
                let reply = reply(&mut kept);
                assert_eq!((reply.status, reply.body.as_slice()), (200, &b"ok"[..]));
                std::thread::sleep(Duration::from_millis(100));
            }
            assert_closed(&mut kept, "an idle keep-alive connection");
        });
        // A handler slower than the idle and header timeouts, and the connection is
        // still usable after it.
        scope.spawn(|| {
            let mut slow = connect();
            send(&mut slow, &get_request("/slow"));
            let reply = reply(&mut slow);
            assert_eq!((reply.status, reply.body.as_slice()), (200, &b"slow"[..]));
            send(&mut slow, &get_request("/"));
            assert_eq!(self::reply(&mut slow).status, 200);
        });
        // A response streamed over longer than the idle timeout.
        scope.spawn(|| {
            let mut streamed = connect();
            send(&mut streamed, &get_request("/stream"));
            let reply = reply(&mut streamed);
            assert_eq!((reply.status, reply.body.as_slice()), (200, &b"xxxx"[..]));
        });
        // A body sent in two parts, further apart than the idle and header timeouts
        // (but within the body timeout).
        scope.spawn(|| {
            let mut body = connect();
            send(
                &mut body,
                b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n12345",
            );
            std::thread::sleep(Duration::from_millis(1000));
            send(&mut body, b"67890");
            let reply = reply(&mut body);
            assert_eq!((reply.status, reply.body.as_slice()), (200, &b"10"[..]));
        });
    });
}

#[test]
fn at_the_limit_new_connections_wait_until_a_connection_closes() {
    let header = Duration::from_millis(1500);
    let served = Served::start(test_router(), limits(1500, 10_000, 60_000, 2));
    let opened = Instant::now();
    let mut silent = [served.connect(), served.connect()];
    let mut waiting = served.connect();
    send(&mut waiting, &get_request("/"));
    let reply = reply(&mut waiting);
    // The two silent connections hold the limit until their header timeout, which
    // runs from their accept, after `opened`.
    assert!(
        opened.elapsed() >= header,
        "answered after {:?}, before the limit freed",
        opened.elapsed()
    );
    assert_eq!(reply.status, 200);
    for connection in &mut silent {
        assert_closed(connection, "a silent connection at the limit");
    }

    // A connection the client closes frees its place too.
    let served = Served::start(test_router(), limits(60_000, 60_000, 60_000, 1));
    let silent = served.connect();
    let mut waiting = served.connect();
    send(&mut waiting, &get_request("/"));
    assert_eq!(
        next(&mut waiting, Duration::from_millis(300)),
        Next::Quiet,
        "answered while the only place was taken"
    );
    drop(silent);
    assert_eq!(self::reply(&mut waiting).status, 200);
}

#[test]
fn at_the_limit_an_idle_connection_makes_room() {
    // Timeouts far beyond the test's patience: only reclaiming can make room.
    let served = Served::start(test_router(), limits(60_000, 60_000, 60_000, 2));
    let mut idle = [served.connect(), served.connect()];
    for connection in &mut idle {
        send(connection, &get_request("/"));
        assert_eq!(reply(connection).status, 200);
    }
    let mut waiting = served.connect();
    send(&mut waiting, &get_request("/"));
    assert_eq!(reply(&mut waiting).status, 200);

    // Exactly one idle connection was closed for it.
    let deadline = Instant::now() + PATIENCE;
    let closed = loop {
        assert!(Instant::now() < deadline, "no idle connection was closed");
        let found = idle
            .iter_mut()
            .position(|c| next(c, Duration::from_millis(50)) == Next::Closed);
        if let Some(found) = found {
            break found;
        }
    };
    let other = &mut idle[1 - closed];
    assert_eq!(next(other, Duration::from_millis(300)), Next::Quiet);
    send(other, &get_request("/"));
    assert_eq!(reply(other).status, 200);
}

#[test]
fn a_stop_closes_idle_connections_and_finishes_requests_in_flight() {
    let slow_started = Arc::new(AtomicUsize::new(0));
    let mut served = Served::start(
        counted_router(Arc::clone(&slow_started)),
        limits(60_000, 60_000, 60_000, 64),
    );
    let mut idle = served.connect();
    send(&mut idle, &get_request("/"));
    assert_eq!(reply(&mut idle).status, 200);
    let mut silent = served.connect();
    let mut busy = served.connect();
    send(&mut busy, &get_request("/slow"));
    let deadline = Instant::now() + PATIENCE;
    while slow_started.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the slow request never started");
        std::thread::sleep(Duration::from_millis(10));
    }

    served.stop();
    assert_closed(&mut idle, "an idle connection at stop");
    assert_closed(&mut silent, "a silent connection at stop");
    let reply = reply(&mut busy);
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"slow"[..]));
    assert_closed(&mut busy, "a connection whose request finished after stop");
    assert!(
        served.done.recv_timeout(PATIENCE).is_ok(),
        "serve did not return"
    );
    assert!(TcpStream::connect(served.address).is_err());
}
