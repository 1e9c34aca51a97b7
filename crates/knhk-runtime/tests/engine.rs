//! The engine's behaviour through its API: cases and their history, specification
//! versions, work-item life cycle and every illegal transition, output data, claims and
//! leases, timers, signals, queries with paging, and refused or failed commits leaving
//! everything as it was.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{
    T0, all_cases, engine_on, example, items, live_item, memory_engine, observe, one_net, sequence,
};
use knhk_kernel::{CaseState, Command, CommandError, Event, WorkItemId, WorkItemStatus};
use knhk_runtime::{
    Action, CaseId, CaseQuery, ClaimTarget, Engine, EngineConfig, EngineError, Fired, ManualClock,
    MemoryStore, Resourcing, WorkItemQuery,
};
use serde_json::{Value, json};

fn start(work_item: WorkItemId) -> Command {
    Command::StartWorkItem { work_item }
}

fn complete(work_item: WorkItemId, output: Value) -> Command {
    Command::CompleteWorkItem { work_item, output }
}

#[tokio::test]
async fn a_case_runs_to_completion_and_its_history_has_every_step_with_its_time() {
    let (engine, clock) = memory_engine();
    engine.register(sequence("seq", 2)).await.unwrap();
    let case = engine.launch("seq", None, json!({"n": 1})).await.unwrap();
    assert_eq!(case.state, CaseState::Running);
    assert_eq!(case.launched_at_ms, T0);

    clock.advance(10);
    let t0 = live_item(&engine, case.id, "t0").await;
    engine.command(case.id, start(t0), None).await.unwrap();
    clock.advance(10);
    engine
        .command(case.id, complete(t0, json!({"a": 1})), None)
        .await
        .unwrap();
    clock.advance(10);
    let t1 = live_item(&engine, case.id, "t1").await;
    engine.command(case.id, start(t1), None).await.unwrap();
    let events = engine
        .command(case.id, complete(t1, json!({"b": 2})), None)
        .await
        .unwrap();
    assert_eq!(
        events.last(),
        Some(&Event::CaseStateChanged {
            state: CaseState::Completed
        })
    );

    let view = engine.case(case.id).await.unwrap();
    assert_eq!(view.state, CaseState::Completed);
    assert_eq!(view.data, json!({"n": 1, "a": 1, "b": 2}));
    assert_eq!(view.updated_at_ms, T0 + 30);

    let history = engine.history(case.id).await.unwrap();
    let times: Vec<u64> = history.iter().map(|h| h.at_ms).collect();
    assert_eq!(times, [T0, T0 + 10, T0 + 20, T0 + 30, T0 + 30]);
    assert_eq!(
        history.iter().map(|h| h.seq).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert!(matches!(&history[0].action, Action::Launch { spec, .. } if spec.version == 1));
    assert_eq!(
        history[1].action,
        Action::Command {
            command: start(t0),
            worker: None
        }
    );
    assert!(history[0].events.contains(&Event::WorkItemEnabled {
        work_item: t0,
        net_instance: knhk_kernel::ROOT_INSTANCE,
        task: "t0".into()
    }));
    let statuses: Vec<_> = items(&engine, case.id)
        .await
        .iter()
        .map(|i| {
            (
                i.task.to_string(),
                i.status,
                i.enabled_at_ms,
                i.updated_at_ms,
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("t0".to_owned(), WorkItemStatus::Completed, T0, T0 + 20),
            ("t1".to_owned(), WorkItemStatus::Completed, T0 + 20, T0 + 30),
        ]
    );
}

#[tokio::test]
async fn a_case_keeps_the_specification_version_it_was_launched_with() {
    let (engine, _) = memory_engine();
    let v1 = engine.register(sequence("order", 1)).await.unwrap();
    assert_eq!(v1.spec_ref.version, 1);
    // The same text again is the same version.
    let again = engine.register(sequence("order", 1)).await.unwrap();
    assert_eq!(again.spec_ref.version, 1);
    let old = engine.launch("order", None, json!({})).await.unwrap();

    let v2 = engine.register(sequence("order", 3)).await.unwrap();
    assert_eq!(v2.spec_ref.version, 2);
    let new = engine.launch("order", None, json!({})).await.unwrap();
    let pinned = engine.launch("order", Some(1), json!({})).await.unwrap();
    assert_eq!(old.spec.version, 1);
    assert_eq!(new.spec.version, 2);
    assert_eq!(pinned.spec.version, 1);

    // The old case finishes after one task; the new one has three.
    let t0 = live_item(&engine, old.id, "t0").await;
    engine.command(old.id, start(t0), None).await.unwrap();
    engine
        .command(old.id, complete(t0, json!({})), None)
        .await
        .unwrap();
    assert_eq!(
        engine.case(old.id).await.unwrap().state,
        CaseState::Completed
    );
    let t0 = live_item(&engine, new.id, "t0").await;
    engine.command(new.id, start(t0), None).await.unwrap();
    engine
        .command(new.id, complete(t0, json!({})), None)
        .await
        .unwrap();
    assert_eq!(engine.case(new.id).await.unwrap().state, CaseState::Running);

    let versions: Vec<_> = engine
        .specs()
        .iter()
        .map(|s| (s.spec_ref.id.clone(), s.spec_ref.version))
        .collect();
    assert_eq!(versions, [("order".to_owned(), 1), ("order".to_owned(), 2)]);
    assert_eq!(engine.spec("order", None).unwrap().spec_ref.version, 2);
}

#[tokio::test]
async fn bad_launches_are_refused_and_store_nothing() {
    let (engine, _) = memory_engine();
    engine
        .register(one_net(
            "typed",
            json!([{"id": "a", "kind": "atomic"}]),
            json!([{"from": "i", "to": "a"}, {"from": "a", "to": "o"}]),
        ))
        .await
        .unwrap();
    assert!(matches!(
        engine.launch("nope", None, json!({})).await,
        Err(EngineError::UnknownSpec { id, version: None }) if id == "nope"
    ));
    assert!(matches!(
        engine.launch("typed", Some(7), json!({})).await,
        Err(EngineError::UnknownSpec {
            version: Some(7),
            ..
        })
    ));
    assert!(matches!(
        engine.launch("typed", None, json!([1, 2])).await,
        Err(EngineError::Launch(e)) if *e == knhk_kernel::LaunchError::DataNotObject
    ));
    assert!(all_cases(&engine).await.is_empty());
    assert!(matches!(
        engine.case(CaseId(1)).await,
        Err(EngineError::UnknownCase(CaseId(1)))
    ));
}

/// The states a work item can be in; [`item_in`] brings a fresh item there.
#[derive(Debug, Clone, Copy)]
enum Reach {
    Enabled,
    Started,
    Suspended,
    Completed,
    Withdrawn,
}

/// A case of the deferred-choice net whose `record_acceptance` item is in `reach`.
async fn item_in(engine: &Engine, reach: Reach) -> (CaseId, WorkItemId) {
    let case = engine
        .launch("wcp-16-deferred-choice", None, json!({}))
        .await
        .unwrap()
        .id;
    let quote = live_item(engine, case, "send_quote").await;
    engine.command(case, start(quote), None).await.unwrap();
    engine
        .command(case, complete(quote, json!({})), None)
        .await
        .unwrap();
    let item = live_item(engine, case, "record_acceptance").await;
    match reach {
        Reach::Enabled => {}
        Reach::Started => {
            engine.command(case, start(item), None).await.unwrap();
        }
        Reach::Suspended => {
            engine.command(case, start(item), None).await.unwrap();
            engine
                .command(case, Command::SuspendWorkItem { work_item: item }, None)
                .await
                .unwrap();
        }
        Reach::Completed => {
            engine.command(case, start(item), None).await.unwrap();
            engine
                .command(case, complete(item, json!({})), None)
                .await
                .unwrap();
        }
        Reach::Withdrawn => {
            // The other branch of the deferred choice wins.
            let rival = live_item(engine, case, "record_rejection").await;
            engine.command(case, start(rival), None).await.unwrap();
        }
    }
    (case, item)
}

#[tokio::test]
async fn every_illegal_work_item_command_is_a_typed_error_and_changes_nothing() {
    let (engine, _) = memory_engine();
    engine
        .register(example("patterns/wcp_16_deferred_choice.json"))
        .await
        .unwrap();
    let engine = &engine;

    type Check = fn(&EngineError, WorkItemId) -> bool;
    let not_enabled: Check = |e, id| matches!(e.command_error(), Some(CommandError::NotEnabled { work_item, .. }) if *work_item == id);
    let not_started: Check = |e, id| matches!(e.command_error(), Some(CommandError::NotStarted { work_item, .. }) if *work_item == id);
    let not_suspended: Check = |e, id| matches!(e.command_error(), Some(CommandError::NotSuspended { work_item, .. }) if *work_item == id);
    let completed: Check = |e, id| matches!(e, EngineError::WorkItemEnded { work_item, status: WorkItemStatus::Completed, .. } if *work_item == id);
    let withdrawn: Check = |e, id| matches!(e, EngineError::WorkItemEnded { work_item, status: WorkItemStatus::Withdrawn, .. } if *work_item == id);

    type MakeCommand = fn(WorkItemId) -> Command;
    let commands: [(&str, MakeCommand); 6] = [
        ("start", start),
        ("complete", |w| complete(w, json!({}))),
        ("release", |w| Command::ReleaseWorkItem { work_item: w }),
        ("suspend", |w| Command::SuspendWorkItem { work_item: w }),
        ("resume", |w| Command::ResumeWorkItem { work_item: w }),
        ("fail", |w| Command::FailWorkItem {
            work_item: w,
            message: "no".to_owned(),
        }),
    ];
    // For each state, the expected refusal per command; `None` means it is legal.
    let table: [(Reach, [Option<Check>; 6]); 5] = [
        (
            Reach::Enabled,
            [
                None,
                Some(not_started),
                Some(not_started),
                Some(not_started),
                Some(not_suspended),
                None,
            ],
        ),
        (
            Reach::Started,
            [
                Some(not_enabled),
                None,
                None,
                None,
                Some(not_suspended),
                None,
            ],
        ),
        (
            Reach::Suspended,
            [
                Some(not_enabled),
                Some(not_started),
                Some(not_started),
                Some(not_started),
                None,
                None,
            ],
        ),
        (Reach::Completed, [Some(completed); 6]),
        (Reach::Withdrawn, [Some(withdrawn); 6]),
    ];
    for (reach, expected) in table {
        for ((name, command), expected) in commands.iter().zip(expected) {
            let (case, item) = item_in(engine, reach).await;
            let before = observe(engine, case).await;
            let result = engine.command(case, command(item), None).await;
            match expected {
                None => assert!(result.is_ok(), "{name} on {reach:?}: {result:?}"),
                Some(check) => {
                    let error = result.expect_err(&format!("{name} on {reach:?} must fail"));
                    assert!(check(&error, item), "{name} on {reach:?}: {error}");
                    assert_eq!(observe(engine, case).await, before, "{name} on {reach:?}");
                }
            }
        }
    }

    // Unknown ids.
    let (case, _) = item_in(engine, Reach::Enabled).await;
    let before = observe(engine, case).await;
    for (_, command) in &commands {
        let error = engine
            .command(case, command(WorkItemId(999)), None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                EngineError::UnknownWorkItem {
                    work_item: WorkItemId(999),
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("no work item 999"), "{error}");
        let error = engine
            .command(CaseId(999), command(WorkItemId(1)), None)
            .await
            .unwrap_err();
        assert!(
            matches!(error, EngineError::UnknownCase(CaseId(999))),
            "{error}"
        );
    }
    assert_eq!(observe(engine, case).await, before);
}

#[tokio::test]
async fn output_is_checked_against_declared_outputs_and_merged_by_mappings() {
    let (engine, _) = memory_engine();
    engine
        .register(one_net(
            "credit",
            json!([{
                "id": "check", "kind": "atomic",
                "outputs": [{"name": "approved", "type": "boolean"},
                            {"name": "note", "type": "string", "optional": true}],
                "output_mappings": [{"to": "verdict", "expression": "output.approved ? 'yes' : 'no'"}]
            }]),
            json!([{"from": "i", "to": "check"}, {"from": "check", "to": "o"}]),
        ))
        .await
        .unwrap();
    let case = engine.launch("credit", None, json!({})).await.unwrap().id;
    let item = live_item(&engine, case, "check").await;
    engine.command(case, start(item), None).await.unwrap();
    let before = observe(&engine, case).await;
    for (output, reason) in [
        (json!("approved"), "output must be a JSON object"),
        (json!({}), "missing output `approved`"),
        (
            json!({"approved": "yes"}),
            "output `approved` must be of type",
        ),
        (
            json!({"approved": true, "note": 5}),
            "output `note` must be of type",
        ),
    ] {
        let error = engine
            .command(case, complete(item, output.clone()), None)
            .await
            .unwrap_err();
        assert!(
            matches!(error.command_error(), Some(CommandError::InvalidOutput { reason: r, .. }) if r.contains(reason)),
            "{output}: {error}"
        );
        assert_eq!(observe(&engine, case).await, before, "{output}");
    }
    engine
        .command(case, complete(item, json!({"approved": true})), None)
        .await
        .unwrap();
    let view = engine.case(case).await.unwrap();
    assert_eq!(view.state, CaseState::Completed);
    assert_eq!(view.data["verdict"], json!("yes"));
}

#[tokio::test]
async fn a_failed_commit_applies_nothing_and_the_command_can_be_retried() {
    let probe = Arc::new(common::Probe::new(Arc::new(MemoryStore::new()), None));
    let (engine, _) = engine_on(probe.clone(), EngineConfig::default());
    engine.register(sequence("seq", 2)).await.unwrap();
    let case = engine.launch("seq", None, json!({})).await.unwrap().id;
    let t0 = live_item(&engine, case, "t0").await;
    let before = observe(&engine, case).await;

    probe.fail_next();
    let error = engine.command(case, start(t0), None).await.unwrap_err();
    assert!(matches!(error, EngineError::Commit(_)), "{error}");
    assert_eq!(observe(&engine, case).await, before);

    engine.command(case, start(t0), None).await.unwrap();
    assert_eq!(
        engine.work_item(case, t0).await.unwrap().status,
        WorkItemStatus::Started
    );

    // A failed launch leaves no case behind.
    probe.fail_next();
    assert!(engine.launch("seq", None, json!({})).await.is_err());
    assert_eq!(all_cases(&engine).await.len(), 1);
}

fn service_net() -> knhk_model::ValidSpec {
    one_net(
        "scoring",
        json!([
            {"id": "score", "kind": "atomic", "service": "scorer"},
            {"id": "review", "kind": "atomic"}
        ]),
        json!([{"from": "i", "to": "score"}, {"from": "score", "to": "review"},
               {"from": "review", "to": "o"}]),
    )
}

#[tokio::test]
async fn workers_claim_enabled_items_by_service_or_task_with_a_lease() {
    let (engine, _) = memory_engine();
    engine.register(service_net()).await.unwrap();
    let mut cases = Vec::new();
    for _ in 0..3 {
        cases.push(engine.launch("scoring", None, json!({})).await.unwrap().id);
    }
    let scorer = ClaimTarget::Service("scorer".to_owned());
    let first = engine.claim("w1", &scorer, 2, 5_000).await.unwrap();
    assert_eq!(first.iter().map(|v| v.case).collect::<Vec<_>>(), cases[..2]);
    for view in &first {
        assert_eq!(view.status, WorkItemStatus::Started);
        let lease = view.lease.as_ref().unwrap();
        assert_eq!((lease.worker.as_str(), lease.until_ms), ("w1", T0 + 5_000));
    }
    let second = engine
        .claim("w2", &ClaimTarget::Task("score".to_owned()), 5, 5_000)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].case, cases[2]);
    assert!(
        engine
            .claim("w3", &scorer, 5, 5_000)
            .await
            .unwrap()
            .is_empty()
    );

    // Work items by worker.
    let query = WorkItemQuery {
        worker: Some("w1".to_owned()),
        ..WorkItemQuery::default()
    };
    let mine = engine.work_items(&query).await.unwrap().items;
    assert_eq!(mine.iter().map(|v| v.case).collect::<Vec<_>>(), cases[..2]);

    // Completing by the holder ends the lease; the next item is claimable by task.
    let item = first[0].id;
    engine
        .command(cases[0], complete(item, json!({"score": 7})), Some("w1"))
        .await
        .unwrap();
    let done = engine.work_item(cases[0], item).await.unwrap();
    assert_eq!((done.status, done.lease), (WorkItemStatus::Completed, None));
    let review = engine
        .claim("w4", &ClaimTarget::Task("review".to_owned()), 1, 1_000)
        .await
        .unwrap();
    assert_eq!(review[0].case, cases[0]);

    // Bad claims.
    for (worker, max, lease) in [("", 1, 1), ("w", 0, 1), ("w", 1, 0)] {
        assert!(matches!(
            engine.claim(worker, &scorer, max, lease).await,
            Err(EngineError::InvalidRequest(_))
        ));
    }
}

#[tokio::test]
async fn only_the_lease_holder_acts_and_only_within_the_lease() {
    let (engine, clock) = memory_engine();
    engine.register(service_net()).await.unwrap();
    let case = engine.launch("scoring", None, json!({})).await.unwrap().id;
    let scorer = ClaimTarget::Service("scorer".to_owned());
    let item = engine.claim("w1", &scorer, 1, 1_000).await.unwrap()[0].id;
    let before = observe(&engine, case).await;

    for worker in [None, Some("w2")] {
        let error = engine
            .command(case, complete(item, json!({})), worker)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, EngineError::LeaseHeld { worker, .. } if worker == "w1"),
            "{error}"
        );
    }
    clock.advance(1_000);
    let error = engine
        .command(case, complete(item, json!({})), Some("w1"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, EngineError::LeaseExpired { expired_at_ms, .. } if expired_at_ms == T0 + 1_000),
        "{error}"
    );
    assert_eq!(observe(&engine, case).await, before);

    // The expiry returns the item to enabled, for anyone to claim again.
    assert_eq!(
        engine.fire_due().await.unwrap(),
        Fired {
            timers: 0,
            leases: 1
        }
    );
    let view = engine.work_item(case, item).await.unwrap();
    assert_eq!((view.status, view.lease), (WorkItemStatus::Enabled, None));
    assert_eq!(engine.fire_due().await.unwrap(), Fired::default());
    let again = engine.claim("w2", &scorer, 1, 1_000).await.unwrap();
    assert_eq!(again[0].id, item);
    engine
        .command(case, complete(item, json!({})), Some("w2"))
        .await
        .unwrap();
    let history = engine.history(case).await.unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.action == Action::ExpireLease { work_item: item }
                && h.events == [Event::WorkItemReleased { work_item: item }])
    );
}

