//! The engine's cross-case indexes: which enabled work items a worker may claim, and
//! which timers and leases fall due when.
//!
//! Each running case contributes a set of [`Key`]s computed from its slot; after every
//! committed change the engine hands the case's new keys to [`Index::set`], which applies
//! the difference. Deriving keys from the slot (rather than patching the index event by
//! event) keeps the index correct by construction, including after recovery.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use knhk_kernel::{WorkItemId, WorkItemStatus};
use serde::{Deserialize, Serialize};

use super::slot::{Resourcing, Slot};
use crate::store::CaseId;

/// A work item across the engine: its case and its id in the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemRef {
    /// The case.
    pub case: CaseId,
    /// The work item.
    pub work_item: WorkItemId,
}

/// What a worker claims work by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimTarget {
    /// Work items of tasks with this id (in any specification).
    Task(String),
    /// Work items of tasks whose service has this name.
    Service(String),
}

/// Why something falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Due {
    /// A work item's timer expires.
    Timer,
    /// A work item's lease runs out.
    Lease,
}

/// One contribution of a case to the index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Key {
    Claim(ClaimTarget, WorkItemId),
    Due(u64, WorkItemId, Due),
}

/// The indexes.
#[derive(Debug, Default)]
pub(crate) struct Index {
    claimable: BTreeMap<ClaimTarget, BTreeSet<ItemRef>>,
    due: BTreeSet<(u64, ItemRef, Due)>,
    keys: HashMap<CaseId, Vec<Key>>,
}

impl Index {
    /// Replaces what `case` contributes with `keys` (sorted, as [`keys`] returns them).
    pub(crate) fn set(&mut self, case: CaseId, keys: Vec<Key>) {
        let old = self.keys.remove(&case).unwrap_or_default();
        for key in old.iter().filter(|k| keys.binary_search(k).is_err()) {
            self.remove(case, key);
        }
        for key in keys.iter().filter(|k| old.binary_search(k).is_err()) {
            self.insert(case, key);
        }
        if !keys.is_empty() {
            self.keys.insert(case, keys);
        }
    }

    fn insert(&mut self, case: CaseId, key: &Key) {
        match key {
            Key::Claim(target, work_item) => {
                self.claimable
                    .entry(target.clone())
                    .or_default()
                    .insert(ItemRef {
                        case,
                        work_item: *work_item,
                    });
            }
            Key::Due(at, work_item, due) => {
                let item = ItemRef {
                    case,
                    work_item: *work_item,
                };
                self.due.insert((*at, item, *due));
            }
        }
    }

    fn remove(&mut self, case: CaseId, key: &Key) {
        match key {
            Key::Claim(target, work_item) => {
                if let Some(set) = self.claimable.get_mut(target) {
                    set.remove(&ItemRef {
                        case,
                        work_item: *work_item,
                    });
                    if set.is_empty() {
                        self.claimable.remove(target);
                    }
                }
            }
            Key::Due(at, work_item, due) => {
                let item = ItemRef {
                    case,
                    work_item: *work_item,
                };
                self.due.remove(&(*at, item, *due));
            }
        }
    }

    /// Up to `max` claimable work items of `target`, oldest case first.
    pub(crate) fn claimable(&self, target: &ClaimTarget, max: usize) -> Vec<ItemRef> {
        self.claimable
            .get(target)
            .map(|set| set.iter().take(max).copied().collect())
            .unwrap_or_default()
    }

    /// Everything due at or before `now_ms`, earliest first.
    pub(crate) fn due(&self, now_ms: u64) -> Vec<(ItemRef, Due)> {
        self.due
            .iter()
            .take_while(|(at, _, _)| *at <= now_ms)
            .map(|(_, item, due)| (*item, *due))
            .collect()
    }

    /// The earliest due time, if anything is scheduled.
    pub(crate) fn next_due(&self) -> Option<u64> {
        self.due.first().map(|(at, _, _)| *at)
    }
}

/// What `slot` contributes to the index, sorted. Only a running case has claimable work
/// and live timers and leases: a suspended case's come back when it resumes.
pub(crate) fn keys(slot: &Slot) -> Vec<Key> {
    let mut keys = Vec::new();
    if *slot.case.state() != knhk_kernel::CaseState::Running {
        return keys;
    }
    for item in slot.case.work_items() {
        // Work offered or allocated to people is theirs, not for claiming workers.
        let unassigned = slot
            .items
            .get(&item.id)
            .is_none_or(|i| i.resourcing == Resourcing::Unassigned);
        if item.status == WorkItemStatus::Enabled && unassigned {
            keys.push(Key::Claim(
                ClaimTarget::Task(item.task.to_string()),
                item.id,
            ));
            if let Some(service) = slot.service(item.id) {
                keys.push(Key::Claim(
                    ClaimTarget::Service(service.to_owned()),
                    item.id,
                ));
            }
        }
    }
    for (work_item, at) in &slot.timers {
        keys.push(Key::Due(*at, *work_item, Due::Timer));
    }
    for (work_item, info) in &slot.items {
        if let Some(lease) = &info.lease {
            keys.push(Key::Due(lease.until_ms, *work_item, Due::Lease));
        }
    }
    keys.sort();
    keys
}
