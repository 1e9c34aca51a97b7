//! The advanced synchronisation and termination patterns, WCP 30 to 43 (Russell et al.,
//! BPM-06-22; yawl-reference §4): partial joins, the generalised AND-join, partial joins
//! for multiple instances, the synchronizing merges (OR-join), critical sections,
//! interleaving, thread merge and split, and explicit termination. Each test runs its
//! spec from `examples/patterns/` and asserts, step by step, the work offered, the tokens
//! where they matter, and the case's final state and data.

use knhk_kernel::{
    Command, CommandError, Limits, ROOT_INSTANCE, WorkItemId, WorkItemRole, WorkItemStatus,
};
use serde_json::{Value, json};

use crate::support::{Run, compile_text, examples_dir};

/// The live work items of `task`, in id order (slot order within one firing), with
/// their role, status and data.
fn items_of(run: &Run, task: &str) -> Vec<(WorkItemId, WorkItemRole, WorkItemStatus, Value)> {
    run.case
        .work_items()
        .filter(|i| i.task == task)
        .map(|i| (i.id, i.role, i.status, i.data.clone()))
        .collect()
}

/// One field of the case data.
fn data(run: &Run, field: &str) -> Value {
    run.case.data()[field].clone()
}

/// WCP 30, Structured Partial Join: after a structured parallel split into M branches,
/// N of them trigger the continuation; later arrivals are ignored until all M have
/// arrived, and the join resets. knhk: an AND-join with `partial_join: {required: 2}`
/// (mode `blocking`) over three branches.
#[test]
fn wcp_30_structured_partial_join() {
    let mut run = Run::launch("patterns/wcp_30_structured_partial_join.json", json!({}));
    run.assert_offered(&["dispatch"]);
    run.run_empty("dispatch");
    run.assert_offered(&["check_address", "check_credit", "check_identity"]);
    let slow = run.start("check_address");

    // One branch of the two required: `decide` waits.
    run.run_empty("check_credit");
    run.assert_offered(&["check_identity"]);
    run.assert_tokens(&[
        ("c{check_credit_decide}", 1),
        ("c{dispatch_check_identity}", 1),
    ]);

    // Two branches: `decide` is offered while the third is still running.
    run.run_empty("check_identity");
    run.assert_offered(&["decide"]);
    assert_eq!(run.started(), ["check_address"]);
    run.assert_tokens(&[
        ("c{check_credit_decide}", 1),
        ("c{check_identity_decide}", 1),
    ]);
    run.run_empty("decide");
    run.assert_offered(&["notify"]);
    run.assert_tokens(&[("c{decide_notify}", 1)]);

    // The late branch is absorbed: no second `decide`, no token left behind.
    run.complete(slow, json!({}));
    run.assert_offered(&["notify"]);
    run.assert_tokens(&[("c{decide_notify}", 1)]);

    run.run_empty("notify");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        [
            "dispatch",
            "check_credit",
            "check_identity",
            "decide",
            "check_address",
            "notify"
        ]
    );
    assert_eq!(run.withdrawn(), Vec::new());
}

