#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The external YAWL corpus (`shared/yawl-specs`, read unchanged) imported and run in the
//! kernel, asserting the behaviour `shared/yawl-specs/INDEX.md` gives for each file:
//! YAWL's own JUnit expectations ([YAWL-test]) and the ones INDEX worked out from the
//! engine's source ([derived]), which each test's doc comment confirms or disputes.
//!
//! Every file goes through the same path a registration takes: `import_file`, then
//! `knhk_model::validate`, then `CompiledSpec::compile` with the CEL evaluator, then
//! `Case::launch` and commands on work items by task id.

use std::collections::BTreeSet;
use std::sync::Arc;

use knhk_kernel::{
    Bitset, Case, CaseState, Command, CommandError, CompiledSpec, Event, FailReason, Limits,
    Marking, NetInstanceId, OrJoinVerdict, ROOT_INSTANCE, StuckPlace, WorkItemId, WorkItemRole,
    WorkItemStatus, or_join_enabled,
};
use knhk_yawl::{ImportOptions, import_file};
use serde_json::{Value, json};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/yawl-specs");

// ---- harness ----------------------------------------------------------------------

/// Imports `file` (relative to the corpus) with `options`, validates and compiles it.
fn compile_with(file: &str, options: &ImportOptions) -> Arc<CompiledSpec> {
    let imported =
        import_file(format!("{CORPUS}/{file}"), options).unwrap_or_else(|e| panic!("{file}: {e}"));
    let valid = knhk_model::validate(imported.spec).unwrap_or_else(|e| panic!("{file}: {e:?}"));
    Arc::new(
        CompiledSpec::compile(&valid, &knhk_expr::CelEvaluator::default())
            .unwrap_or_else(|e| panic!("{file}: {e}")),
    )
}

/// Imports `file` strictly (every expression translated), validates and compiles it.
fn compile(file: &str) -> Arc<CompiledSpec> {
    compile_with(file, &ImportOptions::strict())
}

/// A case under test, with every event it produced.
struct Run {
    case: Case,
    events: Vec<Event>,
}

impl Run {
    /// Launches `file` with no data, seed 0 and default limits.
    fn launch(file: &str) -> Run {
        Run::launch_with(compile(file), json!({}), 0, Limits::default())
    }

    fn launch_with(spec: Arc<CompiledSpec>, data: Value, seed: u64, limits: Limits) -> Run {
        let (case, events) = Case::launch(spec, data, seed, limits).expect("launch succeeds");
        Run { case, events }
    }

    fn apply(&mut self, command: Command) -> Result<Vec<Event>, CommandError> {
        let result = self.case.apply(&command);
        if let Ok(events) = &result {
            self.events.extend(events.iter().cloned());
        }
        result
    }

    /// Task ids of the enabled work items, sorted (duplicates kept).
    fn offered(&self) -> Vec<String> {
        let mut tasks: Vec<String> = self
            .case
            .work_items()
            .filter(|w| w.status == WorkItemStatus::Enabled)
            .map(|w| w.task.to_string())
            .collect();
        tasks.sort();
        tasks
    }

    #[track_caller]
    fn assert_offered(&self, expected: &[&str]) {
        assert_eq!(self.offered(), expected, "enabled work items");
    }

    /// The first enabled work item of `task`.
    #[track_caller]
    fn item(&self, task: &str) -> WorkItemId {
        self.case
            .work_items()
            .find(|w| w.task == task && w.status == WorkItemStatus::Enabled)
            .map(|w| w.id)
            .unwrap_or_else(|| panic!("no enabled `{task}`; offered: {:?}", self.offered()))
    }

    /// Starts the first enabled work item of `task` and returns the started instance.
    #[track_caller]
    fn start(&mut self, task: &str) -> WorkItemId {
        let offer = self.item(task);
        self.apply(Command::StartWorkItem { work_item: offer })
            .unwrap_or_else(|e| panic!("start `{task}`: {e}"));
        let started = self
            .case
            .work_items()
            .filter(|w| w.task == task && w.status == WorkItemStatus::Started)
            .map(|w| w.id)
            .collect::<Vec<_>>();
        // The offer becomes the first instance (its id is kept) when it is one of them.
        if started.contains(&offer) {
            offer
        } else {
            *started.last().unwrap()
        }
    }

    #[track_caller]
    fn complete(&mut self, id: WorkItemId, output: Value) -> Vec<Event> {
        self.apply(Command::CompleteWorkItem {
            work_item: id,
            output,
        })
        .unwrap_or_else(|e| panic!("complete {id:?}: {e}"))
    }

