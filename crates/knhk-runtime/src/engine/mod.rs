//! The engine: cases running on the kernel, every change committed before it is
//! acknowledged, and everything back after a restart.
//!
//! Owns the life of cases and work items around the kernel: specification versions,
//! launch, commands, claims with leases, timers, queries, history and recovery. Leaves the
//! semantics of a command to `knhk-kernel`, durability to the [`Store`] and the
//! [`Committer`], and the HTTP contract to the server.
//!
//! Data flow of a command: find the case's slot and lock it (an async mutex, held
//! until the commit returns, so that a case's commands are applied and logged in order);
//! apply the action to the slot (`Slot::act`, deterministic, refused actions change
//! nothing); encode the [`Entry`] (with a snapshot every
//! [`EngineConfig::snapshot_every`] records and when the case ends); hand it to the
//! committer, which shares one transaction among every case committing at the same time;
//! after the commit, update the cross-case indexes and answer. If the commit fails the
//! slot is rebuilt from the store, which holds exactly the acknowledged state.
//!
//! Recovery ([`Engine::open`]) reads each case's latest snapshot and the records after it,
//! and re-applies those records through `Slot::act`, checking that the kernel gives the
//! stored events back.

mod error;
mod index;
mod query;
mod slot;
mod specs;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use knhk_kernel::{CaseState, Command, Event, Limits, WorkItemId};
use knhk_model::ValidSpec;
use serde_json::Value;

use crate::clock::Clock;
use crate::commit::{Committer, CommitterConfig};
use crate::entry::{Action, Entry};
use crate::store::{CaseId, CaseLog, Record, Store, StoreError};

pub use error::EngineError;
pub use index::{ClaimTarget, ItemRef};
pub use query::{
    CASE_STATES, CaseQuery, CaseView, HistoryEntry, Page, WorkItemQuery, WorkItemView,
};
pub use slot::{ItemInfo, Lease, Resourcing};
pub use specs::SpecVersion;

use index::{Due, Index};
use slot::{Slot, SlotImage};
use specs::{Prepared, Registry};

/// How the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// The kernel's limits for every case.
    pub limits: Limits,
    /// A case is snapshotted after this many records (and when it ends), bounding the
    /// replay work of recovery.
    pub snapshot_every: u64,
    /// The largest page a query returns.
    pub page_max: usize,
    /// The group committer's limits.
    pub committer: CommitterConfig,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            limits: Limits::default(),
            snapshot_every: 64,
            page_max: 1000,
            committer: CommitterConfig::default(),
        }
    }
}

/// What one [`Engine::fire_due`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fired {
    /// Timers that expired.
    pub timers: usize,
    /// Leases that ran out.
    pub leases: usize,
}

type SlotLock = Arc<tokio::sync::Mutex<Slot>>;

/// Candidates a claim looks at beyond the items it asks for, to pass over the cases other
/// requests hold at the moment.
const CLAIM_SLACK: usize = 64;

/// A case as the engine holds it in memory.
#[derive(Debug)]
enum Resident {
    /// Running or suspended: its whole state, ready for commands.
    Live(SlotLock),
    /// Ended: only what case queries filter on. Its state is in the store, as the
    /// snapshot every case takes when it ends, and is loaded when asked for; so memory
    /// grows with the cases in flight, not with every case ever run.
    Ended(Summary),
}

/// What the engine keeps of an ended case.
#[derive(Debug)]
struct Summary {
    spec_id: String,
    state: &'static str,
}

impl Resident {
    fn of(slot: Slot) -> Resident {
        if slot.case.state().is_final() {
            Resident::ended(&slot)
        } else {
            Resident::Live(Arc::new(tokio::sync::Mutex::new(slot)))
        }
    }

    fn ended(slot: &Slot) -> Resident {
        Resident::Ended(Summary {
            spec_id: slot.spec.id.clone(),
            state: slot.case.state().name(),
        })
    }
}

/// The durable workflow engine. Cheap to clone: clones share one engine.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    committer: Committer,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    registry: RwLock<Registry>,
    /// Serializes registrations, so that two registrations of an id get distinct versions.
    registering: tokio::sync::Mutex<()>,
    cases: RwLock<BTreeMap<CaseId, Resident>>,
    next_case: AtomicU64,
    index: Mutex<Index>,
}

