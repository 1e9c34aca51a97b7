//! YAWL's own assertions (yawl-reference §3: the tests in YAWL's `test/` tree) and the
//! kernel's explicit choices where YAWL is silent or unsafe (§2, §7), each as a small
//! spec built inline and driven step by step: self-cancellation, deadlock, improper
//! completion, cancel case, OR-split defaults, multiple instances and `AddInstance`,
//! XOR-join consumption, busy tasks, routing-task livelock, expression and output
//! errors, illegal work-item transitions, launch errors, suspension, timers, deferred
//! choice with an empty task (Apromore WPC16), OR and XOR splits (WPC6, WPC4),
//! composite tasks (YAWL_Specification4), and the OR-join's work budget and fallback.
//!
//! Every refused command is checked to leave the case exactly as it was.

// Test helpers fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use knhk_kernel::{
    Case, CaseState, Command, CommandError, CompiledSpec, Event, FailReason, LaunchError, Limits,
    NetInstance, NetInstanceId, ROOT_INSTANCE, StuckPlace, WorkItem, WorkItemId, WorkItemRole,
    WorkItemStatus,
};
use knhk_model::DataType;
use serde_json::{Value, json};
use support::Run;

// ---- helpers ----------------------------------------------------------------------

/// Compiles a specification whose nets are `nets`; the first is the root.
fn spec(nets: Value) -> Arc<CompiledSpec> {
    let root = nets[0]["id"].as_str().expect("net id").to_owned();
    let text = json!({"id": "yawl-semantics", "root_net": root, "nets": nets}).to_string();
    support::compile_text(&text)
}

/// Launches `nets` with `data`, seed 0 and default limits.
fn launch(nets: Value, data: Value) -> Run {
    Run::launch_with(spec(nets), data, 0, Limits::default())
}

/// Everything observable about a case: state, live work items, net instances (marking,
/// data, busy tasks, offers, partial joins) and the case data.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    state: CaseState,
    items: Vec<WorkItem>,
    instances: Vec<(NetInstanceId, NetInstance)>,
    data: Value,
}

fn snapshot(case: &Case) -> Snapshot {
    Snapshot {
        state: case.state().clone(),
        items: case.work_items().cloned().collect(),
        instances: case
            .net_instances()
            .map(|(id, i)| (id, i.clone()))
            .collect(),
        data: case.data(),
    }
}

/// Applies `command`, asserts it is refused with `expected`, and that the case did not
/// change.
#[track_caller]
fn assert_refused(run: &mut Run, command: Command, expected: CommandError) {
    let before = snapshot(&run.case);
    let events_before = run.events.len();
    assert_eq!(
        run.apply(command.clone()),
        Err(expected),
        "command {command:?}"
    );
    assert_eq!(
        snapshot(&run.case),
        before,
        "a refused command changed the case: {command:?}"
    );
    assert_eq!(run.events.len(), events_before);
}

fn start_cmd(id: WorkItemId) -> Command {
    Command::StartWorkItem { work_item: id }
}

fn complete_cmd(id: WorkItemId, output: Value) -> Command {
    Command::CompleteWorkItem {
        work_item: id,
        output,
    }
}

/// Applies `command`, which must succeed, and returns its events.
#[track_caller]
fn ok(run: &mut Run, command: Command) -> Vec<Event> {
    run.apply(command.clone())
        .unwrap_or_else(|e| panic!("{command:?} refused: {e}"))
}

/// The ids of all live work items of `task`, ascending.
fn items_of(run: &Run, task: &str) -> Vec<WorkItemId> {
    run.case
        .work_items()
        .filter(|i| i.task == task)
        .map(|i| i.id)
        .collect()
}

fn tokens_of(run: &Run, id: NetInstanceId) -> Vec<(String, u32)> {
    run.tokens_in(id).into_iter().collect()
}

fn marking(places: &[(&str, u32)]) -> Vec<(String, u32)> {
    places.iter().map(|(p, n)| ((*p).to_owned(), *n)).collect()
}

fn count_fired(events: &[Event], task: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::TaskFired { task: t, .. } if t == task))
        .count()
}

fn enabled_events_for(events: &[Event], task: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::WorkItemEnabled { task: t, .. } if t == task))
        .count()
}

// ---- cancellation, deadlock, improper completion ----------------------------------

/// YAWL `TestYExternalTask.testSelfCancellation` (yawl-reference §3): a task whose
/// cancellation set contains itself still produces its output token, because the set is
/// applied before the split (`t_exit`). The same set also clears `c{S_C}`, so the
/// parallel offer of C is withdrawn.
#[test]
fn self_cancellation_still_produces_output() {
    let mut run = launch(
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "S"},
                {"id": "A", "kind": "atomic", "cancellation_set": ["A", "c{S_C}"]},
                {"id": "B", "kind": "atomic"},
                {"id": "C", "kind": "atomic"}
            ],
            "flows": [
                {"from": "i", "to": "S"}, {"from": "S", "to": "A"}, {"from": "S", "to": "C"},
                {"from": "A", "to": "B"}, {"from": "B", "to": "o"}, {"from": "C", "to": "o"}
            ]
        }]),
        json!({}),
    );
    run.assert_offered(&["A", "C"]);
    run.assert_tokens(&[("c{S_A}", 1), ("c{S_C}", 1)]);
    let c = run.item("C");
    let a = run.start("A");
    run.assert_tokens(&[("c{S_C}", 1)]);
    let events = ok(&mut run, complete_cmd(a, json!({})));
    let b = WorkItemId(c.0 + 1);
    assert_eq!(
        events,
        vec![
            Event::WorkItemCompleted { work_item: a },
            Event::TokensRemoved {
                net_instance: ROOT_INSTANCE,
                place: "c{S_C}".into(),
                tokens: 1
            },
            Event::TaskCompleted {
                net_instance: ROOT_INSTANCE,
                task: "A".into()
            },
            Event::WorkItemWithdrawn {
                work_item: c,
                status: WorkItemStatus::Withdrawn
            },
            Event::WorkItemEnabled {
                work_item: b,
                net_instance: ROOT_INSTANCE,
                task: "B".into()
            },
        ]
    );
    run.assert_tokens(&[("c{A_B}", 1)]);
    run.assert_offered(&["B"]);
    run.run_empty("B");
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["S", "A", "B"]);
}

/// YAWL `TestDeadlockingWorkflows` on `DeadlockingSpecification`: `a-top` is an
/// AND-join of `i-top` and `c1-top`, and `c1-top` is fed only by `a-top` itself, so
/// nothing can ever fire. YAWL makes one Deadlocked work item and ends the runner; the
/// kernel reports the case state `deadlocked` at once, naming the stuck place, and
/// refuses further commands.
#[test]
fn deadlocking_specification_is_deadlocked_at_launch() {
    let mut run = launch(
        json!([{
            "id": "top",
            "input_condition": {"id": "i-top"}, "output_condition": {"id": "o-top"},
            "conditions": [{"id": "c1-top"}],
            "tasks": [{"id": "a-top", "kind": "atomic", "join": "and", "split": "and"}],
            "flows": [
                {"from": "i-top", "to": "a-top"}, {"from": "a-top", "to": "c1-top"},
                {"from": "a-top", "to": "o-top"}, {"from": "c1-top", "to": "a-top"}
            ]
        }]),
        json!({}),
    );
    let deadlocked = CaseState::Deadlocked {
        stuck: vec![StuckPlace {
            net_instance: ROOT_INSTANCE,
            net: "top".into(),
            place: "i-top".into(),
            tokens: 1,
        }],
    };
    assert_eq!(
        run.events,
        vec![
            Event::NetStarted {
                net_instance: ROOT_INSTANCE,
                net: "top".into(),
                parent: None
            },
            Event::CaseStateChanged {
                state: deadlocked.clone()
            },
        ]
    );
    assert_eq!(run.case_state(), &deadlocked);
    assert_eq!(run.case.work_items().count(), 0);
    run.assert_tokens(&[("i-top", 1)]);
    let not_running = CommandError::CaseNotRunning {
        state: "deadlocked",
    };
    assert_refused(&mut run, start_cmd(WorkItemId(1)), not_running.clone());
    assert_refused(&mut run, Command::SuspendCase, not_running.clone());
    assert_refused(&mut run, Command::CancelCase, not_running);
}