/// WCP 31, Blocking Partial Join: N of M branches trigger the continuation; further
/// arrivals are blocked until every branch has arrived once and the join resets, so the
/// join is safe in a loop. knhk: an AND-join with `partial_join: {required: 2}` in the
/// default `blocking` mode, inside a loop; the next round's early tokens wait for the
/// previous round's slow branch.
#[test]
fn wcp_31_blocking_partial_join() {
    let mut run = Run::launch("patterns/wcp_31_blocking_partial_join.json", json!({}));
    run.run_empty("round");
    run.assert_offered(&["a", "b", "c"]);
    let slow = run.start("c");
    run.run_empty("a");
    run.assert_offered(&["b"]);
    run.run_empty("b");
    run.assert_offered(&["collect"]);
    run.run("collect", json!({"again": true}));

    // Round two starts while round one's `c` is still running.
    run.assert_offered(&["round"]);
    run.assert_tokens(&[("c{collect_round}", 1)]);
    run.run_empty("round");
    run.assert_offered(&["a", "b"]);
    run.run_empty("a");
    run.run_empty("b");

    // Two distinct branches hold tokens, yet `collect` is blocked: round one has not
    // reset the join.
    run.assert_offered(&[]);
    assert_eq!(run.started(), ["c"]);
    run.assert_tokens(&[("c{a_collect}", 1), ("c{b_collect}", 1), ("c{round_c}", 1)]);

    // Round one's `c` arrives, is absorbed, and resets the join: the waiting tokens now
    // enable `collect`, and `c` is offered for round two.
    run.complete(slow, json!({}));
    run.assert_offered(&["c", "collect"]);
    run.assert_tokens(&[("c{a_collect}", 1), ("c{b_collect}", 1), ("c{round_c}", 1)]);
    let late_c = run.item("c");

    run.run("collect", json!({"again": false}));
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        [
            "round", "a", "b", "collect", "round", "a", "b", "c", "collect"
        ]
    );
    // Explicit termination withdraws round two's unstarted `c`.
    assert_eq!(run.withdrawn(), [(late_c, WorkItemStatus::Withdrawn)]);
}

/// WCP 32, Cancelling Partial Join: N of M branches trigger the continuation and the
/// remaining branches are cancelled. knhk: an AND-join with
/// `partial_join: {required: 2, mode: cancelling}` whose cancellation set holds the
/// other branches' tasks and conditions, applied when the join task completes.
#[test]
fn wcp_32_cancelling_partial_join() {
    let mut run = Run::launch("patterns/wcp_32_cancelling_partial_join.json", json!({}));
    run.run_empty("request");
    run.assert_offered(&["finance", "legal", "security", "tech"]);
    let tech = run.start("tech");
    let security = run.item("security");
    run.run_empty("legal");
    run.assert_offered(&["finance", "security"]);
    run.run_empty("finance");
    run.assert_offered(&["approve", "security"]);

    // Starting the join consumes the two arrived branches; the others are untouched
    // until it completes.
    let approve = run.start("approve");
    run.assert_offered(&["security"]);
    assert_eq!(run.started(), ["approve", "tech"]);
    run.assert_tokens(&[("c{request_security}", 1)]);

    run.complete(approve, json!({}));
    run.assert_offered(&["publish"]);
    assert_eq!(run.started(), Vec::<String>::new());
    run.assert_tokens(&[("c{approve_publish}", 1)]);
    // The running review is cancelled; the merely offered one loses its token.
    assert_eq!(
        run.withdrawn(),
        [
            (tech, WorkItemStatus::Cancelled),
            (security, WorkItemStatus::Withdrawn)
        ]
    );
    assert_eq!(
        run.apply(Command::CompleteWorkItem {
            work_item: tech,
            output: json!({})
        }),
        Err(CommandError::UnknownWorkItem(tech))
    );

    run.run_empty("publish");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["request", "legal", "finance", "approve", "publish"]
    );
}

/// WCP 33, Generalised AND-Join: fires when every input has a trigger; extra triggers
/// on a branch persist for later firings (non-safe places). knhk: a plain AND-join over
/// conditions, which are multisets; several tokens waiting on one branch are consumed
/// one per firing. The net terminates implicitly so the join can fire more than once.
#[test]
fn wcp_33_generalised_and_join() {
    let mut run = Run::launch("patterns/wcp_33_generalised_and_join.json", json!({}));
    run.assert_offered(&["deliver", "produce"]);
    run.run("produce", json!({"more_parts": true}));
    run.run("produce", json!({"more_parts": true}));
    run.run("produce", json!({"more_parts": false}));
    run.assert_offered(&["deliver"]);
    run.assert_tokens(&[("delivering", 1), ("parts", 3)]);

    // One truck: the join fires once, for one part.
    run.run("deliver", json!({"more_trucks": true}));
    run.assert_offered(&["deliver", "load"]);
    run.assert_tokens(&[("delivering", 1), ("parts", 3), ("trucks", 1)]);
    run.run_empty("load");
    run.assert_offered(&["deliver"]);
    run.assert_tokens(&[("delivering", 1), ("o", 1), ("parts", 2)]);
    run.assert_state("running");

    // The surplus parts persisted: the next truck enables the join again at once.
    run.run("deliver", json!({"more_trucks": false}));
    run.assert_offered(&["load"]);
    run.assert_tokens(&[("o", 1), ("parts", 2), ("trucks", 1)]);
    run.run_empty("load");

    // One part is left that no truck will ever take: nothing can happen any more, and
    // implicit termination ends the case.
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        [
            "start", "produce", "produce", "produce", "deliver", "load", "deliver", "load"
        ]
    );
}

