//! Settling: what happens without a command after every command (routing and
//! composite tasks fire, partial joins absorb, offers are made and withdrawn, nets
//! end), and deadlock detection.

use knhk_model::{JoinCode, Termination};
use serde_json::{Map, Value};

use super::fire::instance_input;
use super::{
    Case, CaseState, CommandError, Event, Events, FailReason, NetInstanceId, StuckPlace,
    WorkItemId, WorkItemRole, WorkItemStatus,
};
use crate::OrJoinFallback;
use crate::bitset::Bitset;
use crate::compile::{Body, PlaceIx, TaskIx};
use crate::orjoin::OrJoinVerdict;

impl Case {
    /// Runs everything that needs no command (empty and composite tasks, partial-join
    /// absorption, net completion) until nothing changes, then makes and withdraws
    /// offers and detects a deadlock.
    pub(super) fn settle(&mut self, ev: &mut Events) -> Result<(), CommandError> {
        let mut steps = 0u32;
        while matches!(self.state, CaseState::Running) {
            if !self.step(ev)? {
                break;
            }
            steps += 1;
            if steps > self.limits.steps_max {
                let reason = FailReason::StepBudgetExhausted {
                    steps: self.limits.steps_max,
                };
                self.end_case(CaseState::Failed { reason }, WorkItemStatus::Withdrawn, ev);
                return Ok(());
            }
        }
        if matches!(self.state, CaseState::Running) {
            self.detect_deadlock(ev);
        }
        Ok(())
    }

    /// Makes one change that needs no command, if there is one. Returns whether it did.
    pub(super) fn step(&mut self, ev: &mut Events) -> Result<bool, CommandError> {
        while let Some(id) = self
            .instances
            .iter()
            .find(|(_, i)| i.dirty)
            .map(|(id, _)| *id)
        {
            if self.step_instance(id, ev)? {
                return Ok(true);
            }
            if let Some(inst) = self.instances.get_mut(&id) {
                inst.dirty = false;
            }
        }
        Ok(false)
    }

