//! Structural validation: what must hold for a specification to be compiled and run.
//!
//! Every problem is reported at once, each naming the net and element it is about, so
//! that an author fixes a file in one pass.
//!
//! Identifiers and free text are bounded here too (see `text.rs`): every identifier a
//! specification *declares* (its id and version, net, condition and task ids, variable,
//! parameter and mapping-target names, MI item and aggregate names, services, signals) has
//! at most [`ID_BYTES_MAX`] bytes and no control character; names and documentation at
//! most [`TEXT_BYTES_MAX`] bytes and no NUL. References (`root_net`, a composite task's
//! `net`, flow ends, cancellation members) are not checked on their own: they must name a
//! declared element, which was.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

use crate::spec::{JoinCode, Net, Specification, SplitCode, Task, TaskKind};
use crate::text::{ID_BYTES_MAX, NameProblem, TEXT_BYTES_MAX, check_name, check_text, excerpt};

/// The name YAWL gives the implicit condition on an arc from task `source` to task
/// `target`.
pub fn implicit_condition_id(source: &str, target: &str) -> String {
    format!("c{{{source}_{target}}}")
}

/// A specification that passed [`validate`]; only validation makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSpec(Specification);

impl ValidSpec {
    /// The root net.
    pub fn root(&self) -> &Net {
        // Validation checked that the root net exists.
        self.0
            .net(&self.0.root_net)
            .unwrap_or_else(|| unreachable!("validated spec lacks its root net"))
    }

    /// Gives the specification back.
    pub fn into_inner(self) -> Specification {
        self.0
    }
}

impl Deref for ValidSpec {
    type Target = Specification;
    fn deref(&self) -> &Specification {
        &self.0
    }
}

