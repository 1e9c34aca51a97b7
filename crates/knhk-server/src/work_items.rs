//! `/work-items`: listing, reading, and the work-item commands: start, complete, fail,
//! release, suspend, resume, and claims by automated workers.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use knhk_kernel::{Command, WorkItemId, WorkItemStatus};
use knhk_runtime::{CaseId, ClaimTarget, Lease, Resourcing, WorkItemQuery, WorkItemView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{self, Principal};
use crate::error::ErrorBody;
use crate::ids::{self, PathParams};
use crate::openapi::{CaseIdText, EngineErrors, JsonBodyErrors, NameText, WorkItemIdText};
use crate::{ApiError, AppState, body};

/// A work item's status, as the API names it (the kernel's `WorkItemStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = WorkItemStatus)]
pub(crate) enum WorkItemStatusName {
    /// Offered: may be started.
    Enabled,
    /// Being worked on.
    Started,
    /// Started, then put on hold.
    Suspended,
    /// Done.
    Completed,
    /// Its worker gave up.
    Failed,
    /// Removed by a cancellation.
    Cancelled,
    /// Removed because its task no longer needs it.
    Withdrawn,
}

impl From<WorkItemStatus> for WorkItemStatusName {
    fn from(status: WorkItemStatus) -> WorkItemStatusName {
        match status {
            WorkItemStatus::Enabled => WorkItemStatusName::Enabled,
            WorkItemStatus::Started => WorkItemStatusName::Started,
            WorkItemStatus::Suspended => WorkItemStatusName::Suspended,
            WorkItemStatus::Completed => WorkItemStatusName::Completed,
            WorkItemStatus::Failed => WorkItemStatusName::Failed,
            WorkItemStatus::Cancelled => WorkItemStatusName::Cancelled,
            WorkItemStatus::Withdrawn => WorkItemStatusName::Withdrawn,
        }
    }
}

impl From<WorkItemStatusName> for WorkItemStatus {
    fn from(status: WorkItemStatusName) -> WorkItemStatus {
        match status {
            WorkItemStatusName::Enabled => WorkItemStatus::Enabled,
            WorkItemStatusName::Started => WorkItemStatus::Started,
            WorkItemStatusName::Suspended => WorkItemStatus::Suspended,
            WorkItemStatusName::Completed => WorkItemStatus::Completed,
            WorkItemStatusName::Failed => WorkItemStatus::Failed,
            WorkItemStatusName::Cancelled => WorkItemStatus::Cancelled,
            WorkItemStatusName::Withdrawn => WorkItemStatus::Withdrawn,
        }
    }
}

/// A lease: which worker holds a claimed work item, and until when.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Lease)]
pub(crate) struct LeaseBody {
    /// The worker.
    worker: String,
    /// The lease ends at this instant (ms since the Unix epoch).
    until_ms: u64,
}

impl From<Lease> for LeaseBody {
    fn from(lease: Lease) -> LeaseBody {
        LeaseBody {
            worker: lease.worker,
            until_ms: lease.until_ms,
        }
    }
}

/// Who a work item is for: `to` says which way it is assigned.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "to")]
#[schema(as = Resourcing)]
pub(crate) enum ResourcingBody {
    /// Anyone (or any worker claiming it) may take it.
    Unassigned,
    /// Any of these participants may start it (which allocates it to them).
    Offered {
        /// The participants.
        participants: Vec<String>,
    },
    /// Only this participant may act on it.
    Allocated {
        /// The participant.
        participant: String,
    },
}

impl From<Resourcing> for ResourcingBody {
    fn from(resourcing: Resourcing) -> ResourcingBody {
        match resourcing {
            Resourcing::Unassigned => ResourcingBody::Unassigned,
            Resourcing::Offered { participants } => ResourcingBody::Offered { participants },
            Resourcing::Allocated { participant } => ResourcingBody::Allocated { participant },
        }
    }
}

/// A work item as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkItemBody {
    /// Its id: `{case_id}-{number}`.
    #[schema(value_type = WorkItemIdText)]
    id: String,
    /// Its case.
    #[schema(value_type = CaseIdText)]
    case_id: String,
    /// Its task.
    task_id: String,
    /// Its status.
    status: WorkItemStatusName,
    /// The data the work sees (an object) while it is live; null once it has ended.
    #[schema(value_type = Option<Object>, required = true)]
    data: Option<Value>,
    /// The lease, while a worker holds it; null otherwise.
    #[schema(required = true)]
    lease: Option<LeaseBody>,
    /// Who the work is for: unassigned, offered or allocated.
    resourcing: ResourcingBody,
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
            status: view.status.into(),
            data: view.data,
            lease: view.lease.map(LeaseBody::from),
            resourcing: view.resourcing.into(),
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
    /// Pass as `after` for the next page; absent on the last page (and always from a
    /// claim).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<WorkItemIdText>, nullable = false)]
    next: Option<String>,
}

