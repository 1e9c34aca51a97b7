//! Patterns 15 to 29 of yawl-reference §4: multiple instances added at run time, the
//! state-based patterns (deferred choice, interleaved parallel routing, milestone),
//! cancellation (task, case, region, MI activity) and forced MI completion, structured
//! loops and recursion, transient and persistent triggers, and the blocking and
//! cancelling discriminators. Each test runs `examples/patterns/wcp_NN_*.json` and
//! asserts, step by step, the offered work items, what was withdrawn or cancelled and by
//! which event, the tokens where they matter, and the final state and data.

use knhk_kernel::{
    CaseState, Command, CommandError, Event, NetInstanceId, ROOT_INSTANCE, WorkItemId,
    WorkItemRole, WorkItemStatus,
};
use serde_json::{Value, json};

use crate::support::Run;

const WITHDRAWN: WorkItemStatus = WorkItemStatus::Withdrawn;
const CANCELLED: WorkItemStatus = WorkItemStatus::Cancelled;

/// The work items `events` withdrew or cancelled, in event order.
fn withdrawals(events: &[Event]) -> Vec<(WorkItemId, WorkItemStatus)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::WorkItemWithdrawn { work_item, status } => Some((*work_item, *status)),
            _ => None,
        })
        .collect()
}

/// The work items `events` made, in event order.
fn enabled(events: &[Event]) -> Vec<WorkItemId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::WorkItemEnabled { work_item, .. } => Some(*work_item),
            _ => None,
        })
        .collect()
}

/// The live work items of `task` with `status`, by id.
fn items(run: &Run, task: &str, status: WorkItemStatus) -> Vec<WorkItemId> {
    run.case
        .work_items()
        .filter(|i| i.task == task && i.status == status)
        .map(|i| i.id)
        .collect()
}

/// How many times `task` completed so far.
fn completions(run: &Run, task: &str) -> usize {
    run.completed_tasks().iter().filter(|t| *t == task).count()
}

#[track_caller]
#[allow(clippy::expect_used, reason = "test helper")]
fn start_item(run: &mut Run, id: WorkItemId) -> Vec<Event> {
    run.apply(Command::StartWorkItem { work_item: id })
        .expect("start succeeds")
}

#[track_caller]
#[allow(clippy::expect_used, reason = "test helper")]
fn complete_item(run: &mut Run, id: WorkItemId, output: Value) -> Vec<Event> {
    run.apply(Command::CompleteWorkItem {
        work_item: id,
        output,
    })
    .expect("complete succeeds")
}

/// WCP 15, Multiple Instances without a priori Run-Time Knowledge (yawl-reference §4):
/// instances may be added while others run, until a stop condition; all are joined.
/// knhk: a multiple-instance task with `creation: dynamic`; `Command::AddInstance` adds an
/// instance (its element as data) while the task is busy, up to `max`. Without a
/// threshold the task exits once every instance created so far has completed, and from
/// then on refuses additions; `aggregate` collects the outputs in instance order.
#[test]
fn wcp_15_mi_without_a_priori_run_time_knowledge() {
    let mut run = Run::launch(
        "patterns/wcp_15_mi_without_a_priori_run_time_knowledge.json",
        json!({}),
    );
    run.run("register_claim", json!({"items": ["windscreen"]}));
    run.assert_offered(&["assess_item"]);
    // Starting the offer fires the task with one instance per listed item: just one.
    let windscreen = run.start("assess_item");
    assert_eq!(run.started(), ["assess_item"]);
    run.assert_offered(&[]);
    assert_eq!(
        run.case.work_item(windscreen).unwrap().data["item"],
        "windscreen"
    );

    let add = |run: &mut Run, item: &str| {
        run.apply(Command::AddInstance {
            net_instance: ROOT_INSTANCE,
            task: "assess_item".to_owned(),
            data: json!(item),
        })
    };
    // An assessor finds a second damaged item while the first is being assessed.
    let events = add(&mut run, "bumper").unwrap();
    let [bumper] = enabled(&events)[..] else {
        panic!("one new instance: {events:?}")
    };
    let item = run.case.work_item(bumper).unwrap();
    assert_eq!(
        (item.role, item.status, &item.data["item"]),
        (
            WorkItemRole::Instance { slot: 1 },
            WorkItemStatus::Enabled,
            &json!("bumper")
        )
    );
    run.assert_offered(&["assess_item"]);

    // One instance done, one open: the task waits; `settle_claim` is not offered.
    run.complete(windscreen, json!({"cost": 300}));
    run.assert_offered(&["assess_item"]);
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["assess_item"]);
    assert_eq!(completions(&run, "assess_item"), 0);

    // Instances can still be added after some completed, up to max (3) in all.
    let events = add(&mut run, "mirror").unwrap();
    let [mirror] = enabled(&events)[..] else {
        panic!("one new instance: {events:?}")
    };
    assert_eq!(
        run.case.work_item(mirror).unwrap().role,
        WorkItemRole::Instance { slot: 2 }
    );
    assert_eq!(
        add(&mut run, "door"),
        Err(CommandError::InstanceCount {
            task: "assess_item".to_owned(),
            count: 4,
            min: 1,
            max: 3
        })
    );
    run.assert_offered(&["assess_item", "assess_item"]);

    // The last-added instance finishes first; the join waits for the bumper too.
    start_item(&mut run, mirror);
    complete_item(&mut run, mirror, json!({"cost": 80}));
    run.assert_offered(&["assess_item"]);
    start_item(&mut run, bumper);
    complete_item(&mut run, bumper, json!({"cost": 500}));
    run.assert_offered(&["settle_claim"]);
    assert_eq!(completions(&run, "assess_item"), 1);
    assert_eq!(
        run.case.data()["assessments"],
        json!([{"cost": 300}, {"cost": 500}, {"cost": 80}]),
        "outputs in instance order"
    );
    // The task has exited: no instance can be added any more.
    assert_eq!(
        add(&mut run, "door"),
        Err(CommandError::TaskNotBusy {
            task: "assess_item".to_owned()
        })
    );
    run.run_empty("settle_claim");
    run.assert_state("completed");
}