/// The same deadlock one level down: the subnet of a composite task (run after an
/// atomic task completes) can never move, nothing else is live, so the case is
/// deadlocked and the stuck place is named with its subnet instance.
#[test]
fn deadlock_inside_a_subnet_deadlocks_the_case() {
    let mut run = launch(
        json!([
            {
                "id": "main",
                "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                "tasks": [
                    {"id": "A", "kind": "atomic"},
                    {"id": "S", "kind": "composite", "net": "top"}
                ],
                "flows": [{"from": "i", "to": "A"}, {"from": "A", "to": "S"}, {"from": "S", "to": "o"}]
            },
            {
                "id": "top",
                "input_condition": {"id": "i-top"}, "output_condition": {"id": "o-top"},
                "conditions": [{"id": "c1-top"}],
                "tasks": [{"id": "a-top", "kind": "atomic", "join": "and"}],
                "flows": [
                    {"from": "i-top", "to": "a-top"}, {"from": "a-top", "to": "c1-top"},
                    {"from": "a-top", "to": "o-top"}, {"from": "c1-top", "to": "a-top"}
                ]
            }
        ]),
        json!({}),
    );
    let a = run.start("A");
    let events = ok(&mut run, complete_cmd(a, json!({})));
    let deadlocked = CaseState::Deadlocked {
        stuck: vec![StuckPlace {
            net_instance: NetInstanceId(1),
            net: "top".into(),
            place: "i-top".into(),
            tokens: 1,
        }],
    };
    assert_eq!(
        events.last(),
        Some(&Event::CaseStateChanged {
            state: deadlocked.clone()
        })
    );
    assert_eq!(run.case_state(), &deadlocked);
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["S"]);
    assert_eq!(run.case.work_items().count(), 0);
}

/// The `TestImproperCompletion` net: `p` AND-splits to itself and to `q`, an unbounded
/// self-loop. YAWL's test runs it for 10 rounds and then cancels the case. Since YAWL
/// 2.1 (and in knhk) completing `q` would put a token in `o` and end the case, so each
/// round starts and completes `p` only: the token count in `c{p_q}` grows by one per
/// round while `q` keeps its single offer (a task is offered once, however many tokens
/// wait). `CancelCase` then removes all work (status Cancelled) and every later command
/// is refused.
#[test]
fn improper_completion_survives_ten_rounds_and_cancel_case_removes_it() {
    let mut run = launch(
        json!([{
            "id": "Decompose",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "p", "kind": "atomic", "join": "xor", "split": "and"},
                {"id": "q", "kind": "atomic"}
            ],
            "flows": [
                {"from": "i", "to": "p"}, {"from": "p", "to": "q"},
                {"from": "p", "to": "p"}, {"from": "q", "to": "o"}
            ]
        }]),
        json!({}),
    );
    run.assert_offered(&["p"]);
    let mut q_offer = None;
    for round in 1..=10u32 {
        run.run_empty("p");
        run.assert_state("running");
        run.assert_offered(&["p", "q"]);
        run.assert_tokens(&[("c{p_p}", 1), ("c{p_q}", round)]);
        let q = run.item("q");
        assert_eq!(
            *q_offer.get_or_insert(q),
            q,
            "q keeps one offer across rounds"
        );
    }
    let mut live: Vec<WorkItemId> = run.case.work_items().map(|i| i.id).collect();
    live.sort();
    let events = ok(&mut run, Command::CancelCase);
    let mut expected: Vec<Event> = live
        .iter()
        .map(|id| Event::WorkItemWithdrawn {
            work_item: *id,
            status: WorkItemStatus::Cancelled,
        })
        .collect();
    expected.push(Event::CaseStateChanged {
        state: CaseState::Cancelled,
    });
    assert_eq!(events, expected);
    run.assert_state("cancelled");
    assert_eq!(run.case.work_items().count(), 0);
    run.assert_tokens(&[]);
    let not_running = CommandError::CaseNotRunning { state: "cancelled" };
    assert_refused(&mut run, start_cmd(q_offer.unwrap()), not_running.clone());
    assert_refused(&mut run, Command::CancelCase, not_running.clone());
    assert_refused(&mut run, Command::SuspendCase, not_running);
    assert_refused(
        &mut run,
        Command::ResumeCase,
        CommandError::CaseNotSuspended { state: "cancelled" },
    );
}

/// Cancel Case (WCP 20, YAWL `TestCaseCancellation`): cancelling a case in the middle
/// of its run cancels every live work item, started or enabled, in the root net and in
/// running subnets, drops every net instance, and leaves no token.
#[test]
fn cancel_case_mid_run_cancels_every_item_and_subnet() {
    let mut run = launch(
        json!([
            {
                "id": "main",
                "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                "tasks": [
                    {"id": "A", "kind": "atomic"},
                    {"id": "B", "kind": "atomic"},
                    {"id": "S", "kind": "composite", "net": "sub"},
                    {"id": "J", "kind": "atomic", "join": "and"}
                ],
                "flows": [
                    {"from": "i", "to": "A"}, {"from": "A", "to": "B"}, {"from": "A", "to": "S"},
                    {"from": "B", "to": "J"}, {"from": "S", "to": "J"}, {"from": "J", "to": "o"}
                ]
            },
            {
                "id": "sub",
                "input_condition": {"id": "si"}, "output_condition": {"id": "so"},
                "tasks": [{"id": "X", "kind": "atomic"}, {"id": "Y", "kind": "atomic"}],
                "flows": [{"from": "si", "to": "X"}, {"from": "X", "to": "Y"}, {"from": "Y", "to": "so"}]
            }
        ]),
        json!({}),
    );
    run.run_empty("A");
    run.assert_offered(&["B", "X"]);
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["S"]);
    let b = run.start("B");
    run.run_empty("X");
    let y = run.item("Y");
    assert_eq!(
        run.case.work_item(y).map(|i| i.net_instance),
        Some(NetInstanceId(1))
    );
    let events = ok(&mut run, Command::CancelCase);
    assert_eq!(
        events,
        vec![
            Event::WorkItemWithdrawn {
                work_item: b,
                status: WorkItemStatus::Cancelled
            },
            Event::WorkItemWithdrawn {
                work_item: y,
                status: WorkItemStatus::Cancelled
            },
            Event::CaseStateChanged {
                state: CaseState::Cancelled
            },
        ]
    );
    run.assert_state("cancelled");
    assert_eq!(run.case.work_items().count(), 0);
    assert_eq!(run.case.net_instances().count(), 0);
    run.assert_tokens(&[]);
    // The root net's data outlives the cancellation.
    assert!(run.case.data().is_object());
    assert_refused(
        &mut run,
        complete_cmd(b, json!({})),
        CommandError::CaseNotRunning { state: "cancelled" },
    );
}

// ---- YAWL_Specification2: OR-split default, MI threshold, AddInstance -------------

/// The YAWL_Specification2 net of `TestYNetRunner.testBasicFireAtomic`, with `b-top`
/// feeding a task `c-top` instead of the output condition so the case is still running
/// when the withdrawn instance is completed:
/// - after launch only `a-top` is offered; firing it empties `i-top` and makes it busy;
/// - its OR-split has one flow, predicate `false` and default, and still puts a token in
///   `c{a-top_b-top}` (the default is taken when no predicate holds);
/// - `b-top` is MI (dynamic, min 2, max 7, threshold 5) over a 6-element list: the first
///   four completions do not exit it, the fifth does and withdraws the sixth instance;
///   completing that instance afterwards is refused (`UnknownWorkItem`);
/// - at the end only the output condition holds a token.
#[test]
fn yawl_specification2_or_default_and_mi_threshold() {
    let mut run = launch(
        json!([{
            "id": "top",
            "input_condition": {"id": "i-top"}, "output_condition": {"id": "o-top"},
            "variables": [{"name": "stubList", "type": "array",
                           "initial": ["s1", "s2", "s3", "s4", "s5", "s6"]}],
            "tasks": [
                {"id": "a-top", "kind": "atomic", "split": "or"},
                {"id": "b-top", "kind": "atomic", "multiple_instance": {
                    "min": 2, "max": 7, "threshold": 5, "creation": "dynamic",
                    "split": "stubList", "item": "stub"}},
                {"id": "c-top", "kind": "atomic"}
            ],
            "flows": [
                {"from": "i-top", "to": "a-top"},
                {"from": "a-top", "to": "b-top", "predicate": "false", "default": true},
                {"from": "b-top", "to": "c-top"},
                {"from": "c-top", "to": "o-top"}
            ]
        }]),
        json!({}),
    );
    run.assert_offered(&["a-top"]);
    run.assert_tokens(&[("i-top", 1)]);
    let a = run.start("a-top");
    run.assert_tokens(&[]);
    run.assert_offered(&[]);
    assert_eq!(run.started(), ["a-top"]);
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["a-top"]);
    run.complete(a, json!({}));
    run.assert_tokens(&[("c{a-top_b-top}", 1)]);
    run.assert_offered(&["b-top"]);

    let first = run.start("b-top");
    assert_eq!(count_fired(&run.events, "b-top"), 1);
    assert!(run.events.contains(&Event::TaskFired {
        net_instance: ROOT_INSTANCE,
        task: "b-top".into(),
        instances: 6
    }));
    run.assert_tokens(&[]);
    let instances = items_of(&run, "b-top");
    assert_eq!(instances.len(), 6);
    assert_eq!(
        instances[0], first,
        "the started offer is the first instance"
    );
    for (k, id) in instances.iter().enumerate() {
        let item = run.case.work_item(*id).unwrap();
        assert_eq!(item.role, WorkItemRole::Instance { slot: k as u32 });
        assert_eq!(item.data["stub"], json!(format!("s{}", k + 1)));
    }
    for id in &instances[1..] {
        ok(&mut run, start_cmd(*id));
    }
    for (k, id) in instances[..4].iter().enumerate() {
        run.complete(*id, json!({}));
        assert_eq!(
            run.case.busy_tasks(ROOT_INSTANCE),
            ["b-top"],
            "after {} completions",
            k + 1
        );
        run.assert_offered(&[]);
    }
    let events = ok(&mut run, complete_cmd(instances[4], json!({})));
    assert!(events.contains(&Event::WorkItemWithdrawn {
        work_item: instances[5],
        status: WorkItemStatus::Withdrawn
    }));
    assert!(events.contains(&Event::TaskCompleted {
        net_instance: ROOT_INSTANCE,
        task: "b-top".into()
    }));
    assert!(run.case.busy_tasks(ROOT_INSTANCE).is_empty());
    run.assert_tokens(&[("c{b-top_c-top}", 1)]);
    run.assert_offered(&["c-top"]);
    assert_refused(
        &mut run,
        complete_cmd(instances[5], json!({})),
        CommandError::UnknownWorkItem(instances[5]),
    );
    assert_refused(
        &mut run,
        start_cmd(instances[5]),
        CommandError::UnknownWorkItem(instances[5]),
    );
    run.run_empty("c-top");
    run.assert_state("completed");
    run.assert_tokens(&[("o-top", 1)]);
    assert_eq!(run.case.work_items().count(), 0);
}

