//! The basic control-flow, branching, synchronisation and multiple-instance patterns,
//! WCP 1 to 14 (Russell et al., BPM-06-22; yawl-reference §4). Each test runs its spec
//! from `examples/patterns/` and asserts, step by step, the work offered, the tokens
//! where they matter, and the case's final state and data.

use knhk_kernel::{
    Command, CommandError, Event, ROOT_INSTANCE, WorkItemId, WorkItemRole, WorkItemStatus,
};
use serde_json::{Value, json};

use crate::support::Run;

/// One live work item of an MI task: its slot (instance position), id, role, status and
/// data.
#[derive(Debug, Clone, PartialEq)]
struct Instance {
    slot: Option<u32>,
    id: WorkItemId,
    role: WorkItemRole,
    status: WorkItemStatus,
    data: Value,
}

/// The live work items of `task`, in id order (which is slot order for one firing).
fn items_of(run: &Run, task: &str) -> Vec<Instance> {
    run.case
        .work_items()
        .filter(|i| i.task == task)
        .map(|i| Instance {
            slot: match i.role {
                WorkItemRole::Instance { slot } => Some(slot),
                _ => None,
            },
            id: i.id,
            role: i.role,
            status: i.status,
            data: i.data.clone(),
        })
        .collect()
}

/// The live instance of `task` in `slot`, if any.
fn slot_item(run: &Run, task: &str, slot: u32) -> Option<WorkItemId> {
    items_of(run, task)
        .into_iter()
        .find(|i| i.slot == Some(slot))
        .map(|i| i.id)
}

/// How many times `task` fired, by the events.
fn firings(run: &Run, task: &str) -> usize {
    run.events
        .iter()
        .filter(|e| matches!(e, Event::TaskFired { task: t, .. } if t == task))
        .count()
}

/// WCP 1, Sequence: "A task is enabled once its predecessor in the same case completes."
/// knhk expresses it with arcs between atomic tasks; each task-to-task arc goes through
/// an implicit condition `c{source_target}`, which the predecessor marks on completion.
#[test]
fn wcp_01_sequence() {
    let mut run = Run::launch("patterns/wcp_01_sequence.json", json!({}));
    run.assert_offered(&["receive"]);
    run.assert_tokens(&[("i", 1)]);

    // Starting `receive` consumes the input token; nothing else is enabled while it runs.
    let receive = run.start("receive");
    run.assert_tokens(&[]);
    run.assert_offered(&[]);
    assert_eq!(run.started(), ["receive"]);

    run.complete(receive, json!({"order": 7}));
    run.assert_tokens(&[("c{receive_check}", 1)]);
    run.assert_offered(&["check"]);
    // The successor's work sees the predecessor's output.
    let check = run.item("check");
    assert_eq!(run.case.work_item(check).unwrap().data, json!({"order": 7}));

    run.run("check", json!({"valid": true}));
    run.assert_tokens(&[("c{check_ship}", 1)]);
    run.assert_offered(&["ship"]);

    run.run_empty("ship");
    run.assert_state("completed");
    run.assert_offered(&[]);
    run.assert_tokens(&[("o", 1)]);
    assert_eq!(run.completed_tasks(), ["receive", "check", "ship"]);
    assert_eq!(run.case.data(), json!({"order": 7, "valid": true}));
}

/// WCP 2, Parallel Split: "One branch diverges into several that all run concurrently."
/// knhk expresses it with an AND-split: every outgoing flow of `register` gets a token,
/// so all three branches are offered at once and can be started side by side.
#[test]
fn wcp_02_parallel_split() {
    let mut run = Run::launch("patterns/wcp_02_parallel_split.json", json!({}));
    run.assert_offered(&["register"]);
    run.run_empty("register");
    run.assert_tokens(&[
        ("c{register_inform_customer}", 1),
        ("c{register_invoice}", 1),
        ("c{register_pack}", 1),
    ]);
    run.assert_offered(&["inform_customer", "invoice", "pack"]);

    // All three run at the same time.
    let inform = run.start("inform_customer");
    let invoice = run.start("invoice");
    let pack = run.start("pack");
    assert_eq!(run.started(), ["inform_customer", "invoice", "pack"]);
    run.assert_offered(&[]);
    run.assert_tokens(&[]);

    // They finish in any order; `close` (an AND-join) waits for the last.
    run.complete(pack, json!({}));
    run.complete(inform, json!({}));
    run.assert_offered(&[]);
    run.assert_tokens(&[("c{inform_customer_close}", 1), ("c{pack_close}", 1)]);
    run.complete(invoice, json!({}));
    run.assert_offered(&["close"]);

    run.run_empty("close");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["register", "pack", "inform_customer", "invoice", "close"]
    );
}

