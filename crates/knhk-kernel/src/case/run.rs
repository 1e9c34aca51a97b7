//! How a case moves: commands, firing, exiting, settling, and the end of nets.
//!
//! The order of a task's completion follows YAWL's `t_exit`: output data first, then
//! the cancellation set, then the split, so a task may cancel itself and still
//! produce its output (YAWL's self-cancellation test).

use std::collections::BTreeMap;

use knhk_model::{
    JoinCode, PartialJoinMode, Remainder, Scope, SplitCode, Termination, TimerAction, TimerTrigger,
};
use serde_json::{Map, Value};

use super::table::TaskTable;
use super::{
    Activity, Case, CaseState, Command, CommandError, Event, FailReason, NetInstance,
    NetInstanceId, ParentSlot, PartialJoinState, Slot, StuckPlace, WorkItem, WorkItemId,
    WorkItemRole, WorkItemStatus,
};
use crate::OrJoinFallback;
use crate::bitset::Bitset;
use crate::compile::{Body, CompiledNet, CompiledTask, NetIx, PlaceIx, TaskIx};
use crate::marking::Marking;
use crate::orjoin::OrJoinVerdict;

type Events = Vec<Event>;

impl Case {
    pub(super) fn execute(
        &mut self,
        command: &Command,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
        match command {
            Command::SuspendCase => {
                self.require_running()?;
                self.set_state(CaseState::Suspended, ev);
                return Ok(());
            }
            Command::ResumeCase => {
                if self.state != CaseState::Suspended {
                    return Err(CommandError::CaseNotSuspended {
                        state: self.state.name(),
                    });
                }
                self.set_state(CaseState::Running, ev);
            }
            Command::CancelCase => {
                if self.state.is_final() {
                    return Err(CommandError::CaseNotRunning {
                        state: self.state.name(),
                    });
                }
                self.end_case(CaseState::Cancelled, WorkItemStatus::Cancelled, ev);
                return Ok(());
            }
            _ => {
                self.require_running()?;
                self.execute_running(command, ev)?;
            }
        }
        self.settle(ev)
    }

    fn execute_running(&mut self, command: &Command, ev: &mut Events) -> Result<(), CommandError> {
        match command {
            Command::StartWorkItem { work_item } => {
                let item = self.live_item(*work_item)?;
                if item.status != WorkItemStatus::Enabled {
                    return Err(CommandError::NotEnabled {
                        work_item: *work_item,
                        status: item.status,
                    });
                }
                self.start_item(*work_item, ev)
            }
            Command::CompleteWorkItem { work_item, output } => {
                let item = self.live_item(*work_item)?;
                if item.status != WorkItemStatus::Started {
                    return Err(CommandError::NotStarted {
                        work_item: *work_item,
                        status: item.status,
                    });
                }
                self.check_output(item, output)?;
                self.complete_item(*work_item, output.clone(), ev)
            }
            Command::FailWorkItem { work_item, message } => {
                let item = self.live_item(*work_item)?;
                let reason = FailReason::WorkItemFailed {
                    work_item: *work_item,
                    task: item.task.clone(),
                    message: message.clone(),
                };
                self.items.remove(work_item);
                ev.push(Event::WorkItemFailed {
                    work_item: *work_item,
                });
                self.end_case(CaseState::Failed { reason }, WorkItemStatus::Withdrawn, ev);
                Ok(())
            }
            Command::TimerExpired { work_item } => {
                let item = self.live_item(*work_item)?;
                let task = &self.spec.net(self.instances[&item.net_instance].net).tasks
                    [item.task_ix as usize];
                let armed = task.timer.as_ref().filter(|t| {
                    t.trigger == TimerTrigger::OnEnabled || item.status == WorkItemStatus::Started
                });
                let Some(timer) = armed else {
                    return Err(CommandError::NoTimer {
                        work_item: *work_item,
                    });
                };
                match timer.on_expiry {
                    TimerAction::Fail => self.execute_running(
                        &Command::FailWorkItem {
                            work_item: *work_item,
                            message: "timer expired".to_owned(),
                        },
                        ev,
                    ),
                    TimerAction::Complete => {
                        if item.status == WorkItemStatus::Enabled {
                            self.start_item(*work_item, ev)?;
                            self.settle(ev)?;
                        }
                        let data = self
                            .items
                            .get(work_item)
                            .map(|i| i.data.clone())
                            .unwrap_or_default();
                        if self.items.contains_key(work_item) {
                            self.complete_item(*work_item, data, ev)?;
                        }
                        Ok(())
                    }
                }
            }
            Command::CancelTask { net_instance, task } => {
                let task_ix = self.busy_task(*net_instance, task)?;
                self.cancel_activity(*net_instance, task_ix, ev);
                Ok(())
            }
            Command::CompleteTask { net_instance, task } => {
                let task_ix = self.busy_task(*net_instance, task)?;
                let net = self.net_of(*net_instance);
                if net.task(task_ix).multiple_instance.is_none() {
                    return Err(CommandError::NotMultipleInstance {
                        task: task.clone(),
                        needed: "",
                    });
                }
                self.exit_task(*net_instance, task_ix, ev)
            }
            Command::AddInstance {
                net_instance,
                task,
                data,
            } => self.add_instance(*net_instance, task, data, ev),
            Command::Signal { name } => {
                self.signal(name, ev);
                Ok(())
            }
            Command::SuspendCase | Command::ResumeCase | Command::CancelCase => Ok(()),
        }
    }

