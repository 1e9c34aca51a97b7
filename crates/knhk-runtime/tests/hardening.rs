//! Issue 9, at the engine: one case can fail, the engine cannot. A stored specification
//! or case that no longer loads is set aside with its reason while everything else
//! serves; a store that cannot write says so and heals by itself; registrations and
//! leases have caps; `check_store` names every problem of a store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{T0, engine_on, live_item, one_net, sequence};
use knhk_expr::CelEvaluator;
use knhk_kernel::{CaseState, Command, FailReason, Limits, WorkItemStatus};
use knhk_model::{Evaluator, ExprError, Expression, Scope};
use knhk_runtime::{
    Action, CaseId, CaseLog, ClaimTarget, Engine, EngineConfig, EngineError, Entry, ManualClock,
    MemoryStore, Record, SpecCaps, SpecRef, Store, StoreError, StoredSpec,
};
use serde_json::{Value, json};

/// A store that can be taken down: while it is down, every write fails as on a full disk
/// and [`Store::recover`] fails too.
#[derive(Debug, Default)]
struct Outage {
    inner: MemoryStore,
    down: AtomicBool,
}

impl Outage {
    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Injected {
                reason: "no space left on device".to_owned(),
            });
        }
        Ok(())
    }
}

impl Store for Outage {
    fn append(&self, batch: &[Record]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.append(batch)
    }
    fn read_case(&self, case: CaseId) -> Result<Vec<Record>, StoreError> {
        self.inner.read_case(case)
    }
    fn cases(&self) -> Result<Vec<CaseId>, StoreError> {
        self.inner.cases()
    }
    fn read_latest(&self, case: CaseId) -> Result<CaseLog, StoreError> {
        self.inner.read_latest(case)
    }
    fn for_each_latest(&self, visit: &mut dyn FnMut(CaseLog) -> bool) -> Result<(), StoreError> {
        self.inner.for_each_latest(visit)
    }
    fn put_spec(&self, id: &str, version: u64, json: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_spec(id, version, json)
    }
    fn get_spec(&self, id: &str, version: u64) -> Result<Option<String>, StoreError> {
        self.inner.get_spec(id, version)
    }
    fn specs(&self) -> Result<Vec<StoredSpec>, StoreError> {
        self.inner.specs()
    }
    fn backup(&self, dest: &std::path::Path) -> Result<(), StoreError> {
        self.inner.backup(dest)
    }
    fn recover(&self) -> Result<(), StoreError> {
        self.check()
    }
}