/// WCP 3, Synchronization: "Several branches converge, and control passes on once every
/// incoming branch has been enabled." knhk expresses it with an AND-join: `despatch` is
/// enabled only when both of its preset conditions hold a token, and consumes one from
/// each. Both arrival orders are run.
#[test]
fn wcp_03_synchronization() {
    for (first, second) in [("pick", "pay"), ("pay", "pick")] {
        let mut run = Run::launch("patterns/wcp_03_synchronization.json", json!({}));
        run.run_empty("accept");
        run.assert_offered(&["pay", "pick"]);

        run.run_empty(first);
        // One branch has arrived: `despatch` is not enabled.
        run.assert_offered(&[second]);
        run.assert_tokens(&[
            (&format!("c{{{first}_despatch}}"), 1),
            (&format!("c{{accept_{second}}}"), 1),
        ]);

        run.run_empty(second);
        run.assert_offered(&["despatch"]);
        run.assert_tokens(&[("c{pay_despatch}", 1), ("c{pick_despatch}", 1)]);

        // Firing consumes one token from each branch.
        let despatch = run.start("despatch");
        run.assert_tokens(&[]);
        run.complete(despatch, json!({}));
        run.assert_state("completed");
        assert_eq!(run.completed_tasks(), ["accept", first, second, "despatch"]);
    }
}

/// WCP 4, Exclusive Choice: "At the split exactly one outgoing branch is chosen, by a
/// condition evaluated there." knhk expresses it with an XOR-split: flows are tried by
/// `ordering`, the first whose predicate holds is the only one taken, and the default is
/// taken when none holds. Each branch, the default included, is chosen by launch data;
/// a claim matching both predicates takes only the first in order; and the predicates
/// see the data as the splitting task's completion left it.
#[test]
fn wcp_04_exclusive_choice() {
    let cases = [
        // Matches both `amount > 10000` and `amount > 1000`: ordering 1 wins.
        (json!(20000), "senior_review"),
        (json!(5000), "standard_review"),
        // `amount > 1000` is strict: 1000 takes the default.
        (json!(1000), "fast_track"),
        (json!(12.5), "fast_track"),
    ];
    for (amount, branch) in cases {
        let mut run = Run::launch(
            "patterns/wcp_04_exclusive_choice.json",
            json!({"amount": amount}),
        );
        run.run_empty("assess");
        run.assert_offered(&[branch]);
        run.assert_tokens(&[(&format!("c{{assess_{branch}}}"), 1)]);
        run.run_empty(branch);
        run.assert_offered(&["pay"]);
        run.run_empty("pay");
        run.assert_state("completed");
        assert_eq!(run.completed_tasks(), ["assess", branch, "pay"]);
    }

    // The condition is evaluated at the split: `assess` raises the amount.
    let mut run = Run::launch(
        "patterns/wcp_04_exclusive_choice.json",
        json!({"amount": 50}),
    );
    run.run("assess", json!({"amount": 25000}));
    run.assert_offered(&["senior_review"]);
    run.assert_tokens(&[("c{assess_senior_review}", 1)]);
}

/// WCP 5, Simple Merge: "Branches converge and each incoming enablement passes control on,
/// assuming only one branch is ever active." knhk expresses it with an XOR-join: a token
/// on either incoming branch enables `archive`, which consumes that token. An XOR-split
/// before it takes one branch, so `archive` runs once whichever it is.
#[test]
fn wcp_05_simple_merge() {
    for (channel, branch) in [("post", "by_post"), ("email", "by_email")] {
        let mut run = Run::launch(
            "patterns/wcp_05_simple_merge.json",
            json!({"channel": channel}),
        );
        run.run_empty("prepare");
        run.assert_offered(&[branch]);
        run.run_empty(branch);
        run.assert_offered(&["archive"]);
        run.assert_tokens(&[(&format!("c{{{branch}_archive}}"), 1)]);

        let archive = run.start("archive");
        run.assert_tokens(&[]);
        run.complete(archive, json!({}));
        run.assert_state("completed");
        assert_eq!(run.completed_tasks(), ["prepare", branch, "archive"]);
    }
}

