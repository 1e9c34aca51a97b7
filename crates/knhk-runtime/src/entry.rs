//! What a case's log holds: one [`Entry`] per acknowledged action, with its time and the
//! events it caused.
//!
//! An entry stores the action as submitted *and* its events. Recovery re-applies the
//! actions through the kernel (which is deterministic) and checks that it gets the stored
//! events back, so a changed kernel or a damaged log is noticed instead of silently
//! producing a different case. History queries read the events without re-running.

use knhk_kernel::{Command, Event, Limits, WorkItemId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{CaseId, Record, StoreError};

/// A specification version, as cases refer to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SpecRef {
    /// The specification's id.
    pub id: String,
    /// The version, from 1.
    pub version: u64,
}

impl std::fmt::Display for SpecRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.id, self.version)
    }
}

/// Something done to a case, as the log records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// The case was launched: always the first entry.
    Launch {
        /// The specification version it runs.
        spec: SpecRef,
        /// Launch data.
        data: Value,
        /// The seed of YAWL's random choices in this case.
        seed: u64,
        /// The kernel's limits for this case, kept so that replay runs under the same ones.
        limits: Limits,
    },
    /// A kernel command.
    Command {
        /// The command.
        command: Command,
        /// The worker acting, checked against the work item's lease; `None` for people
        /// and the engine itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker: Option<String>,
    },
    /// A worker claimed an enabled work item: it is started and leased to the worker.
    Claim {
        /// The work item.
        work_item: WorkItemId,
        /// The worker.
        worker: String,
        /// The lease ends this many milliseconds after the entry's time.
        lease_ms: u64,
    },
    /// An enabled work item was offered to participants: any of them may start it.
    Offer {
        /// The work item.
        work_item: WorkItemId,
        /// Who it is offered to.
        participants: Vec<String>,
    },
    /// An enabled (or offered) work item was allocated to one participant: only they may
    /// act on it.
    Allocate {
        /// The work item.
        work_item: WorkItemId,
        /// Who it is allocated to.
        participant: String,
    },
    /// A lease ran out: the work item went back to enabled.
    ExpireLease {
        /// The work item.
        work_item: WorkItemId,
    },
}

/// One entry of a case's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When it was applied, in milliseconds since the Unix epoch, by the runtime's clock.
    pub at_ms: u64,
    /// What was done.
    pub action: Action,
    /// What it caused, in order.
    pub events: Vec<Event>,
}

impl Entry {
    /// Encodes the entry into a record at `seq` of `case`, with no snapshot.
    pub fn to_record(&self, case: CaseId, seq: u64) -> Result<Record, StoreError> {
        let payload =
            serde_json::to_vec(self).map_err(|source| StoreError::Encode { case, seq, source })?;
        Ok(Record {
            case,
            seq,
            payload,
            snapshot: None,
        })
    }

    /// Decodes the entry a record holds.
    pub fn from_record(record: &Record) -> Result<Entry, StoreError> {
        serde_json::from_slice(&record.payload).map_err(|source| StoreError::Decode {
            case: record.case,
            seq: record.seq,
            source,
        })
    }
}