/// One structural problem in a specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecProblem {
    /// The specification has no nets.
    #[error("specification has no nets")]
    NoNets,
    /// `root_net` names no net.
    #[error("root net `{net}` does not exist")]
    MissingRootNet {
        /// The id given.
        net: String,
    },
    /// Two nets share an id.
    #[error("net id `{net}` is used twice")]
    DuplicateNet {
        /// The id.
        net: String,
    },
    /// Two elements of a net share an id.
    #[error("net `{net}`: element id `{element}` is used twice")]
    DuplicateElement {
        /// The net.
        net: String,
        /// The id.
        element: String,
    },
    /// An id is empty.
    #[error("net `{net}`: an element has an empty id")]
    EmptyId {
        /// The net.
        net: String,
    },
    /// A flow names an element that does not exist.
    #[error("net `{net}`: flow {from} -> {to} refers to unknown element `{missing}`")]
    DanglingFlow {
        /// The net.
        net: String,
        /// The flow's source.
        from: String,
        /// The flow's target.
        to: String,
        /// The unknown id.
        missing: String,
    },
    /// The same arc is listed twice.
    #[error("net `{net}`: flow {from} -> {to} is listed twice")]
    DuplicateFlow {
        /// The net.
        net: String,
        /// The flow's source.
        from: String,
        /// The flow's target.
        to: String,
    },
    /// An arc joins two conditions.
    #[error("net `{net}`: flow {from} -> {to} joins two conditions")]
    ConditionToCondition {
        /// The net.
        net: String,
        /// The flow's source.
        from: String,
        /// The flow's target.
        to: String,
    },
    /// An arc enters the input condition.
    #[error("net `{net}`: flow {from} -> {to} enters the input condition")]
    FlowIntoInput {
        /// The net.
        net: String,
        /// The flow's source.
        from: String,
        /// The flow's target.
        to: String,
    },
    /// An arc leaves the output condition.
    #[error("net `{net}`: flow {from} -> {to} leaves the output condition")]
    FlowOutOfOutput {
        /// The net.
        net: String,
        /// The flow's source.
        from: String,
        /// The flow's target.
        to: String,
    },
    /// A flow attribute that its source's split does not allow.
    #[error("net `{net}`: flow {from} -> {to}: {reason}")]
    BadFlow {
        /// The net.
        net: String,
        /// The flow's source.
        from: String,
        /// The flow's target.
        to: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A task's outgoing flows break its split's rules.
    #[error("net `{net}`: task `{task}`: {reason}")]
    BadSplit {
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// What is wrong.
        reason: String,
    },
    /// A task is inconsistent in itself.
    #[error("net `{net}`: task `{task}`: {reason}")]
    BadTask {
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// What is wrong.
        reason: String,
    },
    /// A composite task names a net that does not exist.
    #[error("net `{net}`: task `{task}` decomposes to unknown net `{target}`")]
    MissingSubnet {
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// The unknown net.
        target: String,
    },
    /// A cancellation set names something that is not in the task's net.
    #[error("net `{net}`: task `{task}`: cancellation set member `{member}` is not in this net")]
    BadCancellationMember {
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// The unknown member.
        member: String,
    },
    /// Multiple-instance attributes out of bounds.
    #[error("net `{net}`: task `{task}`: multiple-instance attributes: {reason}")]
    BadMultipleInstance {
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// What is wrong.
        reason: String,
    },
    /// A variable is declared twice, or its initial value has the wrong type.
    #[error("net `{net}`: variable `{variable}`: {reason}")]
    BadVariable {
        /// The net.
        net: String,
        /// The variable.
        variable: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An identifier the specification declares is longer than [`ID_BYTES_MAX`] bytes or
    /// holds a control character.
    #[error("{}{what} `{}` {problem}", in_net(.net), .id.escape_debug())]
    BadIdentifier {
        /// The net it belongs to (an excerpt of its id), if any.
        net: Option<String>,
        /// What it identifies: `task id`, `variable name`, `service of task `t``, ...
        what: String,
        /// The identifier (an excerpt).
        id: String,
        /// Which limit it breaks.
        problem: NameProblem,
    },
    /// A name or documentation is longer than [`TEXT_BYTES_MAX`] bytes or holds NUL.
    #[error("{}{what} {problem}", in_net(.net))]
    BadText {
        /// The net it belongs to (an excerpt of its id), if any.
        net: Option<String>,
        /// Which text: `specification name`, `name of task `t``, ...
        what: String,
        /// Which limit it breaks.
        problem: NameProblem,
    },
}

/// `net `n`: ` before a problem about an element of net `n`.
fn in_net(net: &Option<String>) -> String {
    match net {
        Some(net) => format!("net `{}`: ", net.escape_debug()),
        None => String::new(),
    }
}

/// Checks `spec` and returns it as a [`ValidSpec`], or every problem found.
pub fn validate(spec: Specification) -> Result<ValidSpec, Vec<SpecProblem>> {
    let mut problems = Vec::new();
    check_names(&spec, &mut problems);
    if spec.nets.is_empty() {
        problems.push(SpecProblem::NoNets);
    }
    let mut net_ids = BTreeSet::new();
    for net in &spec.nets {
        if !net_ids.insert(net.id.as_str()) {
            problems.push(SpecProblem::DuplicateNet {
                net: net.id.clone(),
            });
        }
    }
    if !spec.nets.is_empty() && !net_ids.contains(spec.root_net.as_str()) {
        problems.push(SpecProblem::MissingRootNet {
            net: spec.root_net.clone(),
        });
    }
    for net in &spec.nets {
        check_net(net, &net_ids, &mut problems);
    }
    if problems.is_empty() {
        Ok(ValidSpec(spec))
    } else {
        Err(problems)
    }
}

/// Checks every identifier and free text `spec` declares against the bounds of
/// `text.rs`.
fn check_names(spec: &Specification, problems: &mut Vec<SpecProblem>) {
    let mut names = Names {
        net: None,
        problems,
    };
    names.id("specification id", &spec.id);
    names.optional_id("specification version", spec.version.as_deref());
    names.optional_text("specification name", spec.name.as_deref());
    names.optional_text("specification documentation", spec.documentation.as_deref());
    for net in &spec.nets {
        names.net = None;
        names.id("net id", &net.id);
        names.net = Some(excerpt(&net.id).into_owned());
        for condition in net.all_conditions() {
            names.id("condition id", &condition.id);
            names.optional_text(
                || format!("name of condition `{}`", excerpt(&condition.id)),
                condition.name.as_deref(),
            );
        }
        for task in &net.tasks {
            check_task_names(&mut names, task);
        }
        for variable in &net.variables {
            names.id("variable name", &variable.name);
        }
    }
}

fn check_task_names(names: &mut Names<'_>, task: &Task) {
    names.id("task id", &task.id);
    let of = |what: &str| format!("{what} of task `{}`", excerpt(&task.id));
    names.optional_text(|| of("name"), task.name.as_deref());
    names.optional_id(|| of("service"), task.service.as_deref());
    for parameter in &task.inputs {
        names.id(|| of("input parameter"), &parameter.name);
    }
    for parameter in &task.outputs {
        names.id(|| of("output parameter"), &parameter.name);
    }
    for mapping in &task.input_mappings {
        names.id(|| of("input mapping target"), &mapping.to);
    }
    for mapping in &task.output_mappings {
        names.id(|| of("output mapping target"), &mapping.to);
    }
    if let Some(mi) = &task.multiple_instance {
        names.optional_id(|| of("multiple-instance item"), mi.item.as_deref());
        names.optional_id(
            || of("multiple-instance aggregate"),
            mi.aggregate.as_deref(),
        );
    }
    if let Some(trigger) = &task.trigger {
        names.id(|| of("trigger signal"), &trigger.signal);
    }
}

/// Collects [`SpecProblem::BadIdentifier`] and [`SpecProblem::BadText`] for one net (or
/// the specification itself, with `net` unset).
struct Names<'a> {
    net: Option<String>,
    problems: &'a mut Vec<SpecProblem>,
}