/// WCP 6, Multi-Choice: "At the split one or more outgoing branches are chosen, each by
/// its own condition." knhk expresses it with an OR-split: every flow whose predicate
/// holds is taken, and the default only when none holds. Launch data selects one branch,
/// two branches, or none (the default alone). The net uses implicit termination, so the
/// case ends after every chosen branch.
#[test]
fn wcp_06_multi_choice() {
    let cases: [(bool, bool, &[&str]); 4] = [
        (true, false, &["fire_brigade"]),
        (false, true, &["ambulance"]),
        (true, true, &["ambulance", "fire_brigade"]),
        (false, false, &["police"]),
    ];
    for (fire, injured, chosen) in cases {
        let mut run = Run::launch(
            "patterns/wcp_06_multi_choice.json",
            json!({"fire": fire, "injured": injured}),
        );
        run.run_empty("take_call");
        run.assert_offered(chosen);
        let expected: Vec<(String, u32)> = chosen
            .iter()
            .map(|b| (format!("c{{take_call_{b}}}"), 1))
            .collect();
        let expected: Vec<(&str, u32)> = expected.iter().map(|(p, n)| (p.as_str(), *n)).collect();
        run.assert_tokens(&expected);

        // Each chosen branch runs; the case ends after the last.
        for (k, branch) in chosen.iter().enumerate() {
            run.assert_state("running");
            run.run_empty(branch);
            if k + 1 < chosen.len() {
                // A branch in the output condition does not end the case.
                run.assert_state("running");
                assert_eq!(run.tokens().get("o"), Some(&1));
                run.assert_offered(&chosen[k + 1..]);
            }
        }
        run.assert_state("completed");
        run.assert_offered(&[]);
        let mut completed = run.completed_tasks();
        completed.sort();
        let mut want: Vec<&str> = chosen.to_vec();
        want.push("take_call");
        want.sort();
        assert_eq!(completed, want);
    }
}

/// WCP 7, Structured Synchronizing Merge: "Merges the branches of one earlier
/// Multi-Choice in a block-structured region, firing once all *activated* branches have
/// arrived." knhk expresses it with YAWL's OR-join: `report` fires when some preset
/// condition is marked and no empty one can still be marked. With one branch chosen it
/// fires as soon as that branch completes; with two it waits for the second (started or
/// not) and consumes both tokens; with none chosen, the default branch activates it.
#[test]
fn wcp_07_structured_synchronizing_merge() {
    const SPEC: &str = "patterns/wcp_07_structured_synchronizing_merge.json";

    // One branch: nothing else can arrive, so `report` fires on its arrival.
    let mut run = Run::launch(SPEC, json!({"fire": true, "injured": false}));
    run.run_empty("take_call");
    run.assert_offered(&["fire_brigade"]);
    run.run_empty("fire_brigade");
    run.assert_offered(&["report"]);
    run.assert_tokens(&[("c{fire_brigade_report}", 1)]);
    run.run_empty("report");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["take_call", "fire_brigade", "report"]
    );

    // Two branches: the first arrival waits for the other, whether it is offered or
    // running.
    let mut run = Run::launch(SPEC, json!({"fire": true, "injured": true}));
    run.run_empty("take_call");
    run.assert_offered(&["ambulance", "fire_brigade"]);
    run.run_empty("fire_brigade");
    run.assert_offered(&["ambulance"]);
    run.assert_tokens(&[("c{fire_brigade_report}", 1), ("c{take_call_ambulance}", 1)]);
    let ambulance = run.start("ambulance");
    run.assert_offered(&[]);
    run.assert_tokens(&[("c{fire_brigade_report}", 1)]);
    run.complete(ambulance, json!({}));
    run.assert_offered(&["report"]);
    run.assert_tokens(&[("c{ambulance_report}", 1), ("c{fire_brigade_report}", 1)]);
    // It consumes one token from each marked preset condition, and runs once.
    let report = run.start("report");
    run.assert_tokens(&[]);
    run.complete(report, json!({}));
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["take_call", "fire_brigade", "ambulance", "report"]
    );

    // No predicate holds: the default branch alone activates the merge.
    let mut run = Run::launch(SPEC, json!({}));
    run.run_empty("take_call");
    run.assert_offered(&["police"]);
    run.run_empty("police");
    run.assert_offered(&["report"]);
    run.run_empty("report");
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["take_call", "police", "report"]);
}

