//! YAWL's structural verification rules, on a raw (unvalidated) specification.
//!
//! Two sources feed the findings: the model's own validation
//! ([`knhk_model::validate`]), whose [`SpecProblem`]s are translated into [`Rule`]s
//! one for one, and the rules the model leaves to the verifier (yawl-reference §1):
//! the input condition's empty preset and the output condition's empty postset,
//! forward and backward paths, YAWL's stricter flow orderings, unused nets, nets that
//! may complete without work, and loops of empty tasks. The model already checks
//! condition-to-condition arcs, split rules, MI bounds, cancellation members and
//! subnets that exist, so those come from it alone and are never reported twice.
//!
//! Every rule here tolerates a broken specification (dangling flows, duplicate ids),
//! so that one pass reports everything.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use knhk_model::{Net, SpecProblem, Specification, SplitCode, TaskKind};

use crate::finding::{Element, Finding, Rule};

/// The model's structural problems, as findings.
pub(crate) fn model_problems(spec: &Specification, problems: &[SpecProblem]) -> Vec<Finding> {
    problems
        .iter()
        .map(|problem| translate(spec, problem))
        .collect()
}

/// One [`SpecProblem`] as a [`Finding`].
fn translate(spec: &Specification, problem: &SpecProblem) -> Finding {
    let flow = |from: &str, to: &str| Element::Flow {
        from: from.to_owned(),
        to: to.to_owned(),
    };
    let task = |id: &str| Element::Task { id: id.to_owned() };
    let (net, element, rule) = match problem {
        SpecProblem::NoNets => (None, None, Rule::NoNets),
        SpecProblem::MissingRootNet { net } => (Some(net), None, Rule::MissingRootNet),
        SpecProblem::DuplicateNet { net } => (Some(net), None, Rule::DuplicateNet),
        SpecProblem::DuplicateElement { net, element } => (
            Some(net),
            Some(classify(spec.net(net), element)),
            Rule::DuplicateElement,
        ),
        SpecProblem::EmptyId { net } => (Some(net), None, Rule::EmptyId),
        SpecProblem::DanglingFlow {
            net,
            from,
            to,
            missing,
        } => (
            Some(net),
            Some(flow(from, to)),
            Rule::DanglingFlow {
                missing: missing.clone(),
            },
        ),
        SpecProblem::DuplicateFlow { net, from, to } => {
            (Some(net), Some(flow(from, to)), Rule::DuplicateFlow)
        }
        SpecProblem::ConditionToCondition { net, from, to } => {
            (Some(net), Some(flow(from, to)), Rule::ConditionToCondition)
        }
        SpecProblem::FlowIntoInput { net, from, to } => {
            (Some(net), Some(flow(from, to)), Rule::FlowIntoInput)
        }
        SpecProblem::FlowOutOfOutput { net, from, to } => {
            (Some(net), Some(flow(from, to)), Rule::FlowOutOfOutput)
        }
        SpecProblem::BadFlow {
            net,
            from,
            to,
            reason,
        } => (
            Some(net),
            Some(flow(from, to)),
            Rule::BadFlow {
                reason: (*reason).to_owned(),
            },
        ),
        SpecProblem::BadSplit {
            net,
            task: id,
            reason,
        } => (
            Some(net),
            Some(task(id)),
            Rule::BadSplit {
                reason: reason.clone(),
            },
        ),
        SpecProblem::BadTask {
            net,
            task: id,
            reason,
        } => (
            Some(net),
            Some(task(id)),
            Rule::BadTask {
                reason: reason.clone(),
            },
        ),
        SpecProblem::MissingSubnet {
            net,
            task: id,
            target,
        } => (
            Some(net),
            Some(task(id)),
            Rule::MissingSubnet {
                target: target.clone(),
            },
        ),
        SpecProblem::BadCancellationMember {
            net,
            task: id,
            member,
        } => (
            Some(net),
            Some(task(id)),
            Rule::BadCancellationMember {
                member: member.clone(),
            },
        ),
        SpecProblem::BadMultipleInstance {
            net,
            task: id,
            reason,
        } => (
            Some(net),
            Some(task(id)),
            Rule::BadMultipleInstance {
                reason: reason.clone(),
            },
        ),
        SpecProblem::BadVariable {
            net,
            variable,
            reason,
        } => (
            Some(net),
            Some(Element::Variable {
                name: variable.clone(),
            }),
            Rule::BadVariable {
                reason: (*reason).to_owned(),
            },
        ),
        // A problem the model learns to report after this crate was written still
        // reaches the user, with the model's message.
        other => (
            None,
            None,
            Rule::Structure {
                message: other.to_string(),
            },
        ),
    };
    Finding {
        net: net.cloned(),
        element,
        rule,
    }
}

