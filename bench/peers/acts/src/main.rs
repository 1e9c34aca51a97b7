//! Peer benchmark: a 10-task sequence on the acts workflow engine (crates.io `acts`
//! 0.25.0), in memory, one case in flight.
//!
//! The model is 10 steps in sequence, each an `acts.core.irq` act: acts' equivalent of
//! a work item, a request handed to the client, which the process waits on until the
//! client completes it. It is deployed once; each case is started, each of its 10 acts
//! is completed by this loop as acts announces it, and the next case starts once acts
//! reports the process complete. acts' default store is in memory.
//!
//! `cargo run --release -- [CASES]` prints `acts 0.25.0 cases N seconds S cases/s R`
//! and the case latency (p50, p99, max).

use std::time::{Duration, Instant};

use acts::{Engine, MessageState, Principal, Vars, Workflow};
use tokio::sync::mpsc;
use tokio::time::timeout;

const TASKS: usize = 10;

/// How long the loop waits for one event (an act offered, the process completed)
/// before it gives up rather than hang.
const WAIT: Duration = Duration::from_secs(30);

/// The YAML model: `TASKS` irq steps in sequence.
fn model() -> String {
    let mut yml = String::from("id: seq10\nname: seq10\nver: \"1\"\nsteps:\n");
    for k in 0..TASKS {
        yml.push_str(&format!(
            "  - id: t{k}\n    name: t{k}\n    uses: acts.core.irq\n"
        ));
    }
    yml
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cases: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 500,
    };
    let engine = Engine::builder().disable_acl().start().await?;
    let executor = engine.executor(&Principal::unrestricted());
    let workflow = Workflow::from_yml(&model())?;
    executor.model().deploy(&workflow, None).await?;

    // acts pushes events to handlers; forward them to the driving loop.
    let (act_tx, mut acts) = mpsc::unbounded_channel::<(String, String)>();
    let (end_tx, mut ends) = mpsc::unbounded_channel::<Result<String, String>>();
    let channel = engine.channel();
    channel.on_message(move |e| {
        let act_tx = act_tx.clone();
        async move {
            if e.is_irq() && e.is_state(MessageState::Created) {
                let _ = act_tx.send((e.pid.clone(), e.tid.clone()));
            }
        }
    });
    let done = end_tx.clone();
    channel.on_complete(move |e| {
        let done = done.clone();
        async move {
            let _ = done.send(Ok(e.pid.clone()));
        }
    });
    channel.on_error(move |e| {
        let end_tx = end_tx.clone();
        async move {
            let _ = end_tx.send(Err(format!("process {} failed: {:?}", e.pid, e.inner())));
        }
    });

    let mut run = async |case: usize| -> Result<(), Box<dyn std::error::Error>> {
        let pid = format!("case{case}");
        let mut vars = Vars::new();
        vars.set("pid", pid.clone());
        executor.proc().start(&workflow.id, vars).await?;
        for n in 0..TASKS {
            let (act_pid, tid) = timeout(WAIT, acts.recv())
                .await
                .map_err(|_| format!("{pid}: act {n} not offered within {WAIT:?}"))?
                .ok_or("channel closed")?;
            if act_pid != pid {
                return Err(format!("act of {act_pid} while running {pid}").into());
            }
            executor.act().complete(&act_pid, &tid, Vars::new()).await?;
        }
        let ended = timeout(WAIT, ends.recv())
            .await
            .map_err(|_| format!("{pid}: not completed within {WAIT:?}"))?
            .ok_or("channel closed")??;
        if ended != pid {
            return Err(format!("{ended} completed while running {pid}").into());
        }
        Ok(())
    };

    for case in 0..(cases / 10).max(1) {
        run(case).await?; // warm-up
    }
    let mut latencies = Vec::with_capacity(cases);
    let start = Instant::now();
    for case in 0..cases {
        let begun = Instant::now();
        run(cases + case).await?;
        latencies.push(begun.elapsed());
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    println!(
        "acts 0.25.0 cases {cases} seconds {elapsed:.3} cases/s {:.1} case ms p50 {:.1} p99 {:.1} max {:.1}",
        cases as f64 / elapsed,
        at(0.5),
        at(0.99),
        at(1.0)
    );
    engine.close().await;
    Ok(())
}
