//! YAWL's OR-join: whether an OR-join task may fire now, decided non-locally.
//!
//! An OR-join (WCP 38) fires once some preset place is marked and no *empty* preset
//! place can still receive a token. "Can still" ranges over every future of the net
//! instance, so it takes an analysis, not a look at the preset. This module ports
//! YAWL's analysis (`YNet.orJoinEnabled` and `E2WFOJNet`, after Wynn, Edmond, van der
//! Aalst and ter Hofstede, *Achieving a General, Formal and Decidable Approach to the
//! OR-join in Workflow Using Reset Nets*, ICATPN 2005; yawl-reference.md §2):
//!
//! 1. No preset place marked: not enabled. Every preset place marked: enabled.
//! 2. Otherwise the net becomes a *reset net*. Its places are the net's places plus,
//!    per task `t`, a place `p_t` ("t is busy") and its complement `idle_t` (below).
//!    *Start* transitions move tokens from the preset, and the token from `idle_t`,
//!    into `p_t`: one for an AND-join, one per preset place for an XOR-join. *End*
//!    transitions move the token from `p_t` to the postset and back to `idle_t`: one
//!    for an AND-split and one per branch for an XOR-split; an OR-split gets the single
//!    all-branches transition (below). Every end transition clears the task's
//!    cancellation set (its places, and `p_u` and `idle_u` of each task `u` it cancels,
//!    which then get their idle token back) through reset arcs before it produces, as
//!    YAWL's `t_exit` runs the cancellation before the split. The OR-join under test
//!    gets no start transition: the question is what reaches it while it waits.
//! 3. The transitions are pruned to those that can fire from the current marking
//!    (forwards, structurally) and can contribute to the join's preset (backwards).
//! 4. The marking is mapped over: condition counts, and one token in `p_t` per busy
//!    task and in `idle_t` per other task.
//! 5. For each empty preset place `q`, the *target* is one token in `q` and one in each
//!    marked preset place. Whether the target is *coverable* (some reachable marking is
//!    at least the target) is decided backwards. Starting from the target, each
//!    transition is applied in reverse to give the least marking from which firing it
//!    covers the element in hand; only the minimal elements are kept, until nothing new
//!    appears. The result is a finite basis of the markings the target is coverable
//!    from, and the target is coverable from the current marking `M` iff some basis
//!    element is at most `M`. A transition with a reset arc on place `s` cannot be used
//!    backwards when the element needs tokens in `s` beyond what the transition itself
//!    puts there, because firing it leaves exactly that many. Elements no reachable
//!    marking can cover are dropped on sight: those needing more tokens than `M` has
//!    in a place that no remaining transition fills, and those needing more than one
//!    token in `p_t` and `idle_t` together (their sum is always 1).
//! 6. A coverable target means a token may yet arrive in `q`: not enabled. When no
//!    target is coverable the join is enabled.
//!
//! The analysis reads the marking and never changes it: it works on its own copy, in
//! reset-net coordinates.
//!
//! # A busy task does not start again
//!
//! YAWL's engine never enables a busy task (yawl-reference.md §2), but `E2WFOJNet` has
//! no `idle_t`, so in its reset net a task may start again while busy. That
//! over-approximation changes verdicts: in `ORJoin_Cancel_Infiniteloop.xml`, with one
//! token in c2, YAWL's reset net lets C start twice after B has doubled c2, ending with
//! c2 and c3 marked together, so the OR-join E would wait; in the engine C's
//! completion always clears c2, and E may fire (yawl-specs/INDEX.md expects this). The
//! complement place encodes the engine's rule exactly and keeps the net a reset net,
//! so everything below still holds. Here this module deliberately answers as the
//! engine behaves, not as `E2WFOJNet` computes.
//!
//! # One transition per OR-split
//!
//! YAWL gives an OR-split one end transition per non-empty subset of its branches,
//! which grows as `2^n` (YAWL issue #310 reports 90 minutes of analysis on a four-way
//! split). One transition putting a token on *every* branch gives the same verdict,
//! exactly. Reset nets are monotone: from a larger marking every transition sequence
//! still fires and ends in a marking at least as large, since a reset clears the two
//! markings to the same value and every other place keeps its surplus. The
//! all-branches transition has the same input and the same reset arcs as each subset
//! transition and a larger output, so any run through a subset transition can take the
//! all-branches one instead and continue to a larger marking; targets are
//! upward-closed, so nothing coverable is lost and nothing is added. Backwards, its
//! pre-image is below every subset transition's, so those would never be minimal
//! anyway.
//!
//! # Approximations
//!
//! - **Other OR-joins are treated as XOR-joins**, as YAWL does. Deciding them too would
//!   make the analysis recursive, and circular when two OR-joins wait on each other. An
//!   XOR-join fires whenever the OR-join could and consumes no more, so this
//!   over-approximates what the other OR-joins do: the verdict may wait for a token
//!   that another OR-join would in fact hold back, but it never fires too early because
//!   of them.
//! - **Partial joins** (N out of M) get one start transition per `required`-subset of
//!   their preset, the token reading of "any N branches". Blocking mode's absorption of
//!   late branches only removes tokens, so leaving it out over-approximates. Past
//!   `PARTIAL_JOIN_SUBSETS_MAX` subsets each preset place gets its own transition,
//!   which needs and consumes less than any subset and so over-approximates again.
//! - **Thread merge and thread split** become arc weights: a start transition consumes
//!   `thread_merge` tokens from each place it consumes from, and an end transition puts
//!   `thread_split` tokens on each branch.
//! - **Predicates, triggers and timers are ignored**: every branch of an XOR or OR
//!   split may be taken, and a triggered task is assumed to get its signal (trigger
//!   places lie in no preset, so they stay plain, unused places).
//! - **Busy tasks** hold one token in `p_t`, whatever their instances or subnet: instances
//!   and subnets stay inside the task until it completes.
//!
//! # Budget
//!
//! Coverability in reset nets is decidable (Dickson's lemma keeps the basis finite, so
//! the backward search ends), but its worst case is not primitive recursive.
//! `work_max` therefore bounds the work: each transition applied backwards to a basis
//! element costs one unit, and once none are left the verdict is
//! [`OrJoinVerdict::Unknown`]. Its caller reports the spent budget as an outcome
//! (STYLE.md §6) rather than hanging a case, and `OrJoinCache` does not remember it.
//! Answers that need no search (step 1, or an empty preset place that no live
//! transition feeds) cost nothing.
//!
//! The analysis is deterministic: transitions are listed in task order, the search is
//! breadth-first over a FIFO queue, and the basis is a vector.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use knhk_model::{JoinCode, SplitCode};

