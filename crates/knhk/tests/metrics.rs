//! `GET /metrics` scraped by a real Prometheus (Debian's `prometheus`, started here on a
//! free port with a 1 s scrape interval), every value checked through Prometheus's own
//! query API; the alert rules checked by `promtool`; and every PromQL expression of the
//! dashboard and the rules evaluated against the same Prometheus, so that none names a
//! metric or a label the service does not export. `.ci/deps.sh` installs Prometheus.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{EXAMPLES, Server, free_address, register_json};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy");

/// A Prometheus scraping one knhk server.
struct Prometheus {
    child: Child,
    url: String,
}

impl Prometheus {
    fn start(dir: &Path, target: &str) -> Prometheus {
        let binary = which("prometheus");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 rule_files: ['{DEPLOY}/prometheus/alerts.yml']\n\
                 scrape_configs:\n  - job_name: knhk\n    static_configs:\n      \
                 - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let address = free_address();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let prometheus = Prometheus {
            child,
            url: format!("http://{address}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let ready = format!("{}/-/ready", prometheus.url);
        while !Server::agent()
            .get(&ready)
            .call()
            .is_ok_and(|r| r.status() == 200)
        {
            assert!(Instant::now() < deadline, "Prometheus never got ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        prometheus.wait_for("up{job=\"knhk\"}", 1.0);
        prometheus
    }

    /// The raw answer of the query API to `expr`.
    fn query_raw(&self, expr: &str) -> Value {
        let mut response = Server::agent()
            .get(format!("{}/api/v1/query", self.url))
            .query("query", expr)
            .call()
            .unwrap();
        serde_json::from_slice(&response.body_mut().read_to_vec().unwrap()).unwrap()
    }

    /// The label names the series of metric `name` carry (empty: no such series).
    fn labels_of(&self, name: &str) -> BTreeSet<String> {
        let mut response = Server::agent()
            .get(format!("{}/api/v1/labels", self.url))
            .query("match[]", name)
            .call()
            .unwrap();
        let answer: Value =
            serde_json::from_slice(&response.body_mut().read_to_vec().unwrap()).unwrap();
        assert_eq!(answer["status"], "success", "{answer}");
        answer["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect()
    }

    /// Evaluates `expr` (a dashboard's or a rule's), and checks that every knhk metric
    /// it names has series and that every label it matches or groups by is on them.
    fn check_expression(&self, expr: &str) {
        let answer = self.query_raw(expr);
        assert_eq!(answer["status"], "success", "{expr}: {answer}");
        let mut known = BTreeSet::new();
        for (name, matchers) in selectors(expr) {
            let labels = self.labels_of(&name);
            assert!(!labels.is_empty(), "{expr}: no series of {name}");
            for label in matchers {
                assert!(
                    labels.contains(&label),
                    "{expr}: {name} has no label {label}"
                );
            }
            known.extend(labels);
        }
        for label in grouping(expr) {
            assert!(
                known.contains(&label),
                "{expr}: groups by {label}, which its metrics lack"
            );
        }
    }

    /// The value of `expr`, which must select at most one series (`None`: none).
    fn value(&self, expr: &str) -> Option<f64> {
        let answer = self.query_raw(expr);
        assert_eq!(answer["status"], "success", "{expr}: {answer}");
        let result = answer["data"]["result"].as_array().unwrap();
        assert!(result.len() <= 1, "{expr} selects several series: {answer}");
        result
            .first()
            .map(|series| series["value"][1].as_str().unwrap().parse().unwrap())
    }

    /// Waits until `expr` has value `expected` (after a scrape), and fails with what it
    /// has otherwise.
    fn wait_for(&self, expr: &str, expected: f64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let value = self.value(expr);
            if value == Some(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{expr} is {value:?}, expected {expected}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The knhk metrics `expr` selects, each with the label names its matchers use.
fn selectors(expr: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("knhk_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].to_owned();
        let mut labels = Vec::new();
        rest = &tail[end..];
        if let Some(inside) = rest.strip_prefix('{') {
            let close = inside.find('}').unwrap();
            for matcher in inside[..close].split(',').filter(|m| !m.trim().is_empty()) {
                let label = matcher.split(['=', '!']).next().unwrap().trim();
                labels.push(label.to_owned());
            }
            rest = &inside[close..];
        }
        found.push((name, labels));
    }
    found
}

/// The label names of `expr`'s `by (...)` clauses.
fn grouping(expr: &str) -> Vec<String> {
    expr.split("by (")
        .skip(1)
        .flat_map(|clause| {
            clause[..clause.find(')').unwrap()]
                .split(',')
                .map(|l| l.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every PromQL expression of the dashboard, with Grafana's variables given values.
fn dashboard_expressions() -> Vec<String> {
    let dashboard: Value = serde_json::from_slice(&support::read(format!(
        "{DEPLOY}/grafana/knhk-dashboard.json"
    )))
    .unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            exprs.push(
                expr.replace("$__rate_interval", "1m")
                    .replace("$spec_id", ".*"),
            );
        }
    }
    let variable = &dashboard["templating"]["list"][0]["definition"];
    assert_eq!(variable, "label_values(knhk_workflow_cases_total, spec_id)");
    exprs.push("group by (spec_id) (knhk_workflow_cases_total)".to_owned());
    exprs
}

/// Every expression of the alert rules.
fn rule_expressions(prometheus: &Prometheus) -> Vec<String> {
    let mut response = Server::agent()
        .get(format!("{}/api/v1/rules", prometheus.url))
        .call()
        .unwrap();
    let answer: Value =
        serde_json::from_slice(&response.body_mut().read_to_vec().unwrap()).unwrap();
    let rules: Vec<&Value> = answer["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    assert_eq!(rules.len(), 11, "{answer}");
    rules
        .iter()
        .map(|rule| {
            // Prometheus evaluates each rule every second: none may fail.
            assert_eq!(rule["health"], "ok", "{rule}");
            rule["query"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let output = Command::new(which("promtool"))
        .args(["check", "rules", &format!("{DEPLOY}/prometheus/alerts.yml")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("SUCCESS: 11 rules found"), "{text}");
}

fn which(tool: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(tool))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("`{tool}` is not installed: run .ci/deps.sh"))
}

/// A net that deadlocks: `split` routes its only token to `c1` (its predicate to `c2` is
/// false), and `join` waits for both.
fn deadlocking() -> Value {
    json!({"spec": {
        "id": "stuck", "name": "stuck", "root_net": "main",
        "nets": [{
            "id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "conditions": [{"id": "c1"}, {"id": "c2"}],
            "tasks": [
                {"id": "split", "kind": "atomic", "split": "xor"},
                {"id": "join", "kind": "atomic", "join": "and"}
            ],
            "flows": [
                {"from": "i", "to": "split"},
                {"from": "split", "to": "c1", "default": true},
                {"from": "split", "to": "c2", "predicate": "false"},
                {"from": "c1", "to": "join"}, {"from": "c2", "to": "join"},
                {"from": "join", "to": "o"}
            ]
        }]
    }})
}

fn launch(server: &Server, spec: &str, data: Value) -> String {
    let (status, body) = server.post("/cases", json!({"spec_id": spec, "data": data}));
    assert_eq!(status, 201, "{body}");
    body["case_id"].as_str().unwrap().to_owned()
}

/// Starts and completes the live work item of `case` for `task`.
fn run(server: &Server, case: &str, task: &str) {
    let items = support::live_items(server, case);
    let item = items
        .iter()
        .find(|i| i["task_id"] == task)
        .unwrap_or_else(|| panic!("case {case} has no work item of {task}: {items:?}"));
    let id = item["id"].as_str().unwrap();
    let (status, body) = server.post(&format!("/work-items/{id}/start"), json!({}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post(&format!("/work-items/{id}/complete"), json!({}));
    assert_eq!(status, 200, "{body}");
}

fn state(server: &Server, case: &str) -> String {
    let (_, body) = server.get(&format!("/cases/{case}"));
    body["case"]["state"].as_str().unwrap().to_owned()
}

#[test]
fn prometheus_scrapes_every_metric_with_the_values_of_a_known_mix() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [
        ("KNHK_METRICS_HOT_PATH_SAMPLE_EVERY", "1"),
        ("KNHK_METRICS_SPEC_IDS_MAX", "3"),
    ];
    let server = Server::start(&data, &env);
    let sequence = register_json(&server, format!("{EXAMPLES}/simple-sequence.json"));
    let merge = register_json(
        &server,
        format!("{EXAMPLES}/patterns/wcp_07_structured_synchronizing_merge.json"),
    );
    let (status, body) = server.post("/workflows", deadlocking());
    assert_eq!(status, 201, "{body}");

    // Three completed cases, one cancelled, one failed, one deadlocked, one OR-join
    // case completed, one running with its first item enabled, one suspended.
    for _ in 0..3 {
        let case = launch(&server, &sequence, json!({}));
        run(&server, &case, "A");
        run(&server, &case, "B");
        assert_eq!(state(&server, &case), "completed");
    }
    let cancelled = launch(&server, &sequence, json!({}));
    assert_eq!(
        server
            .post(&format!("/cases/{cancelled}/cancel"), json!({}))
            .0,
        200
    );
    let failed = launch(&server, &sequence, json!({}));
    let item = format!("{failed}-1");
    assert_eq!(
        server
            .post(&format!("/work-items/{item}/start"), json!({}))
            .0,
        200
    );
    let (status, body) = server.post(&format!("/work-items/{item}/fail"), json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(state(&server, &failed), "failed");
    let stuck = launch(&server, "stuck", json!({}));
    run(&server, &stuck, "split");
    assert_eq!(state(&server, &stuck), "deadlocked");
    // The OR-join `report` with one branch chosen: enabled once it completes; with two:
    // not enabled after the first.
    let one = launch(&server, &merge, json!({"fire": true, "injured": false}));
    for task in ["take_call", "fire_brigade", "report"] {
        run(&server, &one, task);
    }
    let two = launch(&server, &merge, json!({"fire": true, "injured": true}));
    for task in ["take_call", "fire_brigade", "ambulance", "report"] {
        run(&server, &two, task);
    }
    assert_eq!(state(&server, &one), "completed");
    assert_eq!(state(&server, &two), "completed");
    let running = launch(&server, &sequence, json!({}));
    let suspended = launch(&server, &sequence, json!({}));
    assert_eq!(
        server
            .post(&format!("/cases/{suspended}/suspend"), json!({}))
            .0,
        200
    );
    // A claim whose lease runs out, and a request for a case that does not exist.
    let (status, body) = server.post(
        "/work-items/claim",
        json!({"task_id": "A", "worker": "w", "max": 1, "lease_ms": 1}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["work_items"][0]["case_id"], running.as_str());
    assert_eq!(server.get("/cases/999999").0, 404);
    // A fourth specification is past the cap of three: its series say `other`.
    let (status, body) = server.post(
        "/workflows",
        json!({"spec": serde_json::from_slice::<Value>(&support::read(format!(
            "{EXAMPLES}/patterns/wcp_01_sequence.json"
        ))).unwrap()}),
    );
    assert_eq!(status, 201, "{body}");
    let beyond = body["spec_id"].as_str().unwrap().to_owned();
    launch(&server, &beyond, json!({}));

    let prometheus_dir = dir.path().join("prometheus");
    std::fs::create_dir(&prometheus_dir).unwrap();
    let prometheus = Prometheus::start(&prometheus_dir, server.address());
    let cases = |spec: &str, outcome: &str| {
        format!("knhk_workflow_cases_total{{spec_id=\"{spec}\",outcome=\"{outcome}\"}}")
    };
    let p = &prometheus;
    p.wait_for(&cases(&sequence, "launched"), 7.0);
    p.wait_for(&cases(&sequence, "completed"), 3.0);
    p.wait_for(&cases(&sequence, "cancelled"), 1.0);
    p.wait_for(&cases(&sequence, "failed"), 1.0);
    p.wait_for(&cases("stuck", "launched"), 1.0);
    p.wait_for(&cases("stuck", "deadlocked"), 1.0);
    p.wait_for(&cases(&merge, "completed"), 2.0);
    p.wait_for(&cases("other", "launched"), 1.0);
    assert_eq!(p.value(&cases(&beyond, "launched")), None);
    let tasks = |spec: &str, task: &str| {
        format!("knhk_workflow_tasks_completed_total{{spec_id=\"{spec}\",task_id=\"{task}\"}}")
    };
    p.wait_for(&tasks(&sequence, "A"), 3.0);
    p.wait_for(&tasks(&sequence, "B"), 3.0);
    p.wait_for(&tasks("stuck", "split"), 1.0);
    p.wait_for(&tasks(&merge, "report"), 2.0);
    let durations = |outcome: &str| {
        format!(
            "knhk_workflow_execution_duration_seconds_count{{spec_id=\"{sequence}\",outcome=\"{outcome}\"}}"
        )
    };
    p.wait_for(&durations("completed"), 3.0);
    p.wait_for(&durations("failed"), 1.0);
    // Every command that fired a transition was sampled; each sample is positive.
    assert!(p.value("knhk_hot_path_ticks_count").unwrap() >= 10.0);
    assert!(p.value("knhk_hot_path_ticks_sum").unwrap() > 0.0);
    p.wait_for("knhk_cases_in_flight{state=\"running\"}", 2.0);
    p.wait_for("knhk_cases_in_flight{state=\"suspended\"}", 1.0);
    // The running sequence case's A went back to enabled when its lease ran out; the
    // suspended case keeps its enabled A; the `other` case has its first item.
    p.wait_for("knhk_expiries_total{kind=\"lease\"}", 1.0);
    p.wait_for("knhk_work_items{status=\"enabled\"}", 3.0);
    p.wait_for("knhk_work_items{status=\"started\"}", 0.0);
    let decisions = |verdict: &str| {
        format!("sum(knhk_or_join_decisions_total{{spec_id=\"{merge}\",verdict=\"{verdict}\"}})")
    };
    assert!(p.value(&decisions("not_enabled")).unwrap() >= 1.0);
    assert!(p.value(&decisions("enabled")).unwrap() >= 1.0);
    // No analysis ran out of budget: the verdict `unknown` has no series.
    p.wait_for(&format!("{} or vector(0)", decisions("unknown")), 0.0);
    // The partly marked preset made the analysis search backwards, and each analysis
    // was timed.
    let work = format!("knhk_or_join_analysis_work_total{{spec_id=\"{merge}\"}}");
    assert!(p.value(&work).unwrap() > 0.0);
    let analyses = format!("knhk_or_join_analysis_duration_seconds_count{{spec_id=\"{merge}\"}}");
    assert_eq!(
        p.value(&analyses),
        p.value(&format!(
            "sum(knhk_or_join_decisions_total{{spec_id=\"{merge}\",source=\"analysis\"}})"
        ))
    );
    assert!(p.value(&analyses).unwrap() >= 2.0);
    p.wait_for("knhk_specifications_broken", 0.0);
    p.wait_for("knhk_expiries_total{kind=\"timer\"}", 0.0);
    assert!(p.value("knhk_store_commit_duration_seconds_count").unwrap() >= 30.0);
    assert!(
        p.value("knhk_store_commit_batch_records_sum").unwrap()
            >= p.value("knhk_store_commit_duration_seconds_count").unwrap()
    );
    p.wait_for("knhk_store_commit_failures_total", 0.0);
    p.wait_for(
        "knhk_http_requests_total{method=\"POST\",route=\"/cases\",status=\"201\"}",
        11.0,
    );
    p.wait_for(
        "knhk_http_requests_total{method=\"GET\",route=\"/cases/{case_id}\",status=\"404\"}",
        1.0,
    );
    p.wait_for("knhk_workflow_errors_total{code=\"case_not_found\"}", 1.0);
    assert!(
        p.value("knhk_http_request_duration_seconds_count{method=\"POST\",route=\"/work-items/{id}/complete\"}")
            .unwrap()
            >= 14.0
    );
    p.wait_for("knhk_build_info{version=\"0.1.0\"}", 1.0);
    p.wait_for("knhk_cases_quarantined", 0.0);
    // No OTLP endpoint: nothing is exported, so nothing is dropped.
    p.wait_for("knhk_trace_spans_dropped_total", 0.0);
    // Label values are bounded: no case or work item id, and at most the cap of
    // specification ids plus `other`.
    let answer = p.query_raw("group by (spec_id) ({spec_id!=\"\"})");
    let specs: BTreeSet<&str> = answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"]["spec_id"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = [sequence.as_str(), merge.as_str(), "stuck", "other"].into();
    assert_eq!(specs, expected);
    let answer = p.query_raw("{case_id!=\"\"} or {work_item_id!=\"\"}");
    assert_eq!(answer["data"]["result"], json!([]), "{answer}");

    // The dashboard and the alert rules name only what the service exports.
    let exprs = dashboard_expressions();
    assert!(exprs.len() >= 20, "{exprs:?}");
    for expr in exprs.iter().chain(&rule_expressions(p)) {
        p.check_expression(expr);
    }

    // After a restart the counters start again, and the gauges are right at once.
    let address = server.address().to_owned();
    assert_eq!(server.stop(), Some(0));
    let server = Server::spawn(&data, &address, &env);
    p.wait_for("knhk_recovery_cases", 11.0);
    p.wait_for("knhk_cases_in_flight{state=\"running\"}", 2.0);
    p.wait_for("knhk_cases_in_flight{state=\"suspended\"}", 1.0);
    p.wait_for("knhk_work_items{status=\"enabled\"}", 3.0);
    assert!(p.value("knhk_recovery_duration_seconds").unwrap() > 0.0);
    // A specification's series exist from its loading on, at zero until its cases move.
    assert_eq!(p.value(&cases(&sequence, "launched")), Some(0.0));
    assert_eq!(p.value(&cases(&sequence, "completed")), Some(0.0));
    drop(server);
}
