//! Readiness: the router answers before the engine exists (`/health` 200, `/ready` and
//! every engine route 503 `not_ready`), and serves once the engine is handed over.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use knhk_kernel::WorkItemStatus;
use knhk_runtime::{Engine, EngineConfig, ManualClock, MemoryStore};
use knhk_server::{ApiConfig, AppState};
use serde_json::{Value, json};

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
        "/metrics",
        "/workflows",
        "/workflows/{spec_id}",
        "/workflows/{spec_id}/xes",
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

    let mut operation_ids = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            operation_ids.push(operation["operationId"].as_str().unwrap().to_owned());
            // Every operation but the public two needs a token when there are tokens,
            // and says what a missing or weak one gets.
            let public = matches!(path.as_str(), "/health" | "/ready");
            let security = &operation["security"];
            if public {
                assert!(security.is_null(), "{at} is public");
            } else {
                assert_eq!(security, &json!([{"bearer": []}]), "{at}");
                for status in ["401", "403"] {
                    assert!(operation["responses"][status].is_object(), "{at}: {status}");
                }
            }
            // Every error answer is the one envelope.
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = resolve(&document, response);
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty())
                );
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"];
                    assert_eq!(
                        schema,
                        &json!({"$ref": "#/components/schemas/ErrorBody"}),
                        "{at}: {status}"
                    );
                }
            }
            // Path parameters have their shape; the others are in the query, optional.
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                assert!(
                    path.contains(&format!("{{{name}}}")) == (parameter["in"] == "path"),
                    "{at}: {name} is in the path iff the path names it"
                );
                if parameter["in"] == "path" {
                    let schema = resolve(&document, &parameter["schema"]);
                    assert!(
                        schema["pattern"].is_string() || schema["minLength"] == 1,
                        "{at}: {name} has no shape"
                    );
                } else {
                    assert_eq!(parameter["in"], "query", "{at}: {name}");
                    assert_eq!(parameter["required"], false, "{at}: {name}");
                }
            }
        }
    }
    let count = operation_ids.len();
    operation_ids.sort_unstable();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operation ids are unique");
    assert_eq!(count, 28);
    // Every reference resolves.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = &reference[..reference.find('"').unwrap()];
        let pointer = target.strip_prefix('#').unwrap();
        assert!(document.pointer(pointer).is_some(), "{target} resolves");
    }
    let schemes = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (&schemes["type"], &schemes["scheme"]),
        (&json!("http"), &json!("bearer"))
    );
    // The enumerations are the engine's and the kernel's.
    let states = &document["components"]["schemas"]["CaseState"]["enum"];
    assert_eq!(states, &json!(knhk_runtime::engine::CASE_STATES));
    let statuses = &document["components"]["schemas"]["WorkItemStatus"]["enum"];
    let kernel: Vec<Value> = [
        WorkItemStatus::Enabled,
        WorkItemStatus::Started,
        WorkItemStatus::Suspended,
        WorkItemStatus::Completed,
        WorkItemStatus::Failed,
        WorkItemStatus::Cancelled,
        WorkItemStatus::Withdrawn,
    ]
    .iter()
    .map(|s| serde_json::to_value(s).unwrap())
    .collect();
    assert_eq!(statuses, &Value::Array(kernel));
}

/// `value`, or what its `$ref` points to.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => document
            .pointer(reference.strip_prefix('#').unwrap())
            .unwrap(),
        None => value,
    }
}