/// WCP 34, Static Partial Join for Multiple Instances: with M instances fixed at
/// creation, control passes on after N complete; the rest run on and are ignored. knhk:
/// an MI task with `threshold: 2` and `remainder: continue`; the unfinished instance
/// becomes `detached`, and completing it appends its output to the task's aggregate
/// variable but moves no token.
#[test]
fn wcp_34_static_partial_join_for_mi() {
    let mut run = Run::launch(
        "patterns/wcp_34_static_partial_join_for_mi.json",
        json!({"reviewers": ["ann", "bob", "cy"]}),
    );
    run.assert_offered(&["review"]);
    let ann = run.start("review");
    let instances = items_of(&run, "review");
    let reviewers: Vec<&Value> = instances
        .iter()
        .map(|(_, _, _, d)| &d["reviewer"])
        .collect();
    assert_eq!(reviewers, [&json!("ann"), &json!("bob"), &json!("cy")]);
    assert_eq!(run.started(), ["review"]);
    run.assert_offered(&["review", "review"]);
    let (bob, cy) = (instances[1].0, instances[2].0);

    run.complete(ann, json!({"score": 4}));
    run.assert_offered(&["review", "review"]);
    run.start("review");
    run.complete(bob, json!({"score": 2}));

    // Two of three: the task exits, with the two outputs; `cy` runs on, detached.
    run.assert_offered(&["decide", "review"]);
    run.assert_tokens(&[("c{review_decide}", 1)]);
    assert_eq!(data(&run, "reviews"), json!([{"score": 4}, {"score": 2}]));
    assert_eq!(items_of(&run, "review")[0].0, cy);
    assert_eq!(items_of(&run, "review")[0].1, WorkItemRole::Detached);
    assert_eq!(run.completed_tasks(), ["review"]);

    // The late instance's output joins the aggregate; control flow does not move.
    run.start("review");
    run.complete(cy, json!({"late_note": "accept"}));
    assert_eq!(
        data(&run, "reviews"),
        json!([{"score": 4}, {"score": 2}, {"late_note": "accept"}])
    );
    assert_eq!(data(&run, "late_note"), Value::Null);
    run.assert_offered(&["decide"]);
    run.assert_tokens(&[("c{review_decide}", 1)]);
    assert_eq!(run.completed_tasks(), ["review"]);

    run.run_empty("decide");
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["review", "decide"]);
    assert_eq!(run.withdrawn(), Vec::new());
}