/// An element id of `net` as a task or a condition (an id the net does not know is
/// called a condition: implicit conditions are not listed in the net).
fn classify(net: Option<&Net>, id: &str) -> Element {
    if net.is_some_and(|net| net.task(id).is_some()) {
        Element::Task { id: id.to_owned() }
    } else {
        Element::Condition { id: id.to_owned() }
    }
}

/// The rules of YAWL's verification that the model does not check.
pub(crate) fn yawl_rules(spec: &Specification) -> Vec<Finding> {
    let mut findings = Vec::new();
    for net in &spec.nets {
        let graph = Graph::new(net);
        boundary_rules(net, &mut findings);
        path_rules(net, &graph, &mut findings);
        ordering_rules(net, &mut findings);
        if graph.empty_path_to_output(net) {
            findings.push(Finding::net(&net.id, Rule::EmptyExecutionPath));
        }
    }
    unused_nets(spec, &mut findings);
    empty_task_loops(spec, &mut findings);
    findings
}

/// The far ends of the flows `end` picks out.
fn arc_ends(net: &Net, end: impl Fn(&knhk_model::Flow) -> Option<String>) -> Vec<String> {
    net.flows.iter().filter_map(end).collect()
}

/// The input condition has no preset, the output condition no postset.
fn boundary_rules(net: &Net, findings: &mut Vec<Finding>) {
    let input = &net.input_condition.id;
    let output = &net.output_condition.id;
    let preset = arc_ends(net, |f| (&f.to == input).then(|| f.from.clone()));
    if !preset.is_empty() {
        findings.push(Finding::at(
            &net.id,
            Element::Condition { id: input.clone() },
            Rule::InputHasPreset { preset },
        ));
    }
    let postset = arc_ends(net, |f| (&f.from == output).then(|| f.to.clone()));
    if !postset.is_empty() {
        findings.push(Finding::at(
            &net.id,
            Element::Condition { id: output.clone() },
            Rule::OutputHasPostset { postset },
        ));
    }
}

/// The elements of a net (explicit conditions and tasks, by their first declaration)
/// and its arcs, for path questions.
struct Graph<'a> {
    /// Element ids in declaration order: input, output, conditions, tasks.
    ids: Vec<&'a str>,
    index: BTreeMap<&'a str, usize>,
    task: Vec<Option<TaskKind>>,
    post: Vec<Vec<usize>>,
    pre: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    fn new(net: &'a Net) -> Self {
        let mut graph = Graph {
            ids: Vec::new(),
            index: BTreeMap::new(),
            task: Vec::new(),
            post: Vec::new(),
            pre: Vec::new(),
        };
        let conditions = net.all_conditions().map(|c| (c.id.as_str(), None));
        let tasks = net.tasks.iter().map(|t| (t.id.as_str(), Some(t.kind)));
        for (id, kind) in conditions.chain(tasks) {
            if !graph.index.contains_key(id) {
                graph.index.insert(id, graph.ids.len());
                graph.ids.push(id);
                graph.task.push(kind);
            }
        }
        graph.post = vec![Vec::new(); graph.ids.len()];
        graph.pre = vec![Vec::new(); graph.ids.len()];
        for flow in &net.flows {
            if let (Some(&from), Some(&to)) = (
                graph.index.get(flow.from.as_str()),
                graph.index.get(flow.to.as_str()),
            ) {
                graph.post[from].push(to);
                graph.pre[to].push(from);
            }
        }
        graph
    }

    /// The elements reachable from `start` along `edges`, not expanding `stop` (YAWL
    /// does not follow the output condition's postset forwards, nor the input
    /// condition's preset backwards).
    fn reach(&self, start: usize, stop: usize, edges: &[Vec<usize>]) -> Vec<bool> {
        let mut seen = vec![false; self.ids.len()];
        let mut queue = VecDeque::from([start]);
        seen[start] = true;
        while let Some(at) = queue.pop_front() {
            if at == stop && at != start {
                continue;
            }
            for &next in &edges[at] {
                if !seen[next] {
                    seen[next] = true;
                    queue.push_back(next);
                }
            }
        }
        seen
    }

    /// YAWL's `checkForEmptyExecutionPaths`: whether the output condition can be
    /// reached from the input condition through conditions and empty tasks alone.
    fn empty_path_to_output(&self, net: &Net) -> bool {
        let (Some(&input), Some(&output)) = (
            self.index.get(net.input_condition.id.as_str()),
            self.index.get(net.output_condition.id.as_str()),
        ) else {
            return false;
        };
        let mut seen = vec![false; self.ids.len()];
        let mut queue = VecDeque::from([input]);
        seen[input] = true;
        while let Some(at) = queue.pop_front() {
            if at == output {
                return true;
            }
            for &next in &self.post[at] {
                let passes = matches!(self.task[next], None | Some(TaskKind::Empty));
                if passes && !seen[next] {
                    seen[next] = true;
                    queue.push_back(next);
                }
            }
        }
        false
    }
}

