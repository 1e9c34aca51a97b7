//! The state space of one compiled net: states, the steps between them, and the
//! breadth-first exploration that finds them.
//!
//! A state is the token count of every place, a busy flag per task, and per blocking
//! partial join the branches it has absorbed since it fired. It is kept *sparse*, as
//! the sorted (slot, value) pairs of its non-zero slots in one `[u32]` shared by the
//! state list and the lookup table: a net of ten thousand tasks has states of a few
//! words, not of ten thousand. A state being expanded is spread over a dense scratch
//! vector; each step writes its changes as overrides, merged into a new sparse state. Steps follow the kernel's
//! rules (`crates/knhk-kernel/src/case`), except that predicates are not evaluated
//! (every branch an XOR or OR split could take is explored) and triggers are assumed
//! to get their signal.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use knhk_kernel::{Bitset, Body, CompiledNet, Marking, OrJoinVerdict, PlaceIx, TaskIx};
use knhk_model::{JoinCode, PartialJoinMode, SplitCode, Termination};

use crate::Interrupt;
use crate::finding::UnknownReason;

/// The most optional branches an OR-split may have: every subset is a choice.
const OR_SPLIT_BRANCHES_MAX: usize = 12;

/// The most incoming branches a blocking partial join may have (one bit each).
const PARTIAL_JOIN_BRANCHES_MAX: usize = 32;

/// A packed sparse state: `[slot, value, slot, value, ...]`, slots ascending, values
/// non-zero. Slots are places, then one busy flag per task, then one absorbed-branch
/// mask per partial join.
pub(super) type State = Rc<[u32]>;

/// What a step did, in indices; [`super`] renders it with ids.
#[derive(Debug, Clone)]
pub(super) enum Step {
    /// The task fired and is busy; `from` is the place an XOR-join took from.
    Start { task: TaskIx, from: Option<PlaceIx> },
    /// The busy task completed through split choice `choice`.
    Complete { task: TaskIx, choice: usize },
    /// The empty task fired and completed through split choice `choice`.
    Run {
        task: TaskIx,
        from: Option<PlaceIx>,
        choice: usize,
    },
    /// The blocking partial join absorbed late branches.
    Absorb { task: TaskIx },
}

/// How a state ends the net, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The net goes on.
    No,
    /// The net completed with nothing left over.
    Proper,
    /// The net completed with tokens left or tasks busy.
    Improper,
}

/// The explored state space.
pub(super) struct Space {
    /// States in breadth-first order; state 0 is the launch state.
    pub(super) states: Vec<State>,
    /// For each state but the first: the state it was first reached from, and how.
    pub(super) parent: Vec<Option<(u32, Step)>>,
    /// Successors of each expanded state.
    pub(super) successors: Vec<Vec<u32>>,
    /// How each expanded state ends the net.
    pub(super) endings: Vec<Ending>,
    /// Whether each expanded state has no step (and does not end the net by marking).
    pub(super) stuck: Vec<bool>,
    /// Which tasks fired at least once.
    pub(super) fired: Vec<bool>,
    /// Why exploration stopped early, if it did.
    pub(super) unknown: Option<UnknownReason>,
}

/// The changes one step makes to the state being expanded: slot overrides, the last
/// one for a slot winning.
#[derive(Debug, Clone, Default)]
struct Delta(Vec<(usize, u32)>);

impl Delta {
    /// Slot `slot` after the changes so far, over the expanded state `dense`.
    fn get(&self, dense: &[u32], slot: usize) -> u32 {
        self.0
            .iter()
            .rev()
            .find(|(s, _)| *s == slot)
            .map_or(dense[slot], |(_, v)| *v)
    }

    fn set(&mut self, slot: usize, value: u32) {
        self.0.push((slot, value));
    }