/// WCP 16, Deferred Choice (yawl-reference §4): one of several branches is chosen by the
/// environment, as the first to start; the others are withdrawn. knhk: a condition with
/// several atomic successors; all are offered, starting one consumes the token, and the
/// same command withdraws the other offers (`WorkItemWithdrawn`, status `withdrawn`).
/// Each of the three branches is chosen in turn.
#[test]
fn wcp_16_deferred_choice() {
    let branches = ["record_acceptance", "record_rejection", "close_unanswered"];
    for choice in branches {
        let mut run = Run::launch("patterns/wcp_16_deferred_choice.json", json!({}));
        run.run_empty("send_quote");
        run.assert_offered(&["close_unanswered", "record_acceptance", "record_rejection"]);
        run.assert_tokens(&[("awaiting_reply", 1)]);
        let chosen = run.item(choice);
        let others: Vec<WorkItemId> = branches
            .iter()
            .filter(|b| **b != choice)
            .map(|b| run.item(b))
            .collect();

        let events = start_item(&mut run, chosen);
        let mut expected = vec![
            Event::TaskFired {
                net_instance: ROOT_INSTANCE,
                task: choice.into(),
                instances: 1,
            },
            Event::WorkItemStarted { work_item: chosen },
        ];
        expected.extend(others.iter().map(|id| Event::WorkItemWithdrawn {
            work_item: *id,
            status: WITHDRAWN,
        }));
        assert_eq!(events, expected, "choosing {choice}");
        for id in &others {
            assert!(run.case.work_item(*id).is_none());
            assert_eq!(
                run.apply(Command::StartWorkItem { work_item: *id }),
                Err(CommandError::UnknownWorkItem(*id))
            );
        }
        run.assert_offered(&[]);
        assert_eq!(run.started(), [choice]);
        run.assert_tokens(&[]);

        run.complete(chosen, json!({}));
        run.assert_state("completed");
        assert_eq!(run.completed_tasks(), ["send_quote", choice]);
    }
}

/// WCP 17, Interleaved Parallel Routing (yawl-reference §4): a set of tasks, partially
/// ordered, each runs exactly once and never two at a time. knhk: the mutex condition
/// pattern; each task is an AND-join over its branch and `mutex` and puts the mutex token
/// back. Run in three orders the partial order allows (invoices before payments,
/// contracts anywhere): while one task runs nothing else is offered and `mutex` is
/// empty, and offers that lost the mutex are withdrawn.
#[test]
fn wcp_17_interleaved_parallel_routing() {
    const INVOICES: &str = "check_invoices";
    const PAYMENTS: &str = "check_payments";
    const CONTRACTS: &str = "check_contracts";
    // The tasks the partial order allows after `done`, sorted.
    let allowed = |done: &[&str]| -> Vec<&str> {
        let mut next: Vec<&str> = [CONTRACTS, INVOICES, PAYMENTS]
            .into_iter()
            .filter(|t| !done.contains(t))
            .filter(|t| *t != PAYMENTS || done.contains(&INVOICES))
            .collect();
        next.sort();
        next
    };
    for order in [
        [INVOICES, PAYMENTS, CONTRACTS],
        [CONTRACTS, INVOICES, PAYMENTS],
        [INVOICES, CONTRACTS, PAYMENTS],
    ] {
        let mut run = Run::launch(
            "patterns/wcp_17_interleaved_parallel_routing.json",
            json!({}),
        );
        run.assert_tokens(&[
            ("c{begin_audit_check_contracts}", 1),
            ("c{begin_audit_check_invoices}", 1),
            ("mutex", 1),
        ]);
        let mut done = Vec::new();
        for task in order {
            run.assert_offered(&allowed(&done));
            assert_eq!(
                run.tokens().get("mutex"),
                Some(&1),
                "mutex free before {task}"
            );
            let losers: Vec<WorkItemId> = allowed(&done)
                .into_iter()
                .filter(|t| *t != task)
                .map(|t| run.item(t))
                .collect();
            let id = run.item(task);
            let events = start_item(&mut run, id);
            let lost: Vec<_> = losers.iter().map(|l| (*l, WITHDRAWN)).collect();
            assert_eq!(
                withdrawals(&events),
                lost,
                "starting {task} withdraws the others"
            );
            // While it runs: the mutex is held, nothing else can start.
            assert_eq!(run.tokens().get("mutex"), None);
            run.assert_offered(&[]);
            assert_eq!(run.started(), [task]);
            run.complete(id, json!({}));
            done.push(task);
        }
        run.assert_state("completed");
        let mut expected = vec!["begin_audit"];
        expected.extend(order);
        expected.push("end_audit");
        assert_eq!(
            run.completed_tasks(),
            expected,
            "each exactly once, in order {order:?}"
        );
    }
}