/// `AddInstance` (WCP 15; YAWL `TestYNetRunner.testAddInstance`, Interface B
/// `createInstance`): it works on a busy dynamic MI task, giving a new Enabled instance
/// whose data carries the given element under the MI `item` name; it is refused on a
/// task that is not busy, on a static MI task, on a non-MI task, past `max`, and for an
/// unknown task or net instance. Each refusal changes nothing.
#[test]
fn add_instance_dynamic_static_and_max() {
    let mut run = launch(
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "S"},
                {"id": "D", "kind": "atomic", "multiple_instance": {"min": 1, "max": 3, "creation": "dynamic"}},
                {"id": "T", "kind": "atomic", "multiple_instance": {"min": 2, "max": 2}},
                {"id": "N", "kind": "atomic"}
            ],
            "flows": [
                {"from": "i", "to": "S"}, {"from": "S", "to": "D"}, {"from": "S", "to": "T"},
                {"from": "S", "to": "N"}, {"from": "D", "to": "o"}, {"from": "T", "to": "o"},
                {"from": "N", "to": "o"}
            ]
        }]),
        json!({"k": 0}),
    );
    let add = |task: &str, data: Value| Command::AddInstance {
        net_instance: ROOT_INSTANCE,
        task: task.into(),
        data,
    };
    run.assert_offered(&["D", "N", "T"]);
    assert_refused(
        &mut run,
        add("D", json!(1)),
        CommandError::TaskNotBusy { task: "D".into() },
    );
    let d0 = run.start("D");
    assert_eq!(items_of(&run, "D"), [d0]);
    for n in 1..=2u32 {
        let events = ok(&mut run, add("D", json!({"n": n})));
        let [
            Event::WorkItemEnabled {
                work_item,
                net_instance,
                task,
            },
        ] = events.as_slice()
        else {
            panic!("one enabled work item expected, got {events:?}");
        };
        assert_eq!((*net_instance, &**task), (ROOT_INSTANCE, "D"));
        let item = run.case.work_item(*work_item).unwrap();
        assert_eq!(item.status, WorkItemStatus::Enabled);
        assert_eq!(item.role, WorkItemRole::Instance { slot: n });
        assert_eq!(item.data, json!({"k": 0, "item": {"n": n}}));
    }
    assert_eq!(items_of(&run, "D").len(), 3);
    assert_refused(
        &mut run,
        add("D", json!({"n": 3})),
        CommandError::InstanceCount {
            task: "D".into(),
            count: 4,
            min: 1,
            max: 3,
        },
    );
    run.start("T");
    assert_eq!(items_of(&run, "T").len(), 2);
    assert_refused(
        &mut run,
        add("T", json!(1)),
        CommandError::NotMultipleInstance {
            task: "T".into(),
            needed: "dynamic",
        },
    );
    run.start("N");
    assert_refused(
        &mut run,
        add("N", json!(1)),
        CommandError::NotMultipleInstance {
            task: "N".into(),
            needed: "dynamic",
        },
    );
    assert_refused(
        &mut run,
        add("Z", json!(1)),
        CommandError::UnknownTask {
            net: "main".into(),
            task: "Z".into(),
        },
    );
    assert_refused(
        &mut run,
        Command::AddInstance {
            net_instance: NetInstanceId(7),
            task: "D".into(),
            data: json!(1),
        },
        CommandError::UnknownNetInstance(NetInstanceId(7)),
    );
    // D has no threshold: it exits only when all three instances are done.
    let ds = items_of(&run, "D");
    run.complete(ds[0], json!({}));
    run.run_empty("D");
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["D", "T", "N"]);
    run.run_empty("D");
    run.assert_state("completed");
    assert_eq!(run.case.work_items().count(), 0);
}

/// `AddInstance` on a dynamic multiple-instance *composite* task (which YAWL never
/// built, issue #323; yawl-reference §6.3) starts one more subnet instance under the
/// task, seeded with the element under the MI `item` name, just as firing does; the
/// task exits when every subnet instance has completed.
#[test]
fn add_instance_on_dynamic_composite_task_starts_a_subnet() {
    let mut run = launch(
        json!([
            {
                "id": "main",
                "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                "tasks": [{"id": "C", "kind": "composite", "net": "sub", "multiple_instance":
                    {"min": 1, "max": 2, "creation": "dynamic", "item": "n"}}],
                "flows": [{"from": "i", "to": "C"}, {"from": "C", "to": "o"}]
            },
            {
                "id": "sub",
                "input_condition": {"id": "si"}, "output_condition": {"id": "so"},
                "variables": [{"name": "n", "initial": 0}],
                "tasks": [{"id": "X", "kind": "atomic"}],
                "flows": [{"from": "si", "to": "X"}, {"from": "X", "to": "so"}]
            }
        ]),
        json!({}),
    );
    let (first, second) = (NetInstanceId(1), NetInstanceId(2));
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["C"]);
    let x_in = |run: &Run, net: NetInstanceId| {
        run.case
            .work_items()
            .find(|i| i.net_instance == net)
            .map(|i| i.id)
            .unwrap()
    };
    let x1 = x_in(&run, first);
    let add = |data: Value| Command::AddInstance {
        net_instance: ROOT_INSTANCE,
        task: "C".into(),
        data,
    };
    let events = ok(&mut run, add(json!(7)));
    let x2 = WorkItemId(x1.0 + 1);
    assert_eq!(
        events,
        vec![
            Event::NetStarted {
                net_instance: second,
                net: "sub".into(),
                parent: Some((ROOT_INSTANCE, "C".into()))
            },
            Event::WorkItemEnabled {
                work_item: x2,
                net_instance: second,
                task: "X".into()
            },
        ]
    );
    assert!(
        items_of(&run, "C").is_empty(),
        "no work item for the composite task itself"
    );
    assert_eq!(
        run.case.work_item(x2).map(|i| i.data.clone()),
        Some(json!({"n": 7}))
    );
    assert_eq!(tokens_of(&run, second), marking(&[("si", 1)]));
    assert_refused(
        &mut run,
        add(json!(8)),
        CommandError::InstanceCount {
            task: "C".into(),
            count: 3,
            min: 1,
            max: 2,
        },
    );
    ok(&mut run, start_cmd(x1));
    run.complete(x1, json!({}));
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["C"]);
    assert!(run.case.net_instance(first).is_none());
    ok(&mut run, start_cmd(x2));
    run.complete(x2, json!({}));
    run.assert_state("completed");
}

// ---- joins and busy tasks ---------------------------------------------------------

