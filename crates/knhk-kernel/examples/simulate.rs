//! Runs a specification in memory and prints what happens: the oldest live work item
//! is started, then completed with empty output, over and over, until the case ends
//! (or [`COMMANDS_MAX`] commands, for a net that loops on human work).
//!
//! ```text
//! cargo run --release -p knhk-kernel --example simulate -- SPEC.json ['{"launch": "data"}']
//! ```
//!
//! Until the service exists (issue 5) this is the quickest way to watch a net run.

use std::error::Error;
use std::sync::Arc;

use knhk_expr::CelEvaluator;
use knhk_kernel::{Case, Command, CompiledSpec, Limits, WorkItemStatus};
use serde_json::{Value, json};

/// Commands issued at most, so that a net that loops on human work still ends.
const COMMANDS_MAX: usize = 10_000;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: simulate SPEC.json [DATA-JSON]")?;
    let data: Value = match args.next() {
        Some(text) => serde_json::from_str(&text)?,
        None => json!({}),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let spec = knhk_json::parse(&text).map_err(|e| format!("{path}: {e}"))?;
    let spec = Arc::new(CompiledSpec::compile(&spec, &CelEvaluator::default())?);
    let (mut case, events) = Case::launch(spec, data, 0, Limits::default())?;
    print_events(&events)?;
    for _ in 0..COMMANDS_MAX {
        if case.state().is_final() {
            break;
        }
        let Some(item) = case.work_items().next() else {
            break;
        };
        let command = match item.status {
            WorkItemStatus::Enabled => Command::StartWorkItem { work_item: item.id },
            _ => Command::CompleteWorkItem {
                work_item: item.id,
                output: json!({}),
            },
        };
        println!("> {}", serde_json::to_string(&command)?);
        print_events(&case.apply(&command)?)?;
    }
    println!("state: {}", serde_json::to_string(case.state())?);
    println!("data:  {}", case.data());
    Ok(())
}

fn print_events(events: &[knhk_kernel::Event]) -> Result<(), Box<dyn Error>> {
    for event in events {
        println!("  {}", serde_json::to_string(event)?);
    }
    Ok(())
}