    /// Starts and completes one work item of `task` with `output`.
    #[track_caller]
    fn run(&mut self, task: &str, output: Value) {
        let id = self.start(task);
        self.complete(id, output);
    }

    #[track_caller]
    fn run_empty(&mut self, task: &str) {
        self.run(task, json!({}));
    }

    fn state(&self) -> &'static str {
        self.case.state().name()
    }

    /// The tasks that completed, in order.
    fn trace(&self) -> Vec<String> {
        trace(&self.events)
    }

    /// How often `task` fired, in any net instance.
    fn fired(&self, task: &str) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::TaskFired { task: t, .. } if t == task))
            .count()
    }

    /// The live net instances other than the root.
    fn subnets(&self) -> Vec<NetInstanceId> {
        self.case
            .net_instances()
            .map(|(id, _)| id)
            .filter(|id| *id != ROOT_INSTANCE)
            .collect()
    }
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

/// The tasks that were ever offered as a work item.
fn ever_offered(events: &[Event]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::WorkItemEnabled { task, .. } => Some(task.to_string()),
            _ => None,
        })
        .collect()
}

// ---- B. OR-join analysis fixtures -------------------------------------------------

/// A row of yawl-reference.md §3 (`TestYNet.testORJoinEnabled`): tokens, busy tasks,
/// and `orJoinEnabled(f)`.
type Row = (
    &'static [(&'static str, u32)],
    &'static [&'static str],
    OrJoinVerdict,
);

/// The LongLoops OR-join table, as `crates/knhk-kernel/tests/or_join.rs` has it for its
/// JSON rebuild of the file.
const LONG_LOOPS_TABLE: [Row; 8] = [
    (&[("c{d_f}", 2), ("cC", 1)], &[], OrJoinVerdict::NotEnabled),
    (&[("c{d_f}", 1), ("cA", 1)], &[], OrJoinVerdict::Enabled),
    (&[("cC", 1)], &[], OrJoinVerdict::NotEnabled),
    (
        &[("i-top", 1), ("c{d_f}", 1)],
        &[],
        OrJoinVerdict::NotEnabled,
    ),
    (&[("c{d_f}", 1), ("c{b_w}", 1)], &[], OrJoinVerdict::Enabled),
    (&[("c{d_f}", 1)], &["d"], OrJoinVerdict::Enabled),
    (
        &[("cA", 1), ("cB", 1), ("c{q_f}", 1)],
        &[],
        OrJoinVerdict::NotEnabled,
    ),
    (
        &[("cA", 1), ("cB", 1), ("cC", 1), ("c{q_f}", 1)],
        &[],
        OrJoinVerdict::NotEnabled,
    ),
];

/// [YAWL-test `TestYNet.testORJoinEnabled`] The eight markings of the LongLoops table,
/// set on the net as imported from `YAWLOrJoinTestSpecificationLongLoops.xml` (leniently:
/// the loop's `random()` predicate has no CEL form and is dropped, which the analysis
/// ignores anyway), give YAWL's verdict for the OR-join `f`, and leave the marking as it
/// was.
#[test]
fn long_loops_or_join_table_on_the_imported_file() {
    let spec = compile_with(
        "yawl-orjoin-tests/YAWLOrJoinTestSpecificationLongLoops.xml",
        &ImportOptions::lenient(),
    );
    let net = spec.net(spec.root);
    let f = net.task_ix("f").unwrap();
    for (tokens, busy, expected) in LONG_LOOPS_TABLE {
        let mut marking = Marking::new(net);
        for (place, n) in tokens {
            let ix = net
                .place_ix(place)
                .unwrap_or_else(|| panic!("no place {place}"));
            marking.add(ix, *n);
        }
        let mut running = Bitset::new(net.tasks.len());
        for task in busy {
            running.insert(net.task_ix(task).unwrap().0 as usize);
        }
        let before = marking.clone();
        let verdict = or_join_enabled(net, f, &marking, &running, 1_000_000);
        assert_eq!(verdict, expected, "marking {tokens:?}, busy {busy:?}");
        assert_eq!(marking, before);
    }
}