fn timer_net(timer: Value) -> knhk_model::ValidSpec {
    one_net(
        "timed",
        json!([{"id": "wait", "kind": "atomic", "timer": timer}, {"id": "after", "kind": "atomic"}]),
        json!([{"from": "i", "to": "wait"}, {"from": "wait", "to": "after"},
               {"from": "after", "to": "o"}]),
    )
}

/// An engine with one case of `timer_net(timer)`, and its `wait` item.
async fn timed_case(timer: Value) -> (Engine, Arc<ManualClock>, CaseId, WorkItemId) {
    let (engine, clock) = memory_engine();
    engine.register(timer_net(timer)).await.unwrap();
    let case = engine.launch("timed", None, json!({})).await.unwrap().id;
    let wait = live_item(&engine, case, "wait").await;
    (engine, clock, case, wait)
}

#[tokio::test]
async fn an_on_enabled_timer_fires_once_when_due() {
    let (engine, clock, case, wait) =
        timed_case(json!({"trigger": "on_enabled", "duration_ms": 1_000, "on_expiry": "complete"}))
            .await;
    clock.advance(999);
    assert_eq!(engine.fire_due().await.unwrap(), Fired::default());
    clock.advance(1);
    assert_eq!(engine.fire_due().await.unwrap().timers, 1);
    assert_eq!(
        engine.work_item(case, wait).await.unwrap().status,
        WorkItemStatus::Completed
    );
    live_item(&engine, case, "after").await;
    assert_eq!(engine.fire_due().await.unwrap(), Fired::default());
    let expiries: Vec<u64> = engine
        .history(case)
        .await
        .unwrap()
        .iter()
        .filter(|h| {
            matches!(
                &h.action,
                Action::Command {
                    command: Command::TimerExpired { .. },
                    ..
                }
            )
        })
        .map(|h| h.at_ms)
        .collect();
    assert_eq!(expiries, [T0 + 1_000]);
}

