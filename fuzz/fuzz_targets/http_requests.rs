//! HTTP request sequences against `knhk_server::router`, over an engine on a
//! `MemoryStore` that holds four example specifications, as the server runs it (default
//! `ApiConfig`, but a verification time budget of one second), with or without API
//! tokens, and now and then before the engine is handed over.
//!
//! Each input is up to eight requests: a method (the usual ones or any token), a path
//! from the real routes with segments that are known ids (the specifications', and the
//! cases and work items earlier responses named), numbers or arbitrary text
//! (percent-encoded), or a raw path; a query; a content type; an `Authorization` header
//! (a token of each role, a wrong one, or anything); and a body (a route's body with
//! fuzzed fields, a specification in JSON or Turtle, JSON, or raw bytes).
//!
//! Asserts, for every response: its status is not 5xx, except 503; and unless the
//! request was `HEAD`, its body is JSON, and for every status from 400 up the error
//! envelope `{"error": {"code": string, "message": string, "details": any}}`. Nothing
//! may panic outside cel or overflow a 2 MiB stack.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::{Method, Request, header};
use knhk_fuzz::json::Json;
use knhk_runtime::{Engine, EngineConfig, ManualClock, MemoryStore, Store};
use knhk_server::{ApiConfig, AppState, Tokens};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

/// The most requests one input sends.
const REQUESTS_MAX: usize = 8;

/// The example specifications the store holds before the first request.
const PRELOADED: &[&str] = &[
    "order-fulfilment.json",
    "simple-sequence.json",
    "patterns/wcp_15_mi_without_a_priori_run_time_knowledge.json",
    "patterns/wcp_23_transient_trigger.json",
];

/// One API token per role, in the order of `ROLES`.
const TOKENS: &[&str] = &[
    "reader-0123456789abcdef0123456789abcdef",
    "worker-0123456789abcdef0123456789abcdef",
    "operator-0123456789abcdef0123456789abcd",
    "admin-0123456789abcdef0123456789abcdef0",
];
const ROLES: &[&str] = &["reader", "worker", "operator", "admin"];

#[derive(Debug, Arbitrary)]
struct Input {
    tokens: bool,
    /// The engine is handed over unless this is 0.
    ready: u8,
    requests: Vec<Req>,
}

#[derive(Debug, Arbitrary)]
struct Req {
    method: MethodChoice,
    route: Route,
    query: Vec<(u8, Segment)>,
    content_type: ContentType,
    auth: Auth,
    body: BodyChoice,
}

