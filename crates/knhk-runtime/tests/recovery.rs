//! Restarts: everything acknowledged comes back (cases, work items, leases, timers,
//! specification versions), overdue timers fire once, snapshots and replay agree, a log
//! that no longer replays is refused, backups (tar of the stopped directory, and online
//! under load) restore every case, and a restart in the middle of every pattern of the
//! kernel suite ends exactly as a run straight through.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{T0, all_cases, engine_on, example, items, live_item, one_net, sequence};
use knhk_kernel::{CaseState, Command, Event, WorkItemId, WorkItemStatus};
use knhk_model::DataType;
use knhk_runtime::{
    CaseId, CaseQuery, ClaimTarget, Engine, EngineConfig, EngineError, Entry, Fired, Listed,
    ManualClock, MemoryStore, RedbStore, StoragePaths, Store,
};
use serde_json::{Value, json};

/// An engine on the redb database in `dir`, with a clock at `now`.
fn open_dir(dir: &Path, now: u64, config: EngineConfig) -> (Engine, Arc<ManualClock>) {
    let store = StoragePaths::new(dir, None).open_store().unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let engine = Engine::open(Arc::new(store), clock.clone(), config).unwrap();
    (engine, clock)
}

/// Everything observable of every case, plus the registered specifications.
async fn everything(engine: &Engine) -> String {
    let mut out = String::new();
    for spec in engine.specs() {
        out += &format!("{} {}\n", spec.spec_ref, spec.json.len());
    }
    for case in all_cases(engine).await {
        let history = engine.history(case.id).await.unwrap();
        out += &format!(
            "{case:?}\n{:?}\n{:?}\n",
            items(engine, case.id).await,
            history
        );
    }
    out
}

fn start(work_item: WorkItemId) -> Command {
    Command::StartWorkItem { work_item }
}

fn complete(work_item: WorkItemId) -> Command {
    Command::CompleteWorkItem {
        work_item,
        output: json!({}),
    }
}

fn timed() -> knhk_model::ValidSpec {
    one_net(
        "timed",
        json!([
            {"id": "wait", "kind": "atomic", "service": "waiter",
             "timer": {"trigger": "on_enabled", "duration_ms": 60_000, "on_expiry": "complete"}},
            {"id": "after", "kind": "atomic"}
        ]),
        json!([{"from": "i", "to": "wait"}, {"from": "wait", "to": "after"},
               {"from": "after", "to": "o"}]),
    )
}

#[tokio::test]
async fn every_case_work_item_lease_and_timer_comes_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let before;
    {
        let (engine, clock) = open_dir(dir.path(), T0, EngineConfig::default());
        engine.register(sequence("seq", 3)).await.unwrap();
        engine.register(sequence("seq", 2)).await.unwrap();
        engine.register(timed()).await.unwrap();
        // Running, one item started.
        let a = engine
            .launch("seq", Some(1), json!({"k": "a"}))
            .await
            .unwrap()
            .id;
        let t0 = live_item(&engine, a, "t0").await;
        engine.command(a, start(t0), None).await.unwrap();
        // Completed.
        let b = engine.launch("seq", None, json!({})).await.unwrap().id;
        for task in ["t0", "t1"] {
            let item = live_item(&engine, b, task).await;
            engine.command(b, start(item), None).await.unwrap();
            engine.command(b, complete(item), None).await.unwrap();
        }
        // Cancelled, and suspended.
        let c = engine.launch("seq", None, json!({})).await.unwrap().id;
        engine.command(c, Command::CancelCase, None).await.unwrap();
        let d = engine.launch("seq", None, json!({})).await.unwrap().id;
        engine.command(d, Command::SuspendCase, None).await.unwrap();
        // A timer armed at T0 + 10 (due T0 + 60,010), and a leased item.
        clock.advance(10);
        engine.launch("timed", None, json!({})).await.unwrap();
        let leased = engine.launch("timed", None, json!({})).await.unwrap().id;
        let claimed = engine
            .claim("w1", &ClaimTarget::Service("waiter".to_owned()), 1, 30_000)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        // Offered and allocated items.
        let e = engine.launch("seq", None, json!({})).await.unwrap().id;
        let t0 = live_item(&engine, e, "t0").await;
        engine.offer(e, t0, vec!["ann".to_owned()]).await.unwrap();
        let f = engine.launch("seq", None, json!({})).await.unwrap().id;
        let t0 = live_item(&engine, f, "t0").await;
        engine.allocate(f, t0, "bob").await.unwrap();
        before = everything(&engine).await;
        assert_eq!(engine.case(leased).await.unwrap().state, CaseState::Running);
    }

    let (engine, clock) = open_dir(dir.path(), T0 + 10, EngineConfig::default());
    assert_eq!(everything(&engine).await, before);

    // The indexes came back too: the lease runs out, then the timers fire, once.
    clock.set(T0 + 10 + 30_000);
    assert_eq!(
        engine.fire_due().await.unwrap(),
        Fired {
            timers: 0,
            leases: 1
        }
    );
    clock.set(T0 + 10 + 60_000);
    assert_eq!(engine.fire_due().await.unwrap().timers, 2);
    assert_eq!(engine.fire_due().await.unwrap(), Fired::default());
    // New cases continue the ids.
    let next = engine.launch("seq", None, json!({})).await.unwrap().id;
    assert_eq!(next, CaseId(9));
    // The old case still runs on version 1 (three tasks).
    let case = engine.case(CaseId(1)).await.unwrap();
    assert_eq!(case.spec.version, 1);
    assert_eq!(case.data, json!({"k": "a"}));
}