#[tokio::test]
async fn an_on_executing_timer_runs_from_the_start_and_can_fail_the_case() {
    let (engine, clock, case, wait) =
        timed_case(json!({"trigger": "on_executing", "duration_ms": 500, "on_expiry": "fail"}))
            .await;
    clock.advance(10_000);
    // Not started: no timer yet.
    assert_eq!(engine.fire_due().await.unwrap(), Fired::default());
    engine.command(case, start(wait), None).await.unwrap();
    clock.advance(499);
    assert_eq!(engine.fire_due().await.unwrap(), Fired::default());
    clock.advance(1);
    assert_eq!(engine.fire_due().await.unwrap().timers, 1);
    assert!(matches!(
        engine.case(case).await.unwrap().state,
        CaseState::Failed { .. }
    ));
}

#[tokio::test]
async fn an_absolute_expiry_fires_at_its_instant_and_a_suspended_case_keeps_its_timer() {
    let (engine, clock, case, _) = timed_case(
        json!({"trigger": "on_enabled", "expiry_ms": T0 + 60_000, "on_expiry": "complete"}),
    )
    .await;
    engine
        .command(case, Command::SuspendCase, None)
        .await
        .unwrap();
    clock.set(T0 + 60_000);
    assert_eq!(engine.fire_due().await.unwrap(), Fired::default());
    engine
        .command(case, Command::ResumeCase, None)
        .await
        .unwrap();
    assert_eq!(engine.fire_due().await.unwrap().timers, 1);
    live_item(&engine, case, "after").await;
}

