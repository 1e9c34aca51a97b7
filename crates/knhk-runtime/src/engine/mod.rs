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
mod observe;
mod query;
mod slot;
mod specs;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use knhk_expr::CelEvaluator;
use knhk_kernel::{CaseState, Command, CommandError, Event, Limits, WorkItemId};
use knhk_model::{Evaluator, ValidSpec};
use serde_json::Value;

use crate::clock::Clock;
use crate::commit::{CommitError, Committer, CommitterConfig};
use crate::entry::{Action, Entry, STORED_NESTING_MAX};
use crate::metrics::{EngineMetrics, MetricsConfig};
use crate::store::{CaseId, CaseLog, Record, Store, StoreError};
use crate::trace::CaseTrace;
use tracing::{Instrument, Span};

pub use error::{EngineError, Quarantine};
pub use index::{ClaimTarget, ItemRef};
pub use query::{
    CASE_STATES, CaseQuery, CaseView, HistoryEntry, Listed, Page, WorkItemQuery, WorkItemView,
};
pub use slot::{ItemInfo, Lease, Resourcing};
pub use specs::{BrokenSpec, SpecCaps, SpecVersion};

use index::{Due, Index};
use observe::{Collector, census, transitions};
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
    /// Caps on the specifications registration may store.
    pub spec_caps: SpecCaps,
    /// The longest lease a claim may ask for, in ms: a lease is how long a worker that
    /// died keeps its work from others.
    pub lease_max_ms: u64,
    /// How metrics are labelled and sampled.
    pub metrics: MetricsConfig,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            limits: Limits::default(),
            snapshot_every: 64,
            page_max: 1000,
            committer: CommitterConfig::default(),
            spec_caps: SpecCaps::default(),
            lease_max_ms: 24 * 60 * 60 * 1000,
            metrics: MetricsConfig::default(),
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
    /// Its stored records cannot be loaded: it is shown with the reason and takes no
    /// commands.
    Quarantined(Quarantine),
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
    /// Why the store last failed to write, while it still cannot (see
    /// [`Engine::store_failure`]).
    store_failure: Mutex<Option<String>>,
    metrics: EngineMetrics,
}

impl Engine {
    /// Opens the engine on `store`, recovering every case in it. A case whose records
    /// cannot be loaded is quarantined with the reason (see [`Engine::quarantined`]) and
    /// the rest of the engine serves; only a store that cannot be read at all fails.
    /// Expressions are CEL, under `knhk-expr`'s default limits.
    pub fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Result<Engine, EngineError> {
        Engine::open_with(store, clock, config, Arc::new(CelEvaluator::default()))
    }