/// Polls `engine` until its store writes again, for up to ten seconds.
async fn until_healed(engine: &Engine) {
    for _ in 0..1000 {
        if engine.store_failure().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the store never healed: {:?}", engine.store_failure());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_write_is_reported_and_heals_by_itself() {
    let store = Arc::new(Outage::default());
    let (engine, _) = engine_on(store.clone(), EngineConfig::default());
    engine.register(sequence("seq", 2)).await.unwrap();
    let case = engine.launch("seq", None, json!({})).await.unwrap().id;
    let t0 = live_item(&engine, case, "t0").await;
    assert_eq!(engine.store_failure(), None);

    store.set_down(true);
    let start = Command::StartWorkItem { work_item: t0 };
    let error = engine.command(case, start.clone(), None).await.unwrap_err();
    assert!(matches!(error, EngineError::Commit(_)), "{error}");
    let failure = engine.store_failure().expect("the failure is reported");
    assert!(failure.contains("no space left on device"), "{failure}");
    // Nothing moved, and further writes keep failing while the store is down.
    let item = engine.work_item(case, t0).await.unwrap();
    assert_eq!(item.status, WorkItemStatus::Enabled);
    assert!(engine.launch("seq", None, json!({})).await.is_err());
    engine.heal_store().await;
    assert!(engine.store_failure().is_some());

    // Space comes back: the timer loop notices by itself, and writes go through again.
    store.set_down(false);
    let timers = engine.spawn_timers(Duration::from_millis(10));
    until_healed(&engine).await;
    timers.abort();
    engine.command(case, start, None).await.unwrap();
    let item = engine.work_item(case, t0).await.unwrap();
    assert_eq!(item.status, WorkItemStatus::Started);
}

/// A launch record of `case` on `spec`, as the engine writes one.
fn launch_record(case: u64, spec: &str, version: u64) -> Record {
    let entry = Entry {
        at_ms: T0,
        action: Action::Launch {
            spec: SpecRef {
                id: spec.to_owned(),
                version,
            },
            data: json!({}),
            seed: 1,
            limits: Limits::default(),
            trace: None,
        },
        events: Vec::new(),
    };
    entry.to_record(CaseId(case), 0).unwrap()
}

#[tokio::test]
async fn a_stored_specification_that_no_longer_loads_quarantines_only_its_cases() {
    let store = Arc::new(MemoryStore::new());
    let healthy = {
        let (engine, _) = engine_on(store.clone(), EngineConfig::default());
        engine.register(sequence("good", 1)).await.unwrap();
        engine.launch("good", None, json!({})).await.unwrap().id
    };
    // Written by an older knhk, or under looser limits: it no longer reads.
    store.put_spec("bad", 1, r#"{"id": "bad"}"#).unwrap();
    store.append(&[launch_record(7, "bad", 1)]).unwrap();

    let (engine, _) = engine_on(store.clone(), EngineConfig::default());
    let broken = engine.broken_specs();
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].spec_ref.to_string(), "bad v1");
    let quarantined = engine.quarantined();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].id, CaseId(7));
    assert!(
        quarantined[0]
            .reason
            .contains("stored specification bad version 1"),
        "{}",
        quarantined[0].reason
    );
    // The version is not usable, but its number is taken: a new text is version 2.
    let error = engine.launch("bad", Some(1), json!({})).await.unwrap_err();
    assert!(matches!(error, EngineError::StoredSpec { .. }), "{error}");
    let fixed = sequence("bad", 1);
    assert_eq!(engine.register(fixed).await.unwrap().spec_ref.version, 2);
    // Everything else goes on; new cases do not take the quarantined id.
    let t0 = live_item(&engine, healthy, "t0").await;
    let start = Command::StartWorkItem { work_item: t0 };
    engine.command(healthy, start, None).await.unwrap();
    let launched = engine.launch("bad", None, json!({})).await.unwrap();
    assert_eq!(launched.id, CaseId(8));
    assert_eq!(launched.state, CaseState::Running);
}

/// Regression (fuzz target `store_records`, issue "no request can crash knhk"): a
/// snapshot that decodes but does not fit its specification (a net, task or count that
/// is not there, damaged on disk or written for another version) made `Engine::open`
/// panic while it indexed the recovered case, so the server could not start. It is
/// quarantined, with the reason, and the engine opens.
#[tokio::test]
async fn a_snapshot_that_does_not_fit_its_specification_quarantines_its_case() {
    let store = Arc::new(MemoryStore::new());
    let config = EngineConfig {
        snapshot_every: 1,
        ..EngineConfig::default()
    };
    let case = {
        let (engine, _) = engine_on(store.clone(), config);
        engine.register(sequence("good", 2)).await.unwrap();
        engine.launch("good", None, json!({})).await.unwrap().id
    };
    let (seq, snapshot) = store.read_latest(case).unwrap().snapshot.unwrap();
    let snapshot: Value = serde_json::from_slice(&snapshot).unwrap();
    let damages: [(&str, Value); 4] = [
        ("/case/instances/0/net", json!(65536)),
        ("/case/instances/0/offers/len", json!(7)),
        ("/case/items/1/task_ix", json!(9)),
        ("/case/instances/0/marking/extra", json!([0])),
    ];
    for (pointer, value) in damages {
        let mut damaged = snapshot.clone();
        *damaged.pointer_mut(pointer).expect(pointer) = value;
        let copy = Arc::new(MemoryStore::new());
        copy.put_spec("good", 1, &store.get_spec("good", 1).unwrap().unwrap())
            .unwrap();
        let mut records = store.read_case(case).unwrap();
        records.truncate(seq as usize + 1);
        records[seq as usize].snapshot = Some(serde_json::to_vec(&damaged).unwrap());
        copy.append(&records).unwrap();

        let (engine, _) = engine_on(copy, config);
        let quarantined = engine.quarantined();
        assert_eq!(quarantined.len(), 1, "{pointer}");
        assert!(
            quarantined[0].reason.contains("snapshot does not fit"),
            "{pointer}: {}",
            quarantined[0].reason
        );
    }
}