#[tokio::test]
async fn signals_reach_transient_and_persistent_triggers() {
    let (engine, _) = memory_engine();
    engine
        .register(example("patterns/wcp_23_transient_trigger.json"))
        .await
        .unwrap();
    engine
        .register(example("patterns/wcp_24_persistent_trigger.json"))
        .await
        .unwrap();
    let signal = || Command::Signal {
        name: "truck_arrived".to_owned(),
    };
    for (spec, early_taken) in [
        ("wcp-23-transient-trigger", false),
        ("wcp-24-persistent-trigger", true),
    ] {
        let case = engine.launch(spec, None, json!({})).await.unwrap().id;
        let pack = live_item(&engine, case, "pack_goods").await;
        engine.command(case, start(pack), None).await.unwrap();
        let events = engine.command(case, signal(), None).await.unwrap();
        let taken =
            matches!(&events[0], Event::SignalReceived { taken_by, .. } if !taken_by.is_empty());
        assert_eq!(taken, early_taken, "{spec}");
        engine
            .command(case, complete(pack, json!({})), None)
            .await
            .unwrap();
        if !early_taken {
            // The early signal was lost: the trigger waits for another.
            assert!(
                items(&engine, case)
                    .await
                    .iter()
                    .all(|i| i.task != "load_truck")
            );
            engine.command(case, signal(), None).await.unwrap();
        }
        let load = live_item(&engine, case, "load_truck").await;
        engine.command(case, start(load), None).await.unwrap();
        engine
            .command(case, complete(load, json!({})), None)
            .await
            .unwrap();
        assert_eq!(engine.case(case).await.unwrap().state, CaseState::Completed);
    }
}

