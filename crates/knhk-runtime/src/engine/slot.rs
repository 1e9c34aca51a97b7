//! One case as the runtime holds it: the kernel's [`Case`] plus what only the runtime
//! knows (leases, timer due times, every work item's last status, timestamps).
//!
//! [`Slot::act`] is deterministic: the same action at the same time on the same slot gives
//! the same events and the same slot. The live path and recovery both go through it, which
//! is why a recovered case is exactly the acknowledged one.

use std::collections::BTreeMap;
use std::sync::Arc;

use knhk_kernel::{
    Case, CaseImage, Command, CompiledTask, Event, ImageError, Limits, NetInstanceId, TaskId,
    WorkItemId, WorkItemStatus,
};
use knhk_model::TimerTrigger;
use serde::{Deserialize, Serialize};

use super::EngineError;
use super::specs::SpecVersion;
use crate::entry::{Action, SpecRef};
use crate::metrics::{CaseCensus, SpecMetrics};
use crate::store::CaseId;
use crate::trace::{self, ActionSite, CaseTrace};

/// A lease: which worker holds a claimed work item, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The worker.
    pub worker: String,
    /// The lease ends at this instant (ms since the Unix epoch).
    pub until_ms: u64,
}

/// Who a work item is for, in YAWL's resource perspective: enabled work is unassigned
/// until offered to participants or allocated to one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to")]
pub enum Resourcing {
    /// Anyone (or any worker claiming it) may take it.
    #[default]
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

/// What the runtime remembers of a work item, live or ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemInfo {
    /// The task.
    pub task: TaskId,
    /// The net instance.
    pub net_instance: NetInstanceId,
    /// Its status; a final one once it has left the case.
    pub status: WorkItemStatus,
    /// The lease, while a worker holds it.
    pub lease: Option<Lease>,
    /// Who the item is for.
    pub resourcing: Resourcing,
    /// When it was enabled.
    pub enabled_at_ms: u64,
    /// When its status last changed.
    pub updated_at_ms: u64,
}

/// A case in the runtime.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) id: CaseId,
    pub(crate) spec: SpecRef,
    /// Where the case's launch, task completions and end are counted.
    pub(crate) metrics: SpecMetrics,
    pub(crate) case: Case,
    /// The sequence number the next record of this case takes.
    pub(crate) next_seq: u64,
    /// Records since the last snapshot.
    pub(crate) since_snapshot: u64,
    pub(crate) launched_at_ms: u64,
    pub(crate) updated_at_ms: u64,
    pub(crate) items: BTreeMap<WorkItemId, ItemInfo>,
    /// Armed timers: when each work item's timer expires.
    pub(crate) timers: BTreeMap<WorkItemId, u64>,
    /// The trace the case's actions belong to, from its launch record.
    pub(crate) trace: Option<CaseTrace>,
    /// What the metrics' in-flight gauges count of this case (`None`: nothing yet, or
    /// it has ended); the engine moves the gauges by the difference at each reindex.
    pub(crate) census: Option<CaseCensus>,
}

/// A slot as a snapshot stores it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SlotImage {
    pub(crate) spec: SpecRef,
    case: CaseImage,
    launched_at_ms: u64,
    updated_at_ms: u64,
    items: BTreeMap<WorkItemId, ItemInfo>,
    timers: BTreeMap<WorkItemId, u64>,
    /// Absent in snapshots taken before cases had a trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trace: Option<CaseTrace>,
}

impl Slot {
    /// Launches a case: the deterministic part of [`Action::Launch`].
    pub(crate) fn launch(
        id: CaseId,
        version: &SpecVersion,
        data: serde_json::Value,
        seed: u64,
        limits: Limits,
        at_ms: u64,
    ) -> Result<(Slot, Vec<Event>), EngineError> {
        let (case, events) = Case::launch(Arc::clone(&version.compiled), data, seed, limits)
            .map_err(|e| EngineError::Launch(Box::new(e)))?;
        let mut slot = Slot {
            id,
            spec: version.spec_ref.clone(),
            metrics: version.metrics.clone(),
            case,
            next_seq: 0,
            since_snapshot: 0,
            launched_at_ms: at_ms,
            updated_at_ms: at_ms,
            items: BTreeMap::new(),
            timers: BTreeMap::new(),
            trace: None,
            census: None,
        };
        slot.observe(&events, at_ms);
        Ok((slot, events))
    }

