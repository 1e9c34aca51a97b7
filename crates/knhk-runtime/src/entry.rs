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
use crate::trace::CaseTrace;

/// The deepest nesting of arrays and objects serde_json reads back (its recursion limit
/// refuses the 128th level). Every record and snapshot is checked against it before it is
/// written, so that whatever the store holds, recovery can read.
pub const STORED_NESTING_MAX: usize = 127;

/// How deeply arrays and objects nest in the JSON text `bytes` (0 for a scalar),
/// counted as serde_json counts when reading. A linear scan that skips strings; it
/// does not validate the JSON (the bytes come from serde_json's own writer).
pub fn nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

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
        /// The trace every action of the case belongs to; absent when the launch was
        /// not traced, and in records written before cases had one (their actions then
        /// join each request's trace).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trace: Option<CaseTrace>,
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

impl Action {
    /// The action's name, as its `action` tag says.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Launch { .. } => "launch",
            Action::Command { .. } => "command",
            Action::Claim { .. } => "claim",
            Action::Offer { .. } => "offer",
            Action::Allocate { .. } => "allocate",
            Action::ExpireLease { .. } => "expire_lease",
        }
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn nesting_counts_as_serde_json_reads() {
        for depth in [0, 1, 2, 50, STORED_NESTING_MAX, STORED_NESTING_MAX + 1] {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let text = if depth == 0 { "1".to_owned() } else { text };
            assert_eq!(nesting(text.as_bytes()), depth);
            let read = serde_json::from_str::<Value>(&text).is_ok();
            assert_eq!(read, depth <= STORED_NESTING_MAX, "depth {depth}");
        }
    }

    #[test]
    fn nesting_skips_strings_and_escapes() {
        let text = r#"{"a": "[[[{{\"\\", "b": [{"c": "]]]"}]}"#;
        assert_eq!(nesting(text.as_bytes()), 3);
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(nesting(&serde_json::to_vec(&value).unwrap()), 3);
    }
}