    fn require_running(&self) -> Result<(), CommandError> {
        if self.state == CaseState::Running {
            Ok(())
        } else {
            Err(CommandError::CaseNotRunning {
                state: self.state.name(),
            })
        }
    }

    fn live_item(&self, id: WorkItemId) -> Result<&WorkItem, CommandError> {
        self.items.get(&id).ok_or(CommandError::UnknownWorkItem(id))
    }

    fn net_of(&self, instance: NetInstanceId) -> &CompiledNet {
        self.spec.net(self.instances[&instance].net)
    }

    fn busy_task(&self, instance: NetInstanceId, task: &str) -> Result<TaskIx, CommandError> {
        let inst = self
            .instances
            .get(&instance)
            .ok_or(CommandError::UnknownNetInstance(instance))?;
        let net = self.spec.net(inst.net);
        let ix = net.task_ix(task).ok_or_else(|| CommandError::UnknownTask {
            net: net.id.clone(),
            task: task.to_owned(),
        })?;
        if inst.busy.contains_key(&ix) {
            Ok(ix)
        } else {
            Err(CommandError::TaskNotBusy {
                task: task.to_owned(),
            })
        }
    }

    fn check_output(&self, item: &WorkItem, output: &Value) -> Result<(), CommandError> {
        let task = &self.net_of(item.net_instance).tasks[item.task_ix as usize];
        let invalid = |reason: String| CommandError::InvalidOutput {
            work_item: item.id,
            task: task.id.clone(),
            reason,
        };
        let Value::Object(fields) = output else {
            return Err(invalid("output must be a JSON object".to_owned()));
        };
        for parameter in &task.outputs {
            match fields.get(&parameter.name) {
                None if !parameter.optional => {
                    return Err(invalid(format!("missing output `{}`", parameter.name)));
                }
                Some(value) if !parameter.data_type.admits(value) => {
                    return Err(invalid(format!(
                        "output `{}` must be of type {:?}",
                        parameter.name, parameter.data_type
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn set_state(&mut self, state: CaseState, ev: &mut Events) {
        self.state = state.clone();
        ev.push(Event::CaseStateChanged { state });
    }

    /// Ends the case: every live work item leaves with `status`, every net instance's
    /// tokens are dropped.
    fn end_case(&mut self, state: CaseState, status: WorkItemStatus, ev: &mut Events) {
        for id in std::mem::take(&mut self.items).into_keys() {
            ev.push(Event::WorkItemWithdrawn {
                work_item: id,
                status,
            });
        }
        if let Some(root) = self.instances.remove(&super::ROOT_INSTANCE) {
            self.final_data = Some(root.data);
        }
        self.instances.clear();
        self.set_state(state, ev);
    }

    // ---- net instances -------------------------------------------------------------

    pub(super) fn start_net(
        &mut self,
        net_ix: NetIx,
        data: Map<String, Value>,
        parent: Option<ParentSlot>,
        depth: u32,
        ev: &mut Events,
    ) -> NetInstanceId {
        let net = self.spec.net(net_ix);
        let mut instance_data = net.initial_data.clone();
        instance_data.extend(data);
        let mut marking = Marking::new(net);
        marking.add(net.input, 1);
        let id = NetInstanceId(self.next_instance);
        self.next_instance += 1;
        let parent_event = parent.map(|p| {
            let parent_net = self.net_of(p.instance);
            (p.instance, parent_net.task(p.task).id.clone())
        });
        ev.push(Event::NetStarted {
            net_instance: id,
            net: net.id.clone(),
            parent: parent_event,
        });
        self.instances.insert(
            id,
            NetInstance {
                net: net_ix,
                marking,
                data: instance_data,
                busy: TaskTable::new(net.tasks.len()),
                offers: TaskTable::new(net.tasks.len()),
                partial: BTreeMap::new(),
                parent,
                depth,
                dirty: true,
            },
        );
        id
    }

    /// Removes net instance `id` and everything running in it; its live work items
    /// leave with `status`.
    fn drop_net(
        &mut self,
        id: NetInstanceId,
        status: WorkItemStatus,
        ev: &mut Events,
    ) -> Option<NetInstance> {
        let mut instance = self.instances.remove(&id)?;
        for (_, item) in instance.offers.drain().collect::<Vec<_>>() {
            self.withdraw_item(item, status, ev);
        }
        for (_, activity) in instance.busy.drain().collect::<Vec<_>>() {
            self.drop_activity(activity, status, ev);
        }
        let detached: Vec<_> = self
            .items
            .values()
            .filter(|i| i.net_instance == id)
            .map(|i| i.id)
            .collect();
        for item in detached {
            self.withdraw_item(item, status, ev);
        }
        Some(instance)
    }

    fn drop_activity(&mut self, activity: Activity, status: WorkItemStatus, ev: &mut Events) {
        for slot in activity.slots {
            match slot {
                Slot::Item(item) => self.withdraw_item(item, status, ev),
                Slot::Subnet(sub) => {
                    self.drop_net(sub, status, ev);
                }
                Slot::Completed(_) => {}
            }
        }
    }

    fn withdraw_item(&mut self, id: WorkItemId, status: WorkItemStatus, ev: &mut Events) {
        if let Some(item) = self.items.remove(&id) {
            if item.role == WorkItemRole::Offer
                && let Some(instance) = self.instances.get_mut(&item.net_instance)
            {
                instance.offers.remove(&TaskIx(item.task_ix));
            }
            ev.push(Event::WorkItemWithdrawn {
                work_item: id,
                status,
            });
        }
    }

    fn cancel_activity(&mut self, instance: NetInstanceId, task: TaskIx, ev: &mut Events) {
        let Some(inst) = self.instances.get_mut(&instance) else {
            return;
        };
        let Some(activity) = inst.busy.remove(&task) else {
            return;
        };
        inst.dirty = true;
        let task_id = self.spec.net(inst.net).task(task).id.clone();
        self.drop_activity(activity, WorkItemStatus::Cancelled, ev);
        ev.push(Event::TaskCancelled {
            net_instance: instance,
            task: task_id,
        });
    }

    /// A net instance reached its end: everything left in it is withdrawn, and its
    /// parent task instance (or the case) completes.
    fn complete_net(&mut self, id: NetInstanceId, ev: &mut Events) -> Result<(), CommandError> {
        let Some(instance) = self.drop_net(id, WorkItemStatus::Withdrawn, ev) else {
            return Ok(());
        };
        ev.push(Event::NetCompleted { net_instance: id });
        match instance.parent {
            None => {
                // Keep the root's final data readable after completion.
                let root_net = instance.net;
                let mut marking = Marking::new(self.spec.net(root_net));
                marking.add(self.spec.net(root_net).output, 1);
                self.instances.insert(
                    id,
                    NetInstance {
                        marking,
                        ..instance
                    },
                );
                self.set_state(CaseState::Completed, ev);
                Ok(())
            }
            Some(parent) => {
                let Some(activity) = self
                    .instances
                    .get_mut(&parent.instance)
                    .and_then(|p| p.busy.get_mut(&parent.task))
                else {
                    return Ok(());
                };
                activity.slots[parent.slot as usize] =
                    Slot::Completed(Value::Object(instance.data));
                self.check_exit(parent.instance, parent.task, ev)
            }
        }
    }

    // ---- work items ----------------------------------------------------------------

    fn new_item(
        &mut self,
        instance: NetInstanceId,
        task: TaskIx,
        role: WorkItemRole,
        status: WorkItemStatus,
        data: Value,
        ev: &mut Events,
    ) -> WorkItemId {
        let id = WorkItemId(self.next_item);
        self.next_item += 1;
        let compiled = self.net_of(instance).task(task);
        let task_id = compiled.id.clone();
        let timer = compiled.timer.clone();
        ev.push(Event::WorkItemEnabled {
            work_item: id,
            net_instance: instance,
            task: task_id.clone(),
        });
        self.items.insert(
            id,
            WorkItem {
                id,
                net_instance: instance,
                task: task_id,
                status,
                role,
                data,
                task_ix: task.0,
            },
        );
        if status == WorkItemStatus::Started {
            ev.push(Event::WorkItemStarted { work_item: id });
        }
        if let Some(timer) = timer {
            let armed_now = match timer.trigger {
                TimerTrigger::OnEnabled => true,
                TimerTrigger::OnExecuting => status == WorkItemStatus::Started,
            };
            if armed_now {
                ev.push(Event::TimerArmed {
                    work_item: id,
                    duration_ms: timer.duration_ms,
                    expiry_ms: timer.expiry_ms,
                });
            }
        }
        id
    }

    fn start_item(&mut self, id: WorkItemId, ev: &mut Events) -> Result<(), CommandError> {
        let item = &self.items[&id];
        let (instance, task, role) = (item.net_instance, TaskIx(item.task_ix), item.role);
        match role {
            WorkItemRole::Offer => {
                self.items.remove(&id);
                if let Some(inst) = self.instances.get_mut(&instance) {
                    inst.offers.remove(&task);
                }
                self.fire(instance, task, Some(id), ev)
            }
            WorkItemRole::Instance { .. } | WorkItemRole::Detached => {
                if let Some(item) = self.items.get_mut(&id) {
                    item.status = WorkItemStatus::Started;
                }
                ev.push(Event::WorkItemStarted { work_item: id });
                self.arm_on_executing(id, task, instance, ev);
                Ok(())
            }
        }
    }

    fn arm_on_executing(
        &self,
        id: WorkItemId,
        task: TaskIx,
        instance: NetInstanceId,
        ev: &mut Events,
    ) {
        if let Some(timer) = &self.net_of(instance).task(task).timer
            && timer.trigger == TimerTrigger::OnExecuting
        {
            ev.push(Event::TimerArmed {
                work_item: id,
                duration_ms: timer.duration_ms,
                expiry_ms: timer.expiry_ms,
            });
        }
    }

    fn complete_item(
        &mut self,
        id: WorkItemId,
        output: Value,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
        let Some(item) = self.items.remove(&id) else {
            return Ok(());
        };
        ev.push(Event::WorkItemCompleted { work_item: id });
        let task = TaskIx(item.task_ix);
        match item.role {
            WorkItemRole::Instance { slot } => {
                if let Some(activity) = self
                    .instances
                    .get_mut(&item.net_instance)
                    .and_then(|i| i.busy.get_mut(&task))
                {
                    activity.slots[slot as usize] = Slot::Completed(output);
                }
                self.check_exit(item.net_instance, task, ev)
            }
            WorkItemRole::Detached => {
                if let Some(inst) = self.instances.get_mut(&item.net_instance) {
                    // Implicit termination may have been waiting for this last item.
                    inst.dirty = true;
                }
                self.apply_detached_output(item.net_instance, task, output)
            }
            WorkItemRole::Offer => unreachable!("offers are never started, so never completed"),
        }
    }

    fn add_instance(
        &mut self,
        instance: NetInstanceId,
        task: &str,
        data: &Value,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
        let task_ix = self.busy_task(instance, task)?;
        let compiled = self.net_of(instance).task(task_ix);
        let Some(mi) = compiled
            .multiple_instance
            .as_ref()
            .filter(|mi| mi.creation == knhk_model::CreationMode::Dynamic)
        else {
            return Err(CommandError::NotMultipleInstance {
                task: task.to_owned(),
                needed: "dynamic",
            });
        };
        let max = mi.max.min(self.limits.mi_instances_max);
        let inst = &self.instances[&instance];
        let element = (mi.item.as_str(), data);
        let item_data = instance_input(self.net_of(instance), compiled, &inst.data, Some(element))?;
        let Some(activity) = inst.busy.get(&task_ix) else {
            return Err(CommandError::TaskNotBusy {
                task: task.to_owned(),
            });
        };
        let live = activity
            .slots
            .iter()
            .filter(|s| !matches!(s, Slot::Completed(_)))
            .count() as u64;
        let total = activity.slots.len() as u64;
        if total + 1 > u64::from(max) || live + 1 > u64::from(max) {
            return Err(CommandError::InstanceCount {
                task: task.to_owned(),
                count: total + 1,
                min: mi.min,
                max,
            });
        }
        let slot = activity.slots.len() as u32;
        if let Body::Composite(sub) = compiled.body {
            // A composite task's new instance is a new subnet instance, as when it fired.
            let depth = inst.depth + 1;
            if depth > self.limits.subnet_depth_max {
                return Err(CommandError::SubnetDepth {
                    task: task.to_owned(),
                    depth_max: self.limits.subnet_depth_max,
                });
            }
            let fields = match item_data {
                Value::Object(fields) => fields,
                _ => Map::new(),
            };
            let parent = ParentSlot {
                instance,
                task: task_ix,
                slot,
            };
            let id = self.start_net(sub, fields, Some(parent), depth, ev);
            if let Some(activity) = self
                .instances
                .get_mut(&instance)
                .and_then(|i| i.busy.get_mut(&task_ix))
            {
                activity.slots.push(Slot::Subnet(id));
            }
            return Ok(());
        }
        let id = self.new_item(
            instance,
            task_ix,
            WorkItemRole::Instance { slot },
            WorkItemStatus::Enabled,
            item_data,
            ev,
        );
        if let Some(activity) = self
            .instances
            .get_mut(&instance)
            .and_then(|i| i.busy.get_mut(&task_ix))
        {
            activity.slots.push(Slot::Item(id));
        }
        Ok(())
    }

    fn signal(&mut self, name: &str, ev: &mut Events) {
        let mut taken_by = Vec::new();
        let ids: Vec<_> = self.instances.keys().copied().collect();
        for id in ids {
            let net = self.net_of(id);
            let waiting: Vec<(TaskIx, bool, PlaceIx)> = net
                .tasks
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    let (signal, persistent, place) = t.trigger.as_ref()?;
                    (signal == name).then_some((TaskIx(i as u32), *persistent, *place))
                })
                .collect();
            for (task, persistent, place) in waiting {
                let ready = !self.instances[&id].busy.contains_key(&task)
                    && self.control_flow_ready(id, task);
                if persistent || ready {
                    if let Some(inst) = self.instances.get_mut(&id) {
                        inst.marking.add(place, 1);
                        inst.dirty = true;
                    }
                    taken_by.push(self.net_of(id).task(task).id.clone());
                }
            }
        }
        ev.push(Event::SignalReceived {
            name: name.to_owned(),
            taken_by,
        });
    }

    // ---- firing and exiting --------------------------------------------------------

    /// Fires `task`: consumes its tokens, computes its input, creates its instances.
    /// `starter` is the offer whose start fired it, which becomes its first instance.
    fn fire(
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
                task: task.id.clone(),
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
    fn fire_routing(
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
    fn consume(&mut self, instance: NetInstanceId, task: &CompiledTask, task_ix: TaskIx) {
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
    fn instance_inputs(
        &self,
        net: &CompiledNet,
        task: &CompiledTask,
        data: &Map<String, Value>,
    ) -> Result<Vec<Value>, CommandError> {
        let Some(mi) = &task.multiple_instance else {
            return Ok(vec![instance_input(net, task, data, None)?]);
        };
        let max = mi.max.min(self.limits.mi_instances_max);
        let inputs = match &mi.split {
            None => vec![instance_input(net, task, data, None)?; mi.min as usize],
            Some(split) => {
                let object = Value::Object(data.clone());
                let value = split.evaluate(&Scope::data(&object)).map_err(|e| {
                    CommandError::expression(&net.id, &task.id, "multiple-instance split", e)
                })?;
                let Value::Array(elements) = value else {
                    return Err(CommandError::Expression {
                        net: net.id.clone(),
                        task: task.id.clone(),
                        what: "multiple-instance split".to_owned(),
                        message: format!("`{}` gave {value}, not an array", split.source()),
                    });
                };
                let count = elements.len() as u64;
                if count < u64::from(mi.min) || count > u64::from(max) {
                    return Err(CommandError::InstanceCount {
                        task: task.id.clone(),
                        count,
                        min: mi.min,
                        max,
                    });
                }
                elements
                    .iter()
                    .map(|e| instance_input(net, task, data, Some((mi.item.as_str(), e))))
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        let count = inputs.len() as u64;
        if count < u64::from(mi.min) || count > u64::from(max) {
            return Err(CommandError::InstanceCount {
                task: task.id.clone(),
                count,
                min: mi.min,
                max,
            });
        }
        Ok(inputs)
    }

    /// Exits `task` if its instances say so: all done, the threshold reached, or the
    /// completion condition holding.
    fn check_exit(
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
                let by_count = match mi.threshold {
                    Some(threshold) => completed >= threshold as usize,
                    None => active == 0,
                };
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
                                        task: task.id.clone(),
                                        what: "multiple-instance completion".to_owned(),
                                        message: format!(
                                            "`{}` gave {other}, not a boolean",
                                            condition.source()
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
    fn exit_task(
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
    fn apply_output(
        &mut self,
        instance: NetInstanceId,
        task_ix: TaskIx,
        output: &Value,
        many: bool,
    ) -> Result<(), CommandError> {
        let Case {
            spec, instances, ..
        } = self;
        let Some(inst) = instances.get_mut(&instance) else {
            return Ok(());
        };
        let net = spec.net(inst.net);
        let task = net.task(task_ix);
        if many
            && let Some(variable) = task
                .multiple_instance
                .as_ref()
                .and_then(|mi| mi.aggregate.as_ref())
        {
            inst.data.insert(variable.clone(), output.clone());
        }
        if task.output_mappings.is_empty() {
            let objects = match output {
                Value::Array(items) if many => items.as_slice(),
                single => std::slice::from_ref(single),
            };
            let aggregated = many
                && task
                    .multiple_instance
                    .as_ref()
                    .is_some_and(|mi| mi.aggregate.is_some());
            if !aggregated {
                for object in objects {
                    if let Value::Object(fields) = object {
                        inst.data
                            .extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                }
            }
            return Ok(());
        }
        let data = Value::Object(inst.data.clone());
        let bindings = [("output", output)];
        let scope = Scope {
            data: &data,
            bindings: &bindings,
        };
        for (variable, expression) in &task.output_mappings {
            let value = expression.evaluate(&scope).map_err(|e| {
                CommandError::expression(
                    &net.id,
                    &task.id,
                    &format!("output mapping `{variable}`"),
                    e,
                )
            })?;
            inst.data.insert(variable.clone(), value);
        }
        Ok(())
    }

    /// The output of an instance that outlived its MI task's exit: appended to the
    /// task's aggregate variable if it has one, else merged into the net data. The
    /// task's output mappings are not run: they are written for the array of outputs
    /// the task had at its exit.
    fn apply_detached_output(
        &mut self,
        instance: NetInstanceId,
        task_ix: TaskIx,
        output: Value,
    ) -> Result<(), CommandError> {
        let Case {
            spec, instances, ..
        } = self;
        let Some(inst) = instances.get_mut(&instance) else {
            return Ok(());
        };
        let task = spec.net(inst.net).task(task_ix);
        match task
            .multiple_instance
            .as_ref()
            .and_then(|mi| mi.aggregate.as_ref())
        {
            Some(variable) => match inst
                .data
                .entry(variable.clone())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(outputs) => outputs.push(output),
                other => *other = Value::Array(vec![other.take(), output]),
            },
            None => {
                if let Value::Object(fields) = output {
                    inst.data.extend(fields);
                }
            }
        }
        Ok(())
    }

    fn apply_cancellation(&mut self, instance: NetInstanceId, task_ix: TaskIx, ev: &mut Events) {
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
    fn choose_branches(
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
                from: task.id.clone(),
                to: branch.target.clone(),
                expression: predicate.source().to_owned(),
                message,
            };
            match predicate.evaluate(&Scope::data(&data)) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(error(format!("gave {other}, not a boolean"))),
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

    // ---- settling ------------------------------------------------------------------

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
    fn step(&mut self, ev: &mut Events) -> Result<bool, CommandError> {
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
    fn step_instance(&mut self, id: NetInstanceId, ev: &mut Events) -> Result<bool, CommandError> {
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
    fn drop_stale_transient_signals(&mut self, id: NetInstanceId) {
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
    fn enabled_tasks(&self, id: NetInstanceId, ev: &mut Events) -> Vec<TaskIx> {
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
    fn control_flow_ready(&self, id: NetInstanceId, task: TaskIx) -> bool {
        self.control_flow_enabled(id, task, &mut Vec::new())
    }

    fn control_flow_enabled(&self, id: NetInstanceId, ix: TaskIx, ev: &mut Events) -> bool {
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
    fn absorb_partial_arrivals(&mut self, id: NetInstanceId) -> bool {
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

    fn withdraw_stale_offers(&mut self, id: NetInstanceId, enabled: &[TaskIx], ev: &mut Events) {
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
    fn pick_automatic(&mut self, id: NetInstanceId, enabled: &[TaskIx]) -> Option<TaskIx> {
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

    fn make_offers(
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
            let data = instance_input(net, net.task(*task), &inst.data, None)?;
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
    fn awaits_signal(&self, id: NetInstanceId) -> bool {
        self.net_of(id).triggered.iter().any(|ix| {
            !self.instances[&id].busy.contains_key(ix) && self.control_flow_ready(id, *ix)
        })
    }

    /// A running case with no live work item, nothing waiting for a signal and an
    /// unfinished root net can never move again: it is deadlocked.
    fn detect_deadlock(&mut self, ev: &mut Events) {
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

/// A task instance's input: its input mappings evaluated over the net data (with the
/// instance's MI element bound), or all net data; the element is also written under
/// its own name.
fn instance_input(
    net: &CompiledNet,
    task: &CompiledTask,
    data: &Map<String, Value>,
    element: Option<(&str, &Value)>,
) -> Result<Value, CommandError> {
    let mut input = if task.input_mappings.is_empty() {
        data.clone()
    } else {
        let object = Value::Object(data.clone());
        let bindings: Vec<(&str, &Value)> = element.into_iter().collect();
        let scope = Scope {
            data: &object,
            bindings: &bindings,
        };
        let mut input = Map::new();
        for (field, expression) in &task.input_mappings {
            let value = expression.evaluate(&scope).map_err(|e| {
                CommandError::expression(&net.id, &task.id, &format!("input mapping `{field}`"), e)
            })?;
            input.insert(field.clone(), value);
        }
        input
    };
    if let Some((field, value)) = element {
        input.insert(field.to_owned(), value.clone());
    }
    Ok(Value::Object(input))
}

fn completed_outputs(activity: &Activity) -> Vec<Value> {
    activity
        .slots
        .iter()
        .filter_map(|s| match s {
            Slot::Completed(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}