#[derive(Debug, Arbitrary)]
enum MethodChoice {
    Get,
    Post,
    Put,
    Delete,
    Patch,
    Head,
    Options,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Route {
    Health,
    Ready,
    OpenApi,
    Workflows,
    Workflow(Segment),
    Cases,
    Case(Segment),
    CaseAction(Segment, u8),
    Signal(Segment, Segment),
    Instances(Segment, Segment),
    WorkItems,
    Claim,
    WorkItem(Segment),
    ItemAction(Segment, u8),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Segment {
    Case(u8),
    Item(u8),
    Spec(u8),
    Word(u8),
    Number(u64),
    Text(String),
}

#[derive(Debug, Arbitrary)]
enum ContentType {
    None,
    Json,
    JsonCharset,
    Turtle,
    Xml,
    TextXml,
    YawlXml,
    Plain,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Auth {
    None,
    Token(u8),
    Wrong,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum BodyChoice {
    Empty,
    Raw(Vec<u8>),
    Json(Json),
    Spec(u8, bool),
    Launch(Segment, Option<u8>, Option<Json>),
    Complete(Option<Json>, Option<Segment>),
    Claim(
        Option<Segment>,
        Option<Segment>,
        Option<Segment>,
        Option<u8>,
        u64,
    ),
    Offer(Vec<Segment>),
    Allocate(Segment),
    Instance(Json, Option<u32>),
    Fail(Option<String>, Option<Segment>),
}

/// Words that are names somewhere: tasks, services, signals, states, workers.
const WORDS: &[&str] = &[
    "receive_order",
    "check_credit",
    "pick_items",
    "a",
    "b",
    "task",
    "credit-bureau",
    "go",
    "signal",
    "running",
    "completed",
    "enabled",
    "started",
    "w1",
    "ann",
    "alice",
    "",
    "0",
    "01",
    "1-0",
    "%FF",
    "..",
];

const CASE_ACTIONS: &[&str] = &["cancel", "suspend", "resume", "history"];
const ITEM_ACTIONS: &[&str] = &[
    "start", "complete", "fail", "release", "suspend", "resume", "offer", "allocate",
];
const QUERY_KEYS: &[&str] = &[
    "state", "spec_id", "after", "limit", "case_id", "task_id", "status", "worker", "version",
];

/// What earlier responses named, to use in later requests.
#[derive(Debug, Default)]
struct Known {
    specs: Vec<String>,
    cases: Vec<String>,
    items: Vec<String>,
}

impl Known {
    fn segment(&self, segment: &Segment) -> String {
        let pick = |list: &[String], i: &u8, fallback: &str| {
            list.get(usize::from(*i) % list.len().max(1))
                .cloned()
                .unwrap_or_else(|| fallback.to_owned())
        };
        match segment {
            Segment::Case(i) => pick(&self.cases, i, "1"),
            Segment::Item(i) => pick(&self.items, i, "1-1"),
            Segment::Spec(i) => pick(&self.specs, i, "simple-sequence"),
            Segment::Word(i) => WORDS[usize::from(*i) % WORDS.len()].to_owned(),
            Segment::Number(n) => n.to_string(),
            Segment::Text(text) => text.clone(),
        }
    }

    /// A segment for a URL: percent-encoded.
    fn path(&self, segment: &Segment) -> String {
        encode(&self.segment(segment))
    }

    /// Notes the ids a response body names.
    fn learn(&mut self, value: &Value, depth: usize) {
        if depth > 4 {
            return;
        }
        match value {
            Value::Object(fields) => {
                for (key, field) in fields {
                    if let Value::String(text) = field {
                        let list = match key.as_str() {
                            "case_id" => &mut self.cases,
                            "spec_id" => &mut self.specs,
                            "id" if text.contains('-') => &mut self.items,
                            _ => continue,
                        };
                        if !list.contains(text) && list.len() < 16 {
                            list.push(text.clone());
                        }
                    } else {
                        self.learn(field, depth + 1);
                    }
                }
            }
            Value::Array(items) => {
                for item in items.iter().take(8) {
                    self.learn(item, depth + 1);
                }
            }
            _ => {}
        }
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
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

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => panic!("no tokio runtime: {e}"),
        }
    })
}

/// The preloaded specifications' ids and canonical JSON.
fn preloaded() -> &'static [(String, String)] {
    static SPECS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SPECS.get_or_init(|| {
        PRELOADED
            .iter()
            .map(|file| {
                let Some((_, text)) = knhk_fuzz::specs::EXAMPLES.iter().find(|(f, _)| f == file)
                else {
                    panic!("no example {file}");
                };
                let valid = knhk_json::parse(text).unwrap_or_else(|e| panic!("{file}: {e}"));
                (valid.id.clone(), knhk_json::to_string(&valid))
            })
            .collect()
    })
}

fn tokens() -> &'static Tokens {
    static TOKENS_FILE: OnceLock<Tokens> = OnceLock::new();
    TOKENS_FILE.get_or_init(|| {
        let mut text = String::new();
        for (token, role) in TOKENS.iter().zip(ROLES) {
            let hash: String = Sha256::digest(token.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            text.push_str(&format!(
                "[[token]]\nidentity = \"{role}-1\"\nrole = \"{role}\"\nsha256 = \"{hash}\"\n"
            ));
        }
        Tokens::parse(&text).unwrap_or_else(|e| panic!("the tokens file does not read: {e:?}"))
    })
}

fuzz_target!(init: { knhk_fuzz::init(); preloaded(); tokens(); }, |input: Input| {
    knhk_fuzz::on_worker_stack(|| runtime().block_on(run(input)));
});

async fn run(input: Input) {
    let store = Arc::new(MemoryStore::new());
    let mut known = Known::default();
    for (id, json) in preloaded() {
        if let Err(e) = store.put_spec(id, 1, json) {
            panic!("the memory store refuses a specification: {e}");
        }
        known.specs.push(id.clone());
    }
    let config = ApiConfig {
        verify_time_max: Duration::from_secs(1),
        ..ApiConfig::default()
    };
    let mut state = AppState::new(config);
    if input.tokens {
        state = state.with_tokens(tokens().clone());
    }
    if input.ready != 0 {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        match Engine::open(store, clock, EngineConfig::default()) {
            Ok(engine) => state.set_engine(engine),
            Err(e) => panic!("the engine does not open: {e}"),
        }
    }
    let app = knhk_server::router(state);
    for req in input.requests.iter().take(REQUESTS_MAX) {
        let Some(request) = request(req, &known) else {
            continue;
        };
        let head = request.method() == Method::HEAD;
        let described = format!("{} {}", request.method(), request.uri());
        let response = match app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let body = match axum::body::to_bytes(response.into_body(), usize::MAX).await {
            Ok(body) => body,
            Err(e) => panic!("{described}: the response body fails: {e}"),
        };
        let text = String::from_utf8_lossy(&body);
        assert!(
            !status.is_server_error() || status.as_u16() == 503,
            "{described}: {status} {text}"
        );
        if head {
            continue;
        }
        let value: Value = match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(e) => panic!("{described}: {status}: the body is not JSON ({e}): {text}"),
        };
        if status.as_u16() >= 400 {
            let error = &value["error"];
            assert!(
                value.as_object().is_some_and(|o| o.len() == 1)
                    && error["code"].is_string()
                    && error["message"].is_string()
                    && error.as_object().is_some_and(|e| e.contains_key("details")),
                "{described}: {status}: not the error envelope: {text}"
            );
        } else {
            known.learn(&value, 0);
        }
    }
}

