//! `/cases`: launching, listing, reading, cancelling, suspending and resuming cases,
//! their history, signals, and dynamic instances.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use knhk_kernel::{CaseState, Command, Event, FailReason, NetInstanceId};
use knhk_runtime::{Action, CaseQuery, CaseView, EngineError, Listed, Quarantine};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::ErrorBody;
use crate::ids::PathParams;
use crate::openapi::{CaseIdText, EngineErrors, JsonBodyErrors, NameText, NotReady};
use crate::{ApiError, AppState, body, ids};

/// A case's state, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CaseState)]
pub(crate) enum CaseStateName {
    /// Work can happen.
    Running,
    /// Commands on work items are refused until it is resumed.
    Suspended,
    /// Its root net reached its end.
    Completed,
    /// It was cancelled.
    Cancelled,
    /// Tokens remain, but nothing can ever happen again.
    Deadlocked,
    /// It cannot go on.
    Failed,
    /// Its stored records cannot be loaded; it takes no commands.
    Quarantined,
}

impl CaseStateName {
    /// The name, as `GET /cases?state=` and the engine's queries take it.
    fn as_str(self) -> &'static str {
        match self {
            CaseStateName::Running => "running",
            CaseStateName::Suspended => "suspended",
            CaseStateName::Completed => "completed",
            CaseStateName::Cancelled => "cancelled",
            CaseStateName::Deadlocked => "deadlocked",
            CaseStateName::Failed => "failed",
            CaseStateName::Quarantined => "quarantined",
        }
    }
}

impl From<&CaseState> for CaseStateName {
    fn from(state: &CaseState) -> CaseStateName {
        match state {
            CaseState::Running => CaseStateName::Running,
            CaseState::Suspended => CaseStateName::Suspended,
            CaseState::Completed => CaseStateName::Completed,
            CaseState::Cancelled => CaseStateName::Cancelled,
            CaseState::Deadlocked { .. } => CaseStateName::Deadlocked,
            CaseState::Failed { .. } => CaseStateName::Failed,
        }
    }
}

/// Why a case failed (the kernel's `FailReason`): `kind` names the reason.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[schema(as = FailReason)]
pub(crate) enum FailReasonBody {
    /// A started work item went back to enabled (its worker let it go, or its lease
    /// expired).
    WorkItemReleased {
        /// The work item's number in the case.
        work_item: u64,
    },
    /// A started work item was suspended.
    WorkItemSuspended {
        /// The work item's number in the case.
        work_item: u64,
    },
    /// A suspended work item was resumed.
    WorkItemResumed {
        /// The work item's number in the case.
        work_item: u64,
    },
    /// A work item was failed.
    WorkItemFailed {
        /// The work item's number in the case.
        work_item: u64,
        /// Its task.
        task: String,
        /// What its worker said.
        message: String,
    },
    /// Routing tasks kept firing past the step budget within one command.
    StepBudgetExhausted {
        /// The budget.
        steps: u32,
    },
    /// The engine failed the case: a panic while a command was applied, the expression
    /// library failing in itself, or a timer whose net could not go on.
    Aborted {
        /// Why.
        message: String,
    },
}

impl From<&FailReason> for FailReasonBody {
    fn from(reason: &FailReason) -> FailReasonBody {
        match reason {
            FailReason::WorkItemReleased { work_item } => FailReasonBody::WorkItemReleased {
                work_item: work_item.0,
            },
            FailReason::WorkItemSuspended { work_item } => FailReasonBody::WorkItemSuspended {
                work_item: work_item.0,
            },
            FailReason::WorkItemResumed { work_item } => FailReasonBody::WorkItemResumed {
                work_item: work_item.0,
            },
            FailReason::WorkItemFailed {
                work_item,
                task,
                message,
            } => FailReasonBody::WorkItemFailed {
                work_item: work_item.0,
                task: task.clone(),
                message: message.clone(),
            },
            FailReason::StepBudgetExhausted { steps } => {
                FailReasonBody::StepBudgetExhausted { steps: *steps }
            }
            FailReason::Aborted { message } => FailReasonBody::Aborted {
                message: message.clone(),
            },
        }
    }
}

/// A place holding tokens in a deadlocked case.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StuckPlace)]
pub(crate) struct StuckPlaceBody {
    /// The net instance (0: the root net's).
    net_instance: u32,
    /// The net's id.
    net: String,
    /// The place's id (a condition, or an implicit `c{a_b}`).
    place: String,
    /// Its tokens.
    tokens: u32,
}

/// Why a case is quarantined.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuarantineReason {
    /// The record at which loading failed.
    seq: u64,
    /// What is wrong.
    message: String,
}

