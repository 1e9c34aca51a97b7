#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The external YAWL corpus (`shared/yawl-specs`, read unchanged): every file imports
//! (strictly where its expressions all translate, leniently otherwise), validates and
//! compiles, except the ones the corpus index marks as broken; and the structure of
//! each file matches what `INDEX.md` says about it.

use std::path::PathBuf;

use knhk_model::{
    CreationMode, DataType, JoinCode, Net, SpecProblem, Specification, SplitCode, Task, TaskKind,
    TimerTrigger, implicit_condition_id,
};
use knhk_yawl::{
    Fallback, FlowRef, Import, ImportOptions, ImportWarning, Site, YawlError, import_file,
};
use serde_json::json;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/yawl-specs");

fn path(file: &str) -> PathBuf {
    PathBuf::from(CORPUS).join(file)
}

fn strict(file: &str) -> Import {
    import_file(path(file), &ImportOptions::strict()).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn lenient(file: &str) -> Import {
    import_file(path(file), &ImportOptions::lenient()).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn net<'a>(spec: &'a Specification, id: &str) -> &'a Net {
    spec.net(id).unwrap_or_else(|| panic!("no net {id}"))
}

fn task<'a>(net: &'a Net, id: &str) -> &'a Task {
    net.task(id)
        .unwrap_or_else(|| panic!("no task {id} in {}", net.id))
}

/// How a file imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    /// In strict mode.
    Strict,
    /// Only in lenient mode (an expression does not translate).
    Lenient,
    /// Not at all.
    Rejected,
}

/// Every file of the corpus: how it loads, its nets, its tasks in all nets
/// (INDEX.md's "Tasks" column) and its explicit conditions (besides input and output).
#[rustfmt::skip]
const FILES: &[(&str, Load, usize, usize, usize)] = &[
    ("yawl-engine-tests/TestOrJoin.xml", Load::Strict, 1, 6, 3),
    ("yawl-engine-tests/Test55.xml", Load::Strict, 1, 6, 3),
    ("yawl-engine-tests/CaseCancellation.xml", Load::Strict, 2, 9, 1),
    ("yawl-engine-tests/DeadlockingSpecification.xml", Load::Strict, 1, 1, 1),
    ("yawl-engine-tests/YAWL_Specification2.xml", Load::Strict, 1, 2, 0),
    ("yawl-engine-tests/YAWL_Specification3.xml", Load::Strict, 2, 7, 1),
    ("yawl-engine-tests/YAWL_Specification4.xml", Load::Strict, 2, 5, 0),
    ("yawl-engine-tests/ImproperCompletion.xml", Load::Strict, 3, 10, 2),
    ("yawl-engine-tests/TestImproperCompletion.xml", Load::Strict, 1, 2, 0),
    ("yawl-engine-tests/CancellationTest.xml", Load::Strict, 1, 6, 0),
    ("yawl-orjoin-tests/YAWLOrJoinTestSpecificationLongLoops.xml", Load::Strict, 1, 7, 3),
    ("yawl-orjoin-tests/ORJoin_ORsplit.xml", Load::Strict, 1, 5, 6),
    ("yawl-orjoin-tests/ORjoinWorkedExample.xml", Load::Strict, 1, 7, 8),
    ("yawl-orjoin-tests/ORJoin_Cancel_Infiniteloop.xml", Load::Strict, 1, 5, 3),
    ("yawl-verify-tests/GoodNetSpecification.xml", Load::Strict, 3, 10, 2),
    ("yawl-verify-tests/BadNetSpecification.xml", Load::Strict, 3, 10, 2),
    ("yawl-examples/makeTrip3.xml", Load::Lenient, 2, 9, 1),
    ("yawl-examples/wListMaker.yawl", Load::Strict, 1, 3, 1),
    ("yawl-examples/Sales.yawl", Load::Strict, 1, 3, 0),
    ("apromore-patterns/WPC1Sequence.yawl", Load::Strict, 1, 2, 0),
    ("apromore-patterns/WPC2ParallelSplit.yawl", Load::Strict, 1, 5, 0),
    ("apromore-patterns/WPC4ExclusiveChoice.yawl", Load::Strict, 1, 4, 0),
    ("apromore-patterns/WPC5SimpleMerge.yawl", Load::Strict, 1, 4, 0),
    ("apromore-patterns/WPC6MultipleChoice.yawl", Load::Strict, 1, 5, 0),
    ("apromore-patterns/WPC8MultiMerge.yawl", Load::Strict, 1, 5, 0),
    ("apromore-patterns/WPC10AbitraryCycles.yawl", Load::Strict, 1, 5, 0),
    ("apromore-patterns/WPC16DeferredChoice.yawl", Load::Strict, 1, 3, 1),
    ("apromore-patterns/WPC17InterleavedParallelRouting.yawl", Load::Rejected, 1, 4, 1),
    ("apromore-patterns/WPC21StructuredLoop.yawl", Load::Strict, 1, 2, 0),
    ("apromore-patterns/WPC22Recursion.yawl", Load::Strict, 1, 2, 0),
];