    /// The slot a snapshot holds, if its case fits `spec` ([`CaseImage::check`]: a
    /// damaged snapshot must quarantine its case, not panic the engine later).
    pub(crate) fn from_image(
        id: CaseId,
        seq: u64,
        version: &SpecVersion,
        image: SlotImage,
    ) -> Result<Slot, ImageError> {
        image.case.check(&version.compiled)?;
        Ok(Slot {
            id,
            spec: image.spec,
            metrics: version.metrics.clone(),
            case: Case::from_image(Arc::clone(&version.compiled), image.case),
            next_seq: seq + 1,
            since_snapshot: 0,
            launched_at_ms: image.launched_at_ms,
            updated_at_ms: image.updated_at_ms,
            items: image.items,
            timers: image.timers,
            trace: image.trace,
            census: None,
        })
    }

    /// The span `action` on this case runs in (see [`crate::trace`]).
    pub(crate) fn span(&self, action: &Action) -> tracing::Span {
        let site = ActionSite {
            case: self.id,
            spec_id: &self.spec.id,
            trace: self.trace.as_ref(),
        };
        let item = trace::work_item(action);
        let task = item
            .and_then(|item| self.items.get(&item))
            .map(|info| &*info.task)
            .or_else(|| trace::command_task(action));
        trace::action_span(&site, trace::name(action), task, item)
    }

    /// The snapshot of this slot.
    pub(crate) fn image(&self) -> SlotImage {
        SlotImage {
            spec: self.spec.clone(),
            case: self.case.image(),
            launched_at_ms: self.launched_at_ms,
            updated_at_ms: self.updated_at_ms,
            items: self.items.clone(),
            timers: self.timers.clone(),
            trace: self.trace,
        }
    }

    /// Applies an action other than a launch at `at_ms`. On error nothing has changed.
    pub(crate) fn act(&mut self, action: &Action, at_ms: u64) -> Result<Vec<Event>, EngineError> {
        let events = match action {
            Action::Launch { .. } => {
                return Err(EngineError::CaseExists { case: self.id });
            }
            Action::Command { command, worker } => {
                let worker = worker.as_deref();
                if let Some(item) = acted_on(command) {
                    self.check_item(item)?;
                    self.check_lease(item, worker, at_ms)?;
                    self.check_resourcing(item, worker)?;
                }
                let events = self.kernel(command)?;
                // Starting an offered item allocates it to the participant who started it.
                if let (Command::StartWorkItem { work_item }, Some(participant)) = (command, worker)
                    && let Some(info) = self.items.get_mut(work_item)
                    && matches!(info.resourcing, Resourcing::Offered { .. })
                {
                    info.resourcing = Resourcing::Allocated {
                        participant: participant.to_owned(),
                    };
                }
                events
            }
            Action::Offer {
                work_item,
                participants,
            } => {
                if participants.is_empty() || participants.iter().any(String::is_empty) {
                    return Err(EngineError::InvalidRequest(
                        "an offer needs at least one participant, each with a non-empty name"
                            .to_owned(),
                    ));
                }
                self.check_assignable(*work_item)?;
                if let Some(Resourcing::Allocated { participant }) =
                    self.items.get(work_item).map(|i| &i.resourcing)
                {
                    return Err(EngineError::Allocated {
                        case: self.id,
                        work_item: *work_item,
                        participant: participant.clone(),
                    });
                }
                self.set_resourcing(
                    *work_item,
                    Resourcing::Offered {
                        participants: participants.clone(),
                    },
                );
                Vec::new()
            }
            Action::Allocate {
                work_item,
                participant,
            } => {
                if participant.is_empty() {
                    return Err(EngineError::InvalidRequest(
                        "a participant needs a non-empty name".to_owned(),
                    ));
                }
                self.check_assignable(*work_item)?;
                self.check_resourcing(*work_item, Some(participant))?;
                self.set_resourcing(
                    *work_item,
                    Resourcing::Allocated {
                        participant: participant.clone(),
                    },
                );
                Vec::new()
            }
            Action::Claim {
                work_item,
                worker,
                lease_ms,
            } => {
                if *lease_ms == 0 {
                    return Err(EngineError::InvalidRequest(
                        "a lease must last at least 1 ms".to_owned(),
                    ));
                }
                self.check_item(*work_item)?;
                self.check_resourcing(*work_item, Some(worker))?;
                let events = self.kernel(&Command::StartWorkItem {
                    work_item: *work_item,
                })?;
                if let Some(info) = self.items.get_mut(work_item) {
                    info.lease = Some(Lease {
                        worker: worker.clone(),
                        until_ms: at_ms.saturating_add(*lease_ms),
                    });
                }
                events
            }
            Action::ExpireLease { work_item } => {
                let expired = self
                    .items
                    .get(work_item)
                    .and_then(|i| i.lease.as_ref())
                    .is_some_and(|lease| lease.until_ms <= at_ms);
                if !expired {
                    return Err(EngineError::NoExpiredLease {
                        case: self.id,
                        work_item: *work_item,
                    });
                }
                self.kernel(&Command::ReleaseWorkItem {
                    work_item: *work_item,
                })?
            }
        };
        self.observe(&events, at_ms);
        Ok(events)
    }

