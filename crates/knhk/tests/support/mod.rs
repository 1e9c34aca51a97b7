//! What the end-to-end tests share: the real `knhk` binary serving on a free port with
//! a temporary data directory, and a real HTTP client (ureq) to call it.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// A running `knhk` serving on a free port.
pub struct Server {
    pub child: Child,
    pub url: String,
    /// Where its stdout (the log) and stderr go.
    pub log: std::path::PathBuf,
}

/// The longest any wait on a connection lasts before it counts as "never".
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A free port on 127.0.0.1, as `address:port`.
pub fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// `command` with only the environment a test gives it: `PATH`, the address and data
/// directory, and `env`.
pub fn with_env(mut command: Command, dir: &Path, address: &str, env: &[(&str, &str)]) -> Command {
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("KNHK_LISTEN", address)
        .env("KNHK_STATE_STORE_PATH", dir);
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// The file a server on data directory `dir` writes its stderr to: beside `dir`.
fn log_path(dir: &Path) -> std::path::PathBuf {
    let name = dir
        .file_name()
        .map_or("data".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!("{name}.stderr.log"))
}

impl Server {
    /// Starts the binary on `dir` and a free port with extra environment `env`, and
    /// waits until ready.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::spawn(dir, &free_address(), env)
    }

    /// [`Server::start`] for a process allowed at most `files_max` open files.
    pub fn start_limited(dir: &Path, env: &[(&str, &str)], files_max: u32) -> Server {
        // The shell lowers its limit and becomes knhk (same process id).
        let mut command = Command::new("/bin/bash");
        command.args([
            "-c",
            r#"ulimit -n "$1" && exec "$0""#,
            env!("CARGO_BIN_EXE_knhk"),
            &files_max.to_string(),
        ]);
        let address = free_address();
        Server::spawn_command(with_env(command, dir, &address, env), dir, &address)
    }

    /// Starts the binary on `dir` listening on `address`.
    pub fn start_on(dir: &Path, address: &str) -> Server {
        Server::spawn(dir, address, &[])
    }

    /// Starts the binary on `dir` listening on `address` with extra environment `env`,
    /// and waits until ready. Its stderr goes to [`Server::log`].
    pub fn spawn(dir: &Path, address: &str, env: &[(&str, &str)]) -> Server {
        let command = Command::new(env!("CARGO_BIN_EXE_knhk"));
        Server::spawn_command(with_env(command, dir, address, env), dir, address)
    }

    /// Runs `command` (a `knhk` serving `dir` on `address`, perhaps wrapped) and waits
    /// until ready.
    pub fn spawn_command(mut command: Command, dir: &Path, address: &str) -> Server {
        let log = log_path(dir);
        // The log lines go to stdout, start-up errors to stderr: both in one file.
        let stderr = std::fs::File::create(&log).unwrap();
        command.stdout(stderr.try_clone().unwrap()).stderr(stderr);
        let server = Server {
            child: command.spawn().unwrap(),
            url: format!("http://{address}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.get("/ready").0 != 200 {
            assert!(Instant::now() < deadline, "the server never got ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    }

    /// What the server wrote to stdout and stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `address:port` it listens on.
    pub fn address(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// `GET path`'s status, giving up after [`PATIENCE`] (0 then).
    pub fn status_within(&self, path: &str) -> u16 {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(PATIENCE))
            .build()
            .into();
        agent
            .get(format!("{}{path}", self.url))
            .call()
            .map_or(0, |response| response.status().as_u16())
    }

    /// The CPU time it has used, in clock ticks (user and system).
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // The fields after the command name, which is in parentheses and may hold
        // blanks: state is field 3, utime and stime fields 14 and 15.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// `(status, JSON body)`; status 0 if the server cannot be reached.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        self.call_with(&[], method, path, content_type, body)
    }

    /// [`Server::call`] with extra request headers.
    pub fn call_with(
        &self,
        headers: &[(&str, &str)],
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("Content-Type", content_type);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body).unwrap();
        match Server::agent().run(request) {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let text = response.body_mut().read_to_string().unwrap();
                (status, serde_json::from_str(&text).unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, "application/json", Vec::new())
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(
            "POST",
            path,
            "application/json",
            body.to_string().into_bytes(),
        )
    }

    /// Stops the server with SIGTERM and returns its exit code.
    pub fn stop(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

pub fn register_json(server: &Server, path: impl AsRef<Path>) -> String {
    let spec: Value = serde_json::from_slice(&read(path)).unwrap();
    let (status, body) = server.post("/workflows", json!({"spec": spec}));
    assert_eq!(status, 201, "{body}");
    body["spec_id"].as_str().unwrap().to_owned()
}

/// The live work items of a case.
pub fn live_items(server: &Server, case: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/work-items?case_id={case}"));
    assert_eq!(status, 200, "{body}");
    body["work_items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["data"].is_null())
        .cloned()
        .collect()
}
