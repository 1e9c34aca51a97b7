//! Logs and traces of the real binary: JSON log lines on stdout without case data or
//! secrets, and spans exported over OTLP to a real receiver (`otlp/receiver.py`, on
//! grpcio and the official opentelemetry-proto definitions) that decodes what it gets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{EXAMPLES, Server, free_address, live_items, register_json};

/// The Python with grpcio and opentelemetry-proto: `KNHK_TEST_PYTHON`, or the
/// checkout's `.venv` that `.ci/deps.sh` makes.
fn python() -> PathBuf {
    let path = std::env::var_os("KNHK_TEST_PYTHON").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../.venv/bin/python3"
            ))
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: run .ci/deps.sh (it makes .venv with grpcio and opentelemetry-proto), \
         or set KNHK_TEST_PYTHON to a Python that has them",
        path.display()
    );
    path
}

/// A running OTLP receiver and every span it has decoded.
struct Receiver {
    child: Child,
    _stdin: ChildStdin,
    grpc: u16,
    http: u16,
    spans: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp/receiver.py");
        let mut child = Command::new(python())
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ports: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&spans);
        std::thread::spawn(move || {
            for line in lines {
                let span: Value = serde_json::from_str(&line.unwrap()).unwrap();
                collected.lock().unwrap().push(span);
            }
        });
        Receiver {
            child,
            _stdin: stdin,
            grpc: u16::try_from(ports["grpc"].as_u64().unwrap()).unwrap(),
            http: u16::try_from(ports["http"].as_u64().unwrap()).unwrap(),
            spans,
        }
    }

    /// The first span received that `matches`, waiting for it up to 30 s.
    fn span(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(span) = self.spans.lock().unwrap().iter().find(|s| matches(s)) {
                return span.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no span {what} among {:#?}",
                self.spans.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn named<'a>(name: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |span| span["name"] == name
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[test]
fn traces_follow_requests_and_keep_one_trace_per_case_across_restarts() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let endpoint = format!("http://127.0.0.1:{}", receiver.grpc);
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_SERVICE_NAME", "knhk-under-test"),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
    ];
    let server = Server::start(&data, &env);
    let spec = register_json(&server, format!("{EXAMPLES}/simple-sequence.json"));
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let body = json!({"spec_id": spec}).to_string().into_bytes();
    let (status, launched) = server.call_with(
        &[("traceparent", &traceparent)],
        "POST",
        "/cases",
        "application/json",
        body,
    );
    assert_eq!(status, 201, "{launched}");
    let case = launched["case_id"].as_str().unwrap().to_owned();

    // The request span: named by its route, parented by the traceparent.
    let request = receiver.span("HTTP POST /cases", named("HTTP POST /cases"));
    assert_eq!(request["trace_id"], TRACE);
    assert_eq!(request["parent_span_id"], PARENT);
    assert_eq!(request["attributes"]["http.request.method"], "POST");
    assert_eq!(request["attributes"]["http.route"], "/cases");
    assert_eq!(request["attributes"]["http.response.status_code"], 201);
    assert_eq!(request["resource"]["service.name"], "knhk-under-test");
    assert_eq!(request["resource"]["deployment.environment"], "test");
    // The launch: in the request's trace, under the request span, with the commit it
    // waited for.
    let launch = receiver.span("knhk launch", named("knhk launch"));
    assert_eq!(launch["trace_id"], TRACE);
    assert_eq!(launch["parent_span_id"], request["span_id"]);
    assert_eq!(launch["attributes"]["knhk.case_id"], case.as_str());
    assert_eq!(launch["attributes"]["knhk.spec_id"], spec.as_str());
    assert_eq!(launch["attributes"]["knhk.commit.records"], 1);
    assert!(
        launch["attributes"]["knhk.commit.wait_us"]
            .as_i64()
            .unwrap()
            > 0
    );

    // A later request without traceparent: a trace of its own, while the action stays
    // in the case's trace, linked to the request.
    let item = live_items(&server, &case)[0].clone();
    let id = item["id"].as_str().unwrap();
    let (status, body) = server.post(&format!("/work-items/{id}/start"), json!({}));
    assert_eq!(status, 200, "{body}");
    let start_request = receiver.span(
        "HTTP POST /work-items/{id}/start",
        named("HTTP POST /work-items/{id}/start"),
    );
    assert_ne!(start_request["trace_id"], TRACE);
    assert_eq!(start_request["parent_span_id"], "");
    let start = receiver.span("knhk start_work_item", named("knhk start_work_item"));
    assert_eq!(start["trace_id"], TRACE);
    assert_eq!(start["parent_span_id"], launch["span_id"]);
    assert_eq!(start["attributes"]["knhk.case_id"], case.as_str());
    assert_eq!(start["attributes"]["knhk.work_item_id"], id);
    assert_eq!(start["attributes"]["knhk.task_id"], "A");
    assert_eq!(
        start["links"],
        json!([{"trace_id": start_request["trace_id"], "span_id": start_request["span_id"]}])
    );
    assert_eq!(start["attributes"]["knhk.commit.records"], 1);
    // Ids never name a span: the route's template does.
    assert_eq!(server.get(&format!("/cases/{case}")).0, 200);
    let get = receiver.span(
        "HTTP GET /cases/{case_id}",
        named("HTTP GET /cases/{case_id}"),
    );
    assert_eq!(get["attributes"]["http.route"], "/cases/{case_id}");
    assert_eq!(get["attributes"]["http.response.status_code"], 200);
    assert_eq!(server.stop(), Some(0));

    // After a restart on the same data, the case's next action is still in its trace.
    let server = Server::start(&data, &env);
    let (status, body) = server.post(&format!("/work-items/{id}/complete"), json!({"data": {}}));
    assert_eq!(status, 200, "{body}");
    let complete = receiver.span("knhk complete_work_item", named("knhk complete_work_item"));
    assert_eq!(complete["trace_id"], TRACE);
    assert_eq!(complete["parent_span_id"], launch["span_id"]);
    assert_eq!(complete["attributes"]["knhk.work_item_id"], id);
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn traces_go_over_http_protobuf_too() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{}", receiver.http);
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ];
    let server = Server::start(&dir.path().join("data"), &env);
    let spec = register_json(&server, format!("{EXAMPLES}/simple-sequence.json"));
    let (status, body) = server.post("/cases", json!({"spec_id": spec}));
    assert_eq!(status, 201, "{body}");
    let launch = receiver.span("knhk launch", named("knhk launch"));
    assert_eq!(launch["transport"], "http");
    assert_eq!(launch["resource"]["service.name"], "knhk");
    assert_eq!(server.stop(), Some(0));
}

