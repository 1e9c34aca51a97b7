//! Health, readiness, the OpenAPI document, and answers for unknown routes.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::{ApiError, AppState};

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok` while the process serves.
    status: &'static str,
    /// The server's version.
    version: &'static str,
    /// Whether the engine has recovered and takes requests (see `/ready`).
    ready: bool,
}

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "system", operation_id = "health",
    responses((status = 200, description = "the process serves", body = Health)))]
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        ready: state.engine().is_ok(),
    })
}

/// `GET /ready`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ready {
    /// `ready`.
    status: &'static str,
    /// Cases in flight after recovery.
    cases_in_flight: usize,
    /// Cases whose stored records could not be loaded (see `GET /cases?state=quarantined`).
    quarantined_cases: usize,
    /// Stored specification versions that no longer load (their cases are quarantined).
    broken_specifications: Vec<String>,
    /// What the operator should know: an open API reachable beyond this machine, ...
    warnings: Vec<String>,
}

/// The engine takes requests: its store is open and writes, and recovery is done.
///
/// 503 otherwise: `not_ready` while recovering, `store_unavailable` while writes fail
/// (with the cause).
#[utoipa::path(get, path = "/ready", tag = "system", operation_id = "ready",
    responses(
        (status = 200, description = "the engine takes requests", body = Ready),
        (status = 503, description = "`not_ready`: the engine is still opening its store and \
            recovering cases; `store_unavailable`: the store cannot write (the message says why; \
            the server retries)", body = ErrorBody),
    ))]
pub(crate) async fn ready(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
    let engine = state.engine()?;
    if let Some(cause) = engine.store_failure() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            format!("the store cannot write (retrying): {cause}"),
        ));
    }
    Ok(Json(Ready {
        status: "ready",
        cases_in_flight: engine.cases_in_flight(),
        quarantined_cases: engine.quarantined().len(),
        broken_specifications: engine
            .broken_specs()
            .iter()
            .map(|b| format!("{}: {}", b.spec_ref, b.reason))
            .collect(),
        warnings: state.warnings.as_ref().clone(),
    }))
}

/// This API described as OpenAPI 3.1.
#[utoipa::path(get, path = "/openapi.json", tag = "system", operation_id = "openapi",
    responses((status = 200, description = "this document", body = OpenApiDocument)))]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi())
}

/// The schema of `GET /openapi.json`'s answer: an OpenAPI document (its fields are
/// OpenAPI's own).
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema only: the document is utoipa's type")]
pub(crate) struct OpenApiDocument {
    /// The OpenAPI version, `3.1.0`.
    openapi: String,
    /// Title, version and description of the API.
    #[schema(value_type = Object)]
    info: (),
    /// Every operation, by path.
    #[schema(value_type = Object)]
    paths: (),
}

/// 404 for a path no route has.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!("no route for `{}` (see GET /openapi.json)", uri.path()),
    )
}

/// 405 for a known path with another method.
pub(crate) async fn method_not_allowed(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "`{}` does not take this method (see GET /openapi.json)",
            uri.path()
        ),
    )
}
