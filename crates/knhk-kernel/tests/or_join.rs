//! The OR-join analysis against YAWL's own expectations: the LongLoops marking table
//! (yawl-reference.md §3, `TestYNet.testORJoinEnabled`), `TestOrJoin`, and the
//! cancellation fixtures of `yawl-specs/INDEX.md`. Each net is rebuilt from its YAWL
//! file as a JSON specification; ids and join/split codes follow the files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use knhk_kernel::{Bitset, CompiledNet, CompiledSpec, Marking, OrJoinVerdict, or_join_enabled};
use knhk_model::{Evaluator, ExprError, Expression, Scope};
use serde_json::{Value, json};

use OrJoinVerdict::{Enabled, NotEnabled, Unknown};

/// Enough work for every net here; the tests assert it is never the limit.
const WORK: u64 = 1_000_000;

/// An expression that always holds: the analysis ignores predicates, and compiling
/// needs some evaluator.
#[derive(Debug)]
struct AlwaysTrue(String);

impl Expression for AlwaysTrue {
    fn source(&self) -> &str {
        &self.0
    }

    fn evaluate(&self, _scope: &Scope<'_>) -> Result<Value, ExprError> {
        Ok(Value::Bool(true))
    }
}

/// Compiles every source into [`AlwaysTrue`].
struct TrueEvaluator;

impl Evaluator for TrueEvaluator {
    fn compile(&self, source: &str) -> Result<Arc<dyn Expression>, ExprError> {
        Ok(Arc::new(AlwaysTrue(source.to_owned())))
    }
}

/// Validates and compiles a one-net specification.
fn compile(net: Value) -> CompiledSpec {
    let spec = json!({"id": "or-join-test", "root_net": net["id"], "nets": [net]});
    let spec: knhk_model::Specification = serde_json::from_value(spec).unwrap();
    let valid = knhk_model::validate(spec).unwrap();
    CompiledSpec::compile(&valid, &TrueEvaluator).unwrap()
}

/// The marking with `tokens` (place id, count) and the set of `busy` task ids.
fn state(net: &CompiledNet, tokens: &[(&str, u32)], busy: &[&str]) -> (Marking, Bitset) {
    let mut marking = Marking::new(net);
    for (place, n) in tokens {
        let ix = net
            .place_ix(place)
            .unwrap_or_else(|| panic!("no place {place}"));
        marking.add(ix, *n);
    }
    let mut running = Bitset::new(net.tasks.len());
    for task in busy {
        let ix = net
            .task_ix(task)
            .unwrap_or_else(|| panic!("no task {task}"));
        running.insert(ix.0 as usize);
    }
    (marking, running)
}

/// The verdict for OR-join `join` of the root net, checking that the analysis leaves
/// the marking as it found it.
fn verdict(
    spec: &CompiledSpec,
    join: &str,
    tokens: &[(&str, u32)],
    busy: &[&str],
    work_max: u64,
) -> OrJoinVerdict {
    let net = spec.net(spec.root);
    let (marking, running) = state(net, tokens, busy);
    let before = (marking.clone(), running.clone());
    let task = net.task_ix(join).unwrap();
    let verdict = or_join_enabled(net, task, &marking, &running, work_max);
    assert_eq!(
        (marking, running),
        before,
        "the analysis changed the marking"
    );
    verdict
}

