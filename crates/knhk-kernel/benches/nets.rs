//! Generated nets shared by the kernel benchmarks.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use knhk_expr::CelEvaluator;
use knhk_kernel::CompiledSpec;
use serde_json::{Value, json};

/// Compiles a spec given as JSON.
pub fn compile(spec: Value) -> Arc<CompiledSpec> {
    let spec: knhk_model::Specification = serde_json::from_value(spec).expect("spec deserializes");
    let spec = knhk_model::validate(spec).expect("spec is valid");
    Arc::new(CompiledSpec::compile(&spec, &CelEvaluator::default()).expect("spec compiles"))
}

fn net(tasks: Vec<Value>, conditions: Vec<Value>, flows: Vec<Value>) -> Value {
    json!({
        "id": "bench", "root_net": "main",
        "nets": [{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "conditions": conditions, "tasks": tasks, "flows": flows
        }]
    })
}

/// A net of `places` places: `i`, `o`, and a ring of `places - 2` conditions `p{k}`
/// around which empty AND/AND tasks `t{k}` move a token from `p{k}` to `p{k+1}`; the
/// hot-path workload. `enter` puts the token on the ring and `exit` leaves it.
pub fn ring(places: usize) -> Value {
    let ring = places - 2;
    let conditions = (0..ring).map(|k| json!({"id": format!("p{k}")})).collect();
    let mut tasks = vec![json!({"id": "enter", "join": "and", "split": "and"})];
    let mut flows = vec![
        json!({"from": "i", "to": "enter"}),
        json!({"from": "enter", "to": "p0"}),
    ];
    for k in 0..ring {
        tasks.push(json!({"id": format!("t{k}"), "join": "and", "split": "and"}));
        flows.push(json!({"from": format!("p{k}"), "to": format!("t{k}")}));
        flows.push(json!({"from": format!("t{k}"), "to": format!("p{}", (k + 1) % ring)}));
    }
    tasks.push(json!({"id": "exit", "join": "and", "split": "and"}));
    flows.push(json!({"from": "p0", "to": "exit"}));
    flows.push(json!({"from": "exit", "to": "o"}));
    net(tasks, conditions, flows)
}

/// `n` atomic tasks in sequence.
pub fn sequence(n: usize) -> Value {
    let tasks = (0..n)
        .map(|k| json!({"id": format!("t{k}"), "kind": "atomic"}))
        .collect();
    let mut flows = vec![json!({"from": "i", "to": "t0"})];
    for k in 1..n {
        flows.push(json!({"from": format!("t{}", k - 1), "to": format!("t{k}")}));
    }
    flows.push(json!({"from": format!("t{}", n - 1), "to": "o"}));
    net(tasks, vec![], flows)
}

/// An atomic task AND-splitting into `branches` atomic tasks joined by an atomic
/// AND-join.
pub fn and_split_join(branches: usize) -> Value {
    let mut tasks = vec![json!({"id": "split", "kind": "atomic", "split": "and"})];
    let mut flows = vec![json!({"from": "i", "to": "split"})];
    for k in 0..branches {
        tasks.push(json!({"id": format!("b{k}"), "kind": "atomic"}));
        flows.push(json!({"from": "split", "to": format!("b{k}")}));
        flows.push(json!({"from": format!("b{k}"), "to": "join"}));
    }
    tasks.push(json!({"id": "join", "kind": "atomic", "join": "and"}));
    flows.push(json!({"from": "join", "to": "o"}));
    net(tasks, vec![], flows)
}

/// YAWL's `YAWLOrJoinTestSpecificationLongLoops.xml` (yawl-reference.md §3), from
/// `fixtures/long_loops.json`: q AND-splits to cA, cB, cC and f; a is an OR-join of
/// cA into d; b -> w -> d; d is an AND-join into f; c loops back to q; f is an OR-join.
/// The flow c -> q keeps the file's predicate `random()`, which compiles but is never
/// evaluated here (the OR-join analysis ignores predicates).
pub fn long_loops() -> Value {
    let net: Value =
        serde_json::from_str(include_str!("fixtures/long_loops.json")).expect("fixture parses");
    json!({"id": "long-loops", "root_net": net["id"], "nets": [net]})
}

/// `blocks` OR-split/OR-join blocks in a chain closed into a loop. Block `k`: the
/// routing task `s{k}` OR-splits (every predicate `true`) to the atomic tasks `a{k}`,
/// `b{k}` and `c{k}`, which meet at the routing OR-join `j{k}`; `j{k}` leads to
/// `s{k+1}`. The last join leads to `back`, which XOR-splits to `o` (taken) or back to
/// `s0` (predicate `false`, but the OR-join analysis ignores predicates, so every
/// block's join can be reached from anywhere in the loop). Places between tasks are
/// the implicit conditions `c{a3_j3}` and so on.
pub fn or_join_chain(blocks: usize) -> Value {
    let mut tasks = Vec::new();
    let mut flows = vec![json!({"from": "i", "to": "s0"})];
    for k in 0..blocks {
        let split = format!("s{k}");
        let join = format!("j{k}");
        tasks.push(json!({"id": split, "split": "or"}));
        for (n, branch) in ["a", "b", "c"].iter().enumerate() {
            let branch = format!("{branch}{k}");
            tasks.push(json!({"id": branch, "kind": "atomic"}));
            flows
                .push(json!({"from": split, "to": branch, "predicate": "true", "default": n == 0}));
            flows.push(json!({"from": branch, "to": join}));
        }
        tasks.push(json!({"id": join, "join": "or"}));
        let next = if k + 1 < blocks {
            format!("s{}", k + 1)
        } else {
            "back".to_owned()
        };
        flows.push(json!({"from": join, "to": next}));
    }
    tasks.push(json!({"id": "back", "split": "xor"}));
    flows.push(json!({"from": "back", "to": "s0", "predicate": "false", "ordering": 0}));
    flows.push(json!({"from": "back", "to": "o", "default": true, "ordering": 1}));
    net(tasks, vec![], flows)
}