/// [derived] `ORJoin_ORsplit.xml`: A's OR-split takes all three flows (every predicate
/// is `true()`), so the OR-join E waits until B, C and D have all completed, then fires
/// once. Agreed: after A, each of B, C, D is enabled or busy and can still mark an empty
/// input of E, so E is not enabled until the last of them completes.
#[test]
fn or_join_after_or_split_waits_for_all_three() {
    let mut run = Run::launch("yawl-orjoin-tests/ORJoin_ORsplit.xml");
    run.run_empty("12_A");
    run.assert_offered(&["10_B", "8_D", "9_C"]);
    run.run_empty("10_B");
    run.assert_offered(&["8_D", "9_C"]);
    run.run_empty("9_C");
    run.assert_offered(&["8_D"]);
    run.run_empty("8_D");
    run.assert_offered(&["11_E"]);
    run.run_empty("11_E");
    assert_eq!(run.state(), "completed");
    assert_eq!(run.fired("11_E"), 1);
    assert_eq!(run.trace().last().map(String::as_str), Some("11_E"));
}

/// [derived] `ORjoinWorkedExample.xml` (Wynn et al.): the OR-join G (inputs: C's branch
/// `5_` and F's branch `3_`) waits while F can still fire, and fires once it cannot.
/// Agreed: F is an AND-join of E's `2_` and D's `6_`, both fed from the deferred choice
/// `8_`, which B refills while the loop `7_cBB` holds a token; D empties the loop.
/// - With C done and B, E pending, G waits; after E it still waits (B can run again
///   from `cBB` and feed D); once B and D have run too, F is offered, G still waits; after
///   F, G is offered.
/// - If D takes B's first token, the loop is cancelled and nothing can mark `8_` (so
///   `2_`) again: F can never fire, and G is offered at once.
#[test]
fn or_join_worked_example_waits_while_f_can_fire() {
    let file = "yawl-orjoin-tests/ORjoinWorkedExample.xml";
    let mut run = Run::launch(file);
    run.run_empty("15_A");
    run.assert_offered(&["10_C", "13_B"]);
    run.run_empty("10_C");
    run.assert_offered(&["13_B"]);
    run.run_empty("13_B");
    run.assert_offered(&["12_D", "13_B", "16_E"]);
    run.run_empty("16_E");
    run.assert_offered(&["13_B"]);
    run.run_empty("13_B");
    run.assert_offered(&["12_D", "13_B", "16_E"]);
    run.run_empty("12_D");
    // D cancelled the loop: B is withdrawn; F (AND of E and D) is offered.
    run.assert_offered(&["14_F"]);
    run.run_empty("14_F");
    run.assert_offered(&["11_G"]);
    run.run_empty("11_G");
    assert_eq!(run.state(), "completed");
    assert_eq!(run.fired("11_G"), 1);

    let mut run = Run::launch(file);
    run.run_empty("15_A");
    run.run_empty("10_C");
    run.run_empty("13_B");
    run.run_empty("12_D");
    // `8_` and the loop are empty, so E (and with it F) can never fire.
    run.assert_offered(&["11_G"]);
    run.run_empty("11_G");
    assert_eq!(run.state(), "completed");
    assert_eq!(run.fired("14_F"), 0);
}

/// [derived] `ORJoin_Cancel_Infiniteloop.xml`: C's cancellation set {c1, c2, B} means
/// c2 and c3 are never marked together, so the OR-join E is enabled as soon as either of
/// them holds a token. Agreed: c3 is marked only by C, whose completion empties c2 and c1
/// and cancels B; after that only D (which consumes c3) can mark c2 or c1 again. The
/// loop D -> {c1, c2} is explored without the analysis hanging.
#[test]
fn or_join_with_cancellation_fires_on_either_input() {
    let file = "yawl-orjoin-tests/ORJoin_Cancel_Infiniteloop.xml";
    // Through c2: E is offered beside C (c2 is a deferred choice of E and C).
    let mut run = Run::launch(file);
    run.run_empty("8_A");
    run.run_empty("7_B");
    run.assert_offered(&["6_C", "9_E"]);
    run.run_empty("9_E");
    assert_eq!(run.state(), "completed");

    // Through c3: after C, E is offered beside D; round the loop once (D marks c1 and
    // c2, so E is offered from c2 again), then E ends the case.
    let mut run = Run::launch(file);
    run.run_empty("8_A");
    run.run_empty("7_B");
    run.run_empty("6_C");
    run.assert_offered(&["5_D", "9_E"]);
    run.run_empty("5_D");
    run.assert_offered(&["6_C", "7_B", "9_E"]);
    run.run_empty("6_C");
    run.assert_offered(&["5_D", "9_E"]);
    run.run_empty("9_E");
    assert_eq!(run.state(), "completed");
    assert_eq!(run.fired("9_E"), 1);
}