    /// [`Case::step`] within net instance `id`, which is dirty; offers are made and
    /// withdrawn on the way.
    pub(super) fn step_instance(
        &mut self,
        id: NetInstanceId,
        ev: &mut Events,
    ) -> Result<bool, CommandError> {
        let net = self.net_of(id);
        let (termination, output) = (net.termination, net.output);
        if termination == Termination::Explicit && self.instances[&id].marking.count(output) > 0 {
            self.complete_net(id, ev)?;
            return Ok(true);
        }
        if self.absorb_partial_arrivals(id) {
            return Ok(true);
        }
        let enabled = self.enabled_tasks(id, ev);
        self.withdraw_stale_offers(id, &enabled, ev);
        self.drop_stale_transient_signals(id);
        if let Some(task) = self.pick_automatic(id, &enabled) {
            self.fire(id, task, None, ev)?;
            return Ok(true);
        }
        self.make_offers(id, &enabled, ev)?;
        let inst = &self.instances[&id];
        let idle = inst.busy.is_empty() && inst.offers.is_empty() && !self.awaits_signal(id);
        let finished = match termination {
            Termination::Explicit => inst.marking.total() == 0,
            Termination::Implicit => true,
        };
        if idle && finished && (id != super::ROOT_INSTANCE || self.items.is_empty()) {
            self.complete_net(id, ev)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A transient signal only counts while its task is waiting for it: once the
    /// task's join no longer holds (another task took the tokens), the signal is lost.
    pub(super) fn drop_stale_transient_signals(&mut self, id: NetInstanceId) {
        if self.net_of(id).triggered.is_empty() {
            return;
        }
        let spec = std::sync::Arc::clone(&self.spec);
        let net = spec.net(self.instances[&id].net);
        for ix in net.triggered.iter().copied() {
            let Some((_, false, place)) = net.task(ix).trigger else {
                continue;
            };
            let inst = &self.instances[&id];
            if inst.marking.count(place) > 0
                && !inst.busy.contains_key(&ix)
                && !self.control_flow_ready(id, ix)
                && let Some(inst) = self.instances.get_mut(&id)
            {
                inst.marking.clear(place);
            }
        }
    }

    /// The tasks of net instance `id` that may fire now (not busy; join, partial join,
    /// thread merge, trigger and OR-join satisfied).
    pub(super) fn enabled_tasks(&self, id: NetInstanceId, ev: &mut Events) -> Vec<TaskIx> {
        let inst = &self.instances[&id];
        let net = self.spec.net(inst.net);
        // Only a task with a marked preset place can be enabled.
        let mut enabled: Vec<TaskIx> = Vec::new();
        let mut places = 0;
        for p in inst.marking.occupied().iter() {
            enabled.extend_from_slice(&net.consumers[p]);
            places += 1;
        }
        if places > 1 {
            enabled.sort_unstable();
            enabled.dedup();
        }
        enabled.retain(|ix| {
            let task = net.task(*ix);
            if inst.busy.contains_key(ix) {
                return false;
            }
            if task.plain {
                let hot = &net.hot[ix.0 as usize];
                let enables = if hot.packed {
                    inst.marking.enables_packed(hot)
                } else {
                    inst.marking.enables(task)
                };
                return enables;
            }
            if let Some((_, _, place)) = task.trigger
                && inst.marking.count(place) == 0
            {
                return false;
            }
            self.control_flow_enabled(id, *ix, ev)
        });
        enabled
    }

    /// Whether the task's join (without its trigger) is satisfied, for deciding whether
    /// a transient signal finds it waiting.
    pub(super) fn control_flow_ready(&self, id: NetInstanceId, task: TaskIx) -> bool {
        self.control_flow_enabled(id, task, &mut Vec::new())
    }

    pub(super) fn control_flow_enabled(
        &self,
        id: NetInstanceId,
        ix: TaskIx,
        ev: &mut Events,
    ) -> bool {
        let inst = &self.instances[&id];
        let net = self.spec.net(inst.net);
        let task = net.task(ix);
        if let Some((required, _)) = task.partial_join {
            let state = inst.partial.get(&ix);
            if state.is_some_and(|s| s.fired) {
                return false;
            }
            let arrived = task
                .preset_places
                .iter()
                .filter(|p| {
                    inst.marking.count(**p) > 0
                        || state.is_some_and(|s| s.arrived.contains(p.0 as usize))
                })
                .count();
            return arrived >= required as usize;
        }
        if !inst.marking.enables(task) {
            return false;
        }
        if task.join != JoinCode::Or || task.preset.is_subset(inst.marking.occupied()) {
            return true;
        }
        let mut busy = Bitset::new(net.tasks.len());
        for t in inst.busy.keys() {
            busy.insert(t.0 as usize);
        }
        let verdict = self.spec.or_join_cache.verdict(
            inst.net,
            net,
            ix,
            &inst.marking,
            &busy,
            self.limits.or_join_work_max,
        );
        match verdict {
            OrJoinVerdict::Enabled => true,
            OrJoinVerdict::NotEnabled => false,
            OrJoinVerdict::Unknown => {
                ev.push(Event::OrJoinUndecided {
                    net_instance: id,
                    task: task.id.clone(),
                });
                self.limits.or_join_fallback == OrJoinFallback::Fire
            }
        }
    }

    /// A blocking partial join that has fired absorbs one token from each branch that
    /// has not arrived yet, and resets once every branch has.
    pub(super) fn absorb_partial_arrivals(&mut self, id: NetInstanceId) -> bool {
        let Case {
            spec, instances, ..
        } = self;
        let Some(inst) = instances.get_mut(&id) else {
            return false;
        };
        if inst.partial.is_empty() {
            return false;
        }
        let net = spec.net(inst.net);
        let mut changed = false;
        for (ix, state) in inst.partial.iter_mut() {
            if !state.fired {
                continue;
            }
            let task = net.task(*ix);
            for place in &task.preset_places {
                let p = place.0 as usize;
                if !state.arrived.contains(p) && inst.marking.take(*place, 1) == 1 {
                    state.arrived.insert(p);
                    changed = true;
                }
            }
        }
        inst.partial
            .retain(|ix, state| !net.task(*ix).preset.is_subset(&state.arrived));
        changed
    }

    pub(super) fn withdraw_stale_offers(
        &mut self,
        id: NetInstanceId,
        enabled: &[TaskIx],
        ev: &mut Events,
    ) {
        let stale: Vec<WorkItemId> = self.instances[&id]
            .offers
            .iter()
            .filter(|(task, _)| !enabled.contains(task))
            .map(|(_, item)| *item)
            .collect();
        for item in stale {
            self.withdraw_item(item, WorkItemStatus::Withdrawn, ev);
        }
    }

    /// YAWL's deferred-choice rule for tasks that run without a work item: among the
    /// enabled tasks sharing a marked place with the first enabled empty or composite
    /// task, a composite one is chosen at random if there is one, else an empty one.
    pub(super) fn pick_automatic(
        &mut self,
        id: NetInstanceId,
        enabled: &[TaskIx],
    ) -> Option<TaskIx> {
        let inst = &self.instances[&id];
        let net = self.spec.net(inst.net);
        let automatic = |t: &TaskIx| net.task(*t).body != Body::Atomic;
        let first = *enabled.iter().find(|t| automatic(t))?;
        let mut shared = net.task(first).preset.clone();
        shared = intersect(&shared, inst.marking.occupied());
        let group: Vec<TaskIx> = enabled
            .iter()
            .copied()
            .filter(|t| *t == first || (automatic(t) && net.task(*t).preset.intersects(&shared)))
            .collect();
        let composites: Vec<TaskIx> = group
            .iter()
            .copied()
            .filter(|t| matches!(net.task(*t).body, Body::Composite(_)))
            .collect();
        let pool = if composites.is_empty() {
            group
        } else {
            composites
        };
        Some(pool[self.rng.below(pool.len())])
    }

    pub(super) fn make_offers(
        &mut self,
        id: NetInstanceId,
        enabled: &[TaskIx],
        ev: &mut Events,
    ) -> Result<(), CommandError> {
        for task in enabled {
            let inst = &self.instances[&id];
            if inst.offers.contains_key(task) {
                continue;
            }
            let net = self.spec.net(inst.net);
            let compiled = net.task(*task);
            let data = if compiled.multiple_instance.is_some() {
                // An MI task's input mappings are per instance (they may read its element,
                // `item`): they run when its instances are created. Its offer, which
                // stands for all of them, shows the net's data, as a task without
                // mappings does.
                let visible = if compiled.mappings_only {
                    Map::new()
                } else {
                    inst.data.clone()
                };
                Value::Object(visible)
            } else {
                let depth_max = self.limits.data_depth_max;
                instance_input(net, compiled, &inst.data, None, depth_max)?
            };
            let item = self.new_item(
                id,
                *task,
                WorkItemRole::Offer,
                WorkItemStatus::Enabled,
                data,
                ev,
            );
            if let Some(inst) = self.instances.get_mut(&id) {
                inst.offers.insert(*task, item);
            }
        }
        Ok(())
    }

    /// Whether some task of instance `id` has its join satisfied and waits only for its
    /// trigger's signal.
    pub(super) fn awaits_signal(&self, id: NetInstanceId) -> bool {
        self.net_of(id).triggered.iter().any(|ix| {
            !self.instances[&id].busy.contains_key(ix) && self.control_flow_ready(id, *ix)
        })
    }

    /// A running case with no live work item, nothing waiting for a signal and an
    /// unfinished root net can never move again: it is deadlocked.
    pub(super) fn detect_deadlock(&mut self, ev: &mut Events) {
        if !self.items.is_empty() || self.instances.keys().any(|id| self.awaits_signal(*id)) {
            return;
        }
        let mut stuck = Vec::new();
        for (id, inst) in &self.instances {
            let net = self.spec.net(inst.net);
            for p in inst.marking.occupied().iter() {
                stuck.push(StuckPlace {
                    net_instance: *id,
                    net: net.id.clone(),
                    place: net.places[p].id.clone(),
                    tokens: inst.marking.count(PlaceIx(p as u32)),
                });
            }
        }
        self.set_state(CaseState::Deadlocked { stuck }, ev);
    }
}

fn intersect(a: &Bitset, b: &Bitset) -> Bitset {
    let mut out = a.clone();
    for i in a.iter() {
        if !b.contains(i) {
            out.remove(i);
        }
    }
    out
}
