//! `/workflows`: registering specifications (JSON, Turtle, YAWL XML), reading them, and
//! exporting their cases' event log as XES.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use knhk_ingest::{CheckOptions, Format};
use knhk_runtime::xes::{self, Window, XesError, XesExport};
use knhk_verify::{Interrupt, VerifyOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::error::ErrorBody;
use crate::ids::PathParams;
use crate::openapi::{EngineErrors, Internal, NotReady, RequestTimeout};
use crate::{ApiError, AppState, body};

/// A registered specification version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Registered {
    /// The specification's id.
    spec_id: String,
    /// Its version (the latest one if the text was already registered), from 1.
    #[schema(minimum = 1)]
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

/// Registers a specification, in JSON, Turtle or YAWL XML.
///
/// JSON comes as `{"spec": ...}` (`application/json`), Turtle as `text/turtle`, YAWL XML
/// as `application/xml`, `text/xml` or `application/yawl+xml`. A specification with
/// errors is refused with every error. Registering the latest version's text again
/// returns that version.
#[utoipa::path(post, path = "/workflows", tag = "workflows", operation_id = "workflows_register",
    request_body(
        description = "the specification: in knhk's JSON format inside `{\"spec\": ...}`, or \
            the text of a Turtle or YAWL XML document",
        content(
            (RegisterBody = "application/json"),
            (String = "text/turtle"),
            (String = "application/xml"),
            (String = "text/xml"),
            (String = "application/yawl+xml"),
        )
    ),
    responses(
        (status = 201, description = "registered (or the latest version, if the text is \
            unchanged)", body = Registered),
        (status = 400, description = "`invalid_json`: a JSON body that is not JSON; \
            `invalid_body`: a Turtle or XML body that is not UTF-8", body = ErrorBody),
        (status = 408, response = RequestTimeout),
        (status = 409, description = "`spec_limit_reached`: at most `limits.specs_max` \
            specifications, or `limits.spec_versions_max` versions of one, may be stored", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the body is over \
            `limits.body_max_bytes`; `specification_too_large`: more elements than \
            `limits.spec_elements_max`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: a content type other than \
            those of the request body", body = ErrorBody),
        (status = 422, description = "`invalid_specification`: the specification has errors \
            (`details.errors` has every one, with `details.warnings`); `invalid_body`: the JSON \
            is not `{\"spec\": ...}`; `data_too_deep`: a variable's initial value nests deeper \
            than `limits.data_depth_max`", body = ErrorBody),
        (status = 500, response = Internal),
        (status = 503, description = "`not_ready`: the engine is still recovering; `busy`: \
            `registrations_max` registrations are being verified, and no turn came in time", body = ErrorBody),
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
    let bytes = body::bytes(payload)?;
    let (valid, warnings) = check(&state, format, bytes).await?;
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

/// The specification's text in a registration's body: the value of `spec` for JSON
/// (handed to the reader as it came: parsing it into a value first, only to print it
/// again, would read it twice), the whole body for Turtle and YAWL XML.
fn spec_text(format: Format, bytes: &[u8]) -> Result<String, ApiError> {
    if format != Format::Json {
        return String::from_utf8(bytes.to_vec()).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("body is not UTF-8: {e}"),
            )
        });
    }
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
    let request: RegisterBody = serde_json::from_slice(bytes).map_err(|e| {
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
    Ok(request.spec.get().to_owned())
}

/// The most errors, and warnings, a registration's answer lists (`details.errors_total`
/// and `warnings_total` count them all).
const FINDINGS_SHOWN: usize = 100;

/// Reads and verifies the body `bytes` on the blocking pool, at most
/// [`ApiConfig::registrations_max`] at a time: the size limit first, then the
/// verification, whose soundness exploration is cut short (a warning) once it has run
/// for [`ApiConfig::verify_time_max`]. Returns the valid specification and the warnings.
async fn check(
    state: &AppState,
    format: Format,
    bytes: Bytes,
) -> Result<(knhk_model::ValidSpec, Vec<Value>), ApiError> {
    let config = state.config;
    let permit = tokio::time::timeout(
        config.verify_time_max,
        Arc::clone(&state.registrations).acquire_owned(),
    )
    .await;
    let Ok(Ok(permit)) = permit else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "{} registrations are being verified; try again later",
                config.registrations_max
            ),
        ));
    };
    let interrupt = Interrupt::new();
    let options = CheckOptions {
        lenient: false,
        elements_max: Some(config.spec_elements_max),
        verify: VerifyOptions {
            reject_unsound: config.reject_unsound,
            interrupt: interrupt.clone(),
            ..VerifyOptions::default()
        },
    };
    let mut work = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let text = spec_text(format, &bytes)?;
        let checked = knhk_ingest::check(format, &text, "http://knhk.invalid/workflows/", &options);
        let valid = checked.valid();
        Ok::<_, ApiError>((checked, valid))
    });
    let checked = match tokio::time::timeout(config.verify_time_max, &mut work).await {
        Ok(done) => done,
        Err(_) => {
            // Past the budget: the exploration stops at its next state and the
            // verdicts it had not reached are unknown.
            interrupt.raise();
            work.await
        }
    };
    let (checked, valid) = checked.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("verification failed: {e}"),
        )
    })??;
    if let Some(too_large) = checked.too_large {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "specification_too_large",
            format!(
                "the specification has {} elements (tasks, conditions, flows and variables), \
                 more than the limit of {}",
                too_large.elements, too_large.max
            ),
        ));
    }
    // A finding serializes with its rule, net, element and message. A broken net of
    // tens of thousands of elements has as many findings: the first ones tell the story,
    // and the counts the rest.
    let findings = |list: &[knhk_verify::Finding]| -> Vec<Value> {
        list.iter().take(FINDINGS_SHOWN).map(|f| json!(f)).collect()
    };
    let warnings = findings(&checked.report.warnings);
    let report = &checked.report;
    let Some(valid) = valid else {
        let details = json!({
            "format": checked.format,
            "errors": findings(&report.errors),
            "warnings": warnings,
            "errors_total": report.errors.len(),
            "warnings_total": report.warnings.len(),
        });
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_specification",
            format!(
                "the specification has {} error{}: {}",
                report.errors.len(),
                if report.errors.len() == 1 { "" } else { "s" },
                report
                    .errors
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        )
        .with_details(details));
    };
    check_initial_values(&valid, config.data_depth_max)?;
    Ok((valid, warnings))
}