// ---- A. YAWL engine fixtures --------------------------------------------------------

/// Runs TestOrJoin's scenario (A, F, B, then start A again) with the file's task ids
/// and checks the OR-join is never offered, also after A completes.
fn improper_completion(file: &str, a: &str, f: &str, b: &str, e: &str) {
    let mut run = Run::launch(file);
    run.assert_offered(&[a]);
    run.run_empty(a);
    run.run_empty(f);
    run.run_empty(b);
    let again = run.start(a);
    assert!(!run.offered().contains(&e.to_owned()), "{e} offered");
    run.complete(again, json!({}));
    assert!(!run.offered().contains(&e.to_owned()), "{e} offered");
    assert!(!ever_offered(&run.events).contains(e));
    assert_eq!(run.state(), "running");
}

/// [YAWL-test `TestOrJoin.testImproperCompletion`] `TestOrJoin.xml`: after A, F and B,
/// with A started again, the OR-join E is not enabled, nor after A completes, because D
/// can still produce a token (C1 is marked again).
#[test]
fn test_or_join_e_not_enabled_while_d_can_fire() {
    improper_completion("yawl-engine-tests/TestOrJoin.xml", "A", "F", "B", "E");
}

/// [YAWL-test `testImproperCompletion2`] `Test55.xml`: the same net with numeric ids
/// (8 = A, 5 = F, 6 = B, 9 = E) and data mappings: task 9 is not enabled.
#[test]
fn test55_task_9_not_enabled_while_d_can_fire() {
    improper_completion("yawl-engine-tests/Test55.xml", "8", "5", "6", "9");
}

/// Runs CaseCancellation up to the two flights: register, both segment registrations
/// (no `want_*` data: the OR-split takes its default, flight), both flights.
fn case_cancellation_to_flights() -> Run {
    let mut run = Run::launch("yawl-engine-tests/CaseCancellation.xml");
    run.run_empty("register");
    // register AND-splits: the MI composite runs one subnet per `stubList` element (two),
    // and ableToCancel offers cancel (pay also needs the segments).
    assert_eq!(run.subnets().len(), 2);
    run.assert_offered(&[
        "cancel",
        "register_itinerary_segment",
        "register_itinerary_segment",
    ]);
    run.run_empty("register_itinerary_segment");
    run.run_empty("register_itinerary_segment");
    run.assert_offered(&["cancel", "flight", "flight"]);
    run
}

/// [YAWL-test `TestCaseCancellation`] `CaseCancellation.xml`: register, segment×2,
/// flight×2, cancel. cancel's region {register, ableToCancel, do_itinerary_segment, pay}
/// cancels the busy MI composite with both its subnets, and cancel's flow reaches the
/// end: the case completes with no live work item and no net instance left (YAWL: 0
/// running cases).
#[test]
fn case_cancellation_cancel_ends_the_case() {
    let mut run = case_cancellation_to_flights();
    run.run_empty("flight");
    run.run_empty("flight");
    run.assert_offered(&[
        "cancel",
        "prepare_payment_information",
        "prepare_payment_information",
    ]);
    run.run_empty("cancel");
    assert_eq!(run.case.state(), &CaseState::Completed);
    assert!(run.events.contains(&Event::TaskCancelled {
        net_instance: ROOT_INSTANCE,
        task: "do_itinerary_segment".into()
    }));
    assert_eq!(run.case.work_items().count(), 0);
    assert!(run.subnets().is_empty());
    assert_eq!(run.fired("pay"), 0);
}

/// [YAWL-test `TestCaseCancellation`, `cancelCase`] Cancelling the case mid-run (after
/// the segment registrations) announces it (`CaseStateChanged` to cancelled, YAWL's
/// case-cancelled announcement), withdraws every live work item and drops every net
/// instance; later commands are refused.
#[test]
fn case_cancellation_cancel_case_mid_run() {
    let mut run = case_cancellation_to_flights();
    let live: Vec<WorkItemId> = run.case.work_items().map(|w| w.id).collect();
    let events = run.apply(Command::CancelCase).unwrap();
    assert_eq!(
        events.last(),
        Some(&Event::CaseStateChanged {
            state: CaseState::Cancelled
        })
    );
    for id in live {
        assert!(
            events.contains(&Event::WorkItemWithdrawn {
                work_item: id,
                status: WorkItemStatus::Cancelled
            }),
            "{id:?} not cancelled"
        );
    }
    assert_eq!(run.case.state(), &CaseState::Cancelled);
    assert_eq!(run.case.work_items().count(), 0);
    assert_eq!(run.case.net_instances().count(), 0);
    assert_eq!(
        run.apply(Command::CancelCase),
        Err(CommandError::CaseNotRunning { state: "cancelled" })
    );
}

