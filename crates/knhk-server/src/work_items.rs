//! `/work-items`: listing, reading, and the work-item commands: start, complete, fail,
//! release, suspend, resume, and claims by automated workers.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use knhk_kernel::{Command, WorkItemId, WorkItemStatus};
use knhk_runtime::{CaseId, ClaimTarget, ItemRef, Lease, Resourcing, WorkItemQuery, WorkItemView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{self, Principal};
use crate::ids::{self, PathParams};
use crate::{ApiError, AppState, body};

/// A work item as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkItemBody {
    /// Its id: `{case_id}-{number}`.
    id: String,
    /// Its case.
    case_id: String,
    /// Its task.
    task_id: String,
    /// `enabled`, `started`, `suspended`, `completed`, `failed`, `cancelled` or
    /// `withdrawn`.
    #[schema(value_type = String)]
    status: WorkItemStatus,
    /// The data the work sees, while it is live.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
    /// The lease, while a worker holds it.
    #[schema(value_type = Option<Object>)]
    lease: Option<Lease>,
    /// Who the work is for: unassigned, offered or allocated.
    #[schema(value_type = Object)]
    resourcing: Resourcing,
    /// The net instance of its task (0: the root net).
    net_instance: u32,
    /// When it was enabled (ms since the Unix epoch).
    enabled_at_ms: u64,
    /// When its status last changed.
    updated_at_ms: u64,
}

impl From<WorkItemView> for WorkItemBody {
    fn from(view: WorkItemView) -> WorkItemBody {
        WorkItemBody {
            id: ids::work_item_text(view.case, view.id),
            case_id: view.case.0.to_string(),
            task_id: view.task.to_string(),
            status: view.status,
            data: view.data,
            lease: view.lease,
            resourcing: view.resourcing,
            net_instance: view.net_instance.0,
            enabled_at_ms: view.enabled_at_ms,
            updated_at_ms: view.updated_at_ms,
        }
    }
}

/// `{"work_item": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OneWorkItem {
    /// The work item.
    work_item: WorkItemBody,
}

/// `{"work_items": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkItemList {
    /// The work items.
    work_items: Vec<WorkItemBody>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Filters and paging of `GET /work-items`.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// Only this case's (an ended case's items are listed only this way).
    case_id: Option<String>,
    /// Only this task's.
    task_id: Option<String>,
    /// Only items with this status.
    status: Option<String>,
    /// Only items leased, offered or allocated to this worker or participant.
    worker: Option<String>,
    /// Only items after this id (the previous page's `next`).
    after: Option<String>,
    /// At most this many.
    limit: Option<usize>,
}

/// Lists work items: of the cases in flight, or of one case.
#[utoipa::path(get, path = "/work-items", tag = "work items", params(ListQuery),
    responses((status = 200, body = WorkItemList), (status = 400, description = "bad filter"),
              (status = 404, description = "no such case")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<WorkItemList>, ApiError> {
    let query = body::query(query)?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            serde_json::from_value::<WorkItemStatus>(Value::String(s.to_owned())).map_err(|_| {
                ApiError::bad_request(format!(
                    "unknown work item status `{s}` (expected enabled, started, suspended, \
                     completed, failed, cancelled or withdrawn)"
                ))
            })
        })
        .transpose()?;
    let after = query
        .after
        .as_deref()
        .map(|a| ids::work_item(a).map(|(case, work_item)| ItemRef { case, work_item }))
        .transpose()?;
    let page = state
        .engine()?
        .work_items(&WorkItemQuery {
            case: query.case_id.as_deref().map(ids::case).transpose()?,
            task: query.task_id,
            status,
            worker: query.worker,
            after,
            limit: query.limit,
        })
        .await?;
    Ok(Json(WorkItemList {
        work_items: page.items.into_iter().map(WorkItemBody::from).collect(),
        next: page.next.map(|r| ids::work_item_text(r.case, r.work_item)),
    }))
}

/// Reads a work item, live or ended.
#[utoipa::path(get, path = "/work-items/{id}", tag = "work items",
    params(("id" = String, Path, description = "the work item's id, `{case_id}-{number}`")),
    responses((status = 200, body = OneWorkItem), (status = 404, description = "no such work item")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<OneWorkItem>, ApiError> {
    let (case, item) = ids::work_item(&id)?;
    let view = state.engine()?.work_item(case, item).await?;
    Ok(Json(OneWorkItem {
        work_item: view.into(),
    }))
}

/// The body of start, release, suspend and resume: who acts.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActBody {
    /// The worker or participant acting (needed for leased, offered or allocated work).
    worker: Option<String>,
}

