//! What the engine measures for operators, as Prometheus metrics.
//!
//! Owns the engine's metric families (cases by outcome, tasks completed, case durations,
//! the hot-path tick samples, work in flight, OR-join decisions, timer and lease
//! expiries, recovery, group commit) and the rule that keeps their label values bounded. The kernel keeps no clock
//! and no metrics: everything here is measured around it, by the engine. The families
//! live in a `prometheus-client` registry that the caller owns
//! ([`crate::engine::Engine::register_metrics`]); nothing is global.
//!
//! Label values never name a case or a work item. Specification ids are admitted as
//! label values up to [`MetricsConfig::spec_ids_max`] distinct ids, and task ids up to
//! [`MetricsConfig::task_ids_max`] per specification; the rest are counted under
//! `other`. So a scrape's size is bounded however many specifications are registered
//! (docs/observability.md gives the series count).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use knhk_kernel::{OrJoinProbe, OrJoinVerdict};
use knhk_model::Specification;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// The label value standing for every specification or task past the caps.
pub const OTHER: &str = "other";

/// How the engine's metrics are labelled and sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Distinct specification ids that get their own label value; the others are
    /// counted as `other`.
    pub spec_ids_max: usize,
    /// Distinct task ids per specification that get their own label value.
    pub task_ids_max: usize,
    /// One kernel command in this many is timed for `knhk_hot_path_ticks` (0: none).
    pub hot_path_sample_every: u64,
}

impl Default for MetricsConfig {
    fn default() -> MetricsConfig {
        MetricsConfig {
            spec_ids_max: 100,
            task_ids_max: 100,
            hot_path_sample_every: 64,
        }
    }
}