/// WCP 35, Cancelling Partial Join for Multiple Instances: as WCP 34, but the remaining
/// instances are cancelled. knhk: an MI task with `threshold: 2` and the default
/// `remainder: cancel` (YAWL's threshold behaviour): the unfinished instance is
/// withdrawn when the task exits.
#[test]
fn wcp_35_cancelling_partial_join_for_mi() {
    let mut run = Run::launch(
        "patterns/wcp_35_cancelling_partial_join_for_mi.json",
        json!({"reviewers": ["ann", "bob", "cy"]}),
    );
    let ann = run.start("review");
    let instances = items_of(&run, "review");
    assert_eq!(instances.len(), 3);
    let (bob, cy) = (instances[1].0, instances[2].0);
    run.assert_offered(&["review", "review"]);

    run.complete(ann, json!({"score": 4}));
    run.assert_offered(&["review", "review"]);
    run.start("review");
    run.complete(bob, json!({"score": 2}));

    // Two of three: the task exits and `cy`'s instance is withdrawn.
    run.assert_offered(&["decide"]);
    assert_eq!(items_of(&run, "review"), Vec::new());
    assert_eq!(run.withdrawn(), [(cy, WorkItemStatus::Withdrawn)]);
    run.assert_tokens(&[("c{review_decide}", 1)]);
    assert_eq!(data(&run, "reviews"), json!([{"score": 4}, {"score": 2}]));
    assert_eq!(
        run.apply(Command::StartWorkItem { work_item: cy }),
        Err(CommandError::UnknownWorkItem(cy))
    );

    run.run_empty("decide");
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["review", "decide"]);
}

/// WCP 36, Dynamic Partial Join for Multiple Instances: instances can be added at run
/// time, and a completion condition decides when control passes on. knhk: an MI task
/// with `creation: dynamic` (`Command::AddInstance`) and the completion condition
/// `outputs.exists(q, q.price <= budget)`, evaluated after each instance completes.
#[test]
fn wcp_36_dynamic_partial_join_for_mi() {
    let mut run = Run::launch(
        "patterns/wcp_36_dynamic_partial_join_for_mi.json",
        json!({"suppliers": ["acme"], "budget": 500}),
    );
    run.assert_offered(&["quote"]);
    let acme = run.start("quote");
    run.assert_offered(&[]);
    let add = |supplier: &str| Command::AddInstance {
        net_instance: ROOT_INSTANCE,
        task: "quote".to_owned(),
        data: json!(supplier),
    };
    run.apply(add("globex")).expect("instance added");
    run.assert_offered(&["quote"]);

    // Over budget: the condition does not hold, the task goes on.
    run.complete(acme, json!({"price": 700}));
    run.assert_offered(&["quote"]);
    run.assert_tokens(&[]);
    run.apply(add("initech")).expect("instance added");
    run.assert_offered(&["quote", "quote"]);
    let suppliers: Vec<Value> = items_of(&run, "quote")
        .into_iter()
        .map(|(_, _, _, d)| d["supplier"].clone())
        .collect();
    assert_eq!(suppliers, [json!("globex"), json!("initech")]);
    let initech = items_of(&run, "quote")[1].0;

    // Within budget: the task exits, the unfinished instance is withdrawn.
    let globex = run.start("quote");
    run.complete(globex, json!({"price": 450}));
    run.assert_offered(&["order"]);
    run.assert_tokens(&[("c{quote_order}", 1)]);
    assert_eq!(run.withdrawn(), [(initech, WorkItemStatus::Withdrawn)]);
    assert_eq!(
        data(&run, "quotes"),
        json!([{"price": 700}, {"price": 450}])
    );
    assert_eq!(
        run.apply(add("hooli")),
        Err(CommandError::TaskNotBusy {
            task: "quote".to_owned()
        })
    );

    run.run_empty("order");
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["quote", "order"]);
}