/// Filters and paging of `GET /work-items`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this case's (an ended case's items are listed only this way).
    #[param(value_type = Option<CaseIdText>, nullable = false)]
    case_id: Option<String>,
    /// Only this task's.
    #[param(nullable = false)]
    task_id: Option<String>,
    /// Only items with this status.
    #[param(nullable = false)]
    status: Option<WorkItemStatusName>,
    /// Only items leased, offered or allocated to this worker or participant.
    #[param(nullable = false)]
    worker: Option<String>,
    /// Only items after this id (the previous page's `next`).
    #[param(value_type = Option<WorkItemIdText>, nullable = false)]
    after: Option<String>,
    /// At most this many (default and cap: `limits.page_max`).
    #[param(minimum = 1, maximum = 18446744073709551615_u64, nullable = false)]
    limit: Option<usize>,
}

/// The description of a path's work item `id`.
const ITEM_ID: &str = "the work item's id, `{case_id}-{number}`";

/// Lists work items: of the cases in flight, or of one case.
#[utoipa::path(get, path = "/work-items", tag = "work items", operation_id = "work_items_list",
    params(ListQuery),
    responses(
        (status = 200, description = "one page of work items, by case then number", body = WorkItemList),
        (status = 400, description = "`invalid_request`: a parameter of another type or range \
            (an unknown status, `limit` 0); `invalid_id`: `case_id` is not a case id, or `after` \
            not a work item id", body = ErrorBody),
        (status = 404, description = "`case_not_found`: no case `case_id`", body = ErrorBody),
        (status = 409, description = "`case_quarantined`: case `case_id`'s records cannot be \
            loaded", body = ErrorBody),
        EngineErrors,
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<WorkItemList>, ApiError> {
    let query = body::query(query)?;
    let after = query
        .after
        .as_deref()
        .map(ids::work_item_after)
        .transpose()?;
    let page = state
        .engine()?
        .work_items(&WorkItemQuery {
            case: query.case_id.as_deref().map(ids::case).transpose()?,
            task: query.task_id,
            status: query.status.map(WorkItemStatus::from),
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
#[utoipa::path(get, path = "/work-items/{id}", tag = "work items", operation_id = "work_items_get",
    params(("id" = WorkItemIdText, Path, description = ITEM_ID)),
    responses(
        (status = 200, description = "the work item", body = OneWorkItem),
        (status = 400, description = "`invalid_id`: not a work item id; `invalid_path`: the \
            path does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = "`case_not_found`: no such case; `work_item_not_found`: \
            the case never had this work item", body = ErrorBody),
        (status = 409, description = "`case_quarantined`: the case's records cannot be loaded", body = ErrorBody),
        EngineErrors,
    ))]
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
    /// The worker or participant acting (needed for leased, offered or allocated work;
    /// with API tokens, the token's identity without, and only an admin may name
    /// another).
    #[schema(value_type = Option<NameText>)]
    worker: Option<String>,
}

/// `POST /work-items/{id}/complete`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompleteBody {
    /// The output: an object, checked against the task's declared outputs and merged
    /// into the case (`{}` without).
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
    /// The worker or participant acting (as in `ActBody`).
    #[schema(value_type = Option<NameText>)]
    worker: Option<String>,
}

/// `POST /work-items/{id}/fail`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailBody {
    /// Why (`failed by its worker` without).
    message: Option<String>,
    /// The worker or participant acting (as in `ActBody`).
    #[schema(value_type = Option<NameText>)]
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

/// What a work item command's 404 may carry.
const ITEM_NOT_FOUND: &str = "`case_not_found`: no such case; `work_item_not_found`: the case \
    has no such live work item";

/// What a work item command's 409 may carry besides `invalid_state`, as a literal for
/// `concat!`.
macro_rules! item_conflicts {
    () => {
        "`work_item_ended`: the item has completed, failed, or been cancelled or withdrawn; \
         `lease_held`: another worker holds its lease; `lease_expired`: the acting worker's \
         lease ran out; `not_offered`, `allocated_to_other`: it is offered or allocated to \
         others; `case_quarantined`: the case's records cannot be loaded"
    };
}

macro_rules! item_command {
    ($name:ident, $path:literal, $operation_id:literal, $doc:literal, $state:literal,
     $command:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "work items", operation_id = $operation_id,
            params(("id" = WorkItemIdText, Path, description = ITEM_ID)),
            request_body(content = Option<ActBody>, description = "who acts; may be empty"),
            responses(
                (status = 200, description = "the work item, as the command left it", body = OneWorkItem),
                (status = 400, description = "`invalid_json`: the body is not JSON; `invalid_body`: it could not be read; \
                    `invalid_id`: not a work item id; `invalid_request`: `worker` is not a \
                    name; `invalid_path`: the path does not decode as UTF-8", body = ErrorBody),
                (status = 404, description = ITEM_NOT_FOUND, body = ErrorBody),
                (status = 409, description = concat!("`invalid_state`: ", $state, "; ",
                    item_conflicts!()), body = ErrorBody),
                (status = 422, description = "`invalid_body`: the body does not have this \
                    shape; `data_too_deep`: it nests deeper than this shape; \
                    `expression_failed`, `instance_count`, `subnet_depth`: the specification's \
                    expressions or bounds refused the steps the command caused", body = ErrorBody),
                JsonBodyErrors,
                EngineErrors,
            ))]
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
    "work_items_start",
    "Starts an enabled work item (for an offer, this fires its task).",
    "the item is not enabled, or the case is not running",
    |work_item| Command::StartWorkItem { work_item }
);
item_command!(
    release,
    "/work-items/{id}/release",
    "work_items_release",
    "Returns a started work item to enabled.",
    "the item is not started, or the case is not running",
    |work_item| Command::ReleaseWorkItem { work_item }
);
item_command!(
    suspend,
    "/work-items/{id}/suspend",
    "work_items_suspend",
    "Suspends a started work item.",
    "the item is not started, or the case is not running",
    |work_item| Command::SuspendWorkItem { work_item }
);
item_command!(
    resume,
    "/work-items/{id}/resume",
    "work_items_resume",
    "Resumes a suspended work item.",
    "the item is not suspended, or the case is not running",
    |work_item| Command::ResumeWorkItem { work_item }
);