/// Files whose imported specification the model's validation rejects, with why.
fn expected_problems(file: &str) -> Vec<SpecProblem> {
    match file {
        // YAWL's verifier reports five errors here (INDEX.md); the model's structural
        // validation catches the arc into an input condition, the verifier the rest.
        "yawl-verify-tests/BadNetSpecification.xml" => vec![SpecProblem::FlowIntoInput {
            net: "leaf-c".to_owned(),
            from: "h-leaf-c".to_owned(),
            to: "i-leaf-c".to_owned(),
        }],
        _ => Vec::new(),
    }
}

#[test]
fn the_table_lists_every_corpus_file() {
    let mut found = Vec::new();
    for dir in std::fs::read_dir(CORPUS).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let relative = file
                .strip_prefix(CORPUS)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            found.push(relative);
        }
    }
    found.sort();
    let mut listed: Vec<_> = FILES.iter().map(|f| f.0.to_owned()).collect();
    listed.sort();
    assert_eq!(found, listed);
    assert_eq!(found.len(), 30);
}

#[test]
fn every_file_loads_validates_and_compiles() {
    let evaluator = knhk_expr::CelEvaluator::default();
    for &(file, load, nets, tasks, conditions) in FILES {
        let strict = import_file(path(file), &ImportOptions::strict());
        let lenient = import_file(path(file), &ImportOptions::lenient());
        assert_eq!(
            strict.is_ok(),
            load == Load::Strict,
            "{file}: strict {strict:?}"
        );
        assert_eq!(
            lenient.is_ok(),
            load != Load::Rejected,
            "{file}: lenient {lenient:?}"
        );
        let Ok(imported) = lenient else { continue };
        if let Ok(strict) = strict {
            assert_eq!(strict, imported, "{file}: strict and lenient differ");
        }
        let spec = imported.spec;
        assert_eq!(spec.nets.len(), nets, "{file}: nets");
        let count: usize = spec.nets.iter().map(|n| n.tasks.len()).sum();
        assert_eq!(count, tasks, "{file}: tasks");
        let count: usize = spec.nets.iter().map(|n| n.conditions.len()).sum();
        assert_eq!(count, conditions, "{file}: conditions");
        let expected = expected_problems(file);
        match knhk_model::validate(spec) {
            Ok(valid) => {
                assert!(
                    expected.is_empty(),
                    "{file}: validated, expected {expected:?}"
                );
                if let Err(e) = knhk_kernel::CompiledSpec::compile(&valid, &evaluator) {
                    panic!("{file}: does not compile: {e}");
                }
            }
            Err(problems) => assert_eq!(problems, expected, "{file}"),
        }
    }
}

#[test]
fn wpc17_is_rejected_naming_the_task_without_flows() {
    let file = "apromore-patterns/WPC17InterleavedParallelRouting.yawl";
    for options in [ImportOptions::strict(), ImportOptions::lenient()] {
        let error = import_file(path(file), &options).unwrap_err();
        assert_eq!(
            error.root_cause(),
            &YawlError::NoOutgoingFlow {
                element: "STILL_TODO".to_owned()
            }
        );
        let YawlError::At { line, element, .. } = &error else {
            panic!("no location: {error:?}");
        };
        assert_eq!((*line, element.as_str()), (78, "task"));
        assert!(error.to_string().contains("STILL_TODO"), "{error}");
    }
}

