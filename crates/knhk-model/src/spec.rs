//! The specification types. Field docs here are the reference for the JSON format.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A workflow specification: a set of nets, one of which is the root that a case runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Specification {
    /// The specification's identifier (YAWL's `uri`).
    pub id: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The specification's version, as its author numbers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    /// The id of the net a case starts in.
    pub root_net: String,
    /// Every net: the root and the subnets that composite tasks decompose to.
    pub nets: Vec<Net>,
}

/// A workflow net: places (conditions) and transitions (tasks) joined by flows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Net {
    /// Unique within the specification.
    pub id: String,
    /// Where a net instance starts: it holds one token at launch.
    pub input_condition: Condition,
    /// A token here completes the net instance.
    pub output_condition: Condition,
    /// The other explicit conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    /// The arcs. An arc from a task to a task goes through an implicit condition named
    /// `c{source_target}`, as YAWL names it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<Flow>,
    /// Net variables: the fields of the net instance's data, with initial values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    /// When a net instance is finished.
    #[serde(default, skip_serializing_if = "is_default")]
    pub termination: Termination,
}

/// When a net instance ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// YAWL's rule (WCP 43): the first token in the output condition ends the net
    /// instance, and any work left is withdrawn.
    #[default]
    Explicit,
    /// WCP 11: the net instance ends when nothing is enabled or running any more; a
    /// token in the output condition does not cut other branches short, and tokens left
    /// in places that can never enable anything are cleared rather than reported as a
    /// deadlock.
    Implicit,
}

/// A place that holds tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Unique among the conditions and tasks of its net.
    pub id: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How a task synchronises its incoming branches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinCode {
    /// Every preset condition must hold a token; one is consumed from each.
    And,
    /// Any preset condition holding a token enables the task; one token is consumed.
    #[default]
    Xor,
    /// YAWL's non-local OR-join: enabled when some preset condition is marked and no
    /// empty one can still receive a token.
    Or,
}

/// How a task routes control to its outgoing branches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitCode {
    /// Every outgoing flow gets a token.
    #[default]
    And,
    /// The first flow (by ordering, default last) whose predicate holds.
    Xor,
    /// Every flow whose predicate holds; the default if none does.
    Or,
}

/// What a task does when it runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A routing task: fires and completes at once, with no work item.
    #[default]
    Empty,
    /// Work done outside the engine, by a person or a worker, through work items.
    Atomic,
    /// Runs a subnet (`net`) and completes when the subnet does.
    Composite,
}

/// A transition of the net.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique among the conditions and tasks of its net.
    pub id: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Empty, atomic or composite.
    #[serde(default, skip_serializing_if = "is_default")]
    pub kind: TaskKind,
    /// The join code (default `xor`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub join: JoinCode,
    /// The split code (default `and`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub split: SplitCode,
    /// For a composite task: the net it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<String>,
    /// For an atomic task: the service that runs it, so that automated workers can claim
    /// its work by service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Declared input parameters of the work.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Parameter>,
    /// Declared output parameters: completion data is checked against them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Parameter>,
    /// Builds the work's input data from net data. With none, the work sees all net data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_mappings: Vec<Mapping>,
    /// Writes net variables from the work's output (bound as `output`). With none, the
    /// output object's fields are merged into the net data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_mappings: Vec<Mapping>,
    /// YAWL's data rule: the work sees only what the input mappings give, and only the
    /// output mappings write net data; with no mappings, nothing passes either way (a
    /// subnet then starts from its own variables' initial values). Off by default, so
    /// that a task without mappings sees and returns all net data. The YAWL import sets
    /// it on every task with work.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mappings_only: bool,
    /// Makes the task multiple-instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiple_instance: Option<MultipleInstance>,
    /// Conditions and tasks of the same net cleared when this task completes (YAWL's
    /// `removesTokens`; an implicit condition is named `c{source_target}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancellation_set: Vec<String>,
    /// A timer on the task's work items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<Timer>,
    /// Turns an AND-join into an N-out-of-M join (WCP 9, 28-32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_join: Option<PartialJoin>,
    /// The task also waits for a named signal (WCP 23, 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// Thread merge (WCP 41): the task needs, and consumes, this many tokens from each
    /// preset condition it consumes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_merge: Option<u32>,
    /// Thread split (WCP 42): each chosen outgoing flow gets this many tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_split: Option<u32>,
}

/// A declared parameter of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// The field name in the work's data.
    pub name: String,
    /// The JSON type its value must have.
    #[serde(rename = "type", default, skip_serializing_if = "is_default")]
    pub data_type: DataType,
    /// Whether the field may be absent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Any JSON value.
    #[default]
    Any,
    /// A string.
    String,
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// An object.
    Object,
    /// An array.
    Array,
}