/// Completes a started work item with its output data, merged into the case.
#[utoipa::path(post, path = "/work-items/{id}/complete", tag = "work items",
    operation_id = "work_items_complete",
    params(("id" = WorkItemIdText, Path, description = ITEM_ID)),
    request_body(content = Option<CompleteBody>, description = "the output and who acts; may be \
        empty"),
    responses(
        (status = 200, description = "the work item, completed", body = OneWorkItem),
        (status = 400, description = "`invalid_json`: the body is not JSON; `invalid_body`: it could not be read; `invalid_id`: not a \
            work item id; `invalid_request`: `worker` is not a name; `invalid_path`: the path \
            does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = ITEM_NOT_FOUND, body = ErrorBody),
        (status = 409, description = concat!("`invalid_state`: the item is not started, or the \
            case is not running; ", item_conflicts!()), body = ErrorBody),
        (status = 422, description = "`invalid_body`: the body does not have this shape; \
            `invalid_output`: the data is not an object, or does not fit the task's declared \
            outputs; `data_too_deep`: the data nests deeper than `limits.data_depth_max`; \
            `expression_failed`, `instance_count`, `subnet_depth`: the specification's \
            expressions or bounds refused the steps the completion caused", body = ErrorBody),
        JsonBodyErrors,
        EngineErrors,
    ))]
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
    operation_id = "work_items_fail",
    params(("id" = WorkItemIdText, Path, description = ITEM_ID)),
    request_body(content = Option<FailBody>, description = "why, and who acts; may be empty"),
    responses(
        (status = 200, description = "the work item, failed", body = OneWorkItem),
        (status = 400, description = "`invalid_json`: the body is not JSON; `invalid_body`: it could not be read; `invalid_id`: not a \
            work item id; `invalid_request`: `worker` is not a name; `invalid_path`: the path \
            does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = ITEM_NOT_FOUND, body = ErrorBody),
        (status = 409, description = concat!("`invalid_state`: the item is neither started nor \
            suspended, or the case is not running; ", item_conflicts!()), body = ErrorBody),
        (status = 422, description = "`invalid_body`: the body does not have this shape; \
            `data_too_deep`: it nests deeper than this shape", body = ErrorBody),
        JsonBodyErrors,
        EngineErrors,
    ))]
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
    #[schema(value_type = Vec<NameText>, min_items = 1)]
    participants: Vec<String>,
}

/// What an offer's or an allocation's 409 may carry.
const ASSIGN_CONFLICTS: &str = "`invalid_state`: the item is not enabled; `work_item_ended`: \
    it has ended; `allocated_to_other`: it is allocated (to another participant); `not_offered`: \
    it is offered to others; `case_quarantined`: the case's records cannot be loaded";