use crate::bitset::Bitset;
use crate::compile::{Branch, CompiledNet, CompiledTask, NetIx, PlaceIx, TaskIx};
use crate::marking::Marking;

/// The answer of the OR-join analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrJoinVerdict {
    /// No empty preset place can receive a token any more: the join may fire.
    Enabled,
    /// The join is not enabled (no preset token, or more tokens can still arrive).
    NotEnabled,
    /// The analysis ran out of its work budget before deciding.
    Unknown,
}

/// The most start transitions a partial join gets, one per `required`-subset of its
/// preset; past it each preset place gets one (module docs, "Approximations").
const PARTIAL_JOIN_SUBSETS_MAX: u64 = 64;

/// Decides whether OR-join `task` of `net` is enabled in `marking`, with `busy` the set
/// of tasks (by index) currently running in the net instance. `work_max` bounds the
/// number of backward steps; past it the verdict is [`OrJoinVerdict::Unknown`].
///
/// The marking is only read. See the module docs for the algorithm.
pub fn or_join_enabled(
    net: &CompiledNet,
    task: TaskIx,
    marking: &Marking,
    busy: &Bitset,
    work_max: u64,
) -> OrJoinVerdict {
    analyse(net, task, marking, busy, work_max).0
}

/// [`or_join_enabled`], with the work units the analysis spent.
fn analyse(
    net: &CompiledNet,
    task: TaskIx,
    marking: &Marking,
    busy: &Bitset,
    work_max: u64,
) -> (OrJoinVerdict, u64) {
    let Some(join) = net.tasks.get(task.0 as usize) else {
        return (OrJoinVerdict::NotEnabled, 0);
    };
    let occupied = marking.occupied();
    if !join.preset.intersects(occupied) {
        return (OrJoinVerdict::NotEnabled, 0);
    }
    if join.preset.is_subset(occupied) {
        return (OrJoinVerdict::Enabled, 0);
    }
    let reset_net = ResetNet::translate(net, task);
    let start = reset_net.map_marking(marking, busy);
    let pruned = reset_net.prune(&start, &join.preset_places);
    let mut search = Search::new(&pruned, &start, work_max);
    let verdict = decide(join, &start, &mut search);
    (verdict, work_max - search.work_left)
}