/// WCP 18, Milestone (yawl-reference §4): a task is enabled only while the case is in a
/// given state (milestone reached, not yet passed). knhk: `change_address` is an AND-join
/// over its own thread and the milestone condition `confirmed`, and AND-splits back into
/// both; `confirm_order` marks the milestone and `ship_order` consumes it. Before
/// confirmation and after shipping `change_address` is not offered; in between it can
/// run any number of times (holding the milestone, so shipping waits for it).
#[test]
fn wcp_18_milestone() {
    let mut run = Run::launch("patterns/wcp_18_milestone.json", json!({}));
    run.run_empty("place_order");
    // Milestone not reached yet.
    run.assert_offered(&["confirm_order"]);
    run.assert_tokens(&[("c{place_order_confirm_order}", 1), ("change_possible", 1)]);
    run.run_empty("confirm_order");
    run.assert_offered(&["change_address", "ship_order"]);
    run.assert_tokens(&[("change_possible", 1), ("confirmed", 1)]);

    for address in ["Main Street 1", "Elm Street 2"] {
        let ship = run.item("ship_order");
        let change = run.item("change_address");
        let events = start_item(&mut run, change);
        assert_eq!(
            withdrawals(&events),
            [(ship, WITHDRAWN)],
            "the milestone is held"
        );
        run.assert_offered(&[]);
        run.assert_tokens(&[]);
        complete_item(&mut run, change, json!({"address": address}));
        // The milestone is back: both are offered again.
        run.assert_offered(&["change_address", "ship_order"]);
        run.assert_tokens(&[("change_possible", 1), ("confirmed", 1)]);
    }
    assert_eq!(run.case.data()["address"], "Elm Street 2");

    // Shipping passes the milestone: no more changes.
    let change = run.item("change_address");
    let ship = run.item("ship_order");
    let events = start_item(&mut run, ship);
    assert_eq!(withdrawals(&events), [(change, WITHDRAWN)]);
    run.assert_tokens(&[("change_possible", 1)]);
    run.assert_offered(&[]);
    run.complete(ship, json!({}));
    run.assert_offered(&["deliver_order"]);
    run.assert_tokens(&[("c{ship_order_deliver_order}", 1), ("change_possible", 1)]);
    run.run_empty("deliver_order");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        [
            "place_order",
            "confirm_order",
            "change_address",
            "change_address",
            "ship_order",
            "deliver_order"
        ]
    );
}

/// WCP 19, Cancel Task (yawl-reference §4): an enabled task is withdrawn, or a running
/// one stopped and removed. knhk: a task in another task's cancellation set (with its
/// input condition), applied when that task completes: an enabled task loses its token
/// and its offer is withdrawn; a running one is cancelled (`TaskCancelled`, its work
/// item `cancelled`). `Command::CancelTask` cancels a running task from outside.
#[test]
fn wcp_19_cancel_task() {
    let spec = "patterns/wcp_19_cancel_task.json";

    // The check is only enabled when the waiver completes: withdrawn.
    let mut run = Run::launch(spec, json!({}));
    run.run_empty("receive_application");
    run.assert_offered(&["check_credit", "waive_check"]);
    let check = run.item("check_credit");
    let waive = run.start("waive_check");
    let events = complete_item(&mut run, waive, json!({}));
    assert!(events.contains(&Event::TokensRemoved {
        net_instance: ROOT_INSTANCE,
        place: "c{receive_application_check_credit}".to_owned(),
        tokens: 1,
    }));
    assert_eq!(withdrawals(&events), [(check, WITHDRAWN)]);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::TaskCancelled { .. }))
    );
    run.assert_offered(&["approve"]);
    run.assert_tokens(&[("c{waive_check_approve}", 1)]);
    run.run_empty("approve");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["receive_application", "waive_check", "approve"]
    );

    // The check is running when the waiver completes: cancelled.
    let mut run = Run::launch(spec, json!({}));
    run.run_empty("receive_application");
    let check = run.start("check_credit");
    let waive = run.start("waive_check");
    let events = complete_item(&mut run, waive, json!({}));
    assert_eq!(withdrawals(&events), [(check, CANCELLED)]);
    assert!(events.contains(&Event::TaskCancelled {
        net_instance: ROOT_INSTANCE,
        task: "check_credit".into()
    }));
    assert!(run.case.busy_tasks(ROOT_INSTANCE).is_empty());
    assert_eq!(run.started(), Vec::<String>::new());
    run.assert_offered(&["approve"]);
    run.assert_tokens(&[("c{waive_check_approve}", 1)]);
    assert_eq!(
        run.apply(Command::CompleteWorkItem {
            work_item: check,
            output: json!({})
        }),
        Err(CommandError::UnknownWorkItem(check))
    );
    run.run_empty("approve");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["receive_application", "waive_check", "approve"]
    );

    // Command::CancelTask: only a running task can be cancelled this way.
    let mut run = Run::launch(spec, json!({}));
    run.run_empty("receive_application");
    let cancel = Command::CancelTask {
        net_instance: ROOT_INSTANCE,
        task: "check_credit".to_owned(),
    };
    assert_eq!(
        run.apply(cancel.clone()),
        Err(CommandError::TaskNotBusy {
            task: "check_credit".to_owned()
        })
    );
    let check = run.start("check_credit");
    let events = run.apply(cancel).unwrap();
    assert_eq!(
        events,
        [
            Event::WorkItemWithdrawn {
                work_item: check,
                status: CANCELLED
            },
            Event::TaskCancelled {
                net_instance: ROOT_INSTANCE,
                task: "check_credit".into()
            },
        ]
    );
    run.assert_offered(&["waive_check"]);
    run.assert_tokens(&[("c{receive_application_waive_check}", 1)]);
    run.run_empty("waive_check");
    run.assert_offered(&["approve"]);
    run.run_empty("approve");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["receive_application", "waive_check", "approve"]
    );
}

