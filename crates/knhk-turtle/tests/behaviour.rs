#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Two of the Turtle examples in `shared/knhk-examples/` (external test data, read
//! unchanged) imported, validated, compiled and run in the kernel to completion, each
//! work item completed with output data that satisfies the flow predicates.

use std::sync::Arc;

use knhk_kernel::{Case, CaseState, Command, CompiledSpec, Event, Limits, WorkItemStatus};
use serde_json::{Value, json};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/knhk-examples");

/// Imports `{name}.ttl`, validates and compiles it.
fn compile(name: &str) -> Arc<CompiledSpec> {
    let path = format!("{EXAMPLES}/{name}.ttl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let imported = knhk_turtle::import(&text, None).unwrap_or_else(|e| panic!("{path}: {e}"));
    let valid = knhk_model::validate(imported.spec).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    Arc::new(
        CompiledSpec::compile(&valid, &knhk_expr::CelEvaluator::default())
            .unwrap_or_else(|e| panic!("{path}: {e}")),
    )
}

/// The task ids of the enabled work items, sorted.
fn offered(case: &Case) -> Vec<String> {
    let mut tasks: Vec<String> = case
        .work_items()
        .filter(|w| w.status == WorkItemStatus::Enabled)
        .map(|w| w.task.to_string())
        .collect();
    tasks.sort();
    tasks
}

/// Starts the enabled work item of `task` and completes it with `output`.
fn run(case: &mut Case, events: &mut Vec<Event>, task: &str, output: Value) {
    let offer = case
        .work_items()
        .find(|w| w.task == task && w.status == WorkItemStatus::Enabled)
        .unwrap_or_else(|| panic!("no enabled `{task}`; offered: {:?}", offered(case)))
        .id;
    events.extend(
        case.apply(&Command::StartWorkItem { work_item: offer })
            .unwrap(),
    );
    events.extend(
        case.apply(&Command::CompleteWorkItem {
            work_item: offer,
            output,
        })
        .unwrap(),
    );
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

/// `simple-sequence.ttl`: task1, then task2 (through the condition `intermediate`),
/// then the case completes.
#[test]
fn simple_sequence_runs_to_completion() {
    let (mut case, mut events) =
        Case::launch(compile("simple-sequence"), json!({}), 0, Limits::default()).unwrap();
    assert_eq!(offered(&case), ["task1"]);
    run(&mut case, &mut events, "task1", json!({}));
    assert_eq!(offered(&case), ["task2"]);
    assert_eq!(
        case.tokens(knhk_kernel::ROOT_INSTANCE)
            .into_iter()
            .collect::<Vec<_>>(),
        [("intermediate".to_owned(), 1)]
    );
    run(&mut case, &mut events, "task2", json!({}));
    assert_eq!(trace(&events), ["task1", "task2"]);
    assert_eq!(case.state(), &CaseState::Completed);
    assert_eq!(case.work_items().count(), 0);
}

/// `swift_payment.ttl`: validation fans out to the three checks, which join at the
/// compliance review; its predicate `allComplianceChecksPassed == true` (on the data the
/// review's output merged into the net) leads to the debit, which fans out to the
/// credit and the MT202, joined at the confirmation.
#[test]
fn swift_payment_runs_to_completion() {
    let (mut case, mut events) =
        Case::launch(compile("swift_payment"), json!({}), 0, Limits::default()).unwrap();
    assert_eq!(offered(&case), ["validate_message"]);
    run(
        &mut case,
        &mut events,
        "validate_message",
        json!({"mt103Message": "{1:F01BANKBEBBAXXX}", "beneficiaryName": "ACME",
               "beneficiaryCountry": "BE", "paymentAmount": 1500.0, "currency": "EUR",
               "transactionHistory": "clean"}),
    );
    assert_eq!(
        offered(&case),
        ["aml_check", "fraud_detection", "sanctions_screening"]
    );
    // The validated message reached the checks' inputs.
    let aml = case.work_items().find(|w| w.task == "aml_check").unwrap();
    assert_eq!(aml.data["paymentAmount"], json!(1500.0));
    run(
        &mut case,
        &mut events,
        "sanctions_screening",
        json!({"sanctionsResult": true}),
    );
    run(
        &mut case,
        &mut events,
        "aml_check",
        json!({"amlResult": true}),
    );
    assert_eq!(offered(&case), ["fraud_detection"]);
    run(
        &mut case,
        &mut events,
        "fraud_detection",
        json!({"fraudResult": true}),
    );
    assert_eq!(offered(&case), ["compliance_review"]);
    run(
        &mut case,
        &mut events,
        "compliance_review",
        json!({"allComplianceChecksPassed": true}),
    );
    assert_eq!(offered(&case), ["debit_sender"]);
    run(
        &mut case,
        &mut events,
        "debit_sender",
        json!({"senderAccount": "BE68539007547034", "debitAmount": 1500.0}),
    );
    assert_eq!(offered(&case), ["credit_beneficiary", "send_mt202"]);
    run(
        &mut case,
        &mut events,
        "credit_beneficiary",
        json!({"beneficiaryAccount": "DE89370400440532013000", "creditAmount": 1500.0}),
    );
    assert_eq!(offered(&case), ["send_mt202"]);
    run(&mut case, &mut events, "send_mt202", json!({}));
    assert_eq!(offered(&case), ["send_confirmation"]);
    run(&mut case, &mut events, "send_confirmation", json!({}));
    assert_eq!(
        trace(&events),
        [
            "validate_message",
            "sanctions_screening",
            "aml_check",
            "fraud_detection",
            "compliance_review",
            "debit_sender",
            "credit_beneficiary",
            "send_mt202",
            "send_confirmation"
        ]
    );
    assert_eq!(case.state(), &CaseState::Completed);
    assert_eq!(case.data()["allComplianceChecksPassed"], json!(true));
}