/// [YAWL-test `TestDeadlockingWorkflows`] `DeadlockingSpecification.xml`: a-top is an
/// AND-join of i-top and c1-top, which only a-top feeds, so the case is deadlocked at
/// launch. YAWL shows this as one work item with status Deadlocked and a finished
/// runner; the kernel reports the case state `deadlocked` at once, naming the stuck
/// place i-top, with no work item, and refuses further commands.
#[test]
fn deadlocking_specification_is_deadlocked_at_launch() {
    let mut run = Run::launch("yawl-engine-tests/DeadlockingSpecification.xml");
    let deadlocked = CaseState::Deadlocked {
        stuck: vec![StuckPlace {
            net_instance: ROOT_INSTANCE,
            net: "top".into(),
            place: "i-top".into(),
            tokens: 1,
        }],
    };
    assert_eq!(run.case.state(), &deadlocked);
    assert_eq!(
        run.events.last(),
        Some(&Event::CaseStateChanged { state: deadlocked })
    );
    assert_eq!(run.case.work_items().count(), 0);
    assert_eq!(
        run.apply(Command::CancelCase),
        Err(CommandError::CaseNotRunning {
            state: "deadlocked"
        })
    );
}

/// [YAWL-test `TestYNetRunner`] `YAWL_Specification2.xml`:
/// - before a-top completes there is no b-top work item to start, and starting a-top's
///   busy item again is refused (YAWL: firing the non-enabled b-top is refused);
/// - the OR-split's only flow (predicate `false()`, default) still marks
///   `c{a-top_b-top}`;
/// - `AddInstance` on b-top is refused while b-top is not busy (YAWL: null with no
///   sibling) and gives a new instance once it runs (6 from `stubList`, then a 7th, the
///   maximum; an 8th is refused);
/// - completions do not exit b-top until the threshold (5) is reached; the fifth exits
///   it, withdraws the rest, and completing a withdrawn one is refused; the case then
///   completes.
#[test]
fn yawl_specification2_or_default_and_mi_threshold() {
    let mut run = Run::launch("yawl-engine-tests/YAWL_Specification2.xml");
    run.assert_offered(&["a-top"]);
    let a = run.start("a-top");
    assert!(matches!(
        run.apply(Command::StartWorkItem { work_item: a }),
        Err(CommandError::NotEnabled { .. })
    ));
    assert!(run.case.work_items().all(|w| w.task != "b-top"));
    let add = |run: &mut Run| {
        run.apply(Command::AddInstance {
            net_instance: ROOT_INSTANCE,
            task: "b-top".into(),
            data: Value::Null,
        })
    };
    assert_eq!(
        add(&mut run),
        Err(CommandError::TaskNotBusy {
            task: "b-top".into()
        })
    );
    run.complete(a, json!({}));
    assert_eq!(
        run.case
            .tokens(ROOT_INSTANCE)
            .into_iter()
            .collect::<Vec<_>>(),
        [("c{a-top_b-top}".to_owned(), 1)]
    );
    run.assert_offered(&["b-top"]);

    let offer = run.item("b-top");
    run.apply(Command::StartWorkItem { work_item: offer })
        .unwrap();
    assert_eq!(run.case.work_items().count(), 6);
    add(&mut run).unwrap();
    let mut instances: Vec<WorkItemId> = run.case.work_items().map(|w| w.id).collect();
    assert_eq!(instances.len(), 7);
    assert!(matches!(
        add(&mut run),
        Err(CommandError::InstanceCount { max: 7, .. })
    ));
    instances.sort();
    for id in &instances {
        if run.case.work_item(*id).unwrap().status == WorkItemStatus::Enabled {
            run.apply(Command::StartWorkItem { work_item: *id })
                .unwrap();
        }
        assert!(matches!(
            run.case.work_item(*id).unwrap().role,
            WorkItemRole::Instance { .. }
        ));
    }
    for (k, id) in instances[..4].iter().enumerate() {
        run.complete(*id, json!({}));
        assert_eq!(
            run.case.busy_tasks(ROOT_INSTANCE),
            ["b-top"],
            "after {} completions",
            k + 1
        );
    }
    let events = run.complete(instances[4], json!({}));
    assert!(events.contains(&Event::TaskCompleted {
        net_instance: ROOT_INSTANCE,
        task: "b-top".into()
    }));
    for id in &instances[5..] {
        assert!(events.contains(&Event::WorkItemWithdrawn {
            work_item: *id,
            status: WorkItemStatus::Withdrawn
        }));
    }
    assert_eq!(run.case.state(), &CaseState::Completed);
    assert!(run.case.work_item(instances[5]).is_none());
    assert!(
        run.apply(Command::CompleteWorkItem {
            work_item: instances[5],
            output: json!({})
        })
        .is_err()
    );
}