/// XOR-join (WCP 5, YAWL `t_fire`): with two marked preset conditions, the join fires
/// once and consumes exactly one token, from a preset place chosen at random (seeded: a
/// replay repeats the choice). The other token waits; the busy join is not offered
/// again until it completes, and then fires a second time.
#[test]
fn xor_join_consumes_exactly_one_token() {
    let nets = json!([{
        "id": "main",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "conditions": [{"id": "c1"}, {"id": "c2"}],
        "tasks": [
            {"id": "S"},
            {"id": "J", "kind": "atomic", "join": "xor"},
            {"id": "K", "kind": "atomic"}
        ],
        "flows": [
            {"from": "i", "to": "S"}, {"from": "S", "to": "c1"}, {"from": "S", "to": "c2"},
            {"from": "c1", "to": "J"}, {"from": "c2", "to": "J"}, {"from": "J", "to": "K"},
            {"from": "K", "to": "o"}
        ]
    }]);
    let compiled = spec(nets);
    let mut left = BTreeSet::new();
    for seed in 0..16 {
        let mut run = Run::launch_with(Arc::clone(&compiled), json!({}), seed, Limits::default());
        run.assert_tokens(&[("c1", 1), ("c2", 1)]);
        run.assert_offered(&["J"]);
        let j = run.start("J");
        let tokens = run.tokens();
        assert_eq!(tokens.values().sum::<u32>(), 1, "seed {seed}: {tokens:?}");
        let remaining = tokens.keys().next().unwrap().clone();
        assert!(remaining == "c1" || remaining == "c2");
        run.assert_offered(&[]);
        run.complete(j, json!({}));
        run.assert_offered(&["J", "K"]);
        run.assert_tokens(&[(remaining.as_str(), 1), ("c{J_K}", 1)]);
        run.start("J");
        run.assert_tokens(&[("c{J_K}", 1)]);
        // The same seed makes the same choice.
        let mut again = Run::launch_with(Arc::clone(&compiled), json!({}), seed, Limits::default());
        again.start("J");
        assert_eq!(again.tokens(), tokens);
        left.insert(remaining);
    }
    assert_eq!(left.len(), 2, "both preset places are chosen for some seed");
}

/// A busy task is never enabled (yawl-reference §2, `t_enabled`): J holds a started
/// work item when a second token reaches its preset condition `m`; it is not offered
/// again until its running instance completes, and then it is, with the token still
/// waiting in `m`.
#[test]
fn busy_task_is_not_reenabled_while_tokens_wait() {
    let mut run = launch(
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "conditions": [{"id": "m"}, {"id": "done"}],
            "tasks": [
                {"id": "S"},
                {"id": "A", "kind": "atomic"}, {"id": "B", "kind": "atomic"},
                {"id": "J", "kind": "atomic"}, {"id": "K", "kind": "atomic"}
            ],
            "flows": [
                {"from": "i", "to": "S"}, {"from": "S", "to": "A"}, {"from": "S", "to": "B"},
                {"from": "A", "to": "m"}, {"from": "B", "to": "m"}, {"from": "m", "to": "J"},
                {"from": "J", "to": "done"}, {"from": "done", "to": "K"}, {"from": "K", "to": "o"}
            ]
        }]),
        json!({}),
    );
    run.assert_offered(&["A", "B"]);
    run.run_empty("A");
    run.assert_offered(&["B", "J"]);
    let j = run.start("J");
    run.assert_tokens(&[("c{S_B}", 1)]);
    let b = run.start("B");
    let events = ok(&mut run, complete_cmd(b, json!({})));
    assert_eq!(
        enabled_events_for(&events, "J"),
        0,
        "busy J is not offered: {events:?}"
    );
    run.assert_tokens(&[("m", 1)]);
    run.assert_offered(&[]);
    assert_eq!(run.started(), ["J"]);
    run.complete(j, json!({}));
    run.assert_tokens(&[("done", 1), ("m", 1)]);
    run.assert_offered(&["J", "K"]);
}

// ---- livelock ---------------------------------------------------------------------

/// The Apromore WPC21 structured loop with both tasks empty: B's XOR-split sends the
/// token back to A with predicate `true` (ordering 0) before the default to the output.
/// YAWL recurses forever (§7, "guard against livelock"); the kernel stops after
/// `Limits::steps_max` routing firings within one command and fails the case with
/// `StepBudgetExhausted`, at launch or after a command, without hanging.
#[test]
fn empty_task_livelock_fails_with_step_budget() {
    let loop_net = |first: &str| {
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "X", "kind": "atomic"},
                {"id": "A"},
                {"id": "B", "split": "xor"}
            ],
            "flows": [
                {"from": "i", "to": first},
                {"from": "X", "to": "A"},
                {"from": "A", "to": "B"},
                {"from": "B", "to": "A", "predicate": "true", "ordering": 0},
                {"from": "B", "to": "o", "default": true}
            ]
        }])
    };
    let failed = |steps| CaseState::Failed {
        reason: FailReason::StepBudgetExhausted { steps },
    };

    for steps_max in [50, Limits::default().steps_max] {
        let limits = Limits {
            steps_max,
            ..Limits::default()
        };
        let run = Run::launch_with(spec(loop_net("A")), json!({}), 0, limits);
        assert_eq!(run.case_state(), &failed(steps_max));
        assert_eq!(
            run.events.last(),
            Some(&Event::CaseStateChanged {
                state: failed(steps_max)
            })
        );
        let fired = count_fired(&run.events, "A") + count_fired(&run.events, "B");
        assert!(
            (steps_max as usize..=steps_max as usize + 1).contains(&fired),
            "{fired} firings for a budget of {steps_max}"
        );
        assert_eq!(run.case.work_items().count(), 0);
        run.assert_tokens(&[]);
    }

    // The loop starts after a command: the command succeeds and the case fails.
    let limits = Limits {
        steps_max: 50,
        ..Limits::default()
    };
    let mut run = Run::launch_with(spec(loop_net("X")), json!({}), 0, limits);
    run.assert_offered(&["X"]);
    let x = run.start("X");
    let events = ok(&mut run, complete_cmd(x, json!({})));
    assert_eq!(
        events.last(),
        Some(&Event::CaseStateChanged { state: failed(50) })
    );
    assert_eq!(run.case_state(), &failed(50));
    assert_eq!(run.case.work_items().count(), 0);
    assert_refused(
        &mut run,
        Command::CancelCase,
        CommandError::CaseNotRunning { state: "failed" },
    );
}

// ---- refused commands -------------------------------------------------------------

/// A flow predicate that fails (an unknown variable) or gives a non-boolean (`1 + 1`)
/// refuses the command that led to it with `CommandError::Predicate`, naming the net,
/// the flow and the expression; the case is exactly as before (the completing item is
/// still started, its output not merged). The same holds when the predicate belongs to
/// an empty task fired while the case settles, and at launch the error is a
/// `LaunchError`.
#[test]
fn predicate_errors_refuse_and_leave_case_unchanged() {
    let choice = |router: Value, predicate: &str, split: &str| {
        let mut flows = vec![
            json!({"from": "i", "to": "A"}),
            json!({"from": "B", "to": "o"}),
            json!({"from": "C", "to": "o"}),
            json!({"from": "R", "to": "B", "predicate": predicate}),
            json!({"from": "R", "to": "C", "default": true}),
        ];
        if split == "xor" {
            flows[3]["ordering"] = json!(0);
        }
        flows.push(json!({"from": "A", "to": "R"}));
        let mut r = router;
        r["id"] = json!("R");
        r["split"] = json!(split);
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "A", "kind": "atomic"}, r,
                {"id": "B", "kind": "atomic"}, {"id": "C", "kind": "atomic"}
            ],
            "flows": flows
        }])
    };
    let cases = [
        (json!({"kind": "atomic"}), "missing > 1", "xor", None),
        (
            json!({"kind": "atomic"}),
            "1 + 1",
            "or",
            Some("gave 2, not a boolean"),
        ),
        (json!({}), "nope == 1", "xor", None),
        (
            json!({}),
            "\"yes\"",
            "or",
            Some("gave \"yes\", not a boolean"),
        ),
    ];
    for (router, predicate, split, message) in cases {
        let router_atomic = router["kind"] == "atomic";
        let mut run = launch(choice(router, predicate, split), json!({"n": 1}));
        let a = run.start("A");
        // With an atomic router the predicate runs when R's own work completes; with an
        // empty one, when A's completion lets R fire.
        let completing = if router_atomic {
            run.complete(a, json!({}));
            run.start("R")
        } else {
            a
        };
        let before = snapshot(&run.case);
        let error = run
            .apply(complete_cmd(completing, json!({"x": 1})))
            .unwrap_err();
        let CommandError::Predicate {
            net,
            from,
            to,
            expression,
            message: got,
        } = &error
        else {
            panic!("expected a predicate error, got {error:?}");
        };
        assert_eq!(
            (net.as_str(), from.as_str(), to.as_str()),
            ("main", "R", "B")
        );
        assert_eq!(expression, predicate);
        match message {
            Some(message) => assert_eq!(got, message),
            None => assert!(!got.is_empty()),
        }
        assert_eq!(snapshot(&run.case), before, "{predicate}: the case changed");
        assert_eq!(
            run.case.work_item(completing).map(|i| i.status),
            Some(WorkItemStatus::Started)
        );
        assert_eq!(run.case.data(), json!({"n": 1}));
    }

    // An empty router as the first task fails at launch.
    let nets = choice(json!({}), "missing > 1", "xor");
    let mut nets_first = nets.clone();
    let flows = nets_first[0]["flows"].as_array_mut().unwrap();
    flows.retain(|f| f["from"] != "i" && !(f["from"] == "A" && f["to"] == "R"));
    flows.push(json!({"from": "i", "to": "R"}));
    flows.push(json!({"from": "A", "to": "o"}));
    let error = Case::launch(spec(nets_first), json!({}), 0, Limits::default()).unwrap_err();
    assert!(
        matches!(
            &error,
            LaunchError::Command(CommandError::Predicate { net, from, to, expression, .. })
                if net == "main" && from == "R" && to == "B" && expression == "missing > 1"
        ),
        "{error:?}"
    );
}