/// The HTTP request `req` stands for, if it is one.
fn request(req: &Req, known: &Known) -> Option<Request<Body>> {
    let method = match &req.method {
        MethodChoice::Get => Method::GET,
        MethodChoice::Post => Method::POST,
        MethodChoice::Put => Method::PUT,
        MethodChoice::Delete => Method::DELETE,
        MethodChoice::Patch => Method::PATCH,
        MethodChoice::Head => Method::HEAD,
        MethodChoice::Options => Method::OPTIONS,
        MethodChoice::Other(name) => Method::from_bytes(name.as_bytes()).ok()?,
    };
    let seg = |s: &Segment| known.path(s);
    let mut path = match &req.route {
        Route::Health => "/health".to_owned(),
        Route::Ready => "/ready".to_owned(),
        Route::OpenApi => "/openapi.json".to_owned(),
        Route::Workflows => "/workflows".to_owned(),
        Route::Workflow(s) => format!("/workflows/{}", seg(s)),
        Route::Cases => "/cases".to_owned(),
        Route::Case(s) => format!("/cases/{}", seg(s)),
        Route::CaseAction(s, a) => format!(
            "/cases/{}/{}",
            seg(s),
            CASE_ACTIONS[usize::from(*a) % CASE_ACTIONS.len()]
        ),
        Route::Signal(s, name) => format!("/cases/{}/signals/{}", seg(s), seg(name)),
        Route::Instances(s, task) => format!("/cases/{}/tasks/{}/instances", seg(s), seg(task)),
        Route::WorkItems => "/work-items".to_owned(),
        Route::Claim => "/work-items/claim".to_owned(),
        Route::WorkItem(s) => format!("/work-items/{}", seg(s)),
        Route::ItemAction(s, a) => format!(
            "/work-items/{}/{}",
            seg(s),
            ITEM_ACTIONS[usize::from(*a) % ITEM_ACTIONS.len()]
        ),
        Route::Raw(raw) => raw.clone(),
    };
    for (n, (key, value)) in req.query.iter().take(4).enumerate() {
        path.push(if n == 0 { '?' } else { '&' });
        path.push_str(QUERY_KEYS[usize::from(*key) % QUERY_KEYS.len()]);
        path.push('=');
        path.push_str(&known.path(value));
    }
    let mut builder = Request::builder().method(method).uri(path);
    let content_type = match &req.content_type {
        ContentType::None => None,
        ContentType::Json => Some("application/json"),
        ContentType::JsonCharset => Some("application/json; charset=utf-8"),
        ContentType::Turtle => Some("text/turtle"),
        ContentType::Xml => Some("application/xml"),
        ContentType::TextXml => Some("text/xml"),
        ContentType::YawlXml => Some("application/yawl+xml"),
        ContentType::Plain => Some("text/plain"),
        ContentType::Other(text) => Some(text.as_str()),
    };
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    let authorization = match &req.auth {
        Auth::None => None,
        Auth::Token(role) => Some(format!(
            "Bearer {}",
            TOKENS[usize::from(*role) % TOKENS.len()]
        )),
        Auth::Wrong => Some("Bearer not-a-token".to_owned()),
        Auth::Raw(text) => Some(text.clone()),
    };
    if let Some(authorization) = authorization {
        builder = builder.header(header::AUTHORIZATION, authorization);
    }
    builder.body(Body::from(body(&req.body, known))).ok()
}