/// WCP 20, Cancel Case (yawl-reference §4): the whole instance is removed: running,
/// pending and sub-process work. knhk: `Command::CancelCase` cancels every live work item
/// of every net instance (status `cancelled`), drops every net instance and its tokens,
/// and ends the case in state `cancelled`; no work is left and every later command is
/// refused.
#[test]
fn wcp_20_cancel_case() {
    let mut run = Run::launch("patterns/wcp_20_cancel_case.json", json!({}));
    run.run_empty("take_order");
    // `bill` runs its subnet at once; `pack_goods` is offered beside the invoice.
    run.assert_offered(&["issue_invoice", "pack_goods"]);
    let invoice = run.item("issue_invoice");
    assert_eq!(
        run.case.work_item(invoice).unwrap().net_instance,
        NetInstanceId(1)
    );
    let pack = run.start("pack_goods");
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["pack_goods", "bill"]);
    assert_eq!(run.case.net_instances().count(), 2);

    let events = run.apply(Command::CancelCase).unwrap();
    let mut live = [pack, invoice];
    live.sort();
    let mut expected: Vec<Event> = live
        .iter()
        .map(|id| Event::WorkItemWithdrawn {
            work_item: *id,
            status: CANCELLED,
        })
        .collect();
    expected.push(Event::CaseStateChanged {
        state: CaseState::Cancelled,
    });
    assert_eq!(events, expected);

    run.assert_state("cancelled");
    assert_eq!(run.case.work_items().count(), 0, "no work left");
    assert_eq!(run.case.net_instances().count(), 0, "no net instance left");
    run.assert_tokens(&[]);
    assert!(run.case.busy_tasks(ROOT_INSTANCE).is_empty());
    let refused = Err(CommandError::CaseNotRunning { state: "cancelled" });
    assert_eq!(
        run.apply(Command::StartWorkItem { work_item: invoice }),
        refused
    );
    assert_eq!(
        run.apply(Command::CompleteWorkItem {
            work_item: pack,
            output: json!({})
        }),
        refused
    );
    assert_eq!(run.apply(Command::CancelCase), refused);
    assert_eq!(run.completed_tasks(), ["take_order"]);
}

/// WCP 21, Structured Loop (yawl-reference §4): repeat a task or block with one entry and
/// one exit, testing before or after. knhk: an XOR back-edge through an empty XOR-split
/// task whose predicate reads case data. `review` is a while loop (the test
/// `reviews_done < reviews_wanted` comes first, so it may run zero times); `revise` is a
/// repeat loop (the test `revisions_done < revisions_wanted` comes after it, so it runs at
/// least once). The loop counts come from launch data.
#[test]
fn wcp_21_structured_loop() {
    for (reviews, revisions) in [(2, 1), (0, 0), (1, 3)] {
        let data = json!({"reviews_wanted": reviews, "revisions_wanted": revisions});
        let mut run = Run::launch("patterns/wcp_21_structured_loop.json", data);
        for _ in 0..reviews {
            run.assert_offered(&["review"]);
            run.assert_tokens(&[("c{review_test_review}", 1)]);
            run.run_empty("review");
        }
        // Pre-test loop left: the repeat loop's body runs before its first test.
        run.assert_offered(&["revise"]);
        run.assert_tokens(&[("c{review_test_revise}", 1)]);
        run.run_empty("revise");
        let revised = revisions.max(1);
        for _ in 1..revised {
            run.assert_offered(&["revise"]);
            run.assert_tokens(&[("c{revision_test_revise}", 1)]);
            run.run_empty("revise");
        }
        run.assert_state("completed");
        let data = run.case.data();
        assert_eq!(
            (&data["reviews_done"], &data["revisions_done"]),
            (&json!(reviews), &json!(revised)),
            "wanted {reviews} reviews, {revisions} revisions"
        );
        let count = |t| completions(&run, t);
        assert_eq!(
            [
                count("review_test"),
                count("review"),
                count("revise"),
                count("revision_test")
            ],
            [reviews + 1, reviews, revised, revised]
        );
    }
}