#[test]
fn yawl_specification2_implicit_condition_default_flow_and_mi() {
    let spec = strict("yawl-engine-tests/YAWL_Specification2.xml").spec;
    assert_eq!(spec.root_net, "top");
    let top = net(&spec, "top");
    let a = task(top, "a-top");
    assert_eq!(
        (a.kind, a.join, a.split),
        (TaskKind::Atomic, JoinCode::Xor, SplitCode::Or)
    );
    // The OR split's only flow goes straight to b-top, through `c{a-top_b-top}`.
    let flow = top.flows.iter().find(|f| f.from == "a-top").unwrap();
    assert_eq!(flow.to, "b-top");
    assert_eq!(flow.predicate.as_deref(), Some("false"));
    assert!(flow.default);
    assert_eq!(
        implicit_condition_id(&flow.from, &flow.to),
        "c{a-top_b-top}"
    );
    let valid = knhk_model::validate(spec.clone()).unwrap();
    let compiled =
        knhk_kernel::CompiledSpec::compile(&valid, &knhk_expr::CelEvaluator::default()).unwrap();
    let root = compiled.net(compiled.root);
    assert!(root.place_ix("c{a-top_b-top}").is_some());

    let b = task(top, "b-top");
    let mi = b.multiple_instance.as_ref().unwrap();
    assert_eq!(
        (mi.min, mi.max, mi.threshold, mi.creation),
        (2, Some(7), Some(5), CreationMode::Dynamic)
    );
    assert_eq!(mi.split.as_deref(), Some("stubList"));
    assert_eq!(mi.item.as_deref(), Some("stub"));
    // The kernel itself exits when every instance completed before the threshold, as
    // YAWL does, so the import adds no completion condition.
    assert_eq!(mi.completion, None);
    assert_eq!(b.inputs.len(), 1);
    assert_eq!(b.inputs[0].name, "stub");
    // Six `<stub/>` elements: a list of six empty values.
    let stubs = &top.variables[0];
    assert_eq!(stubs.name, "stubList");
    assert_eq!(stubs.data_type, DataType::Any);
    assert_eq!(
        stubs.initial,
        Some(json!([null, null, null, null, null, null]))
    );
}

#[test]
fn cancellation_test_d_clears_b_c_and_three_implicit_conditions() {
    let spec = strict("yawl-engine-tests/CancellationTest.xml").spec;
    let main = net(&spec, "New Net #1");
    let d = task(main, "2");
    assert_eq!(
        d.cancellation_set,
        ["3", "6", "c{4_3}", "c{3_6}", "c{6_7}"].map(str::to_owned)
    );
    assert_eq!(task(main, "5").join, JoinCode::Or);
    assert_eq!(task(main, "7").join, JoinCode::And);
    // Each member is an element or an implicit condition of the net.
    knhk_model::validate(spec).unwrap();
}

#[test]
fn sales_timer_variables_and_mappings() {
    let spec = strict("yawl-examples/Sales.yawl").spec;
    assert_eq!(spec.id, "Sales");
    assert_eq!(spec.version.as_deref(), Some("0.1"));
    let sales = net(&spec, "Sales");
    let timer = task(sales, "Receive_Payment").timer.clone().unwrap();
    assert_eq!(timer.trigger, TimerTrigger::OnExecuting);
    assert_eq!((timer.duration_ms, timer.expiry_ms), (Some(5_000), None));
    let initial: Vec<_> = sales
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.data_type, v.initial.clone()))
        .collect();
    assert_eq!(
        initial,
        [
            ("Cost", DataType::Integer, Some(json!(150))),
            ("Item", DataType::String, Some(json!("Bike"))),
            ("Name", DataType::String, Some(json!("Bill"))),
            ("OrderNum", DataType::String, Some(json!("24680"))),
            ("Paid", DataType::Boolean, Some(json!(false))),
        ]
    );
    let fill = task(sales, "Fill_Order");
    assert_eq!(fill.name.as_deref(), Some("Fill Order"));
    let inputs: Vec<_> = fill
        .input_mappings
        .iter()
        .map(|m| (m.to.as_str(), m.expression.as_str()))
        .collect();
    assert_eq!(
        inputs,
        [
            ("Item", "Item"),
            ("OrderNum", "OrderNum"),
            ("Cost", "Cost"),
            ("Name", "Name")
        ]
    );
    assert_eq!(fill.output_mappings[1].expression, "output.Cost");
    assert!(fill.outputs.iter().all(|p| p.optional));
    // A decomposition without parameters or service is still work for a person.
    let archive = task(sales, "Archive");
    assert_eq!(
        (archive.kind, archive.service.as_deref()),
        (TaskKind::Atomic, None)
    );
}