/// Completion data is checked against the task's declared outputs before anything
/// happens: a non-object, a missing required output, or a value of the wrong type is
/// refused with `InvalidOutput` and changes nothing; an optional output may be absent.
#[test]
fn malformed_output_is_refused() {
    let mut run = launch(
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "A", "kind": "atomic", "outputs": [
                    {"name": "amount", "type": "integer"},
                    {"name": "note", "type": "string", "optional": true}
                ]},
                {"id": "B", "kind": "atomic"}
            ],
            "flows": [{"from": "i", "to": "A"}, {"from": "A", "to": "B"}, {"from": "B", "to": "o"}]
        }]),
        json!({}),
    );
    let a = run.start("A");
    let invalid = |reason: &str| CommandError::InvalidOutput {
        work_item: a,
        task: "A".into(),
        reason: reason.into(),
    };
    let cases = [
        (json!([1]), "output must be a JSON object"),
        (json!("amount"), "output must be a JSON object"),
        (json!(null), "output must be a JSON object"),
        (json!({}), "missing output `amount`"),
        (json!({"note": "x"}), "missing output `amount`"),
        (
            json!({"amount": "ten"}),
            "output `amount` must be of type Integer",
        ),
        (
            json!({"amount": 1.5}),
            "output `amount` must be of type Integer",
        ),
        (
            json!({"amount": 3, "note": 7}),
            "output `note` must be of type String",
        ),
    ];
    for (output, reason) in cases {
        assert_refused(&mut run, complete_cmd(a, output), invalid(reason));
    }
    run.complete(a, json!({"amount": 3}));
    assert_eq!(run.case.data(), json!({"amount": 3}));
    run.assert_offered(&["B"]);
}

/// Every illegal work-item transition is refused with a typed error and changes
/// nothing: completing an enabled item (`NotStarted`), starting a started one
/// (`NotEnabled`), completing or starting a completed one, acting on an item withdrawn
/// by a deferred choice, and any unknown id (`UnknownWorkItem`); task commands on a task
/// that is not busy (`TaskNotBusy`) or not multiple-instance (`NotMultipleInstance`).
#[test]
fn illegal_work_item_transitions_are_refused() {
    let mut run = launch(
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "conditions": [{"id": "c"}],
            "tasks": [
                {"id": "A", "kind": "atomic"}, {"id": "B", "kind": "atomic"},
                {"id": "C", "kind": "atomic"}
            ],
            "flows": [
                {"from": "i", "to": "A"}, {"from": "A", "to": "c"}, {"from": "c", "to": "B"},
                {"from": "c", "to": "C"}, {"from": "B", "to": "o"}, {"from": "C", "to": "o"}
            ]
        }]),
        json!({}),
    );
    let a = run.item("A");
    assert_refused(
        &mut run,
        complete_cmd(a, json!({})),
        CommandError::NotStarted {
            work_item: a,
            status: WorkItemStatus::Enabled,
        },
    );
    run.start("A");
    assert_refused(
        &mut run,
        start_cmd(a),
        CommandError::NotEnabled {
            work_item: a,
            status: WorkItemStatus::Started,
        },
    );
    run.complete(a, json!({}));
    assert_refused(
        &mut run,
        complete_cmd(a, json!({})),
        CommandError::UnknownWorkItem(a),
    );
    assert_refused(&mut run, start_cmd(a), CommandError::UnknownWorkItem(a));
    run.assert_offered(&["B", "C"]);
    let c = run.item("C");
    run.start("B");
    assert!(run.withdrawn().contains(&(c, WorkItemStatus::Withdrawn)));
    assert_refused(&mut run, start_cmd(c), CommandError::UnknownWorkItem(c));
    assert_refused(
        &mut run,
        complete_cmd(c, json!({})),
        CommandError::UnknownWorkItem(c),
    );
    let unknown = WorkItemId(999);
    assert_refused(
        &mut run,
        start_cmd(unknown),
        CommandError::UnknownWorkItem(unknown),
    );
    assert_refused(
        &mut run,
        complete_cmd(unknown, json!({})),
        CommandError::UnknownWorkItem(unknown),
    );
    assert_refused(
        &mut run,
        Command::FailWorkItem {
            work_item: unknown,
            message: "x".into(),
        },
        CommandError::UnknownWorkItem(unknown),
    );
    assert_refused(
        &mut run,
        Command::TimerExpired { work_item: unknown },
        CommandError::UnknownWorkItem(unknown),
    );
    assert_refused(
        &mut run,
        Command::CancelTask {
            net_instance: ROOT_INSTANCE,
            task: "C".into(),
        },
        CommandError::TaskNotBusy { task: "C".into() },
    );
    assert_refused(
        &mut run,
        Command::CompleteTask {
            net_instance: ROOT_INSTANCE,
            task: "B".into(),
        },
        CommandError::NotMultipleInstance {
            task: "B".into(),
            needed: "",
        },
    );
    assert_refused(
        &mut run,
        Command::CancelTask {
            net_instance: NetInstanceId(3),
            task: "B".into(),
        },
        CommandError::UnknownNetInstance(NetInstanceId(3)),
    );
    run.assert_state("running");
    assert_eq!(run.started(), ["B"]);
}

/// Launch data must be an object, and each value must have its variable's declared
/// type; other fields are kept as they are.
#[test]
fn launch_data_errors() {
    let compiled = spec(json!([{
        "id": "main",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "variables": [{"name": "amount", "type": "integer", "initial": 0}],
        "tasks": [{"id": "A", "kind": "atomic"}],
        "flows": [{"from": "i", "to": "A"}, {"from": "A", "to": "o"}]
    }]));
    let launch = |data: Value| Case::launch(Arc::clone(&compiled), data, 0, Limits::default());
    for data in [json!([1]), json!(null), json!("x"), json!(3)] {
        assert_eq!(launch(data).unwrap_err(), LaunchError::DataNotObject);
    }
    for data in [json!({"amount": "ten"}), json!({"amount": 1.5})] {
        assert_eq!(
            launch(data).unwrap_err(),
            LaunchError::VariableType {
                variable: "amount".into(),
                expected: DataType::Integer
            }
        );
    }
    let (case, _) = launch(json!({"amount": 5, "other": "x"})).unwrap();
    assert_eq!(case.data(), json!({"amount": 5, "other": "x"}));
    let (case, _) = launch(json!({})).unwrap();
    assert_eq!(case.data(), json!({"amount": 0}));
    // `null` leaves a typed variable unset, as a variable without an initial value is.
    let (case, _) = launch(json!({"amount": null})).unwrap();
    assert_eq!(case.data(), json!({"amount": null}));
}

/// A suspended case refuses work-item and task commands (`CaseNotRunning`) and a second
/// suspension; `ResumeCase` brings it back and work goes on; resuming a running case is
/// refused (`CaseNotSuspended`); a suspended case can still be cancelled.
#[test]
fn suspended_case_refuses_work_until_resumed() {
    let mut run = launch(
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [{"id": "A", "kind": "atomic"}, {"id": "B", "kind": "atomic"}],
            "flows": [{"from": "i", "to": "A"}, {"from": "A", "to": "B"}, {"from": "B", "to": "o"}]
        }]),
        json!({}),
    );
    let a = run.item("A");
    assert_refused(
        &mut run,
        Command::ResumeCase,
        CommandError::CaseNotSuspended { state: "running" },
    );
    assert_eq!(
        ok(&mut run, Command::SuspendCase),
        [Event::CaseStateChanged {
            state: CaseState::Suspended
        }]
    );
    let suspended = CommandError::CaseNotRunning { state: "suspended" };
    assert_refused(&mut run, start_cmd(a), suspended.clone());
    assert_refused(&mut run, Command::SuspendCase, suspended.clone());
    assert_refused(
        &mut run,
        Command::TimerExpired { work_item: a },
        suspended.clone(),
    );
    assert_refused(
        &mut run,
        Command::Signal { name: "s".into() },
        suspended.clone(),
    );
    assert_eq!(
        ok(&mut run, Command::ResumeCase),
        [Event::CaseStateChanged {
            state: CaseState::Running
        }]
    );
    run.start("A");
    ok(&mut run, Command::SuspendCase);
    assert_refused(&mut run, complete_cmd(a, json!({})), suspended.clone());
    assert_refused(
        &mut run,
        Command::FailWorkItem {
            work_item: a,
            message: "no".into(),
        },
        suspended.clone(),
    );
    assert_refused(
        &mut run,
        Command::CancelTask {
            net_instance: ROOT_INSTANCE,
            task: "A".into(),
        },
        suspended,
    );
    ok(&mut run, Command::ResumeCase);
    run.complete(a, json!({}));
    run.assert_offered(&["B"]);
    ok(&mut run, Command::SuspendCase);
    let b = run.item("B");
    let events = ok(&mut run, Command::CancelCase);
    assert_eq!(
        events,
        [
            Event::WorkItemWithdrawn {
                work_item: b,
                status: WorkItemStatus::Cancelled
            },
            Event::CaseStateChanged {
                state: CaseState::Cancelled
            },
        ]
    );
}

