//! The client commands (`knhk workflow register|list|get|export-xes`, `knhk case ...`,
//! `knhk workitem ...`): calls to the server at `KNHK_URL`, printed as tables for people
//! or as the server's JSON with `--json`.
//!
//! Exit codes: 0 when the server did what was asked; 1 when it refused (a 4xx: bad input,
//! unknown id, a transition not allowed), printing its error code and message; 2 for
//! usage, file and connection problems (including a 5xx). A refused connection says which
//! URL was tried and how to start a server.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::cli::{CaseCommand, WorkitemCommand};

/// The server refused the request (a 4xx): exit code 1.
const EXIT_REFUSED: u8 = 1;

/// A client of one server.
pub(crate) struct Client {
    base: String,
    agent: ureq::Agent,
    json: bool,
    /// The API token sent as `Authorization: Bearer`, from `KNHK_TOKEN`.
    token: Option<String>,
}

/// What a call gave: the status and the JSON body.
struct Reply {
    status: u16,
    body: Value,
}

impl Client {
    /// A client of the server at `base` (such as `http://localhost:8080`); `json` prints
    /// the server's JSON instead of tables; `token` authenticates every call.
    pub(crate) fn new(base: &str, json: bool, token: Option<String>) -> Client {
        let config = ureq::Agent::config_builder()
            // A 4xx is an answer to print, not a transport error.
            .http_status_as_error(false)
            .build();
        Client {
            base: base.trim_end_matches('/').to_owned(),
            agent: config.into(),
            json,
            token,
        }
    }