/// Steps 5 and 6: the verdict from the coverability of each target.
fn decide(join: &CompiledTask, start: &[u32], search: &mut Search<'_>) -> OrJoinVerdict {
    let tokens = |p: &PlaceIx| start.get(p.0 as usize).copied().unwrap_or(0);
    let (marked, empty): (Vec<PlaceIx>, Vec<PlaceIx>) = join
        .preset_places
        .iter()
        .copied()
        .partition(|p| tokens(p) > 0);
    for q in empty {
        let mut target = vec![0; start.len()];
        for p in marked.iter().chain([&q]) {
            target[p.0 as usize] = 1;
        }
        match search.coverable(target) {
            Err(OutOfWork) => return OrJoinVerdict::Unknown,
            Ok(true) => return OrJoinVerdict::NotEnabled,
            Ok(false) => {}
        }
    }
    OrJoinVerdict::Enabled
}

/// A reset-net transition. Firing it takes `pre` tokens, then empties the `resets`
/// places, then adds `post` tokens; places are `(index, weight)`.
#[derive(Debug, Clone)]
struct Transition {
    pre: Vec<(usize, u32)>,
    resets: Vec<usize>,
    post: Vec<(usize, u32)>,
}

/// Where the reset net keeps what: the net's places, then a busy place per task, then
/// an idle place per task.
#[derive(Debug, Clone, Copy)]
struct Layout {
    conditions: usize,
    tasks: usize,
}

impl Layout {
    /// `p_t`: task `task` is running.
    fn busy(self, task: usize) -> usize {
        self.conditions + task
    }

    /// The complement of `p_t`: task `task` is not running, so it may start.
    fn idle(self, task: usize) -> usize {
        self.conditions + self.tasks + task
    }

    /// How many places there are.
    fn places(self) -> usize {
        self.conditions + 2 * self.tasks
    }

    /// Whether `m` keeps `p_t + idle_t <= 1` for every task, as every reachable
    /// marking does (exactly 1).
    fn consistent(self, m: &[u32]) -> bool {
        (0..self.tasks).all(|t| {
            let count = |p: usize| m.get(p).copied().unwrap_or(0);
            count(self.busy(t)).saturating_add(count(self.idle(t))) <= 1
        })
    }
}

/// The reset net of one OR-join question.
#[derive(Debug)]
struct ResetNet {
    layout: Layout,
    transitions: Vec<Transition>,
}

impl ResetNet {
    /// Step 2: translates `net`, giving OR-join `join` no start transition.
    fn translate(net: &CompiledNet, join: TaskIx) -> Self {
        let layout = Layout {
            conditions: net.places.len(),
            tasks: net.tasks.len(),
        };
        let mut transitions = Vec::new();
        for (i, task) in net.tasks.iter().enumerate() {
            if i != join.0 as usize {
                start_transitions(task, layout, i, &mut transitions);
            }
            end_transitions(task, layout, i, &mut transitions);
        }
        ResetNet {
            layout,
            transitions,
        }
    }

    /// Step 4: `marking` and the `busy` tasks in reset-net coordinates.
    fn map_marking(&self, marking: &Marking, busy: &Bitset) -> Vec<u32> {
        let layout = self.layout;
        let mut tokens = vec![0; layout.places()];
        for (slot, count) in tokens[..layout.conditions].iter_mut().zip(marking.counts()) {
            *slot = count;
        }
        for task in 0..layout.tasks {
            let running = task < busy.word_count() * 64 && busy.contains(task);
            let place = if running {
                layout.busy(task)
            } else {
                layout.idle(task)
            };
            tokens[place] = 1;
        }
        tokens
    }

    /// Step 3: keeps the transitions that may fire from `start` and may contribute a
    /// token to `preset`.
    fn prune(self, start: &[u32], preset: &[PlaceIx]) -> Self {
        let live = self.forward_live(start);
        let keep = self.backward_relevant(&live, preset);
        let transitions = self
            .transitions
            .into_iter()
            .zip(keep)
            .filter_map(|(t, k)| k.then_some(t))
            .collect();
        ResetNet {
            transitions,
            ..self
        }
    }

