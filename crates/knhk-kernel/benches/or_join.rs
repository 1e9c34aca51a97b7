//! OR-join decision time (`knhk_kernel::or_join_enabled`): the non-local analysis that
//! decides whether an OR-join with a partially marked preset may fire.
//!
//! - `or_join_long_loops/row{1..8}`: YAWL's LongLoops net (`fixtures/long_loops.json`),
//!   OR-join `f` at each marking of yawl-reference.md §3's table.
//! - `or_join_chain20/*`: [`nets::or_join_chain`] with 20 OR-split/OR-join blocks in a
//!   loop, deciding the last join (`j19`) or a middle one (`j10`).
//! - `or_join_cached/*`: the same decision as a case makes it, through the
//!   specification's verdict cache. `direct_uncached` is the analysis alone at the
//!   marking; `case_start_item_cached` is a `StartWorkItem` command whose settling
//!   consults the OR-join and finds its verdict cached (the case clone is set-up, not
//!   timed); `case_start_item_xor_join` is the same command on the same net with every
//!   join an XOR-join, so no OR-join is consulted.
//!
//! Every call is uncached unless it goes through a case, with a work budget far above
//! what these nets need; each verdict is checked once before it is timed.
//! `cargo bench -p knhk-kernel --bench or_join`.

mod nets;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
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

/// Decisions on the 20-block chain: the last join and a middle one, each with one or
/// two of its three preset places marked.
fn chain_decisions() -> Vec<Decision> {
    vec![
        // A token at the start must travel all 20 blocks to reach j19's empty places.
        decision(
            "last_token_at_start",
            "j19",
            &[("c{a19_j19}", 1), ("i", 1)],
            &[],
            NotEnabled,
        ),
        // Two of three marked; the token in block 10 reaches block 19 through 9 blocks.
        decision(
            "last_token_mid_chain",
            "j19",
            &[("c{a19_j19}", 1), ("c{b19_j19}", 1), ("c{s10_a10}", 1)],
            &[],
            NotEnabled,
        ),
        // The token in block 15 reaches j10 only around the loop: 15 blocks.
        decision(
            "middle_token_around_loop",
            "j10",
            &[("c{a10_j10}", 1), ("c{a15_j15}", 1)],
            &[],
            NotEnabled,
        ),
        // A branch of the same block is still running.
        decision(
            "middle_branch_busy",
            "j10",
            &[("c{a10_j10}", 1)],
            &["b10"],
            NotEnabled,
        ),
        // Nothing else in the net: pruning leaves nothing to search.
        decision("middle_alone", "j10", &[("c{a10_j10}", 1)], &[], Enabled),
    ]
}

fn long_loops(c: &mut Criterion) {
    let spec = nets::compile(nets::long_loops());
    bench_decisions(c, "or_join_long_loops", &spec, &long_loops_table());
}

fn chain(c: &mut Criterion) {
    let spec = nets::compile(nets::or_join_chain(20));
    bench_decisions(c, "or_join_chain20", &spec, &chain_decisions());
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

    // The same net with XOR-joins: the same command consults no OR-join.
    let mut xor_net = nets::or_join_chain(20);
    for task in xor_net["nets"][0]["tasks"].as_array_mut().expect("tasks") {
        if task["join"] == "or" {
            task["join"] = Value::from("xor");
        }
    }
    let xor_spec = nets::compile(xor_net);
    let xor_base = case_at_last_block(&xor_spec);
    let xor_start = Command::StartWorkItem {
        work_item: item_of(&xor_base, "b19"),
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
    group.bench_function("case_start_item_xor_join", |b| {
        b.iter_batched(
            || xor_base.clone(),
            |mut case| {
                let events = case.apply(&xor_start).expect("start b19");
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

criterion_group!(benches, long_loops, chain, cached);
criterion_main!(benches);