/// `POST /work-items/{id}/complete`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompleteBody {
    /// The output: an object, checked against the task's declared outputs.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
    /// The worker or participant acting.
    worker: Option<String>,
}

/// `POST /work-items/{id}/fail`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailBody {
    /// Why.
    message: Option<String>,
    /// The worker or participant acting.
    worker: Option<String>,
}

/// Runs `command` on the work item `id` as `worker` (see [`auth::acting`]), and answers
/// with the item.
async fn act(
    state: &AppState,
    principal: Option<&Principal>,
    id: &str,
    command: impl FnOnce(WorkItemId) -> Command,
    worker: Option<String>,
) -> Result<Json<OneWorkItem>, ApiError> {
    let engine = state.engine()?;
    let (case, item): (CaseId, WorkItemId) = ids::work_item(id)?;
    let worker = auth::acting(principal, worker.map(ids::name).transpose()?)?;
    let view = engine
        .command_on_item(case, item, command(item), worker.as_deref())
        .await?;
    Ok(Json(OneWorkItem {
        work_item: view.into(),
    }))
}

/// `{"work_item": ...}` of the item as it is now.
async fn reply(
    engine: &knhk_runtime::Engine,
    case: CaseId,
    item: WorkItemId,
) -> Result<Json<OneWorkItem>, ApiError> {
    let view = engine.work_item(case, item).await?;
    Ok(Json(OneWorkItem {
        work_item: view.into(),
    }))
}

macro_rules! item_command {
    ($name:ident, $path:literal, $doc:literal, $command:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "work items",
            params(("id" = String, Path, description = "the work item's id, `{case_id}-{number}`")),
            request_body(content = Option<ActBody>),
            responses((status = 200, body = OneWorkItem), (status = 404, description = "no such work item"),
                      (status = 409, description = "not allowed in the item's status, or another worker's")))]
        pub(crate) async fn $name(
            State(state): State<AppState>,
            principal: Option<Extension<Principal>>,
            PathParams(id): PathParams<String>,
            headers: HeaderMap,
            payload: Result<Bytes, BytesRejection>,
        ) -> Result<Json<OneWorkItem>, ApiError> {
            let request: ActBody = body::json(&headers, payload, 2)?;
            let principal = principal.as_ref().map(|p| &p.0);
            act(&state, principal, &id, $command, request.worker).await
        }
    };
}

item_command!(
    start,
    "/work-items/{id}/start",
    "Starts an enabled work item (for an offer, this fires its task).",
    |work_item| Command::StartWorkItem { work_item }
);
item_command!(
    release,
    "/work-items/{id}/release",
    "Returns a started work item to enabled.",
    |work_item| Command::ReleaseWorkItem { work_item }
);
item_command!(
    suspend,
    "/work-items/{id}/suspend",
    "Suspends a started work item.",
    |work_item| Command::SuspendWorkItem { work_item }
);
item_command!(
    resume,
    "/work-items/{id}/resume",
    "Resumes a suspended work item.",
    |work_item| Command::ResumeWorkItem { work_item }
);

/// Completes a started work item with its output data, merged into the case.
#[utoipa::path(post, path = "/work-items/{id}/complete", tag = "work items",
    params(("id" = String, Path, description = "the work item's id, `{case_id}-{number}`")),
    request_body = CompleteBody,
    responses((status = 200, body = OneWorkItem), (status = 404, description = "no such work item"),
              (status = 409, description = "not started, or another worker's"),
              (status = 422, description = "output does not fit the task's declared outputs")))]
pub(crate) async fn complete(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Json<OneWorkItem>, ApiError> {
    // `{"data": output}`: the output may be as deep as case data.
    let request: CompleteBody = body::json(&headers, payload, state.config.data_depth_max + 1)?;
    let output = request
        .data
        .unwrap_or_else(|| Value::Object(Default::default()));
    let command = |work_item| Command::CompleteWorkItem { work_item, output };
    let principal = principal.as_ref().map(|p| &p.0);
    act(&state, principal, &id, command, request.worker).await
}

/// Fails a work item: the case fails.
#[utoipa::path(post, path = "/work-items/{id}/fail", tag = "work items",
    params(("id" = String, Path, description = "the work item's id, `{case_id}-{number}`")),
    request_body = FailBody,
    responses((status = 200, body = OneWorkItem), (status = 404, description = "no such work item"),
              (status = 409, description = "the item has ended, or is another worker's")))]
