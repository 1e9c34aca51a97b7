//! Soundness by explicit state-space exploration: option to complete, proper
//! completion, no dead tasks, per net.
//!
//! Each net is compiled by the kernel and explored on its own, from one token in its
//! input condition, in the reset-net view of YAWL's verification: a state is the
//! token count of every place plus the set of busy tasks; a task *starts* (consuming
//! by its join: one way per marked place for an XOR-join, the kernel's own OR-join
//! analysis [`knhk_kernel::or_join_enabled`] for an OR-join) and later *completes*
//! (clearing its cancellation set, then marking one choice of its split: every branch
//! for AND, each branch for XOR, every non-empty set of branches for OR, predicates
//! ignored). An empty task starts and completes in one step, as the kernel runs it; a
//! composite or multiple-instance task is one busy period, its subnet or instances
//! inside it (each subnet's soundness is checked on its own). A blocking partial
//! join's absorption of late branches comes before any other step, as in the kernel.
//! Triggers are assumed to get their signal.
//!
//! The search is breadth-first, so the first state found with a property broken has a
//! shortest firing sequence from launch: that sequence is the counterexample. It stops
//! at `states_max` states per net, or when an OR-join's analysis runs out of its work
//! budget; the verdict is then [`Verdict::Unknown`] unless a violation was already
//! found (deadlocks and improper completions found are definite; a livelock and dead
//! tasks need the whole space). So verification always ends, whatever the net.
//!
//! What the exploration over-approximates: predicates (every branch is possible, also
//! where data would rule it out) and scheduling (the kernel fires empty and composite
//! tasks before it offers work, so in a deferred choice between an empty and an atomic
//! task the atomic one is never offered; the exploration lets either win).

mod explore;

use std::collections::VecDeque;
use std::sync::Arc;

use knhk_kernel::{CompiledNet, CompiledSpec, PlaceIx, TaskIx};
use knhk_model::{Evaluator, ExprError, Expression, Scope, ValidSpec};
use serde::Serialize;
use serde_json::Value;

use crate::Interrupt;
use crate::finding::{Action, Element, Finding, Firing, NetState, Rule, Tokens, UnknownReason};
use explore::{Ending, Explorer, Space, Step};

/// The soundness verdict of one net.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every reachable state can complete, every completion is proper, and every task
    /// can fire.
    Sound,
    /// A property is broken: the findings say which, with a counterexample.
    Unsound,
    /// The exploration stopped before deciding (see [`NetSoundness::unknown`]).
    Unknown,
}

/// What the exploration of one net found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct NetSoundness {
    /// The net.
    pub net: String,
    /// The verdict.
    pub verdict: Verdict,
    /// How many states were explored.
    pub states: usize,
    /// Why the exploration stopped early, if it did (also with an `Unsound` verdict,
    /// when a violation was found before the budget ran out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<UnknownReason>,
}

/// Explores every net of `spec`; returns each net's verdict and the findings (all
/// under soundness rules, as warnings by default).
pub(crate) fn check(
    spec: &ValidSpec,
    states_max: usize,
    or_join_work_max: u64,
    interrupt: &Interrupt,
) -> (Vec<NetSoundness>, Vec<Finding>) {
    let mut verdicts = Vec::new();
    let mut findings = Vec::new();
    // Predicates are never evaluated here, so any expression text will do: a spec whose
    // expressions do not compile (an import left some untranslated) is still explored.
    let Ok(compiled) = CompiledSpec::compile(spec, &Opaque) else {
        return (verdicts, findings);
    };
    for net in &compiled.nets {
        let (verdict, mut found) = check_net(net, states_max, or_join_work_max, interrupt);
        verdicts.push(verdict);
        findings.append(&mut found);
    }
    (verdicts, findings)
}

/// Explores one net.
fn check_net(
    net: &CompiledNet,
    states_max: usize,
    or_join_work_max: u64,
    interrupt: &Interrupt,
) -> (NetSoundness, Vec<Finding>) {
    let explorer = match Explorer::new(net, or_join_work_max) {
        Ok(explorer) => explorer,
        Err(reason) => {
            let finding = Finding::net(
                &net.id,
                Rule::SoundnessUnknown {
                    reason: reason.clone(),
                    states: 0,
                },
            );
            let verdict = NetSoundness {
                net: net.id.clone(),
                verdict: Verdict::Unknown,
                states: 0,
                unknown: Some(reason),
            };
            return (verdict, vec![finding]);
        }
    };
    let space = explorer.explore(states_max, interrupt);
    let mut findings = Vec::new();
    let expanded = space.endings.len();
    if let Some(at) = (0..expanded).find(|i| space.stuck[*i]) {
        findings.push(Finding::net(
            &net.id,
            Rule::NoOptionToComplete {
                firings: counterexample(&explorer, &space, at),
                state: net_state(&explorer, &space.states[at], false),
                deadlock: true,
            },
        ));
    } else if space.unknown.is_none()
        && let Some(at) = first_without_completion(&space)
    {
        findings.push(Finding::net(
            &net.id,
            Rule::NoOptionToComplete {
                firings: counterexample(&explorer, &space, at),
                state: net_state(&explorer, &space.states[at], false),
                deadlock: false,
            },
        ));
    }
    if let Some(at) = (0..expanded).find(|i| space.endings[*i] == Ending::Improper) {
        findings.push(Finding::net(
            &net.id,
            Rule::ImproperCompletion {
                firings: counterexample(&explorer, &space, at),
                left: net_state(&explorer, &space.states[at], true),
            },
        ));
    }
    if space.unknown.is_none() {
        for (i, fired) in space.fired.iter().enumerate() {
            if !fired {
                let id = net.task(TaskIx(i as u32)).id.to_string();
                findings.push(Finding::at(&net.id, Element::Task { id }, Rule::DeadTask));
            }
        }
    }
    let verdict = match (&space.unknown, findings.is_empty()) {
        (_, false) => Verdict::Unsound,
        (Some(_), true) => Verdict::Unknown,
        (None, true) => Verdict::Sound,
    };
    if let (Verdict::Unknown, Some(reason)) = (verdict, &space.unknown) {
        findings.push(Finding::net(
            &net.id,
            Rule::SoundnessUnknown {
                reason: reason.clone(),
                states: space.states.len(),
            },
        ));
    }
    let result = NetSoundness {
        net: net.id.clone(),
        verdict,
        states: space.states.len(),
        unknown: space.unknown.clone(),
    };
    (result, findings)
}