#[tokio::test]
async fn registration_is_capped_by_ids_and_versions() {
    let config = EngineConfig {
        spec_caps: SpecCaps {
            specs_max: 2,
            versions_max: 2,
        },
        ..EngineConfig::default()
    };
    let (engine, _) = engine_on(Arc::new(MemoryStore::new()), config);
    engine.register(sequence("a", 1)).await.unwrap();
    engine.register(sequence("b", 1)).await.unwrap();
    let error = engine.register(sequence("c", 1)).await.unwrap_err();
    assert!(
        matches!(&error, EngineError::SpecLimit { id, max: 2, .. } if id == "c"),
        "{error}"
    );
    assert_eq!(
        engine
            .register(sequence("a", 2))
            .await
            .unwrap()
            .spec_ref
            .version,
        2
    );
    let error = engine.register(sequence("a", 3)).await.unwrap_err();
    assert!(matches!(error, EngineError::SpecLimit { .. }), "{error}");
    // The text of the latest version again is that version, not a new one.
    assert_eq!(
        engine
            .register(sequence("a", 2))
            .await
            .unwrap()
            .spec_ref
            .version,
        2
    );
    assert_eq!(engine.specs().len(), 3);
}

#[tokio::test]
async fn a_lease_longer_than_the_cap_is_refused() {
    let config = EngineConfig {
        lease_max_ms: 60_000,
        ..EngineConfig::default()
    };
    let (engine, _) = engine_on(Arc::new(MemoryStore::new()), config);
    engine.register(sequence("seq", 1)).await.unwrap();
    engine.launch("seq", None, json!({})).await.unwrap();
    let target = ClaimTarget::Task("t0".to_owned());
    for lease_ms in [u64::MAX, 60_001] {
        let error = engine.claim("w", &target, 1, lease_ms).await.unwrap_err();
        assert!(matches!(error, EngineError::InvalidRequest(_)), "{error}");
    }
    assert_eq!(
        engine.claim("w", &target, 1, 60_000).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn check_store_names_every_problem() {
    let store = Arc::new(MemoryStore::new());
    let (done, running) = {
        let (engine, _) = engine_on(store.clone(), EngineConfig::default());
        engine.register(sequence("seq", 1)).await.unwrap();
        let done = engine.launch("seq", None, json!({})).await.unwrap().id;
        let t0 = live_item(&engine, done, "t0").await;
        engine
            .command(done, Command::StartWorkItem { work_item: t0 }, None)
            .await
            .unwrap();
        let output = json!({});
        let complete = Command::CompleteWorkItem {
            work_item: t0,
            output,
        };
        engine.command(done, complete, None).await.unwrap();
        let running = engine.launch("seq", None, json!({})).await.unwrap().id;
        (done, running)
    };
    let clean = knhk_runtime::check_store(store.as_ref()).unwrap();
    assert!(clean.is_clean(), "{clean:?}");
    assert_eq!((clean.specs, clean.cases, clean.records), (1, 2, 4));

    // A copy where the ended case's first record is damaged (its final snapshot still
    // loads it), the running case's launch is damaged, and a specification is broken.
    let copy = MemoryStore::new();
    for spec in store.specs().unwrap() {
        copy.put_spec(&spec.id, spec.version, &spec.json).unwrap();
    }
    copy.put_spec("bad", 1, "not json").unwrap();
    let latest = store.read_latest(done).unwrap();
    let mut records = store.read_case(done).unwrap();
    records[0].payload = b"garbage".to_vec();
    let last = records.len() - 1;
    records[last].snapshot = latest.snapshot.map(|(_, bytes)| bytes);
    let mut launch = store.read_case(running).unwrap();
    launch[0].payload = b"{\"at_ms\": 1".to_vec();
    records.extend(launch);
    copy.append(&records).unwrap();

    let report = knhk_runtime::check_store(&copy).unwrap();
    assert!(!report.is_clean());
    assert_eq!(report.broken_specs.len(), 1);
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(report.quarantined[0].id, running);
    assert!(
        report.quarantined[0]
            .reason
            .contains("cannot decode record 0")
    );
    assert_eq!(report.unreadable_records.len(), 1);
    assert_eq!(
        (
            report.unreadable_records[0].0,
            report.unreadable_records[0].1
        ),
        (done, 0)
    );
}

/// How a [`Broken`] evaluator fails on expressions that mention `broken`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breakage {
    /// It panics, as a library with a bug would.
    Panics,
    /// It reports its own failure, as knhk-expr does for a panic of cel it caught.
    Fails,
}

/// CEL, except that expressions mentioning `broken` fail in the library itself.
#[derive(Debug)]
struct Broken(Breakage);

#[derive(Debug)]
struct BrokenExpression {
    inner: Arc<dyn Expression>,
    broken: Option<Breakage>,
}

impl Evaluator for Broken {
    fn compile(&self, source: &str) -> Result<Arc<dyn Expression>, ExprError> {
        let broken = source.contains("broken").then_some(self.0);
        let inner = CelEvaluator::default().compile(&source.replace("broken", "true"))?;
        Ok(Arc::new(BrokenExpression { inner, broken }))
    }
}

impl Expression for BrokenExpression {
    fn source(&self) -> &str {
        self.inner.source()
    }

    fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, ExprError> {
        match self.broken {
            Some(Breakage::Panics) => panic!("the expression library broke"),
            Some(Breakage::Fails) => Err(ExprError::Internal {
                source_text: "broken".to_owned(),
                message: "the expression library broke".to_owned(),
            }),
            None => self.inner.evaluate(scope),
        }
    }
}

/// `a` (atomic, with `timer` if given) chooses `b` when `predicate` holds, else ends.
fn choice(predicate: &str, timer: Option<Value>) -> knhk_model::ValidSpec {
    let mut a = json!({"id": "a", "kind": "atomic", "split": "xor"});
    if let Some(timer) = timer {
        a["timer"] = timer;
    }
    one_net(
        "choice",
        json!([a, {"id": "b", "kind": "atomic"}]),
        json!([{"from": "i", "to": "a"},
               {"from": "a", "to": "b", "predicate": predicate, "ordering": 0},
               {"from": "a", "to": "o", "default": true},
               {"from": "b", "to": "o"}]),
    )
}

fn broken_engine(store: Arc<dyn Store>, breakage: Breakage) -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let evaluator = Arc::new(Broken(breakage));
    let engine = Engine::open_with(store, clock.clone(), EngineConfig::default(), evaluator)
        .expect("engine opens");
    (engine, clock)
}