    fn kernel(&mut self, command: &Command) -> Result<Vec<Event>, EngineError> {
        self.case
            .apply(command)
            .map_err(|source| EngineError::Command {
                case: self.id,
                source: Box::new(source),
            })
    }

    /// Refuses an action on a work item the case never had or that has ended, naming how
    /// it ended: the kernel forgets ended items, the runtime does not.
    fn check_item(&self, work_item: WorkItemId) -> Result<(), EngineError> {
        match self.items.get(&work_item) {
            None => Err(EngineError::UnknownWorkItem {
                case: self.id,
                work_item,
            }),
            Some(info) if self.case.work_item(work_item).is_none() => {
                Err(EngineError::WorkItemEnded {
                    case: self.id,
                    work_item,
                    status: info.status,
                })
            }
            Some(_) => Ok(()),
        }
    }

    /// Refuses an offer or allocation of an item that is not enabled (or not claimable).
    fn check_assignable(&self, work_item: WorkItemId) -> Result<(), EngineError> {
        self.check_item(work_item)?;
        match self.case.work_item(work_item) {
            Some(item) if item.status == WorkItemStatus::Enabled => Ok(()),
            Some(item) => Err(EngineError::Command {
                case: self.id,
                source: Box::new(knhk_kernel::CommandError::NotEnabled {
                    work_item,
                    status: item.status,
                }),
            }),
            None => Err(EngineError::UnknownWorkItem {
                case: self.id,
                work_item,
            }),
        }
    }

    /// Refuses an action on an offered item by a non-participant, and on an allocated
    /// item by anyone but its participant.
    fn check_resourcing(
        &self,
        work_item: WorkItemId,
        participant: Option<&str>,
    ) -> Result<(), EngineError> {
        let resourcing = self.items.get(&work_item).map(|i| &i.resourcing);
        match resourcing {
            Some(Resourcing::Offered { participants })
                if !participant.is_some_and(|p| participants.iter().any(|q| q == p)) =>
            {
                Err(EngineError::NotOffered {
                    case: self.id,
                    work_item,
                    participant: participant.map(str::to_owned),
                })
            }
            Some(Resourcing::Allocated {
                participant: holder,
            }) if participant != Some(holder.as_str()) => Err(EngineError::Allocated {
                case: self.id,
                work_item,
                participant: holder.clone(),
            }),
            _ => Ok(()),
        }
    }

    fn set_resourcing(&mut self, work_item: WorkItemId, resourcing: Resourcing) {
        if let Some(info) = self.items.get_mut(&work_item) {
            info.resourcing = resourcing;
        }
    }

    /// Refuses an action on a leased work item by anyone but its worker, and by its
    /// worker once the lease has run out.
    fn check_lease(
        &self,
        work_item: WorkItemId,
        worker: Option<&str>,
        at_ms: u64,
    ) -> Result<(), EngineError> {
        let Some(lease) = self.items.get(&work_item).and_then(|i| i.lease.as_ref()) else {
            return Ok(());
        };
        if worker != Some(lease.worker.as_str()) {
            return Err(EngineError::LeaseHeld {
                case: self.id,
                work_item,
                worker: lease.worker.clone(),
            });
        }
        if lease.until_ms <= at_ms {
            return Err(EngineError::LeaseExpired {
                case: self.id,
                work_item,
                expired_at_ms: lease.until_ms,
            });
        }
        Ok(())
    }