/// WCP 37, Local (Acyclic) Synchronizing Merge: waits for every active branch, the
/// number of which is decided from what can still reach the merge, in an acyclic net.
/// knhk: an OR-join (YAWL's general algorithm, exact here) over the ends of an OR-split
/// whose second branch splits again, so the merge's inputs match no single split.
#[test]
fn wcp_37_local_synchronizing_merge() {
    let path = "patterns/wcp_37_local_synchronizing_merge.json";

    // Both branches: `close` waits for `ship`, `post` and `archive`.
    let mut run = Run::launch(path, json!({}));
    run.run("register", json!({"goods": true, "billable": true}));
    run.assert_offered(&["invoice", "ship"]);
    run.run_empty("invoice");
    run.assert_offered(&["archive", "post", "ship"]);
    run.run_empty("ship");
    run.assert_offered(&["archive", "post"]);
    run.run_empty("post");
    run.assert_offered(&["archive"]);
    run.run_empty("archive");
    run.assert_offered(&["close"]);
    run.assert_tokens(&[
        ("c{archive_close}", 1),
        ("c{post_close}", 1),
        ("c{ship_close}", 1),
    ]);
    run.run_empty("close");
    run.assert_state("completed");

    // Invoice only: `ship` will never come, but `archive` still can, so `close` waits
    // for it.
    let mut run = Run::launch(path, json!({}));
    run.run("register", json!({"goods": false, "billable": true}));
    run.assert_offered(&["invoice"]);
    run.run_empty("invoice");
    run.run_empty("post");
    run.assert_offered(&["archive"]);
    run.assert_tokens(&[("c{invoice_archive}", 1), ("c{post_close}", 1)]);
    run.run_empty("archive");
    run.assert_offered(&["close"]);
    run.assert_tokens(&[("c{archive_close}", 1), ("c{post_close}", 1)]);
    run.run_empty("close");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["register", "invoice", "post", "archive", "close"]
    );

    // Goods only: nothing else can arrive, so `close` fires on `ship` alone.
    let mut run = Run::launch(path, json!({}));
    run.run("register", json!({"goods": true, "billable": false}));
    run.assert_offered(&["ship"]);
    run.run_empty("ship");
    run.assert_offered(&["close"]);
    run.assert_tokens(&[("c{ship_close}", 1)]);
    run.run_empty("close");
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["register", "ship", "close"]);
}

/// WCP 38, General Synchronizing Merge: fires when every active branch has arrived or
/// no empty branch can ever be enabled again; uses non-local state and works with
/// loops. knhk: the OR-join (YAWL's reset-net coverability analysis). `integrate` waits
/// while a token in the `develop`/`rework` loop can still come round to its empty
/// input, and fires without it once the loop has been left the other way.
#[test]
fn wcp_38_general_synchronizing_merge() {
    let path = "patterns/wcp_38_general_synchronizing_merge.json";
    let mut run = Run::launch(path, json!({}));
    run.run_empty("start");
    run.assert_offered(&["develop", "document"]);
    run.run_empty("document");

    // `develop` can still report to `integrate`: it waits, whether `develop` is
    // offered, running, or in the rework loop.
    run.assert_offered(&["develop"]);
    run.assert_tokens(&[("c{document_integrate}", 1), ("c{start_develop}", 1)]);
    let develop = run.start("develop");
    run.assert_offered(&[]);
    run.complete(develop, json!({"needs_rework": true}));
    run.assert_offered(&["rework"]);
    run.assert_tokens(&[("c{develop_rework}", 1), ("c{document_integrate}", 1)]);
    run.run_empty("rework");
    run.assert_offered(&["develop"]);

    // `develop` leaves the loop straight for `release`: no token can reach
    // `integrate`'s empty input any more, so it fires on `document` alone, while
    // `release` now waits for `integrate`.
    run.run("develop", json!({"needs_rework": false, "report": false}));
    run.assert_offered(&["integrate"]);
    run.assert_tokens(&[("c{develop_release}", 1), ("c{document_integrate}", 1)]);
    run.run_empty("integrate");
    run.assert_offered(&["release"]);
    run.assert_tokens(&[("c{develop_release}", 1), ("c{integrate_release}", 1)]);
    run.run_empty("release");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        [
            "start",
            "document",
            "develop",
            "rework",
            "develop",
            "integrate",
            "release"
        ]
    );

    // `develop` reports: `integrate` waits for `document`, and `release` then fires on
    // `integrate` alone.
    let mut run = Run::launch(path, json!({}));
    run.run_empty("start");
    run.run("develop", json!({"report": true}));
    run.assert_offered(&["document"]);
    run.assert_tokens(&[("c{develop_integrate}", 1), ("c{start_document}", 1)]);
    run.run_empty("document");
    run.assert_offered(&["integrate"]);
    run.run_empty("integrate");
    run.assert_offered(&["release"]);
    run.assert_tokens(&[("c{integrate_release}", 1)]);
    run.run_empty("release");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["start", "develop", "document", "integrate", "release"]
    );
}

