//! Turtle import and export time for generated nets of 10, 100, 1,000 and 10,000 tasks.
//!
//! Each net is a chain `start -> t0 -> ... -> end` written the way the knhk examples
//! write nets (flows as `yawl:Flow` resources listed by `yawl:hasFlow`, typed input and
//! output parameters, an XOR split with a predicate per task), so the import derives
//! every id from an IRI; the export is of the imported specification, and `reimport`
//! reads that export back. Run `cargo bench -p knhk-turtle --bench turtle`; with
//! `-- --test` (as CI does) each case runs once.

// A benchmark is a harness like a test: a broken fixture should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A chain of `tasks` atomic tasks in the examples' spelling.
fn chain(tasks: usize) -> String {
    let base = "http://example.org/chain";
    let mut text = String::from("@prefix yawl: <http://bitflow.ai/ontology/yawl/v2#> .\n");
    let _ = writeln!(
        text,
        "<{base}> a yawl:Specification ; yawl:specName \"Chain\" ;"
    );
    let _ = writeln!(text, "    yawl:hasInputCondition <{base}/start> ;");
    let _ = writeln!(text, "    yawl:hasOutputCondition <{base}/end> ;");
    for k in 0..tasks {
        let _ = writeln!(text, "    yawl:hasTask <{base}/t{k}> ;");
    }
    for k in 0..=tasks {
        let _ = writeln!(text, "    yawl:hasFlow <{base}/f{k}> ;");
    }
    text.push_str("    yawl:version \"1.0\" .\n");
    let _ = writeln!(text, "<{base}/start> a yawl:InputCondition .");
    let _ = writeln!(text, "<{base}/end> a yawl:OutputCondition .");
    for k in 0..tasks {
        let _ = writeln!(
            text,
            "<{base}/t{k}> a yawl:AtomicTask ; yawl:taskName \"Task {k}\" ;
    yawl:join yawl:ControlTypeXor ; yawl:split yawl:ControlTypeXor ;
    yawl:hasInputParameter [ yawl:paramName \"amount\" ; yawl:paramType \"decimal\" ] ;
    yawl:hasOutputParameter [ yawl:paramName \"ok\" ; yawl:paramType \"boolean\" ] ."
        );
    }
    let element = |k: usize| match k {
        0 => format!("{base}/start"),
        k if k > tasks => format!("{base}/end"),
        k => format!("{base}/t{}", k - 1),
    };
    for k in 0..=tasks {
        let predicate = if k == 0 {
            ""
        } else {
            " ; yawl:predicate \"ok == true\""
        };
        let _ = writeln!(
            text,
            "<{base}/f{k}> a yawl:Flow ; yawl:flowsFrom <{}> ; yawl:flowsInto <{}>{predicate} .",
            element(k),
            element(k + 1)
        );
    }
    text
}

fn turtle(c: &mut Criterion) {
    let mut group = c.benchmark_group("turtle");
    group.sample_size(10);
    for tasks in [10usize, 100, 1_000, 10_000] {
        let text = chain(tasks);
        let spec = knhk_turtle::import(&text, None)
            .expect("chain imports")
            .spec;
        assert_eq!(spec.nets[0].tasks.len(), tasks);
        assert_eq!(spec.nets[0].flows.len(), tasks + 1);
        let exported = knhk_turtle::export(&spec);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("import", tasks), &text, |b, text| {
            b.iter(|| knhk_turtle::import(black_box(text), None).expect("imports"));
        });
        group.bench_with_input(BenchmarkId::new("export", tasks), &spec, |b, spec| {
            b.iter(|| knhk_turtle::export(black_box(spec)));
        });
        group.throughput(Throughput::Bytes(exported.len() as u64));
        group.bench_with_input(BenchmarkId::new("reimport", tasks), &exported, |b, text| {
            b.iter(|| knhk_turtle::import(black_box(text), None).expect("imports"));
        });
    }
    group.finish();
}

criterion_group!(benches, turtle);
criterion_main!(benches);
