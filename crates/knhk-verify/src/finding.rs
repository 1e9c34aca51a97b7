//! What verification reports: [`Finding`]s, each naming the net, the element and the
//! [`Rule`] broken, with a readable [`fmt::Display`] and a JSON form ([`Serialize`]).
//!
//! A finding does not carry its severity: the [`crate::Report`] keeps errors and
//! warnings in separate lists, and the rule's default severity is
//! [`Rule::severity`] (soundness violations move to the errors when the options ask
//! to reject unsound nets).

use std::fmt;

use serde::{Serialize, Serializer};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The specification is rejected.
    Error,
    /// The specification is accepted, but something is probably wrong.
    Warning,
}

/// The element of a net a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Element {
    /// A condition: the input or output condition, an explicit one, or an implicit
    /// `c{source_target}`.
    Condition {
        /// Its id.
        id: String,
    },
    /// A task.
    Task {
        /// Its id.
        id: String,
    },
    /// An arc.
    Flow {
        /// The source element.
        from: String,
        /// The target element.
        to: String,
    },
    /// A decomposition of an imported YAWL file that is not a net (a task body).
    Decomposition {
        /// Its id.
        id: String,
    },
    /// A net variable.
    Variable {
        /// Its name.
        name: String,
    },
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Element::Condition { id } => write!(f, "condition `{id}`"),
            Element::Task { id } => write!(f, "task `{id}`"),
            Element::Flow { from, to } => write!(f, "flow `{from}` -> `{to}`"),
            Element::Decomposition { id } => write!(f, "decomposition `{id}`"),
            Element::Variable { name } => write!(f, "variable `{name}`"),
        }
    }
}

/// One step of a counterexample: a task starting, completing, or (for an empty task,
/// which completes as it fires) running, or a partial join absorbing late branches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Firing {
    /// The task.
    pub task: String,
    /// What it did.
    #[serde(flatten)]
    pub action: Action,
}

/// What a task did in one step of a counterexample.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The task fired and is now busy (its work, instances or subnet run).
    Start {
        /// For an XOR-join with several preset places: the place it took its token
        /// from.
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// The busy task completed, putting tokens in these places.
    Complete {
        /// The places of the branches taken.
        to: Vec<String>,
    },
    /// The empty task fired and completed in one step, putting tokens in these places.
    Run {
        /// For an XOR-join with several preset places: the place it took its token
        /// from.
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// The places of the branches taken.
        to: Vec<String>,
    },
    /// The fired blocking partial join absorbed the tokens of late branches.
    Absorb,
}

impl fmt::Display for Firing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let task = &self.task;
        match &self.action {
            Action::Start { from: None } => write!(f, "start {task}"),
            Action::Start { from: Some(from) } => write!(f, "start {task} (from {from})"),
            Action::Complete { to } => write!(f, "complete {task} (to {})", list(to)),
            Action::Run { from, to } => {
                write!(f, "run {task}")?;
                if let Some(from) = from {
                    write!(f, " (from {from})")?;
                }
                write!(f, " (to {})", list(to))
            }
            Action::Absorb => write!(f, "absorb {task}"),
        }
    }
}

/// Tokens left in a place.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Tokens {
    /// The place (condition id, `c{a_b}` for an implicit one).
    pub place: String,
    /// How many tokens.
    pub count: u32,
}

impl fmt::Display for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 1 {
            f.write_str(&self.place)
        } else {
            write!(f, "{}x{}", self.place, self.count)
        }
    }
}

/// A state of a net reached by a counterexample: the tokens and the busy tasks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct NetState {
    /// The marked places in place order.
    pub tokens: Vec<Tokens>,
    /// The busy tasks in task order.
    pub busy: Vec<String>,
}

impl fmt::Display for NetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tokens in [{}]", list(&self.tokens))?;
        if !self.busy.is_empty() {
            write!(f, ", busy [{}]", list(&self.busy))?;
        }
        Ok(())
    }
}