/// WCP 22, Recursion (yawl-reference §4): a task can invoke its own containing process
/// definition. knhk: the composite task `sub_assembly` decomposes to its own net
/// `assembly`, passing `depth + 1`; an XOR-split stops the recursion when `depth`
/// reaches `levels`. Each invocation is a new net instance whose parent is the
/// `sub_assembly` of the instance above it; each level completes into its parent.
#[test]
fn wcp_22_recursion() {
    let spec = "patterns/wcp_22_recursion.json";
    let mut run = Run::launch(spec, json!({"levels": 2}));
    let instance_of =
        |run: &Run, task: &str| run.case.work_item(run.item(task)).unwrap().net_instance;
    let depth_of = |run: &Run, id: u32| {
        run.case.net_instance(NetInstanceId(id)).unwrap().data()["depth"].clone()
    };
    for level in 0..3 {
        run.assert_offered(&["make_part"]);
        assert_eq!(instance_of(&run, "make_part"), NetInstanceId(level));
        assert_eq!(depth_of(&run, level), json!(level));
        if level == 2 {
            break;
        }
        run.run_empty("make_part");
    }
    // Three nested instances of the same net, each started by the one above.
    let started: Vec<_> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::NetStarted {
                net_instance,
                net,
                parent,
            } => Some((net_instance.0, net.as_str(), parent.clone())),
            _ => None,
        })
        .collect();
    let parent = |id: u32| Some((NetInstanceId(id), "sub_assembly".to_owned()));
    assert_eq!(
        started,
        [
            (0, "assembly", None),
            (1, "assembly", parent(0)),
            (2, "assembly", parent(1))
        ]
    );
    assert_eq!(run.case.net_instances().count(), 3);
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["sub_assembly"]);
    assert_eq!(run.case.busy_tasks(NetInstanceId(1)), ["sub_assembly"]);

    // Depth 2 = levels: the innermost level recurses no further and completes.
    let events = run
        .apply(Command::StartWorkItem {
            work_item: run.item("make_part"),
        })
        .unwrap();
    assert!(!events.iter().any(|e| matches!(e, Event::NetStarted { .. })));
    let id = run.started_item("make_part");
    let events = complete_item(&mut run, id, json!({}));
    assert!(events.contains(&Event::NetCompleted {
        net_instance: NetInstanceId(2)
    }));
    assert!(run.case.net_instance(NetInstanceId(2)).is_none());
    run.assert_offered(&["fit_sub_assembly"]);
    assert_eq!(instance_of(&run, "fit_sub_assembly"), NetInstanceId(1));
    assert_eq!(
        run.case.net_instance(NetInstanceId(1)).unwrap().data()["parts"],
        2
    );
    run.run_empty("fit_sub_assembly");
    run.assert_offered(&["fit_sub_assembly"]);
    assert_eq!(instance_of(&run, "fit_sub_assembly"), ROOT_INSTANCE);
    assert_eq!(run.case.data()["parts"], 3);
    run.run_empty("fit_sub_assembly");
    run.assert_state("completed");
    assert_eq!(completions(&run, "sub_assembly"), 2);

    // With no levels wanted there is no recursion at all.
    let mut run = Run::launch(spec, json!({"levels": 0}));
    run.run_empty("make_part");
    run.assert_state("completed");
    assert_eq!(run.case.data()["parts"], 1);
    assert_eq!(completions(&run, "sub_assembly"), 0);
}

/// WCP 23, Transient Trigger (yawl-reference §4): a signal enables a task only if the task
/// is waiting when it arrives; otherwise the signal is lost. knhk: `trigger: {signal,
/// persistent: false}`; `Command::Signal` reaches `load_truck` only if its join is
/// satisfied at that moment. The signal sent while `pack_goods` runs is lost, so the
/// task waits (the case is running, not deadlocked) until the signal is sent again.
#[test]
fn wcp_23_transient_trigger() {
    let mut run = Run::launch("patterns/wcp_23_transient_trigger.json", json!({}));
    let signal = || Command::Signal {
        name: "truck_arrived".to_owned(),
    };
    let pack = run.start("pack_goods");
    // Too early: lost.
    let events = run.apply(signal()).unwrap();
    assert_eq!(
        events,
        [Event::SignalReceived {
            name: "truck_arrived".to_owned(),
            taken_by: vec![]
        }]
    );
    run.assert_tokens(&[]);
    run.complete(pack, json!({}));
    run.assert_offered(&[]);
    run.assert_tokens(&[("c{pack_goods_load_truck}", 1)]);
    run.assert_state("running");

    // Now the task waits for it: taken, and the task is offered.
    let events = run.apply(signal()).unwrap();
    assert_eq!(
        events[0],
        Event::SignalReceived {
            name: "truck_arrived".to_owned(),
            taken_by: vec!["load_truck".to_owned()]
        }
    );
    assert_eq!(enabled(&events), [run.item("load_truck")]);
    run.assert_tokens(&[("c{pack_goods_load_truck}", 1), ("trigger:load_truck", 1)]);
    run.run_empty("load_truck");
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["pack_goods", "load_truck"]);
}