/// Every element lies on a path from the input condition and on a path to the output
/// condition. Implicit conditions are not reported: each lies on a path exactly when
/// the tasks on both its sides do, and those are reported.
fn path_rules(net: &Net, graph: &Graph<'_>, findings: &mut Vec<Finding>) {
    let (Some(&input), Some(&output)) = (
        graph.index.get(net.input_condition.id.as_str()),
        graph.index.get(net.output_condition.id.as_str()),
    ) else {
        return;
    };
    let forward = graph.reach(input, output, &graph.post);
    let backward = graph.reach(output, input, &graph.pre);
    let element = |i: usize| match graph.task[i] {
        Some(_) => Element::Task {
            id: graph.ids[i].to_owned(),
        },
        None => Element::Condition {
            id: graph.ids[i].to_owned(),
        },
    };
    for (i, reached) in forward.iter().enumerate() {
        if !reached {
            findings.push(Finding::at(&net.id, element(i), Rule::NotOnForwardPath));
        }
    }
    for (i, reached) in backward.iter().enumerate() {
        if !reached {
            findings.push(Finding::at(&net.id, element(i), Rule::NotOnBackwardPath));
        }
    }
}

/// YAWL's flow rules that the model relaxes: XOR-split flows carry an ordering (or are
/// the default), OR-split flows carry none. Warnings: the kernel runs either way.
fn ordering_rules(net: &Net, findings: &mut Vec<Finding>) {
    let mut outgoing: BTreeMap<&str, Vec<&knhk_model::Flow>> = BTreeMap::new();
    for flow in &net.flows {
        outgoing.entry(flow.from.as_str()).or_default().push(flow);
    }
    for task in &net.tasks {
        let Some(flows) = outgoing.get(task.id.as_str()) else {
            continue;
        };
        for flow in flows {
            let rule = match task.split {
                SplitCode::Xor if flows.len() > 1 && !flow.default && flow.ordering.is_none() => {
                    Rule::XorFlowWithoutOrdering
                }
                SplitCode::Or if flow.ordering.is_some() => Rule::OrFlowWithOrdering,
                _ => continue,
            };
            let element = Element::Flow {
                from: flow.from.clone(),
                to: flow.to.clone(),
            };
            findings.push(Finding::at(&net.id, element, rule));
        }
    }
}

/// The composite tasks of `net` reachable from its input condition, with the nets
/// they run.
fn reachable_subnets(net: &Net) -> Vec<(&str, &str)> {
    let graph = Graph::new(net);
    let Some(&input) = graph.index.get(net.input_condition.id.as_str()) else {
        return Vec::new();
    };
    let output = graph
        .index
        .get(net.output_condition.id.as_str())
        .copied()
        .unwrap_or(input);
    let reached = graph.reach(input, output, &graph.post);
    net.tasks
        .iter()
        .filter(|t| graph.index.get(t.id.as_str()).is_some_and(|i| reached[*i]))
        .filter_map(|t| t.net.as_deref().map(|sub| (t.id.as_str(), sub)))
        .collect()
}

/// YAWL's `checkDecompositionUsage` for nets: a net that no composite task reachable
/// from the root net runs (directly or through other subnets) is unused.
fn unused_nets(spec: &Specification, findings: &mut Vec<Finding>) {
    if spec.net(&spec.root_net).is_none() {
        return;
    }
    let mut used = BTreeSet::from([spec.root_net.as_str()]);
    let mut queue = VecDeque::from([spec.root_net.as_str()]);
    while let Some(id) = queue.pop_front() {
        let Some(net) = spec.net(id) else { continue };
        for (_, sub) in reachable_subnets(net) {
            if used.insert(sub) {
                queue.push_back(sub);
            }
        }
    }
    let mut reported = BTreeSet::new();
    for net in &spec.nets {
        if !used.contains(net.id.as_str()) && reported.insert(net.id.as_str()) {
            findings.push(Finding::net(&net.id, Rule::UnusedNet));
        }
    }
}

