//! The durable side of knhk: an event-sourced log of every case behind a [`Store`] trait,
//! and a group committer that shares one durable transaction among many callers.
//!
//! Owns durability: what is acknowledged is on disk. Leaves the semantics of a command to
//! `knhk-kernel` (which decides the events) and the HTTP contract to the server. Work items,
//! leases, timers and recovery will attach here (issue 4); this crate holds the first layer.
//!
//! Data flow: a caller turns a kernel [`Command`](knhk_kernel::Command) and its resulting
//! events into an [`Entry`], encodes it into a [`Record`] (case id, sequence number in the
//! case, payload bytes), and hands the records to a [`Committer`]. The committer drains every
//! waiting request into one batch, calls [`Store::append`] once (one transaction, one
//! fsync) and answers each caller only after that commit returned. The disk here does about
//! 150 fsyncs per second, so throughput comes from the batch size, not the engine.
//!
//! ```
//! use std::sync::Arc;
//! use knhk_runtime::{CaseId, Committer, CommitterConfig, MemoryStore, Record, Store};
//!
//! let store = Arc::new(MemoryStore::new());
//! let committer = Committer::start(store.clone(), CommitterConfig::default())?;
//! let record = Record { case: CaseId(7), seq: 0, payload: b"launched".to_vec() };
//! committer.append_blocking(vec![record.clone()])?;
//! assert_eq!(store.read_case(CaseId(7))?, vec![record]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod commit;
pub mod store;

pub use commit::{CommitError, Committer, CommitterConfig};
pub use store::{CaseId, Entry, MemoryStore, Record, RedbStore, Store, StoreError};