/// WCP 39, Critical Section: two or more regions of the same case must not run
/// concurrently. knhk: a shared `mutex` condition taken by each region's first task
/// (an AND-join) and put back by its last; competing offers on it form a deferred
/// choice.
#[test]
fn wcp_39_critical_section() {
    let mut run = Run::launch("patterns/wcp_39_critical_section.json", json!({}));
    run.run_empty("start");
    run.assert_offered(&["edit_budget", "edit_draft"]);
    run.assert_tokens(&[
        ("c{start_edit_budget}", 1),
        ("c{start_edit_draft}", 1),
        ("mutex", 1),
    ]);
    let budget_offer = run.item("edit_budget");

    // The draft region enters: the budget region's offer is withdrawn.
    let draft = run.start("edit_draft");
    run.assert_offered(&[]);
    assert_eq!(run.withdrawn(), [(budget_offer, WorkItemStatus::Withdrawn)]);

    // Between the region's two tasks the mutex is still held.
    run.complete(draft, json!({}));
    run.assert_offered(&["check_draft"]);
    run.assert_tokens(&[
        ("c{edit_draft_check_draft}", 1),
        ("c{start_edit_budget}", 1),
    ]);

    // The region ends and the budget region may enter.
    run.run_empty("check_draft");
    run.assert_offered(&["edit_budget"]);
    run.assert_tokens(&[
        ("c{check_draft_finish}", 1),
        ("c{start_edit_budget}", 1),
        ("mutex", 1),
    ]);
    let budget = run.start("edit_budget");
    run.assert_offered(&[]);
    run.complete(budget, json!({}));
    run.assert_offered(&["finish"]);
    run.assert_tokens(&[
        ("c{check_draft_finish}", 1),
        ("c{edit_budget_finish}", 1),
        ("mutex", 1),
    ]);
    run.run_empty("finish");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        [
            "start",
            "edit_draft",
            "check_draft",
            "edit_budget",
            "finish"
        ]
    );
}

/// WCP 40, Interleaved Routing: each task in a set runs exactly once, in any order,
/// never concurrently. knhk: a `mutex` condition that every task of the set also joins
/// on and gives back; the waiting tasks are offered together, the first started wins
/// and the others are withdrawn until it finishes.
#[test]
fn wcp_40_interleaved_routing() {
    let mut run = Run::launch("patterns/wcp_40_interleaved_routing.json", json!({}));
    run.run_empty("receive");
    run.assert_offered(&["clean", "inspect", "repair"]);
    let (clean_1, inspect_1) = (run.item("clean"), run.item("inspect"));

    let repair = run.start("repair");
    run.assert_offered(&[]);
    assert_eq!(
        run.withdrawn(),
        [
            (inspect_1, WorkItemStatus::Withdrawn),
            (clean_1, WorkItemStatus::Withdrawn)
        ]
    );
    run.complete(repair, json!({}));
    run.assert_offered(&["clean", "inspect"]);
    run.assert_tokens(&[
        ("c{receive_clean}", 1),
        ("c{receive_inspect}", 1),
        ("c{repair_done}", 1),
        ("mutex", 1),
    ]);

    let clean_2 = run.item("clean");
    let inspect = run.start("inspect");
    run.assert_offered(&[]);
    assert_eq!(
        run.withdrawn().last(),
        Some(&(clean_2, WorkItemStatus::Withdrawn))
    );
    run.complete(inspect, json!({}));
    run.assert_offered(&["clean"]);

    run.run_empty("clean");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["receive", "repair", "inspect", "clean", "done"]
    );
    assert_eq!(run.withdrawn().len(), 3);
}

