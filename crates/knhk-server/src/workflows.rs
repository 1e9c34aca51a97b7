//! `/workflows`: registering specifications (JSON, Turtle, YAWL XML) and reading them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use knhk_ingest::{CheckOptions, Format};
use knhk_verify::VerifyOptions;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::{ApiError, AppState, body};

/// A registered specification version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Registered {
    /// The specification's id.
    spec_id: String,
    /// Its version (the latest one if the text was already registered).
    version: u64,
    /// What the importer and the verifier warn about.
    #[schema(value_type = Vec<Object>)]
    warnings: Vec<Value>,
}

/// `POST /workflows` with `application/json`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterBody {
    /// The specification in knhk's JSON format.
    #[schema(value_type = Object)]
    spec: Box<serde_json::value::RawValue>,
}

/// Registers a specification: JSON (`{"spec": ...}`), Turtle (`text/turtle`) or YAWL XML
/// (`application/xml`). A specification with errors is refused with every error.
#[utoipa::path(post, path = "/workflows", tag = "workflows",
    request_body(content = RegisterBody, description = "JSON; or the text of a Turtle or YAWL XML document"),
    responses(
        (status = 201, body = Registered),
        (status = 413, description = "body or specification too large"),
        (status = 415, description = "not JSON, Turtle or YAWL XML"),
        (status = 422, description = "the specification has errors; `details.errors` lists them"),
    ))]
pub(crate) async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let engine = state.engine()?;
    let accepted = "application/json, text/turtle or application/xml";
    let format = body::content_type(&headers)
        .and_then(knhk_ingest::detect_content_type)
        .ok_or_else(|| body::unsupported(&headers, accepted))?;
    let text = match format {
        Format::Json => {
            // The specification's own text is handed to the reader as it came: parsing
            // it into a value first, only to print it again, would read it twice.
            let bytes = body::bytes(payload)?;
            let shape = |detail: String| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("the body must be {{\"spec\": <specification>}} ({detail})"),
                )
            };
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Err(shape("it is empty".to_owned()));
            }
            let request: RegisterBody = serde_json::from_slice(&bytes).map_err(|e| {
                if e.classify() == serde_json::error::Category::Data {
                    shape(e.to_string())
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_json",
                        format!("body is not JSON: {e}"),
                    )
                }
            })?;
            request.spec.get().to_owned()
        }
        Format::Turtle | Format::Yawl => {
            let bytes = body::bytes(payload)?;
            String::from_utf8(bytes.to_vec()).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    format!("body is not UTF-8: {e}"),
                )
            })?
        }
    };
    let options = CheckOptions {
        lenient: false,
        verify: VerifyOptions {
            reject_unsound: state.config.reject_unsound,
            ..VerifyOptions::default()
        },
    };
    let checked = knhk_ingest::check(format, &text, "http://knhk.invalid/workflows/", &options);
    // A finding serializes with its rule, net, element and message.
    let findings =
        |list: &[knhk_verify::Finding]| -> Vec<Value> { list.iter().map(|f| json!(f)).collect() };
    let warnings = findings(&checked.report.warnings);
    let Some(valid) = checked.valid() else {
        let errors = findings(&checked.report.errors);
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_specification",
            format!(
                "the specification has {} error{}: {}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                checked
                    .report
                    .errors
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        )
        .with_details(json!({"format": checked.format, "errors": errors, "warnings": warnings})));
    };
    let elements: usize = valid
        .nets
        .iter()
        .map(|n| n.tasks.len() + n.conditions.len() + n.flows.len())
        .sum();
    if elements > state.config.spec_elements_max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "specification_too_large",
            format!(
                "the specification has {elements} elements, more than the limit of {}",
                state.config.spec_elements_max
            ),
        ));
    }
    let version = engine.register(valid).await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            spec_id: version.spec_ref.id.clone(),
            version: version.spec_ref.version,
            warnings,
        }),
    ))
}

/// One registered version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkflowSummary {
    /// The id.
    spec_id: String,
    /// The version.
    version: u64,
    /// Its name, if it has one.
    name: Option<String>,
    /// Tasks over all nets.
    tasks: usize,
}

/// `GET /workflows`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkflowList {
    /// Every registered version, by id then version.
    workflows: Vec<WorkflowSummary>,
}

/// Lists every registered specification version.
#[utoipa::path(get, path = "/workflows", tag = "workflows",
    responses((status = 200, body = WorkflowList)))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<WorkflowList>, ApiError> {
    let workflows = state
        .engine()?
        .specs()
        .iter()
        .map(|v| WorkflowSummary {
            spec_id: v.spec_ref.id.clone(),
            version: v.spec_ref.version,
            name: v.spec.name.clone(),
            tasks: v.spec.nets.iter().map(|n| n.tasks.len()).sum(),
        })
        .collect();
    Ok(Json(WorkflowList { workflows }))
}

/// `?version=` of `GET /workflows/{spec_id}`.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct VersionQuery {
    /// A version; the latest without.
    version: Option<u64>,
}

/// A specification in knhk's JSON format (its latest version, or `?version=`).
#[utoipa::path(get, path = "/workflows/{spec_id}", tag = "workflows",
    params(("spec_id" = String, Path, description = "the specification's id"), VersionQuery),
    responses((status = 200, description = "the JSON specification"), (status = 404, description = "no such specification")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(spec_id): Path<String>,
    query: Result<Query<VersionQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = body::query(query)?;
    let version = state.engine()?.spec(&spec_id, query.version)?;
    let spec: Value = serde_json::from_str(&version.json)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(Json(spec))
}