/// `YAWLOrJoinTestSpecificationLongLoops.xml`: q AND-splits to cA, cB, cC and f; a is
/// an OR-join of cA into d; b -> w -> d; d is an AND-join into f; c loops back to q;
/// f is an OR-join.
fn long_loops() -> CompiledSpec {
    let atomic = |id: &str, join: &str, split: &str| json!({"id": id, "kind": "atomic", "join": join, "split": split});
    let flow = |from: &str, to: &str| json!({"from": from, "to": to});
    compile(json!({
        "id": "exmple with or joins",
        "input_condition": {"id": "i-top", "name": "i"},
        "output_condition": {"id": "o-top", "name": "o"},
        "conditions": [
            {"id": "cC", "name": "cC"}, {"id": "cA", "name": "cA"}, {"id": "cB", "name": "cB"}
        ],
        "tasks": [
            atomic("d", "and", "and"), atomic("w", "xor", "and"), atomic("c", "xor", "xor"),
            atomic("b", "xor", "and"), atomic("q", "xor", "and"), atomic("a", "or", "and"),
            atomic("f", "or", "and")
        ],
        "flows": [
            flow("i-top", "q"), flow("d", "f"), flow("w", "d"), flow("cC", "c"),
            {"from": "c", "to": "q", "predicate": "random()", "default": true},
            flow("b", "w"), flow("q", "cC"), flow("q", "cA"), flow("q", "f"), flow("q", "cB"),
            flow("a", "d"), flow("cA", "a"), flow("f", "o-top"), flow("cB", "b")
        ]
    }))
}

/// A marking of yawl-reference.md §3's table: tokens, busy tasks, `orJoinEnabled(f)`.
type Row = (
    &'static [(&'static str, u32)],
    &'static [&'static str],
    OrJoinVerdict,
);

/// yawl-reference.md §3, the OR-join table, row by row.
const LONG_LOOPS_TABLE: [Row; 8] = [
    (&[("c{d_f}", 2), ("cC", 1)], &[], NotEnabled),
    (&[("c{d_f}", 1), ("cA", 1)], &[], Enabled),
    (&[("cC", 1)], &[], NotEnabled),
    (&[("i-top", 1), ("c{d_f}", 1)], &[], NotEnabled),
    (&[("c{d_f}", 1), ("c{b_w}", 1)], &[], Enabled),
    (&[("c{d_f}", 1)], &["d"], Enabled),
    (&[("cA", 1), ("cB", 1), ("c{q_f}", 1)], &[], NotEnabled),
    (
        &[("cA", 1), ("cB", 1), ("cC", 1), ("c{q_f}", 1)],
        &[],
        NotEnabled,
    ),
];

#[test]
fn long_loops_marking_table() {
    let spec = long_loops();
    for (tokens, busy, expected) in LONG_LOOPS_TABLE {
        let got = verdict(&spec, "f", tokens, busy, WORK);
        assert_eq!(got, expected, "marking {tokens:?}, busy {busy:?}");
    }
}

#[test]
fn long_loops_every_preset_place_marked_is_enabled() {
    let spec = long_loops();
    let tokens = [("c{d_f}", 1), ("c{q_f}", 1), ("cC", 1)];
    assert_eq!(verdict(&spec, "f", &tokens, &[], 0), Enabled);
}

#[test]
fn long_loops_other_or_join_is_analysed_too() {
    // a's only preset place is cA: marked means enabled, empty means not.
    let spec = long_loops();
    assert_eq!(verdict(&spec, "a", &[("cA", 1)], &[], WORK), Enabled);
    assert_eq!(verdict(&spec, "a", &[("cC", 1)], &[], WORK), NotEnabled);
}

/// `TestOrJoin.xml`: A (XOR-join) AND-splits to itself, C1 and F; C1 is a deferred
/// choice of B and C; D is an AND-join of B and C; E is an OR-join of F (via C2) and D
/// (via C3).
fn test_or_join() -> CompiledSpec {
    let atomic = |id: &str, join: &str| json!({"id": id, "kind": "atomic", "join": join});
    let flow = |from: &str, to: &str| json!({"from": from, "to": to});
    compile(json!({
        "id": "Main",
        "input_condition": {"id": "input"},
        "output_condition": {"id": "1"},
        "conditions": [{"id": "C1"}, {"id": "C2"}, {"id": "C3"}],
        "tasks": [
            atomic("A", "xor"), atomic("B", "xor"), atomic("C", "xor"), atomic("F", "xor"),
            atomic("E", "or"), atomic("D", "and")
        ],
        "flows": [
            flow("input", "A"), flow("A", "A"), flow("A", "C1"), flow("A", "F"),
            flow("C1", "C"), flow("C1", "B"), flow("B", "D"), flow("C", "D"), flow("F", "C2"),
            flow("C2", "E"), flow("E", "1"), flow("D", "C3"), flow("C3", "E")
        ]
    }))
}

