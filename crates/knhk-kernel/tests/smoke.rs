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
