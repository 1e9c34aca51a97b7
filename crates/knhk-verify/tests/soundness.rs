//! Soundness by state-space exploration: verdicts, counterexamples and budgets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use knhk_verify::{
    Element, Finding, NetState, Rule, Tokens, UnknownReason, Verdict, VerifyOptions, verify,
};
use serde_json::json;
use support::{firings, messages, net, under};

fn tokens(places: &[&str]) -> Vec<Tokens> {
    places
        .iter()
        .map(|p| Tokens {
            place: (*p).to_owned(),
            count: 1,
        })
        .collect()
}

#[test]
fn a_sound_net_with_sequence_and_split_join_and_or_blocks_is_sound() {
    let spec = net(
        json!([{"id": "c1"}, {"id": "c2"}]),
        json!([
            {"id": "a", "kind": "atomic"},
            {"id": "split", "kind": "atomic", "split": "and"},
            {"id": "b1", "kind": "atomic"}, {"id": "b2", "kind": "atomic"},
            {"id": "join", "join": "and", "split": "or"},
            {"id": "x", "kind": "atomic"}, {"id": "y", "kind": "atomic"},
            {"id": "merge", "kind": "atomic", "join": "or"}
        ]),
        json!([
            {"from": "i", "to": "a"}, {"from": "a", "to": "split"},
            {"from": "split", "to": "b1"}, {"from": "split", "to": "b2"},
            {"from": "b1", "to": "join"}, {"from": "b2", "to": "join"},
            {"from": "join", "to": "c1", "predicate": "go_x"},
            {"from": "join", "to": "c2", "predicate": "go_y", "default": true},
            {"from": "c1", "to": "x"}, {"from": "c2", "to": "y"},
            {"from": "x", "to": "merge"}, {"from": "y", "to": "merge"},
            {"from": "merge", "to": "o"}
        ]),
    );
    let report = verify(&spec, &VerifyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    assert!(
        report.warnings.is_empty(),
        "{:?}",
        messages(&report.warnings)
    );
    assert_eq!(report.soundness.len(), 1);
    let main = &report.soundness[0];
    assert_eq!((main.net.as_str(), main.verdict), ("main", Verdict::Sound));
    assert_eq!(main.unknown, None);
    assert!(main.states > 10, "{} states", main.states);
}

#[test]
fn a_deadlocking_net_has_no_option_to_complete_from_launch() {
    // DeadlockingSpecification.xml: a-top is an AND-join of i-top and c1-top, which
    // only a-top feeds.
    let spec = net(
        json!([{"id": "c1"}]),
        json!([{"id": "a", "kind": "atomic", "join": "and"}]),
        json!([
            {"from": "i", "to": "a"}, {"from": "c1", "to": "a"},
            {"from": "a", "to": "c1"}, {"from": "a", "to": "o"}
        ]),
    );
    let report = verify(&spec, &VerifyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    assert_eq!(report.soundness[0].verdict, Verdict::Unsound);
    assert_eq!(
        report.warnings,
        vec![
            Finding::net(
                "main",
                Rule::NoOptionToComplete {
                    firings: vec![],
                    state: NetState {
                        tokens: tokens(&["i"]),
                        busy: vec![],
                    },
                    deadlock: true,
                },
            ),
            Finding::at("main", Element::Task { id: "a".into() }, Rule::DeadTask),
        ]
    );
    assert_eq!(
        report.warnings[0].to_string(),
        "net `main`: unsound: deadlocks after []: tokens in [i]"
    );
}

#[test]
fn a_deadlock_later_on_comes_with_the_shortest_firing_sequence() {
    // An XOR-split feeds an AND-join: one branch arrives, the join waits forever.
    let spec = net(
        json!([{"id": "c1"}, {"id": "c2"}]),
        json!([
            {"id": "a", "kind": "atomic", "split": "xor"},
            {"id": "b", "kind": "atomic"},
            {"id": "j", "kind": "atomic", "join": "and"},
            {"id": "k", "kind": "atomic"}
        ]),
        json!([
            {"from": "i", "to": "a"},
            {"from": "a", "to": "c1", "predicate": "left", "ordering": 0},
            {"from": "a", "to": "c2", "default": true},
            {"from": "c1", "to": "b"}, {"from": "b", "to": "j"}, {"from": "c2", "to": "j"},
            {"from": "c2", "to": "k"}, {"from": "k", "to": "o"},
            {"from": "j", "to": "o"}
        ]),
    );
    let report = verify(&spec, &VerifyOptions::default());
    let stuck = under(&report, "no_option_to_complete");
    assert_eq!(stuck.len(), 1, "{:?}", messages(&report.warnings));
    assert_eq!(
        firings(&stuck[0].rule),
        [
            "start a",
            "complete a (to c1)",
            "start b",
            "complete b (to c{b_j})"
        ]
    );
    // The join needs both branches of an exclusive choice.
    let dead: Vec<_> = under(&report, "dead_task");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].element, Some(Element::Task { id: "j".into() }));
}