/// [YAWL-test `TestEngineSystem2`] `YAWL_Specification4.xml`: the root's composite q
/// starts a child net instance ("Do Nothing") at launch, where b-top is offered. After
/// b-top, c-top and d-top are both offered; after c-top, the XOR-join e-top is offered;
/// the first e-top completion completes the subnet although d-top is still offered: d-top
/// is withdrawn, the subnet instance is gone, and the root case completes. (YAWL's child
/// case id contains "."; the kernel's subnet is a separate `NetInstanceId` whose
/// `NetStarted` event names its parent task q.)
#[test]
fn yawl_specification4_first_e_top_completes_subnet_and_case() {
    let mut run = Run::launch("yawl-engine-tests/YAWL_Specification4.xml");
    let subnets = run.subnets();
    assert_eq!(subnets.len(), 1);
    let child = subnets[0];
    assert!(run.events.contains(&Event::NetStarted {
        net_instance: child,
        net: "Do Nothing".into(),
        parent: Some((ROOT_INSTANCE, "q".into()))
    }));
    run.assert_offered(&["b-top"]);
    assert_eq!(
        run.case.work_item(run.item("b-top")).unwrap().net_instance,
        child
    );
    run.run_empty("b-top");
    run.assert_offered(&["c-top", "d-top"]);
    run.run_empty("c-top");
    run.assert_offered(&["d-top", "e-top"]);
    let d = run.item("d-top");
    run.run_empty("e-top");
    assert!(run.events.contains(&Event::NetCompleted {
        net_instance: child
    }));
    assert!(run.events.contains(&Event::WorkItemWithdrawn {
        work_item: d,
        status: WorkItemStatus::Withdrawn
    }));
    assert!(run.subnets().is_empty());
    assert_eq!(run.case.state(), &CaseState::Completed);
    assert_eq!(run.case.work_items().count(), 0);
}

/// [derived] `CancellationTest.xml`: A (4) AND-splits to the OR-join 5, to B (3) -> C (6)
/// and to D (2); E (7) is an AND-join of D and C and feeds 5. Agreed that E can never
/// fire: D's cancellation set {3, 6, c{4_3}, c{3_6}, c{6_7}} empties C's branch when D
/// completes, which is the only moment `c{2_7}` is marked, and nothing refills that
/// branch afterwards. So `c{7_5}` is uncoverable and 5 is offered as soon as A completes;
/// completing 5 marks the output condition and the leftover offers (3, 2) are withdrawn.
#[test]
fn cancellation_test_or_join_enabled_after_a() {
    let mut run = Run::launch("yawl-engine-tests/CancellationTest.xml");
    run.run_empty("4");
    run.assert_offered(&["2", "3", "5"]);
    let leftovers = [run.item("2"), run.item("3")];
    run.run_empty("5");
    assert_eq!(run.case.state(), &CaseState::Completed);
    for id in leftovers {
        assert!(run.events.contains(&Event::WorkItemWithdrawn {
            work_item: id,
            status: WorkItemStatus::Withdrawn
        }));
    }
    assert_eq!(run.case.work_items().count(), 0);

    // Also after B and C ran: D still empties C's branch, so E never fires and 5 stays
    // offered throughout.
    let mut run = Run::launch("yawl-engine-tests/CancellationTest.xml");
    run.run_empty("4");
    run.run_empty("3");
    run.run_empty("6");
    run.assert_offered(&["2", "5"]);
    run.run_empty("2");
    run.assert_offered(&["5"]);
    assert_eq!(run.fired("7"), 0);
    run.run_empty("5");
    assert_eq!(run.case.state(), &CaseState::Completed);
}

// ---- E. Apromore pattern models -----------------------------------------------------

