//! The event-sourced log: records of every case, and versioned specifications.
//!
//! Owns the [`Store`] trait, the [`Record`] it stores and its errors; [`MemoryStore`] and
//! [`RedbStore`] implement it. Leaves batching to [`crate::commit`] and the meaning of a
//! payload to its writer ([`Entry`](crate::Entry) is the usual one: an action and its
//! events).
//!
//! Design decisions:
//! - The trait is synchronous and object-safe. Appending is blocking I/O (an fsync) that
//!   runs on the committer's own thread, so async would buy nothing; object safety lets the
//!   runtime hold an `Arc<dyn Store>` chosen by configuration (redb today, PostgreSQL later)
//!   without making every runtime type generic, at the price of one virtual call per batch.
//! - One [`Store::append`] call is one durable transaction: all of its records, possibly of
//!   many cases, become visible and durable together, or none of them does.
//! - A case's sequence numbers start at 0 and have no gaps. The store checks this on every
//!   append and rejects the whole batch otherwise: the runtime assigns sequence numbers, so a
//!   gap or a duplicate is a broken invariant, and writing nothing is the safe answer.
//! - Specifications are immutable per version: writing the same text again is a no-op,
//!   writing different text under an existing version is an error.

mod memory;
mod redb_store;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use memory::MemoryStore;
pub use redb_store::RedbStore;

/// Identifies a case in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseId(pub u64);

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "case {}", self.0)
    }
}

/// One entry of a case's log: its position in the case and opaque payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The case the record belongs to.
    pub case: CaseId,
    /// Position in the case's log: 0 for the first record, then one more each time.
    pub seq: u64,
    /// The encoded content, usually an [`Entry`](crate::Entry).
    pub payload: Vec<u8>,
    /// The case's state after this record, if the writer took a snapshot here. The store
    /// keeps only each case's latest snapshot, beside the log; [`Store::read_case`] leaves
    /// this `None`.
    pub snapshot: Option<Vec<u8>>,
}

/// What recovery needs of one case: its latest snapshot and the records after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLog {
    /// The case.
    pub case: CaseId,
    /// The latest snapshot: the sequence number of the record it was taken after, and its
    /// bytes.
    pub snapshot: Option<(u64, Vec<u8>)>,
    /// The records after the snapshot (all of them without one), in sequence order.
    pub records: Vec<Record>,
}

/// One version of a stored specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSpec {
    /// The specification's id.
    pub id: String,
    /// Its version, from 1.
    pub version: u64,
    /// Its canonical JSON text.
    pub json: String,
}

/// An event-sourced log of cases plus versioned specifications.
///
/// Implementations are shared between the committer thread and readers, hence `Send + Sync`
/// and `&self` everywhere.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Appends `batch` in ONE durable transaction: when this returns `Ok`, every record is on
    /// disk; when it returns an error, none is visible. The records of each case must
    /// continue that case's sequence without gaps (see the module docs).
    fn append(&self, batch: &[Record]) -> Result<(), StoreError>;

    /// Every record of `case`, in sequence order; empty for an unknown case.
    fn read_case(&self, case: CaseId) -> Result<Vec<Record>, StoreError>;

    /// Every case with at least one record, in ascending id order.
    fn cases(&self) -> Result<Vec<CaseId>, StoreError>;

    /// The latest snapshot of `case` and the records after it.
    fn read_latest(&self, case: CaseId) -> Result<CaseLog, StoreError>;

    /// Calls `visit` with the [`CaseLog`] of every case, in ascending id order, all read
    /// from one consistent state of the store; stops early when `visit` returns `false`.
    fn for_each_latest(&self, visit: &mut dyn FnMut(CaseLog) -> bool) -> Result<(), StoreError>;

    /// Stores the specification text `json` as `version` of `id`, durably.
    fn put_spec(&self, id: &str, version: u64, json: &str) -> Result<(), StoreError>;

    /// The text of `version` of specification `id`, if stored.
    fn get_spec(&self, id: &str, version: u64) -> Result<Option<String>, StoreError>;

    /// Every stored specification version, ordered by id, then version.
    fn specs(&self) -> Result<Vec<StoredSpec>, StoreError>;

    /// Writes a consistent copy of the whole store (every record, latest snapshot and
    /// specification as of one committed transaction) into a new redb database file at
    /// `dest`, while the store keeps serving. `dest` must not exist yet.
    fn backup(&self, dest: &std::path::Path) -> Result<(), StoreError>;

    /// Proves that the store writes again after a failed write (a full disk, say):
    /// reopens whatever must be reopened and commits a small durable write. The engine
    /// calls it while its writes fail, until it succeeds.
    fn recover(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Why a store operation failed. A failed operation changed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open store at {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<redb::Error>,
    },
    /// The database failed during an operation.
    #[error("store at {path} failed during {op}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The operation, such as `append` or `read_case`.
        op: &'static str,
        /// The case concerned, when there is one.
        case: Option<CaseId>,
        /// The cause.
        #[source]
        source: Box<redb::Error>,
    },
    /// A record does not continue its case's sequence; the batch was not written.
    #[error("{case}: expected sequence number {expected}, got {found}")]
    SequenceGap {
        /// The case.
        case: CaseId,
        /// The next sequence number the case accepts.
        expected: u64,
        /// The sequence number in the record.
        found: u64,
    },
    /// The database was not closed cleanly and needs the repair that opening it for
    /// writing makes (the server does so at start).
    #[error("store at {path} was not closed cleanly and needs repair (open it writable)")]
    NeedsRepair {
        /// The database file.
        path: PathBuf,
    },
    /// The store was opened read-only; nothing was written.
    #[error("store at {path} is open read-only")]
    ReadOnly {
        /// The database file.
        path: PathBuf,
    },
    /// A backup's destination already exists; nothing was written.
    #[error("backup destination {path} already exists")]
    BackupExists {
        /// The destination.
        path: PathBuf,
    },
    /// A different text is already stored under this specification version.
    #[error("specification {id} version {version} already exists with different content")]
    SpecVersionExists {
        /// The specification id.
        id: String,
        /// The version.
        version: u64,
    },
    /// An entry could not be encoded.
    #[error("cannot encode record {seq} of {case}")]
    Encode {
        /// The case.
        case: CaseId,
        /// The sequence number.
        seq: u64,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A stored payload is not a valid entry.
    #[error("cannot decode record {seq} of {case}")]
    Decode {
        /// The case.
        case: CaseId,
        /// The sequence number.
        seq: u64,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A thread panicked while holding the in-memory store's lock.
    #[error("in-memory store lock poisoned")]
    Poisoned,
    /// A store wrapper refused the operation on purpose (test doubles, fault injection).
    #[error("injected failure: {reason}")]
    Injected {
        /// Why.
        reason: String,
    },
}

/// Checks that `batch` continues each case's sequence, given `next(case)`, the next
/// sequence number the case accepts before the batch. Returns the new next numbers.
pub(crate) fn check_sequences<E: From<StoreError>>(
    batch: &[Record],
    mut next: impl FnMut(CaseId) -> Result<u64, E>,
) -> Result<std::collections::BTreeMap<CaseId, u64>, E> {
    let mut nexts = std::collections::BTreeMap::new();
    for record in batch {
        let expected = match nexts.get(&record.case) {
            Some(&n) => n,
            None => next(record.case)?,
        };
        if record.seq != expected {
            let gap = StoreError::SequenceGap {
                case: record.case,
                expected,
                found: record.seq,
            };
            return Err(gap.into());
        }
        nexts.insert(record.case, expected + 1);
    }
    Ok(nexts)
}