    /// Sends a request and returns the response as it starts, its body unread.
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
        let url = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let result = match body {
            Some((content_type, bytes)) => self
                .agent
                .run(request.header("Content-Type", content_type).body(bytes)?),
            None => self.agent.run(request.body(())?),
        };
        result.map_err(|e| self.transport_error(&url, e))
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<Reply> {
        let mut response = self.send(method, path, body)?;
        let url = format!("{}{path}", self.base);
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("cannot read the reply of {url}"))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{url} did not answer JSON: {text}"))?
        };
        Ok(Reply { status, body })
    }

    fn transport_error(&self, url: &str, error: ureq::Error) -> anyhow::Error {
        match error {
            ureq::Error::ConnectionFailed | ureq::Error::Io(_) | ureq::Error::HostNotFound => {
                anyhow::anyhow!(
                    "cannot reach the knhk server at {} ({error}).\n\
                     Start one with `knhk` (or `cargo run --release -p knhk`), or point \
                     KNHK_URL (or --url) at a running server.",
                    self.base
                )
            }
            other => anyhow::anyhow!("request to {url} failed: {other}"),
        }
    }

    fn get(&self, path: &str) -> anyhow::Result<Reply> {
        self.call("GET", path, None)
    }

    fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Reply> {
        self.call(
            "POST",
            path,
            Some(("application/json", body.to_string().into_bytes())),
        )
    }

    /// Prints the reply: its JSON with `--json`, else `human` of its body; a refusal
    /// prints the server's error and exits 1, a server failure is an error (exit 2).
    fn finish(&self, reply: Reply, human: impl FnOnce(&Value)) -> anyhow::Result<ExitCode> {
        if reply.status >= 500 {
            bail!(
                "the server failed (HTTP {}): {}",
                reply.status,
                error_text(&reply.body)
            );
        }
        if reply.status >= 400 {
            if self.json {
                println!("{}", pretty(&reply.body));
            } else {
                eprintln!("error: {}", error_text(&reply.body));
            }
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        if self.json {
            println!("{}", pretty(&reply.body));
        } else {
            human(&reply.body);
        }
        Ok(ExitCode::SUCCESS)
    }

    /// `knhk workflow register FILE`: the format is the file's (by extension or content).
    pub(crate) fn register(&self, file: &Path) -> anyhow::Result<ExitCode> {
        let text =
            std::fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
        let format = knhk_ingest::detect(file, &String::from_utf8_lossy(&text));
        let (content_type, body) = match format {
            knhk_ingest::Format::Json => {
                let spec: Value = serde_json::from_slice(&text)
                    .with_context(|| format!("`{}` is not JSON", file.display()))?;
                (
                    "application/json",
                    json!({"spec": spec}).to_string().into_bytes(),
                )
            }
            knhk_ingest::Format::Turtle => ("text/turtle", text),
            knhk_ingest::Format::Yawl => ("application/xml", text),
        };
        let reply = self.call("POST", "/workflows", Some((content_type, body)))?;
        if reply.status == 422 && !self.json {
            let errors = reply.body["error"]["details"]["errors"].as_array();
            for finding in errors.into_iter().flatten() {
                eprintln!("error: {}", text_of(&finding["message"]));
            }
        }
        self.finish(reply, |body| {
            println!(
                "registered {} version {}",
                text_of(&body["spec_id"]),
                body["version"]
            );
            for warning in body["warnings"].as_array().into_iter().flatten() {
                println!("warning: {}", text_of(&warning["message"]));
            }
        })
    }

    /// `knhk workflow list`.
    pub(crate) fn workflows(&self) -> anyhow::Result<ExitCode> {
        let reply = self.get("/workflows")?;
        self.finish(reply, |body| {
            let rows = rows(&body["workflows"], &["spec_id", "version", "tasks", "name"]);
            table(&["SPEC", "VERSION", "TASKS", "NAME"], &rows);
        })
    }

    /// `knhk workflow get ID`: the specification's JSON.
    pub(crate) fn workflow(&self, id: &str) -> anyhow::Result<ExitCode> {
        let reply = self.get(&format!("/workflows/{}", segment(id)))?;
        self.finish(reply, |body| println!("{}", pretty(body)))
    }

    /// `knhk workflow export-xes ID [-o FILE]`: the server's XES document of the
    /// specification's cases, saved as it streams in. To a file, it is written beside it
    /// under a temporary name and renamed once whole, so that a failed export leaves no
    /// partial file; to standard output (no `-o`, or `-o -`), it is copied as it comes.
    pub(crate) fn export_xes(
        &self,
        id: &str,
        window: (Option<u64>, Option<u64>),
        output: Option<&Path>,
    ) -> anyhow::Result<ExitCode> {
        let mut query = Vec::new();
        for (key, value) in [("from", window.0), ("to", window.1)] {
            if let Some(value) = value {
                query.push(format!("{key}={value}"));
            }
        }
        let path = format!("/workflows/{}/xes?{}", segment(id), query.join("&"));
        let mut response = self.send("GET", &path, None)?;
        let status = response.status().as_u16();
        if status >= 400 {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return self.finish(Reply { status, body }, |_| {});
        }
        let mut body = response.body_mut().as_reader();
        let failed = || format!("the export from {} broke off", self.base);
        match output.filter(|o| o.as_os_str() != "-") {
            None => {
                let mut stdout = std::io::stdout().lock();
                std::io::copy(&mut body, &mut stdout).with_context(failed)?;
                stdout.flush().context("cannot write to standard output")?;
            }
            Some(file) => {
                let dir = match file.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                let mut partial = tempfile::NamedTempFile::new_in(dir)
                    .with_context(|| format!("cannot write in `{}`", dir.display()))?;
                std::io::copy(&mut body, partial.as_file_mut()).with_context(failed)?;
                partial
                    .persist(file)
                    .with_context(|| format!("cannot write `{}`", file.display()))?;
                if !self.json {
                    eprintln!("saved the XES log of {id} to {}", file.display());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    /// `knhk case launch|list|get|cancel|history`.
    pub(crate) fn case(&self, command: &CaseCommand) -> anyhow::Result<ExitCode> {
        match command {
            CaseCommand::Launch { spec, data } => {
                let data = match data {
                    Some(data) => read_data(data)?,
                    None => json!({}),
                };
                let reply = self.post_json("/cases", &json!({"spec_id": spec, "data": data}))?;
                self.finish(reply, |body| {
                    println!(
                        "case {} {}",
                        text_of(&body["case_id"]),
                        text_of(&body["case"]["state"])
                    );
                })
            }
            CaseCommand::List { state, spec } => {
                let mut query = Vec::new();
                if let Some(state) = state {
                    query.push(format!("state={}", segment(state)));
                }
                if let Some(spec) = spec {
                    query.push(format!("spec_id={}", segment(spec)));
                }
                let reply = self.get(&format!("/cases?{}", query.join("&")))?;
                self.finish(reply, |body| {
                    let rows = rows(
                        &body["cases"],
                        &["case_id", "spec_id", "spec_version", "state"],
                    );
                    table(&["CASE", "SPEC", "VERSION", "STATE"], &rows);
                })
            }
            CaseCommand::Get { id } => {
                let reply = self.get(&format!("/cases/{}", segment(id)))?;
                self.finish(reply, |body| {
                    let case = &body["case"];
                    println!(
                        "case {} of {} v{}: {}",
                        text_of(&case["case_id"]),
                        text_of(&case["spec_id"]),
                        case["spec_version"],
                        text_of(&case["state"])
                    );
                    println!("data: {}", case["data"]);
                })
            }
            CaseCommand::Cancel { id } => {
                let reply =
                    self.post_json(&format!("/cases/{}/cancel", segment(id)), &json!({}))?;
                self.finish(reply, |body| {
                    println!(
                        "case {} {}",
                        text_of(&body["case"]["case_id"]),
                        text_of(&body["case"]["state"])
                    );
                })
            }
            CaseCommand::History { id } => {
                let reply = self.get(&format!("/cases/{}/history", segment(id)))?;
                self.finish(reply, |body| {
                    for entry in body["events"].as_array().into_iter().flatten() {
                        let action = &entry["action"];
                        let what = action["command"]["command"]
                            .as_str()
                            .or(action["action"].as_str())
                            .unwrap_or("?");
                        let events: Vec<&str> = entry["events"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|e| e["event"].as_str())
                            .collect();
                        println!(
                            "{:>4}  {}  {:<22} {}",
                            entry["seq"],
                            entry["at_ms"],
                            what,
                            events.join(", ")
                        );
                    }
                })
            }
        }
    }

    /// `knhk workitem list|start|complete|claim`.
    pub(crate) fn workitem(&self, command: &WorkitemCommand) -> anyhow::Result<ExitCode> {
        let item_table = |body: &Value, key: &str| {
            let list = match &body[key] {
                Value::Array(_) => body[key].clone(),
                other => Value::Array(vec![other.clone()]),
            };
            let rows = rows(&list, &["id", "case_id", "task_id", "status"]);
            table(&["ID", "CASE", "TASK", "STATUS"], &rows);
        };
        match command {
            WorkitemCommand::List { case, task, status } => {
                let mut query = Vec::new();
                for (key, value) in [("case_id", case), ("task_id", task), ("status", status)] {
                    if let Some(value) = value {
                        query.push(format!("{key}={}", segment(value)));
                    }
                }
                let reply = self.get(&format!("/work-items?{}", query.join("&")))?;
                self.finish(reply, |body| item_table(body, "work_items"))
            }
            WorkitemCommand::Start { id, worker } => {
                let body = json!({"worker": worker});
                let reply = self.post_json(&format!("/work-items/{}/start", segment(id)), &body)?;
                self.finish(reply, |body| item_table(body, "work_item"))
            }
            WorkitemCommand::Complete { id, data, worker } => {
                let data = match data {
                    Some(data) => read_data(data)?,
                    None => json!({}),
                };
                let body = json!({"data": data, "worker": worker});
                let reply =
                    self.post_json(&format!("/work-items/{}/complete", segment(id)), &body)?;
                self.finish(reply, |body| item_table(body, "work_item"))
            }
            WorkitemCommand::Claim {
                task,
                service,
                worker,
                max,
                lease_ms,
            } => {
                let body = json!({"task_id": task, "service": service, "worker": worker, "max": max, "lease_ms": lease_ms});
                let reply = self.post_json("/work-items/claim", &body)?;
                self.finish(reply, |body| item_table(body, "work_items"))
            }
        }
    }
}

/// `--data`: inline JSON, or `@FILE`.
fn read_data(data: &str) -> anyhow::Result<Value> {
    let (text, origin) = match data.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(Path::new(path))
                .with_context(|| format!("cannot read `{path}`"))?,
            format!("`{path}`"),
        ),
        None => (data.to_owned(), "--data".to_owned()),
    };
    serde_json::from_str(&text).with_context(|| format!("{origin} is not JSON"))
}

/// A path segment with the characters that would change the URL escaped.
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The server's error as one line: `code: message`.
fn error_text(body: &Value) -> String {
    let error = &body["error"];
    match (error["code"].as_str(), error["message"].as_str()) {
        (Some(code), Some(message)) => format!("{message} ({code})"),
        _ => body.to_string(),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A JSON value as table text: strings bare, null empty.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn rows(list: &Value, keys: &[&str]) -> Vec<Vec<String>> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|item| keys.iter().map(|k| text_of(&item[*k])).collect())
        .collect()
}

/// Prints `rows` under `headers`, columns padded to their widest cell.
fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
}