fn aborted(state: &CaseState) -> Option<&str> {
    match state {
        CaseState::Failed {
            reason: FailReason::Aborted { message },
        } => Some(message),
        _ => None,
    }
}

#[tokio::test]
async fn a_library_that_breaks_fails_the_case_not_the_engine() {
    for breakage in [Breakage::Panics, Breakage::Fails] {
        let store = Arc::new(MemoryStore::new());
        let (engine, _) = broken_engine(store.clone(), breakage);
        engine.register(choice("broken", None)).await.unwrap();
        let case = engine.launch("choice", None, json!({})).await.unwrap().id;
        let a = live_item(&engine, case, "a").await;
        engine
            .command(case, Command::StartWorkItem { work_item: a }, None)
            .await
            .unwrap();
        let complete = Command::CompleteWorkItem {
            work_item: a,
            output: json!({}),
        };
        let error = engine.command(case, complete, None).await.unwrap_err();
        assert!(
            matches!(&error, EngineError::Internal { case: c, message } if *c == case && message.contains("the expression library broke")),
            "{breakage:?}: {error}"
        );
        let state = engine.case(case).await.unwrap().state;
        assert!(aborted(&state).is_some(), "{breakage:?}: {state:?}");
        // The engine goes on, and the failure is durable: recovery replays it.
        let other = engine.launch("choice", None, json!({})).await.unwrap().id;
        drop(engine);
        let (engine, _) = broken_engine(store, breakage);
        assert_eq!(engine.case(case).await.unwrap().state, state);
        live_item(&engine, other, "a").await;
    }
}