/// Offers an enabled work item to participants: any of them may start it.
#[utoipa::path(post, path = "/work-items/{id}/offer", tag = "work items",
    operation_id = "work_items_offer",
    params(("id" = WorkItemIdText, Path, description = ITEM_ID)),
    request_body = OfferBody,
    responses(
        (status = 200, description = "the work item, offered", body = OneWorkItem),
        (status = 400, description = "`invalid_json`: the body is not JSON; `invalid_body`: it could not be read; `invalid_id`: not a \
            work item id; `invalid_request`: a participant is not a name, or there is none; \
            `invalid_path`: the path does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = ITEM_NOT_FOUND, body = ErrorBody),
        (status = 409, description = ASSIGN_CONFLICTS, body = ErrorBody),
        (status = 422, description = "`invalid_body`: the body does not have this shape; \
            `data_too_deep`: it nests deeper than this shape", body = ErrorBody),
        JsonBodyErrors,
        EngineErrors,
    ))]
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
    #[schema(value_type = NameText)]
    participant: String,
}

/// Allocates an enabled (or offered) work item to one participant.
#[utoipa::path(post, path = "/work-items/{id}/allocate", tag = "work items",
    operation_id = "work_items_allocate",
    params(("id" = WorkItemIdText, Path, description = ITEM_ID)),
    request_body = AllocateBody,
    responses(
        (status = 200, description = "the work item, allocated", body = OneWorkItem),
        (status = 400, description = "`invalid_json`: the body is not JSON; `invalid_body`: it could not be read; `invalid_id`: not a \
            work item id; `invalid_request`: `participant` is not a name; `invalid_path`: the \
            path does not decode as UTF-8", body = ErrorBody),
        (status = 404, description = ITEM_NOT_FOUND, body = ErrorBody),
        (status = 409, description = ASSIGN_CONFLICTS, body = ErrorBody),
        (status = 422, description = "`invalid_body`: the body does not have this shape; \
            `data_too_deep`: it nests deeper than this shape", body = ErrorBody),
        JsonBodyErrors,
        EngineErrors,
    ))]
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

/// `POST /work-items/claim`: exactly one of `task_id` and `service`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClaimBody {
    /// Claim work of tasks with this id...
    task_id: Option<String>,
    /// ...or of tasks whose service has this name (exactly one of the two).
    service: Option<String>,
    /// The worker claiming: with API tokens, the token's identity (this field may be
    /// left out, and only an admin may name another); without, required.
    #[schema(value_type = Option<NameText>)]
    worker: Option<String>,
    /// At most this many items (1 without).
    #[schema(minimum = 1, maximum = 18446744073709551615_u64)]
    #[serde(default, deserialize_with = "body::optional_integer")]
    max: Option<usize>,
    /// How long the worker holds each item, in ms: from 1 to `limits.lease_max_ms`
    /// (default 86,400,000).
    #[schema(minimum = 1, maximum = 18446744073709551615_u64)]
    #[serde(deserialize_with = "body::integer")]
    lease_ms: u64,
}

/// Claims enabled work for an automated worker: each item is started and leased to it.
#[utoipa::path(post, path = "/work-items/claim", tag = "work items",
    operation_id = "work_items_claim",
    request_body = ClaimBody,
    responses(
        (status = 200, description = "the items claimed (perhaps none), started and leased", body = WorkItemList),
        (status = 400, description = "`invalid_json`: the body is not JSON; `invalid_body`: it could not be read; `invalid_request`: \
            not exactly one of `task_id` and `service`, no `worker` when the server has no \
            tokens file, `worker` not a name, or `lease_ms` over `limits.lease_max_ms`", body = ErrorBody),
        (status = 422, description = "`invalid_body`: the body does not have this shape; \
            `data_too_deep`: it nests deeper than this shape", body = ErrorBody),
        JsonBodyErrors,
        EngineErrors,
    ))]
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The API's own types for a work item's lease and resourcing serialize exactly as
    /// the runtime's do (the wire format predates them).
    #[test]
    fn leases_and_resourcing_serialize_as_the_runtime_writes_them() {
        for resourcing in [
            Resourcing::Unassigned,
            Resourcing::Offered {
                participants: vec!["ann".to_owned(), "bo".to_owned()],
            },
            Resourcing::Allocated {
                participant: "ann".to_owned(),
            },
        ] {
            let runtime = serde_json::to_value(&resourcing).unwrap();
            let ours = serde_json::to_value(ResourcingBody::from(resourcing)).unwrap();
            assert_eq!(ours, runtime);
        }
        let lease = Lease {
            worker: "robot".to_owned(),
            until_ms: 5,
        };
        let runtime = serde_json::to_value(&lease).unwrap();
        assert_eq!(
            serde_json::to_value(LeaseBody::from(lease)).unwrap(),
            runtime
        );
        for status in [
            WorkItemStatus::Enabled,
            WorkItemStatus::Withdrawn,
            WorkItemStatus::Suspended,
        ] {
            let ours = serde_json::to_value(WorkItemStatusName::from(status)).unwrap();
            assert_eq!(ours, serde_json::to_value(status).unwrap());
            assert_eq!(
                WorkItemStatus::from(WorkItemStatusName::from(status)),
                status
            );
        }
    }
}
