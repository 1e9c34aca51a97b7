#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A smoke test that imported corpus files run in the kernel as INDEX.md says. The
//! full behaviour suite over the corpus lives with the verifier and runtime work; this
//! checks the import's side of it: tasks, predicates, mappings and initial values
//! arrive in a form the kernel executes.

use std::sync::Arc;

use knhk_kernel::{
    Case, CaseState, Command, CompiledSpec, Event, Limits, ROOT_INSTANCE, WorkItemId,
    WorkItemStatus,
};
use knhk_yawl::{ImportOptions, import_file};
use serde_json::{Value, json};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/yawl-specs");

fn compiled(file: &str) -> Arc<CompiledSpec> {
    let imported = import_file(format!("{CORPUS}/{file}"), &ImportOptions::strict()).unwrap();
    let valid = knhk_model::validate(imported.spec).unwrap();
    Arc::new(CompiledSpec::compile(&valid, &knhk_expr::CelEvaluator::default()).unwrap())
}

fn launch(spec: &Arc<CompiledSpec>, data: Value) -> (Case, Vec<Event>) {
    Case::launch(Arc::clone(spec), data, 7, Limits::default()).unwrap()
}

/// The tasks that completed, in order.
fn trace(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TaskCompleted { task, .. } => Some(task.to_string()),
            _ => None,
        })
        .collect()
}

/// The enabled work item of `task`.
fn offer(case: &Case, task: &str) -> WorkItemId {
    case.work_items()
        .find(|w| w.task == task && w.status == WorkItemStatus::Enabled)
        .unwrap_or_else(|| panic!("no enabled work item for {task}"))
        .id
}

/// Starts the offer of `task` and completes the instance it gives with `output`.
fn run_task(case: &mut Case, task: &str, output: Value) -> Vec<Event> {
    let offered = offer(case, task);
    let mut events = case
        .apply(&Command::StartWorkItem { work_item: offered })
        .unwrap();
    let started = case
        .work_items()
        .find(|w| w.task == task && w.status == WorkItemStatus::Started)
        .unwrap()
        .id;
    events.extend(
        case.apply(&Command::CompleteWorkItem {
            work_item: started,
            output,
        })
        .unwrap(),
    );
    events
}

#[test]
fn wpc1_sequence_runs_a_then_b_with_mapped_data() {
    let spec = compiled("apromore-patterns/WPC1Sequence.yawl");
    let (mut case, _) = launch(&spec, json!({}));
    // A's starting mapping gives it the net variable `var`, initially "test".
    assert_eq!(
        case.work_item(offer(&case, "A")).unwrap().data,
        json!({"var": "test"})
    );
    let mut events = run_task(&mut case, "A", json!({"var": "from A"}));
    assert_eq!(case.data()["var"], json!("from A"));
    assert_eq!(
        case.work_item(offer(&case, "B")).unwrap().data,
        json!({"var": "from A"})
    );
    events.extend(run_task(&mut case, "B", json!({"var": "from B"})));
    assert_eq!(trace(&events), ["A", "B"]);
    assert_eq!(case.state(), &CaseState::Completed);
    assert_eq!(case.data()["var"], json!("from B"));
}

#[test]
fn wpc4_exclusive_choice_follows_c() {
    let spec = compiled("apromore-patterns/WPC4ExclusiveChoice.yawl");
    // Every task is empty, so the case runs to its end at launch. Initially c = 0.
    for (data, expected) in [
        (json!({}), ["A", "B"]),
        (json!({"c": 1}), ["A", "C"]),
        (json!({"c": 9}), ["A", "D"]),
    ] {
        let (case, events) = launch(&spec, data.clone());
        assert_eq!(trace(&events), expected, "{data}");
        assert_eq!(case.state(), &CaseState::Completed);
    }
}

#[test]
fn yawl_specification2_default_flow_marks_the_implicit_condition() {
    let spec = compiled("yawl-engine-tests/YAWL_Specification2.xml");
    let (mut case, _) = launch(&spec, json!({}));
    run_task(&mut case, "a-top", json!({}));
    // The OR split's only predicate is `false()`, but it is the default flow.
    assert_eq!(case.tokens(ROOT_INSTANCE).get("c{a-top_b-top}"), Some(&1));
    // b-top is now offered; starting it creates one instance per stub (six).
    let b = offer(&case, "b-top");
    case.apply(&Command::StartWorkItem { work_item: b })
        .unwrap();
    let instances = case.work_items().filter(|w| w.task == "b-top").count();
    assert_eq!(instances, 6);
}