#[tokio::test]
async fn an_overdue_timer_fires_once_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let case;
    {
        let (engine, _) = open_dir(dir.path(), T0, EngineConfig::default());
        engine.register(timed()).await.unwrap();
        case = engine.launch("timed", None, json!({})).await.unwrap().id;
    }
    // Down for a day: the timer is long overdue.
    let (engine, _) = open_dir(dir.path(), T0 + 86_400_000, EngineConfig::default());
    assert_eq!(engine.fire_due().await.unwrap().timers, 1);
    drop(engine);
    let (engine, _) = open_dir(dir.path(), T0 + 86_400_001, EngineConfig::default());
    assert_eq!(engine.fire_due().await.unwrap(), Fired::default());
    let expiries = engine
        .history(case)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| {
            h.events
                .iter()
                .any(|e| matches!(e, Event::WorkItemCompleted { .. }))
        })
        .count();
    assert_eq!(expiries, 1);
    live_item(&engine, case, "after").await;
}

#[tokio::test]
async fn snapshots_bound_replay_and_give_the_same_cases() {
    let store = Arc::new(MemoryStore::new());
    let config = EngineConfig {
        snapshot_every: 3,
        ..EngineConfig::default()
    };
    let (engine, _) = engine_on(store.clone(), config);
    engine.register(sequence("seq", 10)).await.unwrap();
    let case = engine.launch("seq", None, json!({})).await.unwrap().id;
    for k in 0..4 {
        let item = live_item(&engine, case, &format!("t{k}")).await;
        engine.command(case, start(item), None).await.unwrap();
        engine.command(case, complete(item), None).await.unwrap();
    }
    let before = everything(&engine).await;
    drop(engine);

    // 9 records: snapshots after records 2, 5 and 8, so nothing is left to replay.
    let log = store.read_latest(case).unwrap();
    assert_eq!(log.snapshot.as_ref().map(|s| s.0), Some(8));
    assert!(log.records.is_empty());
    let (engine, _) = engine_on(store.clone(), config);
    assert_eq!(everything(&engine).await, before);
    // Without snapshots, replay from launch gives the same.
    let (replayed, _) = engine_on(
        copy_without_snapshots(&store),
        EngineConfig {
            snapshot_every: u64::MAX,
            ..config
        },
    );
    assert_eq!(everything(&replayed).await, before);

    // An ended case is snapshotted at its end.
    let item = live_item(&engine, case, "t4").await;
    engine
        .command(case, Command::CancelCase, None)
        .await
        .unwrap();
    let log = store.read_latest(case).unwrap();
    assert_eq!(log.snapshot.as_ref().map(|s| s.0), Some(9));
    assert!(matches!(
        engine.command(case, start(item), None).await,
        Err(EngineError::WorkItemEnded { .. })
    ));
}

/// The records of `store`, into a new store without any snapshot.
fn copy_without_snapshots(store: &MemoryStore) -> Arc<MemoryStore> {
    let copy = Arc::new(MemoryStore::new());
    for spec in store.specs().unwrap() {
        copy.put_spec(&spec.id, spec.version, &spec.json).unwrap();
    }
    for case in store.cases().unwrap() {
        copy.append(&store.read_case(case).unwrap()).unwrap();
    }
    copy
}