/// The upper bounds of `knhk_hot_path_ticks`: fine around the 8-tick budget, coarse
/// above it, where a sample includes data mapping and expressions.
const TICK_BUCKETS: [f64; 16] = [
    2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0, 16384.0,
    65536.0, 262144.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CaseLabels {
    spec_id: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TaskLabels {
    spec_id: String,
    task_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SpecLabel {
    spec_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DecisionLabels {
    spec_id: String,
    verdict: &'static str,
    source: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn case_duration_histogram() -> Histogram {
    // 10 ms to about 5 days.
    Histogram::new(exponential_buckets(0.01, 4.0, 15))
}

fn or_join_histogram() -> Histogram {
    // 1 µs to about 1 s.
    Histogram::new(exponential_buckets(0.000_001, 4.0, 11))
}

/// The states of a case in flight, as `knhk_cases_in_flight` labels them.
pub(crate) const IN_FLIGHT_STATES: [&str; 2] = ["running", "suspended"];

/// The statuses of a live work item, as `knhk_work_items` labels them.
pub(crate) const LIVE_STATUSES: [&str; 5] =
    ["enabled", "offered", "allocated", "started", "suspended"];

/// What one case in flight contributes to the gauges: its state and its live work items
/// by status (indexes into [`IN_FLIGHT_STATES`] and [`LIVE_STATUSES`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CaseCensus {
    pub(crate) state: usize,
    pub(crate) items: [i64; LIVE_STATUSES.len()],
}

/// The outcomes of an ended case, as `knhk_workflow_cases_total` labels them
/// (`CaseState::name` of the final states).
const ENDED: [&str; 4] = ["completed", "cancelled", "failed", "deadlocked"];

/// One specification's series (see [`EngineMetrics::spec`]). Cheap to clone: clones
/// share the values.
#[derive(Debug, Clone)]
pub(crate) struct SpecMetrics(Arc<SpecSeries>);

#[derive(Debug)]
struct SpecSeries {
    launched: Counter,
    /// By position in [`ENDED`].
    ended: [Ended; ENDED.len()],
    /// By task id: its own series, or the specification's `other` one past the cap.
    tasks: HashMap<String, Counter>,
}

/// The series of cases that ended one way.
#[derive(Debug)]
struct Ended {
    cases: Counter,
    duration: Histogram,
}

impl SpecMetrics {
    /// Notes a launched case.
    pub(crate) fn launched(&self) {
        self.0.launched.inc();
    }

    /// Notes a case that ended in state `outcome` after running for `ran_ms`.
    pub(crate) fn ended(&self, outcome: &str, ran_ms: u64) {
        if let Some(ended) = ENDED
            .iter()
            .position(|name| *name == outcome)
            .map(|k| &self.0.ended[k])
        {
            ended.cases.inc();
            ended.duration.observe(ran_ms as f64 / 1000.0);
        }
    }

    /// Notes a completion of task `task_id` (one of the specification's).
    pub(crate) fn task_completed(&self, task_id: &str) {
        if let Some(counter) = self.0.tasks.get(task_id) {
            counter.inc();
        }
    }
}

thread_local! {
    /// Kernel commands this thread has run since its last hot-path sample. Counted per
    /// thread: deciding whether to sample writes nothing that another core shares.
    static SINCE_SAMPLE: Cell<u64> = const { Cell::new(0) };
}

/// The engine's metric families. Cheap to clone: clones share the values.
#[derive(Debug, Clone)]
pub(crate) struct EngineMetrics {
    config: MetricsConfig,
    labels: Arc<Labels>,
    cases: Family<CaseLabels, Counter>,
    tasks_completed: Family<TaskLabels, Counter>,
    case_duration: HistogramFamily<CaseLabels>,
    hot_path_ticks: Histogram,
    ticks: quanta::Clock,
    cases_in_flight: Family<StateLabel, Gauge>,
    work_items: Family<StatusLabel, Gauge>,
    /// The gauges of `cases_in_flight` and `work_items`, by position in
    /// [`IN_FLIGHT_STATES`] and [`LIVE_STATUSES`]: moved on every commit without a lookup.
    in_flight: [Gauge; IN_FLIGHT_STATES.len()],
    live_items: [Gauge; LIVE_STATUSES.len()],
    expiries: Family<KindLabel, Counter>,
    or_join: OrJoinMetrics,
    recovery_seconds: Gauge<f64, AtomicU64>,
    recovered_cases: Gauge,
    pub(crate) commit: CommitMetrics,
}

/// The group committer's metrics (see [`crate::commit`]).
#[derive(Debug, Clone)]
pub struct CommitMetrics {
    seconds: Histogram,
    records: Histogram,
    failures: Counter,
}

impl Default for CommitMetrics {
    fn default() -> CommitMetrics {
        CommitMetrics {
            // 50 µs to about 1.6 s.
            seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            records: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            failures: Counter::default(),
        }
    }
}

impl CommitMetrics {
    /// Notes one batch: its records, how long the store took, whether it committed.
    pub(crate) fn batch(&self, records: usize, took: Duration, committed: bool) {
        self.records.observe(records as f64);
        self.seconds.observe(took.as_secs_f64());
        if !committed {
            self.failures.inc();
        }
    }
}

impl EngineMetrics {
    pub(crate) fn new(config: MetricsConfig) -> EngineMetrics {
        let cases_in_flight = Family::<StateLabel, Gauge>::default();
        let work_items = Family::<StatusLabel, Gauge>::default();
        let in_flight = IN_FLIGHT_STATES
            .map(|state| cases_in_flight.get_or_create_owned(&StateLabel { state }));
        let live_items =
            LIVE_STATUSES.map(|status| work_items.get_or_create_owned(&StatusLabel { status }));
        EngineMetrics {
            config,
            labels: Arc::new(Labels::new(config)),
            cases: Family::default(),
            tasks_completed: Family::default(),
            case_duration: Family::new_with_constructor(case_duration_histogram),
            hot_path_ticks: Histogram::new(TICK_BUCKETS),
            ticks: quanta::Clock::new(),
            cases_in_flight,
            work_items,
            in_flight,
            live_items,
            expiries: Family::default(),
            or_join: OrJoinMetrics::default(),
            recovery_seconds: Gauge::default(),
            recovered_cases: Gauge::default(),
            commit: CommitMetrics::default(),
        }
    }

    /// Registers every family in `registry`.
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "knhk_workflow_cases",
            "Cases launched, and cases ended by outcome (completed, cancelled, failed, deadlocked)",
            self.cases.clone(),
        );
        registry.register(
            "knhk_workflow_tasks_completed",
            "Task completions (a task's split produced its tokens)",
            self.tasks_completed.clone(),
        );
        registry.register_with_unit(
            "knhk_workflow_execution_duration",
            "Launch-to-end time of ended cases, by outcome",
            Unit::Seconds,
            self.case_duration.clone(),
        );
        registry.register(
            "knhk_hot_path_ticks",
            "Sampled TSC ticks of one kernel command divided by the transitions it fired \
             and completed (docs/observability.md)",
            self.hot_path_ticks.clone(),
        );
        registry.register(
            "knhk_cases_in_flight",
            "Cases in memory that have not ended, by state",
            self.cases_in_flight.clone(),
        );
        registry.register(
            "knhk_work_items",
            "Live work items, by status",
            self.work_items.clone(),
        );
        registry.register(
            "knhk_or_join_decisions",
            "OR-join decisions by verdict (unknown: the analysis ran out of budget) and by \
             source (a fresh analysis, or the cache of earlier verdicts)",
            self.or_join.decisions.clone(),
        );
        registry.register_with_unit(
            "knhk_or_join_analysis_duration",
            "Time of one OR-join analysis (decisions from the cache take none)",
            Unit::Seconds,
            self.or_join.seconds.clone(),
        );
        registry.register(
            "knhk_or_join_analysis_work",
            "Work units the OR-join analyses spent (the unit of the budget \
             limits.or_join_work_max: one backward step)",
            self.or_join.work.clone(),
        );
        registry.register(
            "knhk_expiries",
            "Timers that expired and leases that ran out, by kind",
            self.expiries.clone(),
        );
        registry.register_with_unit(
            "knhk_recovery_duration",
            "How long the last start took to recover every case from the store",
            Unit::Seconds,
            self.recovery_seconds.clone(),
        );
        registry.register(
            "knhk_recovery_cases",
            "Cases the last start recovered (in flight and ended)",
            self.recovered_cases.clone(),
        );
        registry.register_with_unit(
            "knhk_store_commit_duration",
            "Time of one group commit (one store transaction and its fsync)",
            Unit::Seconds,
            self.commit.seconds.clone(),
        );
        registry.register(
            "knhk_store_commit_batch_records",
            "Records per group commit",
            self.commit.records.clone(),
        );
        registry.register(
            "knhk_store_commit_failures",
            "Group commits the store failed (nothing of them was written)",
            self.commit.failures.clone(),
        );
        // Every label value that is always there, so that rates and alerts have a series
        // from the first scrape on (the in-flight gauges are created with the families).
        for kind in ["timer", "lease"] {
            drop(self.expiries.get_or_create(&KindLabel { kind }));
        }
    }

    /// The label value of specification `spec_id` (itself, or `other` past the cap).
    pub(crate) fn spec_label(&self, spec_id: &str) -> String {
        self.labels.spec(spec_id)
    }

    /// The probe that counts and times the OR-join decisions of specification
    /// `spec_id`, for its compiled versions.
    pub(crate) fn or_join_probe(&self, spec_id: &str) -> Arc<dyn OrJoinProbe> {
        Arc::new(SpecOrJoins {
            spec_id: self.spec_label(spec_id),
            metrics: self.or_join.clone(),
        })
    }

    /// The series of specification `spec`, looked up once (when a version is compiled
    /// or loaded) so that counting what its cases do takes no lookup and no lock.
    /// Versions of one id share their series.
    pub(crate) fn spec(&self, spec: &Specification) -> SpecMetrics {
        let spec_id = self.spec_label(&spec.id);
        let ended = ENDED.map(|outcome| {
            let labels = CaseLabels {
                spec_id: spec_id.clone(),
                outcome,
            };
            Ended {
                cases: self.cases.get_or_create_owned(&labels),
                duration: self.case_duration.get_or_create_owned(&labels),
            }
        });
        let task = |task_id: &str| {
            let (spec_id, task_id) = self.labels.task(&spec.id, task_id);
            self.tasks_completed
                .get_or_create_owned(&TaskLabels { spec_id, task_id })
        };
        let tasks = spec
            .nets
            .iter()
            .flat_map(|net| &net.tasks)
            .map(|t| (t.id.clone(), task(&t.id)))
            .collect();
        SpecMetrics(Arc::new(SpecSeries {
            launched: self.cases.get_or_create_owned(&CaseLabels {
                spec_id,
                outcome: "launched",
            }),
            ended,
            tasks,
        }))
    }

    /// Notes timers and leases that expired in one pass.
    pub(crate) fn expired(&self, timers: usize, leases: usize) {
        for (kind, n) in [("timer", timers), ("lease", leases)] {
            if n > 0 {
                self.expiries
                    .get_or_create(&KindLabel { kind })
                    .inc_by(n as u64);
            }
        }
    }

    /// Notes a finished recovery.
    pub(crate) fn recovered(&self, cases: usize, took: Duration) {
        self.recovery_seconds.set(took.as_secs_f64());
        self.recovered_cases
            .set(i64::try_from(cases).unwrap_or(i64::MAX));
    }

    /// Whether to time the next kernel command: one in
    /// [`MetricsConfig::hot_path_sample_every`] of those a thread runs. Returns the start
    /// tick if so.
    pub(crate) fn sample_start(&self) -> Option<u64> {
        let every = self.config.hot_path_sample_every;
        if every == 0 {
            return None;
        }
        let due = SINCE_SAMPLE.with(|since| {
            let next = since.get() + 1;
            since.set(if next >= every { 0 } else { next });
            next >= every
        });
        due.then(|| self.ticks.raw())
    }

    /// Ends a sample begun at tick `start` of a command that fired and completed
    /// `transitions` transitions (none: nothing is recorded).
    pub(crate) fn sample_end(&self, start: u64, transitions: usize) {
        let end = self.ticks.raw();
        if transitions > 0 {
            let ticks = end.saturating_sub(start) as f64 / transitions as f64;
            self.hot_path_ticks.observe(ticks);
        }
    }

    /// Moves the in-flight gauges from what a case contributed (`old`) to what it
    /// contributes now (`new`); `None` is nothing (not counted yet, or ended).
    pub(crate) fn census_moved(&self, old: Option<CaseCensus>, new: Option<CaseCensus>) {
        if old == new {
            return;
        }
        for (sign, census) in [(-1, old), (1, new)] {
            let Some(census) = census else { continue };
            self.in_flight[census.state].inc_by(sign);
            for (gauge, n) in self.live_items.iter().zip(census.items) {
                if n != 0 {
                    gauge.inc_by(sign * n);
                }
            }
        }
    }
}

/// The OR-join families, shared by every specification's probe.
#[derive(Debug, Clone)]
struct OrJoinMetrics {
    decisions: Family<DecisionLabels, Counter>,
    seconds: HistogramFamily<SpecLabel>,
    work: Family<SpecLabel, Counter>,
}

impl Default for OrJoinMetrics {
    fn default() -> OrJoinMetrics {
        OrJoinMetrics {
            decisions: Family::default(),
            seconds: Family::new_with_constructor(or_join_histogram),
            work: Family::default(),
        }
    }
}

/// One specification's [`OrJoinProbe`]: its label value, fixed when it is compiled.
#[derive(Debug)]
struct SpecOrJoins {
    spec_id: String,
    metrics: OrJoinMetrics,
}

impl SpecOrJoins {
    fn decided(&self, verdict: OrJoinVerdict, source: &'static str) {
        let labels = DecisionLabels {
            spec_id: self.spec_id.clone(),
            verdict: verdict.name(),
            source,
        };
        self.metrics.decisions.get_or_create(&labels).inc();
    }
}

impl OrJoinProbe for SpecOrJoins {
    fn cached(&self, verdict: OrJoinVerdict) {
        self.decided(verdict, "cache");
    }

    fn analysis(&self, analysis: &mut dyn FnMut() -> (OrJoinVerdict, u64)) {
        let started = Instant::now();
        let (verdict, work) = analysis();
        let took = started.elapsed();
        self.decided(verdict, "analysis");
        let labels = SpecLabel {
            spec_id: self.spec_id.clone(),
        };
        self.metrics
            .seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        self.metrics.work.get_or_create(&labels).inc_by(work);
    }
}

/// Which specification and task ids are label values of their own.
#[derive(Debug)]
struct Labels {
    config: MetricsConfig,
    admitted: Mutex<HashMap<String, HashSet<String>>>,
}

impl Labels {
    fn new(config: MetricsConfig) -> Labels {
        Labels {
            config,
            admitted: Mutex::new(HashMap::new()),
        }
    }

    fn spec(&self, spec_id: &str) -> String {
        let mut admitted = self
            .admitted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Labels::admit_spec(&mut admitted, spec_id, self.config.spec_ids_max)
    }

    fn task(&self, spec_id: &str, task_id: &str) -> (String, String) {
        let mut admitted = self
            .admitted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let spec = Labels::admit_spec(&mut admitted, spec_id, self.config.spec_ids_max);
        let task = match admitted.get_mut(spec_id) {
            Some(tasks) if tasks.contains(task_id) => task_id.to_owned(),
            Some(tasks) if tasks.len() < self.config.task_ids_max => {
                tasks.insert(task_id.to_owned());
                task_id.to_owned()
            }
            _ => OTHER.to_owned(),
        };
        (spec, task)
    }

    fn admit_spec(
        admitted: &mut HashMap<String, HashSet<String>>,
        spec_id: &str,
        max: usize,
    ) -> String {
        if admitted.contains_key(spec_id) {
            return spec_id.to_owned();
        }
        if admitted.len() < max {
            admitted.insert(spec_id.to_owned(), HashSet::new());
            return spec_id.to_owned();
        }
        OTHER.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_past_the_caps_are_other() {
        let labels = Labels::new(MetricsConfig {
            spec_ids_max: 2,
            task_ids_max: 1,
            hot_path_sample_every: 1,
        });
        assert_eq!(labels.spec("a"), "a");
        assert_eq!(labels.task("b", "t1"), ("b".to_owned(), "t1".to_owned()));
        assert_eq!(labels.spec("c"), OTHER);
        assert_eq!(labels.task("c", "t1"), (OTHER.to_owned(), OTHER.to_owned()));
        assert_eq!(labels.task("b", "t2"), ("b".to_owned(), OTHER.to_owned()));
        assert_eq!(labels.task("b", "t1"), ("b".to_owned(), "t1".to_owned()));
        assert_eq!(labels.spec("a"), "a");
    }

    #[test]
    fn the_census_moves_the_gauges_by_differences() {
        let metrics = EngineMetrics::new(MetricsConfig::default());
        let gauge = |state| {
            metrics
                .cases_in_flight
                .get_or_create(&StateLabel { state })
                .get()
        };
        let items = |status| {
            metrics
                .work_items
                .get_or_create(&StatusLabel { status })
                .get()
        };
        let running = CaseCensus {
            state: 0,
            items: [2, 0, 0, 1, 0],
        };
        metrics.census_moved(None, Some(running));
        metrics.census_moved(None, Some(running));
        assert_eq!(
            (gauge("running"), items("enabled"), items("started")),
            (2, 4, 2)
        );
        let suspended = CaseCensus {
            state: 1,
            items: [0, 0, 0, 0, 1],
        };
        metrics.census_moved(Some(running), Some(suspended));
        assert_eq!((gauge("running"), gauge("suspended")), (1, 1));
        assert_eq!((items("enabled"), items("suspended")), (2, 1));
        metrics.census_moved(Some(suspended), None);
        metrics.census_moved(Some(running), None);
        metrics.census_moved(None, None);
        assert_eq!(
            (gauge("running"), gauge("suspended"), items("enabled")),
            (0, 0, 0)
        );
    }
}