#[test]
fn make_trip3_needs_lenient_mode_for_its_total() {
    let file = "yawl-examples/makeTrip3.xml";
    let error = import_file(path(file), &ImportOptions::strict()).unwrap_err();
    let YawlError::Untranslated(untranslated) = error.root_cause() else {
        panic!("{error:?}");
    };
    assert_eq!(untranslated.net, "make_initerary");
    assert_eq!(untranslated.task, "pay");
    assert_eq!(
        untranslated.site,
        Site::InputMapping {
            to: "total".to_owned()
        }
    );
    assert!(error.to_string().contains("line 127"), "{error}");

    let imported = lenient(file);
    let [
        ImportWarning::Untranslated {
            line,
            task: t,
            site,
            fallback,
            expression,
            ..
        },
    ] = imported.warnings.as_slice()
    else {
        panic!("{:?}", imported.warnings);
    };
    assert_eq!(
        (*line, t.as_str(), *fallback),
        (127, "pay", Fallback::Marker)
    );
    assert_eq!(
        site,
        &Site::InputMapping {
            to: "total".to_owned()
        }
    );
    assert!(expression.contains("sum("));
    let spec = imported.spec;
    let root = net(&spec, "make_initerary");
    let pay = task(root, "pay");
    let total = pay.input_mappings.iter().find(|m| m.to == "total").unwrap();
    assert!(
        total
            .expression
            .starts_with("\"untranslated XQuery: <total>")
    );

    // Variables and initial values: typed scalars, and XML content as JSON.
    let customer = &root.variables[0];
    assert_eq!(
        (
            customer.name.as_str(),
            customer.data_type,
            customer.initial.clone()
        ),
        (
            "customer",
            DataType::String,
            Some(json!("Type name of customer"))
        )
    );
    let backup = root
        .variables
        .iter()
        .find(|v| v.name == "legs_backup")
        .unwrap();
    assert_eq!(
        backup.initial,
        Some(json!([
            {"departure_location": "brisbane", "destination": "sydney"},
            {"departure_location": "sydney", "destination": "alice springs"}
        ]))
    );
    let segment = net(&spec, "do_itinerary_segment");
    let types: Vec<_> = segment
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.data_type))
        .collect();
    assert_eq!(
        &types[..3],
        [
            ("customer", DataType::String),
            ("leg", DataType::Any),
            ("start_date", DataType::Any), // `xs:DateTime` is no XSD type
        ]
    );
    assert!(types.contains(&("want_flight", DataType::Boolean)));
    assert!(types.contains(&("subTotal", DataType::Number)));

    // The MI task: split over the legs (or the backup), output joined into itinerary.
    let mi_task = task(root, "do_itinerary_segment");
    assert_eq!(mi_task.kind, TaskKind::Composite);
    let mi = mi_task.multiple_instance.as_ref().unwrap();
    assert_eq!((mi.min, mi.max, mi.threshold), (1, Some(100), Some(100)));
    assert_eq!(
        mi.split.as_deref(),
        Some("((legs != null ? size(legs) : 0) > 0 ? legs : legs_backup)")
    );
    assert_eq!(mi.item.as_deref(), Some("leg"));
    let itinerary = mi_task
        .output_mappings
        .iter()
        .find(|m| m.to == "itinerary")
        .unwrap();
    assert!(
        itinerary
            .expression
            .starts_with("output.map(o, {\"departure_location\": o.leg.departure_location")
    );
    // The cancel task's region.
    assert_eq!(
        task(root, "cancel").cancellation_set,
        ["register", "ableToCancel", "do_itinerary_segment", "pay"].map(str::to_owned)
    );
    // The OR split in the subnet, on declared booleans.
    let register = task(segment, "register_itinerary_segment");
    assert_eq!(register.split, SplitCode::Or);
    let to_flight = segment
        .flows
        .iter()
        .find(|f| f.from == register.id && f.to == "flight")
        .unwrap();
    assert!(to_flight.default);
    assert_eq!(
        to_flight.predicate.as_deref(),
        Some("want_flight != null && want_flight == true")
    );
}

