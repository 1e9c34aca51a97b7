//! Firing and exiting tasks.
//!
//! The order of a task's completion follows YAWL's `t_exit`: output data first, then
//! the cancellation set, then the split, so a task may cancel itself and still
//! produce its output (YAWL's self-cancellation test).

use knhk_model::{JoinCode, PartialJoinMode, Remainder, Scope, SplitCode, excerpt};
use serde_json::{Map, Value};

use super::{
    Activity, Case, CommandError, Event, Events, NetInstanceId, ParentSlot, PartialJoinState, Slot,
    WorkItem, WorkItemId, WorkItemRole, WorkItemStatus, depth,
};
use crate::bitset::Bitset;
use crate::compile::{Body, CompiledNet, CompiledTask, PlaceIx, TaskIx};

impl Case {
    /// Fires `task`: consumes its tokens, computes its input, creates its instances.
    /// `starter` is the offer whose start fired it, which becomes its first instance.
    pub(super) fn fire(
        &mut self,
        instance: NetInstanceId,
        task_ix: TaskIx,
        starter: Option<WorkItemId>,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
        let spec = std::sync::Arc::clone(&self.spec);
        let net = spec.net(self.instances[&instance].net);
        let task = net.task(task_ix);
        if self.fire_routing(instance, net, task_ix, ev) {
            return Ok(());
        }
        // Everything that can fail is computed before the first token moves, so that
        // a refused command leaves even a plain net's case untouched.
        let inst = &self.instances[&instance];
        let depth = inst.depth;
        if matches!(task.body, Body::Composite(_)) && depth + 1 > self.limits.subnet_depth_max {
            return Err(CommandError::SubnetDepth {
                task: task.id.to_string(),
                depth_max: self.limits.subnet_depth_max,
            });
        }
        let elements = self.instance_inputs(net, task, &inst.data)?;
        self.consume(instance, task, task_ix);
        ev.push(Event::TaskFired {
            net_instance: instance,
            task: task.id.clone(),
            instances: elements.len() as u32,
        });
        let mut slots = Vec::with_capacity(elements.len());
        match task.body {
            Body::Empty => slots.push(Slot::Completed(Value::Null)),
            Body::Atomic => {
                for (k, data) in elements.into_iter().enumerate() {
                    let role = WorkItemRole::Instance { slot: k as u32 };
                    let id = match (k, starter) {
                        (0, Some(id)) => {
                            self.items.insert(
                                id,
                                WorkItem {
                                    id,
                                    net_instance: instance,
                                    task: task.id.clone(),
                                    status: WorkItemStatus::Started,
                                    role,
                                    data,
                                    task_ix: task_ix.0,
                                },
                            );
                            ev.push(Event::WorkItemStarted { work_item: id });
                            self.arm_on_executing(id, task_ix, instance, ev);
                            id
                        }
                        _ => self.new_item(
                            instance,
                            task_ix,
                            role,
                            WorkItemStatus::Enabled,
                            data,
                            ev,
                        ),
                    };
                    slots.push(Slot::Item(id));
                }
            }
            Body::Composite(sub) => {
                for (k, data) in elements.into_iter().enumerate() {
                    let fields = match data {
                        Value::Object(fields) => fields,
                        _ => Map::new(),
                    };
                    let parent = ParentSlot {
                        instance,
                        task: task_ix,
                        slot: k as u32,
                    };
                    slots.push(Slot::Subnet(self.start_net(
                        sub,
                        fields,
                        Some(parent),
                        depth + 1,
                        ev,
                    )));
                }
            }
        }
        if let Some(inst) = self.instances.get_mut(&instance) {
            inst.busy.insert(task_ix, Activity { slots });
        }
        self.check_exit(instance, task_ix, ev)
    }

    /// Fires and completes a routing task that needs none of the general rules (empty,
    /// packed for the hot path, no cancellation set, no thread split, no random XOR
    /// choice) through [`Marking::fire_plain`]. Returns whether it did.
    pub(super) fn fire_routing(
        &mut self,
        instance: NetInstanceId,
        net: &CompiledNet,
        task_ix: TaskIx,
        ev: &mut Events,
    ) -> bool {
        let task = net.task(task_ix);
        let hot = &net.hot[task_ix.0 as usize];
        let routing = task.body == Body::Empty
            && hot.packed
            && (hot.and_join || task.preset_places.len() == 1)
            && task.cancel_tasks.is_empty()
            && task.cancel_places.is_empty()
            && task.thread_split == 1;
        let Some(inst) = self.instances.get_mut(&instance).filter(|_| routing) else {
            return false;
        };
        if !inst.marking.fire_plain(net, task_ix) {
            return false;
        }
        inst.dirty = true;
        ev.push(Event::TaskFired {
            net_instance: instance,
            task: task.id.clone(),
            instances: 1,
        });
        ev.push(Event::TaskCompleted {
            net_instance: instance,
            task: task.id.clone(),
        });
        true
    }

