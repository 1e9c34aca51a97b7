//! Durable throughput, commit latency, memory per case and recovery time of the engine
//! on the embedded redb store, with real fsyncs.
//!
//! `cargo bench -p knhk-runtime --bench durable` prints:
//! - 10-task sequence cases run to completion through the engine API (launch, then start
//!   and complete every work item, each acknowledged only once durable) by 1, 64 and 1,024
//!   concurrent clients: cases/s, work items/s, and the latency of each acknowledged call
//!   (p50, p99);
//! - 100,000 active cases (launched, first item enabled): how long the engine takes to
//!   open and recover them, and the resident memory they take once recovered;
//! - the same cases on the in-memory store (no fsync, so the engine's own CPU cost shows)
//!   by 1 and 16 clients, with the hot path sampled for `knhk_hot_path_ticks` never, in
//!   one command in 64 (the default) and in every command: the cost of sampling, as
//!   cases/s and the ratio to never. Five rounds, interleaved; the best of each.
//!
//! With `--test` (as `cargo bench -- --test` and CI pass it) every scenario runs at a
//! tiny size, to prove the benchmark works without measuring anything.

// A benchmark is a harness like a test: a broken fixture should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use knhk_kernel::{Command, Event, WorkItemId};
use knhk_runtime::metrics::MetricsConfig;
use knhk_runtime::{Engine, EngineConfig, MemoryStore, StoragePaths, SystemClock, WorkItemQuery};
use serde_json::json;

const TASKS: usize = 10;

