//! Issue 9, "no request can crash knhk or leave its data unopenable": every reproduction
//! of the issue, through the real binary. Hostile expressions and data are refused with
//! an error and the process stays up; a data directory holding what an older knhk let
//! through opens, with the bad case quarantined; registration runs beside `/health`, not
//! in its way; API tokens decide who may do what and who a worker is; data files are
//! private; a full disk is recovered from; and the small things (ids, paging, names,
//! leases, a DSN in an error) are refused as they should be. The connection timeouts
//! are in `service.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use knhk_runtime::{Action, CaseId, Entry, RedbStore, SpecRef, StoragePaths, Store};
use serde_json::{Value, json};
use support::{EXAMPLES, Server, free_address, register_json, with_env};

/// A specification whose task `a` chooses between `b` (when `predicate` holds) and the
/// output condition, with an integer variable `amount`; `task_a` adds to `a`'s fields.
fn xor_spec(id: &str, predicate: &str, task_a: Value) -> Value {
    let mut a = json!({"id": "a", "kind": "atomic", "split": "xor"});
    a.as_object_mut()
        .unwrap()
        .extend(task_a.as_object().cloned().unwrap_or_default());
    json!({
        "id": id, "root_net": "main",
        "nets": [{
            "id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "variables": [{"name": "amount", "type": "integer", "initial": 1}],
            "tasks": [a, {"id": "b", "kind": "atomic"}],
            "flows": [{"from": "i", "to": "a"},
                      {"from": "a", "to": "b", "predicate": predicate, "ordering": 0},
                      {"from": "a", "to": "o", "default": true},
                      {"from": "b", "to": "o"}]
        }]
    })
}

/// `[` … `]` nested `depth` times around `inner`.
fn nested(depth: usize, inner: Value) -> Value {
    (0..depth).fold(inner, |value, _| Value::Array(vec![value]))
}

fn alive(server: &Server) {
    assert_eq!(server.get("/health").0, 200, "the server died");
}

#[test]
fn issue_9_hostile_expressions_are_refused_and_the_process_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let members = format!("amount{}", ".a".repeat(5_000));
    let sum = |terms: usize| format!("{} > amount", vec!["1"; terms].join(" + "));
    let parens = format!("{}amount > 0{}", "(".repeat(100_000), ")".repeat(100_000));
    for (what, predicate) in [
        ("5,000 members", members),
        ("7,000 terms", sum(7_000)),
        ("5,000 terms", sum(5_000)),
        ("100,000 parentheses", parens),
    ] {
        let (status, body) = server.post(
            "/workflows",
            json!({"spec": xor_spec("hostile", &predicate, json!({}))}),
        );
        assert_eq!(status, 422, "{what}: {body}");
        assert_eq!(body["error"]["code"], "invalid_specification", "{what}");
        // The message quotes the expression, not all of it.
        assert!(
            body.to_string().len() < 20_000,
            "{what}: {} bytes",
            body.to_string().len()
        );
        alive(&server);
    }
    // An expression within the limits still runs.
    let (status, body) = server.post(
        "/workflows",
        json!({"spec": xor_spec("fine", "amount > 0", json!({}))}),
    );
    assert_eq!(status, 201, "{body}");
}

/// Opens the store of data directory `dir` as the server would, to forge what an older
/// knhk may have left there.
fn store_of(dir: &Path) -> RedbStore {
    StoragePaths::new(dir, None).open_store().unwrap()
}

/// A launch record of case `case` on `spec` version 1.
fn launch_record(case: u64, spec: &str) -> knhk_runtime::Record {
    let entry = Entry {
        at_ms: 1_700_000_000_000,
        action: Action::Launch {
            spec: SpecRef {
                id: spec.to_owned(),
                version: 1,
            },
            data: json!({}),
            seed: 1,
            limits: knhk_kernel::Limits::default(),
            trace: None,
        },
        events: Vec::new(),
    };
    entry.to_record(CaseId(case), 0).unwrap()
}

/// `knhk store check` on `dir`: exit code and output.
fn store_check(dir: &Path) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_knhk"))
        .args(["store", "check", "--data-dir"])
        .arg(dir)
        .env_clear()
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