#[test]
fn w_list_maker_typed_list_and_mi_data() {
    let spec = strict("yawl-examples/wListMaker.yawl").spec;
    let root = net(&spec, "List_Maker");
    assert_eq!(root.variables.len(), 1);
    let list = &root.variables[0];
    assert_eq!(
        (list.name.as_str(), list.data_type, &list.initial),
        ("MasterList", DataType::Array, &None)
    );
    let verify = task(root, "Verify_list");
    assert_eq!(
        verify.service.as_deref(),
        Some("http://localhost:8080/workletService/ib")
    );
    let mi = verify.multiple_instance.as_ref().unwrap();
    assert_eq!(
        (mi.min, mi.max, mi.threshold, mi.creation),
        (1, Some(20), Some(5), CreationMode::Static)
    );
    assert_eq!(
        (mi.split.as_deref(), mi.item.as_deref()),
        (Some("MasterList"), Some("SomeBob"))
    );
    assert_eq!(verify.output_mappings.len(), 1);
    assert_eq!(verify.output_mappings[0].to, "MasterList");
    assert_eq!(
        verify.output_mappings[0].expression,
        "output.map(o, o.SomeBob)"
    );
    let create = task(root, "Create_list_items");
    assert_eq!(create.input_mappings[0].expression, "MasterList");
    assert_eq!(create.output_mappings[0].expression, "output.UserList");
    assert_eq!(create.inputs[0].data_type, DataType::Array);
    // `done` is a deferred choice: loop back or go on.
    let from_done: Vec<_> = root
        .flows
        .iter()
        .filter(|f| f.from == "done")
        .map(|f| f.to.as_str())
        .collect();
    assert_eq!(from_done, ["Verify_list", "Create_list_items"]);
}

#[test]
fn wpc4_orderings_and_default_flow() {
    let spec = strict("apromore-patterns/WPC4ExclusiveChoice.yawl").spec;
    let main = net(&spec, "Net");
    assert!(main.tasks.iter().all(|t| t.kind == TaskKind::Empty));
    let a = task(main, "A");
    assert_eq!(a.split, SplitCode::Xor);
    let flows: Vec<_> = main
        .flows
        .iter()
        .filter(|f| f.from == "A")
        .map(|f| (f.to.as_str(), f.predicate.as_deref(), f.ordering, f.default))
        .collect();
    assert_eq!(
        flows,
        [
            ("B", Some("c == 0"), Some(0), false),
            ("D", None, None, true),
            ("C", Some("c == 1"), Some(1), false),
        ]
    );
    assert_eq!(main.variables[0].initial, Some(json!(0)));
    assert_eq!(main.variables[0].data_type, DataType::Integer);
}

#[test]
fn long_loops_random_predicate_on_an_xor_default_is_dropped() {
    let imported = strict("yawl-orjoin-tests/YAWLOrJoinTestSpecificationLongLoops.xml");
    let [
        ImportWarning::Untranslated {
            task: t,
            flow,
            site,
            fallback,
            expression,
            ..
        },
    ] = imported.warnings.as_slice()
    else {
        panic!("{:?}", imported.warnings);
    };
    assert_eq!(
        (t.as_str(), site, *fallback),
        ("c", &Site::Predicate, Fallback::Dropped)
    );
    assert_eq!(
        flow,
        &Some(FlowRef {
            from: "c".to_owned(),
            to: "q".to_owned()
        })
    );
    assert_eq!(expression, "random()");
    let main = net(&imported.spec, "exmple with or joins");
    let flow = main.flows.iter().find(|f| f.from == "c").unwrap();
    assert_eq!((flow.predicate.as_deref(), flow.default), (None, true));
    assert_eq!(task(main, "a").join, JoinCode::Or);
    assert_eq!(task(main, "f").join, JoinCode::Or);
}

#[test]
fn good_net_reports_its_unused_decomposition() {
    let imported = strict("yawl-verify-tests/GoodNetSpecification.xml");
    assert_eq!(
        imported.warnings,
        [ImportWarning::UnusedDecomposition {
            line: 2,
            decomposition: "I".to_owned()
        }]
    );
    let spec = imported.spec;
    assert_eq!(spec.root_net, "Process Creadit Card");
    // `I-leaf-d` has no decomposition: an empty routing task.
    assert_eq!(task(net(&spec, "leaf-d"), "I-leaf-d").kind, TaskKind::Empty);
    let c = task(net(&spec, "Process Creadit Card"), "c-top");
    assert_eq!(
        (c.kind, c.net.as_deref()),
        (TaskKind::Composite, Some("leaf-c"))
    );
    assert_eq!(c.cancellation_set, ["b-top", "a-top"].map(str::to_owned));
}