/// A case's `reason`: one shape per state that has one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum CaseReason {
    /// `failed`: why.
    Failed(FailReasonBody),
    /// `deadlocked`: where it is stuck, every marked place of every net instance.
    Deadlocked(Vec<StuckPlaceBody>),
    /// `quarantined`: why its records cannot be loaded.
    Quarantined(QuarantineReason),
}

/// A case as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseBody {
    /// The case's id.
    #[schema(value_type = CaseIdText)]
    case_id: String,
    /// The specification it runs (absent only for a quarantined case whose records do
    /// not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    spec_id: Option<String>,
    /// The specification version it runs (absent as `spec_id` is).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    spec_version: Option<u64>,
    /// Its state.
    state: CaseStateName,
    /// Why it failed, where it is stuck when deadlocked, or why it is quarantined;
    /// absent in the other states.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reason: Option<CaseReason>,
    /// The case data: an object, or null for a quarantined case.
    #[schema(value_type = Option<Object>, required = true)]
    data: Value,
    /// When it was launched (ms since the Unix epoch; absent for a quarantined case).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    launched_at_ms: Option<u64>,
    /// When it last changed (absent for a quarantined case).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    updated_at_ms: Option<u64>,
}

impl From<CaseView> for CaseBody {
    fn from(view: CaseView) -> CaseBody {
        let reason = match &view.state {
            CaseState::Failed { reason } => Some(CaseReason::Failed(reason.into())),
            CaseState::Deadlocked { stuck } => Some(CaseReason::Deadlocked(
                stuck
                    .iter()
                    .map(|place| StuckPlaceBody {
                        net_instance: place.net_instance.0,
                        net: place.net.clone(),
                        place: place.place.clone(),
                        tokens: place.tokens,
                    })
                    .collect(),
            )),
            _ => None,
        };
        CaseBody {
            case_id: view.id.0.to_string(),
            spec_id: Some(view.spec.id),
            spec_version: Some(view.spec.version),
            state: (&view.state).into(),
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
            state: CaseStateName::Quarantined,
            reason: Some(CaseReason::Quarantined(QuarantineReason {
                seq: quarantine.seq,
                message: quarantine.reason,
            })),
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
    #[schema(minimum = 1, maximum = 18446744073709551615_u64)]
    #[serde(default, deserialize_with = "body::optional_integer")]
    version: Option<u64>,
    /// Launch data: an object whose fields set the root net's variables (`{}` without).
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
}

/// `201` of `POST /cases`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Launched {
    /// The new case's id.
    #[schema(value_type = CaseIdText)]
    case_id: String,
    /// The case, as it is once launched (running, unless it ended at once).
    case: CaseBody,
}

/// The description of a path's `case_id`.
const CASE_ID: &str = "the case's id";

/// Launches a case; it is running (and durable) when the reply arrives.
#[utoipa::path(post, path = "/cases", tag = "cases", operation_id = "cases_launch",
    request_body = LaunchBody,
    responses(
        (status = 201, description = "launched", body = Launched),
        (status = 400, description = "`invalid_json`: the body is not JSON; `invalid_body`: it could not be read", body = ErrorBody),
        (status = 404, description = "`spec_not_found`: no such specification or version; \
            `task_not_found`, `net_instance_not_found`: the launch's first steps named what \
            the specification lacks", body = ErrorBody),
        (status = 409, description = "`specification_unavailable`: this stored version no \
            longer loads; `invalid_state`: the launch's first steps were refused", body = ErrorBody),
        (status = 422, description = "`invalid_body`: the body does not have this shape; \
            `invalid_data`: the data is not an object, or a variable's value has the wrong \
            type; `data_too_deep`: the data nests deeper than `limits.data_depth_max`; \
            `expression_failed`, `instance_count`, `subnet_depth`, `invalid_output`: the \
            specification's expressions or bounds refused the data", body = ErrorBody),
        JsonBodyErrors,
        EngineErrors,
    ))]
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
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only cases in this state.
    #[param(nullable = false)]
    state: Option<CaseStateName>,
    /// Only cases of this specification.
    #[param(nullable = false)]
    spec_id: Option<String>,
    /// Only cases after this id (the previous page's `next`).
    #[param(value_type = Option<CaseIdText>, nullable = false)]
    after: Option<String>,
    /// At most this many (default and cap: `limits.page_max`).
    #[param(minimum = 1, maximum = 18446744073709551615_u64, nullable = false)]
    limit: Option<usize>,
}

/// `GET /cases`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseList {
    /// One page of cases, by ascending id.
    cases: Vec<CaseBody>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CaseIdText>, nullable = false)]
    next: Option<String>,
}