/// 422 if a variable's initial value would make the case data nest deeper than
/// `depth_max` (the data object is the first level).
fn check_initial_values(spec: &knhk_model::ValidSpec, depth_max: usize) -> Result<(), ApiError> {
    for net in &spec.nets {
        for variable in &net.variables {
            if let Some(value) = &variable.initial {
                body::check_depth(value, depth_max.saturating_sub(1)).map_err(|_| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "data_too_deep",
                        format!(
                            "net `{}`: the initial value of variable `{}` nests deeper than \
                             the data limit of {depth_max} levels allows",
                            net.id, variable.name
                        ),
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// One registered version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkflowSummary {
    /// The id.
    spec_id: String,
    /// The version, from 1.
    #[schema(minimum = 1)]
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
#[utoipa::path(get, path = "/workflows", tag = "workflows", operation_id = "workflows_list",
    responses(
        (status = 200, description = "every registered version", body = WorkflowList),
        (status = 503, response = NotReady),
    ))]
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
#[into_params(parameter_in = Query)]
pub(crate) struct VersionQuery {
    /// A version; the latest without.
    #[param(minimum = 1, maximum = 18446744073709551615_u64, nullable = false)]
    version: Option<u64>,
}

/// A specification in knhk's JSON format (its latest version, or `?version=`).
#[utoipa::path(get, path = "/workflows/{spec_id}", tag = "workflows", operation_id = "workflows_get",
    params(("spec_id" = String, Path, min_length = 1, description = "the specification's id"), VersionQuery),
    responses(
        (status = 200, description = "the specification in knhk's JSON format \
            (docs/spec-format.md)", body = Object),
        (status = 400, description = "`invalid_request`: `version` is not a number; \
            `invalid_path`: the path does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = "`spec_not_found`: no such specification, or no such \
            version", body = ErrorBody),
        (status = 409, description = "`specification_unavailable`: this stored version no \
            longer loads (see `/ready`)", body = ErrorBody),
        EngineErrors,
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    PathParams(spec_id): PathParams<String>,
    query: Result<Query<VersionQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = body::query(query)?;
    let version = state.engine()?.spec(&spec_id, query.version)?;
    let spec: Value = serde_json::from_str(&version.json)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(Json(spec))
}

/// `?from=&to=` of `GET /workflows/{spec_id}/xes`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct XesQuery {
    /// Only events at or after this time: ms since the Unix epoch (inclusive).
    #[param(minimum = 0, maximum = 9223372036854775807_u64, nullable = false)]
    from: Option<u64>,
    /// Only events before this time: ms since the Unix epoch (exclusive).
    #[param(minimum = 0, maximum = 9223372036854775807_u64, nullable = false)]
    to: Option<u64>,
}

/// The event log of a specification's cases as XES (IEEE 1849), for process mining.
///
/// One trace per case of any version of the specification (`concept:name`: the case id),
/// in case order; one event per work-item life-cycle transition, with `concept:name` (the
/// task id), `lifecycle:transition` (standard model: `schedule`, `assign`, `start`,
/// `suspend`, `resume`, `reassign`, `complete`, `withdraw`, `ate_abort`, `pi_abort`),
/// `time:timestamp` and, where known, `org:resource`. `from` and `to` keep the events of
/// a window (`from` at or after `to`: an empty one); a case with no event in it has no
/// trace. Quarantined cases are left out.
/// The body is streamed case by case; a failure after the first case ends it early, so
/// a body without `</log>` is incomplete.
#[utoipa::path(get, path = "/workflows/{spec_id}/xes", tag = "workflows", operation_id = "workflows_xes",
    params(("spec_id" = String, Path, min_length = 1, description = "the specification's id"), XesQuery),
    responses(
        (status = 200, description = "the XES document (docs/api.md has the mapping)",
            content_type = "application/xml", body = String),
        (status = 400, description = "`invalid_request`: `from` or `to` is not a number of ms \
            since the Unix epoch; `invalid_path`: the path does not \
            decode as UTF-8", body = ErrorBody),
        (status = 404, description = "`spec_not_found`: no version of this specification was \
            ever registered", body = ErrorBody),
        EngineErrors,
    ))]
pub(crate) async fn xes(
    State(state): State<AppState>,
    PathParams(spec_id): PathParams<String>,
    query: Result<Query<XesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    // `from` at or after `to` is an empty window, not an error: both are valid times.
    let query = body::query(query)?;
    // A time is a signed 64-bit count of ms in every other system (XES tools, JSON
    // readers); past it is no time.
    for (name, value) in [("from", query.from), ("to", query.to)] {
        if value.is_some_and(|ms| i64::try_from(ms).is_err()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("`{name}` is past the largest time, {} ms", i64::MAX),
            ));
        }
    }
    let window = Window {
        from_ms: query.from,
        to_ms: query.to,
    };
    // The specification is checked before the answer starts, so an unknown one is a
    // 404; from then on the body is produced one case at a time, as the client reads.
    let export = state
        .engine()?
        .xes_export(&spec_id, window)
        .await
        .map_err(|e| match e {
            XesError::Engine(e) => ApiError::from(e),
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                other.to_string(),
            ),
        })?;
    let body = Body::from_stream(futures_util::stream::unfold(Some(export), next_chunk));
    Ok(([(header::CONTENT_TYPE, xes::MEDIA_TYPE)], body).into_response())
}

/// The next chunk of an XES body, for `stream::unfold`: `None` as the state once the
/// export ended, or failed (the error ends the body early, and is logged: the status
/// was sent with the first chunk).
async fn next_chunk(
    export: Option<XesExport>,
) -> Option<(Result<Vec<u8>, std::io::Error>, Option<XesExport>)> {
    let mut export = export?;
    match export.next_chunk().await {
        Ok(Some(chunk)) => Some((Ok(chunk), Some(export))),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "XES export failed; the body ends early");
            Some((Err(std::io::Error::other(e.to_string())), None))
        }
    }
}
