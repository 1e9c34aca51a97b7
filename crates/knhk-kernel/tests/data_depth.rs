//! `Limits::data_depth_max`: every path that puts a value into net data or work item
//! data refuses one nesting a level too deep and accepts one exactly at the limit, and a
//! refusal leaves the case exactly as it was. Also `Command::FailCase`.
//!
//! Depth counts the data object as 1: a field holding `nested(k)` (k arrays deep) makes
//! its data `k + 1` deep.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use knhk_kernel::{
    Case, CaseState, Command, CommandError, CompiledSpec, Event, FailReason, LaunchError, Limits,
    ROOT_INSTANCE, WorkItemId, WorkItemStatus,
};
use serde_json::{Value, json};
use support::Run;

/// The limit most tests run with: small, so the values stay readable.
const MAX: u32 = 6;

/// Arrays nested `k` deep around `1` (`nested(0)` is `1`).
fn nested(k: u32) -> Value {
    (0..k).fold(json!(1), |inner, _| Value::Array(vec![inner]))
}

fn limits() -> Limits {
    Limits {
        data_depth_max: MAX,
        ..Limits::default()
    }
}

/// Compiles a specification whose nets are `nets`; the first is the root.
fn spec(nets: Value) -> Arc<CompiledSpec> {
    let root = nets[0]["id"].as_str().expect("net id").to_owned();
    support::compile_text(&json!({"id": "depth", "root_net": root, "nets": nets}).to_string())
}

fn launch(spec: &Arc<CompiledSpec>, data: Value) -> Result<Run, LaunchError> {
    Case::launch(Arc::clone(spec), data, 0, limits()).map(|(case, events)| Run { case, events })
}

/// `DataTooDeep` as the kernel reports it.
fn too_deep(net: &str, task: Option<&str>, what: &str, depth: u32) -> CommandError {
    CommandError::DataTooDeep {
        net: net.to_owned(),
        task: task.map(str::to_owned),
        what: what.to_owned(),
        depth,
        max: MAX,
    }
}

/// Applies `command`, expecting `expected`, and checks the case did not change at all.
#[track_caller]
fn assert_refused(run: &mut Run, command: Command, expected: CommandError) {
    let before = run.case.image();
    let events = run.events.len();
    assert_eq!(run.apply(command.clone()), Err(expected), "{command:?}");
    assert_eq!(
        run.case.image(),
        before,
        "a refused command changed the case"
    );
    assert_eq!(run.events.len(), events);
}

fn complete(work_item: WorkItemId, output: Value) -> Command {
    Command::CompleteWorkItem { work_item, output }
}

/// `i -> a -> b -> o` with atomic tasks; `b` gets `b_task` merged in.
fn sequence(b_task: Value) -> Value {
    let mut b = json!({"id": "b", "kind": "atomic"});
    b.as_object_mut()
        .unwrap()
        .extend(b_task.as_object().unwrap().clone());
    json!([{
        "id": "main",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": [{"id": "a", "kind": "atomic"}, b],
        "flows": [{"from": "i", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "o"}]
    }])
}

// ---- launch -----------------------------------------------------------------------

#[test]
fn launch_data_is_bounded() {
    let spec = spec(sequence(json!({})));
    let run = launch(&spec, json!({"x": nested(MAX - 1)})).unwrap();
    assert_eq!(run.case.data()["x"], nested(MAX - 1));
    let refused = launch(&spec, json!({"ok": 1, "x": nested(MAX)}));
    assert_eq!(
        refused.err(),
        Some(LaunchError::Command(too_deep(
            "main",
            None,
            "launch data field `x`",
            MAX + 1
        )))
    );
}

#[test]
fn initial_values_of_every_net_are_bounded_at_launch() {
    let nets = |initial: Value| {
        json!([
            {
                "id": "main",
                "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                "tasks": [{"id": "c", "kind": "composite", "net": "sub"}],
                "flows": [{"from": "i", "to": "c"}, {"from": "c", "to": "o"}],
                "variables": [{"name": "shallow", "initial": [1]}]
            },
            {
                "id": "sub",
                "input_condition": {"id": "si"}, "output_condition": {"id": "so"},
                "tasks": [{"id": "s", "kind": "atomic"}],
                "flows": [{"from": "si", "to": "s"}, {"from": "s", "to": "so"}],
                "variables": [{"name": "v", "initial": initial}, {"name": "w", "initial": 2}]
            }
        ])
    };
    let run = launch(&spec(nets(nested(MAX - 1))), json!({})).unwrap();
    let sub = run
        .case
        .net_instances()
        .find(|(id, _)| *id != ROOT_INSTANCE);
    assert_eq!(sub.unwrap().1.data()["v"], nested(MAX - 1));
    // Refused even before the subnet starts: any subnet may start later.
    let refused = launch(&spec(nets(nested(MAX))), json!({}));
    assert_eq!(
        refused.err(),
        Some(LaunchError::Command(too_deep(
            "sub",
            None,
            "initial value of `v`",
            MAX + 1
        )))
    );
}