/// Lists cases by state and specification, one page at a time.
#[utoipa::path(get, path = "/cases", tag = "cases", operation_id = "cases_list", params(ListQuery),
    responses(
        (status = 200, description = "one page of cases", body = CaseList),
        (status = 400, description = "`invalid_request`: a parameter of another type or \
            range (an unknown state, `limit` 0); `invalid_id`: `after` is not a case id", body = ErrorBody),
        (status = 503, response = NotReady),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<CaseList>, ApiError> {
    let query = body::query(query)?;
    let after = query.after.as_deref().map(ids::case_after).transpose()?;
    let page = state
        .engine()?
        .cases(&CaseQuery {
            state: query.state.map(|s| s.as_str().to_owned()),
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

/// Reads a case (a quarantined one too, with its reason).
#[utoipa::path(get, path = "/cases/{case_id}", tag = "cases", operation_id = "cases_get",
    params(("case_id" = CaseIdText, Path, description = CASE_ID)),
    responses(
        (status = 200, description = "the case", body = OneCase),
        (status = 400, description = "`invalid_id`: not a case id; `invalid_path`: the path \
            does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = "`case_not_found`: no such case", body = ErrorBody),
        EngineErrors,
    ))]
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

/// Declares a case command without a body: `POST /cases/{case_id}/$verb`.
macro_rules! case_command {
    ($name:ident, $path:literal, $operation_id:literal, $doc:literal, $conflict:literal,
     $command:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "cases", operation_id = $operation_id,
            params(("case_id" = CaseIdText, Path, description = CASE_ID)),
            responses(
                (status = 200, description = "the case, as the command left it", body = OneCase),
                (status = 400, description = "`invalid_id`: not a case id; `invalid_path`: the \
                    path does not decode as UTF-8", body = ErrorBody),
                (status = 404, description = "`case_not_found`: no such case", body = ErrorBody),
                (status = 409, description = $conflict, body = ErrorBody),
                EngineErrors,
            ))]
        pub(crate) async fn $name(
            State(state): State<AppState>,
            PathParams(case_id): PathParams<String>,
        ) -> Result<Json<OneCase>, ApiError> {
            case_command(&state, &case_id, $command).await
        }
    };
}

case_command!(
    cancel,
    "/cases/{case_id}/cancel",
    "cases_cancel",
    "Cancels a case: its work is withdrawn (WCP 20).",
    "`invalid_state`: the case has ended; `case_quarantined`: its records cannot be loaded",
    Command::CancelCase
);
case_command!(
    suspend,
    "/cases/{case_id}/suspend",
    "cases_suspend",
    "Suspends a running case: its work items refuse commands until it is resumed.",
    "`invalid_state`: the case is not running; `case_quarantined`: its records cannot be loaded",
    Command::SuspendCase
);
case_command!(
    resume,
    "/cases/{case_id}/resume",
    "cases_resume",
    "Resumes a suspended case.",
    "`invalid_state`: the case is not suspended; `case_quarantined`: its records cannot be \
     loaded",
    Command::ResumeCase
);

/// An action as a case's log records it: `action` names it, with its fields.
#[derive(ToSchema)]
#[schema(as = Action)]
#[allow(
    dead_code,
    reason = "a schema only: the runtime's `Action` is what is serialized"
)]
pub(crate) struct ActionSchema {
    /// `launch`, `command`, `claim`, `offer`, `allocate` or `expire_lease`.
    action: String,
}

/// An event as a case's log records it: `event` names it, with its fields.
#[derive(ToSchema)]
#[schema(as = Event)]
#[allow(
    dead_code,
    reason = "a schema only: the kernel's `Event` is what is serialized"
)]
pub(crate) struct EventSchema {
    /// `net_started`, `task_fired`, `work_item_enabled`, `case_state_changed`, ... (the
    /// kernel's `Event`).
    event: String,
}

/// One entry of a case's history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HistoryEvent {
    /// Its position in the case's log, from 0.
    seq: u64,
    /// When (ms since the Unix epoch).
    at_ms: u64,
    /// What was done.
    #[schema(value_type = ActionSchema)]
    action: Action,
    /// What it caused.
    #[schema(value_type = Vec<EventSchema>)]
    events: Vec<Event>,
}

/// `GET /cases/{case_id}/history`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct History {
    /// Every entry, oldest first.
    events: Vec<HistoryEvent>,
}