#[test]
fn test_or_join_e_waits_while_a_runs_again() {
    // TestOrJoin.testImproperCompletion: A, F and B completed, then A started again.
    let spec = test_or_join();
    let after_b = [("C2", 1), ("c{B_D}", 1)];
    assert_eq!(verdict(&spec, "E", &after_b, &["A"], WORK), NotEnabled);
    // A completes: C1 is marked again, so C and then D can still mark C3.
    let after_a = [
        ("C2", 1),
        ("c{B_D}", 1),
        ("c{A_A}", 1),
        ("C1", 1),
        ("c{A_F}", 1),
    ];
    assert_eq!(verdict(&spec, "E", &after_a, &[], WORK), NotEnabled);
}

#[test]
fn test_or_join_e_fires_once_d_is_stuck() {
    // Nothing left can give D its token from C: C3 stays empty.
    let spec = test_or_join();
    assert_eq!(
        verdict(&spec, "E", &[("C2", 1), ("c{B_D}", 1)], &[], WORK),
        Enabled
    );
}

/// `ORJoin_Cancel_Infiniteloop.xml`: A -> c1 -> B -> c2; c2 feeds the OR-join E and C;
/// C clears {c2, c1, B} and marks c3; c3 feeds E and D; D loops back to c2 and c1.
fn cancel_infinite_loop() -> CompiledSpec {
    let task = |id: &str, join: &str| json!({"id": id, "kind": "atomic", "join": join});
    let flow = |from: &str, to: &str| json!({"from": from, "to": to});
    let mut c = task("6_C", "xor");
    c["cancellation_set"] = json!(["3_c2", "4_c1", "7_B"]);
    compile(json!({
        "id": "OrJoinCancelInfiniteLoop",
        "input_condition": {"id": "0_InputCondition"},
        "output_condition": {"id": "1_OutputCondition"},
        "conditions": [{"id": "4_c1"}, {"id": "3_c2"}, {"id": "2_c3"}],
        "tasks": [task("8_A", "xor"), task("7_B", "xor"), task("9_E", "or"), c, task("5_D", "xor")],
        "flows": [
            flow("0_InputCondition", "8_A"), flow("8_A", "4_c1"), flow("4_c1", "7_B"),
            flow("7_B", "3_c2"), flow("3_c2", "9_E"), flow("3_c2", "6_C"),
            flow("9_E", "1_OutputCondition"), flow("6_C", "2_c3"), flow("2_c3", "5_D"),
            flow("2_c3", "9_E"), flow("5_D", "3_c2"), flow("5_D", "4_c1")
        ]
    }))
}

#[test]
fn cancel_infinite_loop_inputs_never_marked_together() {
    // INDEX.md: C's cancellation keeps c2 and c3 apart, so E fires on either alone; the
    // search over the D -> {c1, c2} loop must end within the budget.
    let spec = cancel_infinite_loop();
    assert_eq!(verdict(&spec, "9_E", &[("3_c2", 1)], &[], WORK), Enabled);
    assert_eq!(verdict(&spec, "9_E", &[("2_c3", 1)], &[], WORK), Enabled);
    assert_eq!(verdict(&spec, "9_E", &[("4_c1", 1)], &[], WORK), NotEnabled);
}

#[test]
fn cancel_infinite_loop_busy_task_does_not_start_twice() {
    // After D, B ran on c1 while c2 waited. Whichever of B and C ends last, C's end
    // clears c2. YAWL's E2WFOJNet lets C start a second time from c2 x2 in its reset
    // net and so would answer NotEnabled (for c2 alone, too); the idle places encode
    // "a busy task is never enabled" and give INDEX.md's answer.
    let spec = cancel_infinite_loop();
    assert_eq!(
        verdict(&spec, "9_E", &[("3_c2", 1)], &["7_B"], WORK),
        Enabled
    );
    assert_eq!(verdict(&spec, "9_E", &[("3_c2", 2)], &[], WORK), Enabled);
    assert_eq!(
        verdict(&spec, "9_E", &[("3_c2", 1)], &["6_C"], WORK),
        Enabled
    );
}