// ---- timers -----------------------------------------------------------------------

/// Timers (yawl-reference §1, `timer` with OnEnabled/OnExecuting): the kernel reports
/// `TimerArmed` when an `on_enabled` timer's item is offered; `TimerExpired` with
/// `on_expiry: complete` starts the enabled item (firing its task) and completes it with
/// the data it has, and the case moves on.
#[test]
fn timer_on_enabled_expiry_starts_and_completes() {
    let mut run = launch(
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "T", "kind": "atomic", "timer": {"trigger": "on_enabled", "duration_ms": 1000}},
                {"id": "U", "kind": "atomic", "timer": {"trigger": "on_enabled", "expiry_ms": 1_700_000_000_000u64}}
            ],
            "flows": [{"from": "i", "to": "T"}, {"from": "T", "to": "U"}, {"from": "U", "to": "o"}]
        }]),
        json!({"v": 1}),
    );
    let t = run.item("T");
    assert_eq!(
        run.events,
        vec![
            Event::NetStarted {
                net_instance: ROOT_INSTANCE,
                net: "main".into(),
                parent: None
            },
            Event::WorkItemEnabled {
                work_item: t,
                net_instance: ROOT_INSTANCE,
                task: "T".into()
            },
            Event::TimerArmed {
                work_item: t,
                duration_ms: Some(1000),
                expiry_ms: None
            },
        ]
    );
    let events = ok(&mut run, Command::TimerExpired { work_item: t });
    let u = WorkItemId(t.0 + 1);
    assert_eq!(
        events,
        vec![
            Event::TaskFired {
                net_instance: ROOT_INSTANCE,
                task: "T".into(),
                instances: 1
            },
            Event::WorkItemStarted { work_item: t },
            Event::WorkItemCompleted { work_item: t },
            Event::TaskCompleted {
                net_instance: ROOT_INSTANCE,
                task: "T".into()
            },
            Event::WorkItemEnabled {
                work_item: u,
                net_instance: ROOT_INSTANCE,
                task: "U".into()
            },
            Event::TimerArmed {
                work_item: u,
                duration_ms: None,
                expiry_ms: Some(1_700_000_000_000)
            },
        ]
    );
    assert_eq!(run.case.data(), json!({"v": 1}));
    // A started item completes directly.
    run.start("U");
    let events = ok(&mut run, Command::TimerExpired { work_item: u });
    assert_eq!(events[0], Event::WorkItemCompleted { work_item: u });
    run.assert_state("completed");
}

/// An `on_executing` timer is armed when its item starts, not when it is offered; an
/// expiry with `on_expiry: fail` fails the work item and the case, withdrawing the
/// other live work.
#[test]
fn timer_on_executing_arms_on_start_and_fail_fails_the_case() {
    let mut run = launch(
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "S"},
                {"id": "T", "kind": "atomic",
                 "timer": {"trigger": "on_executing", "duration_ms": 500, "on_expiry": "fail"}},
                {"id": "P", "kind": "atomic"}
            ],
            "flows": [
                {"from": "i", "to": "S"}, {"from": "S", "to": "T"}, {"from": "S", "to": "P"},
                {"from": "T", "to": "o"}, {"from": "P", "to": "o"}
            ]
        }]),
        json!({}),
    );
    assert!(
        !run.events
            .iter()
            .any(|e| matches!(e, Event::TimerArmed { .. }))
    );
    let p = run.item("P");
    let t = run.item("T");
    // An on-executing timer is not armed before its item starts, nor is there a timer
    // on P at all: an expiry for either is refused and changes nothing.
    assert_refused(
        &mut run,
        Command::TimerExpired { work_item: t },
        CommandError::NoTimer { work_item: t },
    );
    assert_refused(
        &mut run,
        Command::TimerExpired { work_item: p },
        CommandError::NoTimer { work_item: p },
    );
    let events = ok(&mut run, start_cmd(t));
    assert_eq!(
        events,
        vec![
            Event::TaskFired {
                net_instance: ROOT_INSTANCE,
                task: "T".into(),
                instances: 1
            },
            Event::WorkItemStarted { work_item: t },
            Event::TimerArmed {
                work_item: t,
                duration_ms: Some(500),
                expiry_ms: None
            },
        ]
    );
    let events = ok(&mut run, Command::TimerExpired { work_item: t });
    let failed = CaseState::Failed {
        reason: FailReason::WorkItemFailed {
            work_item: t,
            task: "T".into(),
            message: "timer expired".into(),
        },
    };
    assert_eq!(
        events,
        vec![
            Event::WorkItemFailed { work_item: t },
            Event::WorkItemWithdrawn {
                work_item: p,
                status: WorkItemStatus::Withdrawn
            },
            Event::CaseStateChanged {
                state: failed.clone()
            },
        ]
    );
    assert_eq!(run.case_state(), &failed);
    assert_eq!(run.case.work_items().count(), 0);
    // A failed case still shows its data.
    assert_eq!(run.case.data(), json!({}));
}

// ---- splits and deferred choice (Apromore pattern models) -------------------------

/// Apromore WPC16 (deferred choice) with `D_1` empty beside atomic `C_1` on condition
/// `B_1`: YAWL's `YEnabledTransitionSet` runs an empty task of a deferred-choice group
/// at once, so the engine settles the choice and `C_1` is never offered, whatever the
/// seed.
#[test]
fn wpc16_empty_task_wins_deferred_choice_at_once() {
    let compiled = spec(json!([{
        "id": "Net",
        "input_condition": {"id": "InputCondition"}, "output_condition": {"id": "OutputCondition"},
        "conditions": [{"id": "B_1"}],
        "tasks": [
            {"id": "A", "kind": "atomic"},
            {"id": "C_1", "kind": "atomic"},
            {"id": "D_1"}
        ],
        "flows": [
            {"from": "InputCondition", "to": "A"}, {"from": "A", "to": "B_1"},
            {"from": "B_1", "to": "C_1"}, {"from": "B_1", "to": "D_1"},
            {"from": "C_1", "to": "OutputCondition"}, {"from": "D_1", "to": "OutputCondition"}
        ]
    }]));
    for seed in 0..8 {
        let mut run = Run::launch_with(Arc::clone(&compiled), json!({}), seed, Limits::default());
        run.run_empty("A");
        assert_eq!(
            enabled_events_for(&run.events, "C_1"),
            0,
            "seed {seed}: C_1 was offered"
        );
        assert_eq!(run.completed_tasks(), ["A", "D_1"]);
        run.assert_state("completed");
    }
}

/// Apromore WPC6 (multi-choice): A's OR-split has a default flow to `C_1` whose own
/// predicate is `true`, beside `cond <= 10` to B and `cond > 10` to `D_1`. YAWL
/// evaluates the default's predicate too, so `C_1` fires alongside the true branch.
/// The OR-join E then waits for every branch that can still arrive.
#[test]
fn wpc6_or_split_default_true_fires_alongside() {
    let compiled = spec(json!([{
        "id": "Net",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "variables": [{"name": "cond", "type": "integer", "initial": 0}],
        "tasks": [
            {"id": "A", "kind": "atomic", "split": "or"},
            {"id": "D_1", "kind": "atomic"},
            {"id": "C_1", "kind": "atomic"},
            {"id": "B", "kind": "atomic"},
            {"id": "E", "kind": "atomic", "join": "or"}
        ],
        "flows": [
            {"from": "i", "to": "A"},
            {"from": "A", "to": "C_1", "predicate": "true", "default": true},
            {"from": "A", "to": "B", "predicate": "cond <= 10"},
            {"from": "A", "to": "D_1", "predicate": "cond > 10"},
            {"from": "D_1", "to": "E"}, {"from": "C_1", "to": "E"}, {"from": "B", "to": "E"},
            {"from": "E", "to": "o"}
        ]
    }]));
    let mut run = Run::launch_with(
        Arc::clone(&compiled),
        json!({"cond": 5}),
        0,
        Limits::default(),
    );
    run.run_empty("A");
    run.assert_offered(&["B", "C_1"]);
    run.assert_tokens(&[("c{A_B}", 1), ("c{A_C_1}", 1)]);
    run.run_empty("B");
    run.assert_offered(&["C_1"]);
    run.run_empty("C_1");
    run.assert_offered(&["E"]);
    run.run_empty("E");
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["A", "B", "C_1", "E"]);

    let mut run = Run::launch_with(compiled, json!({"cond": 15}), 0, Limits::default());
    run.run_empty("A");
    run.assert_offered(&["C_1", "D_1"]);
    run.assert_tokens(&[("c{A_C_1}", 1), ("c{A_D_1}", 1)]);
}

