//! End to end: the real `knhk` binary serving on a free port with a temporary data
//! directory, driven by a real HTTP client (ureq) and by the CLI: every format
//! registered, pattern cases run to completion through the API, every documented error
//! with its status and code, hostile input, hostile connections (slow heads and bodies,
//! a flood of them under a small file-descriptor limit), concurrent completes, and a
//! restart that finds everything back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;

use support::{EXAMPLES, PATIENCE, SHARED, Server, live_items, read, register_json};

/// Sends `bytes` on a new connection to `address`, then reads until the server closes
/// it; panics if it is still open after `PATIENCE`.
fn until_closed(address: &str, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(bytes).unwrap();
    read_until_closed(&mut stream)
}

fn read_until_closed(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => String::from_utf8_lossy(&received).into_owned(),
        Err(e) => panic!(
            "not closed ({e}) after {:?}",
            String::from_utf8_lossy(&received)
        ),
    }
}

/// Connections that send part of a request head and a byte more now and then, as a
/// slowloris attack does, opening a new one whenever the server closes one.
struct Slowloris {
    stop: Arc<AtomicBool>,
    reopened: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Slowloris {
    const HEAD: &[u8] = b"GET /health HTTP/1.1\r\nHost: knhk\r\n";

    fn start(address: &str, connections: usize) -> Slowloris {
        let open = |address: &str| {
            let mut stream = TcpStream::connect(address).ok()?;
            stream.write_all(Slowloris::HEAD).ok()?;
            stream.set_nonblocking(true).ok()?;
            Some(stream)
        };
        let mut streams: Vec<Option<TcpStream>> = (0..connections).map(|_| open(address)).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let reopened = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, reopened, address) = (stop.clone(), reopened.clone(), address.to_owned());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for slot in &mut streams {
                        let alive = slot.as_mut().is_some_and(|stream| {
                            let mut byte = [0u8; 64];
                            let open = match stream.read(&mut byte) {
                                Ok(0) => false,
                                Ok(_) => true,
                                Err(e) => e.kind() == ErrorKind::WouldBlock,
                            };
                            open && stream.write_all(b"X").is_ok()
                        });
                        if !alive {
                            *slot = open(&address);
                            reopened.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Slowloris {
            stop,
            reopened,
            thread: Some(thread),
        }
    }

    /// Stops the attack; returns how many connections the server closed under it.
    fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        self.reopened.load(Ordering::Relaxed)
    }
}

/// A value of each declared output's type for `task` in the specification `spec`.
fn outputs(spec: &Value, task: &str) -> Value {
    let mut output = serde_json::Map::new();
    for t in spec["nets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["tasks"].as_array().unwrap())
    {
        if t["id"] == task {
            for p in t["outputs"].as_array().into_iter().flatten() {
                let value = match p["type"].as_str().unwrap_or("any") {
                    "string" => json!("x"),
                    "number" | "integer" => json!(1),
                    "boolean" => json!(true),
                    "object" => json!({}),
                    "array" => json!([]),
                    _ => Value::Null,
                };
                output.insert(p["name"].as_str().unwrap().to_owned(), value);
            }
        }
    }
    Value::Object(output)
}

fn state_of(server: &Server, case: &str) -> String {
    let (_, body) = server.get(&format!("/cases/{case}"));
    body["case"]["state"].as_str().unwrap().to_owned()
}

/// Drives a case through the API (lowest live item first: start it, or complete it),
/// sending the first trigger signal once if nothing is live; returns its final state.
fn drive(server: &Server, spec_id: &str, case: &str) -> String {
    let (_, spec) = server.get(&format!("/workflows/{spec_id}"));
    let mut signalled = false;
    for _ in 0..200 {
        let (_, body) = server.get(&format!("/cases/{case}"));
        let state = body["case"]["state"].as_str().unwrap().to_owned();
        if state != "running" {
            return state;
        }
        let live = live_items(server, case);
        let Some(item) = live.first() else {
            let signal = spec["nets"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|n| n["tasks"].as_array().unwrap())
                .find_map(|t| t["trigger"]["signal"].as_str());
            match signal {
                Some(signal) if !signalled => {
                    signalled = true;
                    let (status, _) =
                        server.post(&format!("/cases/{case}/signals/{signal}"), json!({}));
                    assert_eq!(status, 200);
                    continue;
                }
                _ => return state,
            }
        };
        let id = item["id"].as_str().unwrap();
        let (status, body) = if item["status"] == "enabled" {
            server.post(&format!("/work-items/{id}/start"), json!({}))
        } else {
            let data = outputs(&spec, item["task_id"].as_str().unwrap());
            server.post(&format!("/work-items/{id}/complete"), json!({"data": data}))
        };
        if status != 200 {
            // A choice the generic driver cannot make (such as an empty split): refused,
            // and the case waits.
            assert_eq!(status / 100, 4, "{body}");
            return state_of(server, case);
        }
    }
    state_of(server, case)
}

#[test]
fn every_format_registers_and_pattern_cases_run_to_completion() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);