/// WCP 24, Persistent Trigger (yawl-reference §4): a signal is kept until the task is
/// ready to consume it. knhk: `trigger: {signal, persistent: true}`; the same early
/// `truck_arrived` signal as in WCP 23 is kept as a token in `trigger:load_truck`, so
/// `load_truck` is offered as soon as `pack_goods` completes, with no second signal.
#[test]
fn wcp_24_persistent_trigger() {
    let mut run = Run::launch("patterns/wcp_24_persistent_trigger.json", json!({}));
    let pack = run.start("pack_goods");
    // Too early, but kept.
    let events = run
        .apply(Command::Signal {
            name: "truck_arrived".to_owned(),
        })
        .unwrap();
    assert_eq!(
        events,
        [Event::SignalReceived {
            name: "truck_arrived".to_owned(),
            taken_by: vec!["load_truck".to_owned()]
        }]
    );
    run.assert_tokens(&[("trigger:load_truck", 1)]);
    run.assert_offered(&[]);

    run.complete(pack, json!({}));
    run.assert_offered(&["load_truck"]);
    run.assert_tokens(&[("c{pack_goods_load_truck}", 1), ("trigger:load_truck", 1)]);
    let load = run.start("load_truck");
    run.assert_tokens(&[]);
    run.complete(load, json!({}));
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["pack_goods", "load_truck"]);
}

/// WCP 25, Cancel Region (yawl-reference §4): an arbitrary set of tasks (not necessarily
/// connected) is disabled or withdrawn together. knhk: `cancel_order`'s cancellation set
/// is the region of both fulfilment branches (tasks and conditions); when it completes
/// the enabled `check_credit` is withdrawn and the running `pick_items` cancelled, while
/// `notify_customer`, outside the region, runs on to the end (implicit termination).
/// On the normal path `ship` removes the pending cancellation instead.
#[test]
fn wcp_25_cancel_region() {
    let mut run = Run::launch("patterns/wcp_25_cancel_region.json", json!({}));
    run.run_empty("register_order");
    run.assert_offered(&[
        "cancel_order",
        "check_credit",
        "check_stock",
        "notify_customer",
    ]);
    run.run_empty("check_stock");
    run.assert_offered(&[
        "cancel_order",
        "check_credit",
        "notify_customer",
        "pick_items",
    ]);
    let pick = run.start("pick_items");
    let notify = run.start("notify_customer");
    let credit = run.item("check_credit");
    let cancel = run.start("cancel_order");

    let events = complete_item(&mut run, cancel, json!({}));
    assert_eq!(
        withdrawals(&events),
        [(pick, CANCELLED), (credit, WITHDRAWN)]
    );
    assert!(events.contains(&Event::TaskCancelled {
        net_instance: ROOT_INSTANCE,
        task: "pick_items".into()
    }));
    assert!(events.contains(&Event::TokensRemoved {
        net_instance: ROOT_INSTANCE,
        place: "c{register_order_check_credit}".to_owned(),
        tokens: 1,
    }));
    run.assert_offered(&["refund"]);
    assert_eq!(run.started(), ["notify_customer"]);
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["notify_customer"]);
    run.assert_tokens(&[("c{cancel_order_refund}", 1)]);

    // Outside the region, the customer notification carries on.
    run.run_empty("refund");
    run.assert_state("running");
    run.assert_tokens(&[("o", 1)]);
    run.complete(notify, json!({}));
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        [
            "register_order",
            "check_stock",
            "cancel_order",
            "refund",
            "notify_customer"
        ]
    );

    // Not cancelled: `ship` removes the pending cancellation, and the case ends once the
    // notification is done too.
    let mut run = Run::launch("patterns/wcp_25_cancel_region.json", json!({}));
    run.run_empty("register_order");
    for task in ["check_stock", "pick_items", "check_credit"] {
        run.run_empty(task);
    }
    let cancel = run.item("cancel_order");
    let ship = run.start("ship");
    let events = complete_item(&mut run, ship, json!({}));
    assert_eq!(withdrawals(&events), [(cancel, WITHDRAWN)]);
    run.assert_offered(&["notify_customer"]);
    run.assert_tokens(&[("c{register_order_notify_customer}", 1), ("o", 1)]);
    run.run_empty("notify_customer");
    run.assert_state("completed");
    assert_eq!(completions(&run, "cancel_order"), 0);
}