/// Why the soundness of a net could not be decided.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum UnknownReason {
    /// The net has more reachable states than the budget allows.
    StatesBudget {
        /// The budget.
        states_max: usize,
    },
    /// An OR-join's analysis ran out of its work budget.
    OrJoinBudget {
        /// The OR-join.
        task: String,
    },
    /// An OR-split has too many optional branches to enumerate its choices.
    SplitTooWide {
        /// The task.
        task: String,
        /// Its optional branches.
        branches: usize,
    },
    /// A blocking partial join has too many incoming branches to track.
    PartialJoinTooWide {
        /// The task.
        task: String,
    },
    /// The verification was interrupted (it ran past its caller's time budget).
    Interrupted,
}

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnknownReason::StatesBudget { states_max } => {
                write!(f, "more than {states_max} reachable states (the budget)")
            }
            UnknownReason::OrJoinBudget { task } => {
                write!(
                    f,
                    "the OR-join analysis of `{task}` ran out of its work budget"
                )
            }
            UnknownReason::SplitTooWide { task, branches } => write!(
                f,
                "the OR-split of `{task}` has {branches} optional branches, too many to enumerate"
            ),
            UnknownReason::PartialJoinTooWide { task } => write!(
                f,
                "the partial join of `{task}` has more incoming branches than the analysis tracks"
            ),
            UnknownReason::Interrupted => f.write_str("the exploration ran out of time"),
        }
    }
}

/// A rule of verification, with what a finding under it needs to say.
///
/// The first group mirrors the model's structural problems
/// ([`knhk_model::SpecProblem`]), the second YAWL's verification rules
/// (yawl-reference §1), the third soundness. `docs/verification.md` lists every rule
/// with its message and severity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// The specification has no nets.
    NoNets,
    /// The root net named does not exist.
    MissingRootNet,
    /// Two nets share an id.
    DuplicateNet,
    /// Two elements of a net share an id.
    DuplicateElement,
    /// An element has an empty id.
    EmptyId,
    /// A flow names an element that does not exist.
    DanglingFlow {
        /// The unknown id.
        missing: String,
    },
    /// The same arc is listed twice.
    DuplicateFlow,
    /// An arc joins two conditions.
    ConditionToCondition,
    /// An arc enters the input condition.
    FlowIntoInput,
    /// An arc leaves the output condition.
    FlowOutOfOutput,
    /// A flow carries an attribute its source does not allow.
    BadFlow {
        /// What is wrong.
        reason: String,
    },
    /// A task's outgoing flows break its split's rules.
    BadSplit {
        /// What is wrong.
        reason: String,
    },
    /// A task is inconsistent in itself.
    BadTask {
        /// What is wrong.
        reason: String,
    },
    /// A composite task names a net that does not exist.
    MissingSubnet {
        /// The unknown net.
        target: String,
    },
    /// A cancellation set names something outside the task's net.
    BadCancellationMember {
        /// The unknown member.
        member: String,
    },
    /// Multiple-instance attributes out of bounds.
    BadMultipleInstance {
        /// What is wrong.
        reason: String,
    },
    /// A variable is declared twice or has an initial value of the wrong type.
    BadVariable {
        /// What is wrong.
        reason: String,
    },
    /// Another structural problem found by the model's validation.
    Structure {
        /// The model's message.
        message: String,
    },

    /// The input condition has incoming flows.
    InputHasPreset {
        /// The elements flowing into it.
        preset: Vec<String>,
    },
    /// The output condition has outgoing flows.
    OutputHasPostset {
        /// The elements it flows into.
        postset: Vec<String>,
    },
    /// The element cannot be reached from the input condition.
    NotOnForwardPath,
    /// The output condition cannot be reached from the element.
    NotOnBackwardPath,
    /// A flow of an XOR-split with several flows has neither an ordering nor the
    /// default flag: it is tried after the ordered flows, in specification order.
    XorFlowWithoutOrdering,
    /// A flow of an OR-split has an ordering, which an OR-split ignores.
    OrFlowWithOrdering,
    /// No composite task reachable from the root net runs this net.
    UnusedNet,
    /// A decomposition of an imported file that no task uses (reported by importers).
    UnusedDecomposition,
    /// A path from the input to the output condition passes empty tasks only.
    EmptyExecutionPath,
    /// The task lies on a cycle of empty and composite tasks that creates no work.
    EmptyTaskLoop,
    /// The file could not be read as a specification (reported by the caller that
    /// read it: a syntax error, or an importer's refusal).
    Read {
        /// The reader's message.
        message: String,
    },
    /// A warning from the importer that read the file.
    Import {
        /// The importer's message.
        message: String,
    },

    /// From some reachable state the net can no longer complete.
    NoOptionToComplete {
        /// A shortest firing sequence from launch to such a state.
        firings: Vec<Firing>,
        /// The state reached.
        state: NetState,
        /// Whether that state is a deadlock (nothing can happen any more).
        deadlock: bool,
    },
    /// The net can complete with tokens left or tasks still busy.
    ImproperCompletion {
        /// A shortest firing sequence from launch to such a completion.
        firings: Vec<Firing>,
        /// What is left besides the token in the output condition.
        left: NetState,
    },
    /// The task can never fire.
    DeadTask,
    /// The net's soundness could not be decided.
    SoundnessUnknown {
        /// Why.
        #[serde(flatten)]
        reason: UnknownReason,
        /// The states explored.
        states: usize,
    },
}