/// WCP 8, Multi-Merge: "Each arrival on any incoming branch passes a separate thread of
/// control on, without synchronization." knhk expresses it with an XOR-join that
/// consumes one token per firing, so `record` runs once per arrival. A busy task is
/// never re-enabled, so an arrival while `record` runs waits in its condition; and the
/// net uses implicit termination, because under explicit termination the first run's
/// token in the output condition would end the case and withdraw the second run.
#[test]
fn wcp_08_multi_merge() {
    const SPEC: &str = "patterns/wcp_08_multi_merge.json";

    // Arrivals one after the other: the second comes while `record` runs.
    let mut run = Run::launch(SPEC, json!({}));
    run.run_empty("start");
    run.assert_offered(&["check_credit", "check_stock"]);
    run.run_empty("check_stock");
    run.assert_offered(&["check_credit", "record"]);
    let first = run.start("record");
    run.assert_tokens(&[("c{start_check_credit}", 1)]);
    run.run_empty("check_credit");
    // `record` is busy: the second arrival waits, and no second offer appears.
    run.assert_tokens(&[("c{check_credit_record}", 1)]);
    run.assert_offered(&[]);
    assert_eq!(run.started(), ["record"]);
    run.complete(first, json!({}));
    // The first thread has reached the end; the second is offered at once.
    run.assert_state("running");
    run.assert_tokens(&[("c{check_credit_record}", 1), ("o", 1)]);
    run.assert_offered(&["record"]);
    let second = run.start("record");
    assert_ne!(second, first);
    run.assert_tokens(&[("o", 1)]);
    run.complete(second, json!({}));
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["start", "check_stock", "check_credit", "record", "record"]
    );
    assert_eq!(firings(&run, "record"), 2);
    assert!(run.withdrawn().is_empty(), "nothing was cut short");

    // Both arrive before `record` starts: one offer, one token consumed per run.
    let mut run = Run::launch(SPEC, json!({}));
    run.run_empty("start");
    run.run_empty("check_stock");
    run.run_empty("check_credit");
    run.assert_offered(&["record"]);
    run.assert_tokens(&[("c{check_credit_record}", 1), ("c{check_stock_record}", 1)]);
    let first = run.start("record");
    // Which token the XOR-join takes is YAWL's random choice; exactly one is left.
    let left = run.tokens();
    assert_eq!(left.len(), 1, "one arrival waits: {left:?}");
    assert!(
        left.contains_key("c{check_credit_record}") || left.contains_key("c{check_stock_record}"),
        "the waiting arrival is one of the two: {left:?}"
    );
    run.assert_offered(&[]);
    run.complete(first, json!({}));
    run.assert_offered(&["record"]);
    run.run_empty("record");
    run.assert_state("completed");
    assert_eq!(firings(&run, "record"), 2);
}