#[test]
fn issue_9_a_stored_specification_over_the_limits_no_longer_loops_restarts() {
    // An older knhk accepted this specification and a case of it, whose timer then
    // overflowed the stack at every start.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let predicate = format!("{} > amount", vec!["1"; 5_000].join(" + "));
    let timer = json!({"timer": {"trigger": "on_enabled", "duration_ms": 2000}});
    let spec = xor_spec("looping", &predicate, timer);
    {
        let store = store_of(&data);
        store.put_spec("looping", 1, &spec.to_string()).unwrap();
        store.append(&[launch_record(1, "looping")]).unwrap();
    }
    let server = Server::start(&data, &[]);
    let (status, ready) = server.get("/ready");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["quarantined_cases"], 1);
    assert!(
        ready["broken_specifications"][0]
            .as_str()
            .unwrap()
            .starts_with("looping v1: "),
        "{ready}"
    );
    let (status, case) = server.get("/cases/1");
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["case"]["state"], "quarantined");
    assert_eq!(case["case"]["spec_id"], "looping");
    assert!(
        case["case"]["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("looping")
    );
    let (status, refused) = server.post("/cases/1/cancel", json!({}));
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("case_quarantined"))
    );
    let (status, listed) = server.get("/cases?state=quarantined");
    assert_eq!(status, 200);
    assert_eq!(listed["cases"][0]["case_id"], "1");
    // Well past the timer's due time, the server still serves.
    std::thread::sleep(Duration::from_millis(2500));
    alive(&server);
    // A corrected specification takes the next version; new cases get new ids.
    let fixed = xor_spec("looping", "amount > 0", json!({}));
    let (status, body) = server.post("/workflows", json!({"spec": fixed}));
    assert_eq!((status, body["version"].as_u64()), (201, Some(2)), "{body}");
    let (status, body) = server.post("/cases", json!({"spec_id": "looping"}));
    assert_eq!(
        (status, body["case_id"].as_str()),
        (201, Some("2")),
        "{body}"
    );
    assert_eq!(server.stop(), Some(0));

    let (code, report) = store_check(&data);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains("specification looping v1 does not load"),
        "{report}"
    );
    assert!(report.contains("case 1 would be quarantined"), "{report}");
}

#[test]
fn issue_9_data_cannot_grow_deeper_than_the_store_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);

    // Initial values count: 120 levels with a limit of 32 are refused at registration.
    let mut deep_initial = xor_spec("deep-initial", "amount > 0", json!({}));
    deep_initial["nets"][0]["variables"][0] =
        json!({"name": "deep", "type": "any", "initial": nested(120, json!(1))});
    let (status, body) = server.post("/workflows", json!({"spec": deep_initial}));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("data_too_deep")),
        "{body}"
    );

    // A variable 30 levels deep, and a mapping that wraps the output in 8 more.
    let wrapped = format!("{}output.x{}", "[".repeat(8), "]".repeat(8));
    let mapping = json!({"output_mappings": [{"to": "deep", "expression": wrapped}]});
    let mut spec = xor_spec("deep", "amount > 0", mapping);
    spec["nets"][0]["variables"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "deep", "type": "any", "initial": nested(30, json!(1))}));
    let (status, body) = server.post("/workflows", json!({"spec": spec}));
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.post("/cases", json!({"spec_id": "deep"}));
    assert_eq!(status, 201, "{body}");
    let case = body["case_id"].as_str().unwrap().to_owned();
    let item = format!("{case}-1");
    assert_eq!(
        server
            .post(&format!("/work-items/{item}/start"), json!({}))
            .0,
        200
    );
    let output = json!({"data": {"x": nested(30, json!(1))}});
    let (status, body) = server.post(&format!("/work-items/{item}/complete"), output);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("data_too_deep")),
        "{body}"
    );
    // Refused, nothing changed: the case reads, the item can still be completed.
    let (status, body) = server.get(&format!("/cases/{case}"));
    assert_eq!(
        (status, body["case"]["state"].as_str()),
        (200, Some("running")),
        "{body}"
    );
    let (status, body) = server.post(
        &format!("/work-items/{item}/complete"),
        json!({"data": {"x": 1}}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.stop(), Some(0));
    // And the data directory opens again.
    let server = Server::start(&data, &[]);
    assert_eq!(server.get(&format!("/cases/{case}")).0, 200);
}