/// WCP 26, Cancel Multiple Instance Activity (yawl-reference §4): an MI task can be
/// cancelled at any time; its unfinished instances are withdrawn. knhk: the MI task in
/// `withdraw_tender`'s cancellation set, or `Command::CancelTask`: every instance still
/// enabled or running is cancelled, the task never exits (no aggregate, no successor).
#[test]
fn wcp_26_cancel_mi_activity() {
    let spec = "patterns/wcp_26_cancel_mi_activity.json";
    let suppliers = json!({"suppliers": ["acme", "globex", "initech"]});
    let open = |run: &mut Run| {
        run.run_empty("open_tender");
        run.assert_offered(&["get_quote", "withdraw_tender"]);
        let first = run.start("get_quote");
        let rest = items(run, "get_quote", WorkItemStatus::Enabled);
        assert_eq!(rest.len(), 2);
        (first, rest[0], rest[1])
    };

    // By a cancellation set: one quote in, one being written, one not started.
    let mut run = Run::launch(spec, suppliers.clone());
    let (first, second, third) = open(&mut run);
    run.complete(first, json!({"price": 100}));
    start_item(&mut run, second);
    let withdraw = run.start("withdraw_tender");
    let events = complete_item(&mut run, withdraw, json!({}));
    assert_eq!(
        withdrawals(&events),
        [(second, CANCELLED), (third, CANCELLED)]
    );
    assert!(events.contains(&Event::TaskCancelled {
        net_instance: ROOT_INSTANCE,
        task: "get_quote".into()
    }));
    run.assert_offered(&["notify_suppliers"]);
    assert!(run.case.busy_tasks(ROOT_INSTANCE).is_empty());
    assert_eq!(
        run.case.data()["quotes"],
        json!([]),
        "the task never exited"
    );
    run.assert_tokens(&[("c{withdraw_tender_notify_suppliers}", 1)]);
    run.run_empty("notify_suppliers");
    run.assert_state("completed");
    assert_eq!(completions(&run, "get_quote"), 0);

    // By Command::CancelTask.
    let mut run = Run::launch(spec, suppliers.clone());
    let (first, second, third) = open(&mut run);
    let events = run
        .apply(Command::CancelTask {
            net_instance: ROOT_INSTANCE,
            task: "get_quote".to_owned(),
        })
        .unwrap();
    assert_eq!(
        events,
        [
            Event::WorkItemWithdrawn {
                work_item: first,
                status: CANCELLED
            },
            Event::WorkItemWithdrawn {
                work_item: second,
                status: CANCELLED
            },
            Event::WorkItemWithdrawn {
                work_item: third,
                status: CANCELLED
            },
            Event::TaskCancelled {
                net_instance: ROOT_INSTANCE,
                task: "get_quote".into()
            },
        ]
    );
    run.assert_offered(&["withdraw_tender"]);
    run.assert_tokens(&[("c{open_tender_withdraw_tender}", 1)]);
    run.run_empty("withdraw_tender");
    run.run_empty("notify_suppliers");
    run.assert_state("completed");

    // Not cancelled: all quotes in, the supplier is chosen and the case ends.
    let mut run = Run::launch(spec, suppliers);
    let (first, second, third) = open(&mut run);
    for (id, price) in [(first, 100), (second, 90), (third, 120)] {
        if run.case.work_item(id).unwrap().status == WorkItemStatus::Enabled {
            start_item(&mut run, id);
        }
        complete_item(&mut run, id, json!({"price": price}));
    }
    run.assert_offered(&["choose_supplier", "withdraw_tender"]);
    assert_eq!(
        run.case.data()["quotes"],
        json!([{"price": 100}, {"price": 90}, {"price": 120}])
    );
    run.run_empty("choose_supplier");
    run.assert_state("completed");
    assert_eq!(completions(&run, "withdraw_tender"), 0);
}

/// WCP 27, Complete Multiple Instance Activity (yawl-reference §4): an MI task can be
/// forced to finish; unfinished instances are withdrawn and control passes on at once.
/// knhk: `Command::CompleteTask` makes the busy MI task exit now: its enabled and running
/// instances are withdrawn (status `withdrawn`), the completed ones' outputs are
/// aggregated, and the split fires. A task that is not MI refuses the command.
#[test]
fn wcp_27_complete_mi_activity() {
    let data = json!({"reviewers": ["ann", "bob", "cy"]});
    let mut run = Run::launch("patterns/wcp_27_complete_mi_activity.json", data);
    let first = run.start("review_paper");
    let [second, third] = items(&run, "review_paper", WorkItemStatus::Enabled)[..] else {
        panic!("three instances")
    };
    run.complete(first, json!({"score": 4}));
    // Without forcing, the task waits for every reviewer.
    run.assert_offered(&["review_paper", "review_paper"]);
    start_item(&mut run, second);
    run.assert_offered(&["review_paper"]);

    let complete_task = |task: &str| Command::CompleteTask {
        net_instance: ROOT_INSTANCE,
        task: task.to_owned(),
    };
    let events = run.apply(complete_task("review_paper")).unwrap();
    assert_eq!(
        withdrawals(&events),
        [(second, WITHDRAWN), (third, WITHDRAWN)]
    );
    assert!(events.contains(&Event::TaskCompleted {
        net_instance: ROOT_INSTANCE,
        task: "review_paper".into()
    }));
    assert_eq!(run.case.data()["reviews"], json!([{"score": 4}]));
    run.assert_offered(&["decide"]);
    assert_eq!(run.started(), Vec::<String>::new());
    run.assert_tokens(&[("c{review_paper_decide}", 1)]);
    // The task is no longer busy.
    assert_eq!(
        run.apply(complete_task("review_paper")),
        Err(CommandError::TaskNotBusy {
            task: "review_paper".to_owned()
        })
    );

    let decide = run.start("decide");
    assert_eq!(
        run.apply(complete_task("decide")),
        Err(CommandError::NotMultipleInstance {
            task: "decide".to_owned(),
            needed: ""
        })
    );
    run.complete(decide, json!({}));
    run.assert_state("completed");
}