    /// Takes the tokens `task` consumes when it fires.
    pub(super) fn consume(
        &mut self,
        instance: NetInstanceId,
        task: &CompiledTask,
        task_ix: TaskIx,
    ) {
        let Some(inst) = self.instances.get_mut(&instance) else {
            return;
        };
        inst.dirty = true;
        let marking = &mut inst.marking;
        if let Some((_, _, place)) = task.trigger {
            marking.take(place, 1);
        }
        if let Some((_, mode)) = task.partial_join {
            let state = inst
                .partial
                .entry(task_ix)
                .or_insert_with(|| PartialJoinState {
                    arrived: Bitset::new(marking.places()),
                    fired: false,
                });
            for place in &task.preset_places {
                let p = place.0 as usize;
                if !state.arrived.contains(p) && marking.take(*place, 1) == 1 {
                    state.arrived.insert(p);
                }
            }
            state.fired = mode == PartialJoinMode::Blocking;
            if mode == PartialJoinMode::Cancelling || task.preset.is_subset(&state.arrived) {
                inst.partial.remove(&task_ix);
            }
            return;
        }
        let n = task.thread_merge;
        match task.join {
            JoinCode::And => {
                for place in &task.preset_places {
                    marking.take(*place, n);
                }
            }
            JoinCode::Or => {
                for place in &task.preset_places {
                    marking.take(*place, n);
                }
            }
            JoinCode::Xor => {
                // YAWL takes the token from a randomly chosen marked preset place.
                let ready = |p: &&PlaceIx| marking.count(**p) >= n;
                let marked = task.preset_places.iter().filter(ready).count();
                if marked > 0 {
                    let choice = match marked {
                        1 => 0,
                        _ => self.rng.below(marked),
                    };
                    if let Some(place) = task.preset_places.iter().filter(ready).nth(choice) {
                        marking.take(*place, n);
                    }
                }
            }
        }
    }

    /// One input per instance to create: one per element of an MI task's split (each
    /// with its element bound, as `item` or the task's chosen name, in the input
    /// mappings and in the instance's data), `min` copies without a split, or the
    /// task's single input.
    pub(super) fn instance_inputs(
        &self,
        net: &CompiledNet,
        task: &CompiledTask,
        data: &Map<String, Value>,
    ) -> Result<Vec<Value>, CommandError> {
        let depth_max = self.limits.data_depth_max;
        let Some(mi) = &task.multiple_instance else {
            return Ok(vec![instance_input(net, task, data, None, depth_max)?]);
        };
        let max = mi.max.min(self.limits.mi_instances_max);
        // Checked before any instance's input is computed, so a huge split costs
        // nothing but its evaluation.
        let check = |count: usize| {
            let count = count as u64;
            if count < u64::from(mi.min) || count > u64::from(max) {
                return Err(CommandError::InstanceCount {
                    task: task.id.to_string(),
                    count,
                    min: mi.min,
                    max,
                });
            }
            Ok(())
        };
        let Some(split) = &mi.split else {
            check(mi.min as usize)?;
            return Ok(vec![
                instance_input(net, task, data, None, depth_max)?;
                mi.min as usize
            ]);
        };
        let object = Value::Object(data.clone());
        let value = split.evaluate(&Scope::data(&object)).map_err(|e| {
            CommandError::expression(&net.id, &task.id, "multiple-instance split", e)
        })?;
        let Value::Array(elements) = value else {
            return Err(CommandError::Expression {
                net: net.id.clone(),
                task: task.id.to_string(),
                what: "multiple-instance split".to_owned(),
                message: format!(
                    "`{}` gave {}, not an array",
                    excerpt(split.source()),
                    excerpt(&value.to_string())
                ),
            });
        };
        check(elements.len())?;
        elements
            .iter()
            .map(|e| instance_input(net, task, data, Some((mi.item.as_str(), e)), depth_max))
            .collect()
    }