#[test]
fn cancel_infinite_loop_b_can_still_join_c3() {
    // With c1 and c3 marked, B can put a token in c2 while c3 keeps its own.
    let spec = cancel_infinite_loop();
    let tokens = [("4_c1", 1), ("2_c3", 1)];
    assert_eq!(verdict(&spec, "9_E", &tokens, &[], WORK), NotEnabled);
    assert_eq!(
        verdict(&spec, "9_E", &[("2_c3", 1)], &["7_B"], WORK),
        NotEnabled
    );
    // D ending marks c2 while c3 still holds a token.
    assert_eq!(
        verdict(&spec, "9_E", &[("2_c3", 1)], &["5_D"], WORK),
        NotEnabled
    );
}

/// `CancellationTest.xml`: A (4) AND-splits to the OR-join F (5), to B (3) -> C (6)
/// and to D (2); E (7) is an AND-join of D and C into F. D clears `cancellation` (in
/// the file: B, C and three implicit conditions via `removesTokensFromFlow`).
fn cancellation_test(cancellation: Value) -> CompiledSpec {
    let task = |id: &str, join: &str| json!({"id": id, "kind": "atomic", "join": join});
    let flow = |from: &str, to: &str| json!({"from": from, "to": to});
    let mut d = task("2", "xor");
    d["cancellation_set"] = cancellation;
    compile(json!({
        "id": "CancellationTest",
        "input_condition": {"id": "0"},
        "output_condition": {"id": "1"},
        "tasks": [task("4", "xor"), d, task("5", "or"), task("3", "xor"), task("6", "xor"),
                  task("7", "and")],
        "flows": [
            flow("0", "4"), flow("4", "5"), flow("4", "3"), flow("4", "2"), flow("2", "7"),
            flow("5", "1"), flow("3", "6"), flow("6", "7"), flow("7", "5")
        ]
    }))
}

#[test]
fn cancellation_test_f_enabled_once_a_completes() {
    // INDEX.md: D's cancellation means E can never fire, so c{7_5} is not coverable.
    let spec = cancellation_test(json!(["3", "6", "c{4_3}", "c{3_6}", "c{6_7}"]));
    let after_a = [("c{4_5}", 1), ("c{4_3}", 1), ("c{4_2}", 1)];
    assert_eq!(verdict(&spec, "5", &after_a, &[], WORK), Enabled);
    let after_c = [("c{4_5}", 1), ("c{6_7}", 1), ("c{4_2}", 1)];
    assert_eq!(verdict(&spec, "5", &after_c, &[], WORK), Enabled);
    assert_eq!(
        verdict(&spec, "5", &[("c{4_5}", 1), ("c{4_2}", 1)], &["3"], WORK),
        Enabled
    );
}

#[test]
fn cancellation_test_without_cancellation_f_waits() {
    // The same net with an empty cancellation set: E can fire, so F must wait.
    let spec = cancellation_test(json!([]));
    let after_a = [("c{4_5}", 1), ("c{4_3}", 1), ("c{4_2}", 1)];
    assert_eq!(verdict(&spec, "5", &after_a, &[], WORK), NotEnabled);
}

/// `ORJoin_ORsplit.xml`-like: A OR-splits to B, C and D, which meet at the OR-join E.
fn or_split() -> CompiledSpec {
    let task = |id: &str, join: &str| json!({"id": id, "kind": "atomic", "join": join});
    let flow = |from: &str, to: &str| json!({"from": from, "to": to});
    let mut a = task("A", "xor");
    a["split"] = json!("or");
    compile(json!({
        "id": "OrSplit",
        "input_condition": {"id": "i"},
        "output_condition": {"id": "o"},
        "tasks": [a, task("B", "xor"), task("C", "xor"), task("D", "xor"), task("E", "or")],
        "flows": [
            flow("i", "A"),
            {"from": "A", "to": "B", "predicate": "true"},
            {"from": "A", "to": "C", "predicate": "true"},
            {"from": "A", "to": "D", "predicate": "true", "default": true},
            flow("B", "E"), flow("C", "E"), flow("D", "E"), flow("E", "o")
        ]
    }))
}