#[test]
fn the_default_limit_is_32_and_old_records_read_as_100() {
    assert_eq!(Limits::default().data_depth_max, 32);
    assert_eq!(Limits::DATA_DEPTH_CEILING, 100);
    let spec = spec(sequence(json!({})));
    let within = Case::launch(
        Arc::clone(&spec),
        json!({"x": nested(31)}),
        0,
        Limits::default(),
    );
    assert!(within.is_ok());
    let past = Case::launch(spec, json!({"x": nested(32)}), 0, Limits::default());
    assert!(matches!(
        past,
        Err(LaunchError::Command(CommandError::DataTooDeep {
            depth: 33,
            max: 32,
            ..
        }))
    ));

    let mut stored = serde_json::to_value(Limits::default()).unwrap();
    assert_eq!(stored["data_depth_max"], json!(32));
    stored.as_object_mut().unwrap().remove("data_depth_max");
    let old: Limits = serde_json::from_value(stored).unwrap();
    assert_eq!(
        old,
        Limits {
            data_depth_max: 100,
            ..Limits::default()
        }
    );
}

// ---- work item outputs ------------------------------------------------------------

#[test]
fn an_output_is_bounded_before_anything_moves_even_in_a_plain_spec() {
    let spec = spec(sequence(json!({})));
    // No expression, no MI, no subnet: the case takes no snapshot, so the check must
    // come first.
    assert!(!spec.fallible);
    let mut run = launch(&spec, json!({})).unwrap();
    let a = run.start("a");
    // The output object counts as 1, like the data it merges into.
    assert_refused(
        &mut run,
        complete(a, json!({"x": nested(MAX)})),
        too_deep("main", Some("a"), "output", MAX + 1),
    );
    run.complete(a, json!({"x": nested(MAX - 1)}));
    assert_eq!(run.case.data()["x"], nested(MAX - 1));
    run.assert_offered(&["b"]);
}

#[test]
fn output_mapping_results_are_bounded() {
    let spec = spec(sequence(json!({
        "output_mappings": [{"to": "y", "expression": "[[output.x]]"}]
    })));
    let mut run = launch(&spec, json!({})).unwrap();
    run.run_empty("a");
    let b = run.start("b");
    // `y` = [[x]]: two levels more than `x`, and one more as a field.
    assert_refused(
        &mut run,
        complete(b, json!({"x": nested(MAX - 2)})),
        too_deep("main", Some("b"), "output mapping `y`", MAX + 1),
    );
    run.complete(b, json!({"x": nested(MAX - 3)}));
    assert_eq!(run.case.data()["y"], nested(MAX - 1));
    run.assert_state("completed");
}

#[test]
fn input_mapping_results_are_bounded() {
    let spec = spec(sequence(json!({
        "input_mappings": [{"to": "z", "expression": "[x]"}]
    })));
    let mut run = launch(&spec, json!({})).unwrap();
    let a = run.start("a");
    // Completing `a` offers `b`, whose input `z` = [x] is one level deeper than `x`:
    // the completion is refused with it.
    assert_refused(
        &mut run,
        complete(a, json!({"x": nested(MAX - 1)})),
        too_deep("main", Some("b"), "input mapping `z`", MAX + 1),
    );
    run.complete(a, json!({"x": nested(MAX - 2)}));
    let b = run.item("b");
    assert_eq!(
        run.case.work_item(b).unwrap().data,
        json!({"z": nested(MAX - 1)})
    );
}

// ---- multiple instances -----------------------------------------------------------

/// `i -> m -> o`, `m` an atomic MI task with `mi` attributes and `extra` fields.
fn mi_net(mi: Value, extra: Value) -> Value {
    let mut m = json!({"id": "m", "kind": "atomic", "multiple_instance": mi});
    m.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!([{
        "id": "main",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": [m],
        "flows": [{"from": "i", "to": "m"}, {"from": "m", "to": "o"}]
    }])
}

#[test]
fn split_elements_are_bounded() {
    // Each element is the item wrapped twice: two levels deeper than the items.
    let spec = spec(mi_net(
        json!({"min": 1, "max": 5, "split": "items.map(i, [[i]])", "item": "it"}),
        json!({}),
    ));
    let mut run = launch(&spec, json!({"items": [nested(MAX - 2)]})).unwrap();
    let offer = run.item("m");
    assert_refused(
        &mut run,
        Command::StartWorkItem { work_item: offer },
        too_deep("main", Some("m"), "multiple-instance element `it`", MAX + 1),
    );

    let mut run = launch(&spec, json!({"items": [nested(MAX - 3), 7]})).unwrap();
    let offer = run.item("m");
    run.apply(Command::StartWorkItem { work_item: offer })
        .unwrap();
    let first = run.case.work_item(offer).unwrap();
    assert_eq!(first.data["it"], nested(MAX - 1));
}

