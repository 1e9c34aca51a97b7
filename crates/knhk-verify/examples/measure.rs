//! Measures verification on generated nets: structural rules and soundness, for
//! sequences and for chains of AND blocks of 10 to 10,000 tasks.
//!
//! `cargo run --release -p knhk-verify --example measure`

use std::time::Instant;

use knhk_model::Specification;
use knhk_verify::{VerifyOptions, verify};
use serde_json::{Value, json};

/// `n` atomic tasks in a sequence.
fn sequence(n: usize) -> Value {
    let tasks: Vec<Value> = (0..n)
        .map(|k| json!({"id": format!("t{k}"), "kind": "atomic"}))
        .collect();
    let mut flows = vec![json!({"from": "i", "to": "t0"})];
    for k in 1..n {
        flows.push(json!({"from": format!("t{}", k - 1), "to": format!("t{k}")}));
    }
    flows.push(json!({"from": format!("t{}", n - 1), "to": "o"}));
    spec(tasks, flows)
}

/// `n / 4` blocks in a chain: an AND-split, two parallel tasks, an AND-join.
fn blocks(n: usize) -> Value {
    let mut tasks = Vec::new();
    let mut flows = Vec::new();
    let mut previous = "i".to_owned();
    for b in 0..n / 4 {
        let [split, left, right, join] = ["s", "l", "r", "j"].map(|p| format!("{p}{b}"));
        tasks.push(json!({"id": split, "kind": "atomic"}));
        tasks.push(json!({"id": left, "kind": "atomic"}));
        tasks.push(json!({"id": right, "kind": "atomic"}));
        tasks.push(json!({"id": join, "kind": "atomic", "join": "and"}));
        flows.push(json!({"from": previous, "to": split}));
        flows.push(json!({"from": split, "to": left}));
        flows.push(json!({"from": split, "to": right}));
        flows.push(json!({"from": left, "to": join}));
        flows.push(json!({"from": right, "to": join}));
        previous = join;
    }
    flows.push(json!({"from": previous, "to": "o"}));
    spec(tasks, flows)
}

fn spec(tasks: Vec<Value>, flows: Vec<Value>) -> Value {
    json!({
        "id": "generated", "root_net": "main",
        "nets": [{"id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                  "tasks": tasks, "flows": flows}]
    })
}

fn main() -> Result<(), serde_json::Error> {
    println!(
        "| net | tasks | model validation (ms) | structural (ms) | with soundness (ms) | states | verdict |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, make) in [
        ("sequence", sequence as fn(usize) -> Value),
        ("AND blocks", blocks),
    ] {
        for n in [10, 100, 1_000, 10_000] {
            let spec: Specification = serde_json::from_value(make(n))?;
            let structural = VerifyOptions {
                soundness: false,
                ..VerifyOptions::default()
            };
            let started = Instant::now();
            let valid = knhk_model::validate(spec.clone()).is_ok();
            let model_ms = started.elapsed().as_secs_f64() * 1e3;
            assert!(valid);
            let started = Instant::now();
            let report = verify(&spec, &structural);
            let structural_ms = started.elapsed().as_secs_f64() * 1e3;
            assert!(report.errors.is_empty());
            let started = Instant::now();
            let report = verify(&spec, &VerifyOptions::default());
            let full_ms = started.elapsed().as_secs_f64() * 1e3;
            let net = &report.soundness[0];
            println!(
                "| {name} | {n} | {model_ms:.1} | {structural_ms:.1} | {full_ms:.1} | {} | {:?} |",
                net.states, net.verdict
            );
        }
    }
    Ok(())
}