#[test]
fn issue_9_a_snapshot_that_does_not_decode_quarantines_one_case() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let server = Server::start(&data, &[]);
        register_json(&server, Path::new(EXAMPLES).join("simple-sequence.json"));
        for _ in 0..2 {
            let (status, body) = server.post("/cases", json!({"spec_id": "simple-sequence"}));
            assert_eq!(status, 201, "{body}");
        }
        assert_eq!(server.post("/cases/2/cancel", json!({})).0, 200);
        assert_eq!(server.stop(), Some(0));
    }
    // What an older knhk wrote for case 2: its final snapshot with case data nested
    // beyond what serde_json reads.
    {
        let store = store_of(&data);
        let latest = store.read_latest(CaseId(2)).unwrap();
        let (seq, bytes) = latest.snapshot.expect("an ended case has a final snapshot");
        let mut image: Value = serde_json::from_slice(&bytes).unwrap();
        image["case"]["final_data"]["deep"] = nested(140, json!(1));
        let entry = Entry {
            at_ms: 1_700_000_000_000,
            action: Action::Command {
                command: knhk_kernel::Command::CancelCase,
                worker: None,
            },
            events: Vec::new(),
        };
        let mut record = entry.to_record(CaseId(2), seq + 1).unwrap();
        record.snapshot = Some(image.to_string().into_bytes());
        store.append(&[record]).unwrap();
    }
    let server = Server::start(&data, &[]);
    let (_, ready) = server.get("/ready");
    assert_eq!(ready["quarantined_cases"], 1, "{ready}");
    let (status, body) = server.get("/cases/2");
    assert_eq!(status, 200);
    assert_eq!(body["case"]["state"], "quarantined");
    assert_eq!(body["case"]["reason"]["seq"], 2);
    let reason = body["case"]["reason"]["message"].as_str().unwrap();
    assert!(
        reason.contains("snapshot does not decode: recursion limit exceeded"),
        "{reason}"
    );
    let (status, body) = server.get("/work-items?case_id=2");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("case_quarantined"))
    );
    // Case 1 goes on.
    assert_eq!(server.post("/work-items/1-1/start", json!({})).0, 200);
    assert_eq!(server.stop(), Some(0));
    let (code, report) = store_check(&data);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains("case 2 would be quarantined (record 2)"),
        "{report}"
    );
}

/// A specification whose soundness check explores many states: an AND-split into
/// `branches` tasks joined by an OR-join, `nets` times over (one subnet each).
fn or_join_heavy(id: &str, branches: usize) -> Value {
    let tasks: Vec<Value> =
        std::iter::once(json!({"id": "split", "kind": "empty", "split": "and"}))
            .chain((0..branches).map(|k| json!({"id": format!("t{k}"), "kind": "atomic"})))
            .chain(std::iter::once(
                json!({"id": "join", "kind": "empty", "join": "or"}),
            ))
            .collect();
    let mut flows = vec![
        json!({"from": "i", "to": "split"}),
        json!({"from": "join", "to": "o"}),
    ];
    for k in 0..branches {
        flows.push(json!({"from": "split", "to": format!("t{k}")}));
        flows.push(json!({"from": format!("t{k}"), "to": "join"}));
    }
    json!({"id": id, "root_net": "main", "nets": [{
        "id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": tasks, "flows": flows}]})
}