#[test]
fn per_instance_inputs_are_bounded() {
    let spec = spec(mi_net(
        json!({"min": 1, "max": 5, "split": "items", "item": "it"}),
        json!({"input_mappings": [{"to": "deep", "expression": "[[it]]"}]}),
    ));
    // The offer's input is computed without an element: a net field `it` stands in.
    let mut run = launch(&spec, json!({"it": 0, "items": [1, nested(MAX - 2)]})).unwrap();
    let offer = run.item("m");
    assert_refused(
        &mut run,
        Command::StartWorkItem { work_item: offer },
        too_deep("main", Some("m"), "input mapping `deep`", MAX + 1),
    );
    let mut run = launch(&spec, json!({"it": 0, "items": [1, nested(MAX - 3)]})).unwrap();
    let offer = run.item("m");
    run.apply(Command::StartWorkItem { work_item: offer })
        .unwrap();
    assert_eq!(run.case.work_items().count(), 2);
}

#[test]
fn an_aggregated_output_is_bounded_one_level_deeper() {
    let spec = spec(mi_net(
        json!({"min": 2, "max": 2, "aggregate": "all"}),
        json!({}),
    ));
    let mut run = launch(&spec, json!({})).unwrap();
    let offer = run.item("m");
    run.apply(Command::StartWorkItem { work_item: offer })
        .unwrap();
    // `all` = [output, output]: the array adds a level to each output, the data object
    // one more. An output fine on its own (MAX - 1 deep) is too deep to aggregate.
    assert_refused(
        &mut run,
        complete(offer, json!({"x": nested(MAX - 2)})),
        too_deep("main", Some("m"), "output, aggregated into `all`,", MAX + 1),
    );
    run.complete(offer, json!({"x": nested(MAX - 3)}));
    let second = run.start("m");
    run.complete(second, json!({"y": 1}));
    run.assert_state("completed");
    assert_eq!(
        run.case.data()["all"],
        json!([{"x": nested(MAX - 3)}, {"y": 1}])
    );
}

#[test]
fn an_aggregate_of_subnet_outputs_is_checked_at_the_exit() {
    // The subnet's data is within the bound, but the array of two of them is not: the
    // command that ends the last subnet is refused.
    let nets = |initial: Value| {
        json!([
            {
                "id": "main",
                "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                "tasks": [{"id": "c", "kind": "composite", "net": "sub",
                           "multiple_instance": {"min": 2, "max": 2, "aggregate": "all"}}],
                "flows": [{"from": "i", "to": "c"}, {"from": "c", "to": "o"}]
            },
            {
                "id": "sub",
                "input_condition": {"id": "si"}, "output_condition": {"id": "so"},
                "tasks": [{"id": "s", "kind": "atomic"}],
                "flows": [{"from": "si", "to": "s"}, {"from": "s", "to": "so"}],
                "variables": [{"name": "v", "initial": initial}]
            }
        ])
    };
    // Subnet data MAX - 1 deep: the aggregate field is MAX + 1 deep.
    let mut run = launch(&spec(nets(nested(MAX - 2))), json!({})).unwrap();
    run.run_empty("s");
    let last = run.start("s");
    assert_refused(
        &mut run,
        complete(last, json!({})),
        too_deep(
            "main",
            Some("c"),
            "multiple-instance aggregate `all`",
            MAX + 1,
        ),
    );
    // Subnet data MAX - 2 deep: the aggregate is exactly MAX deep.
    let mut run = launch(&spec(nets(nested(MAX - 3))), json!({})).unwrap();
    run.run_empty("s");
    run.run_empty("s");
    run.assert_state("completed");
    assert_eq!(
        run.case.data()["all"],
        json!([{"v": nested(MAX - 3)}, {"v": nested(MAX - 3)}])
    );
}

