//! API errors: every failure is `{"error": {"code", "message", "details"}}` with the
//! status that fits, and the code is a stable string clients can branch on.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use knhk_kernel::{CommandError, LaunchError};
use knhk_runtime::EngineError;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// An error reply.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code such as `case_not_found`.
    pub code: &'static str,
    /// What happened, for people.
    pub message: String,
    /// Structured detail (every finding of a rejected specification, ...), or null.
    pub details: Value,
}

impl ApiError {
    /// An error without details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = details;
        self
    }

    /// 400 `invalid_request`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

// The OpenAPI document's `ErrorBody` schema is derived from the very type that is
// serialized, so the two cannot differ.

/// Every error answer's body: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// The error.
    error: ErrorDetail,
}

/// An error: its stable code, a message, and structured details.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// A stable, machine-readable code such as `case_not_found` (docs/api.md lists them).
    code: &'static str,
    /// What happened, for people.
    message: String,
    /// Structured detail (every finding of a rejected specification, the record at
    /// which a case was quarantined, ...), or null.
    #[schema(value_type = Option<Object>, required = true)]
    details: Value,
}

/// The stable code of an error response, which [`ApiError`] leaves in the response's
/// extensions: the request's metrics and log line see only the response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorCode(pub(crate) &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                details: self.details,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        // For the request's metrics and log line, which see only the response.
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        use StatusCode as S;
        let message = error.to_string();
        let (status, code) = match &error {
            EngineError::UnknownCase(_) => (S::NOT_FOUND, "case_not_found"),
            EngineError::UnknownWorkItem { .. } => (S::NOT_FOUND, "work_item_not_found"),
            EngineError::UnknownSpec { .. } => (S::NOT_FOUND, "spec_not_found"),
            EngineError::WorkItemEnded { .. } => (S::CONFLICT, "work_item_ended"),
            EngineError::CaseExists { .. } => (S::CONFLICT, "case_exists"),
            EngineError::LeaseHeld { .. } => (S::CONFLICT, "lease_held"),
            EngineError::LeaseExpired { .. } => (S::CONFLICT, "lease_expired"),
            EngineError::NoExpiredLease { .. } => (S::CONFLICT, "no_expired_lease"),
            EngineError::NotOffered { .. } => (S::CONFLICT, "not_offered"),
            EngineError::Allocated { .. } => (S::CONFLICT, "allocated_to_other"),
            EngineError::InvalidRequest(_) => (S::BAD_REQUEST, "invalid_request"),
            EngineError::InvalidSpec { .. } | EngineError::Compile(_) => {
                (S::UNPROCESSABLE_ENTITY, "invalid_specification")
            }
            EngineError::Launch(launch) => match **launch {
                LaunchError::Command(ref command) => command_status(command),
                _ => (S::UNPROCESSABLE_ENTITY, "invalid_data"),
            },
            EngineError::Command { source, .. } => command_status(source),
            EngineError::SpecLimit { .. } => (S::CONFLICT, "spec_limit_reached"),
            EngineError::StoredSpec { .. } => (S::CONFLICT, "specification_unavailable"),
            EngineError::TooDeep { .. } => (S::UNPROCESSABLE_ENTITY, "data_too_deep"),
            EngineError::Quarantined(quarantine) => {
                let details = json!({"seq": quarantine.seq, "reason": quarantine.reason});
                return ApiError::new(S::CONFLICT, "case_quarantined", message)
                    .with_details(details);
            }
            EngineError::Internal { .. } => (S::INTERNAL_SERVER_ERROR, "internal"),
            _ => (S::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, message)
    }
}

/// The status and code of a kernel refusal.
fn command_status(error: &CommandError) -> (StatusCode, &'static str) {
    use StatusCode as S;
    match error {
        CommandError::InvalidOutput { .. } => (S::UNPROCESSABLE_ENTITY, "invalid_output"),
        CommandError::Predicate { .. } | CommandError::Expression { .. } => {
            (S::UNPROCESSABLE_ENTITY, "expression_failed")
        }
        CommandError::SubnetDepth { .. } => (S::UNPROCESSABLE_ENTITY, "subnet_depth"),
        CommandError::UnknownWorkItem(_) => (S::NOT_FOUND, "work_item_not_found"),
        CommandError::UnknownNetInstance(_) => (S::NOT_FOUND, "net_instance_not_found"),
        CommandError::UnknownTask { .. } => (S::NOT_FOUND, "task_not_found"),
        CommandError::InstanceCount { .. } => (S::UNPROCESSABLE_ENTITY, "instance_count"),
        CommandError::DataTooDeep { .. } => (S::UNPROCESSABLE_ENTITY, "data_too_deep"),
        CommandError::ExpressionLibrary { .. } => (S::INTERNAL_SERVER_ERROR, "internal"),
        _ => (S::CONFLICT, "invalid_state"),
    }
}
