//! The OpenAPI document against the server's answers: a scripted session through every
//! operation, including states that Schemathesis (`.ci/schemathesis.sh`) cannot reach
//! from outside (deadlocked, failed and quarantined cases, an engine still recovering,
//! tokens of too small a role), with each answer's status looked up among its
//! operation's documented ones and its body checked against the documented schema.
//!
//! And the regressions Schemathesis found (issue "no request can crash knhk"): ids of
//! the documented shape beyond 64 bits, integers written as floats, names counted in
//! characters, a deadlocked case's `reason`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use knhk_kernel::{Event, WorkItemId};
use knhk_runtime::{Action, CaseId, Engine, EngineConfig, Entry, ManualClock, MemoryStore, Store};
use knhk_server::{ApiConfig, AppState, Tokens};
use serde_json::{Value, json};
use tower::ServiceExt;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

/// A router over `state`, and the document it serves.
struct Api {
    router: Router,
    document: Value,
}

impl Api {
    fn new(state: AppState) -> Api {
        Api {
            router: knhk_server::router(state),
            document: serde_json::to_value(knhk_server::openapi()).unwrap(),
        }
    }

    /// An API over a fresh in-memory engine.
    fn open() -> Api {
        let state = AppState::new(ApiConfig::default());
        state.set_engine(engine(Arc::new(MemoryStore::new())));
        Api::new(state)
    }

    /// `method path` (of the document's `route`) with `headers` and `body`: its status
    /// and JSON body, once both are checked against the document.
    async fn call_with(
        &self,
        method: &str,
        route: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> (u16, Value) {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some((content_type, bytes)) => request
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(bytes)),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let response_headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let media_type = response_headers
            .get(header::CONTENT_TYPE)
            .map(|t| t.to_str().unwrap().to_owned())
            .unwrap_or_default();
        if media_type == "application/xml" {
            // An XES export: its media type must be the documented one; the XML itself
            // is checked by the export's own tests.
            let documented = documented(&self.document, method, route, status)
                .unwrap_or_else(|| panic!("{method} {path}: {status} is not documented"));
            assert!(
                documented["content"]["application/xml"].is_object(),
                "{method} {path}: {status} does not document application/xml"
            );
            return (
                status,
                Value::String(String::from_utf8(bytes.to_vec()).unwrap()),
            );
        }
        let value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!("{method} {path}: {status}: not JSON ({e})");
        });
        let documented = documented(&self.document, method, route, status)
            .unwrap_or_else(|| panic!("{method} {path}: {status} is not documented: {value}"));
        for (name, _) in documented["headers"].as_object().into_iter().flatten() {
            assert!(
                response_headers.contains_key(name.as_str()),
                "{method} {path}: {status} lacks its documented header {name}"
            );
        }
        let schema = &documented["content"]["application/json"]["schema"];
        if let Err(problem) = conforms(&self.document, schema, &value) {
            panic!("{method} {path}: {status} does not match the document: {problem}\n{value}");
        }
        (status, value)
    }

    async fn call(
        &self,
        method: &str,
        route: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.call_with(method, route, path, &[], body).await
    }

    async fn get(&self, route: &str, path: &str) -> (u16, Value) {
        self.call("GET", route, path, None).await
    }

    async fn post(&self, route: &str, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", route, path, Some(body)).await
    }
}

fn engine(store: Arc<dyn Store>) -> Engine {
    Engine::open(
        store,
        Arc::new(ManualClock::new(1_000)),
        EngineConfig::default(),
    )
    .unwrap()
}

/// The response object `document` gives for `status` of `method route`, resolved.
fn documented(document: &Value, method: &str, route: &str, status: u16) -> Option<Value> {
    let operation = &document["paths"][route][method.to_ascii_lowercase()];
    assert!(
        operation.is_object(),
        "{method} {route} is not in the document"
    );
    let response = operation["responses"].get(status.to_string())?;
    Some(resolve(document, response).clone())
}