/// The first state (in breadth-first order, so with a shortest path) from which no
/// completed state can be reached; the whole space must have been explored.
fn first_without_completion(space: &Space) -> Option<usize> {
    let n = space.endings.len();
    let mut predecessors: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (from, next) in space.successors.iter().enumerate() {
        for to in next {
            if let Some(list) = predecessors.get_mut(*to as usize) {
                list.push(from as u32);
            }
        }
    }
    let mut can_complete = vec![false; n];
    let mut queue: VecDeque<usize> = (0..n).filter(|i| space.endings[*i] != Ending::No).collect();
    for i in &queue {
        can_complete[*i] = true;
    }
    while let Some(at) = queue.pop_front() {
        for from in &predecessors[at] {
            let from = *from as usize;
            if !can_complete[from] {
                can_complete[from] = true;
                queue.push_back(from);
            }
        }
    }
    can_complete.iter().position(|c| !c)
}

/// The firing sequence that first reached state `at`.
fn counterexample(explorer: &Explorer<'_>, space: &Space, at: usize) -> Vec<Firing> {
    let mut steps = Vec::new();
    let mut cursor = at;
    // Each parent index is smaller than its child's, so the walk ends at state 0.
    while let Some(Some((parent, step))) = space.parent.get(cursor) {
        steps.push(firing(explorer, step));
        cursor = *parent as usize;
    }
    steps.reverse();
    steps
}

/// A step with ids in place of indices.
fn firing(explorer: &Explorer<'_>, step: &Step) -> Firing {
    let net = explorer.net;
    let place = |p: &PlaceIx| net.place(*p).id.clone();
    let to = |task: &TaskIx, choice: &usize| -> Vec<String> {
        explorer.choices[task.0 as usize]
            .get(*choice)
            .map(|places| places.iter().map(place).collect())
            .unwrap_or_default()
    };
    let (task, action) = match step {
        Step::Start { task, from } => (
            task,
            Action::Start {
                from: from.as_ref().map(place),
            },
        ),
        Step::Complete { task, choice } => (
            task,
            Action::Complete {
                to: to(task, choice),
            },
        ),
        Step::Run { task, from, choice } => (
            task,
            Action::Run {
                from: from.as_ref().map(place),
                to: to(task, choice),
            },
        ),
        Step::Absorb { task } => (task, Action::Absorb),
    };
    Firing {
        task: net.task(*task).id.to_string(),
        action,
    }
}

/// A state with ids; `without_output` leaves out one token of the output condition.
fn net_state(explorer: &Explorer<'_>, state: &[u32], without_output: bool) -> NetState {
    let net = explorer.net;
    let tokens = explorer
        .tokens(state)
        .filter_map(|(place, count)| {
            let count = if without_output && place == net.output {
                count.saturating_sub(1)
            } else {
                count
            };
            (count > 0).then(|| Tokens {
                place: net.place(place).id.clone(),
                count,
            })
        })
        .collect();
    let busy = explorer
        .busy(state)
        .map(|t| net.task(t).id.to_string())
        .collect();
    NetState { tokens, busy }
}

/// Compiles any text into an expression that is never evaluated: the exploration
/// ignores predicates, and this keeps it independent of the expression language.
struct Opaque;

#[derive(Debug)]
struct OpaqueExpression(String);

impl Evaluator for Opaque {
    fn compile(&self, source: &str) -> Result<Arc<dyn Expression>, ExprError> {
        Ok(Arc::new(OpaqueExpression(source.to_owned())))
    }
}

impl Expression for OpaqueExpression {
    fn source(&self) -> &str {
        &self.0
    }

    fn evaluate(&self, _scope: &Scope<'_>) -> Result<Value, ExprError> {
        Err(ExprError::Evaluate {
            source_text: self.0.clone(),
            message: "the verifier does not evaluate expressions".to_owned(),
        })
    }
}