    // Turtle and YAWL XML, by content type.
    let (status, body) = server.call(
        "POST",
        "/workflows",
        "text/turtle",
        read(format!("{SHARED}/knhk-examples/simple-sequence.ttl")),
    );
    assert_eq!(status, 201, "{body}");
    let turtle = body["spec_id"].as_str().unwrap().to_owned();
    let (status, body) = server.call(
        "POST",
        "/workflows",
        "application/xml",
        read(format!(
            "{SHARED}/yawl-specs/yawl-engine-tests/YAWL_Specification2.xml"
        )),
    );
    assert_eq!(status, 201, "{body}");
    let yawl = body["spec_id"].as_str().unwrap().to_owned();
    for spec in [&turtle, &yawl] {
        let (status, body) = server.post("/cases", json!({"spec_id": spec}));
        assert_eq!(status, 201, "{body}");
        let case = body["case_id"].as_str().unwrap();
        assert_eq!(drive(&server, spec, case), "completed", "{spec}");
    }

    // The pattern suite: every pattern that runs to completion by always working on the
    // first live item (the others wait for a choice a person makes).
    let mut completed = 0;
    let mut patterns: Vec<PathBuf> = std::fs::read_dir(format!("{EXAMPLES}/patterns"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    patterns.sort();
    for path in &patterns {
        let spec_id = register_json(&server, path);
        let data = launch_data(path);
        let (status, body) = server.post("/cases", json!({"spec_id": spec_id, "data": data}));
        assert_eq!(status, 201, "{spec_id}: {body}");
        let case = body["case_id"].as_str().unwrap();
        if drive(&server, &spec_id, case) == "completed" {
            completed += 1;
        }
    }
    assert!(completed >= 35, "only {completed} of 43 patterns completed");
    let (_, body) = server.get("/workflows");
    assert_eq!(body["workflows"].as_array().unwrap().len(), 45);
    let (_, body) = server.get("/cases?state=completed");
    assert_eq!(body["cases"].as_array().unwrap().len(), completed + 2);
    assert_eq!(server.stop(), Some(0));
}

/// Launch data giving a multiple-instance split something to split.
fn launch_data(path: &Path) -> Value {
    let spec: Value = serde_json::from_slice(&read(path)).unwrap();
    let root = spec["nets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == spec["root_net"])
        .unwrap()
        .clone();
    let first_array = root["variables"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["type"] == "array");
    match first_array.and_then(|v| v["name"].as_str()) {
        Some("lines") => json!({"lines": [{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}]}),
        Some(name) => json!({ name: ["ann", "bob", "cy"] }),
        None => json!({}),
    }
}

#[test]
fn every_documented_error_has_its_status_and_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("KNHK_BODY_MAX_BYTES", "65536"),
            ("KNHK_DATA_DEPTH_MAX", "4"),
            ("KNHK_SPEC_ELEMENTS_MAX", "10"),
        ],
    );
    let spec = register_json(&server, format!("{EXAMPLES}/simple-sequence.json"));
    let (_, body) = server.post("/cases", json!({"spec_id": spec}));
    let case = body["case_id"].as_str().unwrap().to_owned();
    let item = live_items(&server, &case)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let expect = |(status, body): (u16, Value), want: u16, code: &str| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    };
    expect(server.get("/cases/999"), 404, "case_not_found");
    expect(server.get("/cases/abc"), 400, "invalid_id");
    expect(server.get("/work-items/1"), 400, "invalid_id");
    expect(
        server.get(&format!("/work-items/{case}-99")),
        404,
        "work_item_not_found",
    );
    expect(server.get("/workflows/nope"), 404, "spec_not_found");
    expect(
        server.post("/cases", json!({"spec_id": "nope"})),
        404,
        "spec_not_found",
    );
    expect(server.get("/nowhere"), 404, "route_not_found");
    expect(
        server.call("DELETE", "/cases", "application/json", vec![]),
        405,
        "method_not_allowed",
    );
    expect(server.get("/cases?state=sleeping"), 400, "invalid_request");
    expect(
        server.get("/work-items?status=sleeping"),
        400,
        "invalid_request",
    );
    expect(server.get("/cases?limit=x"), 400, "invalid_request");
    expect(
        server.post("/cases", json!({"spec_id": spec, "data": [1]})),
        422,
        "invalid_data",
    );
    expect(
        server.post("/cases", json!({"spec": spec})),
        422,
        "invalid_body",
    );
    expect(
        server.post(
            "/cases",
            json!({"spec_id": spec, "data": {"a": {"b": {"c": {"d": {"e": 1}}}}}}),
        ),
        422,
        "data_too_deep",
    );
    expect(
        server.call(
            "POST",
            "/cases",
            "application/json",
            b"{\"spec_id\": ".to_vec(),
        ),
        400,
        "invalid_json",
    );
    expect(
        server.call("POST", "/cases", "text/plain", b"spec_id=x".to_vec()),
        415,
        "unsupported_media_type",
    );
    expect(
        server.call("POST", "/workflows", "image/png", b"\x89PNG".to_vec()),
        415,
        "unsupported_media_type",
    );
    expect(
        server.call("POST", "/workflows", "application/json", vec![b' '; 70_000]),
        413,
        "body_too_large",
    );
    let big: Value =
        serde_json::from_slice(&read(format!("{EXAMPLES}/order-fulfilment.json"))).unwrap();
    expect(
        server.post("/workflows", json!({"spec": big})),
        413,
        "specification_too_large",
    );
    expect(
        server.post(
            "/workflows",
            json!({"spec": {"id": "x", "root_net": "main", "nets": []}}),
        ),
        422,
        "invalid_specification",
    );
    expect(
        server.post(&format!("/work-items/{item}/complete"), json!({})),
        409,
        "invalid_state",
    );
    expect(
        server.post(&format!("/cases/{case}/resume"), json!({})),
        409,
        "invalid_state",
    );
    expect(
        server.post("/work-items/claim", json!({"worker": "w", "lease_ms": 10})),
        400,
        "invalid_request",
    );

    // Output checked against declared outputs.
    let credit = json!({"id": "credit", "root_net": "main", "nets": [{
        "id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": [{"id": "check", "kind": "atomic", "outputs": [{"name": "approved", "type": "boolean"}]}],
        "flows": [{"from": "i", "to": "check"}, {"from": "check", "to": "o"}]}]});
    let (status, _) = server.post("/workflows", json!({"spec": credit}));
    assert_eq!(status, 201);
    let (_, body) = server.post("/cases", json!({"spec_id": "credit"}));
    let credit_case = body["case_id"].as_str().unwrap().to_owned();
    let check = live_items(&server, &credit_case)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.post(&format!("/work-items/{check}/start"), json!({}));
    expect(
        server.post(
            &format!("/work-items/{check}/complete"),
            json!({"data": {"approved": "yes"}}),
        ),
        422,
        "invalid_output",
    );
    let (status, _) = server.post(
        &format!("/work-items/{check}/complete"),
        json!({"data": {"approved": true}}),
    );
    assert_eq!(status, 200);
    expect(
        server.post(&format!("/work-items/{check}/start"), json!({})),
        409,
        "work_item_ended",
    );

    // Refusals changed nothing: the first case still offers its first item, unstarted.
    let items = live_items(&server, &case);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "enabled");

    // Leases, offers and allocations (the claim takes the oldest case's item).
    let (_, body) = server.post("/cases", json!({"spec_id": spec}));
    let leased_case = body["case_id"].as_str().unwrap().to_owned();
    let (status, claimed) = server.post(
        "/work-items/claim",
        json!({"task_id": "A", "worker": "w1", "max": 1, "lease_ms": 60000}),
    );
    assert_eq!(status, 200, "{claimed}");
    let leased = claimed["work_items"][0]["id"].as_str().unwrap().to_owned();
    expect(
        server.post(
            &format!("/work-items/{leased}/complete"),
            json!({"worker": "w2"}),
        ),
        409,
        "lease_held",
    );
    let (_, body) = server.post("/cases", json!({"spec_id": spec}));
    let offered_case = body["case_id"].as_str().unwrap().to_owned();
    let offered = live_items(&server, &offered_case)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = server.post(
        &format!("/work-items/{offered}/offer"),
        json!({"participants": ["ann"]}),
    );
    assert_eq!(status, 200);
    expect(
        server.post(
            &format!("/work-items/{offered}/start"),
            json!({"worker": "bob"}),
        ),
        409,
        "not_offered",
    );
    let (status, _) = server.post(
        &format!("/work-items/{offered}/allocate"),
        json!({"participant": "ann"}),
    );
    assert_eq!(status, 200);
    expect(
        server.post(
            &format!("/work-items/{offered}/start"),
            json!({"worker": "bob"}),
        ),
        409,
        "allocated_to_other",
    );
    assert_eq!(claimed["work_items"][0]["case_id"], case.as_str());
    assert_ne!(leased_case, offered_case);
    expect(
        server.post(
            &format!("/cases/{case}/tasks/nope/instances"),
            json!({"data": {}}),
        ),
        404,
        "task_not_found",
    );
}