#[test]
fn or_split_branches_still_running_keep_e_waiting() {
    let spec = or_split();
    assert_eq!(
        verdict(&spec, "E", &[("c{B_E}", 1)], &["C", "D"], WORK),
        NotEnabled
    );
    assert_eq!(
        verdict(&spec, "E", &[("c{B_E}", 1), ("c{A_D}", 1)], &[], WORK),
        NotEnabled
    );
    assert_eq!(
        verdict(&spec, "E", &[("c{B_E}", 1)], &["A"], WORK),
        NotEnabled
    );
}

#[test]
fn or_split_branches_not_taken_do_not_hold_e() {
    let spec = or_split();
    assert_eq!(verdict(&spec, "E", &[("c{B_E}", 1)], &[], WORK), Enabled);
    assert_eq!(
        verdict(&spec, "E", &[("c{B_E}", 1), ("c{C_E}", 1)], &[], WORK),
        Enabled
    );
}

/// A AND-splits to B and C, which meet at a discriminator J (a 1-out-of-2 partial
/// join) feeding the OR-join E; F feeds E too.
fn discriminator() -> CompiledSpec {
    let task = |id: &str, join: &str| json!({"id": id, "kind": "atomic", "join": join});
    let flow = |from: &str, to: &str| json!({"from": from, "to": to});
    let mut j = task("J", "and");
    j["partial_join"] = json!({"required": 1});
    compile(json!({
        "id": "Discriminator",
        "input_condition": {"id": "i"},
        "output_condition": {"id": "o"},
        "tasks": [task("A", "xor"), task("B", "xor"), task("C", "xor"), j, task("F", "xor"),
                  task("E", "or")],
        "flows": [
            flow("i", "A"), flow("A", "B"), flow("A", "C"), flow("A", "F"), flow("B", "J"),
            flow("C", "J"), flow("J", "E"), flow("F", "E"), flow("E", "o")
        ]
    }))
}

#[test]
fn partial_join_fires_on_fewer_than_all_branches() {
    // J needs one branch, not both: the token in c{B_J} alone can still reach E.
    let spec = discriminator();
    assert_eq!(
        verdict(&spec, "E", &[("c{F_E}", 1), ("c{B_J}", 1)], &[], WORK),
        NotEnabled
    );
    assert_eq!(verdict(&spec, "E", &[("c{F_E}", 1)], &[], WORK), Enabled);
}

#[test]
fn budget_too_small_gives_unknown() {
    // Row 1 of the table needs q, c and c's start backwards: at least three steps.
    let spec = long_loops();
    let tokens = [("c{d_f}", 2), ("cC", 1)];
    assert_eq!(verdict(&spec, "f", &tokens, &[], 0), Unknown);
    assert_eq!(verdict(&spec, "f", &tokens, &[], 1), Unknown);
    assert_eq!(verdict(&spec, "f", &tokens, &[], 2), Unknown);
    assert_eq!(verdict(&spec, "f", &tokens, &[], WORK), NotEnabled);
}

#[test]
fn answers_without_search_cost_no_budget() {
    let spec = long_loops();
    // No preset token.
    assert_eq!(verdict(&spec, "f", &[("cC", 1)], &[], 0), NotEnabled);
    // c{q_f} has no live producer: nothing to search.
    assert_eq!(verdict(&spec, "f", &[("c{d_f}", 1)], &["d"], 0), Enabled);
}