impl DataType {
    /// Whether `value` has this type.
    pub fn admits(self, value: &Value) -> bool {
        match self {
            DataType::Any => true,
            DataType::String => value.is_string(),
            DataType::Number => value.is_number(),
            DataType::Integer => value.is_i64() || value.is_u64(),
            DataType::Boolean => value.is_boolean(),
            DataType::Object => value.is_object(),
            DataType::Array => value.is_array(),
        }
    }
}

/// `to = expression`: one field computed from an expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The field written.
    pub to: String,
    /// The expression computing its value.
    pub expression: String,
}

/// An arc of the net.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// The source element (condition or task).
    pub from: String,
    /// The target element (condition or task).
    pub to: String,
    /// For XOR and OR splits: when the flow is taken (a boolean expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// For XOR splits: the order predicates are tried in (lowest first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<u32>,
    /// For XOR and OR splits: the flow taken when no predicate holds.
    #[serde(default, skip_serializing_if = "is_false")]
    pub default: bool,
}

/// A net variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// The field name in the net data.
    pub name: String,
    /// The JSON type its value must have.
    #[serde(rename = "type", default, skip_serializing_if = "is_default")]
    pub data_type: DataType,
    /// Its value when the net instance starts, unless launch data gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<Value>,
}

/// Multiple-instance attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultipleInstance {
    /// The fewest instances; a split giving fewer is an error.
    pub min: u32,
    /// The most instances (absent: unbounded); a split giving more is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// How many completed instances let the task exit (absent: all of them); the task
    /// also exits when every instance has completed, as in YAWL. `0` means the task
    /// exits as soon as its instances are created (WCP 12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    /// Whether instances may be added while the task runs.
    #[serde(default, skip_serializing_if = "is_default")]
    pub creation: CreationMode,
    /// An expression giving an array: one instance per element. Absent: `min`
    /// instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// The field under which each instance's data receives its element (default
    /// `item`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// A boolean expression evaluated after each instance completes, with `completed`,
    /// `active` and `outputs` bound: when it holds the task exits (WCP 36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<String>,
    /// What becomes of unfinished instances when the task exits.
    #[serde(default, skip_serializing_if = "is_default")]
    pub remainder: Remainder,
    /// A net variable that receives the array of completed instances' outputs, in
    /// instance order, when the task exits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<String>,
}

/// Whether instances of an MI task may be added at run time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreationMode {
    /// All instances are created when the task fires.
    #[default]
    Static,
    /// Instances may be added while the task runs, up to `max` (WCP 15).
    Dynamic,
}

/// What becomes of an MI task's unfinished instances when it exits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Remainder {
    /// They are withdrawn (YAWL's behaviour, WCP 35).
    #[default]
    Cancel,
    /// They run on to completion without affecting control flow (WCP 12, 34).
    Continue,
}

/// A timer on a task's work items. The kernel reports when it is armed and disarmed;
/// the runtime keeps time and delivers the expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timer {
    /// When the timer starts.
    pub trigger: TimerTrigger,
    /// Expires this long after the trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Expires at this instant (milliseconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_ms: Option<u64>,
    /// What expiry does to the work item.
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_expiry: TimerAction,
}

/// When a task timer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerTrigger {
    /// When the work item is enabled.
    OnEnabled,
    /// When the work item is started.
    OnExecuting,
}

/// What a timer's expiry does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerAction {
    /// The work item completes with the data it has (an enabled one is started first).
    #[default]
    Complete,
    /// The work item fails.
    Fail,
}

/// An N-out-of-M join over an AND-join's preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialJoin {
    /// How many distinct branches must arrive before the task fires (1 for a
    /// discriminator).
    pub required: u32,
    /// What happens to the branches that arrive later.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mode: PartialJoinMode,
}

/// What a partial join does with the branches that arrive after it fired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartialJoinMode {
    /// Later arrivals are absorbed until every branch has arrived once, then the join
    /// resets; a second arrival on a branch before the reset waits (WCP 9, 28, 30, 31).
    #[default]
    Blocking,
    /// The join resets as soon as it fires; the other branches are expected to be in
    /// the task's cancellation set, which clears them when it completes (WCP 29, 32).
    Cancelling,
}

/// A task that also waits for a named signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The signal's name.
    pub signal: String,
    /// Whether a signal that arrives before the task is ready waits for it (WCP 24)
    /// or is lost (WCP 23).
    #[serde(default, skip_serializing_if = "is_false")]
    pub persistent: bool,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Specification {
    /// The net with this id.
    pub fn net(&self, id: &str) -> Option<&Net> {
        self.nets.iter().find(|net| net.id == id)
    }
}

impl Net {
    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|task| task.id == id)
    }

    /// Every condition: input, output, then the others in order.
    pub fn all_conditions(&self) -> impl Iterator<Item = &Condition> {
        [&self.input_condition, &self.output_condition]
            .into_iter()
            .chain(&self.conditions)
    }
}