#[test]
fn hostile_input_is_refused_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let bad: [(&str, Vec<u8>); 7] = [
        (
            "application/json",
            b"{\"spec\": {\"id\": \"x\", \"nets\": [".to_vec(),
        ),
        ("application/json", b"\xff\xfe not utf8".to_vec()),
        (
            "application/json",
            format!("{{\"spec\": {}1{}}}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        ),
        (
            "application/xml",
            b"<specificationSet><specification uri=\"x\">".to_vec(),
        ),
        ("application/xml", b"\xff\xfe".to_vec()),
        (
            "text/turtle",
            b"@prefix yawl: <http://bitflow.ai/ontology/yawl/v2#> . <a> a yawl:".to_vec(),
        ),
        ("text/turtle", b"<a> <b> \"unterminated .".to_vec()),
    ];
    for (content_type, body) in bad {
        let (status, reply) = server.call("POST", "/workflows", content_type, body);
        assert!(
            (400..500).contains(&status),
            "{content_type}: {status} {reply}"
        );
        assert!(reply["error"]["code"].is_string(), "{reply}");
    }
    let deep = format!(
        "{{\"spec_id\": \"x\", \"data\": {}{}}}",
        "{\"a\":".repeat(3000),
        "}".repeat(3001)
    );
    let (status, _) = server.call("POST", "/cases", "application/json", deep.into_bytes());
    assert!((400..500).contains(&status));
    assert_eq!(server.get("/health").0, 200);
    let (_, body) = server.get("/workflows");
    assert_eq!(body["workflows"], json!([]));
}

#[test]
fn concurrent_completes_of_one_item_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let spec = register_json(&server, format!("{EXAMPLES}/simple-sequence.json"));
    let (_, body) = server.post("/cases", json!({"spec_id": spec}));
    let case = body["case_id"].as_str().unwrap().to_owned();
    let item = live_items(&server, &case)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.post(&format!("/work-items/{item}/start"), json!({}));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|k| {
                let (server, item) = (&server, &item);
                scope.spawn(move || {
                    server
                        .post(
                            &format!("/work-items/{item}/complete"),
                            json!({"data": {"by": k}}),
                        )
                        .0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    let (_, history) = server.get(&format!("/cases/{case}/history"));
    let completions = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["events"].as_array().unwrap())
        .filter(|e| e["event"] == "work_item_completed")
        .count();
    assert_eq!(completions, 1);
}

#[test]
fn a_restart_finds_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let spec = register_json(&server, format!("{EXAMPLES}/simple-sequence.json"));
    let (_, body) = server.post("/cases", json!({"spec_id": spec, "data": {"n": 1}}));
    let case = body["case_id"].as_str().unwrap().to_owned();
    let item = live_items(&server, &case)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.post(&format!("/work-items/{item}/start"), json!({}));
    let before = (
        server.get(&format!("/cases/{case}")),
        server.get(&format!("/work-items?case_id={case}")),
        server.get(&format!("/cases/{case}/history")),
        server.get("/workflows"),
    );
    assert_eq!(server.stop(), Some(0), "a graceful stop exits 0");

    let server = Server::start(dir.path(), &[]);
    let after = (
        server.get(&format!("/cases/{case}")),
        server.get(&format!("/work-items?case_id={case}")),
        server.get(&format!("/cases/{case}/history")),
        server.get("/workflows"),
    );
    assert_eq!(after, before);
    let (status, _) = server.post(
        &format!("/work-items/{item}/complete"),
        json!({"data": {"m": 2}}),
    );
    assert_eq!(status, 200);
}

fn cli(server_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_knhk"))
        .env_clear()
        .env("KNHK_URL", server_url)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_cli_drives_a_case_and_explains_a_missing_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();

    let spec = format!("{EXAMPLES}/simple-sequence.json");
    let out = cli(&server.url, &["workflow", "register", &spec]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(text(&out).contains("registered simple-sequence version 1"));
    let out = cli(
        &server.url,
        &[
            "case",
            "launch",
            "simple-sequence",
            "--data",
            r#"{"n": 1}"#,
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let launched: Value = serde_json::from_slice(&out.stdout).unwrap();
    let case = launched["case_id"].as_str().unwrap().to_owned();
    for task in ["A", "B"] {
        let out = cli(
            &server.url,
            &[
                "workitem", "list", "--case", &case, "--status", "enabled", "--json",
            ],
        );
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        let item = list["work_items"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(list["work_items"][0]["task_id"], task);
        assert_eq!(
            cli(&server.url, &["workitem", "start", &item])
                .status
                .code(),
            Some(0)
        );
        let data = dir.path().join(format!("{task}.json"));
        std::fs::write(&data, format!(r#"{{"done_{task}": true}}"#)).unwrap();
        let data = format!("@{}", data.display());
        let out = cli(
            &server.url,
            &["workitem", "complete", &item, "--data", &data],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let out = cli(&server.url, &["case", "get", &case]);
    assert!(text(&out).contains("completed"), "{}", text(&out));
    assert!(text(&out).contains(r#""done_B":true"#), "{}", text(&out));
    let out = cli(
        &server.url,
        &["workflow", "get", "simple-sequence", "--json"],
    );
    let spec: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spec["id"], "simple-sequence");
    let out = cli(&server.url, &["case", "list", "--state", "completed"]);
    assert!(text(&out).contains("simple-sequence"), "{}", text(&out));

    // Refusals exit 1 with the server's message; a missing server exits 2 and says how
    // to start one.
    let out = cli(&server.url, &["case", "get", "999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("case_not_found"));
    let out = cli("http://127.0.0.1:9", &["case", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("http://127.0.0.1:9") && stderr.contains("Start one"),
        "{stderr}"
    );
}

/// The README's quick start, run line by line as written (with `knhk` on the path)
/// against a fresh server on port 8080, the port it names.
#[test]
fn the_readme_quick_start_works_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("### Quick start")
        .nth(1)
        .expect("a quick start section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a sh block in the quick start");
    let commands: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(commands.len() >= 10, "{commands:?}");

    let dir = tempfile::tempdir().unwrap();
    let port_free = std::net::TcpListener::bind("127.0.0.1:8080").is_ok();
    assert!(
        port_free,
        "the quick start needs port 8080, which is in use"
    );
    let server = Server::start_on(dir.path(), "127.0.0.1:8080");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_knhk"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for command in commands {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", command])
            .current_dir(&root)
            .env("PATH", &path)
            .env_remove("KNHK_URL")
            .output()
            .unwrap();
        assert!(out.status.success(), "`{command}` failed: {out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("\"error\""),
            "`{command}` was refused: {stdout}"
        );
    }
    let (_, body) = server.get("/cases/1");
    assert_eq!(body["case"]["state"], "completed", "{body}");
    assert_eq!(
        body["case"]["data"],
        json!({"customer": "Ada", "checked": true, "shipped": true})
    );
}

/// Regression for the issue "no request can crash knhk" (HTTP hygiene): 300 slow
/// clients holding partial request heads, against a process limited to 256 open
/// files, made `/health` time out. With the header timeout and a connection limit
/// below the file limit, `/health` keeps answering while the attack goes on.
#[test]
fn slow_clients_cannot_starve_health() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_limited(
        dir.path(),
        &[
            ("KNHK_HTTP_HEADER_READ_TIMEOUT_MS", "500"),
            ("KNHK_HTTP_CONNECTIONS_MAX", "64"),
        ],
        256,
    );
    let attack = Slowloris::start(server.address(), 300);
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(server.status_within("/health"), 200, "under attack");
        eprintln!("/health answered under attack in {:?}", started.elapsed());
    }
    let cut = attack.stop();
    assert!(cut >= 64, "the server closed only {cut} slow connections");
    assert_eq!(server.stop(), Some(0));
}

/// Out of file descriptors, accepting pauses instead of spinning, says so once per run
/// of failures, and resumes when connections close.
#[test]
fn accept_errors_pause_and_are_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_limited(
        dir.path(),
        &[("KNHK_HTTP_HEADER_READ_TIMEOUT_MS", "2000")],
        64,
    );
    let silent: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(server.address()).unwrap())
        .collect();
    let deadline = Instant::now() + PATIENCE;
    while !server.stderr().contains("cannot accept connections") {
        assert!(Instant::now() < deadline, "never ran out of files");
        std::thread::sleep(Duration::from_millis(20));
    }
    // While the silent connections hold every file (2 s), a loop retrying at once
    // would burn a whole core.
    let (ticks, started) = (server.cpu_ticks(), Instant::now());
    std::thread::sleep(Duration::from_millis(1000));
    let used = server.cpu_ticks() - ticks;
    let elapsed = started.elapsed();
    assert!(
        used * 1000 < 30 * elapsed.as_millis() as u64,
        "{used} ticks of CPU in {elapsed:?}"
    );
    assert_eq!(server.status_within("/health"), 200);
    drop(silent);
    let log = server.stderr();
    let runs = log.matches("cannot accept connections").count();
    assert!((1..=5).contains(&runs), "{log}");
    assert!(log.contains("accepting connections again"), "{log}");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn slow_heads_bodies_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("KNHK_HTTP_HEADER_READ_TIMEOUT_MS", "300"),
            ("KNHK_HTTP_BODY_TIMEOUT_MS", "300"),
            ("KNHK_HTTP_IDLE_TIMEOUT_MS", "300"),
        ],
    );
    let address = server.address();
    assert_eq!(until_closed(address, b"GET /health HTTP/1.1\r\nHost:"), "");
    let answer = until_closed(
        address,
        b"POST /cases HTTP/1.1\r\nHost: knhk\r\nContent-Type: application/json\r\n\
          Content-Length: 50\r\n\r\n{\"spec_id\": ",
    );
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert_eq!(body["error"]["details"], Value::Null);
    let answer = until_closed(address, b"GET /health HTTP/1.1\r\nHost: knhk\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn a_stop_closes_idle_connections_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut idle = TcpStream::connect(server.address()).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: knhk\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 12];
    idle.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    let mut silent = TcpStream::connect(server.address()).unwrap();
    let stderr = server.log.clone();
    assert_eq!(server.stop(), Some(0));
    // Not held open until the drain timeout: nothing was in flight.
    let log = std::fs::read_to_string(stderr).unwrap();
    assert!(!log.contains("still in flight"), "{log}");
    read_until_closed(&mut idle);
    assert_eq!(read_until_closed(&mut silent), "");
}