/// What a checked text is, built only when there is a problem to report.
trait What {
    fn describe(self) -> String;
}

impl What for &str {
    fn describe(self) -> String {
        self.to_owned()
    }
}

impl<F: FnOnce() -> String> What for F {
    fn describe(self) -> String {
        self()
    }
}

impl Names<'_> {
    fn id(&mut self, what: impl What, id: &str) {
        if let Err(problem) = check_name(id, ID_BYTES_MAX) {
            self.problems.push(SpecProblem::BadIdentifier {
                net: self.net.clone(),
                what: what.describe(),
                id: excerpt(id).into_owned(),
                problem,
            });
        }
    }

    fn optional_id(&mut self, what: impl What, id: Option<&str>) {
        if let Some(id) = id {
            self.id(what, id);
        }
    }

    fn optional_text(&mut self, what: impl What, text: Option<&str>) {
        if let Some(Err(problem)) = text.map(|text| check_text(text, TEXT_BYTES_MAX)) {
            self.problems.push(SpecProblem::BadText {
                net: self.net.clone(),
                what: what.describe(),
                problem,
            });
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Element {
    Input,
    Output,
    Condition,
    Task,
}

fn check_net(net: &Net, net_ids: &BTreeSet<&str>, problems: &mut Vec<SpecProblem>) {
    let id = || net.id.clone();
    let mut elements: BTreeMap<&str, Element> = BTreeMap::new();
    let conditions = [
        (&net.input_condition, Element::Input),
        (&net.output_condition, Element::Output),
    ]
    .into_iter()
    .chain(net.conditions.iter().map(|c| (c, Element::Condition)));
    let ids = conditions
        .map(|(c, kind)| (c.id.as_str(), kind))
        .chain(net.tasks.iter().map(|t| (t.id.as_str(), Element::Task)));
    for (element, kind) in ids {
        if element.is_empty() {
            problems.push(SpecProblem::EmptyId { net: id() });
        } else if elements.insert(element, kind).is_some() {
            problems.push(SpecProblem::DuplicateElement {
                net: id(),
                element: element.to_owned(),
            });
        }
    }

    let mut arcs = BTreeSet::new();
    let mut implicit = BTreeSet::new();
    for flow in &net.flows {
        let (from, to) = (flow.from.clone(), flow.to.clone());
        let (Some(&source), Some(&target)) = (
            elements.get(flow.from.as_str()),
            elements.get(flow.to.as_str()),
        ) else {
            let missing = if elements.contains_key(flow.from.as_str()) {
                &flow.to
            } else {
                &flow.from
            };
            problems.push(SpecProblem::DanglingFlow {
                net: id(),
                from,
                to,
                missing: missing.clone(),
            });
            continue;
        };
        if !arcs.insert((flow.from.as_str(), flow.to.as_str())) {
            problems.push(SpecProblem::DuplicateFlow {
                net: id(),
                from,
                to,
            });
            continue;
        }
        if target == Element::Input {
            problems.push(SpecProblem::FlowIntoInput {
                net: id(),
                from,
                to,
            });
        } else if source == Element::Output {
            problems.push(SpecProblem::FlowOutOfOutput {
                net: id(),
                from,
                to,
            });
        } else if source != Element::Task && target != Element::Task {
            problems.push(SpecProblem::ConditionToCondition {
                net: id(),
                from,
                to,
            });
        } else if source == Element::Task && target == Element::Task {
            // `a_b -> c` and `a -> b_c` would share the name `c{a_b_c}`.
            let name = crate::implicit_condition_id(&flow.from, &flow.to);
            if !implicit.insert(name.clone()) {
                problems.push(SpecProblem::DuplicateElement {
                    net: id(),
                    element: name,
                });
            }
        }
        if source != Element::Task
            && (flow.predicate.is_some() || flow.default || flow.ordering.is_some())
        {
            problems.push(SpecProblem::BadFlow {
                net: id(),
                from: flow.from.clone(),
                to: flow.to.clone(),
                reason: "only flows leaving a task carry a predicate, ordering or default",
            });
        }
    }
    for name in &implicit {
        if elements.contains_key(name.as_str()) {
            problems.push(SpecProblem::DuplicateElement {
                net: id(),
                element: name.clone(),
            });
        }
    }

    // Index the arcs once: looking them up per task would make validation quadratic.
    let mut arcs = Arcs {
        elements: &elements,
        implicit: &implicit,
        net_ids,
        preset: BTreeMap::new(),
        outgoing: BTreeMap::new(),
    };
    for flow in &net.flows {
        *arcs.preset.entry(flow.to.as_str()).or_default() += 1;
        arcs.outgoing
            .entry(flow.from.as_str())
            .or_default()
            .push(flow);
    }
    for task in &net.tasks {
        check_task(net, task, &arcs, problems);
    }

    let mut variables = BTreeSet::new();
    for variable in &net.variables {
        let reason = if !variables.insert(variable.name.as_str()) {
            Some("declared twice")
        } else if variable
            .initial
            .as_ref()
            .is_some_and(|v| !variable.data_type.admits(v))
        {
            Some("initial value does not have the declared type")
        } else {
            None
        };
        if let Some(reason) = reason {
            problems.push(SpecProblem::BadVariable {
                net: id(),
                variable: variable.name.clone(),
                reason,
            });
        }
    }
}

/// What a task's checks look up about its net.
struct Arcs<'a> {
    elements: &'a BTreeMap<&'a str, Element>,
    implicit: &'a BTreeSet<String>,
    net_ids: &'a BTreeSet<&'a str>,
    /// Incoming flows per element.
    preset: BTreeMap<&'a str, usize>,
    /// Outgoing flows per element.
    outgoing: BTreeMap<&'a str, Vec<&'a crate::Flow>>,
}

fn check_task(net: &Net, task: &crate::Task, arcs: &Arcs<'_>, problems: &mut Vec<SpecProblem>) {
    let Arcs {
        elements,
        implicit,
        net_ids,
        ..
    } = *arcs;
    let bad = |reason: &str| SpecProblem::BadTask {
        net: net.id.clone(),
        task: task.id.clone(),
        reason: reason.to_owned(),
    };
    match (task.kind, &task.net) {
        (TaskKind::Composite, None) => problems.push(bad("a composite task needs `net`")),
        (TaskKind::Composite, Some(target)) if !net_ids.contains(target.as_str()) => {
            problems.push(SpecProblem::MissingSubnet {
                net: net.id.clone(),
                task: task.id.clone(),
                target: target.clone(),
            })
        }
        (TaskKind::Empty | TaskKind::Atomic, Some(_)) => {
            problems.push(bad("only a composite task has `net`"))
        }
        _ => {}
    }
    if task.kind != TaskKind::Atomic
        && (task.service.is_some() || !task.inputs.is_empty() || !task.outputs.is_empty())
    {
        problems.push(bad(
            "only an atomic task has `service`, `inputs` or `outputs`",
        ));
    }
    if task.kind == TaskKind::Empty && task.timer.is_some() {
        problems.push(bad("an empty task has no work item for a timer"));
    }
    if task.kind == TaskKind::Empty
        && (!task.input_mappings.is_empty() || !task.output_mappings.is_empty())
    {
        problems.push(bad("an empty task has no work to map data into or out of"));
    }
    if let Some(timer) = &task.timer
        && timer.duration_ms.is_some() == timer.expiry_ms.is_some()
    {
        problems.push(bad(
            "a timer needs exactly one of `duration_ms` and `expiry_ms`",
        ));
    }
    let preset = arcs.preset.get(task.id.as_str()).copied().unwrap_or(0);
    if let Some(partial) = &task.partial_join {
        if task.join != JoinCode::And {
            problems.push(bad("a partial join needs join code `and`"));
        } else if partial.required == 0 || partial.required as usize > preset {
            problems.push(bad(
                "a partial join needs 1 <= required <= number of incoming flows",
            ));
        }
    }
    if task.thread_merge == Some(0) || task.thread_split == Some(0) {
        problems.push(bad("thread merge and thread split counts are at least 1"));
    }
    if task.trigger.as_ref().is_some_and(|t| t.signal.is_empty()) {
        problems.push(bad("a trigger needs a signal name"));
    }
    if let Some(mi) = &task.multiple_instance {
        let reason = if task.kind == TaskKind::Empty {
            Some("an empty task cannot be multiple-instance")
        } else if mi.min == 0 {
            Some("min must be at least 1")
        } else if mi.max.is_some_and(|max| max < mi.min) {
            Some("max must be at least min")
        } else if mi.threshold.zip(mi.max).is_some_and(|(t, max)| t > max) {
            Some("threshold must not exceed max")
        } else if mi.threshold == Some(0) && mi.remainder != crate::Remainder::Continue {
            Some("threshold 0 (no synchronisation) needs remainder `continue`")
        } else {
            None
        };
        if let Some(reason) = reason {
            problems.push(SpecProblem::BadMultipleInstance {
                net: net.id.clone(),
                task: task.id.clone(),
                reason: reason.to_owned(),
            });
        }
    }
    let mut listed = BTreeSet::new();
    for member in &task.cancellation_set {
        if !elements.contains_key(member.as_str()) && !implicit.contains(member) {
            problems.push(SpecProblem::BadCancellationMember {
                net: net.id.clone(),
                task: task.id.clone(),
                member: member.clone(),
            });
        }
        // A set: Turtle could not keep a second copy (found by fuzzing, `spec_json`).
        if !listed.insert(member.as_str()) {
            problems.push(bad(&format!(
                "cancellation set member `{member}` is listed twice"
            )));
        }
    }
    let outgoing = arcs
        .outgoing
        .get(task.id.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default();
    check_split(net, task, outgoing, problems);
}

fn check_split(
    net: &Net,
    task: &crate::Task,
    outgoing: &[&crate::Flow],
    problems: &mut Vec<SpecProblem>,
) {
    let bad = |reason: &str| SpecProblem::BadSplit {
        net: net.id.clone(),
        task: task.id.clone(),
        reason: reason.to_owned(),
    };
    match task.split {
        SplitCode::And => {
            if outgoing
                .iter()
                .any(|f| f.predicate.is_some() || f.default || f.ordering.is_some())
            {
                problems.push(bad(
                    "AND-split flows carry no predicate, ordering or default",
                ));
            }
        }
        SplitCode::Xor | SplitCode::Or => {
            let defaults = outgoing.iter().filter(|f| f.default).count();
            if outgoing.len() > 1 && defaults != 1 {
                problems.push(bad(&format!(
                    "{:?}-split with {} outgoing flows needs exactly one default flow, has {defaults}",
                    task.split,
                    outgoing.len()
                )));
            }
            // A single outgoing flow is the default whether or not it says so.
            if outgoing.len() > 1 && outgoing.iter().any(|f| !f.default && f.predicate.is_none()) {
                problems.push(bad(
                    "every flow of an XOR or OR split but the default needs a predicate",
                ));
            }
            if task.split == SplitCode::Xor {
                let mut orderings = BTreeSet::new();
                if outgoing
                    .iter()
                    .filter_map(|f| f.ordering)
                    .any(|o| !orderings.insert(o))
                {
                    problems.push(bad("XOR-split flows need distinct orderings"));
                }
            }
        }
    }
}