pub(crate) async fn fail(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Json<OneWorkItem>, ApiError> {
    let request: FailBody = body::json(&headers, payload, 2)?;
    let message = request
        .message
        .unwrap_or_else(|| "failed by its worker".to_owned());
    let command = |work_item| Command::FailWorkItem { work_item, message };
    let principal = principal.as_ref().map(|p| &p.0);
    act(&state, principal, &id, command, request.worker).await
}

/// `POST /work-items/{id}/offer`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OfferBody {
    /// The participants any of whom may start the item.
    participants: Vec<String>,
}

/// Offers an enabled work item to participants: any of them may start it.
#[utoipa::path(post, path = "/work-items/{id}/offer", tag = "work items",
    params(("id" = String, Path, description = "the work item's id, `{case_id}-{number}`")),
    request_body = OfferBody,
    responses((status = 200, body = OneWorkItem), (status = 409, description = "not enabled, or allocated")))]
pub(crate) async fn offer(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Json<OneWorkItem>, ApiError> {
    let request: OfferBody = body::json(&headers, payload, 3)?;
    let engine = state.engine()?;
    let (case, item) = ids::work_item(&id)?;
    let participants = request
        .participants
        .into_iter()
        .map(ids::name)
        .collect::<Result<Vec<_>, _>>()?;
    engine.offer(case, item, participants).await?;
    reply(engine, case, item).await
}

/// `POST /work-items/{id}/allocate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllocateBody {
    /// The one participant who may act on the item.
    participant: String,
}

/// Allocates an enabled (or offered) work item to one participant.
#[utoipa::path(post, path = "/work-items/{id}/allocate", tag = "work items",
    params(("id" = String, Path, description = "the work item's id, `{case_id}-{number}`")),
    request_body = AllocateBody,
    responses((status = 200, body = OneWorkItem), (status = 409, description = "not enabled, or offered to others")))]
pub(crate) async fn allocate(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Json<OneWorkItem>, ApiError> {
    let request: AllocateBody = body::json(&headers, payload, 2)?;
    let engine = state.engine()?;
    let (case, item) = ids::work_item(&id)?;
    engine
        .allocate(case, item, &ids::name(request.participant)?)
        .await?;
    reply(engine, case, item).await
}

/// `POST /work-items/claim`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClaimBody {
    /// Claim work of tasks with this id...
    task_id: Option<String>,
    /// ...or of tasks whose service has this name (exactly one of the two).
    service: Option<String>,
    /// The worker claiming: with API tokens, the token's identity (this field may be
    /// left out, and only an admin may name another); without, required.
    worker: Option<String>,
    /// At most this many items (default 1).
    max: Option<usize>,
    /// How long the worker holds each item, in ms.
    lease_ms: u64,
}

/// Claims enabled work for an automated worker: each item is started and leased to it.
#[utoipa::path(post, path = "/work-items/claim", tag = "work items", request_body = ClaimBody,
    responses((status = 200, body = WorkItemList), (status = 400, description = "bad claim")))]
pub(crate) async fn claim(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Json<WorkItemList>, ApiError> {
    let engine = state.engine()?;
    let request: ClaimBody = body::json(&headers, payload, 2)?;
    let target = match (request.task_id, request.service) {
        (Some(task), None) => ClaimTarget::Task(task),
        (None, Some(service)) => ClaimTarget::Service(service),
        _ => {
            return Err(ApiError::bad_request(
                "a claim names exactly one of `task_id` and `service`",
            ));
        }
    };
    let principal = principal.as_ref().map(|p| &p.0);
    let worker = auth::acting(principal, request.worker.map(ids::name).transpose()?)?
        .ok_or_else(|| ApiError::bad_request("a claim names its `worker`"))?;
    let claimed = engine
        .claim(&worker, &target, request.max.unwrap_or(1), request.lease_ms)
        .await?;
    Ok(Json(WorkItemList {
        work_items: claimed.into_iter().map(WorkItemBody::from).collect(),
        next: None,
    }))
}
