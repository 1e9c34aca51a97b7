//! `/cases`: launching, listing, reading, cancelling, suspending and resuming cases,
//! their history, signals, and dynamic instances.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use knhk_kernel::{CaseState, Command, Event, NetInstanceId};
use knhk_runtime::{Action, CaseQuery, CaseView, EngineError, Listed, Quarantine};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::ids::PathParams;
use crate::{ApiError, AppState, body, ids};

/// A case as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseBody {
    /// The case's id.
    #[schema(pattern = "^[1-9][0-9]{0,19}$")]
    case_id: String,
    /// The specification it runs (absent only for a quarantined case whose records do
    /// not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    spec_id: Option<String>,
    /// The specification version it runs (absent as `spec_id` is).
    #[serde(skip_serializing_if = "Option::is_none")]
    spec_version: Option<u64>,
    /// `running`, `suspended`, `completed`, `cancelled`, `deadlocked`, `failed`, or
    /// `quarantined` (its stored records cannot be loaded; it takes no commands).
    state: &'static str,
    /// Why it failed, where it is stuck when deadlocked, or why it is quarantined.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Value>,
    /// The case data (null for a quarantined case).
    #[schema(value_type = Object)]
    data: Value,
    /// When it was launched (ms since the Unix epoch; absent for a quarantined case).
    #[serde(skip_serializing_if = "Option::is_none")]
    launched_at_ms: Option<u64>,
    /// When it last changed (absent for a quarantined case).
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at_ms: Option<u64>,
}

impl From<CaseView> for CaseBody {
    fn from(view: CaseView) -> CaseBody {
        let reason = match &view.state {
            CaseState::Failed { reason } => serde_json::to_value(reason).ok(),
            CaseState::Deadlocked { stuck } => serde_json::to_value(stuck).ok(),
            _ => None,
        };
        CaseBody {
            case_id: view.id.0.to_string(),
            spec_id: Some(view.spec.id),
            spec_version: Some(view.spec.version),
            state: view.state.name(),
            reason,
            data: view.data,
            launched_at_ms: Some(view.launched_at_ms),
            updated_at_ms: Some(view.updated_at_ms),
        }
    }
}

impl From<Quarantine> for CaseBody {
    fn from(quarantine: Quarantine) -> CaseBody {
        CaseBody {
            case_id: quarantine.id.0.to_string(),
            spec_id: quarantine.spec.as_ref().map(|s| s.id.clone()),
            spec_version: quarantine.spec.as_ref().map(|s| s.version),
            state: "quarantined",
            reason: Some(json!({"seq": quarantine.seq, "message": quarantine.reason})),
            data: Value::Null,
            launched_at_ms: None,
            updated_at_ms: None,
        }
    }
}

impl From<Listed> for CaseBody {
    fn from(listed: Listed) -> CaseBody {
        match listed {
            Listed::Case(view) => view.into(),
            Listed::Quarantined(quarantine) => quarantine.into(),
        }
    }
}

/// `{"case": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OneCase {
    /// The case.
    case: CaseBody,
}

/// `POST /cases`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LaunchBody {
    /// The specification to run.
    spec_id: String,
    /// Its version; the latest without.
    version: Option<u64>,
    /// Launch data: an object whose fields set the root net's variables.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
}

/// `201` of `POST /cases`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Launched {
    /// The new case's id.
    case_id: String,
    /// The case, as it is once launched (running, unless it ended at once).
    case: CaseBody,
}

/// Launches a case; it is running (and durable) when the reply arrives.
#[utoipa::path(post, path = "/cases", tag = "cases", request_body = LaunchBody,
    responses((status = 201, body = Launched), (status = 404, description = "no such specification"),
              (status = 422, description = "bad launch data")))]