#[tokio::test]
async fn a_log_that_no_longer_replays_quarantines_its_case_and_the_rest_serves() {
    let store = Arc::new(MemoryStore::new());
    let (engine, _) = engine_on(store.clone(), EngineConfig::default());
    engine.register(sequence("seq", 2)).await.unwrap();
    let case = engine.launch("seq", None, json!({})).await.unwrap().id;
    let t0 = live_item(&engine, case, "t0").await;
    drop(engine);
    // A forged entry claiming an event the kernel does not produce.
    let forged = Entry {
        at_ms: T0,
        action: knhk_runtime::Action::Command {
            command: start(t0),
            worker: None,
        },
        events: vec![Event::WorkItemStarted {
            work_item: WorkItemId(42),
        }],
    };
    store.append(&[forged.to_record(case, 1).unwrap()]).unwrap();
    let (engine, _) = engine_on(store, EngineConfig::default());
    let quarantined = engine.quarantined();
    assert_eq!(quarantined.len(), 1);
    let q = &quarantined[0];
    assert_eq!((q.id, q.seq), (case, 1));
    assert_eq!(q.spec.as_ref().map(|s| s.id.as_str()), Some("seq"));
    assert!(q.reason.contains("different events"), "{}", q.reason);
    // Commands and reads name the quarantine; listings show it.
    let error = engine.command(case, start(t0), None).await.unwrap_err();
    assert!(
        matches!(&error, EngineError::Quarantined(q) if q.id == case),
        "{error}"
    );
    assert!(matches!(
        engine.case(case).await,
        Err(EngineError::Quarantined(_))
    ));
    let query = CaseQuery {
        state: Some("quarantined".to_owned()),
        ..CaseQuery::default()
    };
    let listed = engine.cases(&query).await.unwrap().items;
    assert!(matches!(listed.as_slice(), [Listed::Quarantined(q)] if q.id == case));
    // Every other case goes on, and new ones do not reuse the id.
    let other = engine.launch("seq", None, json!({})).await.unwrap().id;
    assert!(other > case);
    let item = live_item(&engine, other, "t0").await;
    engine.command(other, start(item), None).await.unwrap();
}