/// A server in `dir` exporting over gRPC to `receiver` with `OTEL_TRACES_SAMPLER` =
/// `sampler` and `OTEL_TRACES_SAMPLER_ARG` = `ratio`, and its simple sequence's id.
fn sampling_server(
    receiver: &Receiver,
    dir: &Path,
    sampler: &str,
    ratio: &str,
) -> (Server, String) {
    let endpoint = format!("http://127.0.0.1:{}", receiver.grpc);
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_TRACES_SAMPLER", sampler),
        ("OTEL_TRACES_SAMPLER_ARG", ratio),
    ];
    let server = Server::start(&dir.join("data"), &env);
    let spec = register_json(&server, format!("{EXAMPLES}/simple-sequence.json"));
    (server, spec)
}

#[test]
fn the_sampler_keeps_whole_traces_and_no_case_trace_of_an_unsampled_launch() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    // No trace of its own is sampled; a request's sampled `traceparent` is followed.
    let (server, spec) = sampling_server(&receiver, dir.path(), "parentbased_traceidratio", "0");
    let (status, unsampled) = server.post("/cases", json!({"spec_id": spec}));
    assert_eq!(status, 201, "{unsampled}");
    let case = unsampled["case_id"].as_str().unwrap().to_owned();

    // A later action of the unsampled case, in a sampled request: in the request's trace,
    // under the request's span, since the case has no trace to join.
    let item = live_items(&server, &case)[0].clone();
    let id = item["id"].as_str().unwrap();
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let (status, body) = server.call_with(
        &[("traceparent", &traceparent)],
        "POST",
        &format!("/work-items/{id}/start"),
        "application/json",
        b"{}".to_vec(),
    );
    assert_eq!(status, 200, "{body}");
    let request = receiver.span(
        "HTTP POST /work-items/{id}/start",
        named("HTTP POST /work-items/{id}/start"),
    );
    assert_eq!(request["trace_id"], TRACE);
    let start = receiver.span("knhk start_work_item", named("knhk start_work_item"));
    assert_eq!(start["trace_id"], TRACE);
    assert_eq!(start["parent_span_id"], request["span_id"]);

    // A graceful stop flushes what was sampled: nothing of the unsampled requests.
    assert_eq!(server.stop(), Some(0));
    let spans = receiver.spans.lock().unwrap();
    assert!(
        spans.iter().all(|span| span["trace_id"] == TRACE),
        "{spans:#?}"
    );
    assert_eq!(spans.len(), 2, "{spans:#?}");
}