pub(crate) async fn launch(
    State(state): State<AppState>,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Launched>), ApiError> {
    let engine = state.engine()?;
    let request: LaunchBody = body::json(&headers, payload, state.config.data_depth_max + 1)?;
    let data = request
        .data
        .unwrap_or_else(|| Value::Object(Default::default()));
    let view = engine
        .launch(&request.spec_id, request.version, data)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Launched {
            case_id: view.id.0.to_string(),
            case: view.into(),
        }),
    ))
}

/// Filters and paging of `GET /cases`.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// Only cases in this state.
    state: Option<String>,
    /// Only cases of this specification.
    spec_id: Option<String>,
    /// Only cases after this id (the previous page's `next`).
    after: Option<String>,
    /// At most this many (default and cap: the server's page size).
    limit: Option<usize>,
}

/// `GET /cases`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseList {
    /// One page of cases, by ascending id.
    cases: Vec<CaseBody>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Lists cases by state and specification, one page at a time.
#[utoipa::path(get, path = "/cases", tag = "cases", params(ListQuery),
    responses((status = 200, body = CaseList), (status = 400, description = "bad filter")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<CaseList>, ApiError> {
    let query = body::query(query)?;
    let after = query.after.as_deref().map(ids::case).transpose()?;
    let page = state
        .engine()?
        .cases(&CaseQuery {
            state: query.state,
            spec_id: query.spec_id,
            after,
            limit: query.limit,
        })
        .await?;
    Ok(Json(CaseList {
        cases: page.items.into_iter().map(CaseBody::from).collect(),
        next: page.next.map(|c| c.0.to_string()),
    }))
}

/// Reads a case.
#[utoipa::path(get, path = "/cases/{case_id}", tag = "cases",
    params(("case_id" = String, Path, description = "the case's id")),
    responses((status = 200, body = OneCase), (status = 404, description = "no such case")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    PathParams(case_id): PathParams<String>,
) -> Result<Json<OneCase>, ApiError> {
    let case = match state.engine()?.case(ids::case(&case_id)?).await {
        Ok(view) => view.into(),
        // A quarantined case is shown as such, with its reason.
        Err(EngineError::Quarantined(quarantine)) => (*quarantine).into(),
        Err(e) => return Err(e.into()),
    };
    Ok(Json(OneCase { case }))
}

async fn case_command(
    state: &AppState,
    case_id: &str,
    command: Command,
) -> Result<Json<OneCase>, ApiError> {
    let engine = state.engine()?;
    let case = ids::case(case_id)?;
    engine.command(case, command, None).await?;
    Ok(Json(OneCase {
        case: engine.case(case).await?.into(),
    }))
}

/// Cancels a case: its work is withdrawn (WCP 20).
#[utoipa::path(post, path = "/cases/{case_id}/cancel", tag = "cases",
    params(("case_id" = String, Path, description = "the case's id")),
    responses((status = 200, body = OneCase), (status = 409, description = "the case has ended")))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    PathParams(case_id): PathParams<String>,
) -> Result<Json<OneCase>, ApiError> {
    case_command(&state, &case_id, Command::CancelCase).await
}

/// Suspends a running case: its work items refuse commands until it is resumed.
#[utoipa::path(post, path = "/cases/{case_id}/suspend", tag = "cases",
    params(("case_id" = String, Path, description = "the case's id")),
    responses((status = 200, body = OneCase), (status = 409, description = "the case is not running")))]
pub(crate) async fn suspend(
    State(state): State<AppState>,
    PathParams(case_id): PathParams<String>,
) -> Result<Json<OneCase>, ApiError> {
    case_command(&state, &case_id, Command::SuspendCase).await
}

/// Resumes a suspended case.
#[utoipa::path(post, path = "/cases/{case_id}/resume", tag = "cases",
    params(("case_id" = String, Path, description = "the case's id")),
    responses((status = 200, body = OneCase), (status = 409, description = "the case is not suspended")))]