    /// [`Engine::open`] compiling every specification's expressions with `evaluator`.
    pub fn open_with(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
        evaluator: Arc<dyn Evaluator>,
    ) -> Result<Engine, EngineError> {
        let metrics = EngineMetrics::new(config.metrics);
        let started = Instant::now();
        let (registry, residents) = load(store.as_ref(), evaluator, &metrics)?;
        registry.observe();
        let mut index = Index::default();
        let mut cases = BTreeMap::new();
        for resident in residents {
            let (id, resident) = match resident {
                Ok(mut slot) => {
                    index.set(slot.id, index::keys(&slot));
                    slot.census = census(&slot);
                    metrics.census_moved(None, slot.census);
                    (slot.id, Resident::of(slot))
                }
                Err(quarantine) => (quarantine.id, Resident::Quarantined(quarantine)),
            };
            cases.insert(id, resident);
        }
        metrics.recovered(cases.len(), started.elapsed());
        let next_case = cases.keys().next_back().map_or(1, |id: &CaseId| id.0 + 1);
        let committer = Committer::start_measured(
            Arc::clone(&store),
            config.committer,
            metrics.commit.clone(),
        )?;
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
                store_failure: Mutex::new(None),
                metrics,
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
        // Compiling a large specification takes a while: not on an async worker.
        let engine = self.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            read(&engine.inner.registry).prepare(spec, engine.inner.config.spec_caps)
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))??;
        let version = match prepared {
            Prepared::Existing(version) => return Ok(version),
            Prepared::New(version) => version,
        };
        let stored = Arc::clone(&version);
        let put = self
            .blocking(move |store| {
                store.put_spec(&stored.spec_ref.id, stored.spec_ref.version, &stored.json)
            })
            .await;
        self.noted(put)?;
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
        let site = crate::trace::ActionSite {
            case: id,
            spec_id: &spec.spec_ref.id,
            trace: None,
        };
        let span = crate::trace::action_span(&site, "knhk launch", None, None);
        self.launch_as(id, spec, data).instrument(span).await
    }

    /// [`Engine::launch`] of case `id`, in its launch span.
    async fn launch_as(
        &self,
        id: CaseId,
        spec: Arc<SpecVersion>,
        data: Value,
    ) -> Result<CaseView, EngineError> {
        // The launch span is the case's trace from now on (see crate::trace).
        let trace = CaseTrace::of(&tracing::Span::current());
        // Any fixed function of the id would do: the seed is logged with the launch.
        let seed = id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let at_ms = self.inner.clock.now_ms();
        let limits = self.inner.config.limits;
        // Unwind safety: a panicking launch leaves nothing behind but its own slot.
        let launched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Slot::launch(id, &spec, data.clone(), seed, limits, at_ms)
        }));
        let (mut slot, events) = launched.unwrap_or_else(|panic| {
            Err(EngineError::Internal {
                case: id,
                message: format!("panic while launching: {}", panic_message(panic.as_ref())),
            })
        })?;
        let entry = Entry {
            at_ms,
            action: Action::Launch {
                spec: spec.spec_ref.clone(),
                data,
                seed,
                limits: self.inner.config.limits,
                trace,
            },
            events,
        };
        slot.trace = trace;
        let record = self.record(&mut slot, &entry)?;
        self.commit(vec![record], &[Span::current()]).await?;
        slot.metrics.launched();
        slot.count(&entry.events, at_ms);
        let view = query::case_view(&slot);
        self.reindex(&mut slot);
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
        let lease_max_ms = self.inner.config.lease_max_ms;
        if max == 0 || lease_ms == 0 || lease_ms > lease_max_ms {
            return Err(EngineError::InvalidRequest(format!(
                "a claim needs max >= 1 and lease_ms from 1 to {lease_max_ms}"
            )));
        }
        // Concurrent claims see the same oldest items. A case another request holds is
        // skipped rather than waited for (its lock is held across a commit, so waiting
        // would queue every claim behind the first), and a few more candidates than asked
        // for leave room for the skips. Never waiting also means no lock-order deadlock.
        let candidates = lock(&self.inner.index).claimable(target, max.saturating_add(CLAIM_SLACK));
        let mut locked = Vec::new();
        let mut records = Vec::new();
        let mut claimed = Vec::new();
        let mut spans = Vec::new();
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
            let span = slot.span(&action);
            // Another claim or a command may have taken the item since the index was
            // read: it is simply not claimed.
            let Ok(events) = span.in_scope(|| self.apply(slot, &action, at_ms)) else {
                continue;
            };
            // Kept open until the commit answers, which all claims share.
            spans.push(span);
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
        if let Err(e) = self.commit(records, &spans).await {
            for (_, slot) in &mut locked {
                self.rebuild(slot);
            }
            return Err(e);
        }
        let mut views = Vec::with_capacity(claimed.len());
        for (_, slot) in &mut locked {
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
        self.inner.metrics.expired(fired.timers, fired.leases);
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
                engine.heal_store().await;
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
            // A panic: the case has been failed already.
            Err(EngineError::Internal { .. }) => Ok(true),
            Err(EngineError::Command { source, .. }) if fails_the_case(&source) => {
                // Nobody sent this command who could correct it: the case fails, with
                // the reason, rather than keep a timer that can never fire.
                let reason = format!("the timer of work item {}: {source}", item.work_item.0);
                self.fail_case(&mut slot, reason).await?;
                Ok(true)
            }
            Err(_) => {
                // Overtaken since the index was read: the item ended or was released, or
                // the case stopped running. In a running case, a timer its item no longer
                // takes is disarmed; a suspended case keeps its timers for its resumption.
                if kind == Due::Timer && slot.case.state() == &CaseState::Running {
                    slot.timers.remove(&item.work_item);
                    self.reindex(&mut slot);
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

    /// Applies `action` to a locked slot and commits it. When something fails in itself
    /// on the way (a panic in the kernel or a library, the expression library's own
    /// error), the case is failed with the reason, durably, and the caller gets
    /// [`EngineError::Internal`]: retrying would only meet the same failure.
    async fn act_locked(&self, slot: &mut Slot, action: Action) -> Result<Vec<Event>, EngineError> {
        let span = slot.span(&action);
        self.act_traced(slot, action).instrument(span).await
    }

    /// [`Engine::act_locked`] in the action's span.
    async fn act_traced(&self, slot: &mut Slot, action: Action) -> Result<Vec<Event>, EngineError> {
        let reason = match self.commit_action(slot, action).await {
            Err(EngineError::Internal { message, .. }) => message,
            Err(EngineError::Command { source, .. })
                if matches!(*source, CommandError::ExpressionLibrary { .. }) =>
            {
                source.to_string()
            }
            other => return other,
        };
        self.fail_case(slot, reason.clone()).await?;
        Err(EngineError::Internal {
            case: slot.id,
            message: reason,
        })
    }

    /// Fails the case of a locked slot with `reason` (a [`Command::FailCase`] like any
    /// other command, so that replay repeats it).
    async fn fail_case(&self, slot: &mut Slot, reason: String) -> Result<(), EngineError> {
        tracing::error!(case = slot.id.0, %reason, "case failed");
        let action = Action::Command {
            command: Command::FailCase { message: reason },
            worker: None,
        };
        self.commit_action(slot, action).await.map(drop)
    }

    /// Applies `action` to a locked slot and commits it, as it is.
    async fn commit_action(
        &self,
        slot: &mut Slot,
        action: Action,
    ) -> Result<Vec<Event>, EngineError> {
        let at_ms = self.inner.clock.now_ms();
        let events = self.apply(slot, &action, at_ms)?;
        let entry = Entry {
            at_ms,
            action,
            events,
        };
        let committed = match self.record(slot, &entry) {
            Ok(record) => self.commit(vec![record], &[Span::current()]).await,
            Err(e) => Err(e),
        };
        if let Err(e) = committed {
            self.rebuild(slot);
            return Err(e);
        }
        slot.count(&entry.events, at_ms);
        self.reindex(slot);
        Ok(entry.events)
    }

    /// Commits `records` through the group committer, noting on `spans` (the spans of
    /// the actions that wrote them) what the commit was: its records and how long the
    /// actions waited for it. Attributes of the action rather than a span of its own: a
    /// span per commit would cost as much again as the action's.
    async fn commit(&self, records: Vec<Record>, spans: &[Span]) -> Result<(), EngineError> {
        let traced = spans.iter().any(|span| !span.is_disabled());
        let count = i64::try_from(records.len()).unwrap_or(i64::MAX);
        let started = traced.then(Instant::now);
        let committed = self.inner.committer.append(records).await;
        if let Some(started) = started {
            let waited_us = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
            for span in spans {
                span.record("knhk.commit.records", count);
                span.record("knhk.commit.wait_us", waited_us);
            }
        }
        self.noted(committed.map_err(EngineError::from))
    }

    /// Passes on the outcome of a write, noting whether the store can write: a failure
    /// of the store itself is logged once, with its cause, and reported by
    /// [`Engine::store_failure`] until a write or [`Engine::heal_store`] succeeds.
    fn noted<T>(&self, written: Result<T, EngineError>) -> Result<T, EngineError> {
        let mut failure = lock(&self.inner.store_failure);
        match &written {
            Ok(_) if failure.is_some() => {
                *failure = None;
                tracing::info!("the store writes again");
            }
            Err(e) if failure.is_none() && store_failed(e) => {
                let cause = describe(e);
                tracing::error!(%cause, "the store cannot write; retrying until it can");
                *failure = Some(cause);
            }
            _ => {}
        }
        drop(failure);
        written
    }

    /// Why the store cannot write, while it cannot (a full disk, say): writes are
    /// refused meanwhile, and the engine retries by itself ([`Engine::spawn_timers`]).
    pub fn store_failure(&self) -> Option<String> {
        lock(&self.inner.store_failure).clone()
    }

    /// Tries [`Store::recover`] if the store failed to write; the engine's timer loop
    /// calls it on every tick.
    pub async fn heal_store(&self) {
        if lock(&self.inner.store_failure).is_none() {
            return;
        }
        let healed = self.blocking(|store| store.recover()).await;
        // A failed attempt is quiet: the failure was logged when it began.
        if healed.is_ok() {
            let _ = self.noted(healed);
        }
    }

    /// Encodes `entry` as the slot's next record, with a snapshot when one is due.
    /// Refuses a record or snapshot that the store could not read back.
    fn record(&self, slot: &mut Slot, entry: &Entry) -> Result<Record, EngineError> {
        let mut record = entry.to_record(slot.id, slot.next_seq)?;
        if slot.since_snapshot + 1 >= self.inner.config.snapshot_every
            || slot.case.state().is_final()
        {
            let image = serde_json::to_vec(&slot.image()).map_err(|source| StoreError::Encode {
                case: slot.id,
                seq: record.seq,
                source,
            })?;
            record.snapshot = Some(image);
        }
        let depth = [Some(&record.payload), record.snapshot.as_ref()]
            .into_iter()
            .flatten()
            .map(|bytes| crate::entry::nesting(bytes))
            .max()
            .unwrap_or(0);
        if depth > STORED_NESTING_MAX {
            return Err(EngineError::TooDeep {
                case: slot.id,
                seq: record.seq,
                depth,
                max: STORED_NESTING_MAX,
            });
        }
        slot.next_seq += 1;
        slot.since_snapshot = if record.snapshot.is_some() {
            0
        } else {
            slot.since_snapshot + 1
        };
        Ok(record)
    }

    /// [`Slot::act`], with a panic in the kernel or a library it calls caught: the slot
    /// is put back to what the store holds and the panic becomes
    /// [`EngineError::Internal`].
    fn apply(
        &self,
        slot: &mut Slot,
        action: &Action,
        at_ms: u64,
    ) -> Result<Vec<Event>, EngineError> {
        // Unwind safety: on a panic the slot is discarded and rebuilt from the store;
        // nothing else is touched inside the closure.
        let sample = self.inner.metrics.sample_start();
        let applied =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| slot.act(action, at_ms)));
        if let (Some(start), Ok(Ok(events))) = (sample, &applied) {
            self.inner.metrics.sample_end(start, transitions(events));
        }
        applied.unwrap_or_else(|panic| {
            self.rebuild(slot);
            Err(EngineError::Internal {
                case: slot.id,
                message: format!(
                    "panic while applying {}: {}",
                    action.name(),
                    panic_message(panic.as_ref())
                ),
            })
        })
    }

    /// After a failed commit: puts the slot back to what the store holds, which is the
    /// acknowledged state (a failed batch writes nothing).
    fn rebuild(&self, slot: &mut Slot) {
        let registry = read(&self.inner.registry);
        // If the store cannot be read either, the slot stays ahead of the store until the
        // next restart recovers from the store, which is the truth.
        let Ok(log) = self.inner.store.read_latest(slot.id) else {
            return;
        };
        match recover(&registry, log) {
            // The gauges still count the slot as it was before the failed action, which
            // is the state the store holds.
            Ok(fresh) => {
                *slot = Slot {
                    census: slot.census,
                    ..fresh
                }
            }
            Err(quarantine) => {
                drop(registry);
                self.inner.metrics.census_moved(slot.census.take(), None);
                self.quarantine(quarantine);
            }
        }
    }

    /// Brings the indexes up to date after a commit, and lets an ended case go from
    /// memory. A task already waiting for this slot's lock still gets the old slot,
    /// which holds the final state: its command is refused, as on a loaded one.
    fn reindex(&self, slot: &mut Slot) {
        lock(&self.inner.index).set(slot.id, index::keys(slot));
        let now = census(slot);
        let counted = std::mem::replace(&mut slot.census, now);
        self.inner.metrics.census_moved(counted, slot.census);
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
            Some(Resident::Quarantined(quarantine)) => {
                Err(EngineError::Quarantined(Box::new(quarantine.clone())))
            }
        }
    }

    /// The slot of `case`: the live one, or for an ended case one loaded from its final
    /// snapshot (not kept). An ended case that no longer loads is quarantined.
    async fn slot(&self, case: CaseId) -> Result<SlotLock, EngineError> {
        if let Some(slot) = self.live_slot(case)? {
            return Ok(slot);
        }
        let log = self.blocking(move |store| store.read_latest(case)).await?;
        let recovered = recover(&read(&self.inner.registry), log);
        match recovered {
            Ok(slot) => Ok(Arc::new(tokio::sync::Mutex::new(slot))),
            Err(quarantine) => Err(self.quarantine(quarantine)),
        }
    }

    /// Sets case `quarantine.id` aside, and returns the error its callers get.
    fn quarantine(&self, quarantine: Quarantine) -> EngineError {
        let error = EngineError::Quarantined(Box::new(quarantine.clone()));
        lock(&self.inner.index).set(quarantine.id, Vec::new());
        write(&self.inner.cases).insert(quarantine.id, Resident::Quarantined(quarantine));
        error
    }

    /// The cases set aside because their stored records cannot be loaded, by id.
    pub fn quarantined(&self) -> Vec<Quarantine> {
        read(&self.inner.cases)
            .values()
            .filter_map(|resident| match resident {
                Resident::Quarantined(quarantine) => Some(quarantine.clone()),
                _ => None,
            })
            .collect()
    }

    /// The stored specification versions that no longer load (their cases are
    /// quarantined).
    pub fn broken_specs(&self) -> Vec<BrokenSpec> {
        read(&self.inner.registry).broken()
    }

    // ---- queries -------------------------------------------------------------------

    /// Case `case`.
    pub async fn case(&self, case: CaseId) -> Result<CaseView, EngineError> {
        let slot = self.slot(case).await?;
        let slot = slot.lock().await;
        Ok(query::case_view(&slot))
    }

    /// The cases `query` selects, one page: cases and quarantined ones, by id.
    pub async fn cases(&self, query: &CaseQuery) -> Result<Page<Listed, CaseId>, EngineError> {
        if let Some(state) = query.state.as_deref()
            && !CASE_STATES.contains(&state)
        {
            return Err(EngineError::InvalidRequest(format!(
                "unknown case state `{state}` (expected one of {})",
                CASE_STATES.join(", ")
            )));
        }
        let limit = self.page_limit(query.limit)?;
        let Some(first) = query.after.map_or(Some(0), |c| c.0.checked_add(1)) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        // Ended cases are matched on their summary, and only loaded if they match.
        let candidates: Vec<(CaseId, Option<Quarantine>)> = read(&self.inner.cases)
            .range(CaseId(first)..)
            .filter_map(|(id, resident)| match resident {
                Resident::Live(_) => Some((*id, None)),
                Resident::Ended(summary) => query
                    .matches_summary(&summary.spec_id, summary.state)
                    .then_some((*id, None)),
                Resident::Quarantined(quarantine) => query
                    .matches_quarantine(quarantine)
                    .then(|| (*id, Some(quarantine.clone()))),
            })
            .collect();
        let mut items = Vec::new();
        for (case, quarantined) in candidates {
            let listed = match quarantined {
                Some(quarantine) => Listed::Quarantined(quarantine),
                None => {
                    let Ok(slot) = self.slot(case).await else {
                        continue;
                    };
                    let slot = slot.lock().await;
                    if !query.matches(&slot) {
                        continue;
                    }
                    Listed::Case(query::case_view(&slot))
                }
            };
            if items.len() == limit {
                let next = items.last().map(Listed::id);
                return Ok(Page { items, next });
            }
            items.push(listed);
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
                    Resident::Ended(_) | Resident::Quarantined(_) => None,
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

    /// The cases of specification `spec_id`, of any of its versions, after `after`, in
    /// ascending id order: one page of at most `limit` cases examined (at least 1). A
    /// quarantined case is left out, since its records do not load. `next` is where the
    /// following page starts, if more cases may follow; a page may hold fewer cases than
    /// it examined, even none. [`EngineError::UnknownSpec`] if no version of `spec_id`
    /// was ever registered.
    ///
    /// Unlike [`Engine::cases`] this loads no ended case: it reads the summaries the
    /// engine keeps, so that an export can walk every case of a specification cheaply.
    pub async fn spec_case_ids(
        &self,
        spec_id: &str,
        after: Option<CaseId>,
        limit: usize,
    ) -> Result<Page<CaseId, CaseId>, EngineError> {
        if !read(&self.inner.registry).knows(spec_id) {
            return Err(EngineError::UnknownSpec {
                id: spec_id.to_owned(),
                version: None,
            });
        }
        let Some(first) = after.map_or(Some(0), |c| c.0.checked_add(1)) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        // A live case's specification is in its slot, read under the slot's lock, which
        // is not taken while the map is locked: the candidates are collected first.
        let limit = limit.max(1);
        let candidates: Vec<(CaseId, Option<SlotLock>)> = read(&self.inner.cases)
            .range(CaseId(first)..)
            .filter_map(|(id, resident)| match resident {
                Resident::Live(slot) => Some((*id, Some(Arc::clone(slot)))),
                Resident::Ended(summary) => (summary.spec_id == spec_id).then_some((*id, None)),
                Resident::Quarantined(_) => None,
            })
            .take(limit.saturating_add(1))
            .collect();
        let more = candidates.len() > limit;
        let mut items = Vec::new();
        let mut last = None;
        for (id, live) in candidates.into_iter().take(limit) {
            last = Some(id);
            let matches = match live {
                Some(slot) => slot.lock().await.spec.id == spec_id,
                None => true,
            };
            if matches {
                items.push(id);
            }
        }
        Ok(Page {
            items,
            next: if more { last } else { None },
        })
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

    /// Registers the engine's metrics in `registry`: its metric families
    /// ([`crate::metrics`]), and what is read from the engine at each scrape (the
    /// OR-joins' decisions by specification, quarantined cases, broken specification
    /// versions). The collector holds the engine weakly, so it never keeps it alive.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.inner.metrics.register(registry);
        registry.register_collector(Box::new(Collector(Arc::downgrade(&self.inner))));
    }

    /// Cases whose whole state is in memory: the running and suspended ones.
    pub fn cases_in_flight(&self) -> usize {
        read(&self.inner.cases)
            .values()
            .filter(|r| matches!(r, Resident::Live(_)))
            .count()
    }
}

/// What [`check_store`] found in a store.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreReport {
    /// Specification versions stored.
    pub specs: usize,
    /// Cases stored.
    pub cases: usize,
    /// Records stored, over all cases.
    pub records: usize,
    /// The specification versions that no longer load.
    pub broken_specs: Vec<BrokenSpec>,
    /// The cases the engine would quarantine at start.
    pub quarantined: Vec<Quarantine>,
    /// Records that do not decode although their case recovers (they are before its
    /// latest snapshot: only its history would fail): case, sequence number, reason.
    pub unreadable_records: Vec<(CaseId, u64, String)>,
}