/// Apromore WPC4 (exclusive choice): the XOR-split tries predicates by `ordering`
/// (`c == 0` to B, then `c == 1` to C), the default D last, whatever the document order
/// of the flows. A second net has overlapping predicates listed against their ordering:
/// the lower ordering wins.
#[test]
fn wpc4_xor_split_follows_ordering() {
    let net = |flows: Value| {
        spec(json!([{
            "id": "Net",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "variables": [{"name": "c", "type": "integer", "initial": 0}],
            "tasks": [
                {"id": "A", "kind": "atomic", "split": "xor"},
                {"id": "D", "kind": "atomic"}, {"id": "C", "kind": "atomic"},
                {"id": "B", "kind": "atomic"}
            ],
            "flows": flows
        }]))
    };
    let tail = [
        json!({"from": "i", "to": "A"}),
        json!({"from": "B", "to": "o"}),
        json!({"from": "C", "to": "o"}),
        json!({"from": "D", "to": "o"}),
    ];
    let with = |split: [Value; 3]| Value::Array(split.into_iter().chain(tail.clone()).collect());
    let wpc4 = net(with([
        json!({"from": "A", "to": "B", "predicate": "c == 0", "ordering": 0}),
        json!({"from": "A", "to": "D", "default": true}),
        json!({"from": "A", "to": "C", "predicate": "c == 1", "ordering": 1}),
    ]));
    let overlapping = net(with([
        json!({"from": "A", "to": "D", "default": true, "predicate": "true"}),
        json!({"from": "A", "to": "C", "predicate": "c >= 0", "ordering": 1}),
        json!({"from": "A", "to": "B", "predicate": "c == 0", "ordering": 0}),
    ]));
    let cases = [
        (&wpc4, 0, "B"),
        (&wpc4, 1, "C"),
        (&wpc4, 2, "D"),
        (&wpc4, -1, "D"),
        (&overlapping, 0, "B"),
        (&overlapping, 1, "C"),
        (&overlapping, -1, "D"),
    ];
    for (compiled, c, expected) in cases {
        let mut run = Run::launch_with(Arc::clone(compiled), json!({"c": c}), 0, Limits::default());
        run.run_empty("A");
        run.assert_offered(&[expected]);
        run.assert_tokens(&[(format!("c{{A_{expected}}}").as_str(), 1)]);
    }
}

// ---- composite tasks --------------------------------------------------------------

/// Composite tasks (yawl-reference §2, `YCompositeTask`): S fires at once with no work
/// item and starts a subnet instance seeded by its input mappings; when the subnet's
/// output condition is marked the instance ends, its data becomes S's output (merged
/// into the parent's data, or written through output mappings), and the parent goes on.
#[test]
fn composite_task_runs_subnet_and_merges_output() {
    let nets = |output_mappings: Value| {
        json!([
            {
                "id": "main",
                "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                "variables": [{"name": "amount", "type": "integer", "initial": 0}],
                "tasks": [
                    {"id": "A", "kind": "atomic"},
                    {"id": "S", "kind": "composite", "net": "sub",
                     "input_mappings": [{"to": "amount", "expression": "amount + 1"}],
                     "output_mappings": output_mappings},
                    {"id": "B", "kind": "atomic"}
                ],
                "flows": [
                    {"from": "i", "to": "A"}, {"from": "A", "to": "S"}, {"from": "S", "to": "B"},
                    {"from": "B", "to": "o"}
                ]
            },
            {
                "id": "sub",
                "input_condition": {"id": "si"}, "output_condition": {"id": "so"},
                "variables": [
                    {"name": "amount", "type": "integer"},
                    {"name": "approved", "type": "boolean", "initial": false}
                ],
                "tasks": [{"id": "X", "kind": "atomic"}],
                "flows": [{"from": "si", "to": "X"}, {"from": "X", "to": "so"}]
            }
        ])
    };
    let sub = NetInstanceId(1);
    let variants = [
        (json!([]), json!({"amount": 11, "approved": true})),
        (
            json!([{"to": "result", "expression": "output.approved"}]),
            json!({"amount": 10, "result": true}),
        ),
    ];
    for (mappings, final_data) in variants {
        let mut run = launch(nets(mappings), json!({"amount": 10}));
        let a = run.start("A");
        let events = ok(&mut run, complete_cmd(a, json!({})));
        assert_eq!(
            events[..5],
            [
                Event::WorkItemCompleted { work_item: a },
                Event::TaskCompleted {
                    net_instance: ROOT_INSTANCE,
                    task: "A".into()
                },
                Event::TaskFired {
                    net_instance: ROOT_INSTANCE,
                    task: "S".into(),
                    instances: 1
                },
                Event::NetStarted {
                    net_instance: sub,
                    net: "sub".into(),
                    parent: Some((ROOT_INSTANCE, "S".into()))
                },
                Event::WorkItemEnabled {
                    work_item: WorkItemId(a.0 + 1),
                    net_instance: sub,
                    task: "X".into()
                },
            ]
        );
        assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["S"]);
        run.assert_tokens(&[]);
        assert_eq!(tokens_of(&run, sub), marking(&[("si", 1)]));
        run.assert_offered(&["X"]);
        let x = run.item("X");
        let item = run.case.work_item(x).unwrap();
        assert_eq!(item.net_instance, sub);
        assert_eq!(item.data, json!({"amount": 11, "approved": false}));
        run.start("X");
        let events = ok(&mut run, complete_cmd(x, json!({"approved": true})));
        assert_eq!(
            events,
            vec![
                Event::WorkItemCompleted { work_item: x },
                Event::TaskCompleted {
                    net_instance: sub,
                    task: "X".into()
                },
                Event::NetCompleted { net_instance: sub },
                Event::TaskCompleted {
                    net_instance: ROOT_INSTANCE,
                    task: "S".into()
                },
                Event::WorkItemEnabled {
                    work_item: WorkItemId(x.0 + 1),
                    net_instance: ROOT_INSTANCE,
                    task: "B".into()
                },
            ]
        );
        assert!(run.case.net_instance(sub).is_none());
        assert_eq!(run.case.data(), final_data);
        run.assert_tokens(&[("c{S_B}", 1)]);
        run.run_empty("B");
        run.assert_state("completed");
    }
}

/// YAWL_Specification4 (`TestEngineSystem2.testMultimergeNets`): the root's composite
/// `q` runs a subnet where `b-top` AND-splits to `c-top` and `d-top`, both feeding the
/// XOR-join `e-top`. Completing `e-top` once puts the first token in the subnet's output
/// condition, which ends the subnet (WCP 43): `d-top`'s started work is withdrawn, `q`
/// completes and so does the case. Both of `e-top`'s preset conditions can be marked at
/// once; `e-top` is still offered once, and the leftover token goes with the subnet.
#[test]
fn first_output_token_ends_subnet_and_withdraws_leftovers() {
    let compiled = spec(json!([
        {
            "id": "Decompose",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [{"id": "q", "kind": "composite", "net": "DoNothing"}],
            "flows": [{"from": "i", "to": "q"}, {"from": "q", "to": "o"}]
        },
        {
            "id": "DoNothing",
            "input_condition": {"id": "i-top"}, "output_condition": {"id": "o-top"},
            "tasks": [
                {"id": "b-top", "kind": "atomic"},
                {"id": "c-top", "kind": "atomic", "cancellation_set": ["b-top"]},
                {"id": "d-top", "kind": "atomic"},
                {"id": "e-top", "kind": "atomic", "join": "xor"}
            ],
            "flows": [
                {"from": "i-top", "to": "b-top"}, {"from": "b-top", "to": "c-top"},
                {"from": "b-top", "to": "d-top"}, {"from": "c-top", "to": "e-top"},
                {"from": "d-top", "to": "e-top"}, {"from": "e-top", "to": "o-top"}
            ]
        }
    ]));
    let sub = NetInstanceId(1);

    let mut run = Run::launch_with(Arc::clone(&compiled), json!({}), 0, Limits::default());
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["q"]);
    run.run_empty("b-top");
    run.assert_offered(&["c-top", "d-top"]);
    run.run_empty("c-top");
    run.assert_offered(&["d-top", "e-top"]);
    let d = run.start("d-top");
    let e = run.start("e-top");
    let events = ok(&mut run, complete_cmd(e, json!({})));
    assert_eq!(
        events,
        vec![
            Event::WorkItemCompleted { work_item: e },
            Event::TaskCompleted {
                net_instance: sub,
                task: "e-top".into()
            },
            Event::WorkItemWithdrawn {
                work_item: d,
                status: WorkItemStatus::Withdrawn
            },
            Event::NetCompleted { net_instance: sub },
            Event::TaskCompleted {
                net_instance: ROOT_INSTANCE,
                task: "q".into()
            },
            Event::NetCompleted {
                net_instance: ROOT_INSTANCE
            },
            Event::CaseStateChanged {
                state: CaseState::Completed
            },
        ]
    );
    run.assert_state("completed");
    assert_eq!(run.case.work_items().count(), 0);
    run.assert_tokens(&[("o", 1)]);

    let mut run = Run::launch_with(compiled, json!({}), 0, Limits::default());
    run.run_empty("b-top");
    run.run_empty("c-top");
    run.run_empty("d-top");
    assert_eq!(
        tokens_of(&run, sub),
        marking(&[("c{c-top_e-top}", 1), ("c{d-top_e-top}", 1)])
    );
    run.assert_offered(&["e-top"]);
    run.run_empty("e-top");
    run.assert_state("completed");
    assert!(run.case.net_instance(sub).is_none());
    assert_eq!(run.case.work_items().count(), 0);
}