pub(crate) async fn resume(
    State(state): State<AppState>,
    PathParams(case_id): PathParams<String>,
) -> Result<Json<OneCase>, ApiError> {
    case_command(&state, &case_id, Command::ResumeCase).await
}

/// One entry of a case's history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HistoryEvent {
    /// Its position in the case's log.
    seq: u64,
    /// When (ms since the Unix epoch).
    at_ms: u64,
    /// What was done (launch, command, claim, ...).
    #[schema(value_type = Object)]
    action: Action,
    /// What it caused.
    #[schema(value_type = Vec<Object>)]
    events: Vec<Event>,
}

/// `GET /cases/{case_id}/history`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct History {
    /// Every entry, oldest first.
    events: Vec<HistoryEvent>,
}

/// A case's full history: every acknowledged action with its time and events.
#[utoipa::path(get, path = "/cases/{case_id}/history", tag = "cases",
    params(("case_id" = String, Path, description = "the case's id")),
    responses((status = 200, body = History), (status = 404, description = "no such case")))]
pub(crate) async fn history(
    State(state): State<AppState>,
    PathParams(case_id): PathParams<String>,
) -> Result<Json<History>, ApiError> {
    let entries = state.engine()?.history(ids::case(&case_id)?).await?;
    let events = entries
        .into_iter()
        .map(|h| HistoryEvent {
            seq: h.seq,
            at_ms: h.at_ms,
            action: h.action,
            events: h.events,
        })
        .collect();
    Ok(Json(History { events }))
}

/// `POST /cases/{case_id}/signals/{name}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Signalled {
    /// The triggered tasks that took the signal (none: a transient trigger not waiting).
    taken_by: Vec<String>,
}

/// Sends a signal to a case's triggered tasks (WCP 23, 24).
#[utoipa::path(post, path = "/cases/{case_id}/signals/{name}", tag = "cases",
    params(("case_id" = String, Path, description = "the case's id"), ("name" = String, Path, description = "the signal")),
    responses((status = 200, body = Signalled), (status = 409, description = "the case is not running")))]
pub(crate) async fn signal(
    State(state): State<AppState>,
    PathParams((case_id, name)): PathParams<(String, String)>,
) -> Result<Json<Signalled>, ApiError> {
    let events = state
        .engine()?
        .command(
            ids::case(&case_id)?,
            Command::Signal {
                name: ids::name(name)?,
            },
            None,
        )
        .await?;
    let taken_by = events
        .into_iter()
        .find_map(|e| match e {
            Event::SignalReceived { taken_by, .. } => Some(taken_by),
            _ => None,
        })
        .unwrap_or_default();
    Ok(Json(Signalled { taken_by }))
}

/// `POST /cases/{case_id}/tasks/{task_id}/instances`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstanceBody {
    /// The new instance's element, bound as one element of the split.
    #[schema(value_type = Object)]
    data: Value,
    /// The net instance the task is busy in; the root net's (0) without.
    net_instance: Option<u32>,
}

/// Adds an instance to a busy dynamic multiple-instance task (WCP 15, 36).
#[utoipa::path(post, path = "/cases/{case_id}/tasks/{task_id}/instances", tag = "cases",
    params(("case_id" = String, Path, description = "the case's id"), ("task_id" = String, Path, description = "the task")),
    request_body = InstanceBody,
    responses((status = 201, body = OneCase), (status = 409, description = "the task is not busy or is at its maximum")))]
pub(crate) async fn add_instance(
    State(state): State<AppState>,
    PathParams((case_id, task_id)): PathParams<(String, String)>,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<OneCase>), ApiError> {
    let request: InstanceBody = body::json(&headers, payload, state.config.data_depth_max + 1)?;
    let command = Command::AddInstance {
        net_instance: NetInstanceId(request.net_instance.unwrap_or(0)),
        task: task_id,
        data: request.data,
    };
    let reply = case_command(&state, &case_id, command).await?;
    Ok((StatusCode::CREATED, reply))
}