/// WCP 41, Thread Merge: a given number of threads on one branch of a case merge into
/// one thread. knhk: `thread_merge: 3` on `ship`, which needs and consumes three tokens
/// in its input condition (the threads are made by `thread_split: 3`, WCP 42).
#[test]
fn wcp_41_thread_merge() {
    let mut run = Run::launch("patterns/wcp_41_thread_merge.json", json!({}));
    run.assert_offered(&["pack"]);
    run.assert_tokens(&[("c{spawn_pack}", 3)]);
    run.run_empty("pack");
    run.assert_offered(&["pack"]);
    run.assert_tokens(&[("c{pack_ship}", 1), ("c{spawn_pack}", 2)]);
    run.run_empty("pack");
    run.assert_offered(&["pack"]);
    run.assert_tokens(&[("c{pack_ship}", 2), ("c{spawn_pack}", 1)]);
    run.run_empty("pack");
    run.assert_offered(&["ship"]);
    run.assert_tokens(&[("c{pack_ship}", 3)]);

    // One firing takes all three threads.
    let ship = run.start("ship");
    run.assert_tokens(&[]);
    run.complete(ship, json!({}));
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["spawn", "pack", "pack", "pack", "ship"]
    );
}

/// WCP 42, Thread Split: a given number of threads are started on one branch of a
/// case. knhk: `thread_split: 3` on `order`, which puts three tokens on its branch;
/// `deliver` runs once per thread, and implicit termination lets every thread reach the
/// output condition.
#[test]
fn wcp_42_thread_split() {
    let mut run = Run::launch("patterns/wcp_42_thread_split.json", json!({}));
    run.run_empty("order");
    run.assert_offered(&["deliver"]);
    run.assert_tokens(&[("c{order_deliver}", 3)]);
    run.run_empty("deliver");
    run.assert_offered(&["deliver"]);
    run.assert_tokens(&[("c{order_deliver}", 2), ("o", 1)]);
    run.assert_state("running");
    run.run_empty("deliver");
    run.assert_tokens(&[("c{order_deliver}", 1), ("o", 2)]);
    run.run_empty("deliver");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["order", "deliver", "deliver", "deliver"]
    );
}

/// WCP 43, Explicit Termination: the case ends as soon as its end node is reached, and
/// remaining work is cancelled. knhk: `termination: explicit` (the default, YAWL's
/// rule): the first token in the output condition ends the net and withdraws its
/// leftover work. The same net with `termination: implicit` (WCP 11) runs on instead.
#[test]
fn wcp_43_explicit_termination() {
    let path = "patterns/wcp_43_explicit_termination.json";
    let mut run = Run::launch(path, json!({}));
    run.run_empty("open");
    run.assert_offered(&["pay", "survey"]);
    let survey = run.start("survey");
    run.run_empty("pay");
    run.assert_state("completed");
    assert_eq!(run.withdrawn(), [(survey, WorkItemStatus::Withdrawn)]);
    assert_eq!(run.case.work_items().count(), 0);
    assert_eq!(run.completed_tasks(), ["open", "pay"]);
    assert_eq!(
        run.apply(Command::CompleteWorkItem {
            work_item: survey,
            output: json!({})
        }),
        Err(CommandError::CaseNotRunning { state: "completed" })
    );

    // Contrast: implicit termination lets the survey branch finish.
    let text = std::fs::read_to_string(examples_dir().join(path)).expect("spec readable");
    let mut spec: Value = serde_json::from_str(&text).expect("spec is JSON");
    spec["nets"][0]["termination"] = json!("implicit");
    let mut run = Run::launch_with(
        compile_text(&spec.to_string()),
        json!({}),
        0,
        Limits::default(),
    );
    run.run_empty("open");
    let survey = run.start("survey");
    run.run_empty("pay");
    run.assert_state("running");
    run.assert_tokens(&[("o", 1)]);
    assert_eq!(run.started(), ["survey"]);
    run.complete(survey, json!({}));
    run.assert_offered(&["thank"]);
    run.run_empty("thank");
    run.assert_state("completed");
    assert_eq!(run.withdrawn(), Vec::new());
    assert_eq!(run.completed_tasks(), ["open", "pay", "survey", "thank"]);
}
