//! The XES export end to end: cases run through the real server's HTTP API, the log
//! exported by the real CLI (`knhk workflow export-xes`), and read back by PM4Py, whose
//! directly-follows graph must be exactly the net's.
//!
//! PM4Py runs in the checkout's virtual environment (`.venv/`, made by `.ci/deps.sh`
//! from `.ci/requirements.txt`), or in the Python `KNHK_TEST_PYTHON` names. Without it
//! the test fails and says how to install it: it is never skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Server, live_items};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// a, then b or c (by the case's `branch`), then d.
fn choice_spec() -> Value {
    json!({
        "id": "choice", "root_net": "main",
        "nets": [{
            "id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "a", "kind": "atomic", "split": "xor"},
                {"id": "b", "kind": "atomic"},
                {"id": "c", "kind": "atomic"},
                {"id": "d", "kind": "atomic", "join": "xor"}
            ],
            "flows": [
                {"from": "i", "to": "a"},
                {"from": "a", "to": "b", "predicate": "branch == 'b'", "ordering": 1},
                {"from": "a", "to": "c", "default": true},
                {"from": "b", "to": "d"},
                {"from": "c", "to": "d"},
                {"from": "d", "to": "o"}
            ],
            "variables": [{"name": "branch", "type": "string", "initial": "c"}]
        }]
    })
}

/// The Python with PM4Py: `KNHK_TEST_PYTHON`, or the checkout's `.venv`.
fn python() -> PathBuf {
    let python = std::env::var_os("KNHK_TEST_PYTHON")
        .map_or_else(|| Path::new(ROOT).join(".venv/bin/python3"), PathBuf::from);
    let hint = "run `.ci/deps.sh` in the checkout (it makes .venv/ with .ci/requirements.txt), \
                or point KNHK_TEST_PYTHON at a Python with pm4py";
    assert!(
        python.exists(),
        "no Python for the XES test at {}: {hint}",
        python.display()
    );
    let import = Command::new(&python)
        .args(["-c", "import pm4py"])
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{} cannot import pm4py ({}): {hint}",
        python.display(),
        String::from_utf8_lossy(&import.stderr)
    );
    python
}

/// Reads the XES file with PM4Py and prints the directly-follows graph of the
/// `complete` events, the traces, and the resources, as JSON.
const DFG_SCRIPT: &str = r#"
import json, sys
import pm4py

log = pm4py.read_xes(sys.argv[1])
complete = log[log["lifecycle:transition"] == "complete"]
dfg, start, end = pm4py.discover_dfg(complete)
print(json.dumps({
    "edges": sorted(f"{a}->{b}" for (a, b) in dfg),
    "start": sorted(start),
    "end": sorted(end),
    "traces": sorted(log["case:concept:name"].unique().tolist()),
    "transitions": sorted(log["lifecycle:transition"].unique().tolist()),
    "resources": sorted(log["org:resource"].dropna().unique().tolist()),
}))
"#;

fn cli(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knhk"))
        .env_clear()
        .env("KNHK_URL", &server.url)
        .args(args)
        .output()
        .unwrap()
}

/// Runs case `case` to its end: every live item started and completed by `worker`,
/// a few ms apart so that every event has its own time.
fn run(server: &Server, case: &str, worker: &str) {
    for _ in 0..10 {
        let items = live_items(server, case);
        let Some(item) = items.first() else {
            return;
        };
        let id = item["id"].as_str().unwrap();
        std::thread::sleep(Duration::from_millis(3));
        let (status, body) = server.post(
            &format!("/work-items/{id}/start"),
            json!({"worker": worker}),
        );
        assert_eq!(status, 200, "{body}");
        std::thread::sleep(Duration::from_millis(3));
        let (status, body) = server.post(
            &format!("/work-items/{id}/complete"),
            json!({"data": {}, "worker": worker}),
        );
        assert_eq!(status, 200, "{body}");
    }
    panic!("case {case} did not end");
}

#[test]
fn pm4py_reads_the_exported_log_and_finds_the_nets_directly_follows_graph() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let (status, body) = server.post("/workflows", json!({"spec": choice_spec()}));
    assert_eq!(status, 201, "{body}");
    // A case of another specification, which the export leaves out.
    let (status, body) = server.post(
        "/workflows",
        json!({"spec": serde_json::from_slice::<Value>(&support::read(
            format!("{}/simple-sequence.json", support::EXAMPLES)
        )).unwrap()}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, other) = server.post("/cases", json!({"spec_id": "simple-sequence"}));
    assert_eq!(status, 201, "{other}");

    let mut cases = Vec::new();
    for (k, branch) in ["b", "c", "b", "c", "b"].into_iter().enumerate() {
        let (status, body) = server.post(
            "/cases",
            json!({"spec_id": "choice", "data": {"branch": branch}}),
        );
        assert_eq!(status, 201, "{body}");
        let case = body["case_id"].as_str().unwrap().to_owned();
        run(&server, &case, if k % 2 == 0 { "ann" } else { "bob" });
        let (_, body) = server.get(&format!("/cases/{case}"));
        assert_eq!(body["case"]["state"], "completed", "{body}");
        cases.push(case);
    }

    let file = dir.path().join("choice.xes");
    let out = cli(
        &server,
        &[
            "workflow",
            "export-xes",
            "choice",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.ends_with("</log>\n"));
    // Standard output gets the same document.
    let out = cli(&server, &["workflow", "export-xes", "choice"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), saved);

    let script = dir.path().join("dfg.py");
    std::fs::write(&script, DFG_SCRIPT).unwrap();
    let read = Command::new(&python)
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "PM4Py failed: {}",
        String::from_utf8_lossy(&read.stderr)
    );
    let found: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(found["edges"], json!(["a->b", "a->c", "b->d", "c->d"]));
    assert_eq!(found["start"], json!(["a"]));
    assert_eq!(found["end"], json!(["d"]));
    let mut expected = cases.clone();
    expected.sort();
    assert_eq!(found["traces"], json!(expected));
    assert_eq!(
        found["transitions"],
        json!(["complete", "schedule", "start"])
    );
    assert_eq!(found["resources"], json!(["ann", "bob"]));
}

#[test]
fn the_cli_export_refuses_an_unknown_specification_and_keeps_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let file = dir.path().join("none.xes");
    let out = cli(
        &server,
        &[
            "workflow",
            "export-xes",
            "nope",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("spec_not_found"));
    assert!(!file.exists(), "a refused export writes no file");

    let (status, body) = server.post("/workflows", json!({"spec": choice_spec()}));
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.post("/cases", json!({"spec_id": "choice"}));
    assert_eq!(status, 201, "{body}");
    let launched = body["case"]["launched_at_ms"].as_u64().unwrap();
    let window = |from: u64, to: u64| {
        let out = cli(
            &server,
            &[
                "workflow",
                "export-xes",
                "choice",
                "-o",
                "-",
                "--from",
                &from.to_string(),
                "--to",
                &to.to_string(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(window(launched, launched + 1).contains("<trace>"));
    assert!(!window(launched + 1, i64::MAX as u64).contains("<trace>"));
    assert!(!window(0, launched).contains("<trace>"));
}
