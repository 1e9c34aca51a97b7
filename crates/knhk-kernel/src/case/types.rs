//! The vocabulary of a case: ids, limits, states, work items, events and errors.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use knhk_model::ExprError;

/// A task's id as work items and events carry it: shared, so that handing it to an event
/// counts a reference instead of copying the string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(Arc<str>);

impl Deref for TaskId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TaskId {
    fn from(id: &str) -> Self {
        TaskId(Arc::from(id))
    }
}

impl From<String> for TaskId {
    fn from(id: String) -> Self {
        TaskId(Arc::from(id))
    }
}

impl From<TaskId> for String {
    fn from(id: TaskId) -> Self {
        id.0.to_string()
    }
}

impl PartialEq<str> for TaskId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for TaskId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for TaskId {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

/// Identifies a work item within its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkItemId(pub u64);

/// Identifies a net instance (the root net's, or a subnet's) within its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NetInstanceId(pub u32);

/// The root net instance of every case.
pub const ROOT_INSTANCE: NetInstanceId = NetInstanceId(0);

/// Bounds on the work one command may cause and on the data a case holds. Reaching a
/// work bound is an outcome, never a hang; data beyond its bound is refused.
///
/// Stored inside launch records and snapshots, so a field added later needs a serde
/// default that keeps old cases replaying as they ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Task firings (of empty and composite tasks, which run without anyone's command)
    /// one command may cause; past it the case fails with
    /// [`FailReason::StepBudgetExhausted`].
    pub steps_max: u32,
    /// Backward steps one OR-join analysis may take.
    pub or_join_work_max: u64,
    /// What an OR-join does when its analysis runs out of budget.
    pub or_join_fallback: OrJoinFallback,
    /// Instances one multiple-instance task may have.
    pub mi_instances_max: u32,
    /// How deeply subnets may nest (recursion depth).
    pub subnet_depth_max: u32,
    /// How deeply arrays and objects may nest in a net instance's data or a work item's
    /// data, counting the data object itself as 1 (`{"a": [1]}` nests 2 deep); default
    /// 32. Every value that enters data (launch data, variables' initial values, work item
    /// outputs, mapping results, multiple-instance elements and aggregates) is checked as
    /// it enters, and a command that would go past the bound is refused with
    /// [`CommandError::DataTooDeep`]. At most [`Limits::DATA_DEPTH_CEILING`].
    ///
    /// Launch records stored before this field existed read as
    /// [`Limits::DATA_DEPTH_CEILING`] (100): those cases ran with no bound, and the ceiling
    /// refuses nothing that their snapshots could have stored and read back.
    #[serde(default = "data_depth_max_of_old_records")]
    pub data_depth_max: u32,
}

impl Limits {
    /// The largest `data_depth_max` the runtime accepts. serde_json reads at most 128
    /// nested levels, and a stored record wraps a case's data in about ten levels of its
    /// own (entry, action, snapshot, net instance, slot, ...), so data deeper than this
    /// could be written but never read back.
    pub const DATA_DEPTH_CEILING: u32 = 100;
}

/// `data_depth_max` for a record stored before the field existed.
fn data_depth_max_of_old_records() -> u32 {
    Limits::DATA_DEPTH_CEILING
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            steps_max: 10_000,
            // Each backward step scans the basis, so cost grows faster than the
            // budget: 10,000 steps decide the corpus's OR-joins in microseconds and
            // bound a hopeless analysis to well under a second (docs/BENCHMARKS.md).
            or_join_work_max: 10_000,
            or_join_fallback: OrJoinFallback::Wait,
            mi_instances_max: 10_000,
            subnet_depth_max: 64,
            // The HTTP server's default for request bodies, so that what it accepts, a
            // case can hold.
            data_depth_max: 32,
        }
    }
}