    /// The new sparse state: `base` (the expanded state's pairs) with the changes.
    fn apply(&self, base: &[u32]) -> State {
        let changes: BTreeMap<usize, u32> = self.0.iter().copied().collect();
        let mut out = Vec::with_capacity(base.len() + 2 * changes.len());
        let mut changes = changes.into_iter().peekable();
        for pair in base.chunks_exact(2) {
            let slot = pair[0] as usize;
            while let Some((s, v)) = changes.next_if(|(s, _)| *s < slot) {
                push_pair(&mut out, s, v);
            }
            match changes.next_if(|(s, _)| *s == slot) {
                Some((s, v)) => push_pair(&mut out, s, v),
                None => push_pair(&mut out, slot, pair[1]),
            }
        }
        for (s, v) in changes {
            push_pair(&mut out, s, v);
        }
        out.into()
    }
}

fn push_pair(out: &mut Vec<u32>, slot: usize, value: u32) {
    if value != 0 {
        out.push(slot as u32);
        out.push(value);
    }
}

/// Explores the state space of a compiled net.
pub(super) struct Explorer<'a> {
    pub(super) net: &'a CompiledNet,
    places: usize,
    tasks: usize,
    /// The partial-join tasks, in task order: slot `places + tasks + k` holds the mask
    /// of the `k`-th.
    partial: Vec<TaskIx>,
    /// Split choices per task: the places each choice marks.
    pub(super) choices: Vec<Vec<Vec<PlaceIx>>>,
    or_join_work_max: u64,
}

impl<'a> Explorer<'a> {
    /// Prepares `net`, or says why its state space cannot be explored.
    pub(super) fn new(net: &'a CompiledNet, or_join_work_max: u64) -> Result<Self, UnknownReason> {
        let mut choices = Vec::with_capacity(net.tasks.len());
        let mut partial = Vec::new();
        for (i, task) in net.tasks.iter().enumerate() {
            choices.push(split_choices(task)?);
            if task.partial_join.is_some() {
                if task.preset_places.len() > PARTIAL_JOIN_BRANCHES_MAX {
                    return Err(UnknownReason::PartialJoinTooWide {
                        task: task.id.to_string(),
                    });
                }
                partial.push(TaskIx(i as u32));
            }
        }
        Ok(Explorer {
            net,
            places: net.places.len(),
            tasks: net.tasks.len(),
            partial,
            choices,
            or_join_work_max,
        })
    }

    fn slots(&self) -> usize {
        self.places + self.tasks + self.partial.len()
    }

    fn busy_slot(&self, task: TaskIx) -> usize {
        self.places + task.0 as usize
    }

    /// The slot of `task`'s partial-join mask, if it has a partial join.
    fn partial_slot(&self, task: TaskIx) -> Option<usize> {
        self.partial
            .iter()
            .position(|t| *t == task)
            .map(|k| self.places + self.tasks + k)
    }

    /// The launch state: one token in the input condition.
    fn launch(&self) -> State {
        vec![self.net.input.0, 1].into()
    }