impl Rule {
    /// The severity of a finding under this rule, before options move soundness
    /// violations to the errors.
    pub fn severity(&self) -> Severity {
        match self {
            Rule::XorFlowWithoutOrdering
            | Rule::OrFlowWithOrdering
            | Rule::UnusedNet
            | Rule::UnusedDecomposition
            | Rule::EmptyExecutionPath
            | Rule::EmptyTaskLoop
            | Rule::Import { .. }
            | Rule::NoOptionToComplete { .. }
            | Rule::ImproperCompletion { .. }
            | Rule::DeadTask
            | Rule::SoundnessUnknown { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Whether the rule is a soundness property (its violations become errors when the
    /// options reject unsound nets).
    pub fn is_soundness_violation(&self) -> bool {
        matches!(
            self,
            Rule::NoOptionToComplete { .. } | Rule::ImproperCompletion { .. } | Rule::DeadTask
        )
    }

    /// The rule's name in the JSON form (`not_on_backward_path`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Rule::NoNets => "no_nets",
            Rule::MissingRootNet => "missing_root_net",
            Rule::DuplicateNet => "duplicate_net",
            Rule::DuplicateElement => "duplicate_element",
            Rule::EmptyId => "empty_id",
            Rule::DanglingFlow { .. } => "dangling_flow",
            Rule::DuplicateFlow => "duplicate_flow",
            Rule::ConditionToCondition => "condition_to_condition",
            Rule::FlowIntoInput => "flow_into_input",
            Rule::FlowOutOfOutput => "flow_out_of_output",
            Rule::BadFlow { .. } => "bad_flow",
            Rule::BadSplit { .. } => "bad_split",
            Rule::BadTask { .. } => "bad_task",
            Rule::MissingSubnet { .. } => "missing_subnet",
            Rule::BadCancellationMember { .. } => "bad_cancellation_member",
            Rule::BadMultipleInstance { .. } => "bad_multiple_instance",
            Rule::BadVariable { .. } => "bad_variable",
            Rule::Structure { .. } => "structure",
            Rule::InputHasPreset { .. } => "input_has_preset",
            Rule::OutputHasPostset { .. } => "output_has_postset",
            Rule::NotOnForwardPath => "not_on_forward_path",
            Rule::NotOnBackwardPath => "not_on_backward_path",
            Rule::XorFlowWithoutOrdering => "xor_flow_without_ordering",
            Rule::OrFlowWithOrdering => "or_flow_with_ordering",
            Rule::UnusedNet => "unused_net",
            Rule::UnusedDecomposition => "unused_decomposition",
            Rule::EmptyExecutionPath => "empty_execution_path",
            Rule::EmptyTaskLoop => "empty_task_loop",
            Rule::Read { .. } => "read",
            Rule::Import { .. } => "import",
            Rule::NoOptionToComplete { .. } => "no_option_to_complete",
            Rule::ImproperCompletion { .. } => "improper_completion",
            Rule::DeadTask => "dead_task",
            Rule::SoundnessUnknown { .. } => "soundness_unknown",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::NoNets => f.write_str("specification has no nets"),
            Rule::MissingRootNet => f.write_str("the root net does not exist"),
            Rule::DuplicateNet => f.write_str("net id is used twice"),
            Rule::DuplicateElement => f.write_str("id is used twice"),
            Rule::EmptyId => f.write_str("an element has an empty id"),
            Rule::DanglingFlow { missing } => write!(f, "refers to unknown element `{missing}`"),
            Rule::DuplicateFlow => f.write_str("is listed twice"),
            Rule::ConditionToCondition => f.write_str("joins two conditions, which is not allowed"),
            Rule::FlowIntoInput => f.write_str("flows into the input condition, which is not allowed"),
            Rule::FlowOutOfOutput => {
                f.write_str("flows out of the output condition, which is not allowed")
            }
            Rule::BadFlow { reason }
            | Rule::BadSplit { reason }
            | Rule::BadTask { reason }
            | Rule::BadVariable { reason } => f.write_str(reason),
            Rule::MissingSubnet { target } => write!(f, "decomposes to unknown net `{target}`"),
            Rule::BadCancellationMember { member } => {
                write!(f, "cancellation set member `{member}` is not in this net")
            }
            Rule::BadMultipleInstance { reason } => {
                write!(f, "multiple-instance attributes: {reason}")
            }
            Rule::Structure { message } | Rule::Read { message } | Rule::Import { message } => {
                f.write_str(message)
            }
            Rule::InputHasPreset { preset } => {
                write!(f, "the input condition's preset must be empty: [{}]", list(preset))
            }
            Rule::OutputHasPostset { postset } => {
                write!(f, "the output condition's postset must be empty: [{}]", list(postset))
            }
            Rule::NotOnForwardPath => f.write_str("not on a forward path from i to o"),
            Rule::NotOnBackwardPath => f.write_str("not on a backward path from i to o"),
            Rule::XorFlowWithoutOrdering => f.write_str(
                "XOR-split flow without an ordering: tried after the ordered flows, in specification order",
            ),
            Rule::OrFlowWithOrdering => {
                f.write_str("OR-split flow with an ordering, which an OR-split ignores")
            }
            Rule::UnusedNet => f.write_str(
                "net is not used: no composite task reachable from the root net runs it",
            ),
            Rule::UnusedDecomposition => f.write_str("is not used in this specification"),
            Rule::EmptyExecutionPath => f.write_str(
                "may complete without generating any work: a path from i to o passes empty tasks only",
            ),
            Rule::EmptyTaskLoop => f.write_str(
                "lies on a loop of empty and composite tasks in which no work item is created",
            ),
            Rule::NoOptionToComplete {
                firings,
                state,
                deadlock,
            } => {
                let what = if *deadlock {
                    "deadlocks"
                } else {
                    "can no longer complete"
                };
                write!(f, "unsound: {what} after [{}]: {state}", list(firings))
            }
            Rule::ImproperCompletion { firings, left } => write!(
                f,
                "unsound: completes improperly after [{}]: {left} besides the output condition's token",
                list(firings)
            ),
            Rule::DeadTask => f.write_str("unsound: dead task, it can never fire"),
            Rule::SoundnessUnknown { reason, states } => {
                write!(f, "soundness unknown after {states} states: {reason}")
            }
        }
    }
}

/// One thing verification found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// The net it is about (`None`: the specification as a whole).
    pub net: Option<String>,
    /// The element it is about (`None`: the net, or the specification, as a whole).
    pub element: Option<Element>,
    /// The rule broken.
    pub rule: Rule,
}

impl Finding {
    /// A finding about `element` of `net`.
    pub fn at(net: &str, element: Element, rule: Rule) -> Self {
        Finding {
            net: Some(net.to_owned()),
            element: Some(element),
            rule,
        }
    }

    /// A finding about `net` as a whole.
    pub fn net(net: &str, rule: Rule) -> Self {
        Finding {
            net: Some(net.to_owned()),
            element: None,
            rule,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(net) = &self.net {
            write!(f, "net `{net}`: ")?;
        }
        if let Some(element) = &self.element {
            write!(f, "{element}: ")?;
        }
        write!(f, "{}", self.rule)
    }
}

/// The JSON form: `net`, `element`, `rule` with the rule's details beside it, and the
/// readable `message`.
impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            net: &'a Option<String>,
            element: &'a Option<Element>,
            #[serde(flatten)]
            rule: &'a Rule,
            message: String,
        }
        Json {
            net: &self.net,
            element: &self.element,
            rule: &self.rule,
            message: self.to_string(),
        }
        .serialize(serializer)
    }
}

/// Joins displayable items with ", ".
fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