impl StoreReport {
    /// Whether anything is wrong.
    pub fn is_clean(&self) -> bool {
        self.broken_specs.is_empty()
            && self.quarantined.is_empty()
            && self.unreadable_records.is_empty()
    }
}

/// Checks everything `store` holds, as the engine would load it and more: every
/// specification version loads, every case recovers, and every record of every case
/// decodes. Reads only.
pub fn check_store(store: &dyn Store) -> Result<StoreReport, EngineError> {
    // A check measures nothing: its metrics are never registered.
    let metrics = EngineMetrics::new(MetricsConfig::default());
    let (registry, cases) = load(store, Arc::new(CelEvaluator::default()), &metrics)?;
    let mut report = StoreReport {
        specs: store.specs()?.len(),
        cases: cases.len(),
        broken_specs: registry.broken(),
        ..StoreReport::default()
    };
    for case in cases {
        let id = match case {
            Ok(slot) => slot.id,
            Err(quarantine) => {
                report.quarantined.push(quarantine);
                continue;
            }
        };
        let records = store.read_case(id)?;
        report.records += records.len();
        for record in &records {
            if let Err(e) = Entry::from_record(record) {
                report
                    .unreadable_records
                    .push((id, record.seq, describe(&e)));
            }
        }
    }
    Ok(report)
}