    /// The marked places of a state, with their token counts.
    pub(super) fn tokens<'s>(&self, state: &'s [u32]) -> impl Iterator<Item = (PlaceIx, u32)> + 's {
        let places = self.places as u32;
        state
            .chunks_exact(2)
            .filter(move |pair| pair[0] < places)
            .map(|pair| (PlaceIx(pair[0]), pair[1]))
    }

    /// The busy tasks of a state.
    pub(super) fn busy<'s>(&self, state: &'s [u32]) -> impl Iterator<Item = TaskIx> + 's {
        let (from, to) = (self.places as u32, (self.places + self.tasks) as u32);
        state
            .chunks_exact(2)
            .filter(move |pair| (from..to).contains(&pair[0]))
            .map(move |pair| TaskIx(pair[0] - from))
    }

    /// How `state` ends the net.
    fn ending(&self, state: &[u32]) -> Ending {
        if self.net.termination != Termination::Explicit {
            return Ending::No;
        }
        let output = self.net.output;
        let total: u64 = self.tokens(state).map(|(_, c)| u64::from(c)).sum();
        let in_output = self.tokens(state).any(|(p, c)| p == output && c > 0);
        let busy = self.busy(state).next().is_some();
        if in_output {
            if total == 1 && !busy {
                Ending::Proper
            } else {
                Ending::Improper
            }
        } else if total == 0 && !busy {
            // YAWL: a net with no tokens left and nothing running is complete.
            Ending::Proper
        } else {
            Ending::No
        }
    }

    /// Explores breadth-first from the launch state, up to `states_max` states, or
    /// until `interrupt` is raised.
    pub(super) fn explore(&self, states_max: usize, interrupt: &Interrupt) -> Space {
        let mut space = Space {
            states: vec![self.launch()],
            parent: vec![None],
            successors: Vec::new(),
            endings: Vec::new(),
            stuck: Vec::new(),
            fired: vec![false; self.tasks],
            unknown: None,
        };
        let mut index: HashMap<State, u32> = HashMap::new();
        index.insert(space.states[0].clone(), 0);
        let mut dense = vec![0u32; self.slots()];
        let mut at = 0;
        while at < space.states.len() {
            if interrupt.is_raised() {
                space.unknown = Some(UnknownReason::Interrupted);
                break;
            }
            let state = space.states[at].clone();
            let ending = self.ending(&state);
            let steps = if ending == Ending::No {
                for pair in state.chunks_exact(2) {
                    dense[pair[0] as usize] = pair[1];
                }
                let steps = self.steps(&state, &dense);
                for pair in state.chunks_exact(2) {
                    dense[pair[0] as usize] = 0;
                }
                match steps {
                    Ok(steps) => steps,
                    Err(reason) => {
                        space.unknown = Some(reason);
                        break;
                    }
                }
            } else {
                Vec::new()
            };
            let stuck = ending == Ending::No && steps.is_empty();
            // Under implicit termination a net with nothing left to do has completed.
            let ending = match (stuck, self.net.termination) {
                (true, Termination::Implicit) => Ending::Proper,
                _ => ending,
            };
            let mut next_ids = Vec::with_capacity(steps.len());
            for (step, next) in steps {
                if let Some(task) = fired_task(&step) {
                    space.fired[task.0 as usize] = true;
                }
                let id = match index.get(&next) {
                    Some(id) => *id,
                    None => {
                        if space.states.len() >= states_max {
                            space.unknown = Some(UnknownReason::StatesBudget { states_max });
                            break;
                        }
                        let id = space.states.len() as u32;
                        index.insert(next.clone(), id);
                        space.states.push(next);
                        space.parent.push(Some((at as u32, step)));
                        id
                    }
                };
                next_ids.push(id);
            }
            if space.unknown.is_some() {
                break;
            }
            space.successors.push(next_ids);
            space.endings.push(ending);
            space.stuck.push(stuck && ending == Ending::No);
            at += 1;
        }
        space
    }

    /// Every step from `state` (spread over `dense`), with the state it leads to.
    fn steps(&self, state: &[u32], dense: &[u32]) -> Result<Vec<(Step, State)>, UnknownReason> {
        // The kernel absorbs late partial-join branches before anything else fires.
        if let Some((step, delta)) = self.absorb(dense) {
            return Ok(vec![(step, delta.apply(state))]);
        }
        // Only a busy task, or one with a marked preset place, can take a step.
        let mut candidates: Vec<TaskIx> = self.busy(state).collect();
        for (place, _) in self.tokens(state) {
            candidates.extend_from_slice(&self.net.consumers[place.0 as usize]);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut steps = Vec::new();
        for ix in candidates {
            let i = ix.0 as usize;
            if dense[self.busy_slot(ix)] != 0 {
                for choice in 0..self.choices[i].len() {
                    let next = self.complete(dense, Delta::default(), ix, choice);
                    steps.push((Step::Complete { task: ix, choice }, next.apply(state)));
                }
                continue;
            }
            for (from, consumed) in self.starts(dense, ix)? {
                if self.net.task(ix).body == Body::Empty {
                    for choice in 0..self.choices[i].len() {
                        let next = self.complete(dense, consumed.clone(), ix, choice);
                        let step = Step::Run {
                            task: ix,
                            from,
                            choice,
                        };
                        steps.push((step, next.apply(state)));
                    }
                } else {
                    let mut next = consumed;
                    next.set(self.busy_slot(ix), 1);
                    steps.push((Step::Start { task: ix, from }, next.apply(state)));
                }
            }
        }
        Ok(steps)
    }

    /// The ways task `ix` may fire in the state `dense`: for each, the XOR-join's
    /// source place (when it had a choice) and the consumption of its tokens.
    fn starts(
        &self,
        dense: &[u32],
        ix: TaskIx,
    ) -> Result<Vec<(Option<PlaceIx>, Delta)>, UnknownReason> {
        let task = self.net.task(ix);
        let count = |p: &PlaceIx| dense[p.0 as usize];
        if task.preset_places.is_empty() {
            return Ok(Vec::new());
        }
        if let Some((required, mode)) = task.partial_join {
            let Some(slot) = self.partial_slot(ix) else {
                return Ok(Vec::new());
            };
            let marked = task.preset_places.iter().filter(|p| count(p) > 0).count();
            if dense[slot] != 0 || marked < required as usize {
                return Ok(Vec::new());
            }
            let mut next = Delta::default();
            let mut mask = 0u32;
            for (k, p) in task.preset_places.iter().enumerate() {
                if count(p) > 0 {
                    next.set(p.0 as usize, count(p) - 1);
                    mask |= 1 << k;
                }
            }
            let all = all_bits(task.preset_places.len());
            let kept = mode == PartialJoinMode::Blocking && mask != all;
            next.set(slot, if kept { mask } else { 0 });
            return Ok(vec![(None, next)]);
        }
        let n = task.thread_merge.max(1);
        let take_from = |places: &[PlaceIx]| {
            let mut next = Delta::default();
            for p in places {
                next.set(p.0 as usize, count(p).saturating_sub(n));
            }
            next
        };
        match task.join {
            JoinCode::And => {
                if task.preset_places.iter().all(|p| count(p) >= n) {
                    Ok(vec![(None, take_from(&task.preset_places))])
                } else {
                    Ok(Vec::new())
                }
            }
            JoinCode::Xor => {
                let choice = task.preset_places.len() > 1;
                Ok(task
                    .preset_places
                    .iter()
                    .filter(|p| count(p) >= n)
                    .map(|p| (choice.then_some(*p), take_from(&[*p])))
                    .collect())
            }
            JoinCode::Or => {
                if !task.preset_places.iter().any(|p| count(p) >= n) {
                    return Ok(Vec::new());
                }
                let all_marked = task.preset_places.iter().all(|p| count(p) > 0);
                if !all_marked && !self.or_join_enabled(dense, ix)? {
                    return Ok(Vec::new());
                }
                Ok(vec![(None, take_from(&task.preset_places))])
            }
        }
    }

    /// The kernel's OR-join analysis on the state `dense`.
    fn or_join_enabled(&self, dense: &[u32], ix: TaskIx) -> Result<bool, UnknownReason> {
        let mut marking = Marking::new(self.net);
        for (i, c) in dense[..self.places].iter().enumerate() {
            marking.add(PlaceIx(i as u32), *c);
        }
        let mut busy = Bitset::new(self.tasks);
        for (t, flag) in dense[self.places..self.places + self.tasks]
            .iter()
            .enumerate()
        {
            if *flag != 0 {
                busy.insert(t);
            }
        }
        match knhk_kernel::or_join_enabled(self.net, ix, &marking, &busy, self.or_join_work_max) {
            OrJoinVerdict::Enabled => Ok(true),
            OrJoinVerdict::NotEnabled => Ok(false),
            OrJoinVerdict::Unknown => Err(UnknownReason::OrJoinBudget {
                task: self.net.task(ix).id.to_string(),
            }),
        }
    }

    /// Completes task `ix` (its tokens already consumed by `next`, busy or not) through
    /// split choice `choice`: the cancellation set first, then the split.
    fn complete(&self, dense: &[u32], mut next: Delta, ix: TaskIx, choice: usize) -> Delta {
        let task = self.net.task(ix);
        next.set(self.busy_slot(ix), 0);
        for p in task.cancel_places.iter() {
            next.set(p, 0);
        }
        for member in &task.cancel_tasks {
            next.set(self.busy_slot(*member), 0);
            if let Some(slot) = self.partial_slot(*member) {
                next.set(slot, 0);
            }
        }
        let n = task.thread_split.max(1);
        if let Some(places) = self.choices[ix.0 as usize].get(choice) {
            for p in places {
                let slot = p.0 as usize;
                let tokens = next.get(dense, slot).saturating_add(n);
                next.set(slot, tokens);
            }
        }
        next
    }

    /// The kernel's absorption step: each fired blocking partial join takes one token
    /// from every branch that has not arrived yet, and resets once all have. Returns
    /// the step of the first join that absorbs anything.
    fn absorb(&self, dense: &[u32]) -> Option<(Step, Delta)> {
        for (k, ix) in self.partial.iter().enumerate() {
            let slot = self.places + self.tasks + k;
            let mask = dense[slot];
            if mask == 0 {
                continue;
            }
            let task = self.net.task(*ix);
            let mut next = Delta::default();
            let mut arrived = mask;
            for (b, p) in task.preset_places.iter().enumerate() {
                let count = dense[p.0 as usize];
                if arrived & (1 << b) == 0 && count > 0 {
                    next.set(p.0 as usize, count - 1);
                    arrived |= 1 << b;
                }
            }
            if arrived != mask {
                let all = all_bits(task.preset_places.len());
                next.set(slot, if arrived == all { 0 } else { arrived });
                return Some((Step::Absorb { task: *ix }, next));
            }
        }
        None
    }
}

