//! Ticks per hot-path step (enablement test + firing) on rings of 8, 64 and 1024
//! places, counted with the CPU's timestamp counter (PRODUCT.md §7).
//!
//! A tick read costs more than a step, so each figure is one counter delta over a
//! batch of steps, divided by the batch size; the best of several batches is kept, as
//! interrupts only ever add ticks. Run `cargo bench -p knhk-kernel --bench hot_path`;
//! with `-- --test` (as CI does) it runs one short batch to prove it still works.

// A benchmark is a harness like a test: a broken fixture should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod nets;

use std::hint::black_box;

use knhk_kernel::{Marking, TaskIx};

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let (batches, rounds) = if quick { (1, 10) } else { (15, 200_000) };
    let clock = quanta::Clock::new();
    println!("hot path: enablement test + firing, token circulating a ring of AND/AND tasks");
    println!(
        "{:>8} {:>14} {:>12} {:>10}",
        "places", "steps/batch", "ticks/step", "ns/step"
    );
    for places in [8usize, 64, 1024] {
        let spec = nets::compile(nets::ring(places));
        let net = spec.net(spec.root);
        let ring: Vec<TaskIx> = (0..places - 2)
            .map(|k| net.task_ix(&format!("t{k}")).expect("ring task"))
            .collect();
        let mut marking = Marking::new(net);
        marking.add(net.place_ix("p0").expect("ring start"), 1);
        // Each round fires every task once, so steps per batch = rounds * places,
        // scaled down for the big ring to keep batches comparable in length.
        let rounds = (rounds * 8 / places).max(1);
        let steps = (rounds * ring.len()) as u64;
        let mut best_ticks = u64::MAX;
        let mut best_ns = u64::MAX;
        for _ in 0..batches {
            let start = clock.raw();
            for _ in 0..rounds {
                for task in &ring {
                    let fired = marking.fire_plain(black_box(net), *task);
                    debug_assert!(fired);
                    black_box(fired);
                }
            }
            let end = clock.raw();
            best_ticks = best_ticks.min(end - start);
            best_ns = best_ns.min(clock.delta_as_nanos(start, end));
        }
        assert_eq!(marking.total(), 1, "the ring conserves its token");
        println!(
            "{places:>8} {steps:>14} {:>12.2} {:>10.2}",
            best_ticks as f64 / steps as f64,
            best_ns as f64 / steps as f64
        );
    }
}