/// The bytes of a request body.
fn body(choice: &BodyChoice, known: &Known) -> Vec<u8> {
    let text = |s: &Segment| Value::String(known.segment(s));
    let value = match choice {
        BodyChoice::Empty => return Vec::new(),
        BodyChoice::Raw(bytes) => return bytes.clone(),
        BodyChoice::Json(json) => json.0.clone(),
        BodyChoice::Spec(i, turtle) => {
            let examples = knhk_fuzz::specs::compiled_examples();
            let (valid, _) = &examples[usize::from(*i) % examples.len()];
            if *turtle {
                return knhk_turtle::export(valid).into_bytes();
            }
            json!({"spec": knhk_json::to_value(valid)})
        }
        BodyChoice::Launch(spec, version, data) => {
            let mut body = json!({"spec_id": text(spec)});
            if let Some(version) = version {
                body["version"] = json!(version);
            }
            if let Some(data) = data {
                body["data"] = data.0.clone();
            }
            body
        }
        BodyChoice::Complete(data, worker) => {
            let mut body = json!({});
            if let Some(data) = data {
                body["data"] = data.0.clone();
            }
            if let Some(worker) = worker {
                body["worker"] = text(worker);
            }
            body
        }
        BodyChoice::Claim(task, service, worker, max, lease_ms) => {
            let mut body = json!({"lease_ms": lease_ms % 100_000_000});
            if let Some(task) = task {
                body["task_id"] = text(task);
            }
            if let Some(service) = service {
                body["service"] = text(service);
            }
            if let Some(worker) = worker {
                body["worker"] = text(worker);
            }
            if let Some(max) = max {
                body["max"] = json!(max);
            }
            body
        }
        BodyChoice::Offer(people) => {
            json!({"participants": people.iter().take(4).map(text).collect::<Vec<_>>()})
        }
        BodyChoice::Allocate(person) => json!({"participant": text(person)}),
        BodyChoice::Instance(data, net_instance) => {
            let mut body = json!({"data": data.0.clone()});
            if let Some(n) = net_instance {
                body["net_instance"] = json!(n);
            }
            body
        }
        BodyChoice::Fail(message, worker) => {
            let mut body = json!({});
            if let Some(message) = message {
                body["message"] = json!(message);
            }
            if let Some(worker) = worker {
                body["worker"] = text(worker);
            }
            body
        }
    };
    value.to_string().into_bytes()
}