#[test]
fn unknown_task_is_not_enabled() {
    let spec = long_loops();
    let net = spec.net(spec.root);
    let (marking, busy) = state(net, &[("c{d_f}", 1)], &[]);
    let missing = knhk_kernel::TaskIx(net.tasks.len() as u32);
    assert_eq!(
        or_join_enabled(net, missing, &marking, &busy, WORK),
        NotEnabled
    );
}

/// A state under YAWL's rules: tokens per place, and which tasks are running.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct State {
    tokens: Vec<u32>,
    busy: Vec<bool>,
}

/// Tokens per place past which the forward explorer stops: it checks, it does not
/// decide, so it only needs the small markings these nets cover their targets with.
const TOKENS_CAP: u32 = 3;

/// Every state one task start or end away from `s`. `join` never starts when `fixed`;
/// other OR-joins start as XOR-joins. OR-splits take each non-empty subset of their
/// branches, not just all of them, so the explorer also checks the analysis's
/// single all-branches transition.
fn successors(net: &CompiledNet, join: usize, fixed: bool, s: &State) -> Vec<State> {
    let mut out = Vec::new();
    for (i, task) in net.tasks.iter().enumerate() {
        if s.busy[i] {
            ends(i, task, s, &mut out);
        } else if i != join || !fixed {
            starts(i, task, s, &mut out);
        }
    }
    out.retain(|n| n.tokens.iter().all(|c| *c <= TOKENS_CAP));
    out
}

/// The states where task `i` has started from `s`.
fn starts(i: usize, task: &knhk_kernel::CompiledTask, s: &State, out: &mut Vec<State>) {
    let preset: Vec<usize> = task.preset_places.iter().map(|p| p.0 as usize).collect();
    let groups = match task.join {
        knhk_model::JoinCode::And => vec![preset],
        _ => preset.iter().map(|p| vec![*p]).collect(),
    };
    for group in groups
        .into_iter()
        .filter(|g| g.iter().all(|p| s.tokens[*p] > 0))
    {
        let mut next = s.clone();
        group.iter().for_each(|p| next.tokens[*p] -= 1);
        next.busy[i] = true;
        out.push(next);
    }
}

/// The states where running task `i` has completed from `s`: cancellation first, then
/// each possible choice of branches.
fn ends(i: usize, task: &knhk_kernel::CompiledTask, s: &State, out: &mut Vec<State>) {
    let mut base = s.clone();
    base.busy[i] = false;
    task.cancel_places.iter().for_each(|p| base.tokens[p] = 0);
    task.cancel_tasks
        .iter()
        .for_each(|t| base.busy[t.0 as usize] = false);
    let n = task.branches.len();
    let choices: Vec<Vec<usize>> = match task.split {
        knhk_model::SplitCode::And => vec![(0..n).collect()],
        knhk_model::SplitCode::Xor => (0..n).map(|b| vec![b]).collect(),
        knhk_model::SplitCode::Or => (1..1usize << n)
            .map(|mask| (0..n).filter(|b| mask >> b & 1 == 1).collect())
            .collect(),
    };
    for choice in choices {
        let mut next = base.clone();
        choice
            .iter()
            .for_each(|b| next.tokens[task.branches[*b].place.0 as usize] += 1);
        out.push(next);
    }
}

/// States reachable from `from`, breadth-first in discovery order, until `max` are
/// found or one satisfies `stop`; the flag says whether one did.
fn explore(
    net: &CompiledNet,
    (join, fixed): (usize, bool),
    from: State,
    max: usize,
    stop: impl Fn(&State) -> bool,
) -> (Vec<State>, bool) {
    let mut seen = std::collections::BTreeSet::from([from.clone()]);
    let mut order = vec![from];
    let mut next = 0;
    while next < order.len() && order.len() < max {
        for s in successors(net, join, fixed, &order[next]) {
            if stop(&s) {
                return (order, true);
            }
            if seen.insert(s.clone()) {
                order.push(s);
            }
        }
        next += 1;
    }
    (order, false)
}