    /// Which transitions may fire from `start`, ignoring counts: each round either
    /// marks a new transition live or ends, so there are at most as many rounds as
    /// transitions.
    fn forward_live(&self, start: &[u32]) -> Vec<bool> {
        let mut marked: Vec<bool> = start.iter().map(|c| *c > 0).collect();
        let mut live = vec![false; self.transitions.len()];
        let mut changed = true;
        while changed {
            changed = false;
            for (t, is_live) in self.transitions.iter().zip(live.iter_mut()) {
                if !*is_live && t.pre.iter().all(|(p, _)| marked[*p]) {
                    *is_live = true;
                    changed = true;
                    t.post.iter().for_each(|(p, _)| marked[*p] = true);
                }
            }
        }
        live
    }

    /// Which `live` transitions may put a token, through other live transitions, in
    /// `preset`; bounded like [`ResetNet::forward_live`].
    fn backward_relevant(&self, live: &[bool], preset: &[PlaceIx]) -> Vec<bool> {
        let mut needed = vec![false; self.layout.places()];
        preset.iter().for_each(|p| needed[p.0 as usize] = true);
        let mut keep = vec![false; self.transitions.len()];
        let mut changed = true;
        while changed {
            changed = false;
            for ((t, kept), is_live) in self.transitions.iter().zip(keep.iter_mut()).zip(live) {
                if *is_live && !*kept && t.post.iter().any(|(p, _)| needed[*p]) {
                    *kept = true;
                    changed = true;
                    t.pre.iter().for_each(|(p, _)| needed[*p] = true);
                }
            }
        }
        keep
    }
}

/// Adds the transitions that start task `own` (`task`) to `out`: each takes its
/// preset group and the idle token, and marks the task busy.
fn start_transitions(task: &CompiledTask, layout: Layout, own: usize, out: &mut Vec<Transition>) {
    let merge = task.thread_merge.max(1);
    let preset: Vec<usize> = task.preset_places.iter().map(|p| p.0 as usize).collect();
    let groups = match (task.join, task.partial_join) {
        (JoinCode::And, Some((required, _))) => partial_join_groups(&preset, required as usize),
        (JoinCode::And, None) => vec![preset],
        // Another OR-join is treated as an XOR-join (module docs).
        (JoinCode::Xor | JoinCode::Or, _) => preset.iter().map(|p| vec![*p]).collect(),
    };
    for group in groups {
        let pre = group
            .into_iter()
            .map(|p| (p, merge))
            .chain([(layout.idle(own), 1)])
            .collect();
        out.push(Transition {
            pre,
            resets: Vec::new(),
            post: vec![(layout.busy(own), 1)],
        });
    }
}

/// Adds the transitions that complete task `own` (`task`) to `out`: each takes the
/// busy token, clears the cancellation set, then marks its branches and makes the
/// task, and every task it cancelled, idle.
fn end_transitions(task: &CompiledTask, layout: Layout, own: usize, out: &mut Vec<Transition>) {
    let (resets, idle) = cancellation(task, layout, own);
    let split = task.thread_split.max(1);
    let branch = |b: &Branch| (b.place.0 as usize, split);
    let outputs: Vec<Vec<(usize, u32)>> = match task.split {
        // One all-branches transition stands for every subset (module docs).
        SplitCode::And | SplitCode::Or => vec![task.branches.iter().map(branch).collect()],
        SplitCode::Xor => task.branches.iter().map(|b| vec![branch(b)]).collect(),
    };
    for output in outputs {
        let post = output
            .into_iter()
            .chain(idle.iter().map(|p| (*p, 1)))
            .collect();
        let pre = vec![(layout.busy(own), 1)];
        out.push(Transition {
            pre,
            resets: resets.clone(),
            post,
        });
    }
}

/// What completing task `own` (`task`) resets (its cancelled places, and the busy and
/// idle places of its cancelled tasks), and the idle places it then marks (its own,
/// and those of its cancelled tasks, which end up idle whether or not they ran).
fn cancellation(task: &CompiledTask, layout: Layout, own: usize) -> (Vec<usize>, Vec<usize>) {
    let cancelled: Vec<usize> = task
        .cancel_tasks
        .iter()
        .map(|t| t.0 as usize)
        .filter(|t| *t < layout.tasks)
        .collect();
    let task_places = cancelled
        .iter()
        .flat_map(|t| [layout.busy(*t), layout.idle(*t)]);
    let resets = task.cancel_places.iter().chain(task_places).collect();
    let mut idle: Vec<usize> = cancelled
        .iter()
        .chain([&own])
        .map(|t| layout.idle(*t))
        .collect();
    idle.sort_unstable();
    idle.dedup();
    (resets, idle)
}