/// WCP 9, Structured Discriminator: "After a structured parallel split, the first
/// arriving branch triggers the continuation; the rest are ignored until all have
/// arrived and the construct resets." knhk expresses it with a blocking partial join:
/// `triage` is an AND-join with `partial_join: {required: 1}`. The first check fires it;
/// each later check's token is absorbed (it leaves its condition and enables nothing)
/// and the third resets the join.
#[test]
fn wcp_09_structured_discriminator() {
    let mut run = Run::launch("patterns/wcp_09_structured_discriminator.json", json!({}));
    run.run_empty("alert");
    run.assert_offered(&["check_breath", "check_heart", "check_pulse"]);

    // The first arrival enables `triage`.
    run.run_empty("check_breath");
    run.assert_offered(&["check_heart", "check_pulse", "triage"]);
    run.assert_tokens(&[
        ("c{alert_check_heart}", 1),
        ("c{alert_check_pulse}", 1),
        ("c{check_breath_triage}", 1),
    ]);
    run.run_empty("triage");
    run.assert_offered(&["check_heart", "check_pulse", "treat"]);

    // A later arrival is absorbed: its token is gone and `triage` is not offered again.
    run.run_empty("check_heart");
    run.assert_offered(&["check_pulse", "treat"]);
    run.assert_tokens(&[("c{alert_check_pulse}", 1), ("c{triage_treat}", 1)]);

    // The last arrival is absorbed too, and the join resets.
    run.run_empty("check_pulse");
    run.assert_offered(&["treat"]);
    run.assert_tokens(&[("c{triage_treat}", 1)]);

    run.run_empty("treat");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        [
            "alert",
            "check_breath",
            "triage",
            "check_heart",
            "check_pulse",
            "treat"
        ]
    );
    assert_eq!(firings(&run, "triage"), 1);
}

/// WCP 10, Arbitrary Cycles: "Loops with more than one entry or exit point." knhk
/// expresses them with free arcs: XOR-splits point back to earlier tasks and XOR-joins
/// take any incoming arc. The `draft`/`review` cycle is entered at `draft` or at
/// `review` and left through `reject` (from `draft`) or `publish` (from `review`).
#[test]
fn wcp_10_arbitrary_cycles() {
    const SPEC: &str = "patterns/wcp_10_arbitrary_cycles.json";

    // Entry at `draft`, twice round the cycle, exit from `review`.
    let mut run = Run::launch(SPEC, json!({}));
    run.run_empty("intake");
    run.assert_offered(&["draft"]);
    run.assert_tokens(&[("c{intake_draft}", 1)]);
    run.run_empty("draft");
    run.assert_offered(&["review"]);
    run.assert_tokens(&[("c{draft_review}", 1)]);
    run.run("review", json!({"approved": false}));
    run.assert_offered(&["draft"]);
    run.assert_tokens(&[("c{review_draft}", 1)]);
    run.run_empty("draft");
    run.assert_offered(&["review"]);
    run.run("review", json!({"approved": true}));
    run.assert_offered(&["publish"]);
    run.assert_tokens(&[("c{review_publish}", 1)]);
    run.run_empty("publish");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["intake", "draft", "review", "draft", "review", "publish"]
    );

    // Entry at `review`, back round through `draft`, exit from `draft`.
    let mut run = Run::launch(SPEC, json!({"resubmission": true}));
    run.run_empty("intake");
    run.assert_offered(&["review"]);
    run.assert_tokens(&[("c{intake_review}", 1)]);
    run.run("review", json!({"approved": false}));
    run.assert_offered(&["draft"]);
    run.run("draft", json!({"withdrawn": true}));
    run.assert_offered(&["reject"]);
    run.assert_tokens(&[("c{draft_reject}", 1)]);
    run.run_empty("reject");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["intake", "review", "draft", "reject"]
    );
}

/// WCP 11, Implicit Termination: "A case ends when nothing remains to be done and it is
/// not deadlocked, with no explicit end node." YAWL lacks it; knhk expresses it with
/// `termination: "implicit"`: a token in the output condition does not end the net,
/// which ends once nothing is enabled or running.
#[test]
fn wcp_11_implicit_termination() {
    let mut run = Run::launch("patterns/wcp_11_implicit_termination.json", json!({}));
    run.run_empty("open_account");
    run.assert_offered(&["send_card", "send_pin"]);

    // One branch reaches the output condition; the other is still offered.
    run.run_empty("send_card");
    run.assert_state("running");
    run.assert_tokens(&[("c{open_account_send_pin}", 1), ("o", 1)]);
    run.assert_offered(&["send_pin"]);

    // Still running while the last work item is being worked on.
    let pin = run.start("send_pin");
    run.assert_state("running");
    run.complete(pin, json!({}));
    run.assert_state("completed");
    run.assert_offered(&[]);
    assert_eq!(
        run.completed_tasks(),
        ["open_account", "send_card", "send_pin"]
    );
    assert!(run.withdrawn().is_empty(), "no work was cut short");
}