/// What an OR-join does when its analysis cannot decide within the budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrJoinFallback {
    /// Treat it as not enabled: it waits, and is tried again after the next change. If
    /// nothing else can happen the case is reported deadlocked, naming its places.
    #[default]
    Wait,
    /// Treat it as enabled: it fires with the tokens it has.
    Fire,
}

/// Where a case is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum CaseState {
    /// Work can happen.
    Running,
    /// Commands on work items are refused until the case is resumed.
    Suspended,
    /// The root net reached its end.
    Completed,
    /// The case was cancelled.
    Cancelled,
    /// Tokens remain but nothing can ever happen again.
    Deadlocked {
        /// The marked places of every net instance.
        stuck: Vec<StuckPlace>,
    },
    /// The case cannot go on.
    Failed {
        /// Why.
        reason: FailReason,
    },
}

impl CaseState {
    /// The state's name as the API reports it.
    pub fn name(&self) -> &'static str {
        match self {
            CaseState::Running => "running",
            CaseState::Suspended => "suspended",
            CaseState::Completed => "completed",
            CaseState::Cancelled => "cancelled",
            CaseState::Deadlocked { .. } => "deadlocked",
            CaseState::Failed { .. } => "failed",
        }
    }

    /// Whether the case has ended for good.
    pub fn is_final(&self) -> bool {
        !matches!(self, CaseState::Running | CaseState::Suspended)
    }
}

/// A place holding tokens in a deadlocked case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckPlace {
    /// The net instance.
    pub net_instance: NetInstanceId,
    /// The net's id.
    pub net: String,
    /// The place's id.
    pub place: String,
    /// Its tokens.
    pub tokens: u32,
}

/// Why a case failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FailReason {
    /// A started work item went back to enabled (its worker let it go, or its lease
    /// expired); it waits to be started again.
    WorkItemReleased {
        /// The work item.
        work_item: WorkItemId,
    },
    /// A started work item was suspended.
    WorkItemSuspended {
        /// The work item.
        work_item: WorkItemId,
    },
    /// A suspended work item was resumed: it is started again.
    WorkItemResumed {
        /// The work item.
        work_item: WorkItemId,
    },
    /// A work item was failed.
    WorkItemFailed {
        /// The work item.
        work_item: WorkItemId,
        /// Its task.
        task: String,
        /// What its worker said.
        message: String,
    },
    /// Empty or composite tasks kept firing past [`Limits::steps_max`] within one
    /// command: an endless loop of routing tasks.
    StepBudgetExhausted {
        /// The budget.
        steps: u32,
    },
    /// The runtime failed the case ([`Command::FailCase`]): an expression, library panic
    /// or budget failure outside any command a client can correct.
    Aborted {
        /// What the runtime said.
        message: String,
    },
}

/// The status of a work item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkItemStatus {
    /// Offered: may be started.
    Enabled,
    /// Being worked on.
    Started,
    /// Started, then put on hold: it cannot be completed until resumed.
    Suspended,
    /// Done.
    Completed,
    /// Its worker gave up.
    Failed,
    /// Removed by a cancellation (cancellation set, cancel task or case).
    Cancelled,
    /// Removed because its task is no longer enabled or no longer needs it (deferred
    /// choice lost, threshold reached, net ended).
    Withdrawn,
}

/// What a live work item stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "role")]
pub enum WorkItemRole {
    /// The offer of an enabled task: starting it fires the task.
    Offer,
    /// One instance of a busy task.
    Instance {
        /// The instance's position among the task's instances.
        slot: u32,
    },
    /// An instance that runs on after its multiple-instance task exited (remainder
    /// `continue`): its completion merges data but moves no token.
    Detached,
}

/// A live work item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItem {
    /// Its id.
    pub id: WorkItemId,
    /// The net instance its task belongs to.
    pub net_instance: NetInstanceId,
    /// The task's id.
    pub task: TaskId,
    /// Enabled or started.
    pub status: WorkItemStatus,
    /// Its role.
    pub role: WorkItemRole,
    /// The data the work sees.
    pub data: Value,
    pub(crate) task_ix: u32,
}