/// What `store` holds, loaded: the specification registry (with the versions that no
/// longer load set aside) and every case, recovered or quarantined, in id order.
fn load(
    store: &dyn Store,
    evaluator: Arc<dyn Evaluator>,
    metrics: &EngineMetrics,
) -> Result<(Registry, Vec<Result<Slot, Quarantine>>), EngineError> {
    let mut registry = Registry::new(evaluator, metrics.clone());
    for stored in store.specs()? {
        registry.load(stored);
    }
    let mut cases = Vec::new();
    store.for_each_latest(&mut |log| {
        cases.push(recover(&registry, log));
        true
    })?;
    Ok((registry, cases))
}

/// Rebuilds a case from its log: the latest snapshot, then every record after it
/// re-applied and checked against its stored events. A log that cannot be rebuilt,
/// even by a panic in the kernel or a library, gives the case's quarantine.
fn recover(registry: &Registry, log: CaseLog) -> Result<Slot, Quarantine> {
    let case = log.case;
    let mut at = Quarantine {
        id: case,
        spec: None,
        seq: 0,
        reason: String::new(),
    };
    let replayed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        replay(registry, log, &mut at)
    }));
    let reason = match replayed {
        Ok(Ok(slot)) => return Ok(slot),
        Ok(Err(reason)) => reason,
        Err(panic) => format!("replay panicked: {}", panic_message(panic.as_ref())),
    };
    Err(Quarantine { reason, ..at })
}