/// A command refused half-way through settling must still leave the case unchanged,
/// even in a specification with no expressions: a recursive composite task (WCP 22)
/// that nests past `Limits::subnet_depth_max` (`SubnetDepth`), and a multiple-instance
/// task whose instance count exceeds `Limits::mi_instances_max` (`InstanceCount`).
#[test]
fn limits_refuse_commands_without_partial_changes() {
    let recursive = spec(json!([
        {
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [{"id": "A", "kind": "atomic"}, {"id": "R", "kind": "composite", "net": "rec"}],
            "flows": [{"from": "i", "to": "A"}, {"from": "A", "to": "R"}, {"from": "R", "to": "o"}]
        },
        {
            "id": "rec",
            "input_condition": {"id": "ri"}, "output_condition": {"id": "ro"},
            "tasks": [{"id": "R", "kind": "composite", "net": "rec"}],
            "flows": [{"from": "ri", "to": "R"}, {"from": "R", "to": "ro"}]
        }
    ]));
    let limits = Limits {
        subnet_depth_max: 3,
        ..Limits::default()
    };
    let mut run = Run::launch_with(recursive, json!({}), 0, limits);
    let a = run.start("A");
    assert_refused(
        &mut run,
        complete_cmd(a, json!({})),
        CommandError::SubnetDepth {
            task: "R".into(),
            depth_max: 3,
        },
    );

    let many = spec(json!([{
        "id": "main",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": [{"id": "M", "kind": "atomic", "multiple_instance": {"min": 3, "max": 5}}],
        "flows": [{"from": "i", "to": "M"}, {"from": "M", "to": "o"}]
    }]));
    let limits = Limits {
        mi_instances_max: 2,
        ..Limits::default()
    };
    let mut run = Run::launch_with(many, json!({}), 0, limits);
    let m = run.item("M");
    assert_refused(
        &mut run,
        start_cmd(m),
        CommandError::InstanceCount {
            task: "M".into(),
            count: 3,
            min: 3,
            max: 2,
        },
    );
}

// ---- the OR-join's budget ------------------------------------------------------------

/// An AND-split into branches B and C merged by the OR-join J. After B completes, J's
/// analysis must search backwards to see that C can still mark its other input.
fn or_join_net() -> Value {
    json!([{
        "id": "main",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": [
            {"id": "A"},
            {"id": "B", "kind": "atomic"},
            {"id": "C", "kind": "atomic"},
            {"id": "J", "kind": "atomic", "join": "or"}
        ],
        "flows": [
            {"from": "i", "to": "A"}, {"from": "A", "to": "B"}, {"from": "A", "to": "C"},
            {"from": "B", "to": "J"}, {"from": "C", "to": "J"}, {"from": "J", "to": "o"}
        ]
    }])
}

fn undecided(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::OrJoinUndecided { task, .. } if task == "J"))
        .count()
}

/// With enough budget the analysis decides: J waits for C while C can still run.
#[test]
fn or_join_with_budget_waits_for_a_live_branch() {
    let mut run = Run::launch_with(spec(or_join_net()), json!({}), 0, Limits::default());
    run.run_empty("B");
    run.assert_offered(&["C"]);
    assert_eq!(undecided(&run.events), 0);
    run.run_empty("C");
    run.assert_offered(&["J"]);
}

/// Out of budget with the default fallback (`Wait`): the verdict is reported as
/// undecided and J is not offered; once C has completed, every input is marked and J
/// is enabled without analysis.
#[test]
fn or_join_out_of_budget_waits_by_default() {
    let limits = Limits {
        or_join_work_max: 1,
        ..Limits::default()
    };
    assert_eq!(limits.or_join_fallback, knhk_kernel::OrJoinFallback::Wait);
    let mut run = Run::launch_with(spec(or_join_net()), json!({}), 0, limits);
    run.run_empty("B");
    run.assert_offered(&["C"]);
    assert!(undecided(&run.events) >= 1);
    run.run_empty("C");
    run.assert_offered(&["J"]);
    run.run_empty("J");
    run.assert_state("completed");
}

/// Out of budget with the `Fire` fallback: J is offered as soon as B has arrived, and
/// takes B's token alone; C's later token finds J busy or gone.
#[test]
fn or_join_out_of_budget_fires_when_so_configured() {
    let limits = Limits {
        or_join_work_max: 1,
        or_join_fallback: knhk_kernel::OrJoinFallback::Fire,
        ..Limits::default()
    };
    let mut run = Run::launch_with(spec(or_join_net()), json!({}), 0, limits);
    run.run_empty("B");
    run.assert_offered(&["C", "J"]);
    assert!(undecided(&run.events) >= 1);
    run.run_empty("J");
    run.assert_state("completed");
}

/// YAWL's `t_isExitEnabled`: an MI task exits when its threshold is reached *or* when
/// every instance has completed, so a task with fewer instances than its threshold
/// still exits once they are all done.
#[test]
fn mi_task_with_fewer_instances_than_its_threshold_exits_when_all_are_done() {
    let mut run = launch(
        json!([{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "M", "kind": "atomic", "multiple_instance": {
                    "min": 1, "max": 10, "threshold": 5, "split": "items"}},
                {"id": "N", "kind": "atomic"}
            ],
            "flows": [{"from": "i", "to": "M"}, {"from": "M", "to": "N"}, {"from": "N", "to": "o"}]
        }]),
        json!({"items": [1, 2, 3]}),
    );
    let first = run.start("M");
    run.complete(first, json!({}));
    for _ in 0..2 {
        run.assert_offered(&["M", "M"][..run.offered().len()]);
        let id = run.start("M");
        run.complete(id, json!({}));
    }
    run.assert_offered(&["N"]);
    assert_eq!(run.completed_tasks(), ["M"]);
}

/// `mappings_only` (YAWL's data rule): a task without mappings sees none of the net's
/// data and writes none back; a composite task without mappings starts its subnet from
/// the subnet's own initial values.
#[test]
fn mappings_only_tasks_move_data_through_their_mappings_alone() {
    let mut run = launch(
        json!([
            {
                "id": "main",
                "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                "variables": [{"name": "c", "initial": 5}],
                "tasks": [
                    {"id": "A", "kind": "atomic", "mappings_only": true},
                    {"id": "S", "kind": "composite", "net": "sub", "mappings_only": true},
                    {"id": "B", "kind": "atomic", "mappings_only": true,
                     "input_mappings": [{"to": "seen", "expression": "c"}],
                     "output_mappings": [{"to": "c", "expression": "output.c"}]}
                ],
                "flows": [
                    {"from": "i", "to": "A"}, {"from": "A", "to": "S"},
                    {"from": "S", "to": "B"}, {"from": "B", "to": "o"}
                ]
            },
            {
                "id": "sub",
                "input_condition": {"id": "si"}, "output_condition": {"id": "so"},
                "variables": [{"name": "c", "initial": 0}],
                "tasks": [{"id": "T", "kind": "atomic"}],
                "flows": [{"from": "si", "to": "T"}, {"from": "T", "to": "so"}]
            }
        ]),
        json!({}),
    );
    let a = run.item("A");
    assert_eq!(run.case.work_item(a).unwrap().data, json!({}));
    run.run("A", json!({"c": 1, "extra": true}));
    assert_eq!(run.case.data(), json!({"c": 5}));
    // The subnet starts from its own initial value, not the parent's c.
    let t = run.item("T");
    assert_eq!(run.case.work_item(t).unwrap().data, json!({"c": 0}));
    run.run("T", json!({"c": 9}));
    assert_eq!(run.case.data(), json!({"c": 5}));
    let b = run.item("B");
    assert_eq!(run.case.work_item(b).unwrap().data, json!({"seen": 5}));
    run.run("B", json!({"c": 6}));
    run.assert_state("completed");
    assert_eq!(run.case.data(), json!({"c": 6}));
}