/// YAWL's `checkForInfiniteLoops`: an empty or composite task from which a chain of
/// tasks that create no work item leads back to itself. From an empty task the chain
/// continues to the empty tasks after its postset; from a composite task, to the empty
/// and composite tasks after its subnet's input condition.
///
/// YAWL reports such a loop as an error in nets under the root net; here it is a
/// warning, because the kernel stops an endless run of routing tasks with its step
/// budget, and a loop whose exit depends on data (WPC21StructuredLoop) is legitimate.
///
/// A task lies on such a loop when its strongly connected component in the chain graph
/// has another member or it follows itself, found in linear time (Kosaraju).
fn empty_task_loops(spec: &Specification, findings: &mut Vec<Finding>) {
    let mut nodes: Vec<(&str, &str)> = Vec::new();
    for net in &spec.nets {
        for task in &net.tasks {
            if matches!(task.kind, TaskKind::Empty | TaskKind::Composite) {
                nodes.push((net.id.as_str(), task.id.as_str()));
            }
        }
    }
    let index: BTreeMap<(&str, &str), usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for net in &spec.nets {
        chain_edges(spec, net, &index, &mut successors);
    }
    let component = components(&successors);
    let mut size = vec![0usize; nodes.len()];
    for c in &component {
        size[*c] += 1;
    }
    for (i, (net, task)) in nodes.iter().enumerate() {
        if size[component[i]] > 1 || successors[i].contains(&i) {
            findings.push(Finding::at(
                net,
                Element::Task {
                    id: (*task).to_owned(),
                },
                Rule::EmptyTaskLoop,
            ));
        }
    }
}

/// Adds the chain edges (see [`empty_task_loops`]) leaving the tasks of `net`.
fn chain_edges(
    spec: &Specification,
    net: &Net,
    index: &BTreeMap<(&str, &str), usize>,
    successors: &mut [Vec<usize>],
) {
    let mut post: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for flow in &net.flows {
        post.entry(flow.from.as_str())
            .or_default()
            .push(flow.to.as_str());
    }
    let kinds: BTreeMap<&str, TaskKind> =
        net.tasks.iter().map(|t| (t.id.as_str(), t.kind)).collect();
    let after = |id: &str| post.get(id).map(Vec::as_slice).unwrap_or_default();
    for task in &net.tasks {
        let Some(&from) = index.get(&(net.id.as_str(), task.id.as_str())) else {
            continue;
        };
        match (task.kind, task.net.as_deref().and_then(|sub| spec.net(sub))) {
            (TaskKind::Composite, Some(sub)) => {
                let input = sub.input_condition.id.as_str();
                for flow in sub.flows.iter().filter(|f| f.from == input) {
                    if let Some(&to) = index.get(&(sub.id.as_str(), flow.to.as_str())) {
                        successors[from].push(to);
                    }
                }
            }
            (TaskKind::Empty, _) => {
                for next in after(&task.id) {
                    // A task right after a task is behind an implicit condition.
                    let tasks = if kinds.contains_key(next) {
                        std::slice::from_ref(next)
                    } else {
                        after(next)
                    };
                    for id in tasks {
                        if kinds.get(id) == Some(&TaskKind::Empty)
                            && let Some(&to) = index.get(&(net.id.as_str(), *id))
                        {
                            successors[from].push(to);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The strongly connected component of each node (Kosaraju, iterative).
fn components(successors: &[Vec<usize>]) -> Vec<usize> {
    let n = successors.len();
    let mut predecessors = vec![Vec::new(); n];
    for (from, next) in successors.iter().enumerate() {
        for to in next {
            predecessors[*to].push(from);
        }
    }
    // First pass: nodes in order of finishing.
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    for root in 0..n {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        let mut stack = vec![(root, 0usize)];
        while let Some((node, edge)) = stack.last_mut() {
            if let Some(&next) = successors[*node].get(*edge) {
                *edge += 1;
                if !seen[next] {
                    seen[next] = true;
                    stack.push((next, 0));
                }
            } else {
                order.push(*node);
                stack.pop();
            }
        }
    }
    // Second pass, on the reversed graph, in reverse finishing order.
    let mut component = vec![usize::MAX; n];
    for (c, &root) in order.iter().rev().enumerate() {
        if component[root] != usize::MAX {
            continue;
        }
        component[root] = c;
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            for &prev in &predecessors[node] {
                if component[prev] == usize::MAX {
                    component[prev] = c;
                    stack.push(prev);
                }
            }
        }
    }
    component
}