/// [derived] WPC2: every task is empty, so the case ends at launch. A AND-splits to B,
/// C and D; the AND-join E runs once, after all three. Agreed (AND-join semantics).
#[test]
fn wpc2_parallel_split_and_synchronisation() {
    for seed in 0..8 {
        let run = Run::launch_with(
            compile("apromore-patterns/WPC2ParallelSplit.yawl"),
            json!({}),
            seed,
            Limits::default(),
        );
        let trace = run.trace();
        assert_eq!(trace.len(), 5, "{trace:?}");
        assert_eq!(trace[0], "A");
        assert_eq!(trace[4], "E");
        let middle: BTreeSet<&str> = trace[1..4].iter().map(String::as_str).collect();
        assert_eq!(middle, BTreeSet::from(["B", "C", "D"]));
        assert_eq!(run.case.state(), &CaseState::Completed);
    }
}

/// [derived] WPC5: the input condition feeds the empty tasks A, B and C directly, a
/// deferred choice: exactly one of them runs, then D. Agreed: the three compete for the
/// one token in the input condition; which one wins is the case's seeded random choice.
#[test]
fn wpc5_deferred_choice_runs_exactly_one_then_d() {
    let spec = compile("apromore-patterns/WPC5SimpleMerge.yawl");
    let mut winners = BTreeSet::new();
    for seed in 0..16 {
        let run = Run::launch_with(Arc::clone(&spec), json!({}), seed, Limits::default());
        let trace = run.trace();
        assert_eq!(trace.len(), 2, "{trace:?}");
        assert!(["A", "B", "C"].contains(&trace[0].as_str()), "{trace:?}");
        assert_eq!(trace[1], "D");
        assert_eq!(run.case.state(), &CaseState::Completed);
        winners.insert(trace[0].clone());
    }
    assert!(winners.len() > 1, "the choice never varies: {winners:?}");
}

/// [derived] WPC6: A's OR-split takes C_1 (default, `true()`), B when cond <= 10 and D_1
/// when cond > 10. With cond = 0, B and C_1 run and the OR-join E waits for both, firing
/// once; with cond = 11, C_1 and D_1. Agreed: the OR-join fires only when no empty input
/// can still be marked, i.e. after both taken branches.
#[test]
fn wpc6_multiple_choice_or_join_waits_for_both() {
    let spec = compile("apromore-patterns/WPC6MultipleChoice.yawl");
    for (data, branches) in [
        (json!({}), ["B", "C_1"]),
        (json!({"cond": 11}), ["C_1", "D_1"]),
    ] {
        let run = Run::launch_with(Arc::clone(&spec), data.clone(), 0, Limits::default());
        let trace = run.trace();
        assert_eq!(trace.len(), 4, "{data}: {trace:?}");
        assert_eq!(trace[0], "A");
        let mut middle = trace[1..3].to_vec();
        middle.sort();
        assert_eq!(middle, branches, "{data}");
        assert_eq!(trace[3], "E");
        assert_eq!(run.case.state(), &CaseState::Completed);
    }
}

/// [derived] WPC8: E is an XOR-join fed by B, C and D. The case ends when the first
/// token reaches the output condition and leftover tokens are discarded, so E completes
/// exactly once whatever the firing order. Agreed (YAWL's net completion rule).
#[test]
fn wpc8_multi_merge_ends_at_first_output_token() {
    let spec = compile("apromore-patterns/WPC8MultiMerge.yawl");
    for seed in 0..8 {
        let run = Run::launch_with(Arc::clone(&spec), json!({}), seed, Limits::default());
        let trace = run.trace();
        assert_eq!(trace[0], "A");
        assert_eq!(trace.last().map(String::as_str), Some("E"));
        assert_eq!(trace.iter().filter(|t| *t == "E").count(), 1, "{trace:?}");
        assert_eq!(run.case.state(), &CaseState::Completed);
        // Only the output condition is left: the tokens still waiting for E are gone.
        assert_eq!(
            run.case
                .tokens(ROOT_INSTANCE)
                .into_iter()
                .collect::<Vec<_>>(),
            [("OutputCondition".to_owned(), 1)]
        );
    }
}