/// An instance that outlives its task's exit (remainder `continue`) appends its output
/// to the aggregate; one that would make it too deep is refused, stays started, and can
/// be completed with a shallower output.
#[test]
fn a_detached_output_too_deep_for_the_aggregate_is_refused() {
    // `n` after `m` keeps the net running once `m` has exited.
    let spec = spec(json!([{
        "id": "main",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": [
            {"id": "m", "kind": "atomic", "multiple_instance":
                {"min": 2, "max": 2, "threshold": 1, "remainder": "continue", "aggregate": "all"}},
            {"id": "n", "kind": "atomic"}
        ],
        "flows": [{"from": "i", "to": "m"}, {"from": "m", "to": "n"}, {"from": "n", "to": "o"}]
    }]));
    let mut run = launch(&spec, json!({})).unwrap();
    let first = run.item("m");
    run.apply(Command::StartWorkItem { work_item: first })
        .unwrap();
    let second = run.start("m");
    run.complete(first, json!({"n": 1}));
    assert_eq!(run.case.data()["all"], json!([{"n": 1}]));
    run.assert_state("running");

    assert_refused(
        &mut run,
        complete(second, json!({"x": nested(MAX - 2)})),
        too_deep(
            "main",
            Some("m"),
            "multiple-instance aggregate `all`",
            MAX + 1,
        ),
    );
    assert_eq!(
        run.case.work_item(second).unwrap().status,
        WorkItemStatus::Started
    );
    run.complete(second, json!({"x": nested(MAX - 3)}));
    assert_eq!(
        run.case.data()["all"],
        json!([{"n": 1}, {"x": nested(MAX - 3)}])
    );
}

#[test]
fn added_instance_data_is_bounded() {
    let spec = spec(mi_net(
        json!({"min": 1, "max": 3, "creation": "dynamic"}),
        json!({}),
    ));
    let mut run = launch(&spec, json!({})).unwrap();
    let offer = run.item("m");
    run.apply(Command::StartWorkItem { work_item: offer })
        .unwrap();
    let add = |data: Value| Command::AddInstance {
        net_instance: ROOT_INSTANCE,
        task: "m".to_owned(),
        data,
    };
    assert_refused(
        &mut run,
        add(nested(MAX)),
        too_deep(
            "main",
            Some("m"),
            "multiple-instance element `item`",
            MAX + 1,
        ),
    );
    run.apply(add(nested(MAX - 1))).unwrap();
    assert_eq!(run.case.work_items().count(), 2);
}

// ---- FailCase ---------------------------------------------------------------------

fn aborted(message: &str) -> CaseState {
    CaseState::Failed {
        reason: FailReason::Aborted {
            message: message.to_owned(),
        },
    }
}

#[test]
fn fail_case_withdraws_live_work_and_fails_the_case() {
    let spec = spec(sequence(json!({})));
    let mut run = launch(&spec, json!({"x": 1})).unwrap();
    let a = run.start("a");
    let events = run
        .apply(Command::FailCase {
            message: "expression library panicked".to_owned(),
        })
        .unwrap();
    assert_eq!(
        events,
        [
            Event::WorkItemWithdrawn {
                work_item: a,
                status: WorkItemStatus::Withdrawn
            },
            Event::CaseStateChanged {
                state: aborted("expression library panicked")
            }
        ]
    );
    assert_eq!(run.case.state(), &aborted("expression library panicked"));
    assert_eq!(run.case.work_items().count(), 0);
    assert_eq!(run.case.data(), json!({"x": 1}));
    // Ended: refused like any other command.
    assert_refused(
        &mut run,
        Command::FailCase {
            message: "again".to_owned(),
        },
        CommandError::CaseNotRunning { state: "failed" },
    );
    assert_refused(
        &mut run,
        Command::CancelCase,
        CommandError::CaseNotRunning { state: "failed" },
    );
}

#[test]
fn fail_case_fails_a_suspended_case_too() {
    let spec = spec(sequence(json!({})));
    let mut run = launch(&spec, json!({})).unwrap();
    let offer = run.item("a");
    run.apply(Command::SuspendCase).unwrap();
    let events = run
        .apply(Command::FailCase {
            message: "budget".to_owned(),
        })
        .unwrap();
    assert_eq!(
        events,
        [
            Event::WorkItemWithdrawn {
                work_item: offer,
                status: WorkItemStatus::Withdrawn
            },
            Event::CaseStateChanged {
                state: aborted("budget")
            }
        ]
    );
}

#[test]
fn fail_case_is_refused_on_a_completed_case() {
    let spec = spec(sequence(json!({})));
    let mut run = launch(&spec, json!({})).unwrap();
    run.run_empty("a");
    run.run_empty("b");
    run.assert_state("completed");
    assert_refused(
        &mut run,
        Command::FailCase {
            message: "late".to_owned(),
        },
        CommandError::CaseNotRunning { state: "completed" },
    );
}

#[test]
fn fail_case_and_its_reason_serialize_like_their_siblings() {
    let command = Command::FailCase {
        message: "m".to_owned(),
    };
    assert_eq!(
        serde_json::to_value(&command).unwrap(),
        json!({"command": "fail_case", "message": "m"})
    );
    assert_eq!(
        serde_json::to_value(aborted("m")).unwrap(),
        json!({"state": "failed", "reason": {"kind": "aborted", "message": "m"}})
    );
    let error = too_deep("main", Some("a"), "output", 7).to_string();
    assert_eq!(
        error,
        "net `main`: task `a`: output would nest 7 levels deep, more than 6"
    );
}