#[tokio::test]
async fn a_launch_that_panics_is_refused_and_stores_nothing() {
    let store = Arc::new(MemoryStore::new());
    let (engine, _) = broken_engine(store.clone(), Breakage::Panics);
    // An empty routing task at the start evaluates the predicate during the launch.
    let spec = one_net(
        "at-once",
        json!([{"id": "route", "kind": "empty", "split": "xor"}, {"id": "b", "kind": "atomic"}]),
        json!([{"from": "i", "to": "route"},
               {"from": "route", "to": "b", "predicate": "broken", "ordering": 0},
               {"from": "route", "to": "o", "default": true},
               {"from": "b", "to": "o"}]),
    );
    engine.register(spec).await.unwrap();
    let error = engine.launch("at-once", None, json!({})).await.unwrap_err();
    assert!(matches!(error, EngineError::Internal { .. }), "{error}");
    assert!(store.cases().unwrap().is_empty());
    engine.register(sequence("seq", 1)).await.unwrap();
    engine.launch("seq", None, json!({})).await.unwrap();
}

#[tokio::test]
async fn a_timer_whose_net_cannot_go_on_fails_its_case() {
    let timer = json!({"trigger": "on_enabled", "duration_ms": 1_000, "on_expiry": "complete"});
    let (engine, clock) = engine_on(Arc::new(MemoryStore::new()), EngineConfig::default());
    // A predicate that cannot be evaluated on this data: a type error at run time.
    engine
        .register(choice("missing > 1", Some(timer)))
        .await
        .unwrap();
    let case = engine.launch("choice", None, json!({})).await.unwrap().id;
    clock.advance(1_000);
    assert_eq!(engine.fire_due().await.unwrap().timers, 1);
    let state = engine.case(case).await.unwrap().state;
    let reason = aborted(&state).unwrap_or_else(|| panic!("{state:?}"));
    assert!(reason.contains("timer of work item 1"), "{reason}");
    assert!(reason.contains("missing > 1"), "{reason}");
    // Nothing is left to fire.
    clock.advance(10_000);
    assert_eq!(engine.fire_due().await.unwrap().timers, 0);
}

#[tokio::test]
async fn whatever_the_store_writes_it_reads_back() {
    // A kernel bound above the ceiling, as a misconfigured engine would have: the last
    // check before the store still refuses what it could not read back.
    let mut config = EngineConfig::default();
    config.limits.data_depth_max = 1_000;
    let store = Arc::new(MemoryStore::new());
    let (engine, _) = engine_on(store.clone(), config);
    engine.register(sequence("seq", 1)).await.unwrap();
    let deep = (0..130).fold(json!(1), |value, _| json!([value]));
    let error = engine
        .launch("seq", None, json!({"deep": deep}))
        .await
        .unwrap_err();
    assert!(
        matches!(error, EngineError::TooDeep { max: 127, .. }),
        "{error}"
    );
    assert!(store.cases().unwrap().is_empty());
    let shallow = (0..100).fold(json!(1), |value, _| json!([value]));
    let case = engine
        .launch("seq", None, json!({"deep": shallow}))
        .await
        .unwrap()
        .id;
    drop(engine);
    let (engine, _) = engine_on(store, config);
    assert_eq!(engine.case(case).await.unwrap().state, CaseState::Running);
}