/// [derived] WPC10: A -> B -> C; C goes to D if cond > 10, else back to A; D goes to E if
/// cond > 15, else to the end; E re-enters at B. Agreed. Only A and E map `cond` back to
/// the net (B, C, D have no mappings in the file), so the run sets it through them:
/// A gives 3 (C loops back to A), then 20 (D goes on to E), E gives 12 (B, C, D, end).
#[test]
fn wpc10_arbitrary_cycles_two_entry_points() {
    let mut run = Run::launch("apromore-patterns/WPC10AbitraryCycles.yawl");
    run.run("A", json!({"cond": 3}));
    run.run_empty("B");
    run.run_empty("C");
    run.assert_offered(&["A"]);
    run.run("A", json!({"cond": 20}));
    run.run_empty("B");
    run.run_empty("C");
    run.run_empty("D");
    run.assert_offered(&["E"]);
    run.run("E", json!({"cond": 12}));
    run.run_empty("B");
    run.run_empty("C");
    run.run_empty("D");
    assert_eq!(
        run.trace(),
        ["A", "B", "C", "A", "B", "C", "D", "E", "B", "C", "D"]
    );
    assert_eq!(run.case.state(), &CaseState::Completed);
    assert_eq!(run.case.data()["cond"], json!(12));
}

/// [derived] WPC16: after A, condition B_1 is a deferred choice of C_1 (atomic) and D_1
/// (empty). An enabled empty task fires at once, so D_1 wins and C_1 is never offered.
/// Agreed: YAWL processes an empty task as soon as it is enabled
/// (`YNetRunner.processEmptyTask`), before any work item could be started.
#[test]
fn wpc16_empty_task_wins_deferred_choice() {
    let mut run = Run::launch("apromore-patterns/WPC16DeferredChoice.yawl");
    run.run("A", json!({"var": "x"}));
    assert_eq!(run.trace(), ["A", "D_1"]);
    assert!(!ever_offered(&run.events).contains("C_1"));
    assert_eq!(run.case.state(), &CaseState::Completed);
}

/// [derived] WPC21: B's flow back to A has predicate `true()` with ordering 0, so the
/// loop of empty tasks never exits. Agreed (XOR-split predicates are tried in ordering
/// and the first that holds is taken). The kernel does not hang: it fails the case with
/// `StepBudgetExhausted` at launch.
#[test]
fn wpc21_livelock_fails_with_the_step_budget() {
    let limits = Limits {
        steps_max: 200,
        ..Limits::default()
    };
    let run = Run::launch_with(
        compile("apromore-patterns/WPC21StructuredLoop.yawl"),
        json!({}),
        0,
        limits,
    );
    assert_eq!(
        run.case.state(),
        &CaseState::Failed {
            reason: FailReason::StepBudgetExhausted { steps: 200 }
        }
    );
    assert_eq!(run.case.work_items().count(), 0);
    assert!(run.fired("A") >= 90);
}

/// [derived] WPC22: if A sets c < 5, the composite task `Net` starts a new instance of
/// the same net, and the recursion continues until A gives c >= 5.
///
/// Agrees with INDEX: the new instance's local c begins again at 0. The import marks
/// every task with work `mappings_only` (YAWL's rule), so the composite task `Net`,
/// which has no mappings, passes nothing down: the subnet's variables take their initial
/// values. Nor does anything come back up: each level keeps its own c.
#[test]
fn wpc22_recursion_starts_a_new_instance_of_the_same_net() {
    let mut run = Run::launch("apromore-patterns/WPC22Recursion.yawl");
    assert_eq!(
        run.case.work_item(run.item("A")).unwrap().data,
        json!({"c": 0})
    );
    run.run("A", json!({"c": 3}));
    let subnets = run.subnets();
    assert_eq!(subnets.len(), 1);
    let child = subnets[0];
    assert!(run.events.contains(&Event::NetStarted {
        net_instance: child,
        net: "Net".into(),
        parent: Some((ROOT_INSTANCE, "Net".into()))
    }));
    let a = run.item("A");
    assert_eq!(run.case.work_item(a).unwrap().net_instance, child);
    // The child's c starts at its initial value, not the parent's 3.
    assert_eq!(run.case.work_item(a).unwrap().data, json!({"c": 0}));
    run.run("A", json!({"c": 4}));
    assert_eq!(run.subnets().len(), 2);
    assert_eq!(
        run.case.work_item(run.item("A")).unwrap().data,
        json!({"c": 0})
    );
    run.run("A", json!({"c": 7}));
    assert_eq!(run.case.state(), &CaseState::Completed);
    assert_eq!(run.fired("Net"), 2);
    // The subnets' values stayed in the subnets.
    assert_eq!(run.case.data()["c"], json!(3));
}
