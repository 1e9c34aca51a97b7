//! The durable side of knhk: cases running on the pure kernel, with every change in an
//! event-sourced log before it is acknowledged, and everything back after a restart.
//!
//! Owns durability, work items beyond the kernel's (claims, leases, history), timers and
//! recovery. Leaves the semantics of a command to `knhk-kernel` (which decides the events),
//! spec formats to `knhk-json`, `knhk-yawl` and `knhk-turtle`, and the HTTP contract to the
//! server.
//!
//! Layers, inside out:
//! - [`store`]: the [`Store`] trait, an event log per case plus snapshots and versioned
//!   specifications, with [`MemoryStore`] and [`RedbStore`] (the embedded default).
//! - [`commit`]: the group [`Committer`], one durable transaction for every command that
//!   arrives together. The disk here does about 150 fsyncs per second, so throughput comes
//!   from the batch size, not the engine.
//! - [`Engine`]: launch, commands, claims with leases, timers, queries, history, backup
//!   and recovery, with time read from an injected [`Clock`].
//! - [`xes`]: a specification's cases as an XES event log, for process mining.
//!
//! ```
//! use std::sync::Arc;
//! use knhk_kernel::Command;
//! use knhk_runtime::{Engine, EngineConfig, ManualClock, MemoryStore};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let engine = Engine::open(
//!     Arc::new(MemoryStore::new()),
//!     Arc::new(ManualClock::new(0)),
//!     EngineConfig::default(),
//! )?;
//! let spec = knhk_json::parse(r#"{
//!     "id": "hello", "root_net": "main",
//!     "nets": [{"id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
//!               "tasks": [{"id": "greet", "kind": "atomic"}],
//!               "flows": [{"from": "i", "to": "greet"}, {"from": "greet", "to": "o"}]}]
//! }"#)?;
//! engine.register(spec).await?;
//! let case = engine.launch("hello", None, json!({})).await?;
//! let items = engine.work_items(&Default::default()).await?.items;
//! engine.command(case.id, Command::StartWorkItem { work_item: items[0].id }, None).await?;
//! engine
//!     .command(case.id, Command::CompleteWorkItem { work_item: items[0].id, output: json!({}) }, None)
//!     .await?;
//! assert_eq!(engine.case(case.id).await?.state.name(), "completed");
//! assert_eq!(engine.history(case.id).await?.len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod clock;
pub mod commit;
pub mod engine;
pub mod entry;
pub mod metrics;
pub mod paths;
pub mod store;
pub mod trace;
pub mod xes;

pub use clock::{Clock, ManualClock, SystemClock};
pub use commit::{CommitError, Committer, CommitterConfig};
pub use engine::{
    BrokenSpec, CaseQuery, CaseView, ClaimTarget, Engine, EngineConfig, EngineError, Fired,
    HistoryEntry, ItemRef, Lease, Listed, Page, Quarantine, Resourcing, SpecCaps, SpecVersion,
    StoreReport, WorkItemQuery, WorkItemView, check_store,
};
pub use entry::{Action, Entry, SpecRef};
pub use paths::{PathsError, StoragePaths};
pub use store::{CaseId, CaseLog, MemoryStore, Record, RedbStore, Store, StoreError, StoredSpec};
pub use trace::CaseTrace;