/// Whether, from `s`, some empty preset place of `join` can receive a token while the
/// marked ones keep one: the question the analysis answers backwards.
fn forward_coverable(net: &CompiledNet, join: usize, s: &State) -> bool {
    let preset = &net.tasks[join].preset_places;
    let (marked, empty): (Vec<usize>, Vec<usize>) = preset
        .iter()
        .map(|p| p.0 as usize)
        .partition(|p| s.tokens[*p] > 0);
    let covers = |t: &State| {
        marked.iter().all(|p| t.tokens[*p] > 0) && empty.iter().any(|q| t.tokens[*q] > 0)
    };
    explore(net, (join, true), s.clone(), 20_000, covers).1
}

/// The state of `net` with `tokens` and nothing running.
fn seed(net: &CompiledNet, tokens: &[(&str, u32)]) -> State {
    let mut state = State {
        tokens: vec![0; net.places.len()],
        busy: vec![false; net.tasks.len()],
    };
    for (place, n) in tokens {
        state.tokens[net.place_ix(place).unwrap().0 as usize] = *n;
    }
    state
}

/// Compares the analysis with forward exploration at every state reachable from
/// `seeds` (up to a cap each) where OR-join `join_id` has both marked and empty preset
/// places; returns how many states gave each verdict (enabled, not enabled).
fn cross_check(spec: &CompiledSpec, join_id: &str, seeds: &[&[(&str, u32)]]) -> (usize, usize) {
    let net = spec.net(spec.root);
    let join = net.task_ix(join_id).unwrap().0 as usize;
    let preset = &net.tasks[join].preset_places;
    let mixed = |s: &State| {
        let marked = preset.iter().filter(|p| s.tokens[p.0 as usize] > 0).count();
        marked > 0 && marked < preset.len()
    };
    let mut counts = (0, 0);
    for tokens in seeds {
        let (states, _) = explore(net, (join, false), seed(net, tokens), 150, |_| false);
        for s in states.iter().filter(|s| mixed(s)) {
            let got = analyse(net, join, s);
            let expected = if forward_coverable(net, join, s) {
                NotEnabled
            } else {
                Enabled
            };
            assert_eq!(got, expected, "{join_id} at {s:?}");
            if got == Enabled {
                counts.0 += 1
            } else {
                counts.1 += 1
            }
        }
    }
    counts
}

/// The analysis's verdict for OR-join `join` at `s`.
fn analyse(net: &CompiledNet, join: usize, s: &State) -> OrJoinVerdict {
    let mut marking = Marking::new(net);
    for (i, n) in s.tokens.iter().enumerate() {
        marking.add(knhk_kernel::PlaceIx(i as u32), *n);
    }
    let mut busy = Bitset::new(net.tasks.len());
    (0..net.tasks.len())
        .filter(|t| s.busy[*t])
        .for_each(|t| busy.insert(t));
    or_join_enabled(net, knhk_kernel::TaskIx(join as u32), &marking, &busy, WORK)
}

#[test]
fn analysis_agrees_with_forward_exploration() {
    let mut long_loops_seeds: Vec<&[(&str, u32)]> = vec![&[("i-top", 1)]];
    long_loops_seeds.extend(LONG_LOOPS_TABLE.iter().map(|(tokens, _, _)| *tokens));
    let cancelling = cancellation_test(json!(["3", "6", "c{4_3}", "c{3_6}", "c{6_7}"]));
    let counts = [
        cross_check(&long_loops(), "f", &long_loops_seeds),
        cross_check(&test_or_join(), "E", &[&[("input", 1)]]),
        cross_check(
            &cancel_infinite_loop(),
            "9_E",
            &[&[("0_InputCondition", 1)]],
        ),
        cross_check(&cancelling, "5", &[&[("0", 1)]]),
        cross_check(&cancellation_test(json!([])), "5", &[&[("0", 1)]]),
        cross_check(&or_split(), "E", &[&[("i", 1)]]),
    ];
    eprintln!("COUNTS {counts:?}");
    assert!(
        counts.iter().all(|(e, n)| e + n > 0),
        "verdicts per net: {counts:?}"
    );
}