/// [`recover`]'s work, noting in `at` the specification and the record it has reached.
fn replay(registry: &Registry, log: CaseLog, at: &mut Quarantine) -> Result<Slot, String> {
    let mut records = log.records.into_iter();
    let mut slot = match log.snapshot {
        Some((seq, bytes)) => {
            at.seq = seq;
            let image: SlotImage = serde_json::from_slice(&bytes)
                .map_err(|e| format!("snapshot does not decode: {e}"))?;
            at.spec = Some(image.spec.clone());
            let spec = registry
                .get(&image.spec.id, Some(image.spec.version))
                .map_err(|e| e.to_string())?;
            Slot::from_image(log.case, seq, &spec, image)
                .map_err(|e| format!("snapshot does not fit: {e}"))?
        }
        None => {
            let first = records.next().ok_or("the case has no records")?;
            let entry = Entry::from_record(&first).map_err(|e| describe(&e))?;
            let Action::Launch {
                spec,
                data,
                seed,
                limits,
                trace,
            } = &entry.action
            else {
                return Err("the first record is not a launch".to_owned());
            };
            at.spec = Some(spec.clone());
            let version = registry
                .get(&spec.id, Some(spec.version))
                .map_err(|e| e.to_string())?;
            let (mut slot, events) = Slot::launch(
                log.case,
                &version,
                data.clone(),
                *seed,
                *limits,
                entry.at_ms,
            )
            .map_err(|e| format!("launch no longer succeeds: {e}"))?;
            if events != entry.events {
                return Err("launch gives different events".to_owned());
            }
            slot.next_seq = 1;
            slot.since_snapshot = 1;
            slot.trace = *trace;
            slot
        }
    };
    for record in records {
        at.seq = record.seq;
        let entry = Entry::from_record(&record).map_err(|e| describe(&e))?;
        let events = slot
            .act(&entry.action, entry.at_ms)
            .map_err(|e| format!("action is refused on replay: {e}"))?;
        if events != entry.events {
            return Err("replay gives different events".to_owned());
        }
        slot.next_seq = record.seq + 1;
        slot.since_snapshot += 1;
    }
    Ok(slot)
}

/// An error with its causes, `: `-separated (a decode error's own message is in its
/// source).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether a kernel refusal of a command the engine itself sent (a timer's) means the
/// case cannot go on: running its net failed, as opposed to the command having been
/// overtaken (the item ended, the case stopped).
fn fails_the_case(error: &CommandError) -> bool {
    matches!(
        error,
        CommandError::Predicate { .. }
            | CommandError::Expression { .. }
            | CommandError::ExpressionLibrary { .. }
            | CommandError::DataTooDeep { .. }
            | CommandError::InvalidOutput { .. }
            | CommandError::InstanceCount { .. }
            | CommandError::SubnetDepth { .. }
    )
}

/// Whether `error` is the store failing to write (as opposed to refusing a write).
fn store_failed(error: &EngineError) -> bool {
    let store = match error {
        EngineError::Store(e) => e,
        EngineError::Commit(CommitError::Store { source, .. }) => source.as_ref(),
        EngineError::Commit(CommitError::Closed) => return true,
        _ => return false,
    };
    // An injected failure stands for a real one: that is what it is injected for.
    matches!(
        store,
        StoreError::Database { .. } | StoreError::Open { .. } | StoreError::Injected { .. }
    )
}

/// What a caught panic said.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
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
