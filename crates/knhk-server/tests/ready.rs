//! Readiness: the router answers before the engine exists (`/health` 200, `/ready` and
//! every engine route 503 `not_ready`), and serves once the engine is handed over.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use knhk_runtime::{Engine, EngineConfig, ManualClock, MemoryStore};
use knhk_server::{ApiConfig, AppState};
use serde_json::Value;

fn get(url: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().unwrap();
    let status = response.status().as_u16();
    let body = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    (status, body)
}

#[test]
fn not_ready_until_the_engine_is_handed_over() {
    let state = AppState::new(ApiConfig::default());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = knhk_server::router(state.clone());
    let limits = knhk_server::HttpLimits::default();
    runtime.spawn(knhk_server::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));

    let (status, body) = get(&format!("{url}/health"));
    assert_eq!((status, &body["ready"]), (200, &Value::Bool(false)));
    for path in ["/ready", "/cases", "/workflows", "/work-items"] {
        let (status, body) = get(&format!("{url}{path}"));
        assert_eq!(status, 503, "{path}");
        assert_eq!(body["error"]["code"], "not_ready", "{path}");
    }

    let engine = Engine::open(
        Arc::new(MemoryStore::new()),
        Arc::new(ManualClock::new(0)),
        EngineConfig::default(),
    )
    .unwrap();
    state.set_engine(engine);
    let (status, body) = get(&format!("{url}/ready"));
    assert_eq!((status, &body["status"]), (200, &Value::from("ready")));
    let (status, body) = get(&format!("{url}/cases"));
    assert_eq!((status, &body["cases"]), (200, &Value::Array(vec![])));
}

#[test]
fn the_openapi_document_describes_every_route() {
    let document = serde_json::to_value(knhk_server::openapi()).unwrap();
    let paths: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let routes = [
        "/health",
        "/ready",
        "/openapi.json",
        "/workflows",
        "/workflows/{spec_id}",
        "/cases",
        "/cases/{case_id}",
        "/cases/{case_id}/cancel",
        "/cases/{case_id}/suspend",
        "/cases/{case_id}/resume",
        "/cases/{case_id}/history",
        "/cases/{case_id}/signals/{name}",
        "/cases/{case_id}/tasks/{task_id}/instances",
        "/work-items",
        "/work-items/claim",
        "/work-items/{id}",
        "/work-items/{id}/start",
        "/work-items/{id}/complete",
        "/work-items/{id}/fail",
        "/work-items/{id}/release",
        "/work-items/{id}/suspend",
        "/work-items/{id}/resume",
        "/work-items/{id}/offer",
        "/work-items/{id}/allocate",
    ];
    let mut expected = routes.to_vec();
    expected.sort_unstable();
    let mut found = paths.clone();
    found.sort_unstable();
    assert_eq!(found, expected);
    // Bodies are described, not just named.
    assert!(document["components"]["schemas"]["LaunchBody"]["properties"]["spec_id"].is_object());
}
