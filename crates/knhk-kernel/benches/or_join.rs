//! OR-join decision time (`knhk_kernel::or_join_enabled`): the non-local analysis that
//! decides whether an OR-join with a partially marked preset may fire.
//!
//! - `or_join_long_loops/row{1..8}`: YAWL's LongLoops net (`fixtures/long_loops.json`),
//!   OR-join `f` at each marking of yawl-reference.md §3's table.
//! - `or_join_chain20/*`: [`nets::or_join_chain`], 20 OR-split/OR-join blocks in a
//!   loop, deciding the last join (`j19`) or a middle one (`j10`) with one or two of
//!   its three preset places marked and other tokens at most two blocks away.
//! - `or_join_chain20_depth/{1..4}`: `j19` with a token 1 to 4 blocks upstream. The
//!   time grows about tenfold per block: each block multiplies the minimal basis,
//!   whose elements differ in which `idle_t` places they need. Deeper decisions are
//!   timed outside criterion, in the `or_join_budget` table printed at the end.
//! - `or_join_cached/*`: the decision a case makes once `b19` has started, through the
//!   specification's verdict cache. `direct_uncached` is the analysis alone at that
//!   marking; `case_start_item_cached` is the `StartWorkItem` command whose settling
//!   consults the OR-join and finds its verdict cached (cloning the case is set-up, not
//!   timed); `case_start_item_and_join` is the same command on the same net with
//!   AND-joins, which behave the same here (every branch is taken) but need no
//!   analysis.
//!
//! Direct calls are uncached and get a budget (`WORK`) far above what the timed ones
//! need; each verdict is checked once before it is timed.
//! `cargo bench -p knhk-kernel --bench or_join`; with `-- --test` (as CI does) every
//! benchmark runs once and the budget table uses a budget of 1,000.

// A benchmark is a harness like a test: a broken fixture should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod nets;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group};
use knhk_kernel::{
    Bitset, Case, Command, CompiledNet, CompiledSpec, Limits, Marking, OrJoinVerdict,
    ROOT_INSTANCE, WorkItemId, WorkItemStatus, or_join_enabled,
};
use serde_json::{Value, json};

use OrJoinVerdict::{Enabled, NotEnabled};

/// The work budget: never the limit here (each verdict is checked not to be `Unknown`).
const WORK: u64 = 1_000_000;

/// One decision: the OR-join, the marked places (id, tokens), the busy tasks and the
/// expected verdict.
struct Decision {
    name: &'static str,
    join: &'static str,
    tokens: Vec<(String, u32)>,
    busy: Vec<String>,
    expected: OrJoinVerdict,
}

fn decision(
    name: &'static str,
    join: &'static str,
    tokens: &[(&str, u32)],
    busy: &[&str],
    expected: OrJoinVerdict,
) -> Decision {
    Decision {
        name,
        join,
        tokens: tokens.iter().map(|(p, n)| ((*p).to_owned(), *n)).collect(),
        busy: busy.iter().map(|t| (*t).to_owned()).collect(),
        expected,
    }
}

/// The marking with `tokens` (place id, count) and the set of `busy` tasks, in `net`.
fn state(net: &CompiledNet, tokens: &[(String, u32)], busy: &[String]) -> (Marking, Bitset) {
    let mut marking = Marking::new(net);
    for (place, n) in tokens {
        marking.add(net.place_ix(place).expect("place exists"), *n);
    }
    let mut running = Bitset::new(net.tasks.len());
    for task in busy {
        running.insert(net.task_ix(task).expect("task exists").0 as usize);
    }
    (marking, running)
}

/// Times each decision of `decisions` on the root net of `spec` in group `group`.
fn bench_decisions(c: &mut Criterion, group: &str, spec: &CompiledSpec, decisions: &[Decision]) {
    let net = spec.net(spec.root);
    let name = group;
    let mut group = c.benchmark_group(group);
    for d in decisions {
        let (marking, busy) = state(net, &d.tokens, &d.busy);
        let join = net.task_ix(d.join).expect("join exists");
        let verdict = or_join_enabled(net, join, &marking, &busy, WORK);
        assert_eq!(verdict, d.expected, "{name}/{}", d.name);
        group.bench_function(d.name, |b| {
            b.iter(|| or_join_enabled(black_box(net), join, black_box(&marking), &busy, WORK))
        });
    }
    group.finish();
}

/// yawl-reference.md §3: the LongLoops marking table, OR-join `f`.
fn long_loops_table() -> Vec<Decision> {
    vec![
        decision("row1", "f", &[("c{d_f}", 2), ("cC", 1)], &[], NotEnabled),
        decision("row2", "f", &[("c{d_f}", 1), ("cA", 1)], &[], Enabled),
        decision("row3", "f", &[("cC", 1)], &[], NotEnabled),
        decision("row4", "f", &[("i-top", 1), ("c{d_f}", 1)], &[], NotEnabled),
        decision("row5", "f", &[("c{d_f}", 1), ("c{b_w}", 1)], &[], Enabled),
        decision("row6", "f", &[("c{d_f}", 1)], &["d"], Enabled),
        decision(
            "row7",
            "f",
            &[("cA", 1), ("cB", 1), ("c{q_f}", 1)],
            &[],
            NotEnabled,
        ),
        decision(
            "row8",
            "f",
            &[("cA", 1), ("cB", 1), ("cC", 1), ("c{q_f}", 1)],
            &[],
            NotEnabled,
        ),
    ]
}

