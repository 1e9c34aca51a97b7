//! What queries return and how they select: cases, work items, history, with paging.

use knhk_kernel::{CaseState, Event, NetInstanceId, TaskId, WorkItemId, WorkItemStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Quarantine;
use super::index::ItemRef;
use super::slot::{ItemInfo, Lease, Resourcing, Slot};
use crate::entry::{Action, SpecRef};
use crate::store::CaseId;

/// A case as queries show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseView {
    /// The case.
    pub id: CaseId,
    /// The specification version it runs.
    pub spec: SpecRef,
    /// Its state.
    pub state: CaseState,
    /// The case data.
    pub data: Value,
    /// When it was launched (ms since the Unix epoch).
    pub launched_at_ms: u64,
    /// When it last changed.
    pub updated_at_ms: u64,
}

/// One case of a listing: a case, or one whose stored records cannot be loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Listed {
    /// A case.
    Case(CaseView),
    /// A quarantined case.
    Quarantined(Quarantine),
}

impl Listed {
    /// The case's id.
    pub fn id(&self) -> CaseId {
        match self {
            Listed::Case(view) => view.id,
            Listed::Quarantined(quarantine) => quarantine.id,
        }
    }
}

/// A work item as queries show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItemView {
    /// The case.
    pub case: CaseId,
    /// The work item's id in the case.
    pub id: WorkItemId,
    /// Its task.
    pub task: TaskId,
    /// The net instance its task belongs to.
    pub net_instance: NetInstanceId,
    /// Its status.
    pub status: WorkItemStatus,
    /// The data the work sees, while it is live.
    pub data: Option<Value>,
    /// Its lease, while a worker holds it.
    pub lease: Option<Lease>,
    /// Who it is for.
    pub resourcing: Resourcing,
    /// When it was enabled.
    pub enabled_at_ms: u64,
    /// When its status last changed.
    pub updated_at_ms: u64,
}

/// One entry of a case's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Its position in the case's log.
    pub seq: u64,
    /// When it happened (ms since the Unix epoch).
    pub at_ms: u64,
    /// What was done.
    pub action: Action,
    /// What it caused.
    pub events: Vec<Event>,
}

/// Which cases a query selects. Cases come in ascending id order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseQuery {
    /// Only cases in this state (its name: `running`, `completed`, ...).
    pub state: Option<String>,
    /// Only cases of this specification id.
    pub spec_id: Option<String>,
    /// Only cases after this one (the previous page's `next`).
    pub after: Option<CaseId>,
    /// At most this many; the engine caps it at its page size.
    pub limit: Option<usize>,
}

/// Which work items a query selects. Items come ordered by case, then id. Without
/// `case`, the query searches the cases in flight (running or suspended), which is where
/// work is; an ended case's work items are listed by naming the case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItemQuery {
    /// Only this case's.
    pub case: Option<CaseId>,
    /// Only this task's.
    pub task: Option<String>,
    /// Only items with this status (ended ones included).
    pub status: Option<WorkItemStatus>,
    /// Only items leased to this worker, or offered or allocated to this participant.
    pub worker: Option<String>,
    /// Only items after this one (the previous page's `next`).
    pub after: Option<ItemRef>,
    /// At most this many; the engine caps it at its page size.
    pub limit: Option<usize>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T, C> {
    /// The results.
    pub items: Vec<T>,
    /// Where the next page starts (pass it as `after`), if there are more.
    pub next: Option<C>,
}

/// The state names a [`CaseQuery`] accepts: the kernel's, and `quarantined`.
pub const CASE_STATES: [&str; 7] = [
    "running",
    "suspended",
    "completed",
    "cancelled",
    "deadlocked",
    "failed",
    "quarantined",
];

impl CaseQuery {
    pub(crate) fn matches(&self, slot: &Slot) -> bool {
        self.matches_summary(&slot.spec.id, slot.case.state().name())
    }

    pub(crate) fn matches_quarantine(&self, quarantine: &Quarantine) -> bool {
        let spec_id = quarantine.spec.as_ref().map(|s| s.id.as_str());
        self.state.as_deref().is_none_or(|s| s == "quarantined")
            && self.spec_id.as_deref().is_none_or(|s| Some(s) == spec_id)
    }

    pub(crate) fn matches_summary(&self, spec_id: &str, state: &str) -> bool {
        self.state.as_deref().is_none_or(|s| s == state)
            && self.spec_id.as_deref().is_none_or(|s| s == spec_id)
    }
}

impl WorkItemQuery {
    /// The views of `slot`'s work items that match, after `after`.
    pub(crate) fn select(&self, slot: &Slot) -> Vec<WorkItemView> {
        let first = match self.after {
            Some(after) if after.case == slot.id => after.work_item.0.checked_add(1),
            // Every item of this case comes before `after` (a query naming a case can
            // be asked for the page after another case's item).
            Some(after) if after.case > slot.id => None,
            _ => Some(0),
        };
        // Nothing follows the largest id.
        let Some(first) = first else {
            return Vec::new();
        };
        slot.items
            .range(WorkItemId(first)..)
            .filter(|(_, info)| {
                self.task.as_deref().is_none_or(|t| info.task == t)
                    && self.status.is_none_or(|s| s == info.status)
                    && self.worker.as_deref().is_none_or(|w| concerns(info, w))
            })
            .map(|(id, info)| item_view(slot, *id, info))
            .collect()
    }
}

/// Whether work item `info` is leased, offered or allocated to `who`.
fn concerns(info: &ItemInfo, who: &str) -> bool {
    info.lease.as_ref().is_some_and(|lease| lease.worker == who)
        || match &info.resourcing {
            Resourcing::Unassigned => false,
            Resourcing::Offered { participants } => participants.iter().any(|p| p == who),
            Resourcing::Allocated { participant } => participant == who,
        }
}

pub(crate) fn case_view(slot: &Slot) -> CaseView {
    CaseView {
        id: slot.id,
        spec: slot.spec.clone(),
        state: slot.case.state().clone(),
        data: slot.case.data(),
        launched_at_ms: slot.launched_at_ms,
        updated_at_ms: slot.updated_at_ms,
    }
}

/// The view of work item `id` of `slot`, whose runtime record is `info`.
pub(crate) fn item_view(slot: &Slot, id: WorkItemId, info: &ItemInfo) -> WorkItemView {
    WorkItemView {
        case: slot.id,
        id,
        task: info.task.clone(),
        net_instance: info.net_instance,
        status: info.status,
        data: slot.case.work_item(id).map(|item| item.data.clone()),
        lease: info.lease.clone(),
        resourcing: info.resourcing.clone(),
        enabled_at_ms: info.enabled_at_ms,
        updated_at_ms: info.updated_at_ms,
    }
}
