//! A first end-to-end check of the harness and kernel on the simple example.

mod support;

use serde_json::json;
use support::Run;

#[test]
fn simple_sequence_runs_to_completion() {
    let mut run = Run::launch("simple-sequence.json", json!({}));
    let first = run.offered();
    assert_eq!(first.len(), 1);
    run.run_empty(&first[0]);
    let second = run.offered();
    assert_eq!(second.len(), 1);
    run.run_empty(&second[0]);
    run.assert_state("completed");
    run.assert_offered(&[]);
}

/// Issue 9: a compiled net's size grows with its elements, not with their square: each
/// task's preset keeps only the words around its members (a full set per task made a
/// 30,000-task net take 290 MB).
#[test]
fn compiled_sets_stay_small_in_a_large_net() {
    let n = 5_000;
    let tasks: Vec<_> = (0..n)
        .map(|k| json!({"id": format!("t{k}"), "kind": "atomic"}))
        .collect();
    let mut nodes = vec!["i".to_owned()];
    nodes.extend((0..n).map(|k| format!("t{k}")));
    nodes.push("o".to_owned());
    let flows: Vec<_> = nodes
        .windows(2)
        .map(|w| json!({"from": w[0], "to": w[1]}))
        .collect();
    let spec = json!({"id": "long", "root_net": "main", "nets": [{"id": "main",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "tasks": tasks, "flows": flows}]});
    let spec = knhk_json::from_value(spec).expect("valid");
    let compiled = knhk_kernel::CompiledSpec::compile(&spec, &knhk_expr::CelEvaluator::default())
        .expect("compiles");
    let net = compiled.net(compiled.root);
    assert!(net.places.len() > n);
    for task in &net.tasks {
        assert_eq!(task.preset.len(), 1);
        assert_eq!(task.preset.word_count(), 1);
        assert!(task.cancel_places.is_empty());
    }
}