#[tokio::test]
async fn queries_select_by_state_spec_task_and_status_with_paging() {
    let (engine, _) = memory_engine();
    engine.register(sequence("a", 2)).await.unwrap();
    engine.register(sequence("b", 1)).await.unwrap();
    let mut a_cases = Vec::new();
    for _ in 0..5 {
        a_cases.push(engine.launch("a", None, json!({})).await.unwrap().id);
    }
    let b = engine.launch("b", None, json!({})).await.unwrap().id;
    engine
        .command(a_cases[1], Command::CancelCase, None)
        .await
        .unwrap();
    let t0 = live_item(&engine, b, "t0").await;
    engine.command(b, start(t0), None).await.unwrap();
    engine
        .command(b, complete(t0, json!({})), None)
        .await
        .unwrap();

    // Cases of `a` that run, two per page.
    let mut query = CaseQuery {
        state: Some("running".to_owned()),
        spec_id: Some("a".to_owned()),
        limit: Some(2),
        ..CaseQuery::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = engine.cases(&query).await.unwrap();
        pages.push(page.items.iter().map(|c| c.id()).collect::<Vec<_>>());
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        pages,
        [vec![a_cases[0], a_cases[2]], vec![a_cases[3], a_cases[4]]]
    );
    let cancelled = CaseQuery {
        state: Some("cancelled".to_owned()),
        ..CaseQuery::default()
    };
    let page = engine.cases(&cancelled).await.unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.id()).collect::<Vec<_>>(),
        [a_cases[1]]
    );
    let completed = CaseQuery {
        state: Some("completed".to_owned()),
        ..CaseQuery::default()
    };
    assert_eq!(engine.cases(&completed).await.unwrap().items[0].id(), b);

    // Work items by task and status, one per page.
    let mut query = WorkItemQuery {
        task: Some("t0".to_owned()),
        status: Some(WorkItemStatus::Enabled),
        limit: Some(1),
        ..WorkItemQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = engine.work_items(&query).await.unwrap();
        assert!(page.items.len() <= 1);
        seen.extend(page.items.iter().map(|i| i.case));
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, [a_cases[0], a_cases[2], a_cases[3], a_cases[4]]);
    // The cancelled case's item is listed as cancelled, when the case is named (a query
    // across cases searches the cases in flight).
    let query = WorkItemQuery {
        case: Some(a_cases[1]),
        status: Some(WorkItemStatus::Cancelled),
        ..WorkItemQuery::default()
    };
    let page = engine.work_items(&query).await.unwrap();
    assert_eq!(
        page.items.iter().map(|i| i.case).collect::<Vec<_>>(),
        [a_cases[1]]
    );

    // Bad queries name the problem.
    let bad = CaseQuery {
        state: Some("sleeping".to_owned()),
        ..CaseQuery::default()
    };
    let error = engine.cases(&bad).await.unwrap_err();
    assert!(
        error.to_string().contains("unknown case state `sleeping`"),
        "{error}"
    );
    let zero = WorkItemQuery {
        limit: Some(0),
        ..WorkItemQuery::default()
    };
    assert!(matches!(
        engine.work_items(&zero).await,
        Err(EngineError::InvalidRequest(_))
    ));
    let unknown = WorkItemQuery {
        case: Some(CaseId(77)),
        ..WorkItemQuery::default()
    };
    assert!(matches!(
        engine.work_items(&unknown).await,
        Err(EngineError::UnknownCase(CaseId(77)))
    ));
}