    /// Exits `task` if its instances say so: all done, the threshold reached, or the
    /// completion condition holding.
    pub(super) fn check_exit(
        &mut self,
        instance: NetInstanceId,
        task_ix: TaskIx,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
        let Some(activity) = self
            .instances
            .get(&instance)
            .and_then(|i| i.busy.get(&task_ix))
        else {
            return Ok(());
        };
        let net = self.net_of(instance);
        let task = net.task(task_ix);
        let completed = activity
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Completed(_)))
            .count();
        let active = activity.slots.len() - completed;
        let exit = match &task.multiple_instance {
            None => active == 0,
            Some(mi) => {
                // YAWL's `t_isExitEnabled`: every instance done, or the threshold
                // reached (with fewer instances than the threshold, only the first).
                let by_count = active == 0 || mi.threshold.is_some_and(|t| completed >= t as usize);
                by_count
                    || match &mi.completion {
                        Some(condition) if completed > 0 => {
                            let outputs = Value::Array(completed_outputs(activity));
                            let (c, a) = (Value::from(completed), Value::from(active));
                            let data = Value::Object(self.instances[&instance].data.clone());
                            let bindings =
                                [("completed", &c), ("active", &a), ("outputs", &outputs)];
                            let scope = Scope {
                                data: &data,
                                bindings: &bindings,
                            };
                            match condition.evaluate(&scope) {
                                Ok(Value::Bool(b)) => b,
                                Ok(other) => {
                                    return Err(CommandError::Expression {
                                        net: net.id.clone(),
                                        task: task.id.to_string(),
                                        what: "multiple-instance completion".to_owned(),
                                        message: format!(
                                            "`{}` gave {}, not a boolean",
                                            excerpt(condition.source()),
                                            excerpt(&other.to_string())
                                        ),
                                    });
                                }
                                Err(e) => {
                                    return Err(CommandError::expression(
                                        &net.id,
                                        &task.id,
                                        "multiple-instance completion",
                                        e,
                                    ));
                                }
                            }
                        }
                        _ => false,
                    }
            }
        };
        if exit {
            self.exit_task(instance, task_ix, ev)
        } else {
            Ok(())
        }
    }

    /// Completes `task`: output data, unfinished instances, cancellation set, split.
    pub(super) fn exit_task(
        &mut self,
        instance: NetInstanceId,
        task_ix: TaskIx,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
        let spec = std::sync::Arc::clone(&self.spec);
        let Some(inst) = self.instances.get_mut(&instance) else {
            return Ok(());
        };
        let net = spec.net(inst.net);
        let task = net.task(task_ix);
        let Some(activity) = inst.busy.remove(&task_ix) else {
            return Ok(());
        };
        inst.dirty = true;
        let continue_rest = task
            .multiple_instance
            .as_ref()
            .is_some_and(|mi| mi.remainder == Remainder::Continue);
        let mut outputs = Vec::new();
        for slot in activity.slots {
            match slot {
                Slot::Item(item) if continue_rest => {
                    if let Some(item) = self.items.get_mut(&item) {
                        item.role = WorkItemRole::Detached;
                    }
                }
                Slot::Item(item) => self.withdraw_item(item, WorkItemStatus::Withdrawn, ev),
                Slot::Subnet(sub) => {
                    self.drop_net(sub, WorkItemStatus::Withdrawn, ev);
                }
                Slot::Completed(output) => outputs.push(output),
            }
        }
        match &task.multiple_instance {
            Some(_) => self.apply_output(instance, task_ix, &Value::Array(outputs), true)?,
            None if task.body != Body::Empty => {
                let output = outputs.pop().unwrap_or(Value::Null);
                self.apply_output(instance, task_ix, &output, false)?;
            }
            None => {}
        }
        self.apply_cancellation(instance, task_ix, ev);
        if task.split == SplitCode::And {
            if let Some(inst) = self.instances.get_mut(&instance) {
                for branch in &task.branches {
                    inst.marking.add(branch.place, task.thread_split);
                }
            }
        } else {
            let chosen = self.choose_branches(instance, task)?;
            if let Some(inst) = self.instances.get_mut(&instance) {
                for place in chosen {
                    inst.marking.add(place, task.thread_split);
                }
            }
        }
        ev.push(Event::TaskCompleted {
            net_instance: instance,
            task: task.id.clone(),
        });
        Ok(())
    }

    /// Writes a task's output into its net's data: through its output mappings (with
    /// `output` bound), else by merging the output object's fields. For a
    /// multiple-instance exit `output` is the array of instance outputs, which also goes
    /// to the aggregate variable.
    ///
    /// Everything is computed and checked (the aggregate's and each mapping result's
    /// depth) before the data changes. Merged fields need no check: each output was
    /// checked when its work item completed, and a subnet's data is within the bound.
    pub(super) fn apply_output(
        &mut self,
        instance: NetInstanceId,
        task_ix: TaskIx,
        output: &Value,
        many: bool,
    ) -> Result<(), CommandError> {
        let max = self.limits.data_depth_max;
        let Case {
            spec, instances, ..
        } = self;
        let Some(inst) = instances.get_mut(&instance) else {
            return Ok(());
        };
        let net = spec.net(inst.net);
        let task = net.task(task_ix);
        let aggregate = task
            .multiple_instance
            .as_ref()
            .and_then(|mi| mi.aggregate.as_ref())
            .filter(|_| many);
        let mut writes = Vec::with_capacity(task.output_mappings.len() + 1);
        if let Some(variable) = aggregate {
            depth::check(
                depth::as_field(output),
                max,
                &net.id,
                Some(&task.id),
                || format!("multiple-instance aggregate `{variable}`"),
            )?;
            writes.push((variable.clone(), output.clone()));
        }
        if task.output_mappings.is_empty() {
            if aggregate.is_none() && !task.mappings_only {
                let objects = match output {
                    Value::Array(items) if many => items.as_slice(),
                    single => std::slice::from_ref(single),
                };
                for object in objects {
                    if let Value::Object(fields) = object {
                        writes.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                }
            }
        } else {
            // The mappings see the aggregate already written, as they always have.
            let mut data = inst.data.clone();
            data.extend(writes.iter().cloned());
            let data = Value::Object(data);
            let bindings = [("output", output)];
            let scope = Scope {
                data: &data,
                bindings: &bindings,
            };
            for (variable, expression) in &task.output_mappings {
                let what = || format!("output mapping `{variable}`");
                let value = expression
                    .evaluate(&scope)
                    .map_err(|e| CommandError::expression(&net.id, &task.id, &what(), e))?;
                depth::check(depth::as_field(&value), max, &net.id, Some(&task.id), what)?;
                writes.push((variable.clone(), value));
            }
        }
        inst.data.extend(writes);
        Ok(())
    }

    /// The output of an instance that outlived its MI task's exit: appended to the
    /// task's aggregate variable if it has one (a variable holding anything but an array
    /// becomes an array of that and the output), else merged into the net data (unless
    /// the task moves data by its mappings only). The task's output mappings are not
    /// run: they are written for the array of outputs the task had at its exit.
    ///
    /// If the aggregate would nest deeper than `data_depth_max`, nothing changes and the
    /// completion is refused with [`CommandError::DataTooDeep`]: the item stays started,
    /// so its worker can complete it with a shallower output (or it is withdrawn when
    /// its net ends). Dropping the output instead would lose work without a word.
    pub(super) fn apply_detached_output(
        &mut self,
        instance: NetInstanceId,
        task_ix: TaskIx,
        output: Value,
    ) -> Result<(), CommandError> {
        let max = self.limits.data_depth_max;
        let Case {
            spec, instances, ..
        } = self;
        let Some(inst) = instances.get_mut(&instance) else {
            return Ok(());
        };
        let net = spec.net(inst.net);
        let task = net.task(task_ix);
        match task
            .multiple_instance
            .as_ref()
            .and_then(|mi| mi.aggregate.as_ref())
        {
            Some(variable) => {
                // An array already there is within the bound, so only the appended
                // output can take it past: it sits two levels below the data object. A
                // non-array value is wrapped with it, and sits as deep.
                let deepest = match inst.data.get(variable) {
                    None | Some(Value::Array(_)) => depth::depth(&output),
                    Some(other) => depth::depth(other).max(depth::depth(&output)),
                };
                depth::check(
                    deepest.saturating_add(2),
                    max,
                    &net.id,
                    Some(&task.id),
                    || format!("multiple-instance aggregate `{variable}`"),
                )?;
                match inst
                    .data
                    .entry(variable.clone())
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(outputs) => outputs.push(output),
                    other => *other = Value::Array(vec![other.take(), output]),
                }
            }
            None if task.mappings_only => {}
            None => {
                if let Value::Object(fields) = output {
                    inst.data.extend(fields);
                }
            }
        }
        Ok(())
    }

    pub(super) fn apply_cancellation(
        &mut self,
        instance: NetInstanceId,
        task_ix: TaskIx,
        ev: &mut Events,
    ) {
        let task = self.net_of(instance).task(task_ix);
        if task.cancel_places.is_empty() && task.cancel_tasks.is_empty() {
            return;
        }
        let spec = std::sync::Arc::clone(&self.spec);
        let Some(inst) = self.instances.get_mut(&instance) else {
            return;
        };
        let net = spec.net(inst.net);
        let task = net.task(task_ix);
        inst.dirty = true;
        for place in task.cancel_places.iter() {
            let tokens = inst.marking.clear(PlaceIx(place as u32));
            if tokens > 0 {
                ev.push(Event::TokensRemoved {
                    net_instance: instance,
                    place: net.places[place].id.clone(),
                    tokens,
                });
            }
        }
        for member in &task.cancel_tasks {
            if let Some(inst) = self.instances.get_mut(&instance) {
                inst.partial.remove(member);
            }
            if *member != task_ix {
                self.cancel_activity(instance, *member, ev);
            }
        }
    }

    /// The places a completing task puts tokens in, by its split.
    pub(super) fn choose_branches(
        &self,
        instance: NetInstanceId,
        task: &CompiledTask,
    ) -> Result<Vec<PlaceIx>, CommandError> {
        let net = self.net_of(instance);
        let data = Value::Object(self.instances[&instance].data.clone());
        let holds = |branch: &crate::compile::Branch| -> Result<bool, CommandError> {
            let Some(predicate) = &branch.predicate else {
                return Ok(true);
            };
            let error = |message: String| CommandError::Predicate {
                net: net.id.clone(),
                from: task.id.to_string(),
                to: branch.target.clone(),
                expression: excerpt(predicate.source()).into_owned(),
                message,
            };
            match predicate.evaluate(&Scope::data(&data)) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(error(format!(
                    "gave {}, not a boolean",
                    excerpt(&other.to_string())
                ))),
                Err(e @ knhk_model::ExprError::Internal { .. }) => Err(CommandError::expression(
                    &net.id,
                    &task.id,
                    &format!("predicate of flow {} -> {}", task.id, branch.target),
                    e,
                )),
                Err(e) => Err(error(e.to_string())),
            }
        };
        let mut chosen = Vec::new();
        match task.split {
            SplitCode::Xor => {
                // Ordered by `ordering`, default last; the default is taken without
                // evaluating its predicate.
                for branch in &task.branches {
                    if branch.default || holds(branch)? {
                        chosen.push(branch.place);
                        break;
                    }
                }
            }
            SplitCode::Or => {
                let mut default = None;
                for branch in &task.branches {
                    if branch.default {
                        default = Some(branch);
                        // YAWL evaluates the default's own predicate too: a default of
                        // `true()` always fires.
                        if branch.predicate.is_some() && holds(branch)? {
                            chosen.push(branch.place);
                        }
                    } else if holds(branch)? {
                        chosen.push(branch.place);
                    }
                }
                if chosen.is_empty() {
                    chosen.extend(default.map(|b| b.place));
                }
            }
            SplitCode::And => chosen.extend(task.branches.iter().map(|b| b.place)),
        }
        Ok(chosen)
    }
}