/// The preset groups a partial join may fire on: every `required`-subset, or each
/// place alone when there are more than [`PARTIAL_JOIN_SUBSETS_MAX`] subsets.
fn partial_join_groups(preset: &[usize], required: usize) -> Vec<Vec<usize>> {
    if binomial_exceeds(preset.len(), required, PARTIAL_JOIN_SUBSETS_MAX) {
        return preset.iter().map(|p| vec![*p]).collect();
    }
    let mut groups = Vec::new();
    subsets(
        preset,
        required,
        &mut Vec::with_capacity(required),
        &mut groups,
    );
    groups
}

/// Whether `n` choose `k` exceeds `max`.
fn binomial_exceeds(n: usize, k: usize, max: u64) -> bool {
    if k > n {
        return false;
    }
    // C(n, i) grows with i up to n/2, so checking along the way is exact.
    let k = k.min(n - k) as u64;
    let mut count: u64 = 1;
    for i in 0..k {
        count = count * (n as u64 - i) / (i + 1);
        if count > max {
            return true;
        }
    }
    false
}

/// Pushes onto `out` every extension of `chosen` by members of `rest` to `k` members.
fn subsets(rest: &[usize], k: usize, chosen: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if chosen.len() == k {
        out.push(chosen.clone());
        return;
    }
    for (i, place) in rest.iter().enumerate() {
        chosen.push(*place);
        subsets(&rest[i + 1..], k, chosen, out);
        chosen.pop();
    }
}

/// The work budget ran out.
#[derive(Debug)]
struct OutOfWork;

/// Step 5: backward coverability over a pruned reset net, sharing one budget across
/// targets.
struct Search<'a> {
    layout: Layout,
    transitions: &'a [Transition],
    start: &'a [u32],
    /// Whether some transition puts tokens in the place. The others can only lose
    /// tokens, so an element needing more there than `start` has leads nowhere.
    growable: Vec<bool>,
    work_left: u64,
}

impl<'a> Search<'a> {
    fn new(net: &'a ResetNet, start: &'a [u32], work_max: u64) -> Self {
        let mut growable = vec![false; net.layout.places()];
        for t in &net.transitions {
            t.post.iter().for_each(|(p, _)| growable[*p] = true);
        }
        let transitions = &net.transitions;
        Search {
            layout: net.layout,
            transitions,
            start,
            growable,
            work_left: work_max,
        }
    }

    /// Whether `target` is coverable from the start marking: computes the minimal
    /// basis breadth-first, stopping at the first element below the start.
    fn coverable(&mut self, target: Vec<u32>) -> Result<bool, OutOfWork> {
        if !self.viable(&target) {
            return Ok(false);
        }
        if covers(self.start, &target) {
            return Ok(true);
        }
        let mut basis = vec![target.clone()];
        let mut queue = VecDeque::from([target]);
        while let Some(goal) = queue.pop_front() {
            // A smaller element found since has made this one redundant.
            if !basis.contains(&goal) {
                continue;
            }
            for t in self.transitions {
                let Some(pred) = self.predecessor(t, &goal)? else {
                    continue;
                };
                if covers(self.start, &pred) {
                    return Ok(true);
                }
                if insert_minimal(&mut basis, &pred) {
                    queue.push_back(pred);
                }
            }
        }
        Ok(false)
    }

    /// The least viable marking from which firing `t` covers `goal`, charged to the
    /// budget; `None` when `t` puts nothing in `goal` or cannot precede it.
    fn predecessor(&mut self, t: &Transition, goal: &[u32]) -> Result<Option<Vec<u32>>, OutOfWork> {
        if !t.post.iter().any(|(p, _)| goal[*p] > 0) {
            return Ok(None);
        }
        if self.work_left == 0 {
            return Err(OutOfWork);
        }
        self.work_left -= 1;
        Ok(pre_image(t, goal).filter(|m| self.viable(m)))
    }

    /// Whether some reachable marking may be at least `m`: `m` needs no more tokens
    /// than the start has in places nothing refills, and no task both busy and idle
    /// (or busy twice).
    fn viable(&self, m: &[u32]) -> bool {
        let limits = self.start.iter().zip(&self.growable);
        let refillable = m
            .iter()
            .zip(limits)
            .all(|(need, (have, grows))| *grows || need <= have);
        refillable && self.layout.consistent(m)
    }
}