/// WCP 12, Multiple Instances without Synchronization: "Several independent instances of
/// a task are started in a case and never joined." knhk expresses it with an MI task
/// with threshold 0 and remainder `continue`: `notify` creates one instance per
/// subscriber and exits at once, so `close_campaign` is offered while the instances are
/// live (detached); their completions merge data but move no token. Implicit
/// termination lets the case end after the last instance.
#[test]
fn wcp_12_mi_without_synchronization() {
    let mut run = Run::launch(
        "patterns/wcp_12_mi_without_synchronization.json",
        json!({"subscribers": ["ann", "bob", "cy"]}),
    );
    run.assert_offered(&["notify"]);
    run.start("notify");
    assert_eq!(firings(&run, "notify"), 1);
    assert!(matches!(
        run.events
            .iter()
            .rev()
            .find(|e| matches!(e, Event::TaskFired { .. })),
        Some(Event::TaskFired { instances: 3, .. })
    ));

    // The task has exited already: nothing busy, the next task offered.
    assert!(run.case.busy_tasks(ROOT_INSTANCE).is_empty());
    assert_eq!(run.completed_tasks(), ["notify"]);
    run.assert_tokens(&[("c{notify_close_campaign}", 1)]);
    run.assert_offered(&["close_campaign", "notify", "notify"]);
    assert_eq!(run.started(), ["notify"]);
    let instances = items_of(&run, "notify");
    let subscribers: Vec<&Value> = instances.iter().map(|i| &i.data["subscriber"]).collect();
    assert_eq!(subscribers, [&json!("ann"), &json!("bob"), &json!("cy")]);
    assert!(instances.iter().all(|i| i.role == WorkItemRole::Detached));
    let statuses: Vec<WorkItemStatus> = instances.iter().map(|i| i.status).collect();
    assert_eq!(
        statuses,
        [
            WorkItemStatus::Started,
            WorkItemStatus::Enabled,
            WorkItemStatus::Enabled
        ]
    );

    // The rest of the case goes on without them.
    run.run_empty("close_campaign");
    run.assert_state("running");
    run.assert_tokens(&[("o", 1)]);
    run.assert_offered(&["notify", "notify"]);

    // Each instance completes on its own; none moves a token.
    run.complete(instances[0].id, json!({"ann": "delivered"}));
    run.assert_tokens(&[("o", 1)]);
    run.apply(Command::StartWorkItem {
        work_item: instances[2].id,
    })
    .unwrap();
    run.complete(instances[2].id, json!({"cy": "bounced"}));
    run.assert_state("running");
    run.run("notify", json!({"bob": "delivered"}));
    run.assert_state("completed");
    assert_eq!(firings(&run, "notify"), 1);
    assert_eq!(
        run.case.data(),
        json!({
            "subscribers": ["ann", "bob", "cy"],
            "ann": "delivered",
            "bob": "delivered",
            "cy": "bounced"
        })
    );
}

/// WCP 13, Multiple Instances with a priori Design-Time Knowledge: "The instance count
/// is fixed in the model, and all instances are joined before continuing." knhk
/// expresses it with an MI task with `min = max = threshold = 3` and no split: `review`
/// always runs three instances and `decide` waits for all of them; `aggregate` collects
/// their outputs in instance order.
#[test]
fn wcp_13_mi_with_a_priori_design_time_knowledge() {
    let mut run = Run::launch(
        "patterns/wcp_13_mi_with_a_priori_design_time_knowledge.json",
        json!({}),
    );
    run.run_empty("submit");
    run.assert_offered(&["review"]);

    // Starting the offer fires the task: it becomes instance 0, two more are offered.
    let first = run.start("review");
    assert_eq!(run.started(), ["review"]);
    run.assert_offered(&["review", "review"]);
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["review"]);
    let slots: Vec<Option<u32>> = items_of(&run, "review").iter().map(|i| i.slot).collect();
    assert_eq!(slots, [Some(0), Some(1), Some(2)]);
    assert_eq!(slot_item(&run, "review", 0), Some(first));
    run.assert_tokens(&[]);

    // Instances complete out of order; two of three are not enough.
    let third = slot_item(&run, "review", 2).unwrap();
    run.apply(Command::StartWorkItem { work_item: third })
        .unwrap();
    run.complete(third, json!({"score": 2}));
    run.complete(first, json!({"score": 4}));
    run.assert_offered(&["review"]);
    run.assert_tokens(&[]);
    assert_eq!(run.case.busy_tasks(ROOT_INSTANCE), ["review"]);

    run.run("review", json!({"score": 5}));
    run.assert_offered(&["decide"]);
    run.assert_tokens(&[("c{review_decide}", 1)]);
    assert_eq!(
        run.case.data()["reviews"],
        json!([{"score": 4}, {"score": 5}, {"score": 2}])
    );

    run.run_empty("decide");
    run.assert_state("completed");
    assert_eq!(run.completed_tasks(), ["submit", "review", "decide"]);
}