/// A task instance's input: its input mappings evaluated over the net data (with the
/// instance's MI element bound), or all net data; the element is also written under
/// its own name.
///
/// Each mapping result and the element must fit in data `depth_max` deep (the net data
/// that is copied already does).
pub(super) fn instance_input(
    net: &CompiledNet,
    task: &CompiledTask,
    data: &Map<String, Value>,
    element: Option<(&str, &Value)>,
    depth_max: u32,
) -> Result<Value, CommandError> {
    let mut input = if task.input_mappings.is_empty() {
        if task.mappings_only {
            Map::new()
        } else {
            data.clone()
        }
    } else {
        let object = Value::Object(data.clone());
        let bindings: Vec<(&str, &Value)> = element.into_iter().collect();
        let scope = Scope {
            data: &object,
            bindings: &bindings,
        };
        let mut input = Map::new();
        for (field, expression) in &task.input_mappings {
            let what = || format!("input mapping `{field}`");
            let value = expression
                .evaluate(&scope)
                .map_err(|e| CommandError::expression(&net.id, &task.id, &what(), e))?;
            depth::check(
                depth::as_field(&value),
                depth_max,
                &net.id,
                Some(&task.id),
                what,
            )?;
            input.insert(field.clone(), value);
        }
        input
    };
    if let Some((field, value)) = element {
        depth::check(
            depth::as_field(value),
            depth_max,
            &net.id,
            Some(&task.id),
            || format!("multiple-instance element `{field}`"),
        )?;
        input.insert(field.to_owned(), value.clone());
    }
    Ok(Value::Object(input))
}

pub(super) fn completed_outputs(activity: &Activity) -> Vec<Value> {
    activity
        .slots
        .iter()
        .filter_map(|s| match s {
            Slot::Completed(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}
