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
