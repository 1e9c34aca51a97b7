//! In-memory kernel throughput: whole cases run to completion through the case API,
//! every work item started and completed (no store, no I/O).
//!
//! `cargo bench -p knhk-kernel --bench throughput`; criterion reports elements (cases)
//! per second.

// A benchmark is a harness like a test: a broken fixture should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod nets;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use knhk_kernel::{Case, CaseState, Command, CompiledSpec, Limits, WorkItemStatus};
use serde_json::json;

/// Runs one case of `spec` to completion, starting and completing every work item.
fn run_case(spec: &Arc<CompiledSpec>) -> Case {
    let (mut case, _) =
        Case::launch(Arc::clone(spec), json!({}), 7, Limits::default()).expect("launch");
    loop {
        let Some(item) = case.work_items().next().map(|i| (i.id, i.status)) else {
            break;
        };
        let command = match item.1 {
            WorkItemStatus::Enabled => Command::StartWorkItem { work_item: item.0 },
            _ => Command::CompleteWorkItem {
                work_item: item.0,
                output: json!({}),
            },
        };
        case.apply(&command).expect("command succeeds");
    }
    assert_eq!(case.state(), &CaseState::Completed);
    case
}

fn cases(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel_cases");
    group.throughput(Throughput::Elements(1));
    let sequence = nets::compile(nets::sequence(10));
    group.bench_function("sequence_10_tasks", |b| {
        b.iter(|| black_box(run_case(&sequence)))
    });
    let parallel = nets::compile(nets::and_split_join(5));
    group.bench_function("and_split_join_5_branches", |b| {
        b.iter(|| black_box(run_case(&parallel)))
    });
    group.finish();
}

criterion_group!(benches, cases);
criterion_main!(benches);