/// A case's full history: every acknowledged action with its time and events.
#[utoipa::path(get, path = "/cases/{case_id}/history", tag = "cases", operation_id = "cases_history",
    params(("case_id" = CaseIdText, Path, description = CASE_ID)),
    responses(
        (status = 200, description = "every entry of the case's log", body = History),
        (status = 400, description = "`invalid_id`: not a case id; `invalid_path`: the path \
            does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = "`case_not_found`: no such case", body = ErrorBody),
        (status = 409, description = "`case_quarantined`: its records cannot be loaded", body = ErrorBody),
        EngineErrors,
    ))]
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
    operation_id = "cases_signal",
    params(("case_id" = CaseIdText, Path, description = CASE_ID),
           ("name" = NameText, Path, description = "the signal")),
    responses(
        (status = 200, description = "the signal was delivered", body = Signalled),
        (status = 400, description = "`invalid_id`: not a case id; `invalid_request`: not a \
            name; `invalid_path`: the path does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = "`case_not_found`: no such case; `task_not_found`, \
            `net_instance_not_found`: what the steps the signal caused named is not there", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the case is not running; \
            `case_quarantined`: its records cannot be loaded", body = ErrorBody),
        (status = 422, description = "`expression_failed`, `instance_count`, `subnet_depth`: \
            the specification's expressions or bounds refused the steps the signal caused", body = ErrorBody),
        EngineErrors,
    ))]
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
    /// The new instance's element, bound as one element of the split: any JSON value.
    data: Value,
    /// The net instance the task is busy in; the root net's (0) without.
    #[schema(maximum = 4294967295_u64)]
    #[serde(default, deserialize_with = "body::optional_integer")]
    net_instance: Option<u32>,
}

/// Adds an instance to a busy dynamic multiple-instance task (WCP 15, 36).
#[utoipa::path(post, path = "/cases/{case_id}/tasks/{task_id}/instances", tag = "cases",
    operation_id = "cases_add_instance",
    params(("case_id" = CaseIdText, Path, description = CASE_ID),
           ("task_id" = String, Path, min_length = 1, description = "the task")),
    request_body = InstanceBody,
    responses(
        (status = 201, description = "the case, with the new instance", body = OneCase),
        (status = 400, description = "`invalid_json`: the body is not JSON; `invalid_body`: it could not be read; `invalid_id`: not \
            a case id; `invalid_path`: the path does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = "`case_not_found`: no such case; `task_not_found`: the \
            net has no such task; `net_instance_not_found`: no such live net instance", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the case is not running, or the task \
            is not busy or not a dynamic multiple-instance task; `case_quarantined`: its records \
            cannot be loaded", body = ErrorBody),
        (status = 422, description = "`invalid_body`: the body does not have this shape; \
            `data_too_deep`: the data nests deeper than `limits.data_depth_max`; \
            `instance_count`: the task is at its maximum; `expression_failed`, `subnet_depth`: \
            the specification's expressions or bounds refused the instance", body = ErrorBody),
        JsonBodyErrors,
        EngineErrors,
    ))]
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use knhk_kernel::{NetInstanceId, StuckPlace, WorkItemId};
    use serde_json::json;

    use super::*;

    /// The API's own types for a case's state and reason serialize exactly as the
    /// kernel's do (the wire format predates them), so that the document, derived from
    /// them, describes what was always sent.
    #[test]
    fn reasons_serialize_as_the_kernel_writes_them() {
        let item = WorkItemId(3);
        let reasons = [
            FailReason::WorkItemReleased { work_item: item },
            FailReason::WorkItemSuspended { work_item: item },
            FailReason::WorkItemResumed { work_item: item },
            FailReason::WorkItemFailed {
                work_item: item,
                task: "A".to_owned(),
                message: "no stock".to_owned(),
            },
            FailReason::StepBudgetExhausted { steps: 9 },
        ];
        for reason in &reasons {
            let ours = serde_json::to_value(FailReasonBody::from(reason)).unwrap();
            assert_eq!(ours, serde_json::to_value(reason).unwrap());
        }
        let stuck = vec![StuckPlace {
            net_instance: NetInstanceId(2),
            net: "top".into(),
            place: "c1".into(),
            tokens: 1,
        }];
        let state = CaseState::Deadlocked {
            stuck: stuck.clone(),
        };
        let view = CaseView {
            id: knhk_runtime::CaseId(7),
            spec: knhk_runtime::SpecRef {
                id: "s".to_owned(),
                version: 1,
            },
            state: state.clone(),
            data: json!({}),
            launched_at_ms: 1,
            updated_at_ms: 2,
        };
        let body = serde_json::to_value(CaseBody::from(view)).unwrap();
        assert_eq!(body["reason"], serde_json::to_value(&stuck).unwrap());
        assert_eq!(body["state"], json!(state.name()));
    }
}
