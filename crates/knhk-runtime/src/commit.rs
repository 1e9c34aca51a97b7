//! Group commit: many callers, one committer thread, one durable transaction per batch.
//!
//! Owns the path from "here are my records" to "they are on disk". Leaves what the records
//! say to the caller and how they are written to the [`Store`].
//!
//! Data flow: [`Committer::append`] (async) or [`Committer::append_blocking`] puts a request
//! (records plus a oneshot reply) on a bounded channel. The committer thread takes the first
//! waiting request, drains whatever else is already queued (up to
//! [`CommitterConfig::batch_records_max`] records) into one batch, calls [`Store::append`]
//! once, and only then answers every request of the batch: `Ok` after the commit returned,
//! or the same error to all of them if it failed, in which case nothing of the batch was
//! written. Requests keep their channel order inside a batch, so one caller's records keep
//! their order.
//!
//! Design decision: a dedicated std thread rather than a tokio task. `Store::append` blocks
//! on an fsync (about 7 ms on this disk); on a tokio worker it would stall other tasks, and
//! `spawn_blocking` per batch buys nothing over one long-lived thread. Callers still await
//! through tokio channels, so async handlers never block. Throughput comes from batching:
//! while one fsync runs, the next batch accumulates in the channel.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::metrics::CommitMetrics;
use crate::store::{Record, Store, StoreError};

/// Limits of the committer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitterConfig {
    /// Requests that may wait in the channel; further callers wait (backpressure).
    pub queue_max: usize,
    /// Records per batch, beyond which the committer stops draining and commits. A single
    /// larger request still commits whole, as one batch.
    pub batch_records_max: usize,
}

impl Default for CommitterConfig {
    fn default() -> CommitterConfig {
        CommitterConfig {
            queue_max: 4096,
            batch_records_max: 8192,
        }
    }
}

/// Why an append was not acknowledged. Nothing of the caller's records was written.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The store refused or failed the batch holding these records. Shared: every caller of
    /// the batch gets the same error.
    #[error("commit of a batch of {records} records failed")]
    Store {
        /// Records in the failed batch (all callers together).
        records: usize,
        /// The store's error.
        #[source]
        source: Arc<StoreError>,
    },
    /// The committer has stopped (shut down, or its thread died) before answering.
    #[error("committer stopped")]
    Closed,
    /// The committer thread could not be started.
    #[error("cannot start committer thread")]
    Spawn {
        /// The cause.
        #[source]
        source: Arc<std::io::Error>,
    },
}

struct Request {
    records: Vec<Record>,
    reply: oneshot::Sender<Result<(), CommitError>>,
}

/// The handle to the committer thread. Share it (`Arc<Committer>`) among callers; dropping
/// it lets the thread commit what is queued, then joins it.
#[derive(Debug)]
pub struct Committer {
    /// `None` only while dropping.
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts the committer thread in front of `store`.
    pub fn start(store: Arc<dyn Store>, config: CommitterConfig) -> Result<Committer, CommitError> {
        Committer::start_measured(store, config, CommitMetrics::default())
    }

    /// [`Committer::start`], noting every batch in `metrics`.
    pub fn start_measured(
        store: Arc<dyn Store>,
        config: CommitterConfig,
        metrics: CommitMetrics,
    ) -> Result<Committer, CommitError> {
        let (tx, rx) = mpsc::channel(config.queue_max.max(1));
        let batch_records_max = config.batch_records_max.max(1);
        let thread = std::thread::Builder::new()
            .name("knhk-committer".to_owned())
            .spawn(move || run(store.as_ref(), rx, batch_records_max, &metrics))
            .map_err(|e| CommitError::Spawn {
                source: Arc::new(e),
            })?;
        Ok(Committer {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Appends `records` and resolves once they are durable (or the batch failed).
    pub async fn append(&self, records: Vec<Record>) -> Result<(), CommitError> {
        let (reply, answer) = oneshot::channel();
        let tx = self.tx.as_ref().ok_or(CommitError::Closed)?;
        tx.send(Request { records, reply })
            .await
            .map_err(|_| CommitError::Closed)?;
        answer.await.map_err(|_| CommitError::Closed)?
    }

    /// Requests waiting in the channel, not yet taken into a batch.
    pub fn queued(&self) -> usize {
        self.tx
            .as_ref()
            .map_or(0, |tx| tx.max_capacity() - tx.capacity())
    }

    /// [`Committer::append`] for synchronous callers. Blocks the thread: do not call it from
    /// inside an async runtime (tokio panics on a blocking send there).
    pub fn append_blocking(&self, records: Vec<Record>) -> Result<(), CommitError> {
        let (reply, answer) = oneshot::channel();
        let tx = self.tx.as_ref().ok_or(CommitError::Closed)?;
        tx.blocking_send(Request { records, reply })
            .map_err(|_| CommitError::Closed)?;
        answer.blocking_recv().map_err(|_| CommitError::Closed)?
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once the queue is empty.
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            // A panicked committer already answered nobody; its callers saw `Closed`.
            let _ = thread.join();
        }
    }
}

/// The committer loop: one batch per iteration, until the channel closes.
fn run(
    store: &dyn Store,
    mut rx: mpsc::Receiver<Request>,
    batch_records_max: usize,
    metrics: &CommitMetrics,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut records = first.records;
        let mut replies = vec![first.reply];
        while records.len() < batch_records_max {
            let Ok(next) = rx.try_recv() else { break };
            records.extend(next.records);
            replies.push(next.reply);
        }
        let started = Instant::now();
        let appended = store.append(&records);
        metrics.batch(records.len(), started.elapsed(), appended.is_ok());
        let answer = appended.map_err(|e| CommitError::Store {
            records: records.len(),
            source: Arc::new(e),
        });
        for reply in replies {
            // A caller that stopped waiting is no error: its records are committed anyway.
            let _ = reply.send(answer.clone());
        }
    }
}
