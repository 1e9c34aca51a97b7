//! An `OrJoinProbe` sees every OR-join decision of a compiled specification, in every
//! case that runs it, and changes none: the runtime's metrics count and time them with it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};

use knhk_kernel::{Limits, OrJoinProbe, OrJoinVerdict};
use serde_json::json;
use support::{Run, compile};

/// Records what it sees, as `(source, verdict, work)`.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<(&'static str, OrJoinVerdict, u64)>>);

impl OrJoinProbe for Recorder {
    fn cached(&self, verdict: OrJoinVerdict) {
        self.0.lock().unwrap().push(("cache", verdict, 0));
    }

    fn analysis(&self, analysis: &mut dyn FnMut() -> (OrJoinVerdict, u64)) {
        let (verdict, work) = analysis();
        self.0.lock().unwrap().push(("analysis", verdict, work));
    }
}

/// A probe that never runs the analysis: the kernel runs it anyway.
#[derive(Debug)]
struct Idle;

impl OrJoinProbe for Idle {
    fn cached(&self, _verdict: OrJoinVerdict) {}

    fn analysis(&self, _analysis: &mut dyn FnMut() -> (OrJoinVerdict, u64)) {}
}

/// WCP 7 with both branches chosen: `report` waits for the ambulance after the fire
/// brigade completes, then runs.
fn run_both_branches(spec: Arc<knhk_kernel::CompiledSpec>) -> Run {
    let mut run = Run::launch_with(
        spec,
        json!({"fire": true, "injured": true}),
        0,
        Limits::default(),
    );
    for task in ["take_call", "fire_brigade"] {
        run.run_empty(task);
    }
    assert!(!run.offered().contains(&"report".to_owned()));
    run.run_empty("ambulance");
    run.run_empty("report");
    run.assert_state("completed");
    run
}

#[test]
fn the_probe_sees_analyses_then_cached_verdicts_and_changes_nothing() {
    let path = "patterns/wcp_07_structured_synchronizing_merge.json";
    let plain = run_both_branches(compile(path));

    let spec = compile(path);
    let recorder = Arc::new(Recorder::default());
    spec.set_or_join_probe(recorder.clone());
    let first = run_both_branches(Arc::clone(&spec));
    let seen = recorder.0.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|(source, _, _)| *source == "analysis"),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(_, verdict, work)| *verdict == OrJoinVerdict::NotEnabled && *work > 0)
    );
    // The same markings in a second case come from the cache.
    recorder.0.lock().unwrap().clear();
    run_both_branches(Arc::clone(&spec));
    let again = recorder.0.lock().unwrap().clone();
    assert_eq!(again.len(), seen.len());
    assert!(
        again.iter().all(|(source, _, _)| *source == "cache"),
        "{again:?}"
    );
    assert_eq!(
        again.iter().map(|(_, v, _)| *v).collect::<Vec<_>>(),
        seen.iter().map(|(_, v, _)| *v).collect::<Vec<_>>()
    );
    // Watching changed nothing, and a second probe is ignored.
    assert_eq!(first.events, plain.events);
    spec.set_or_join_probe(Arc::new(Idle));
    run_both_branches(Arc::clone(&spec));
    assert!(!recorder.0.lock().unwrap().is_empty());
}

#[test]
fn a_probe_that_skips_the_analysis_cannot_skip_the_decision() {
    let path = "patterns/wcp_07_structured_synchronizing_merge.json";
    let spec = compile(path);
    spec.set_or_join_probe(Arc::new(Idle));
    let run = run_both_branches(spec);
    assert_eq!(run.events, run_both_branches(compile(path)).events);
}
