//! Peer benchmark: knhk's kernel running a 10-task sequence in memory, one case in
//! flight, with the same loop as the acts and SpiffWorkflow peers: the specification
//! is compiled once; each case is launched, each work item it offers is started and
//! completed by this loop, and the next case starts once the case has completed. No
//! store, no I/O. The net is `nets::sequence(10)`, the one the kernel's `throughput`
//! bench runs.
//!
//! `cargo run --release -- [CASES]` prints `knhk cases N seconds S cases/s R`.

#[path = "../../../../crates/knhk-kernel/benches/nets.rs"]
mod nets;

use std::hint::black_box;
use std::time::Instant;

use knhk_kernel::{Case, CaseState, Command, Limits, WorkItemStatus};
use serde_json::json;

const TASKS: usize = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cases: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 100_000,
    };
    let spec = nets::compile(nets::sequence(TASKS));
    let run = |seed: u64| -> Result<(), Box<dyn std::error::Error>> {
        let (mut case, _) = Case::launch(spec.clone(), json!({}), seed, Limits::default())?;
        let mut completed = 0;
        loop {
            let next = case.work_items().next().map(|i| (i.id, i.status));
            let Some((id, status)) = next else { break };
            if status == WorkItemStatus::Enabled {
                case.apply(&Command::StartWorkItem { work_item: id })?;
            }
            case.apply(&Command::CompleteWorkItem {
                work_item: id,
                output: json!({}),
            })?;
            completed += 1;
        }
        if case.state() != &CaseState::Completed || completed != TASKS {
            return Err(format!("case ended {:?} after {completed} items", case.state()).into());
        }
        black_box(case);
        Ok(())
    };
    for seed in 0..(cases / 10).max(1) {
        run(seed as u64)?; // warm-up
    }
    let start = Instant::now();
    for seed in 0..cases {
        run(seed as u64)?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "knhk cases {cases} seconds {elapsed:.3} cases/s {:.1}",
        cases as f64 / elapsed
    );
    Ok(())
}