/// Something that happened to a case: the outcome of a command, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// A net instance started.
    NetStarted {
        /// The instance.
        net_instance: NetInstanceId,
        /// The net.
        net: String,
        /// The composite task instance that runs it, if it is a subnet.
        parent: Option<(NetInstanceId, String)>,
    },
    /// A task fired: consumed its tokens and created its instances.
    TaskFired {
        /// The net instance.
        net_instance: NetInstanceId,
        /// The task.
        task: TaskId,
        /// How many instances.
        instances: u32,
    },
    /// A task completed: its split produced tokens.
    TaskCompleted {
        /// The net instance.
        net_instance: NetInstanceId,
        /// The task.
        task: TaskId,
    },
    /// A busy task was cancelled.
    TaskCancelled {
        /// The net instance.
        net_instance: NetInstanceId,
        /// The task.
        task: TaskId,
    },
    /// A cancellation set removed tokens from a place.
    TokensRemoved {
        /// The net instance.
        net_instance: NetInstanceId,
        /// The place.
        place: String,
        /// How many.
        tokens: u32,
    },
    /// A work item was offered.
    WorkItemEnabled {
        /// The work item.
        work_item: WorkItemId,
        /// The net instance.
        net_instance: NetInstanceId,
        /// The task.
        task: TaskId,
    },
    /// A work item was started.
    WorkItemStarted {
        /// The work item.
        work_item: WorkItemId,
    },
    /// A work item was completed.
    WorkItemCompleted {
        /// The work item.
        work_item: WorkItemId,
    },
    /// A started work item went back to enabled (its worker let it go, or its lease
    /// expired); it waits to be started again.
    WorkItemReleased {
        /// The work item.
        work_item: WorkItemId,
    },
    /// A started work item was suspended.
    WorkItemSuspended {
        /// The work item.
        work_item: WorkItemId,
    },
    /// A suspended work item was resumed: it is started again.
    WorkItemResumed {
        /// The work item.
        work_item: WorkItemId,
    },
    /// A work item was failed.
    WorkItemFailed {
        /// The work item.
        work_item: WorkItemId,
    },
    /// A work item was removed without completing.
    WorkItemWithdrawn {
        /// The work item.
        work_item: WorkItemId,
        /// Withdrawn or cancelled.
        status: WorkItemStatus,
    },
    /// A work item's timer was armed; the runtime delivers its expiry.
    TimerArmed {
        /// The work item.
        work_item: WorkItemId,
        /// Expires this long after now.
        duration_ms: Option<u64>,
        /// Expires at this instant (ms since the Unix epoch).
        expiry_ms: Option<u64>,
    },
    /// A signal reached the case.
    SignalReceived {
        /// The signal.
        name: String,
        /// The tasks that took it (transient triggers not waiting lose it).
        taken_by: Vec<String>,
    },
    /// An OR-join's analysis ran out of budget and the fallback decided.
    OrJoinUndecided {
        /// The net instance.
        net_instance: NetInstanceId,
        /// The OR-join task.
        task: TaskId,
    },
    /// A net instance ended.
    NetCompleted {
        /// The instance.
        net_instance: NetInstanceId,
    },
    /// The case changed state (completed, cancelled, deadlocked, failed, suspended,
    /// resumed).
    CaseStateChanged {
        /// The new state.
        state: CaseState,
    },
}

