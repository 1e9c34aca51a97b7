//! Peer benchmark: knhk's kernel running a 10-task sequence in memory, one case in
//! flight, with the same loop as the acts and SpiffWorkflow peers: the specification
//! is compiled once; each case is launched, each work item it offers is started and
//! completed by this loop, and the next case starts once the case has completed. No
//! store, no I/O. The net is `nets::sequence(10)`, the one the kernel's `throughput`
//! bench runs.
//!
//! With `--durable DIR` the same loop runs through the durable engine (`knhk-runtime`)
//! on a redb database in DIR: every launch, start and complete is committed (fsync)
//! before the next call, one case in flight, so group commit cannot help.
//!
//! `cargo run --release -- [CASES] [--durable DIR]` prints
//! `knhk cases N seconds S cases/s R`.

#[path = "../../../../crates/knhk-kernel/benches/nets.rs"]
mod nets;

use std::hint::black_box;
use std::time::Instant;

use knhk_kernel::{Case, CaseState, Command, Limits, WorkItemStatus};
use serde_json::json;

const TASKS: usize = 10;

type Error = Box<dyn std::error::Error>;

/// Runs `cases` cases through the durable engine on a database in `dir`.
fn durable(cases: usize, dir: &str) -> Result<f64, Error> {
    use knhk_runtime::{Engine, EngineConfig, StoragePaths, SystemClock, WorkItemQuery};
    use std::sync::Arc;

    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let store = StoragePaths::new(dir, None).open_store()?;
        let engine = Engine::open(Arc::new(store), Arc::new(SystemClock), EngineConfig::default())?;
        let spec = knhk_json::from_value(nets::sequence(TASKS))?;
        let id = spec.id.clone();
        engine.register(spec).await?;
        let run = async || -> Result<(), Error> {
            let case = engine.launch(&id, None, json!({})).await?.id;
            let query = WorkItemQuery {
                case: Some(case),
                ..WorkItemQuery::default()
            };
            let mut completed = 0;
            loop {
                let items = engine.work_items(&query).await?.items;
                let Some(item) = items.iter().find(|i| i.data.is_some()) else { break };
                engine.command(case, Command::StartWorkItem { work_item: item.id }, None).await?;
                let output = json!({});
                engine
                    .command(case, Command::CompleteWorkItem { work_item: item.id, output }, None)
                    .await?;
                completed += 1;
            }
            if completed != TASKS {
                return Err(format!("case ended after {completed} items").into());
            }
            Ok(())
        };
        for _ in 0..(cases / 10).max(1) {
            run().await?; // warm-up
        }
        let start = Instant::now();
        for _ in 0..cases {
            run().await?;
        }
        Ok(start.elapsed().as_secs_f64())
    })
}

fn main() -> Result<(), Error> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let durable_dir = match args.iter().position(|a| a == "--durable") {
        Some(at) => {
            let dir = args.get(at + 1).cloned().ok_or("--durable needs a directory")?;
            args.drain(at..at + 2);
            Some(dir)
        }
        None => None,
    };
    let cases: usize = match args.first() {
        Some(n) => n.parse()?,
        None => 100_000,
    };
    if let Some(dir) = durable_dir {
        let elapsed = durable(cases, &dir)?;
        println!(
            "knhk-durable cases {cases} seconds {elapsed:.3} cases/s {:.1}",
            cases as f64 / elapsed
        );
        return Ok(());
    }
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