/// WCP 28, Blocking Discriminator (yawl-reference §4): the first arriving branch passes
/// control on; further arrivals are blocked until every active branch has arrived once
/// (loop-safe). knhk: an AND-join with `partial_join: {required: 1, mode: blocking}`.
/// The first arrival fires it; later first-round arrivals are absorbed; a second-round
/// arrival on a branch that already arrived keeps its token and waits until the last
/// first-round branch arrives and the join resets, then fires the join again.
#[test]
fn wcp_28_blocking_discriminator() {
    let mut run = Run::launch("patterns/wcp_28_blocking_discriminator.json", json!({}));
    run.run_empty("raise_alarm");
    run.assert_offered(&["ambulance", "fire_brigade", "police"]);

    // Round 1: the police arrive first and fire the join.
    run.run_empty("police");
    run.assert_offered(&["ambulance", "coordinate", "fire_brigade"]);
    assert_eq!(completions(&run, "first_response"), 1);
    run.assert_tokens(&[
        ("c{first_response_coordinate}", 1),
        ("c{raise_alarm_ambulance}", 1),
        ("c{raise_alarm_fire_brigade}", 1),
    ]);

    // A second alarm is raised before the ambulance and fire brigade of the first.
    run.run("coordinate", json!({"again": true}));
    run.assert_offered(&["ambulance", "fire_brigade", "raise_alarm"]);
    run.run_empty("raise_alarm");
    run.assert_tokens(&[
        ("c{raise_alarm_ambulance}", 2),
        ("c{raise_alarm_fire_brigade}", 2),
        ("c{raise_alarm_police}", 1),
    ]);
    run.assert_offered(&["ambulance", "fire_brigade", "police"]);

    // Round 2's police arrive on a branch that already arrived: blocked.
    run.run_empty("police");
    run.assert_tokens(&[
        ("c{police_first_response}", 1),
        ("c{raise_alarm_ambulance}", 2),
        ("c{raise_alarm_fire_brigade}", 2),
    ]);
    run.assert_offered(&["ambulance", "fire_brigade"]);
    assert_eq!(completions(&run, "first_response"), 1);

    // Round 1's ambulance: absorbed; police still blocked.
    run.run_empty("ambulance");
    run.assert_tokens(&[
        ("c{police_first_response}", 1),
        ("c{raise_alarm_ambulance}", 1),
        ("c{raise_alarm_fire_brigade}", 2),
    ]);
    run.assert_offered(&["ambulance", "fire_brigade"]);
    assert_eq!(completions(&run, "first_response"), 1);

    // Round 1's fire brigade: the last arrival resets the join, and the waiting police
    // token fires it for round 2.
    run.run_empty("fire_brigade");
    assert_eq!(completions(&run, "first_response"), 2);
    run.assert_offered(&["ambulance", "coordinate", "fire_brigade"]);
    run.assert_tokens(&[
        ("c{first_response_coordinate}", 1),
        ("c{raise_alarm_ambulance}", 1),
        ("c{raise_alarm_fire_brigade}", 1),
    ]);

    run.run("coordinate", json!({"again": false}));
    run.assert_state("completed");
    run.assert_offered(&[]);
    assert_eq!(completions(&run, "coordinate"), 2);
}

/// WCP 29, Cancelling Discriminator (yawl-reference §4): the first arriving branch passes
/// control on and the other branches are cancelled. knhk: an AND-join with
/// `partial_join: {required: 1, mode: cancelling}` whose cancellation set holds the other
/// branches (tasks and conditions); it fires on the first arrival and, completing, cancels
/// the running branches and withdraws the merely offered ones.
#[test]
fn wcp_29_cancelling_discriminator() {
    let mut run = Run::launch("patterns/wcp_29_cancelling_discriminator.json", json!({}));
    run.run_empty("request_trip");
    run.assert_offered(&["ask_agency_a", "ask_agency_b", "ask_agency_c"]);
    let a = run.item("ask_agency_a");
    let b = run.start("ask_agency_b");
    let c = run.start("ask_agency_c");

    // Agency b answers first.
    let events = complete_item(&mut run, b, json!({"offer": 420}));
    assert_eq!(withdrawals(&events), [(c, CANCELLED), (a, WITHDRAWN)]);
    assert!(events.contains(&Event::TaskCancelled {
        net_instance: ROOT_INSTANCE,
        task: "ask_agency_c".into()
    }));
    assert!(events.contains(&Event::TokensRemoved {
        net_instance: ROOT_INSTANCE,
        place: "c{request_trip_ask_agency_a}".to_owned(),
        tokens: 1,
    }));
    let cancelled: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::TaskCancelled { task, .. } => Some(&**task),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, ["ask_agency_c"]);
    run.assert_offered(&["book_trip"]);
    assert_eq!(run.started(), Vec::<String>::new());
    run.assert_tokens(&[("c{first_offer_book_trip}", 1)]);
    assert_eq!(
        run.completed_tasks(),
        ["request_trip", "ask_agency_b", "first_offer"]
    );

    run.run_empty("book_trip");
    run.assert_state("completed");
    assert_eq!(run.case.data()["offer"], 420);
}