/// `value`, or what its `$ref` points to.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').unwrap();
            let target = document.pointer(pointer);
            resolve(
                document,
                target.unwrap_or_else(|| panic!("{reference} resolves to nothing")),
            )
        }
        None => value,
    }
}

/// Whether `value` matches `schema`, for the keywords the document uses (a small JSON
/// Schema validator; `pattern` is checked by `ids.rs`'s tests and Schemathesis).
fn conforms(document: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    let schema = resolve(document, schema);
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = |t: &str| match t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            "number" => value.is_number(),
            "integer" => value.is_u64() || value.is_i64(),
            _ => false,
        };
        if !types.iter().any(|t| fits(t)) {
            return Err(format!("{value} is not of type {types:?}"));
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Err(format!("{value} is not one of {options:?}"));
    }
    if let (Some(minimum), Some(n)) = (schema["minimum"].as_f64(), value.as_f64())
        && n < minimum
    {
        return Err(format!("{n} is below {minimum}"));
    }
    if let (Some(maximum), Some(n)) = (schema["maximum"].as_f64(), value.as_f64())
        && n > maximum
    {
        return Err(format!("{n} is above {maximum}"));
    }
    if let (Some(min), Some(text)) = (schema["minLength"].as_u64(), value.as_str())
        && (text.chars().count() as u64) < min
    {
        return Err(format!("{value} is shorter than {min}"));
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("`{name}` is missing"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => conforms(document, property, field)
                    .map_err(|problem| format!("`{name}`: {problem}"))?,
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    return Err(format!("`{name}` is not a property"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (n, item) in array.iter().enumerate() {
            conforms(document, items, item).map_err(|problem| format!("[{n}]: {problem}"))?;
        }
    }
    for all in schema["allOf"].as_array().into_iter().flatten() {
        conforms(document, all, value)?;
    }
    if let Some(one_of) = schema["oneOf"].as_array() {
        let results: Vec<Result<(), String>> = one_of
            .iter()
            .map(|s| conforms(document, s, value))
            .collect();
        let matched = results.iter().filter(|r| r.is_ok()).count();
        if matched != 1 {
            return Err(format!(
                "{value} matches {matched} of the oneOf alternatives: {results:?}"
            ));
        }
    }
    Ok(())
}

/// A specification as a registration body.
fn spec_body(file: &str) -> Value {
    let text = std::fs::read_to_string(format!("{EXAMPLES}/{file}")).unwrap();
    json!({"spec": serde_json::from_str::<Value>(&text).unwrap()})
}

/// YAWL's `DeadlockingSpecification`: `a` is an AND-join of the input condition and
/// `c1`, which only `a` feeds, so the case is deadlocked at launch.
fn deadlocking() -> Value {
    json!({"spec": {
        "id": "deadlocking", "root_net": "top",
        "nets": [{
            "id": "top",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "conditions": [{"id": "c1"}],
            "tasks": [{"id": "a", "kind": "atomic", "join": "and", "split": "and"}],
            "flows": [
                {"from": "i", "to": "a"}, {"from": "a", "to": "c1"},
                {"from": "a", "to": "o"}, {"from": "c1", "to": "a"}
            ]
        }]
    }})
}

/// The first live work item of `case`.
async fn first_item(api: &Api, case: &str) -> String {
    let (_, body) = api
        .get(
            "/work-items",
            &format!("/work-items?case_id={case}&status=enabled"),
        )
        .await;
    body["work_items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_answer_of_a_session_matches_the_document() {
    let api = Api::open();
    let (status, _) = api.get("/health", "/health").await;
    assert_eq!(status, 200);
    assert_eq!(api.get("/ready", "/ready").await.0, 200);
    assert_eq!(api.get("/openapi.json", "/openapi.json").await.0, 200);

    // Registration, in each way it answers.
    let (status, body) = api
        .post(
            "/workflows",
            "/workflows",
            spec_body("simple-sequence.json"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        api.post("/workflows", "/workflows", deadlocking()).await.0,
        201
    );
    assert_eq!(
        api.post("/workflows", "/workflows", json!({"spec": {}}))
            .await
            .0,
        422
    );
    assert_eq!(
        api.post("/workflows", "/workflows", json!({"nope": 1}))
            .await
            .0,
        422
    );
    let turtle = Some(("text/turtle", b"not turtle".to_vec()));
    assert_eq!(
        api.call_with("POST", "/workflows", "/workflows", &[], turtle)
            .await
            .0,
        422
    );
    let plain = Some(("text/plain", b"hello".to_vec()));
    assert_eq!(
        api.call_with("POST", "/workflows", "/workflows", &[], plain)
            .await
            .0,
        415
    );
    let broken = Some(("application/json", b"{".to_vec()));
    assert_eq!(
        api.call_with("POST", "/workflows", "/workflows", &[], broken)
            .await
            .0,
        400
    );
    assert_eq!(api.get("/workflows", "/workflows").await.0, 200);
    let route = "/workflows/{spec_id}";
    assert_eq!(api.get(route, "/workflows/simple-sequence").await.0, 200);
    assert_eq!(
        api.get(route, "/workflows/simple-sequence?version=9")
            .await
            .0,
        404
    );
    assert_eq!(
        api.get(route, "/workflows/simple-sequence?version=x")
            .await
            .0,
        400
    );

    // A deadlocked case: its `reason` is the list of stuck places.
    let (status, body) = api
        .post("/cases", "/cases", json!({"spec_id": "deadlocking"}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["case"]["state"], "deadlocked");
    assert_eq!(body["case"]["reason"][0]["place"], "i", "{body}");
    let deadlocked = body["case_id"].as_str().unwrap().to_owned();
    assert_eq!(
        api.get("/cases/{case_id}", &format!("/cases/{deadlocked}"))
            .await
            .0,
        200
    );
    assert_eq!(api.get("/cases", "/cases?state=deadlocked").await.0, 200);

    // A failed case: its `reason` says which work item failed it.
    let (_, body) = api
        .post("/cases", "/cases", json!({"spec_id": "simple-sequence"}))
        .await;
    let failed = body["case_id"].as_str().unwrap().to_owned();
    let item = first_item(&api, &failed).await;
    let item_route = |verb: &str| format!("/work-items/{{id}}/{verb}");
    let item_path = |verb: &str| format!("/work-items/{item}/{verb}");
    assert_eq!(
        api.post(&item_route("start"), &item_path("start"), json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        api.post(&item_route("suspend"), &item_path("suspend"), json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        api.post(&item_route("resume"), &item_path("resume"), json!({}))
            .await
            .0,
        200
    );
    let (status, _) = api
        .post(
            &item_route("fail"),
            &item_path("fail"),
            json!({"message": "no stock"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = api
        .get("/cases/{case_id}", &format!("/cases/{failed}"))
        .await;
    assert_eq!(body["case"]["reason"]["kind"], "work_item_failed", "{body}");
    let (_, body) = api
        .get("/work-items/{id}", &format!("/work-items/{item}"))
        .await;
    assert_eq!(
        body["work_item"]["data"],
        Value::Null,
        "an ended item has no data"
    );
    let history = format!("/cases/{failed}/history");
    assert_eq!(api.get("/cases/{case_id}/history", &history).await.0, 200);
    assert_eq!(
        api.post(&item_route("start"), &item_path("start"), json!({}))
            .await
            .0,
        409
    );

    // A running case: offers, allocations, a claim, a completion, the case commands.
    let (_, body) = api
        .post("/cases", "/cases", json!({"spec_id": "simple-sequence"}))
        .await;
    let running = body["case_id"].as_str().unwrap().to_owned();
    let item = first_item(&api, &running).await;
    let item_path = |verb: &str| format!("/work-items/{item}/{verb}");
    let (status, body) = api
        .post(
            &item_route("offer"),
            &item_path("offer"),
            json!({"participants": ["ann", "bo"]}),
        )
        .await;
    assert_eq!(
        (status, &body["work_item"]["resourcing"]["to"]),
        (200, &json!("offered"))
    );
    let (status, body) = api
        .post(
            &item_route("allocate"),
            &item_path("allocate"),
            json!({"participant": "ann"}),
        )
        .await;
    assert_eq!(
        (status, &body["work_item"]["resourcing"]["to"]),
        (200, &json!("allocated"))
    );
    let (status, _) = api
        .post(
            &item_route("start"),
            &item_path("start"),
            json!({"worker": "bo"}),
        )
        .await;
    assert_eq!(status, 409, "allocated to ann");
    let (status, _) = api
        .post(
            &item_route("start"),
            &item_path("start"),
            json!({"worker": "ann"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .post(
            &item_route("complete"),
            &item_path("complete"),
            json!({"data": [1], "worker": "ann"}),
        )
        .await;
    assert_eq!(status, 422, "output data is an object");
    let (status, _) = api
        .post(
            &item_route("release"),
            &item_path("release"),
            json!({"worker": "ann"}),
        )
        .await;
    assert_eq!(status, 200);
    let claim = json!({"task_id": "A", "worker": "robot", "lease_ms": 60_000});
    let (status, body) = api
        .post("/work-items/claim", "/work-items/claim", claim)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["work_items"][0]["lease"]["worker"], "robot", "{body}");
    let (status, _) = api
        .post(
            &item_route("complete"),
            &item_path("complete"),
            json!({"worker": "robot"}),
        )
        .await;
    assert_eq!(status, 200);
    let case_route = |verb: &str| format!("/cases/{{case_id}}/{verb}");
    let case_path = |verb: &str| format!("/cases/{running}/{verb}");
    assert_eq!(
        api.post(&case_route("resume"), &case_path("resume"), json!({}))
            .await
            .0,
        409
    );
    assert_eq!(
        api.post(&case_route("suspend"), &case_path("suspend"), json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        api.post(&case_route("resume"), &case_path("resume"), json!({}))
            .await
            .0,
        200
    );
    let signal = "/cases/{case_id}/signals/{name}";
    assert_eq!(
        api.post(signal, &case_path("signals/bell"), json!({}))
            .await
            .0,
        200
    );
    let instances = "/cases/{case_id}/tasks/{task_id}/instances";
    let (status, _) = api
        .post(
            instances,
            &case_path("tasks/B/instances"),
            json!({"data": {}}),
        )
        .await;
    assert_eq!(status, 409, "B is not a multiple-instance task");
    assert_eq!(
        api.post(&case_route("cancel"), &case_path("cancel"), json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        api.post(&case_route("cancel"), &case_path("cancel"), json!({}))
            .await
            .0,
        409
    );

    // Listings and the errors every operation shares.
    assert_eq!(api.get("/cases", "/cases?limit=1").await.0, 200);
    assert_eq!(api.get("/cases", "/cases?limit=0").await.0, 400);
    assert_eq!(api.get("/cases", "/cases?state=sleeping").await.0, 400);
    assert_eq!(
        api.get("/work-items", "/work-items?limit=1&status=completed")
            .await
            .0,
        200
    );
    assert_eq!(
        api.get("/work-items", "/work-items?case_id=77").await.0,
        404
    );
    assert_eq!(api.get("/cases/{case_id}", "/cases/abc").await.0, 400);
    assert_eq!(api.get("/cases/{case_id}", "/cases/%FF").await.0, 400);
    assert_eq!(api.get("/work-items/{id}", "/work-items/1").await.0, 400);
    let empty = Some(("text/plain", b"x".to_vec()));
    let (status, _) = api.call_with("POST", "/cases", "/cases", &[], empty).await;
    assert_eq!(status, 415);
}

/// Regression (issue "no request can crash knhk"): an id of the documented shape beyond
/// 64 bits was `400 invalid_id`, which the document's pattern admits; it names nothing.
#[tokio::test]
async fn ids_beyond_64_bits_are_not_found() {
    let api = Api::open();
    let beyond = "18446744073709551616";
    let (status, body) = api
        .get("/cases/{case_id}", &format!("/cases/{beyond}"))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("case_not_found"))
    );
    let (status, body) = api
        .get("/work-items/{id}", &format!("/work-items/1-{beyond}"))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("work_item_not_found"))
    );
    let (status, body) = api.get("/cases", &format!("/cases?after={beyond}")).await;
    assert_eq!((status, &body["cases"]), (200, &json!([])));
    let (status, body) = api
        .get("/work-items", &format!("/work-items?after={beyond}-1"))
        .await;
    assert_eq!((status, &body["work_items"]), (200, &json!([])));
    // A 21st digit is another shape.
    let (status, body) = api
        .get("/cases/{case_id}", &format!("/cases/{beyond}0"))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_id"))
    );
}

/// Regression (issue "no request can crash knhk", found by Schemathesis): `lease_ms:
/// 20833734.0` was refused, though the document's `type: integer` admits it, as JSON
/// Schema counts integers by value.
#[tokio::test]
async fn integers_may_be_written_as_floats() {
    let api = Api::open();
    api.post(
        "/workflows",
        "/workflows",
        spec_body("simple-sequence.json"),
    )
    .await;
    let (status, body) = api
        .post(
            "/cases",
            "/cases",
            json!({"spec_id": "simple-sequence", "version": 1.0}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let claim = json!({"task_id": "A", "worker": "robot", "lease_ms": 20833734.0, "max": 1e0});
    let (status, body) = api
        .post("/work-items/claim", "/work-items/claim", claim)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["work_items"].as_array().unwrap().len(), 1);
    for lease in [json!(1.5), json!(-1), json!("1"), json!(1e20)] {
        let claim = json!({"task_id": "A", "worker": "robot", "lease_ms": lease});
        let (status, body) = api
            .post("/work-items/claim", "/work-items/claim", claim)
            .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (422, &json!("invalid_body")),
            "{lease}"
        );
    }
}

/// Regression: names were limited to 256 bytes, where the document's `maxLength` counts
/// characters.
#[tokio::test]
async fn names_are_limited_in_characters() {
    let api = Api::open();
    api.post(
        "/workflows",
        "/workflows",
        spec_body("simple-sequence.json"),
    )
    .await;
    let (_, body) = api
        .post("/cases", "/cases", json!({"spec_id": "simple-sequence"}))
        .await;
    let case = body["case_id"].as_str().unwrap().to_owned();
    let item = first_item(&api, &case).await;
    let route = "/work-items/{id}/allocate";
    let path = format!("/work-items/{item}/allocate");
    let long = "é".repeat(256);
    let (status, body) = api.post(route, &path, json!({"participant": long})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = api
        .post(route, &path, json!({"participant": format!("{long}é")}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_quarantined_case_matches_the_document() {
    let store = Arc::new(MemoryStore::new());
    let api = Api::new({
        let state = AppState::new(ApiConfig::default());
        state.set_engine(engine(store.clone()));
        state
    });
    api.post(
        "/workflows",
        "/workflows",
        spec_body("simple-sequence.json"),
    )
    .await;
    let (_, body) = api
        .post("/cases", "/cases", json!({"spec_id": "simple-sequence"}))
        .await;
    let case = body["case_id"].as_str().unwrap().to_owned();
    drop(api);
    // A forged entry claiming an event the kernel does not produce: the case no longer
    // replays.
    let forged = Entry {
        at_ms: 1_000,
        action: Action::Command {
            command: knhk_kernel::Command::StartWorkItem {
                work_item: WorkItemId(1),
            },
            worker: None,
        },
        events: vec![Event::WorkItemStarted {
            work_item: WorkItemId(42),
        }],
    };
    let id = CaseId(case.parse().unwrap());
    store.append(&[forged.to_record(id, 1).unwrap()]).unwrap();
    let state = AppState::new(ApiConfig::default());
    state.set_engine(engine(store));
    let api = Api::new(state);
    let (status, body) = api.get("/cases/{case_id}", &format!("/cases/{case}")).await;
    assert_eq!(
        (status, &body["case"]["state"]),
        (200, &json!("quarantined"))
    );
    assert_eq!(body["case"]["data"], Value::Null);
    assert_eq!(body["case"]["reason"]["seq"], 1, "{body}");
    let (_, body) = api.get("/cases", "/cases?state=quarantined").await;
    assert_eq!(body["cases"].as_array().unwrap().len(), 1);
    let cancel = format!("/cases/{case}/cancel");
    let (status, body) = api
        .post("/cases/{case_id}/cancel", &cancel, json!({}))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("case_quarantined"))
    );
    let history = format!("/cases/{case}/history");
    assert_eq!(api.get("/cases/{case_id}/history", &history).await.0, 409);
    // The export leaves the quarantined case out, and the log is whole.
    let (status, xes) = api
        .get("/workflows/{spec_id}/xes", "/workflows/simple-sequence/xes")
        .await;
    assert_eq!(status, 200);
    let xes = xes.as_str().unwrap();
    assert!(
        !xes.contains("<trace>") && xes.ends_with("</log>\n"),
        "{xes}"
    );
}

#[tokio::test]
async fn the_xes_export_matches_the_document() {
    let api = Api::open();
    let route = "/workflows/{spec_id}/xes";
    api.post(
        "/workflows",
        "/workflows",
        spec_body("simple-sequence.json"),
    )
    .await;
    let (status, _) = api
        .post("/cases", "/cases", json!({"spec_id": "simple-sequence"}))
        .await;
    assert_eq!(status, 201);
    let (status, xes) = api.get(route, "/workflows/simple-sequence/xes").await;
    assert_eq!(status, 200);
    let xes = xes.as_str().unwrap();
    assert!(
        xes.contains("<trace>") && xes.ends_with("</log>\n"),
        "{xes}"
    );
    let (status, xes) = api
        .get(route, "/workflows/simple-sequence/xes?from=0&to=1000")
        .await;
    assert_eq!(status, 200);
    // The case was launched at 1000 (the clock does not move): `to` is exclusive.
    assert!(!xes.as_str().unwrap().contains("<trace>"));
    let (status, xes) = api
        .get(route, "/workflows/simple-sequence/xes?from=1000&to=1001")
        .await;
    assert_eq!(status, 200);
    assert!(xes.as_str().unwrap().contains("<trace>"));
    // An empty window is no error.
    let (status, xes) = api
        .get(route, "/workflows/simple-sequence/xes?from=2000&to=1000")
        .await;
    assert_eq!(status, 200);
    assert!(!xes.as_str().unwrap().contains("<trace>"));
    for bad in [
        "from=yesterday",
        "to=-1",
        "from=1.5",
        "to=2026-01-01T00:00:00Z",
        "from=9223372036854775808",
    ] {
        let (status, body) = api
            .get(route, &format!("/workflows/simple-sequence/xes?{bad}"))
            .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("invalid_request")),
            "{bad}"
        );
        let name = bad.split('=').next().unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(name), "{bad}: {message}");
    }
    let (status, body) = api.get(route, "/workflows/nope/xes").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("spec_not_found"))
    );
    let operation = &api.document["paths"][route]["get"];
    for parameter in operation["parameters"].as_array().unwrap() {
        if parameter["in"] == "query" {
            assert_eq!(parameter["schema"]["format"], "int64", "{parameter}");
            assert_eq!(parameter["schema"]["minimum"], 0, "{parameter}");
        }
    }
}

#[tokio::test]
async fn refusals_before_the_engine_and_by_token_match_the_document() {
    let api = Api::new(AppState::new(ApiConfig::default()));
    assert_eq!(api.get("/ready", "/ready").await.0, 503);
    assert_eq!(api.get("/cases", "/cases").await.0, 503);
    assert_eq!(
        api.post("/cases", "/cases", json!({"spec_id": "x"}))
            .await
            .0,
        503
    );

    let reader = "reader-token-reader-token-reader-token";
    let file = format!(
        "[[token]]\nidentity = \"rita\"\nrole = \"reader\"\nsha256 = \"{}\"\n",
        knhk_server::auth::token_hash(reader)
    );
    let state = AppState::new(ApiConfig::default()).with_tokens(Tokens::parse(&file).unwrap());
    state.set_engine(engine(Arc::new(MemoryStore::new())));
    let api = Api::new(state);
    let (status, body) = api.get("/cases", "/cases").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("unauthorized"))
    );
    let bearer = format!("Bearer {reader}");
    let with_token = [("Authorization", bearer.as_str())];
    let (status, _) = api
        .call_with("GET", "/cases", "/cases", &with_token, None)
        .await;
    assert_eq!(status, 200);
    let body = Some(("application/json", br#"{"spec_id": "x"}"#.to_vec()));
    let (status, body) = api
        .call_with("POST", "/cases", "/cases", &with_token, body)
        .await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")));
    assert_eq!(api.get("/health", "/health").await.0, 200, "public");
}

/// The validator above finds what it is there to find, so that a passing session means
/// something.
#[test]
fn the_checker_refuses_bodies_the_document_refuses() {
    let document = serde_json::to_value(knhk_server::openapi()).unwrap();
    let schema = json!({"$ref": "#/components/schemas/CaseBody"});
    let good = json!({"case_id": "1", "state": "running", "data": {}});
    assert_eq!(conforms(&document, &schema, &good), Ok(()));
    for bad in [
        json!({"case_id": "1", "state": "sleeping", "data": {}}),
        json!({"case_id": "1", "state": "running", "data": 5}),
        json!({"case_id": "1", "state": "running"}),
        json!({"case_id": "1", "state": "failed", "data": {}, "reason": {"x": 1}}),
        json!({"case_id": "1", "state": "deadlocked", "data": {}, "reason": [{"net": "a"}]}),
        json!({"case_id": "1", "state": "running", "data": {}, "spec_id": null}),
    ] {
        assert!(conforms(&document, &schema, &bad).is_err(), "{bad}");
    }
}

/// Regression: a listing of one case's work items after another case's item gave the
/// whole case when that other case came later, though all of its items come before.
#[tokio::test]
async fn a_page_of_one_case_after_a_later_case_is_empty() {
    let api = Api::open();
    api.post(
        "/workflows",
        "/workflows",
        spec_body("simple-sequence.json"),
    )
    .await;
    let launch = json!({"spec_id": "simple-sequence"});
    let (_, first) = api.post("/cases", "/cases", launch.clone()).await;
    let (_, second) = api.post("/cases", "/cases", launch).await;
    let first = first["case_id"].as_str().unwrap();
    let second = second["case_id"].as_str().unwrap();
    let page = |case: &str, after: &str| format!("/work-items?case_id={case}&after={after}-1");
    let (status, body) = api.get("/work-items", &page(first, second)).await;
    assert_eq!((status, &body["work_items"]), (200, &json!([])));
    let (status, body) = api.get("/work-items", &page(second, first)).await;
    assert_eq!(status, 200);
    assert_eq!(body["work_items"][0]["id"], format!("{second}-1"), "{body}");
}