/// Decisions on the 20-block chain that the analysis settles in well under a second:
/// the last join and a middle one, with one or two of three preset places marked and
/// the other tokens at most two blocks upstream (deeper ones:
/// `or_join_chain20_depth` and the budget table).
fn chain_decisions() -> Vec<Decision> {
    vec![
        // What a case sees once a19 has completed: b19 and c19 are still to run.
        decision(
            "last_branches_pending",
            "j19",
            &[("c{a19_j19}", 1), ("c{s19_b19}", 1), ("c{s19_c19}", 1)],
            &[],
            NotEnabled,
        ),
        // ... and once b19 has started.
        decision(
            "last_branch_busy",
            "j19",
            &[("c{a19_j19}", 1), ("c{s19_c19}", 1)],
            &["b19"],
            NotEnabled,
        ),
        // Two of three marked; a token one block upstream, past j18.
        decision(
            "last_token_one_block_up",
            "j19",
            &[("c{a19_j19}", 1), ("c{b19_j19}", 1), ("c{a18_j18}", 1)],
            &[],
            NotEnabled,
        ),
        // A token two blocks upstream, before a8.
        decision(
            "middle_token_two_blocks_up",
            "j10",
            &[("c{a10_j10}", 1), ("c{s8_a8}", 1)],
            &[],
            NotEnabled,
        ),
        // Nothing else in the net: pruning leaves nothing to search.
        decision("middle_alone", "j10", &[("c{a10_j10}", 1)], &[], Enabled),
    ]
}

/// The 20-block chain's last join `j19` with `c{a19_j19}` marked and one more token
/// `blocks` blocks upstream, before `a{19 - blocks}`: the search must trace it back
/// through that many OR-split/OR-join blocks.
fn token_upstream(blocks: usize) -> Decision {
    let k = 19 - blocks;
    Decision {
        name: "",
        join: "j19",
        tokens: vec![("c{a19_j19}".to_owned(), 1), (format!("c{{s{k}_a{k}}}"), 1)],
        busy: Vec::new(),
        expected: NotEnabled,
    }
}

fn long_loops(c: &mut Criterion) {
    let spec = nets::compile(nets::long_loops());
    bench_decisions(c, "or_join_long_loops", &spec, &long_loops_table());
}

fn chain(c: &mut Criterion) {
    let spec = nets::compile(nets::or_join_chain(20));
    bench_decisions(c, "or_join_chain20", &spec, &chain_decisions());
}

/// Decision time against the number of blocks between the join and the token that
/// may still reach it.
fn depth(c: &mut Criterion) {
    let spec = nets::compile(nets::or_join_chain(20));
    let net = spec.net(spec.root);
    let join = net.task_ix("j19").expect("j19");
    let mut group = c.benchmark_group("or_join_chain20_depth");
    group.sample_size(10);
    for blocks in 1..=4 {
        let d = token_upstream(blocks);
        let (marking, busy) = state(net, &d.tokens, &d.busy);
        assert_eq!(
            or_join_enabled(net, join, &marking, &busy, WORK),
            d.expected
        );
        group.bench_function(BenchmarkId::from_parameter(blocks), |b| {
            b.iter(|| or_join_enabled(black_box(net), join, black_box(&marking), &busy, WORK))
        });
    }
    group.finish();
}

/// The id of the offered or started work item of task `task`.
fn item_of(case: &Case, task: &str) -> WorkItemId {
    case.work_items()
        .find(|i| i.task == task)
        .map(|i| i.id)
        .expect("work item of task")
}

/// A case of `spec` (the 20-block chain) driven until block 19's `a19` has completed
/// while `b19` and `c19` are offered: `j19` has one of three preset places marked.
fn case_at_last_block(spec: &Arc<CompiledSpec>) -> Case {
    let (mut case, _) =
        Case::launch(Arc::clone(spec), json!({}), 7, Limits::default()).expect("launch");
    let run = |case: &mut Case, task: &str| {
        let id = item_of(case, task);
        case.apply(&Command::StartWorkItem { work_item: id })
            .expect("start");
        case.apply(&Command::CompleteWorkItem {
            work_item: id,
            output: json!({}),
        })
        .expect("complete");
    };
    for k in 0..19 {
        for branch in ["a", "b", "c"] {
            run(&mut case, &format!("{branch}{k}"));
        }
    }
    run(&mut case, "a19");
    case
}