/// A command on a running case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    /// Start an enabled work item (for an offer, this fires the task).
    StartWorkItem {
        /// The work item.
        work_item: WorkItemId,
    },
    /// Complete a started work item with output data (an object).
    CompleteWorkItem {
        /// The work item.
        work_item: WorkItemId,
        /// The output.
        output: Value,
    },
    /// Return a started work item to enabled, so that it can be started again. Only an
    /// instance of a busy task can go back: an offer that was started has fired its task.
    ReleaseWorkItem {
        /// The work item.
        work_item: WorkItemId,
    },
    /// Put a started work item on hold.
    SuspendWorkItem {
        /// The work item.
        work_item: WorkItemId,
    },
    /// Resume a suspended work item.
    ResumeWorkItem {
        /// The work item.
        work_item: WorkItemId,
    },
    /// Fail a live work item; the case fails.
    FailWorkItem {
        /// The work item.
        work_item: WorkItemId,
        /// Why.
        message: String,
    },
    /// Cancel a busy task: its instances are cancelled and its consumed tokens are gone.
    CancelTask {
        /// The net instance.
        net_instance: NetInstanceId,
        /// The task.
        task: String,
    },
    /// Force a busy multiple-instance task to exit now (WCP 27).
    CompleteTask {
        /// The net instance.
        net_instance: NetInstanceId,
        /// The task.
        task: String,
    },
    /// Add an instance to a busy dynamic multiple-instance task (WCP 15).
    AddInstance {
        /// The net instance.
        net_instance: NetInstanceId,
        /// The task.
        task: String,
        /// The new instance's element (bound like one element of the split).
        data: Value,
    },
    /// Deliver a signal to the case's triggered tasks (WCP 23, 24).
    Signal {
        /// The signal's name.
        name: String,
    },
    /// A work item's timer expired.
    TimerExpired {
        /// The work item.
        work_item: WorkItemId,
    },
    /// Cancel the whole case (WCP 20).
    CancelCase,
    /// Suspend the case.
    SuspendCase,
    /// Resume a suspended case.
    ResumeCase,
    /// Fail a running or suspended case, as the runtime does when the case cannot go on
    /// for a reason no client command can correct (an expression library panic, a budget
    /// spent outside a command). Live work is withdrawn, and the case ends with
    /// [`FailReason::Aborted`]. Stored like every command, so replay fails the case again.
    FailCase {
        /// Why.
        message: String,
    },
}