#[tokio::test]
async fn a_tar_of_the_stopped_data_directory_restores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let before;
    {
        let (engine, _) = open_dir(&data, T0, EngineConfig::default());
        engine.register(sequence("seq", 2)).await.unwrap();
        for _ in 0..3 {
            let case = engine.launch("seq", None, json!({})).await.unwrap().id;
            let t0 = live_item(&engine, case, "t0").await;
            engine.command(case, start(t0), None).await.unwrap();
        }
        before = everything(&engine).await;
    }
    let archive = dir.path().join("backup.tar");
    let status = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&archive)
        .arg("-C")
        .arg(&data)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let elsewhere = dir.path().join("restored");
    std::fs::create_dir(&elsewhere).unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&elsewhere)
        .status()
        .unwrap();
    assert!(status.success());
    let (engine, _) = open_dir(&elsewhere, T0, EngineConfig::default());
    assert_eq!(everything(&engine).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_under_load_restores_every_case_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = open_dir(&dir.path().join("data"), T0, EngineConfig::default());
    engine.register(sequence("seq", 4)).await.unwrap();

    // Eight clients run cases to completion while the backup is taken.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (engine, stop) = (engine.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let case = engine.launch("seq", None, json!({})).await.unwrap().id;
                for k in 0..4 {
                    let item = live_item(&engine, case, &format!("t{k}")).await;
                    engine.command(case, start(item), None).await.unwrap();
                    engine.command(case, complete(item), None).await.unwrap();
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let copy = dir.path().join("online.redb");
    engine.backup(&copy).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    // The copy opens (recovery replays and checks every case) and each of its cases'
    // logs is a prefix of the live one: a consistent cut, nothing invented.
    let backup = Arc::new(RedbStore::open(&copy).unwrap());
    let restored = Engine::open(
        backup.clone(),
        Arc::new(ManualClock::new(T0)),
        EngineConfig::default(),
    )
    .unwrap();
    let cases = all_cases(&restored).await;
    assert!(!cases.is_empty(), "the backup holds cases");
    let live = all_cases(&engine).await;
    assert!(live.len() >= cases.len());
    let mut running = 0;
    for case in &cases {
        let copied = restored.history(case.id).await.unwrap();
        let original = engine.history(case.id).await.unwrap();
        assert_eq!(copied[..], original[..copied.len()], "{}", case.id);
        if case.state == CaseState::Running {
            running += 1;
            // Exactly one live item in a running sequence case.
            let live_items = items(&restored, case.id)
                .await
                .into_iter()
                .filter(|i| i.data.is_some())
                .count();
            assert_eq!(live_items, 1, "{}", case.id);
        }
    }
    assert!(running <= 8, "at most one case per client was in flight");
}

/// Runs `case` by always acting on its lowest live work item (start it, or complete it
/// with a value of each declared output's type), sending the specification's trigger
/// signals when nothing is live. Calls `between` after every command; the engine it
/// returns is used from then on.
async fn drive(
    mut engine: Engine,
    case: CaseId,
    mut between: impl FnMut(Engine) -> Engine,
) -> (Engine, Vec<String>) {
    let mut log = Vec::new();
    let mut signalled = false;
    for _ in 0..300 {
        if engine.case(case).await.unwrap().state.is_final() {
            break;
        }
        let live: Vec<_> = items(&engine, case)
            .await
            .into_iter()
            .filter(|i| i.data.is_some())
            .collect();
        let command = match live.first() {
            Some(item) if item.status == WorkItemStatus::Started => Command::CompleteWorkItem {
                work_item: item.id,
                output: outputs_of(&engine, case, &item.task).await,
            },
            Some(item) if item.status == WorkItemStatus::Enabled => start(item.id),
            Some(item) => Command::ResumeWorkItem { work_item: item.id },
            None if !signalled => {
                signalled = true;
                let Some(signal) = trigger_signal(&engine, case).await else {
                    break;
                };
                Command::Signal { name: signal }
            }
            None => break,
        };
        let result = engine.command(case, command.clone(), None).await;
        log.push(format!("{command:?} -> {result:?}"));
        if result.is_err() {
            break;
        }
        engine = between(engine);
    }
    (engine, log)
}

/// Launch data that gives a multiple-instance split something to split: the first array
/// variable of the root net gets three elements, as in the kernel's pattern tests.
fn launch_data(spec: &knhk_model::ValidSpec) -> Value {
    let first_array = spec
        .root()
        .variables
        .iter()
        .find(|v| v.data_type == DataType::Array);
    match first_array {
        Some(v) if v.name == "lines" => json!({"lines": [
            {"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}, {"sku": "C3", "qty": 5}
        ]}),
        Some(v) => json!({ v.name.clone(): ["ann", "bob", "cy"] }),
        None => json!({}),
    }
}

/// A value of each declared output's type for `task`.
async fn outputs_of(engine: &Engine, case: CaseId, task: &str) -> Value {
    let view = engine.case(case).await.unwrap();
    let spec = engine.spec(&view.spec.id, Some(view.spec.version)).unwrap();
    let mut output = serde_json::Map::new();
    for t in spec.spec.nets.iter().flat_map(|n| &n.tasks) {
        if t.id == task {
            for p in &t.outputs {
                let value = match p.data_type {
                    DataType::String => json!("x"),
                    DataType::Number | DataType::Integer => json!(1),
                    DataType::Boolean => json!(true),
                    DataType::Object => json!({}),
                    DataType::Array => json!([]),
                    _ => Value::Null,
                };
                output.insert(p.name.clone(), value);
            }
        }
    }
    Value::Object(output)
}

/// The first trigger signal of the case's specification, if it has one.
async fn trigger_signal(engine: &Engine, case: CaseId) -> Option<String> {
    let view = engine.case(case).await.unwrap();
    let spec = engine.spec(&view.spec.id, Some(view.spec.version)).unwrap();
    spec.spec
        .nets
        .iter()
        .flat_map(|n| &n.tasks)
        .find_map(|t| t.trigger.as_ref().map(|t| t.signal.clone()))
}

#[tokio::test]
async fn a_restart_after_every_command_of_every_pattern_changes_nothing() {
    let mut paths: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/patterns"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    paths.sort();
    assert_eq!(paths.len(), 43);
    let mut commands = 0;
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let spec = example(&format!("patterns/{name}"));
        let launch = async |engine: &Engine| {
            engine.register(spec.clone()).await.unwrap();
            engine
                .launch(&spec.id, None, launch_data(&spec))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .id
        };

        let (straight, _) = engine_on(Arc::new(MemoryStore::new()), EngineConfig::default());
        let case = launch(&straight).await;
        let (straight, straight_log) = drive(straight, case, |e| e).await;

        // Restarted after every command, from snapshots every other record.
        let store = Arc::new(MemoryStore::new());
        let config = EngineConfig {
            snapshot_every: 2,
            ..EngineConfig::default()
        };
        let (restarted, _) = engine_on(store.clone(), config);
        assert_eq!(launch(&restarted).await, case);
        let (restarted, restarted_log) = drive(restarted, case, |engine| {
            drop(engine);
            engine_on(store.clone(), config).0
        })
        .await;

        assert_eq!(restarted_log, straight_log, "{name}");
        assert_eq!(
            everything(&restarted).await,
            everything(&straight).await,
            "{name}"
        );
        commands += straight_log.len();
    }
    assert!(
        commands > 43 * 2,
        "the patterns were driven ({commands} commands)"
    );
}

/// One step of a script: a command built from the case's live work items.
type Step = fn(&[knhk_runtime::WorkItemView]) -> Command;

/// Runs `script` on a case of `spec` launched with `data`, restarting the engine after
/// every step if `restart`; returns everything observable at the end.
async fn scripted(spec: &str, data: Value, script: &[Step], restart: bool) -> String {
    let store = Arc::new(MemoryStore::new());
    let (mut engine, _) = engine_on(store.clone(), EngineConfig::default());
    engine.register(example(spec)).await.unwrap();
    let id = engine.specs()[0].spec_ref.id.clone();
    let case = engine.launch(&id, None, data).await.unwrap().id;
    for step in script {
        let live: Vec<_> = items(&engine, case)
            .await
            .into_iter()
            .filter(|i| i.data.is_some())
            .collect();
        engine.command(case, step(&live), None).await.unwrap();
        if restart {
            drop(engine);
            engine = engine_on(store.clone(), EngineConfig::default()).0;
        }
    }
    everything(&engine).await
}

#[tokio::test]
async fn added_instances_and_cancelled_tasks_survive_restarts() {
    fn first(live: &[knhk_runtime::WorkItemView], status: WorkItemStatus) -> WorkItemId {
        live.iter().find(|i| i.status == status).unwrap().id
    }
    fn of(live: &[knhk_runtime::WorkItemView], task: &str) -> WorkItemId {
        live.iter().find(|i| i.task == task).unwrap().id
    }
    fn add(supplier: &str) -> Command {
        Command::AddInstance {
            net_instance: knhk_kernel::ROOT_INSTANCE,
            task: "quote".to_owned(),
            data: json!(supplier),
        }
    }
    // WCP 36: instances added at run time, a completion condition on their outputs.
    let wcp_36: &[Step] = &[
        |live| start(first(live, WorkItemStatus::Enabled)),
        |_| add("globex"),
        |live| Command::CompleteWorkItem {
            work_item: first(live, WorkItemStatus::Started),
            output: json!({"price": 700}),
        },
        |_| add("initech"),
        |live| start(first(live, WorkItemStatus::Enabled)),
        |live| Command::CompleteWorkItem {
            work_item: first(live, WorkItemStatus::Started),
            output: json!({"price": 450}),
        },
    ];
    let spec = "patterns/wcp_36_dynamic_partial_join_for_mi.json";
    let data = json!({"suppliers": ["acme"], "budget": 500});
    let straight = scripted(spec, data.clone(), wcp_36, false).await;
    assert!(
        straight
            .contains(r#"Array [Object {"price": Number(700)}, Object {"price": Number(450)}]"#),
        "{straight}"
    );
    assert_eq!(scripted(spec, data, wcp_36, true).await, straight);

    // WCP 26: a running multiple-instance task cancelled from outside.
    let wcp_26: &[Step] = &[
        |live| start(of(live, "open_tender")),
        |live| complete(of(live, "open_tender")),
        |live| start(of(live, "get_quote")),
        |_| Command::CancelTask {
            net_instance: knhk_kernel::ROOT_INSTANCE,
            task: "get_quote".to_owned(),
        },
    ];
    let spec = "patterns/wcp_26_cancel_mi_activity.json";
    let data = json!({"suppliers": ["acme", "globex", "initech"]});
    let straight = scripted(spec, data.clone(), wcp_26, false).await;
    assert!(straight.contains("TaskCancelled"), "{straight}");
    assert_eq!(scripted(spec, data, wcp_26, true).await, straight);
}