#[test]
fn issue_9_registration_runs_beside_health_not_in_its_way() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("KNHK_VERIFY_TIME_MAX_MS", "1000"),
        ("KNHK_REGISTRATIONS_MAX", "1"),
    ];
    let server = Server::start(&dir.path().join("data"), &env);
    let registering: Vec<_> = (0..2)
        .map(|n| {
            let url = server.url.clone();
            std::thread::spawn(move || {
                let spec = or_join_heavy(&format!("heavy-{n}"), 18);
                let body = json!({"spec": spec}).to_string();
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut response = agent
                    .post(format!("{url}/workflows"))
                    .header("Content-Type", "application/json")
                    .send(body)
                    .unwrap();
                let status = response.status().as_u16();
                let text = response.body_mut().read_to_string().unwrap();
                (status, serde_json::from_str::<Value>(&text).unwrap())
            })
        })
        .collect();
    // While both are checked (one at a time), /health answers every time.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        assert_eq!(server.status_within("/health"), 200);
        std::thread::sleep(Duration::from_millis(50));
    }
    for thread in registering {
        let (status, body) = thread.join().unwrap();
        match status {
            // Verified within the budget, or cut short: soundness unknown, a warning.
            201 => {}
            // Waited longer than the budget for its turn.
            503 => assert_eq!(body["error"]["code"], "busy", "{body}"),
            _ => panic!("{status}: {body}"),
        }
    }
    // A broken net of thousands of elements: the answer lists the first findings and
    // counts them all, rather than growing with the net.
    let loose: Vec<Value> = (0..3_000)
        .map(|k| json!({"id": format!("loose-{k}"), "kind": "atomic"}))
        .collect();
    let broken = json!({"id": "broken", "root_net": "main", "nets": [{
        "id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": loose, "flows": [{"from": "i", "to": "o"}]}]});
    let (status, body) = server.post("/workflows", json!({"spec": broken}));
    assert_eq!(status, 422, "{body}");
    let details = &body["error"]["details"];
    assert_eq!(details["errors"].as_array().unwrap().len(), 100);
    assert!(
        details["errors_total"].as_u64().unwrap() >= 3_000,
        "{details}"
    );
    // 100,000 tasks (about 7 MB): refused for its size, before any verification.
    let tasks: Vec<Value> = (0..100_000)
        .map(|k| json!({"id": format!("task-number-{k}"), "kind": "atomic"}))
        .collect();
    let huge = json!({"id": "huge", "root_net": "main", "nets": [{
        "id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": tasks, "flows": [{"from": "i", "to": "o"}]}]});
    let (status, body) = server.post("/workflows", json!({"spec": huge}));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("specification_too_large")),
        "{body}"
    );
    alive(&server);
}

/// A tokens file for `alice` (worker), `bob` (worker), `rita` (reader), `otto`
/// (operator) and `root` (admin), each token being `<name>-token-…`.
fn tokens_file(dir: &Path) -> std::path::PathBuf {
    let entries: String = [
        ("alice", "worker"),
        ("bob", "worker"),
        ("rita", "reader"),
        ("otto", "operator"),
        ("root", "admin"),
    ]
    .iter()
    .map(|(name, role)| {
        format!(
            "[[token]]\nidentity = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n",
            knhk_server::auth::token_hash(&token(name))
        )
    })
    .collect();
    let path = dir.join("tokens.toml");
    std::fs::write(&path, entries).unwrap();
    path
}

fn token(name: &str) -> String {
    format!("{name}-token-0123456789abcdef0123456789")
}

/// `(status, body)` of a call with `name`'s token.
fn as_user(server: &Server, name: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let bearer = format!("Bearer {}", token(name));
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    server.call_with(
        &[("Authorization", &bearer)],
        method,
        path,
        "application/json",
        bytes,
    )
}