fn sequence_spec() -> knhk_model::ValidSpec {
    let tasks: Vec<_> = (0..TASKS)
        .map(|k| json!({"id": format!("t{k}"), "kind": "atomic"}))
        .collect();
    let mut nodes = vec!["i".to_owned()];
    nodes.extend((0..TASKS).map(|k| format!("t{k}")));
    nodes.push("o".to_owned());
    let flows: Vec<_> = nodes
        .windows(2)
        .map(|w| json!({"from": w[0], "to": w[1]}))
        .collect();
    knhk_json::from_value(json!({
        "id": "seq10", "root_net": "main",
        "nets": [{"id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                  "tasks": tasks, "flows": flows}]
    }))
    .unwrap()
}

fn open(dir: &Path) -> Engine {
    let store = StoragePaths::new(dir, None).open_store().unwrap();
    Engine::open(
        Arc::new(store),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .unwrap()
}

/// The work item a command's events enabled, if any.
fn enabled(events: &[Event]) -> Option<WorkItemId> {
    events.iter().find_map(|e| match e {
        Event::WorkItemEnabled { work_item, .. } => Some(*work_item),
        _ => None,
    })
}

/// One client: runs `cases` cases to completion, returning the latency of every call.
async fn client(engine: Engine, cases: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(cases * (1 + 2 * TASKS));
    for _ in 0..cases {
        let t = Instant::now();
        let case = engine.launch("seq10", None, json!({})).await.unwrap().id;
        latencies.push(t.elapsed());
        let query = WorkItemQuery {
            case: Some(case),
            ..WorkItemQuery::default()
        };
        let mut next = engine
            .work_items(&query)
            .await
            .unwrap()
            .items
            .first()
            .map(|i| i.id);
        while let Some(item) = next {
            let t = Instant::now();
            engine
                .command(case, Command::StartWorkItem { work_item: item }, None)
                .await
                .unwrap();
            latencies.push(t.elapsed());
            let t = Instant::now();
            let events = engine
                .command(
                    case,
                    Command::CompleteWorkItem {
                        work_item: item,
                        output: json!({}),
                    },
                    None,
                )
                .await
                .unwrap();
            latencies.push(t.elapsed());
            next = enabled(&events);
        }
    }
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// What one run measured.
struct Run {
    cases: f64,
    elapsed: f64,
    latencies: Vec<Duration>,
}

/// Runs `total_cases` cases on `engine` with `in_flight` concurrent clients.
async fn run(engine: &Engine, in_flight: usize, total_cases: usize) -> Run {
    engine.register(sequence_spec()).await.unwrap();
    let per_client = total_cases.div_ceil(in_flight);
    let start = Instant::now();
    let clients: Vec<_> = (0..in_flight)
        .map(|_| tokio::spawn(client(engine.clone(), per_client)))
        .collect();
    let mut latencies = Vec::new();
    for c in clients {
        latencies.extend(c.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort();
    Run {
        cases: (per_client * in_flight) as f64,
        elapsed,
        latencies,
    }
}

async fn throughput(in_flight: usize, total_cases: usize) {
    let dir = tempfile::tempdir().unwrap();
    let Run {
        cases,
        elapsed,
        latencies,
    } = run(&open(dir.path()), in_flight, total_cases).await;
    println!(
        "durable seq10, {in_flight:>4} in flight: {:>8.0} cases/s {:>9.0} work items/s  \
         (calls: p50 {:.2} ms, p99 {:.2} ms; {} cases in {elapsed:.2} s)",
        cases / elapsed,
        cases * TASKS as f64 / elapsed,
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        cases,
    );
}

/// Resident set size of this process, from /proc (Linux).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

async fn recovery(active: usize) {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = open(dir.path());
        engine.register(sequence_spec()).await.unwrap();
        let launchers = 1024.min(active);
        let clients: Vec<_> = (0..launchers)
            .map(|k| {
                let engine = engine.clone();
                let n = active / launchers + usize::from(k < active % launchers);
                tokio::spawn(async move {
                    for _ in 0..n {
                        engine.launch("seq10", None, json!({})).await.unwrap();
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
    }
    let rss_before = rss_bytes();
    let start = Instant::now();
    let engine = open(dir.path());
    let elapsed = start.elapsed();
    assert_eq!(engine.cases_in_flight(), active);
    let per_case = match (rss_before, rss_bytes()) {
        (Some(before), Some(after)) => format!(
            "{:.0} bytes resident per active case",
            after.saturating_sub(before) as f64 / active as f64
        ),
        _ => "resident memory unknown (no /proc)".to_owned(),
    };
    println!(
        "recovery: {active} active cases in {:.2} s ({:.0} cases/s); {per_case}",
        elapsed.as_secs_f64(),
        active as f64 / elapsed.as_secs_f64(),
    );
}

/// The engine on the in-memory store, sampling one command in `sample_every` (0: none).
fn open_in_memory(sample_every: u64) -> Engine {
    let config = EngineConfig {
        metrics: MetricsConfig {
            hot_path_sample_every: sample_every,
            ..MetricsConfig::default()
        },
        ..EngineConfig::default()
    };
    Engine::open(Arc::new(MemoryStore::new()), Arc::new(SystemClock), config).unwrap()
}

async fn sampling(in_flight: usize, total_cases: usize, rounds: usize) {
    let settings = [("never", 0), ("1 in 64", 64), ("every command", 1)];
    let mut best = [0.0f64; 3];
    let mut p99 = [Duration::MAX; 3];
    for _ in 0..rounds {
        for (k, (_, every)) in settings.iter().enumerate() {
            let measured = run(&open_in_memory(*every), in_flight, total_cases).await;
            best[k] = best[k].max(measured.cases / measured.elapsed);
            p99[k] = p99[k].min(percentile(&measured.latencies, 0.99));
        }
    }
    for (k, (name, _)) in settings.iter().enumerate() {
        println!(
            "in memory seq10, {in_flight:>2} in flight, hot path sampled {name:<13}: \
             {:>7.0} cases/s ({:.3}x never), p99 per call {:.1} µs",
            best[k],
            best[k] / best[0],
            p99[k].as_secs_f64() * 1e6,
        );
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if quick {
            throughput(4, 8).await;
            recovery(100).await;
            sampling(2, 4, 1).await;
            return;
        }
        throughput(1, 5).await;
        throughput(64, 1_280).await;
        throughput(1024, 10_240).await;
        recovery(100_000).await;
        sampling(1, 2_000, 5).await;
        sampling(16, 8_000, 5).await;
    });
}
