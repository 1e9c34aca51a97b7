//! The four Turtle examples in `shared/knhk-examples/` (external test data, read
//! unchanged) import with the counts their README gives, survive export and import,
//! and survive a trip through the JSON format.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use knhk_model::{
    CreationMode, JoinCode, Net, Remainder, Specification, SplitCode, TaskKind, TimerAction,
    TimerTrigger, validate,
};
use knhk_turtle::{Import, ImportWarning, import};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/knhk-examples");
const FILES: [&str; 4] = [
    "atm_transaction",
    "swift_payment",
    "payroll",
    "simple-sequence",
];

fn load(name: &str) -> Import {
    let path = format!("{EXAMPLES}/{name}.ttl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    import(&text, None).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn root(spec: &Specification) -> &Net {
    spec.net(&spec.root_net).unwrap()
}

fn unconnected(import: &Import) -> Vec<&str> {
    import
        .warnings
        .iter()
        .filter_map(|w| match w {
            ImportWarning::Unconnected { element } => Some(element.as_str()),
            _ => None,
        })
        .collect()
}

const ATM: &str = "http://bitflow.ai/workflows/atm/withdrawal";

#[test]
fn atm_transaction() {
    let import = load("atm_transaction");
    let spec = &import.spec;
    assert_eq!(spec.id, "withdrawal");
    assert_eq!(spec.name.as_deref(), Some("ATM Cash Withdrawal"));
    assert_eq!(spec.version.as_deref(), Some("1.0"));
    assert_eq!(import.iris.spec(), ATM);
    let net = root(spec);
    assert_eq!(net.tasks.len(), 7);
    assert_eq!(net.flows.len(), 7);
    assert_eq!(net.conditions.len(), 4);
    assert_eq!(net.input_condition.id, "start");
    assert_eq!(net.output_condition.id, "end");
    assert!(net.tasks.iter().all(|t| t.kind == TaskKind::Atomic));

    // Predicates are CEL already, and stay as written.
    let predicate = |from: &str, to: &str| {
        let flow = net.flows.iter().find(|f| f.from == from && f.to == to);
        flow.unwrap().predicate.as_deref()
    };
    assert_eq!(
        predicate("verify_card", "verify_pin"),
        Some("cardValid == true")
    );
    assert_eq!(
        predicate("check_balance", "dispense_cash"),
        Some("balance >= withdrawalAmount")
    );
    assert_eq!(predicate("start", "verify_card"), None);

    let verify_card = net.task("verify_card").unwrap();
    assert_eq!(
        (verify_card.join, verify_card.split),
        (JoinCode::Xor, SplitCode::Xor)
    );
    assert_eq!(
        verify_card.name.as_deref(),
        Some("Verify Card <http://bitflow.ai/workflows/atm/withdrawal/verify_card>")
    );
    // `yawl:timeout "30s"`: a timer from enablement that completes the work item.
    let timer = verify_card.timer.as_ref().unwrap();
    assert_eq!(timer.trigger, TimerTrigger::OnEnabled);
    assert_eq!(timer.duration_ms, Some(30_000));
    assert_eq!(timer.on_expiry, TimerAction::Complete);
    assert_eq!(net.task("update_balance").unwrap().split, SplitCode::And);
    let check_balance = net.task("check_balance").unwrap();
    let inputs: Vec<_> = check_balance
        .inputs
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(inputs, ["accountNumber", "withdrawalAmount"]);
    assert_eq!(
        check_balance.inputs[1].data_type,
        knhk_model::DataType::Number
    );

    // The cancellation region names `check_balance` and a mistyped IRI
    // (`.../atm/workflows/atm/withdrawal/dispense_cash`): the second is left out, with
    // a warning naming both IRIs.
    let cancel = net.task("cancel_transaction").unwrap();
    assert_eq!(cancel.cancellation_set, ["check_balance"]);
    assert!(
        import
            .warnings
            .contains(&ImportWarning::UnknownCancellationMember {
                task: format!("{ATM}/cancel_transaction"),
                member: "http://bitflow.ai/workflows/atm/workflows/atm/withdrawal/dispense_cash"
                    .to_owned(),
            })
    );
    assert!(import.warnings.contains(&ImportWarning::Unsupported {
        subject: format!("{ATM}/verify_pin"),
        property: "http://bitflow.ai/ontology/yawl/v2#maxRetries".to_owned(),
    }));

    // `cancel_transaction` and the four declared conditions have no flows. The model's
    // structural validation does not check paths, so the spec validates; the import
    // warns, and the names carry the IRIs for the verifier's report.
    let expected: Vec<String> = [
        "card_verified",
        "pin_verified",
        "balance_ok",
        "cash_dispensed",
    ]
    .iter()
    .chain(&["cancel_transaction"])
    .map(|id| format!("{ATM}/{id}"))
    .collect();
    assert_eq!(unconnected(&import), expected);
    assert!(
        cancel
            .name
            .as_deref()
            .unwrap()
            .contains(&format!("<{ATM}/cancel_transaction>"))
    );
    assert_eq!(
        import.iris.element("withdrawal", "cancel_transaction"),
        Some(format!("{ATM}/cancel_transaction").as_str())
    );
    assert!(validate(spec.clone()).is_ok());
}

#[test]
fn swift_payment() {
    let import = load("swift_payment");
    let net = root(&import.spec);
    assert_eq!(net.tasks.len(), 9);
    assert_eq!(net.flows.len(), 13);
    assert!(net.conditions.is_empty());
    let task = |id: &str| net.task(id).unwrap();
    assert_eq!(task("validate_message").split, SplitCode::And);
    assert_eq!(task("compliance_review").join, JoinCode::And);
    assert_eq!(task("debit_sender").split, SplitCode::And);
    assert_eq!(task("send_confirmation").join, JoinCode::And);
    let fan_out: Vec<_> = net
        .flows
        .iter()
        .filter(|f| f.from == "validate_message")
        .map(|f| f.to.as_str())
        .collect();
    assert_eq!(
        fan_out,
        ["sanctions_screening", "aml_check", "fraud_detection"]
    );
    // Flows keep the document's order: flow_1 .. flow_13.
    assert_eq!(net.flows[0].from, "start");
    assert_eq!(net.flows[12].to, "end");
    assert_eq!(
        net.flows[7].predicate.as_deref(),
        Some("allComplianceChecksPassed == true")
    );
    assert!(import.warnings.is_empty(), "{:?}", import.warnings);
    assert!(validate(import.spec.clone()).is_ok());
}

#[test]
fn payroll() {
    let import = load("payroll");
    let net = root(&import.spec);
    assert_eq!(net.tasks.len(), 7);
    assert_eq!(net.flows.len(), 6);
    let mi: Vec<_> = net
        .tasks
        .iter()
        .filter(|t| t.multiple_instance.is_some())
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(
        mi,
        [
            "calculate_salary",
            "calculate_taxes",
            "calculate_benefits",
            "process_payment"
        ]
    );
    let attributes = |id: &str| net.task(id).unwrap().multiple_instance.clone().unwrap();

    // Threshold 0 ("no synchronization required", WCP 12): the instances run on.
    let salary = attributes("calculate_salary");
    assert_eq!(
        (salary.min, salary.max, salary.threshold),
        (1, Some(10_000), Some(0))
    );
    assert_eq!(salary.remainder, Remainder::Continue);
    // `creationMode "static"` decides over `multipleInstanceType "dynamic"`, with a
    // warning.
    assert_eq!(salary.creation, CreationMode::Static);
    assert!(import.warnings.iter().any(|w| matches!(
        w,
        ImportWarning::Ignored { subject, property, .. }
            if subject.ends_with("/calculate_salary") && property.ends_with("#multipleInstanceType")
    )));
    // Only `multipleInstanceType "dynamic"`: dynamic creation, YAWL's default minimum 1.
    let taxes = attributes("calculate_taxes");
    assert_eq!((taxes.min, taxes.max, taxes.threshold), (1, None, None));
    assert_eq!(taxes.creation, CreationMode::Dynamic);
    assert_eq!(taxes.remainder, Remainder::Cancel);
    assert_eq!(attributes("process_payment").creation, CreationMode::Static);

    let approve = net
        .flows
        .iter()
        .find(|f| f.from == "approve_payroll")
        .unwrap();
    assert_eq!(approve.predicate.as_deref(), Some("approved == true"));
    assert!(import.warnings.iter().any(|w| matches!(
        w,
        ImportWarning::Unsupported { property, .. } if property.ends_with("#milestone")
    )));
    let payroll = "http://bitflow.ai/workflows/payroll/monthly";
    assert_eq!(
        unconnected(&import),
        [
            format!("{payroll}/calculate_benefits"),
            format!("{payroll}/generate_reports")
        ]
    );
    assert!(validate(import.spec.clone()).is_ok());
}

#[test]
fn simple_sequence() {
    let import = load("simple-sequence");
    let spec = &import.spec;
    assert_eq!(spec.id, "simple-sequence");
    assert_eq!(spec.name.as_deref(), Some("Simple Sequence Workflow"));
    let net = root(spec);
    assert_eq!(net.tasks.len(), 2);
    assert_eq!(net.all_conditions().count(), 3);
    assert_eq!(net.input_condition.id, "start");
    assert_eq!(net.output_condition.id, "end");
    assert_eq!(net.conditions[0].id, "intermediate");
    // Links given from both ends make one flow each.
    let mut arcs: Vec<_> = net
        .flows
        .iter()
        .map(|f| (f.from.as_str(), f.to.as_str()))
        .collect();
    arcs.sort_unstable();
    assert_eq!(
        arcs,
        [
            ("intermediate", "task2"),
            ("start", "task1"),
            ("task1", "intermediate"),
            ("task2", "end")
        ]
    );
    for task in &net.tasks {
        assert_eq!((task.join, task.split), (JoinCode::And, SplitCode::And));
        assert_eq!(task.kind, TaskKind::Atomic);
    }
    assert!(import.warnings.is_empty(), "{:?}", import.warnings);
    assert!(validate(spec.clone()).is_ok());
}

/// import -> export -> import gives the same specification, and exporting it again
/// gives the same text.
#[test]
fn examples_survive_export() {
    for name in FILES {
        let first = load(name);
        let text = knhk_turtle::export(&first.spec);
        let second = import(&text, None).unwrap_or_else(|err| panic!("{name}: {err}\n{text}"));
        assert_eq!(second.spec, first.spec, "{name}");
        assert_eq!(knhk_turtle::export(&second.spec), text, "{name}");
        // Only the facts about the net itself remain to be reported.
        assert!(
            second
                .warnings
                .iter()
                .all(|w| matches!(w, ImportWarning::Unconnected { .. })),
            "{name}: {:?}",
            second.warnings
        );
    }
}

/// Turtle in, JSON out and in again: the same specification, validated.
#[test]
fn examples_survive_json() {
    for name in FILES {
        let spec = load(name).spec;
        let text = knhk_json::to_string(&spec);
        let parsed = knhk_json::parse(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(parsed.into_inner(), spec, "{name}");
    }
}