#[test]
fn an_unbounded_self_loop_completes_improperly_and_exhausts_the_budget() {
    // TestImproperCompletion.xml: p AND-splits to q and to itself.
    let spec = net(
        json!([]),
        json!([{"id": "p", "kind": "atomic"}, {"id": "q", "kind": "atomic"}]),
        json!([
            {"from": "i", "to": "p"}, {"from": "p", "to": "q"}, {"from": "p", "to": "p"},
            {"from": "q", "to": "o"}
        ]),
    );
    let options = VerifyOptions {
        states_max: 2_000,
        ..VerifyOptions::default()
    };
    let report = verify(&spec, &options);
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    let main = &report.soundness[0];
    assert_eq!(main.verdict, Verdict::Unsound);
    assert_eq!(
        main.unknown,
        Some(UnknownReason::StatesBudget { states_max: 2_000 })
    );
    assert_eq!(main.states, 2_000);
    let improper = under(&report, "improper_completion");
    assert_eq!(improper.len(), 1, "{:?}", messages(&report.warnings));
    assert_eq!(
        firings(&improper[0].rule),
        [
            "start p (from i)",
            "complete p (to c{p_q}, c{p_p})",
            "start q",
            "complete q (to o)"
        ]
    );
    assert!(
        improper[0]
            .to_string()
            .ends_with("tokens in [c{p_p}] besides the output condition's token"),
        "{}",
        improper[0]
    );
    // The space was not explored to the end: no verdict on dead tasks or livelocks.
    assert!(under(&report, "dead_task").is_empty());
    assert!(under(&report, "no_option_to_complete").is_empty());
}

#[test]
fn a_task_that_can_never_fire_is_dead() {
    // b and c are exclusive, so the AND-join d never fires.
    let spec = net(
        json!([{"id": "cb"}, {"id": "cc"}]),
        json!([
            {"id": "a", "kind": "atomic", "split": "xor"},
            {"id": "b", "kind": "atomic"}, {"id": "c", "kind": "atomic"},
            {"id": "d", "kind": "atomic", "join": "and"}
        ]),
        json!([
            {"from": "i", "to": "a"},
            {"from": "a", "to": "b", "predicate": "x", "ordering": 0},
            {"from": "a", "to": "c", "default": true},
            {"from": "b", "to": "cb"}, {"from": "c", "to": "cc"},
            {"from": "cb", "to": "d"}, {"from": "cc", "to": "d"},
            {"from": "cb", "to": "o_b"}, {"from": "cc", "to": "o_c"},
            {"from": "o_b", "to": "o"}, {"from": "o_c", "to": "o"},
            {"from": "d", "to": "o"}
        ]),
    );
    // o_b and o_c are tasks: add them.
    let mut spec = spec;
    for id in ["o_b", "o_c"] {
        spec.nets[0]
            .tasks
            .push(serde_json::from_value(json!({"id": id, "kind": "atomic"})).unwrap());
    }
    let report = verify(&spec, &VerifyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    assert_eq!(report.soundness[0].verdict, Verdict::Unsound);
    assert_eq!(
        messages(&report.warnings),
        ["net `main`: task `d`: unsound: dead task, it can never fire"]
    );
}

#[test]
fn a_livelock_has_no_option_to_complete_without_a_deadlock() {
    // Once `a` chooses c1, b loops on c1 for ever: the AND-join d needs c2 too.
    let spec = net(
        json!([{"id": "c1"}, {"id": "c2"}]),
        json!([
            {"id": "a", "kind": "atomic", "split": "xor"},
            {"id": "b", "kind": "atomic"},
            {"id": "d", "kind": "atomic", "join": "and"},
            {"id": "e", "kind": "atomic"}
        ]),
        json!([
            {"from": "i", "to": "a"},
            {"from": "a", "to": "c1", "predicate": "left", "ordering": 0},
            {"from": "a", "to": "c2", "default": true},
            {"from": "c1", "to": "b"}, {"from": "b", "to": "c1"},
            {"from": "c1", "to": "d"}, {"from": "c2", "to": "d"},
            {"from": "c2", "to": "e"}, {"from": "e", "to": "o"},
            {"from": "d", "to": "o"}
        ]),
    );
    let report = verify(&spec, &VerifyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    let stuck = under(&report, "no_option_to_complete");
    assert_eq!(stuck.len(), 1, "{:?}", messages(&report.warnings));
    assert_eq!(firings(&stuck[0].rule), ["start a", "complete a (to c1)"]);
    assert!(matches!(
        stuck[0].rule,
        Rule::NoOptionToComplete {
            deadlock: false,
            ..
        }
    ));
    assert_eq!(
        stuck[0].to_string(),
        "net `main`: unsound: can no longer complete after [start a, complete a (to c1)]: \
         tokens in [c1]"
    );
    let dead: Vec<_> = under(&report, "dead_task");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].element, Some(Element::Task { id: "d".into() }));
}