#[test]
fn issue_9_tokens_decide_who_may_do_what_and_who_a_worker_is() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = tokens_file(dir.path());
    let env = [("KNHK_API_TOKENS_FILE", tokens.to_str().unwrap())];
    let server = Server::start(&dir.path().join("data"), &env);
    // Public: health and readiness (without the open-API warning).
    assert_eq!(server.get("/health").0, 200);
    let (status, ready) = server.get("/ready");
    assert_eq!((status, ready["warnings"].clone()), (200, json!([])));
    // Everything else needs a known token.
    for path in ["/workflows", "/cases", "/openapi.json"] {
        let (status, body) = server.get(path);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "{path}"
        );
    }
    let bad = [("Authorization", "Bearer not-a-token")];
    assert_eq!(
        server
            .call_with(&bad, "GET", "/cases", "application/json", Vec::new())
            .0,
        401
    );

    let spec: Value = serde_json::from_slice(
        &std::fs::read(Path::new(EXAMPLES).join("simple-sequence.json")).unwrap(),
    )
    .unwrap();
    let register = json!({"spec": spec});
    let (status, body) = as_user(&server, "alice", "POST", "/workflows", register.clone());
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert_eq!(
        as_user(&server, "otto", "POST", "/workflows", register).0,
        201
    );
    let launch = json!({"spec_id": "simple-sequence", "data": {"customer": "Ada"}});
    assert_eq!(
        as_user(&server, "rita", "POST", "/cases", launch.clone()).0,
        403
    );
    assert_eq!(as_user(&server, "otto", "POST", "/cases", launch).0, 201);
    assert_eq!(
        as_user(&server, "rita", "GET", "/cases/1", Value::Null).0,
        200
    );
    assert_eq!(
        as_user(&server, "rita", "POST", "/work-items/1-1/start", json!({})).0,
        403
    );

    // A worker is who its token says: alice cannot claim to be bob.
    let (status, body) = as_user(
        &server,
        "alice",
        "POST",
        "/work-items/1-1/start",
        json!({"worker": "bob"}),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let claim = json!({"task_id": "A", "lease_ms": 60_000});
    let (status, body) = as_user(&server, "alice", "POST", "/work-items/claim", claim);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["work_items"][0]["lease"]["worker"], "alice");
    // bob cannot complete alice's item, by name or otherwise; alice can.
    let done = json!({"data": {"checked": true}});
    let (status, body) = as_user(
        &server,
        "bob",
        "POST",
        "/work-items/1-1/complete",
        done.clone(),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("lease_held")),
        "{body}"
    );
    let as_alice = json!({"data": {"checked": true}, "worker": "alice"});
    assert_eq!(
        as_user(&server, "bob", "POST", "/work-items/1-1/complete", as_alice).0,
        403
    );
    assert_eq!(
        as_user(&server, "alice", "POST", "/work-items/1-1/complete", done).0,
        200
    );
    // An admin may act for a worker (to free what one left behind).
    assert_eq!(
        as_user(
            &server,
            "otto",
            "POST",
            "/work-items/1-2/start",
            json!({"worker": "bob"})
        )
        .0,
        403
    );
    assert_eq!(
        as_user(
            &server,
            "root",
            "POST",
            "/work-items/1-2/start",
            json!({"worker": "bob"})
        )
        .0,
        200
    );

    // The CLI sends KNHK_TOKEN.
    let cli = |token: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_knhk"));
        command
            .args(["--url", &server.url, "case", "get", "1"])
            .env_clear();
        if let Some(token) = token {
            command.env("KNHK_TOKEN", token);
        }
        command.output().unwrap()
    };
    let output = cli(Some(&token("rita")));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = cli(None);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unauthorized"));
}

#[test]
fn issue_9_an_open_api_beyond_loopback_is_announced() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_address().rsplit(':').next().unwrap().to_owned();
    // Connecting to 0.0.0.0 reaches this machine, which the server listens on too.
    let server = Server::spawn(&dir.path().join("data"), &format!("0.0.0.0:{port}"), &[]);
    let (_, ready) = server.get("/ready");
    let warning = ready["warnings"][0].as_str().unwrap();
    assert!(warning.contains("the API is open"), "{warning}");
    assert!(
        server.stderr().contains("WARNING: the API is open"),
        "{}",
        server.stderr()
    );
}

#[test]
fn issue_9_data_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let address = free_address();
    let mut command = Command::new("/bin/sh");
    command.args([
        "-c",
        r#"umask 000 && exec "$0""#,
        env!("CARGO_BIN_EXE_knhk"),
    ]);
    // The database one directory further in: both directories are the server's own.
    let env = [("KNHK_WORKFLOW_DB_PATH", "engine/workflow_db")];
    let command = with_env(command, &data, &address, &env);
    let server = Server::spawn_command(command, &data, &address);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("engine")), 0o700);
    assert_eq!(mode(&data.join("engine/workflow_db")), 0o600);
    drop(server);
}