impl Engine {
    /// Opens the engine on `store`, recovering every case in it.
    pub fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Result<Engine, EngineError> {
        let mut registry = Registry::default();
        for stored in store.specs()? {
            registry.load(stored)?;
        }
        let mut slots = Vec::new();
        let mut failure = None;
        store.for_each_latest(&mut |log| match recover(&registry, log) {
            Ok(slot) => {
                slots.push(slot);
                true
            }
            Err(e) => {
                failure = Some(e);
                false
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        let mut index = Index::default();
        let mut cases = BTreeMap::new();
        for slot in slots {
            index.set(slot.id, index::keys(&slot));
            cases.insert(slot.id, Resident::of(slot));
        }
        let next_case = cases.keys().next_back().map_or(1, |id: &CaseId| id.0 + 1);
        let committer = Committer::start(Arc::clone(&store), config.committer)?;
        Ok(Engine {
            inner: Arc::new(Inner {
                store,
                committer,
                clock,
                config,
                registry: RwLock::new(registry),
                registering: tokio::sync::Mutex::new(()),
                cases: RwLock::new(cases),
                next_case: AtomicU64::new(next_case),
                index: Mutex::new(index),
            }),
        })
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    // ---- specifications ------------------------------------------------------------

    /// Registers `spec` and returns its version: the latest one if its text is unchanged,
    /// otherwise a new one. Durable when this returns.
    pub async fn register(&self, spec: ValidSpec) -> Result<Arc<SpecVersion>, EngineError> {
        let _one_at_a_time = self.inner.registering.lock().await;
        let prepared = read(&self.inner.registry).prepare(spec)?;
        let version = match prepared {
            Prepared::Existing(version) => return Ok(version),
            Prepared::New(version) => version,
        };
        let store = Arc::clone(&self.inner.store);
        let stored = Arc::clone(&version);
        tokio::task::spawn_blocking(move || {
            store.put_spec(&stored.spec_ref.id, stored.spec_ref.version, &stored.json)
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))??;
        write(&self.inner.registry).insert(Arc::clone(&version));
        Ok(version)
    }

    /// Version `version` of specification `id`, or its latest version with `None`.
    pub fn spec(&self, id: &str, version: Option<u64>) -> Result<Arc<SpecVersion>, EngineError> {
        read(&self.inner.registry).get(id, version)
    }

    /// Every registered specification version, by id then version.
    pub fn specs(&self) -> Vec<Arc<SpecVersion>> {
        read(&self.inner.registry).all()
    }

    // ---- cases ---------------------------------------------------------------------

    /// Launches a case of `spec_id` (its latest version, or `version`) with `data`.
    pub async fn launch(
        &self,
        spec_id: &str,
        version: Option<u64>,
        data: Value,
    ) -> Result<CaseView, EngineError> {
        let spec = self.spec(spec_id, version)?;
        let id = CaseId(self.inner.next_case.fetch_add(1, Ordering::Relaxed));
        // Any fixed function of the id would do: the seed is logged with the launch.
        let seed = id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let at_ms = self.inner.clock.now_ms();
        let (mut slot, events) = Slot::launch(
            id,
            spec.spec_ref.clone(),
            Arc::clone(&spec.compiled),
            data.clone(),
            seed,
            self.inner.config.limits,
            at_ms,
        )?;
        let entry = Entry {
            at_ms,
            action: Action::Launch {
                spec: spec.spec_ref.clone(),
                data,
                seed,
                limits: self.inner.config.limits,
            },
            events,
        };
        let record = self.record(&mut slot, &entry)?;
        self.inner.committer.append(vec![record]).await?;
        let view = query::case_view(&slot);
        self.reindex(&slot);
        write(&self.inner.cases).insert(id, Resident::of(slot));
        Ok(view)
    }

    /// Applies a kernel `command` to case `case`, as `worker` if a worker acts (leased
    /// work items accept commands only from their worker, within the lease). Returns the
    /// events once they are durable.
    pub async fn command(
        &self,
        case: CaseId,
        command: Command,
        worker: Option<&str>,
    ) -> Result<Vec<Event>, EngineError> {
        let action = Action::Command {
            command,
            worker: worker.map(str::to_owned),
        };
        self.act(case, action).await
    }

    /// [`Engine::command`] on work item `work_item` of `case`, returning the item as the
    /// command left it (read under the same lock, so without loading an ended case back).
    pub async fn command_on_item(
        &self,
        case: CaseId,
        work_item: WorkItemId,
        command: Command,
        worker: Option<&str>,
    ) -> Result<WorkItemView, EngineError> {
        let action = Action::Command {
            command,
            worker: worker.map(str::to_owned),
        };
        let slot = self.slot(case).await?;
        let mut slot = slot.lock().await;
        self.act_locked(&mut slot, action).await?;
        let info = slot
            .items
            .get(&work_item)
            .ok_or(EngineError::UnknownWorkItem { case, work_item })?;
        Ok(query::item_view(&slot, work_item, info))
    }

    /// Offers enabled work item `work_item` of `case` to `participants`: any of them may
    /// start it, which allocates it to them.
    pub async fn offer(
        &self,
        case: CaseId,
        work_item: WorkItemId,
        participants: Vec<String>,
    ) -> Result<(), EngineError> {
        let action = Action::Offer {
            work_item,
            participants,
        };
        self.act(case, action).await.map(drop)
    }

    /// Allocates enabled (or offered) work item `work_item` of `case` to `participant`:
    /// from then on only they may act on it. An offered item can only be allocated to one
    /// of its participants.
    pub async fn allocate(
        &self,
        case: CaseId,
        work_item: WorkItemId,
        participant: &str,
    ) -> Result<(), EngineError> {
        let action = Action::Allocate {
            work_item,
            participant: participant.to_owned(),
        };
        self.act(case, action).await.map(drop)
    }

    /// Claims up to `max` enabled work items of `target` for `worker`: each is started
    /// and leased to the worker for `lease_ms`. All claims commit together.
    pub async fn claim(
        &self,
        worker: &str,
        target: &ClaimTarget,
        max: usize,
        lease_ms: u64,
    ) -> Result<Vec<WorkItemView>, EngineError> {
        if worker.is_empty() {
            return Err(EngineError::InvalidRequest(
                "a worker needs a non-empty name".to_owned(),
            ));
        }
        if max == 0 || lease_ms == 0 {
            return Err(EngineError::InvalidRequest(
                "a claim needs max >= 1 and lease_ms >= 1".to_owned(),
            ));
        }
        // Concurrent claims see the same oldest items. A case another request holds is
        // skipped rather than waited for (its lock is held across a commit, so waiting
        // would queue every claim behind the first), and a few more candidates than asked
        // for leave room for the skips. Never waiting also means no lock-order deadlock.
        let candidates = lock(&self.inner.index).claimable(target, max.saturating_add(CLAIM_SLACK));
        let mut locked = Vec::new();
        let mut records = Vec::new();
        let mut claimed = Vec::new();
        let at_ms = self.inner.clock.now_ms();
        for item in candidates {
            if claimed.len() == max {
                break;
            }
            if locked.last().is_none_or(|(case, _)| *case != item.case) {
                let Ok(slot) = self.slot(item.case).await else {
                    continue;
                };
                let Ok(guard) = slot.try_lock_owned() else {
                    continue;
                };
                locked.push((item.case, guard));
            }
            let Some((_, slot)) = locked.last_mut() else {
                continue;
            };
            let action = Action::Claim {
                work_item: item.work_item,
                worker: worker.to_owned(),
                lease_ms,
            };
            // Another claim or a command may have taken the item since the index was
            // read: it is simply not claimed.
            let Ok(events) = slot.act(&action, at_ms) else {
                continue;
            };
            let entry = Entry {
                at_ms,
                action,
                events,
            };
            match self.record(slot, &entry) {
                Ok(record) => records.push(record),
                Err(e) => {
                    for (_, slot) in &mut locked {
                        self.rebuild(slot);
                    }
                    return Err(e);
                }
            }
            claimed.push(item);
        }
        if records.is_empty() {
            return Ok(Vec::new());
        }
        if let Err(e) = self.inner.committer.append(records).await {
            for (_, slot) in &mut locked {
                self.rebuild(slot);
            }
            return Err(e.into());
        }
        let mut views = Vec::with_capacity(claimed.len());
        for (_, slot) in &locked {
            self.reindex(slot);
            for item in claimed.iter().filter(|i| i.case == slot.id) {
                if let Some(info) = slot.items.get(&item.work_item) {
                    views.push(query::item_view(slot, item.work_item, info));
                }
            }
        }
        Ok(views)
    }

    /// Fires every timer and lease expiry due by the clock. Expiries of different cases
    /// commit together.
    pub async fn fire_due(&self) -> Result<Fired, EngineError> {
        let due = lock(&self.inner.index).due(self.inner.clock.now_ms());
        let mut tasks = tokio::task::JoinSet::new();
        for (item, kind) in due {
            let engine = self.clone();
            tasks.spawn(async move { (kind, engine.expire(item, kind).await) });
        }
        let mut fired = Fired::default();
        while let Some(joined) = tasks.join_next().await {
            let (kind, result) = joined.map_err(|e| EngineError::Join(e.to_string()))?;
            if result? {
                match kind {
                    Due::Timer => fired.timers += 1,
                    Due::Lease => fired.leases += 1,
                }
            }
        }
        Ok(fired)
    }

    /// Runs [`Engine::fire_due`] in the background: whenever something falls due, and at
    /// least every `period`. Needs a tokio runtime; stops when the handle is aborted.
    pub fn spawn_timers(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            loop {
                // A failed pass (a store error) is retried on the next tick; the due
                // entries stay in the index until they fire.
                let _ = engine.fire_due().await;
                let now = engine.inner.clock.now_ms();
                let next = lock(&engine.inner.index).next_due();
                let wait = next.map_or(period, |at| {
                    Duration::from_millis(at.saturating_sub(now)).min(period)
                });
                tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
            }
        })
    }

    /// Expires one timer or lease. `Ok(false)` if it was no longer due.
    async fn expire(&self, item: ItemRef, kind: Due) -> Result<bool, EngineError> {
        let action = match kind {
            Due::Timer => Action::Command {
                command: Command::TimerExpired {
                    work_item: item.work_item,
                },
                worker: None,
            },
            Due::Lease => Action::ExpireLease {
                work_item: item.work_item,
            },
        };
        let Ok(slot) = self.slot(item.case).await else {
            return Ok(false);
        };
        let mut slot = slot.lock().await;
        match self.act_locked(&mut slot, action).await {
            Ok(_) => Ok(true),
            Err(e @ (EngineError::Commit(_) | EngineError::Store(_))) => Err(e),
            Err(_) => {
                // Overtaken since the index was read: the item ended or was released, or
                // the case stopped running. In a running case, a timer its item no longer
                // takes is disarmed; a suspended case keeps its timers for its resumption.
                if kind == Due::Timer && slot.case.state() == &CaseState::Running {
                    slot.timers.remove(&item.work_item);
                    self.reindex(&slot);
                }
                Ok(false)
            }
        }
    }

    /// Applies `action` to case `case` and commits it.
    async fn act(&self, case: CaseId, action: Action) -> Result<Vec<Event>, EngineError> {
        let slot = self.slot(case).await?;
        let mut slot = slot.lock().await;
        self.act_locked(&mut slot, action).await
    }

    /// Applies `action` to a locked slot and commits it.
    async fn act_locked(&self, slot: &mut Slot, action: Action) -> Result<Vec<Event>, EngineError> {
        let at_ms = self.inner.clock.now_ms();
        let events = slot.act(&action, at_ms)?;
        let entry = Entry {
            at_ms,
            action,
            events,
        };
        let committed = match self.record(slot, &entry) {
            Ok(record) => self
                .inner
                .committer
                .append(vec![record])
                .await
                .map_err(Into::into),
            Err(e) => Err(e),
        };
        if let Err(e) = committed {
            self.rebuild(slot);
            return Err(e);
        }
        self.reindex(slot);
        Ok(entry.events)
    }

    /// Encodes `entry` as the slot's next record, with a snapshot when one is due.
    fn record(&self, slot: &mut Slot, entry: &Entry) -> Result<Record, EngineError> {
        let mut record = entry.to_record(slot.id, slot.next_seq)?;
        slot.next_seq += 1;
        slot.since_snapshot += 1;
        if slot.since_snapshot >= self.inner.config.snapshot_every || slot.case.state().is_final() {
            let image = serde_json::to_vec(&slot.image()).map_err(|source| StoreError::Encode {
                case: slot.id,
                seq: record.seq,
                source,
            })?;
            record.snapshot = Some(image);
            slot.since_snapshot = 0;
        }
        Ok(record)
    }

    /// After a failed commit: puts the slot back to what the store holds, which is the
    /// acknowledged state (a failed batch writes nothing).
    fn rebuild(&self, slot: &mut Slot) {
        let registry = read(&self.inner.registry);
        // If the store cannot be read either, the slot stays ahead of the store until the
        // next restart recovers from the store, which is the truth.
        if let Ok(fresh) = self
            .inner
            .store
            .read_latest(slot.id)
            .map_err(EngineError::from)
            .and_then(|log| recover(&registry, log))
        {
            *slot = fresh;
        }
    }

    /// Brings the indexes up to date after a commit, and lets an ended case go from
    /// memory. A task already waiting for this slot's lock still gets the old slot,
    /// which holds the final state: its command is refused, as on a loaded one.
    fn reindex(&self, slot: &Slot) {
        lock(&self.inner.index).set(slot.id, index::keys(slot));
        if slot.case.state().is_final() {
            write(&self.inner.cases).insert(slot.id, Resident::ended(slot));
        }
    }

    /// The slot of `case` if it is in flight, `None` if it has ended.
    fn live_slot(&self, case: CaseId) -> Result<Option<SlotLock>, EngineError> {
        match read(&self.inner.cases).get(&case) {
            None => Err(EngineError::UnknownCase(case)),
            Some(Resident::Live(slot)) => Ok(Some(Arc::clone(slot))),
            Some(Resident::Ended(_)) => Ok(None),
        }
    }

    /// The slot of `case`: the live one, or for an ended case one loaded from its final
    /// snapshot (not kept).
    async fn slot(&self, case: CaseId) -> Result<SlotLock, EngineError> {
        if let Some(slot) = self.live_slot(case)? {
            return Ok(slot);
        }
        let log = self.blocking(move |store| store.read_latest(case)).await?;
        let slot = recover(&read(&self.inner.registry), log)?;
        Ok(Arc::new(tokio::sync::Mutex::new(slot)))
    }

    // ---- queries -------------------------------------------------------------------

    /// Case `case`.
    pub async fn case(&self, case: CaseId) -> Result<CaseView, EngineError> {
        let slot = self.slot(case).await?;
        let slot = slot.lock().await;
        Ok(query::case_view(&slot))
    }

    /// The cases `query` selects, one page.
    pub async fn cases(&self, query: &CaseQuery) -> Result<Page<CaseView, CaseId>, EngineError> {
        if let Some(state) = query.state.as_deref()
            && !CASE_STATES.contains(&state)
        {
            return Err(EngineError::InvalidRequest(format!(
                "unknown case state `{state}` (expected one of {})",
                CASE_STATES.join(", ")
            )));
        }
        let limit = self.page_limit(query.limit)?;
        let after = query.after.map_or(0, |c| c.0 + 1);
        // Ended cases are matched on their summary, and only loaded if they match.
        let candidates: Vec<CaseId> = read(&self.inner.cases)
            .range(CaseId(after)..)
            .filter(|(_, resident)| match resident {
                Resident::Live(_) => true,
                Resident::Ended(summary) => query.matches_summary(&summary.spec_id, summary.state),
            })
            .map(|(id, _)| *id)
            .collect();
        let mut items = Vec::new();
        for case in candidates {
            let Ok(slot) = self.slot(case).await else {
                continue;
            };
            let slot = slot.lock().await;
            if query.matches(&slot) {
                if items.len() == limit {
                    let next = items.last().map(|v: &CaseView| v.id);
                    return Ok(Page { items, next });
                }
                items.push(query::case_view(&slot));
            }
        }
        Ok(Page { items, next: None })
    }

    /// The work items `query` selects (live and ended), one page.
    pub async fn work_items(
        &self,
        query: &WorkItemQuery,
    ) -> Result<Page<WorkItemView, ItemRef>, EngineError> {
        let limit = self.page_limit(query.limit)?;
        let first = query.after.map_or(CaseId(0), |after| after.case);
        let slots: Vec<SlotLock> = match query.case {
            Some(case) => vec![self.slot(case).await?],
            // Across cases, only the cases in flight are searched (see `WorkItemQuery`).
            None => read(&self.inner.cases)
                .range(first..)
                .filter_map(|(_, resident)| match resident {
                    Resident::Live(slot) => Some(Arc::clone(slot)),
                    Resident::Ended(_) => None,
                })
                .collect(),
        };
        let mut items = Vec::new();
        for slot in slots {
            let slot = slot.lock().await;
            for view in query.select(&slot) {
                if items.len() == limit {
                    let next = items.last().map(|v: &WorkItemView| ItemRef {
                        case: v.case,
                        work_item: v.id,
                    });
                    return Ok(Page { items, next });
                }
                items.push(view);
            }
        }
        Ok(Page { items, next: None })
    }

    /// Work item `work_item` of case `case`, live or ended.
    pub async fn work_item(
        &self,
        case: CaseId,
        work_item: WorkItemId,
    ) -> Result<WorkItemView, EngineError> {
        let slot = self.slot(case).await?;
        let slot = slot.lock().await;
        let info = slot
            .items
            .get(&work_item)
            .ok_or(EngineError::UnknownWorkItem { case, work_item })?;
        Ok(query::item_view(&slot, work_item, info))
    }

    /// Every entry of case `case`'s log, as acknowledged, oldest first.
    pub async fn history(&self, case: CaseId) -> Result<Vec<HistoryEntry>, EngineError> {
        // Taking a live case's lock waits for a commit in flight, so the history is
        // current. An ended case has none, and its log is read without loading it.
        let live = self.live_slot(case)?;
        let _in_order = match &live {
            Some(slot) => Some(slot.lock().await),
            None => None,
        };
        let records = self.blocking(move |store| store.read_case(case)).await?;
        records
            .iter()
            .map(|record| {
                let entry = Entry::from_record(record)?;
                Ok(HistoryEntry {
                    seq: record.seq,
                    at_ms: entry.at_ms,
                    action: entry.action,
                    events: entry.events,
                })
            })
            .collect()
    }

    fn page_limit(&self, limit: Option<usize>) -> Result<usize, EngineError> {
        let max = self.inner.config.page_max;
        match limit {
            None => Ok(max),
            Some(0) => Err(EngineError::InvalidRequest(
                "a page limit must be at least 1".to_owned(),
            )),
            Some(n) => Ok(n.min(max)),
        }
    }

    // ---- operations ----------------------------------------------------------------

    /// Writes a consistent copy of the store to a new database at `dest` while the engine
    /// keeps serving. The copy holds every batch acknowledged before the backup began.
    pub async fn backup(&self, dest: &Path) -> Result<(), EngineError> {
        let dest = dest.to_path_buf();
        self.blocking(move |store| store.backup(&dest)).await
    }

    /// Runs a blocking store call off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || call(store.as_ref()))
            .await
            .map_err(|e| EngineError::Join(e.to_string()))?
            .map_err(EngineError::from)
    }

    /// Cases whose whole state is in memory: the running and suspended ones.
    pub fn cases_in_flight(&self) -> usize {
        read(&self.inner.cases)
            .values()
            .filter(|r| matches!(r, Resident::Live(_)))
            .count()
    }
}

/// Rebuilds a case from its log: the latest snapshot, then every record after it
/// re-applied and checked against its stored events.
fn recover(registry: &Registry, log: CaseLog) -> Result<Slot, EngineError> {
    let case = log.case;
    let broken = |seq: u64, reason: String| EngineError::Recovery { case, seq, reason };
    let mut records = log.records.into_iter();
    let mut slot = match log.snapshot {
        Some((seq, bytes)) => {
            let image: SlotImage = serde_json::from_slice(&bytes)
                .map_err(|e| broken(seq, format!("snapshot does not decode: {e}")))?;
            let spec = registry.get(&image.spec.id, Some(image.spec.version))?;
            Slot::from_image(case, seq, Arc::clone(&spec.compiled), image)
        }
        None => {
            let Some(first) = records.next() else {
                return Err(broken(0, "the case has no records".to_owned()));
            };
            let entry = Entry::from_record(&first)?;
            let Action::Launch {
                spec,
                data,
                seed,
                limits,
            } = &entry.action
            else {
                return Err(broken(0, "the first record is not a launch".to_owned()));
            };
            let version = registry.get(&spec.id, Some(spec.version))?;
            let (mut slot, events) = Slot::launch(
                case,
                spec.clone(),
                Arc::clone(&version.compiled),
                data.clone(),
                *seed,
                *limits,
                entry.at_ms,
            )
            .map_err(|e| broken(0, format!("launch no longer succeeds: {e}")))?;
            if events != entry.events {
                return Err(broken(0, "launch gives different events".to_owned()));
            }
            slot.next_seq = 1;
            slot.since_snapshot = 1;
            slot
        }
    };
    for record in records {
        let entry = Entry::from_record(&record)?;
        let events = slot
            .act(&entry.action, entry.at_ms)
            .map_err(|e| broken(record.seq, format!("action is refused on replay: {e}")))?;
        if events != entry.events {
            return Err(broken(
                record.seq,
                "replay gives different events".to_owned(),
            ));
        }
        slot.next_seq = record.seq + 1;
        slot.since_snapshot += 1;
    }
    Ok(slot)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // A panic while holding these locks would be a bug in a few lines of map code; the
    // maps stay consistent either way, so a poisoned lock is used as is.
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