/// Why a command was refused. A refused command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The case has ended or is suspended.
    #[error("case is {state}")]
    CaseNotRunning {
        /// The case's state.
        state: &'static str,
    },
    /// The case is not suspended.
    #[error("case is {state}, not suspended")]
    CaseNotSuspended {
        /// The case's state.
        state: &'static str,
    },
    /// No live work item has this id.
    #[error("no live work item {0:?}")]
    UnknownWorkItem(WorkItemId),
    /// Only an enabled work item can be started.
    #[error("work item {work_item:?} is {status:?}, not enabled")]
    NotEnabled {
        /// The work item.
        work_item: WorkItemId,
        /// Its status.
        status: WorkItemStatus,
    },
    /// Only a started work item can be completed.
    #[error("work item {work_item:?} is {status:?}, not started")]
    NotStarted {
        /// The work item.
        work_item: WorkItemId,
        /// Its status.
        status: WorkItemStatus,
    },
    /// Only a suspended work item can be resumed.
    #[error("work item {work_item:?} is {status:?}, not suspended")]
    NotSuspended {
        /// The work item.
        work_item: WorkItemId,
        /// Its status.
        status: WorkItemStatus,
    },
    /// Output data does not fit the task's declared outputs.
    #[error("output of work item {work_item:?} (task `{task}`): {reason}")]
    InvalidOutput {
        /// The work item.
        work_item: WorkItemId,
        /// Its task.
        task: String,
        /// What is wrong.
        reason: String,
    },
    /// The work item has no armed timer to expire.
    #[error("work item {work_item:?} has no armed timer")]
    NoTimer {
        /// The work item.
        work_item: WorkItemId,
    },
    /// No live net instance has this id.
    #[error("no live net instance {0:?}")]
    UnknownNetInstance(NetInstanceId),
    /// The net has no task with this id.
    #[error("net `{net}` has no task `{task}`")]
    UnknownTask {
        /// The net.
        net: String,
        /// The id given.
        task: String,
    },
    /// The task is not running.
    #[error("task `{task}` is not busy")]
    TaskNotBusy {
        /// The task.
        task: String,
    },
    /// The task is not multiple-instance, or not dynamic, as the command needs.
    #[error("task `{task}` is not a {needed} multiple-instance task")]
    NotMultipleInstance {
        /// The task.
        task: String,
        /// `dynamic` or empty.
        needed: &'static str,
    },
    /// An instance count outside the task's bounds.
    #[error("task `{task}`: {count} instances, outside [{min}, {max}]")]
    InstanceCount {
        /// The task.
        task: String,
        /// The count asked for.
        count: u64,
        /// Fewest allowed.
        min: u32,
        /// Most allowed.
        max: u32,
    },
    /// A flow predicate failed or gave a non-boolean.
    #[error("net `{net}`: predicate `{expression}` of flow {from} -> {to}: {message}")]
    Predicate {
        /// The net.
        net: String,
        /// The flow's source task.
        from: String,
        /// The flow's target.
        to: String,
        /// The predicate's source.
        expression: String,
        /// What went wrong.
        message: String,
    },
    /// Another expression of a task failed or gave a value of the wrong type.
    #[error("net `{net}`: task `{task}`: {what}: {message}")]
    Expression {
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// Which expression.
        what: String,
        /// What went wrong.
        message: String,
    },
    /// The expression library failed in itself (it panicked, and the panic was
    /// caught) on one of a task's expressions or predicates: nothing the command can
    /// correct. The runtime fails the case with this reason.
    #[error("net `{net}`: task `{task}`: {what}: {message}")]
    ExpressionLibrary {
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// Which expression.
        what: String,
        /// What the library said.
        message: String,
    },
    /// Subnets nest deeper than [`Limits::subnet_depth_max`].
    #[error("task `{task}`: subnets nest deeper than {depth_max}")]
    SubnetDepth {
        /// The composite task.
        task: String,
        /// The limit.
        depth_max: u32,
    },
    /// Data would nest deeper than [`Limits::data_depth_max`]: the command (or launch)
    /// is refused and nothing changes.
    #[error("net `{net}`: {}{what} would nest {depth} levels deep, more than {max}", in_task(.task))]
    DataTooDeep {
        /// The net whose data (or whose task's work item data) it is.
        net: String,
        /// The task, if the data comes from or goes to one.
        task: Option<String>,
        /// Which value: `output`, `output mapping `x``, `input mapping `x``,
        /// `multiple-instance element`, `multiple-instance aggregate `x``, `launch data
        /// field `x``, `initial value of `v``.
        what: String,
        /// How deep the data it enters would nest, counting the data object as 1.
        depth: u32,
        /// [`Limits::data_depth_max`].
        max: u32,
    },
}

/// `task `t`: ` before a problem about a task's data.
fn in_task(task: &Option<String>) -> String {
    task.as_ref()
        .map(|task| format!("task `{task}`: "))
        .unwrap_or_default()
}

impl CommandError {
    pub(crate) fn expression(net: &str, task: &str, what: &str, error: ExprError) -> Self {
        let (net, task, what) = (net.to_owned(), task.to_owned(), what.to_owned());
        let message = error.to_string();
        match error {
            ExprError::Internal { .. } => CommandError::ExpressionLibrary {
                net,
                task,
                what,
                message,
            },
            _ => CommandError::Expression {
                net,
                task,
                what,
                message,
            },
        }
    }
}

/// Why a case could not be launched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// Launch data must be a JSON object.
    #[error("case data must be a JSON object")]
    DataNotObject,
    /// A launch value does not have its variable's declared type.
    #[error("variable `{variable}` must be of type {expected:?}")]
    VariableType {
        /// The variable.
        variable: String,
        /// Its declared type.
        expected: knhk_model::DataType,
    },
    /// Running the case's first steps failed.
    #[error(transparent)]
    Command(#[from] CommandError),
}
