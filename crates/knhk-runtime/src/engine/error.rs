//! Why the engine refused or failed an operation.

use knhk_kernel::{CommandError, CompileError, LaunchError, WorkItemId, WorkItemStatus};
use knhk_model::SpecProblem;

use crate::commit::CommitError;
use crate::store::{CaseId, StoreError};

/// Why an engine operation did not happen. Every refusal leaves the stored and the
/// in-memory state exactly as they were.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// No case has this id.
    #[error("no {0}")]
    UnknownCase(CaseId),
    /// A launch action was sent to a case that exists.
    #[error("{case} already exists")]
    CaseExists {
        /// The case.
        case: CaseId,
    },
    /// The case never had a work item with this id.
    #[error("{case} has no work item {}", work_item.0)]
    UnknownWorkItem {
        /// The case.
        case: CaseId,
        /// The id given.
        work_item: WorkItemId,
    },
    /// The work item has left the case (completed, failed, cancelled or withdrawn).
    #[error("work item {} of {case} is {status:?}: it has ended", work_item.0)]
    WorkItemEnded {
        /// The case.
        case: CaseId,
        /// The work item.
        work_item: WorkItemId,
        /// How it ended.
        status: WorkItemStatus,
    },
    /// No specification has this id (and version).
    #[error("no specification `{id}`{}", version.map(|v| format!(" version {v}")).unwrap_or_default())]
    UnknownSpec {
        /// The id given.
        id: String,
        /// The version given, if any.
        version: Option<u64>,
    },
    /// The specification breaks the model's rules.
    #[error("invalid specification: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidSpec {
        /// Every problem found.
        problems: Vec<SpecProblem>,
    },
    /// The specification's expressions do not compile.
    #[error("specification does not compile: {0}")]
    Compile(Box<CompileError>),
    /// The case could not be launched.
    #[error("cannot launch case: {0}")]
    Launch(Box<LaunchError>),
    /// The kernel refused the command. Boxed, as the kernel's errors carry expression
    /// text: refusals are the cold path, and every `Result` stays small.
    #[error("{case}: {source}")]
    Command {
        /// The case.
        case: CaseId,
        /// The kernel's reason.
        #[source]
        source: Box<CommandError>,
    },
    /// Another worker holds the work item's lease.
    #[error("work item {} of {case} is leased to worker `{worker}`", work_item.0)]
    LeaseHeld {
        /// The case.
        case: CaseId,
        /// The work item.
        work_item: WorkItemId,
        /// The worker holding it.
        worker: String,
    },
    /// The work item is offered to participants, and the one acting is not among them.
    #[error("work item {} of {case} is offered to other participants{}", work_item.0, participant.as_ref().map(|p| format!(" than `{p}`")).unwrap_or_default())]
    NotOffered {
        /// The case.
        case: CaseId,
        /// The work item.
        work_item: WorkItemId,
        /// Who tried, if anyone said.
        participant: Option<String>,
    },
    /// The work item is allocated to another participant.
    #[error("work item {} of {case} is allocated to `{participant}`", work_item.0)]
    Allocated {
        /// The case.
        case: CaseId,
        /// The work item.
        work_item: WorkItemId,
        /// Who it is allocated to.
        participant: String,
    },
    /// The worker's lease on the work item ran out; the item goes back to enabled.
    #[error("lease on work item {} of {case} expired at {expired_at_ms} ms", work_item.0)]
    LeaseExpired {
        /// The case.
        case: CaseId,
        /// The work item.
        work_item: WorkItemId,
        /// When it expired.
        expired_at_ms: u64,
    },
    /// A lease expiry for a work item whose lease has not run out (or that has none).
    #[error("work item {} of {case} has no expired lease", work_item.0)]
    NoExpiredLease {
        /// The case.
        case: CaseId,
        /// The work item.
        work_item: WorkItemId,
    },
    /// A request with a bad argument.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The commit failed; the command was not applied.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// Recovery found a log it cannot replay.
    #[error("recovery of {case}, record {seq}: {reason}")]
    Recovery {
        /// The case.
        case: CaseId,
        /// The record.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// A stored specification no longer reads or compiles.
    #[error("stored specification {id} version {version}: {reason}")]
    StoredSpec {
        /// The specification's id.
        id: String,
        /// The version.
        version: u64,
        /// What is wrong.
        reason: String,
    },
    /// A blocking store call could not run.
    #[error("store task failed: {0}")]
    Join(String),
    /// Registration would pass a cap on stored specifications.
    #[error("cannot register `{id}`: at most {max} {limit} may be stored")]
    SpecLimit {
        /// The specification id.
        id: String,
        /// Which cap: `specifications` or `versions of one specification`.
        limit: &'static str,
        /// The cap.
        max: usize,
    },
    /// The case's stored records cannot be loaded; it takes no commands.
    #[error("{} is quarantined: {}", .0.id, .0.reason)]
    Quarantined(Box<Quarantine>),
    /// Something in the engine or a library it calls panicked while acting on a case.
    /// The case was put back to its last acknowledged state (or failed, when the
    /// panic came from its own commands).
    #[error("internal error in {case}: {message}")]
    Internal {
        /// The case.
        case: CaseId,
        /// What panicked.
        message: String,
    },
    /// An entry or snapshot would nest deeper than the store can read back; nothing
    /// was written.
    #[error(
        "record {seq} of {case} nests {depth} levels deep, more than the {max} the store reads back"
    )]
    TooDeep {
        /// The case.
        case: CaseId,
        /// The record's sequence number.
        seq: u64,
        /// Its nesting depth.
        depth: usize,
        /// The most the store reads back.
        max: usize,
    },
}

/// A case whose stored records cannot be loaded (a record or snapshot that does not
/// decode or replay, or a specification version that no longer loads). The engine keeps
/// it aside, visible with its reason, and serves every other case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quarantine {
    /// The case.
    pub id: CaseId,
    /// The specification version it runs, when its records say.
    pub spec: Option<crate::entry::SpecRef>,
    /// The record at which loading failed.
    pub seq: u64,
    /// Why.
    pub reason: String,
}

impl EngineError {
    /// The kernel's reason, when the kernel refused a command.
    pub fn command_error(&self) -> Option<&CommandError> {
        match self {
            EngineError::Command { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<CompileError> for EngineError {
    fn from(e: CompileError) -> EngineError {
        EngineError::Compile(Box::new(e))
    }
}