/// WCP 14, Multiple Instances with a priori Run-Time Knowledge: "The count is known from
/// case data just before the instances are created, and all are joined." knhk expresses
/// it with an MI task whose `split` expression gives an array over the case data when
/// the task fires: one instance per element, each holding its element under `line`;
/// `ship` waits for all of them, and `aggregate` gathers their outputs in instance
/// order. A count outside `[min, max]` is refused.
#[test]
fn wcp_14_mi_with_a_priori_run_time_knowledge() {
    const SPEC: &str = "patterns/wcp_14_mi_with_a_priori_run_time_knowledge.json";
    let mut run = Run::launch(
        SPEC,
        json!({"lines": [{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}]}),
    );
    // The count is decided when `pick_line` fires, from the data as it is then:
    // `prepare_order` adds a third line.
    run.run(
        "prepare_order",
        json!({"lines": [{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}, {"sku": "C3", "qty": 5}]}),
    );
    run.assert_offered(&["pick_line"]);
    run.start("pick_line");
    assert!(matches!(
        run.events
            .iter()
            .rev()
            .find(|e| matches!(e, Event::TaskFired { .. })),
        Some(Event::TaskFired { instances: 3, .. })
    ));
    run.assert_offered(&["pick_line", "pick_line"]);
    assert_eq!(run.started(), ["pick_line"]);
    let lines: Vec<(Option<u32>, Value)> = items_of(&run, "pick_line")
        .into_iter()
        .map(|i| (i.slot, i.data["line"].clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (Some(0), json!({"sku": "A1", "qty": 2})),
            (Some(1), json!({"sku": "B7", "qty": 1})),
            (Some(2), json!({"sku": "C3", "qty": 5})),
        ]
    );

    // Completed in the order 2, 0, 1; `ship` waits for the last.
    let (zero, one, two) = (
        slot_item(&run, "pick_line", 0).unwrap(),
        slot_item(&run, "pick_line", 1).unwrap(),
        slot_item(&run, "pick_line", 2).unwrap(),
    );
    run.apply(Command::StartWorkItem { work_item: two })
        .unwrap();
    run.complete(two, json!({"sku": "C3", "bin": 30}));
    run.complete(zero, json!({"sku": "A1", "bin": 10}));
    run.assert_offered(&["pick_line"]);
    run.apply(Command::StartWorkItem { work_item: one })
        .unwrap();
    run.complete(one, json!({"sku": "B7", "bin": 20}));
    run.assert_offered(&["ship"]);
    assert_eq!(
        run.case.data()["picked"],
        json!([
            {"sku": "A1", "bin": 10},
            {"sku": "B7", "bin": 20},
            {"sku": "C3", "bin": 30}
        ])
    );
    run.run_empty("ship");
    run.assert_state("completed");
    assert_eq!(
        run.completed_tasks(),
        ["prepare_order", "pick_line", "ship"]
    );

    // An empty order gives no instance, below `min`: starting is refused and nothing
    // changes.
    let mut run = Run::launch(SPEC, json!({"lines": []}));
    run.run_empty("prepare_order");
    let offer = run.item("pick_line");
    assert_eq!(
        run.apply(Command::StartWorkItem { work_item: offer }),
        Err(CommandError::InstanceCount {
            task: "pick_line".to_owned(),
            count: 0,
            min: 1,
            max: 20,
        })
    );
    run.assert_offered(&["pick_line"]);
    run.assert_tokens(&[("c{prepare_order_pick_line}", 1)]);
    run.assert_state("running");
}