/// CancellationTest.xml: A (4) AND-splits to the OR-join 5, to B (3) -> C (6) and to
/// D (2); E (7) is an AND-join of D and C; D's cancellation clears C's branch.
fn cancellation_test() -> knhk_model::Specification {
    net(
        json!([]),
        json!([
            {"id": "4", "kind": "atomic"},
            {"id": "2", "kind": "atomic",
             "cancellation_set": ["3", "6", "c{4_3}", "c{3_6}", "c{6_7}"]},
            {"id": "5", "kind": "atomic", "join": "or"},
            {"id": "3", "kind": "atomic"},
            {"id": "6", "kind": "atomic"},
            {"id": "7", "kind": "atomic", "join": "and"}
        ]),
        json!([
            {"from": "i", "to": "4"},
            {"from": "4", "to": "5"}, {"from": "4", "to": "3"}, {"from": "4", "to": "2"},
            {"from": "2", "to": "7"}, {"from": "5", "to": "o"}, {"from": "3", "to": "6"},
            {"from": "6", "to": "7"}, {"from": "7", "to": "5"}
        ]),
    )
}

#[test]
fn cancellation_makes_a_task_dead_and_lets_the_or_join_complete_improperly() {
    let report = verify(&cancellation_test(), &VerifyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    assert_eq!(report.soundness[0].verdict, Verdict::Unsound);
    // The kernel's OR-join analysis finds c{7_5} uncoverable: 5 fires at once.
    let improper = under(&report, "improper_completion");
    assert_eq!(improper.len(), 1, "{:?}", messages(&report.warnings));
    assert_eq!(
        firings(&improper[0].rule),
        [
            "start 4",
            "complete 4 (to c{4_5}, c{4_3}, c{4_2})",
            "start 5",
            "complete 5 (to o)"
        ]
    );
    let dead: Vec<_> = under(&report, "dead_task")
        .iter()
        .map(|f| f.element.clone())
        .collect();
    assert_eq!(dead, [Some(Element::Task { id: "7".into() })]);
    assert!(under(&report, "no_option_to_complete").is_empty());
}

#[test]
fn reject_unsound_makes_violations_errors() {
    let options = VerifyOptions {
        reject_unsound: true,
        ..VerifyOptions::default()
    };
    let report = verify(&cancellation_test(), &options);
    let rules: Vec<&str> = report.errors.iter().map(|f| f.rule.name()).collect();
    assert_eq!(rules, ["improper_completion", "dead_task"]);
    assert!(
        report.warnings.is_empty(),
        "{:?}",
        messages(&report.warnings)
    );
}

#[test]
fn a_net_too_large_for_the_budget_is_unknown_and_the_check_ends() {
    // Ten parallel branches of two atomic tasks each: 5^10 interleaved states.
    let mut tasks = vec![
        json!({"id": "fork", "kind": "atomic"}),
        json!({"id": "join", "kind": "atomic", "join": "and"}),
    ];
    let mut flows = vec![
        json!({"from": "i", "to": "fork"}),
        json!({"from": "join", "to": "o"}),
    ];
    for k in 0..10 {
        let (a, b) = (format!("a{k}"), format!("b{k}"));
        tasks.push(json!({"id": a, "kind": "atomic"}));
        tasks.push(json!({"id": b, "kind": "atomic"}));
        flows.push(json!({"from": "fork", "to": a}));
        flows.push(json!({"from": a, "to": b}));
        flows.push(json!({"from": b, "to": "join"}));
    }
    let spec = net(json!([]), json!(tasks), json!(flows));
    let options = VerifyOptions {
        states_max: 5_000,
        ..VerifyOptions::default()
    };
    let started = std::time::Instant::now();
    let report = verify(&spec, &options);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    let main = &report.soundness[0];
    assert_eq!(main.verdict, Verdict::Unknown);
    assert_eq!(main.states, 5_000);
    assert_eq!(
        messages(&report.warnings),
        [
            "net `main`: soundness unknown after 5000 states: more than 5000 reachable states \
          (the budget)"
        ]
    );
}

#[test]
fn an_or_join_out_of_work_makes_the_verdict_unknown() {
    let spec = net(
        json!([]),
        json!([
            {"id": "a", "kind": "atomic", "split": "or"},
            {"id": "b", "kind": "atomic"}, {"id": "c", "kind": "atomic"},
            {"id": "m", "kind": "atomic", "join": "or"}
        ]),
        json!([
            {"from": "i", "to": "a"},
            {"from": "a", "to": "b", "predicate": "x"},
            {"from": "a", "to": "c", "predicate": "y", "default": true},
            {"from": "b", "to": "m"}, {"from": "c", "to": "m"}, {"from": "m", "to": "o"}
        ]),
    );
    let options = VerifyOptions {
        or_join_work_max: 0,
        ..VerifyOptions::default()
    };
    let report = verify(&spec, &options);
    let main = &report.soundness[0];
    assert_eq!(main.verdict, Verdict::Unknown);
    assert_eq!(
        main.unknown,
        Some(UnknownReason::OrJoinBudget { task: "m".into() })
    );
}

#[test]
fn soundness_can_be_switched_off() {
    let options = VerifyOptions {
        soundness: false,
        ..VerifyOptions::default()
    };
    let report = verify(&cancellation_test(), &options);
    assert!(report.soundness.is_empty());
    assert!(
        report.warnings.is_empty(),
        "{:?}",
        messages(&report.warnings)
    );
}

#[test]
fn implicit_termination_leaves_no_deadlock_or_improper_completion() {
    // WCP 11: two branches end in places of their own; the net ends when nothing is
    // left to do.
    let mut spec = net(
        json!([{"id": "end_a"}, {"id": "end_b"}]),
        json!([
            {"id": "a", "kind": "atomic", "split": "and"},
            {"id": "b", "kind": "atomic"}, {"id": "c", "kind": "atomic"},
            {"id": "close", "kind": "atomic", "join": "xor"}
        ]),
        json!([
            {"from": "i", "to": "a"}, {"from": "a", "to": "b"}, {"from": "a", "to": "c"},
            {"from": "b", "to": "end_a"}, {"from": "c", "to": "end_b"},
            {"from": "end_a", "to": "close"}, {"from": "end_b", "to": "close"},
            {"from": "close", "to": "o"}
        ]),
    );
    spec.nets[0].termination = knhk_model::Termination::Implicit;
    let report = verify(&spec, &VerifyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    assert_eq!(report.soundness[0].verdict, Verdict::Sound);
    spec.nets[0].termination = knhk_model::Termination::Explicit;
    let report = verify(&spec, &VerifyOptions::default());
    assert_eq!(report.soundness[0].verdict, Verdict::Unsound);
}

#[test]
fn the_good_net_fixture_is_sound_except_for_leaf_d() {
    let report = verify(
        &support::fixture("good_net.json"),
        &VerifyOptions::default(),
    );
    let verdicts: Vec<(&str, Verdict)> = report
        .soundness
        .iter()
        .map(|s| (s.net.as_str(), s.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("Process Creadit Card", Verdict::Sound),
            ("leaf-c", Verdict::Sound),
            ("leaf-d", Verdict::Unsound)
        ]
    );
    // I-leaf-d's OR-split may mark the output condition and j-leaf-d's place at once.
    let improper = under(&report, "improper_completion");
    assert_eq!(
        firings(&improper[0].rule),
        ["run I-leaf-d (to o-leaf-d, c{I-leaf-d_j-leaf-d})"]
    );
}

#[test]
fn partial_joins_absorb_late_branches() {
    // A blocking 1-out-of-2 join: the second branch is absorbed, not left over.
    let spec = net(
        json!([]),
        json!([
            {"id": "fork", "kind": "atomic"},
            {"id": "a", "kind": "atomic"}, {"id": "b", "kind": "atomic"},
            {"id": "first", "kind": "atomic", "join": "and",
             "partial_join": {"required": 1}},
            {"id": "after", "kind": "atomic"},
            {"id": "wait", "join": "and"}
        ]),
        json!([
            {"from": "i", "to": "fork"}, {"from": "fork", "to": "a"}, {"from": "fork", "to": "b"},
            {"from": "a", "to": "first"}, {"from": "b", "to": "first"},
            {"from": "first", "to": "after"}, {"from": "after", "to": "wait"},
            {"from": "fork", "to": "wait"}, {"from": "wait", "to": "o"}
        ]),
    );
    let report = verify(&spec, &VerifyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    // The join fires on the first arrival; the other either is absorbed (when it
    // arrives before `wait` completes the net) or is still running: the latter is an
    // improper completion, reported with its run.
    let improper = under(&report, "improper_completion");
    assert_eq!(improper.len(), 1, "{:?}", messages(&report.warnings));
    let steps = firings(&improper[0].rule);
    assert!(
        steps.iter().any(|s| s.starts_with("start first")),
        "{steps:?}"
    );
    assert!(under(&report, "dead_task").is_empty());
    assert!(under(&report, "no_option_to_complete").is_empty());
}