#[tokio::test]
async fn a_suspended_case_refuses_work_until_resumed() {
    let (engine, _) = memory_engine();
    engine.register(sequence("seq", 1)).await.unwrap();
    let case = engine.launch("seq", None, json!({})).await.unwrap().id;
    let t0 = live_item(&engine, case, "t0").await;
    engine
        .command(case, Command::SuspendCase, None)
        .await
        .unwrap();
    let before = observe(&engine, case).await;
    let error = engine.command(case, start(t0), None).await.unwrap_err();
    assert!(
        matches!(
            error.command_error(),
            Some(CommandError::CaseNotRunning { state: "suspended" })
        ),
        "{error}"
    );
    // Nothing of a suspended case is claimable.
    let target = ClaimTarget::Task("t0".to_owned());
    assert!(engine.claim("w", &target, 1, 100).await.unwrap().is_empty());
    assert_eq!(observe(&engine, case).await, before);
    engine
        .command(case, Command::ResumeCase, None)
        .await
        .unwrap();
    assert_eq!(engine.claim("w", &target, 1, 100).await.unwrap().len(), 1);
}

#[tokio::test]
async fn offered_and_allocated_items_are_for_their_participants_only() {
    let (engine, _) = memory_engine();
    engine.register(sequence("seq", 2)).await.unwrap();
    let case = engine.launch("seq", None, json!({})).await.unwrap().id;
    let t0 = live_item(&engine, case, "t0").await;
    let people = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();

    engine
        .offer(case, t0, people(&["ann", "bob"]))
        .await
        .unwrap();
    let view = engine.work_item(case, t0).await.unwrap();
    assert_eq!(
        view.resourcing,
        Resourcing::Offered {
            participants: people(&["ann", "bob"])
        }
    );
    // Offered work is not for claiming workers.
    let target = ClaimTarget::Task("t0".to_owned());
    assert!(
        engine
            .claim("robot", &target, 1, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let before = observe(&engine, case).await;
    for who in [None, Some("carl")] {
        let error = engine.command(case, start(t0), who).await.unwrap_err();
        assert!(matches!(error, EngineError::NotOffered { .. }), "{error}");
    }
    let error = engine.allocate(case, t0, "carl").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("offered to other participants than `carl`"),
        "{error}"
    );
    assert_eq!(observe(&engine, case).await, before);

    // Starting it allocates it to the starter; only they act on it from then on.
    engine.command(case, start(t0), Some("bob")).await.unwrap();
    let view = engine.work_item(case, t0).await.unwrap();
    assert_eq!(
        view.resourcing,
        Resourcing::Allocated {
            participant: "bob".to_owned()
        }
    );
    let error = engine
        .command(case, complete(t0, json!({})), Some("ann"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("allocated to `bob`"), "{error}");
    engine
        .command(case, complete(t0, json!({})), Some("bob"))
        .await
        .unwrap();

    // Allocation straight from enabled; an allocated item cannot be re-offered.
    let t1 = live_item(&engine, case, "t1").await;
    engine.allocate(case, t1, "dave").await.unwrap();
    let before = observe(&engine, case).await;
    assert!(matches!(
        engine.offer(case, t1, people(&["eve"])).await,
        Err(EngineError::Allocated { participant, .. }) if participant == "dave"
    ));
    assert!(matches!(
        engine.command(case, start(t1), Some("eve")).await,
        Err(EngineError::Allocated { .. })
    ));
    assert_eq!(observe(&engine, case).await, before);
    let query = WorkItemQuery {
        worker: Some("dave".to_owned()),
        ..WorkItemQuery::default()
    };
    let mine = engine.work_items(&query).await.unwrap().items;
    assert_eq!(mine.iter().map(|i| i.id).collect::<Vec<_>>(), [t1]);
    engine.command(case, start(t1), Some("dave")).await.unwrap();

    // Only enabled items are offered or allocated, to someone.
    let started = engine.offer(case, t1, people(&["eve"])).await.unwrap_err();
    assert!(
        matches!(
            started.command_error(),
            Some(CommandError::NotEnabled { .. })
        ),
        "{started}"
    );
    assert!(matches!(
        engine.offer(case, t0, people(&["eve"])).await,
        Err(EngineError::WorkItemEnded { .. })
    ));
    for bad in [vec![], people(&[""])] {
        assert!(matches!(
            engine.offer(case, t1, bad).await,
            Err(EngineError::InvalidRequest(_))
        ));
    }
    assert!(matches!(
        engine.allocate(case, t1, "").await,
        Err(EngineError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn the_timer_loop_fires_what_falls_due() {
    let (engine, clock, case, _) =
        timed_case(json!({"trigger": "on_enabled", "duration_ms": 1_000, "on_expiry": "complete"}))
            .await;
    let timers = engine.spawn_timers(std::time::Duration::from_millis(5));
    clock.advance(1_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !items(&engine, case).await.iter().any(|i| i.task == "after") {
        assert!(
            std::time::Instant::now() < deadline,
            "the timer never fired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    timers.abort();
}

#[tokio::test]
async fn ended_cases_leave_memory_but_stay_queryable() {
    let (engine, _) = memory_engine();
    engine.register(sequence("seq", 1)).await.unwrap();
    let done = engine
        .launch("seq", None, json!({"k": 1}))
        .await
        .unwrap()
        .id;
    let running = engine.launch("seq", None, json!({})).await.unwrap().id;
    let t0 = live_item(&engine, done, "t0").await;
    engine.command(done, start(t0), None).await.unwrap();
    let before = observe(&engine, done).await;
    assert_eq!(engine.cases_in_flight(), 2);
    engine
        .command(done, complete(t0, json!({"out": 2})), None)
        .await
        .unwrap();
    assert_eq!(engine.cases_in_flight(), 1);

    // Loaded from its final snapshot when asked for.
    let view = engine.case(done).await.unwrap();
    assert_eq!(view.state, CaseState::Completed);
    assert_eq!(view.data, json!({"k": 1, "out": 2}));
    assert_eq!(engine.history(done).await.unwrap().len(), 3);
    assert_eq!(
        engine.work_item(done, t0).await.unwrap().status,
        WorkItemStatus::Completed
    );
    assert_ne!(observe(&engine, done).await, before);
    let completed = CaseQuery {
        state: Some("completed".to_owned()),
        ..CaseQuery::default()
    };
    let page = engine.cases(&completed).await.unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.id()).collect::<Vec<_>>(),
        [done]
    );
    assert_eq!(
        all_cases(&engine)
            .await
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [done, running]
    );
    // Commands to it are refused as before.
    assert!(matches!(
        engine.command(done, start(t0), None).await,
        Err(EngineError::WorkItemEnded { .. })
    ));
    assert!(matches!(
        engine.command(done, Command::CancelCase, None).await,
        Err(EngineError::Command { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_take_distinct_items_and_none_comes_back_empty() {
    let (engine, _) = memory_engine();
    engine.register(service_net()).await.unwrap();
    for _ in 0..48 {
        engine.launch("scoring", None, json!({})).await.unwrap();
    }
    let target = ClaimTarget::Service("scorer".to_owned());
    let mut claims = tokio::task::JoinSet::new();
    for k in 0..16 {
        let (engine, target) = (engine.clone(), target.clone());
        claims.spawn(async move { engine.claim(&format!("w{k}"), &target, 2, 60_000).await });
    }
    let mut items = std::collections::BTreeSet::new();
    while let Some(claimed) = claims.join_next().await {
        let claimed = claimed.unwrap().unwrap();
        assert_eq!(claimed.len(), 2, "a claim came back short: {claimed:?}");
        for view in claimed {
            assert!(
                items.insert((view.case, view.id)),
                "claimed twice: {view:?}"
            );
        }
    }
    assert_eq!(items.len(), 32);
}