#[test]
fn tasks_are_empty_only_without_a_decomposition() {
    // TestOrJoin: every task decomposes to a parameterless gateway: all atomic, as
    // YAWL's TestOrJoin starts and completes their work items.
    let spec = strict("yawl-engine-tests/TestOrJoin.xml").spec;
    assert!(
        spec.nets[0]
            .tasks
            .iter()
            .all(|t| t.kind == TaskKind::Atomic)
    );
    // A task flowing into itself: the arc A -> A through `c{A_A}`.
    assert!(
        spec.nets[0]
            .flows
            .iter()
            .any(|f| f.from == "A" && f.to == "A")
    );
    let spec = strict("apromore-patterns/WPC2ParallelSplit.yawl").spec;
    assert!(spec.nets[0].tasks.iter().all(|t| t.kind == TaskKind::Empty));
    let spec = strict("apromore-patterns/WPC16DeferredChoice.yawl").spec;
    let kinds: Vec<_> = spec.nets[0]
        .tasks
        .iter()
        .map(|t| (t.id.as_str(), t.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("A", TaskKind::Atomic),
            ("C_1", TaskKind::Atomic),
            ("D_1", TaskKind::Empty)
        ]
    );
    let spec = strict("yawl-engine-tests/CaseCancellation.xml").spec;
    let segment = task(
        net(&spec, "do_itinerary_segment"),
        "register_itinerary_segment",
    );
    assert_eq!(
        segment.service.as_deref(),
        Some("mock://mockedURL/bla/bla/bla")
    );
}

#[test]
fn wpc22_recursion_composite_task_runs_its_own_net() {
    let spec = strict("apromore-patterns/WPC22Recursion.yawl").spec;
    let main = net(&spec, "Net");
    let recursive = task(main, "Net");
    assert_eq!(
        (recursive.kind, recursive.net.as_deref()),
        (TaskKind::Composite, Some("Net"))
    );
    let a = task(main, "A");
    assert_eq!(a.input_mappings[0].expression, "c");
    assert_eq!(a.output_mappings[0].expression, "output.c");
    let back = main
        .flows
        .iter()
        .find(|f| f.from == "A" && f.to == "Net")
        .unwrap();
    assert_eq!(back.predicate.as_deref(), Some("c < 5"));
}

#[test]
fn beta4_files_use_decompositions() {
    let spec = strict("yawl-orjoin-tests/ORJoin_Cancel_Infiniteloop.xml").spec;
    assert_eq!(spec.root_net, "New_Net_1");
    let main = net(&spec, "New_Net_1");
    assert_eq!(main.input_condition.id, "0_InputCondition");
    assert_eq!(main.output_condition.id, "1_OutputCondition");
    assert_eq!(main.conditions.len(), 3);
    assert_eq!(
        task(main, "6_C").cancellation_set,
        ["3_c2", "4_c1", "7_B"].map(str::to_owned)
    );
}

/// Every expression of `spec`: flow predicates, mappings, MI split and completion.
fn expressions(spec: &Specification) -> Vec<&str> {
    let mut found = Vec::new();
    for net in &spec.nets {
        found.extend(net.flows.iter().filter_map(|f| f.predicate.as_deref()));
        for task in &net.tasks {
            let mappings = task.input_mappings.iter().chain(&task.output_mappings);
            found.extend(mappings.map(|m| m.expression.as_str()));
            if let Some(mi) = &task.multiple_instance {
                found.extend(mi.split.as_deref());
                found.extend(mi.completion.as_deref());
            }
        }
    }
    found
}

/// The expression bounds of `knhk-expr` (length, nesting bound) refuse nothing the
/// importer makes of the corpus, with room to spare: the largest nesting bound is
/// recorded in `crates/knhk-expr/src/bounds.rs`.
#[test]
fn every_translated_expression_is_well_within_the_expression_bounds() {
    let limits = knhk_expr::ExprLimits::default();
    let mut largest = (0, 0, String::new());
    let (mut count, mut longest) = (0, 0);
    for &(file, load, ..) in FILES {
        if load == Load::Rejected {
            continue;
        }
        let spec = lenient(file).spec;
        for source in expressions(&spec) {
            count += 1;
            let nesting = knhk_expr::nesting_bound(source)
                .unwrap_or_else(|e| panic!("{file}: {source}: {e}"));
            longest = longest.max(source.len());
            if (nesting, source.len()) > (largest.0, largest.1) {
                largest = (nesting, source.len(), format!("{file}: {source}"));
            }
        }
    }
    eprintln!(
        "{count} expressions, the longest {longest} bytes; largest nesting bound {} ({} bytes): {}",
        largest.0, largest.1, largest.2
    );
    assert!(count > 50, "{count} expressions");
    assert!(longest * 4 <= limits.bytes_max, "{longest} bytes");
    assert!(largest.0 * 2 <= limits.nesting_max, "{largest:?}");
}