/// The task a step fires, if it fires one.
fn fired_task(step: &Step) -> Option<TaskIx> {
    match step {
        Step::Start { task, .. } | Step::Run { task, .. } => Some(*task),
        Step::Complete { .. } | Step::Absorb { .. } => None,
    }
}

/// A mask with the low `n` bits set.
fn all_bits(n: usize) -> u32 {
    if n >= 32 { u32::MAX } else { (1 << n) - 1 }
}

/// The branch sets a task's split may mark, predicates ignored: all branches for an
/// AND-split, each one for an XOR-split, and for an OR-split every set of optional
/// branches (those with a predicate, the default among them when it has one), with
/// the default alone standing in for the empty set.
fn split_choices(task: &knhk_kernel::CompiledTask) -> Result<Vec<Vec<PlaceIx>>, UnknownReason> {
    let places = |branches: &[&knhk_kernel::Branch]| branches.iter().map(|b| b.place).collect();
    let all: Vec<&knhk_kernel::Branch> = task.branches.iter().collect();
    if all.is_empty() {
        // Nothing to mark; completing still ends the task.
        return Ok(vec![Vec::new()]);
    }
    match task.split {
        SplitCode::And => Ok(vec![places(&all)]),
        SplitCode::Xor => Ok(all.iter().map(|b| vec![b.place]).collect()),
        SplitCode::Or => {
            let (optional, always): (Vec<_>, Vec<_>) = all
                .iter()
                .copied()
                .partition(|b| b.predicate.is_some() || all.len() == 1);
            // A branch without a predicate other than the default is always taken; a
            // default without one is taken only when nothing else is.
            let (defaults, always): (Vec<_>, Vec<_>) = always.into_iter().partition(|b| b.default);
            if optional.len() > OR_SPLIT_BRANCHES_MAX {
                return Err(UnknownReason::SplitTooWide {
                    task: task.id.to_string(),
                    branches: optional.len(),
                });
            }
            let mut choices = Vec::new();
            for subset in 0u32..(1 << optional.len()) {
                let mut chosen: Vec<&knhk_kernel::Branch> = always.clone();
                for (k, b) in optional.iter().enumerate() {
                    if subset & (1 << k) != 0 {
                        chosen.push(b);
                    }
                }
                if chosen.is_empty() {
                    chosen.extend(defaults.iter().copied());
                }
                if chosen.is_empty() {
                    continue;
                }
                let mut marked: Vec<PlaceIx> = places(&chosen);
                marked.sort();
                if !choices.contains(&marked) {
                    choices.push(marked);
                }
            }
            if choices.is_empty() {
                choices.push(Vec::new());
            }
            Ok(choices)
        }
    }
}
