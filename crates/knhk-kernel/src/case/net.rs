//! Net instances and work items: starting, ending and dropping net instances, making,
//! starting, completing and withdrawing work items, adding MI instances, and signals.

use std::collections::BTreeMap;

use knhk_model::TimerTrigger;
use serde_json::{Map, Value};

use super::fire::instance_input;
use super::table::TaskTable;
use super::{
    Activity, Case, CaseState, CommandError, Event, Events, NetInstance, NetInstanceId, ParentSlot,
    Slot, WorkItem, WorkItemId, WorkItemRole, WorkItemStatus,
};
use crate::compile::{Body, NetIx, PlaceIx, TaskIx};
use crate::marking::Marking;

impl Case {
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
            (p.instance, parent_net.task(p.task).id.to_string())
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
    pub(super) fn drop_net(
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

    pub(super) fn drop_activity(
        &mut self,
        activity: Activity,
        status: WorkItemStatus,
        ev: &mut Events,
    ) {
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

    pub(super) fn withdraw_item(
        &mut self,
        id: WorkItemId,
        status: WorkItemStatus,
        ev: &mut Events,
    ) {
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

    pub(super) fn cancel_activity(
        &mut self,
        instance: NetInstanceId,
        task: TaskIx,
        ev: &mut Events,
    ) {
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
    pub(super) fn complete_net(
        &mut self,
        id: NetInstanceId,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
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

    pub(super) fn new_item(
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

    pub(super) fn start_item(
        &mut self,
        id: WorkItemId,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
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

    pub(super) fn arm_on_executing(
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

    pub(super) fn complete_item(
        &mut self,
        id: WorkItemId,
        output: Value,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
        let Some(item) = self.items.get(&id) else {
            return Ok(());
        };
        let (instance, task) = (item.net_instance, TaskIx(item.task_ix));
        match item.role {
            WorkItemRole::Instance { slot } => {
                self.items.remove(&id);
                ev.push(Event::WorkItemCompleted { work_item: id });
                if let Some(activity) = self
                    .instances
                    .get_mut(&instance)
                    .and_then(|i| i.busy.get_mut(&task))
                {
                    activity.slots[slot as usize] = Slot::Completed(output);
                }
                self.check_exit(instance, task, ev)
            }
            WorkItemRole::Detached => {
                // First, because it is the one step that can fail (an aggregate too deep),
                // and it fails before it changes anything.
                self.apply_detached_output(instance, task, output)?;
                self.items.remove(&id);
                ev.push(Event::WorkItemCompleted { work_item: id });
                if let Some(inst) = self.instances.get_mut(&instance) {
                    // Implicit termination may have been waiting for this last item.
                    inst.dirty = true;
                }
                Ok(())
            }
            WorkItemRole::Offer => unreachable!("offers are never started, so never completed"),
        }
    }

    pub(super) fn add_instance(
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
        let item_data = instance_input(
            self.net_of(instance),
            compiled,
            &inst.data,
            Some(element),
            self.limits.data_depth_max,
        )?;
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

    pub(super) fn signal(&mut self, name: &str, ev: &mut Events) {
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
                    taken_by.push(self.net_of(id).task(task).id.to_string());
                }
            }
        }
        ev.push(Event::SignalReceived {
            name: name.to_owned(),
            taken_by,
        });
    }
}