#[test]
fn a_ratio_sampler_keeps_some_requests_each_with_its_whole_trace() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let (server, spec) = sampling_server(&receiver, dir.path(), "traceidratio", "0.5");
    let launches = 60;
    for _ in 0..launches {
        let (status, body) = server.post("/cases", json!({"spec_id": spec}));
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(server.stop(), Some(0));
    let spans = receiver.spans.lock().unwrap();
    let requests: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "HTTP POST /cases")
        .collect();
    let actions: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "knhk launch")
        .collect();
    // Half of 60, give or take: a binomial tail beyond 10..50 is below 10^-9.
    assert!(
        (10..=50).contains(&requests.len()),
        "{} of {launches}",
        requests.len()
    );
    // Whole traces: each sampled request has its launch, and no launch is alone.
    assert_eq!(actions.len(), requests.len());
    for action in actions {
        assert!(
            requests
                .iter()
                .any(|r| r["span_id"] == action["parent_span_id"]
                    && r["trace_id"] == action["trace_id"]),
            "{action:#}"
        );
    }
}

#[test]
fn a_receiver_that_is_down_slows_no_request() {
    let dir = tempfile::tempdir().unwrap();
    // Bound and closed at once: nothing listens there.
    let endpoint = format!("http://{}", free_address());
    let server = Server::start(
        &dir.path().join("data"),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
    );
    let prompt = Duration::from_secs(5);
    let timed = |what: &str, call: &dyn Fn() -> (u16, Value)| {
        let started = Instant::now();
        let (status, body) = call();
        assert!(
            started.elapsed() < prompt,
            "{what} took {:?}",
            started.elapsed()
        );
        (status, body)
    };
    let spec = timed("register", &|| {
        let spec: Value =
            serde_json::from_slice(&support::read(format!("{EXAMPLES}/simple-sequence.json")))
                .unwrap();
        server.post("/workflows", json!({"spec": spec}))
    })
    .1["spec_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..20 {
        let (status, body) = timed("launch", &|| {
            server.post("/cases", json!({"spec_id": spec}))
        });
        assert_eq!(status, 201, "{body}");
        let (status, _) = timed("list", &|| server.get("/cases"));
        assert_eq!(status, 200);
    }
    // The spans that could not be sent are counted in /metrics once an export fails.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = Server::agent()
            .get(format!("{}/metrics", server.url))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        let dropped: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix("knhk_trace_spans_dropped_total "))
            .expect("knhk_trace_spans_dropped_total is exported")
            .parse()
            .unwrap();
        if dropped > 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no span was counted as dropped");
        std::thread::sleep(Duration::from_millis(200));
    }
    let started = Instant::now();
    assert_eq!(server.stop(), Some(0));
    // The last flush gives up after its timeout (3 s) instead of holding the stop.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn json_logs_hold_no_case_data_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let token = "log-test-token-7f3a9c21e5d84b06a1c2";
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\nidentity = \"ada\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
            knhk_server::auth::token_hash(token)
        ),
    )
    .unwrap();
    let receiver = Receiver::start();
    let endpoint = format!("http://127.0.0.1:{}", receiver.grpc);
    let env = [
        ("KNHK_API_TOKENS_FILE", tokens.to_str().unwrap()),
        ("KNHK_LOG_FORMAT", "json"),
        ("KNHK_LOG_LEVEL", "info"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
    ];
    let server = Server::start(&dir.path().join("data"), &env);
    let bearer = format!("Bearer {token}");
    let call = |method: &str, path: &str, body: Value| {
        let bytes = body.to_string().into_bytes();
        server.call_with(
            &[("Authorization", &bearer)],
            method,
            path,
            "application/json",
            bytes,
        )
    };
    let spec: Value =
        serde_json::from_slice(&support::read(format!("{EXAMPLES}/order-fulfilment.json")))
            .unwrap();
    let (status, body) = call("POST", "/workflows", json!({"spec": spec}));
    assert_eq!(status, 201, "{body}");
    let secret_input = "case-data-Zq81-confidential";
    let secret_output = "work-output-Xw27-confidential";
    let (status, launched) = call(
        "POST",
        "/cases",
        json!({"spec_id": "order-fulfilment", "data": {"order": {"customer": secret_input}}}),
    );
    assert_eq!(status, 201, "{launched}");
    let case = launched["case_id"].as_str().unwrap();
    let (status, items) = call("GET", &format!("/work-items?case_id={case}"), Value::Null);
    assert_eq!(status, 200, "{items}");
    let id = items["work_items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call("POST", &format!("/work-items/{id}/start"), json!({})).0,
        200
    );
    // Refused or accepted, the output must not reach the log either way.
    call(
        "POST",
        &format!("/work-items/{id}/complete"),
        json!({"data": {"order": {"note": secret_output}, "items": [], "total": 1}}),
    );
    // Refused requests (at debug, so not in an info log) and a bad token.
    assert_eq!(call("GET", "/cases/999", Value::Null).0, 404);
    let (status, _) = server.call_with(
        &[("Authorization", "Bearer not-a-token-secret-value")],
        "GET",
        "/cases",
        "application/json",
        Vec::new(),
    );
    assert_eq!(status, 401);
    receiver.span("knhk launch", named("knhk launch"));
    let log_file = server.log.clone();
    assert_eq!(server.stop(), Some(0));

    let log = std::fs::read_to_string(log_file).unwrap();
    for secret in [
        secret_input,
        secret_output,
        token,
        "not-a-token-secret-value",
    ] {
        assert!(!log.contains(secret), "`{secret}` is in the log:\n{log}");
    }
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "message"] {
            assert!(line[field].is_string(), "no {field} in {line}");
        }
        assert!(["INFO", "WARN", "ERROR"].contains(&line["level"].as_str().unwrap()));
    }
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    let start = &lines[0];
    assert!(messages[0].starts_with("knhk listening on"), "{messages:?}");
    assert_eq!(start["fields"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(start["fields"]["data"].is_string(), "{start}");
    assert!(
        messages.iter().any(|m| m.starts_with("recovery done")),
        "{messages:?}"
    );
    assert_eq!(messages.last(), Some(&"knhk stopped"), "{messages:?}");
}

#[test]
fn refused_requests_are_logged_at_debug_with_their_trace() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{}", receiver.grpc);
    let env = [
        ("KNHK_LOG_LEVEL", "info,knhk_server=debug"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
    ];
    let server = Server::start(&dir.path().join("data"), &env);
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let (status, _) = server.call_with(
        &[("traceparent", &traceparent)],
        "GET",
        "/cases/4242",
        "application/json",
        Vec::new(),
    );
    assert_eq!(status, 404);
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let log = server.stderr();
        if let Some(line) = log.lines().find(|l| l.contains("request refused")) {
            break serde_json::from_str::<Value>(line).unwrap();
        }
        assert!(Instant::now() < deadline, "no refusal logged:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(refused["level"], "DEBUG");
    assert_eq!(refused["fields"]["status"], 404);
    assert_eq!(refused["fields"]["code"], "case_not_found");
    assert_eq!(refused["fields"]["route"], "/cases/{case_id}");
    assert_eq!(refused["trace_id"], TRACE);
    let span = receiver.span(
        "HTTP GET /cases/{case_id}",
        named("HTTP GET /cases/{case_id}"),
    );
    assert_eq!(refused["span_id"], span["span_id"]);
    assert_eq!(server.stop(), Some(0));
}