/// The least marking from which firing `t` covers `goal`, or `None` when `t` empties a
/// place in which `goal` needs more than `t` puts back.
fn pre_image(t: &Transition, goal: &[u32]) -> Option<Vec<u32>> {
    let mut m = goal.to_vec();
    for (p, n) in &t.post {
        m[*p] = m[*p].saturating_sub(*n);
    }
    if t.resets.iter().any(|p| m[*p] > 0) {
        return None;
    }
    for (p, n) in &t.pre {
        m[*p] = m[*p].saturating_add(*n);
    }
    Some(m)
}

/// Whether `big` is at least `small` in every place.
fn covers(big: &[u32], small: &[u32]) -> bool {
    small.iter().zip(big).all(|(s, b)| s <= b)
}

/// Adds `m` to `basis` unless an element is at most `m`, dropping the elements at
/// least `m`; returns whether it was added.
fn insert_minimal(basis: &mut Vec<Vec<u32>>, m: &[u32]) -> bool {
    if basis.iter().any(|b| covers(m, b)) {
        return false;
    }
    basis.retain(|b| !covers(b, m));
    basis.push(m.to_vec());
    true
}

/// Remembers verdicts per (net, task, marking, busy tasks, budget): markings recur
/// across cases of one specification and across the settling of one case, and the
/// analysis is the expensive part of an OR-join. The verdict is a function of that key,
/// so an `Unknown` is remembered too: a net whose analysis exhausts the budget pays for
/// it once per marking, not at every command.
#[derive(Debug, Default)]
pub(crate) struct OrJoinCache {
    verdicts: Mutex<BTreeMap<CacheKey, OrJoinVerdict>>,
    probe: OnceLock<Arc<dyn OrJoinProbe>>,
}

/// Watches the OR-join decisions of one compiled specification from outside the kernel
/// (see [`crate::CompiledSpec::set_or_join_probe`]): the runtime counts them and times
/// the analyses, with its own clock, for its metrics. A probe sees decisions; it cannot
/// change one, so the kernel stays a function of its inputs.
pub trait OrJoinProbe: Send + Sync + std::fmt::Debug {
    /// A decision answered from the cache of earlier verdicts.
    fn cached(&self, verdict: OrJoinVerdict);

    /// Runs `analysis` once: it runs the OR-join analysis and returns its verdict and the
    /// work units it spent (the unit of [`crate::Limits::or_join_work_max`]).
    fn analysis(&self, analysis: &mut dyn FnMut() -> (OrJoinVerdict, u64));
}

impl OrJoinVerdict {
    /// The verdict's name: `enabled`, `not_enabled` or `unknown` (the budget ran out).
    pub fn name(self) -> &'static str {
        match self {
            OrJoinVerdict::Enabled => "enabled",
            OrJoinVerdict::NotEnabled => "not_enabled",
            OrJoinVerdict::Unknown => "unknown",
        }
    }
}

type CacheKey = (NetIx, TaskIx, Marking, Bitset, u64);

/// The most verdicts kept per specification; past it the cache starts afresh, which
/// bounds memory without an eviction policy on this cold path.
const CACHE_ENTRIES_MAX: usize = 4096;

impl OrJoinCache {
    /// The cached verdict, or the analysis's (then cached).
    pub(crate) fn verdict(
        &self,
        net_ix: NetIx,
        net: &CompiledNet,
        task: TaskIx,
        marking: &Marking,
        busy: &Bitset,
        work_max: u64,
    ) -> OrJoinVerdict {
        let key = (net_ix, task, marking.clone(), busy.clone(), work_max);
        let probe = self.probe.get();
        if let Ok(cache) = self.verdicts.lock()
            && let Some(verdict) = cache.get(&key)
        {
            if let Some(probe) = probe {
                probe.cached(*verdict);
            }
            return *verdict;
        }
        let mut decided = None;
        if let Some(probe) = probe {
            probe.analysis(&mut || *decided.insert(analyse(net, task, marking, busy, work_max)));
        }
        // Without a probe, or with one that did not run the analysis, it runs here.
        let (verdict, _work) =
            decided.unwrap_or_else(|| analyse(net, task, marking, busy, work_max));
        // A poisoned lock only means another thread panicked mid-insert; skipping the
        // cache is always correct.
        if let Ok(mut cache) = self.verdicts.lock() {
            if cache.len() >= CACHE_ENTRIES_MAX {
                cache.clear();
            }
            cache.insert(key, verdict);
        }
        verdict
    }

    /// Hands the decisions to `probe` from now on; a second probe is ignored.
    pub(crate) fn set_probe(&self, probe: Arc<dyn OrJoinProbe>) {
        let _already_set = self.probe.set(probe);
    }
}