fn cached(c: &mut Criterion) {
    let spec = nets::compile(nets::or_join_chain(20));
    let base = case_at_last_block(&spec);
    let start_b19 = Command::StartWorkItem {
        work_item: item_of(&base, "b19"),
    };

    // The marking j19 is decided at once b19 has started.
    let mut after = base.clone();
    after.apply(&start_b19).expect("start b19");
    let instance = after.net_instance(ROOT_INSTANCE).expect("root instance");
    let net = spec.net(instance.net());
    let join = net.task_ix("j19").expect("j19");
    let busy_names = after.busy_tasks(ROOT_INSTANCE);
    let mut busy = Bitset::new(net.tasks.len());
    for task in &busy_names {
        busy.insert(net.task_ix(task).expect("busy task").0 as usize);
    }
    let marking = instance.marking().clone();
    assert_eq!(
        or_join_enabled(net, join, &marking, &busy, WORK),
        NotEnabled
    );
    assert!(
        after.work_items().all(|i| i.task != "j19"),
        "j19 is an empty task and must not have fired"
    );

    // The same net with AND-joins: the same command consults no OR-join.
    let mut and_net = nets::or_join_chain(20);
    for task in and_net["nets"][0]["tasks"].as_array_mut().expect("tasks") {
        if task["join"] == "or" {
            task["join"] = Value::from("and");
        }
    }
    let and_spec = nets::compile(and_net);
    let and_base = case_at_last_block(&and_spec);
    let and_start = Command::StartWorkItem {
        work_item: item_of(&and_base, "b19"),
    };

    let mut group = c.benchmark_group("or_join_cached");
    group.bench_function("direct_uncached", |b| {
        b.iter(|| or_join_enabled(black_box(net), join, black_box(&marking), &busy, WORK))
    });
    // The first command fills the cache; every timed one finds the verdict there.
    base.clone().apply(&start_b19).expect("start b19");
    group.bench_function("case_start_item_cached", |b| {
        b.iter_batched(
            || base.clone(),
            |mut case| {
                let events = case.apply(&start_b19).expect("start b19");
                (case, events)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("case_start_item_and_join", |b| {
        b.iter_batched(
            || and_base.clone(),
            |mut case| {
                let events = case.apply(&and_start).expect("start b19");
                (case, events)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    assert_eq!(
        base.work_items()
            .filter(|i| i.status == WorkItemStatus::Enabled)
            .count(),
        2,
        "b19 and c19 are offered"
    );
}

/// Decisions too deep to time with criterion, run twice each (the better is kept):
/// `j19` with a token 5 blocks upstream at `WORK`, and two decisions at the default
/// case budget (`Limits::default().or_join_work_max`), which is what one OR-join
/// consultation costs a case on this net. Those two end `Unknown`, which the case's
/// cache then remembers for that marking. With `--test`, every budget is 1,000.
fn budget_table(quick: bool) {
    let spec = nets::compile(nets::or_join_chain(20));
    let net = spec.net(spec.root);
    let case_budget = Limits::default().or_join_work_max;
    let rows = [
        ("j19, token 5 blocks up", token_upstream(5), WORK),
        (
            "j19, token at the input (20 blocks up)",
            decision("", "j19", &[("c{a19_j19}", 1), ("i", 1)], &[], NotEnabled),
            case_budget,
        ),
        (
            "j10, token in block 15 (around the loop)",
            decision(
                "",
                "j10",
                &[("c{a10_j10}", 1), ("c{a15_j15}", 1)],
                &[],
                NotEnabled,
            ),
            case_budget,
        ),
    ];
    // The bench's clock, as in hot_path (the kernel crate reads no `Instant`).
    let clock = quanta::Clock::new();
    println!("or_join_budget: 20-block chain, one decision per row (best of 2)");
    println!(
        "{:<42} {:>10} {:>12} {:>12}",
        "decision", "budget", "verdict", "ms"
    );
    for (label, d, budget) in rows {
        let budget = if quick { 1_000 } else { budget };
        let (marking, busy) = state(net, &d.tokens, &d.busy);
        let join = net.task_ix(d.join).expect("join exists");
        let mut best = f64::MAX;
        let mut verdict = OrJoinVerdict::Unknown;
        for _ in 0..2 {
            let start = clock.raw();
            verdict = or_join_enabled(net, join, &marking, &busy, budget);
            let nanos = clock.delta_as_nanos(start, clock.raw());
            best = best.min(nanos as f64 / 1e6);
        }
        println!(
            "{label:<42} {budget:>10} {:>12} {best:>12.1}",
            format!("{verdict:?}")
        );
    }
}

criterion_group!(benches, long_loops, chain, depth, cached);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    benches();
    Criterion::default().configure_from_args().final_summary();
    // The table runs unless a filter names something else, or criterion only lists.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let listing = args.iter().any(|a| a == "--list");
    if !listing
        && filters
            .iter()
            .all(|f| "or_join_budget".contains(f.as_str()))
    {
        budget_table(args.iter().any(|a| a == "--test"));
    }
}