#[test]
fn issue_9_the_small_things() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    register_json(&server, Path::new(EXAMPLES).join("simple-sequence.json"));
    assert_eq!(
        server
            .post("/cases", json!({"spec_id": "simple-sequence"}))
            .0,
        201
    );
    // Ids are written one way, and every refusal is in the envelope.
    for path in [
        "/cases/%FF",
        "/cases/+1",
        "/cases/01",
        "/cases/0",
        "/work-items/1-01",
    ] {
        let (status, body) = server.get(path);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
    let (status, body) = server.get("/cases?after=18446744073709551615");
    assert_eq!((status, body["cases"].clone()), (200, json!([])), "{body}");
    let (status, body) = server.get("/work-items?after=1-18446744073709551615");
    assert_eq!(status, 200, "{body}");
    // Names: a NUL in a specification id, a 15 MB worker name.
    let mut spec: Value = serde_json::from_slice(
        &std::fs::read(Path::new(EXAMPLES).join("simple-sequence.json")).unwrap(),
    )
    .unwrap();
    spec["id"] = json!("nul\u{0}id");
    let (status, body) = server.post("/workflows", json!({"spec": spec}));
    assert_eq!(status, 422, "{body}");
    let worker = "w".repeat(15 * 1024 * 1024);
    let (status, body) = server.post("/work-items/1-1/start", json!({"worker": worker}));
    assert_eq!(
        status,
        400,
        "{}",
        &body.to_string()[..200.min(body.to_string().len())]
    );
    assert!(body.to_string().len() < 1000);
    // A lease of u64::MAX ms is not forever.
    let claim = json!({"task_id": "A", "worker": "w", "lease_ms": u64::MAX});
    let (status, body) = server.post("/work-items/claim", claim);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    drop(server);

    // A key=value DSN's password is not echoed.
    let output = Command::new(env!("CARGO_BIN_EXE_knhk"))
        .env_clear()
        .env("KNHK_DATABASE_URL", "host=db user=admin password=s3cret-pw")
        .env("KNHK_STATE_STORE_PATH", dir.path().join("other"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("password=***") && !stderr.contains("s3cret-pw"),
        "{stderr}"
    );
}

/// Runs `knhk` in its own mount namespace (as root of a user namespace), with its data
/// directory on a tmpfs of `size` at `mount`, which starts empty. The test reaches the
/// tmpfs through `/proc/<pid>/root`.
fn on_small_disk(mount: &Path, size: &str, env: &[(&str, &str)]) -> Server {
    std::fs::create_dir_all(mount).unwrap();
    let data = mount.join("data");
    let address = free_address();
    let mut command = Command::new("unshare");
    command.args([
        "--user",
        "--map-root-user",
        "--mount",
        "/bin/sh",
        "-c",
        r#"mount -t tmpfs -o size="$2" tmpfs "$1" && exec "$0""#,
        env!("CARGO_BIN_EXE_knhk"),
    ]);
    command.arg(mount).arg(size);
    Server::spawn_command(with_env(command, &data, &address, env), &data, &address)
}

#[test]
fn issue_9_a_full_disk_is_recovered_from_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("disk");
    let server = on_small_disk(&mount, "8m", &[]);
    // The server's view of its disk.
    let disk = Path::new("/proc")
        .join(server.child.id().to_string())
        .join("root")
        .join(mount.strip_prefix("/").unwrap());
    register_json(&server, Path::new(EXAMPLES).join("simple-sequence.json"));
    let launch = json!({"spec_id": "simple-sequence", "data": {"customer": "Ada"}});
    let mut acknowledged = 0;
    for _ in 0..5 {
        assert_eq!(server.post("/cases", launch.clone()).0, 201);
        acknowledged += 1;
    }

    // Fill the disk, then launch until a commit fails for lack of space.
    let filler = disk.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }
    let mut failed = None;
    for _ in 0..2000 {
        let (status, body) = server.post("/cases", launch.clone());
        match status {
            201 => acknowledged += 1,
            _ => {
                failed = Some((status, body));
                break;
            }
        }
    }
    let (status, body) = failed.expect("a full disk fails a commit");
    assert_eq!(status, 500, "{body}");
    // It stays failed while the disk is full: /ready says so, writes are refused.
    let (status, ready) = server.get("/ready");
    assert_eq!(
        (status, ready["error"]["code"].as_str()),
        (503, Some("store_unavailable")),
        "{ready}"
    );
    for _ in 0..3 {
        assert_ne!(server.post("/cases", launch.clone()).0, 201);
    }
    assert_eq!(server.get("/health").0, 200);
    // Reads still work.
    assert_eq!(server.get("/cases/1").0, 200);

    // Space comes back: the store recovers by itself, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.get("/ready").0 != 200 {
        assert!(Instant::now() < deadline, "the store never recovered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = server.post("/cases", launch.clone());
    assert_eq!(status, 201, "{body}");
    acknowledged += 1;
    let log = server.stderr();
    assert_eq!(log.matches("the store cannot write").count(), 1, "{log}");
    assert!(log.contains("the store writes again"), "{log}");

    // Nothing acknowledged was lost.
    let (_, cases) = server.get("/cases?limit=10000");
    assert_eq!(cases["cases"].as_array().unwrap().len(), acknowledged);
    assert_eq!(server.stop(), Some(0));
}