    /// Counts what a committed action did in its specification's metrics: task
    /// completions, and the case's end.
    pub(crate) fn count(&self, events: &[Event], at_ms: u64) {
        for event in events {
            match event {
                Event::TaskCompleted { task, .. } => self.metrics.task_completed(task),
                Event::CaseStateChanged { state } if state.is_final() => {
                    let ran_ms = at_ms.saturating_sub(self.launched_at_ms);
                    self.metrics.ended(state.name(), ran_ms);
                }
                _ => {}
            }
        }
    }

    /// Brings the runtime's view of work items and timers up to date with `events`.
    fn observe(&mut self, events: &[Event], at_ms: u64) {
        self.updated_at_ms = at_ms;
        for event in events {
            match event {
                Event::WorkItemEnabled {
                    work_item,
                    net_instance,
                    task,
                } => {
                    self.items.insert(
                        *work_item,
                        ItemInfo {
                            task: task.clone(),
                            net_instance: *net_instance,
                            status: WorkItemStatus::Enabled,
                            lease: None,
                            resourcing: Resourcing::Unassigned,
                            enabled_at_ms: at_ms,
                            updated_at_ms: at_ms,
                        },
                    );
                }
                Event::WorkItemStarted { work_item } | Event::WorkItemResumed { work_item } => {
                    self.set_status(*work_item, WorkItemStatus::Started, at_ms);
                }
                Event::WorkItemSuspended { work_item } => {
                    self.set_status(*work_item, WorkItemStatus::Suspended, at_ms);
                }
                Event::WorkItemReleased { work_item } => {
                    self.set_status(*work_item, WorkItemStatus::Enabled, at_ms);
                    if self.timer_trigger(*work_item) == Some(TimerTrigger::OnExecuting) {
                        self.timers.remove(work_item);
                    }
                }
                Event::WorkItemCompleted { work_item } => {
                    self.end_item(*work_item, WorkItemStatus::Completed, at_ms);
                }
                Event::WorkItemFailed { work_item } => {
                    self.end_item(*work_item, WorkItemStatus::Failed, at_ms);
                }
                Event::WorkItemWithdrawn { work_item, status } => {
                    self.end_item(*work_item, *status, at_ms);
                }
                Event::TimerArmed {
                    work_item,
                    duration_ms,
                    expiry_ms,
                } => {
                    // Validation guarantees one of the two; an absolute expiry wins.
                    let due = expiry_ms
                        .unwrap_or_else(|| at_ms.saturating_add(duration_ms.unwrap_or_default()));
                    self.timers.insert(*work_item, due);
                }
                _ => {}
            }
        }
    }

    fn set_status(&mut self, work_item: WorkItemId, status: WorkItemStatus, at_ms: u64) {
        if let Some(info) = self.items.get_mut(&work_item) {
            info.status = status;
            info.updated_at_ms = at_ms;
            if status == WorkItemStatus::Enabled {
                // Back to enabled (released): free for anyone again.
                info.lease = None;
                info.resourcing = Resourcing::Unassigned;
            }
        }
    }

    fn end_item(&mut self, work_item: WorkItemId, status: WorkItemStatus, at_ms: u64) {
        self.set_status(work_item, status, at_ms);
        if let Some(info) = self.items.get_mut(&work_item) {
            info.lease = None;
        }
        self.timers.remove(&work_item);
    }

    fn timer_trigger(&self, work_item: WorkItemId) -> Option<TimerTrigger> {
        self.task_of(work_item)?.timer.as_ref().map(|t| t.trigger)
    }

    /// The service of a live work item's task, if it names one.
    pub(crate) fn service(&self, work_item: WorkItemId) -> Option<&str> {
        self.task_of(work_item)?.service.as_deref()
    }

    /// The compiled task of a live work item.
    fn task_of(&self, work_item: WorkItemId) -> Option<&CompiledTask> {
        let item = self.case.work_item(work_item)?;
        let instance = self.case.net_instance(item.net_instance)?;
        let net = self.case.spec().net(instance.net());
        Some(net.task(net.task_ix(&item.task)?))
    }
}

/// The work item a command acts on, where a lease guards it. Timer expiry and case-wide
/// commands are the engine's or an administrator's and pass any lease.
fn acted_on(command: &Command) -> Option<WorkItemId> {
    match command {
        Command::StartWorkItem { work_item }
        | Command::CompleteWorkItem { work_item, .. }
        | Command::FailWorkItem { work_item, .. }
        | Command::ReleaseWorkItem { work_item }
        | Command::SuspendWorkItem { work_item }
        | Command::ResumeWorkItem { work_item } => Some(*work_item),
        _ => None,
    }
}
