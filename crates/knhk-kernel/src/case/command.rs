//! Commands: checking each against the case's state and carrying it out.

use knhk_model::{TimerAction, TimerTrigger};
use serde_json::Value;

use super::{
    Case, CaseState, Command, CommandError, Event, Events, FailReason, NetInstanceId, WorkItem,
    WorkItemId, WorkItemRole, WorkItemStatus, depth,
};
use crate::compile::{CompiledNet, TaskIx};

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
                self.require_not_ended()?;
                self.end_case(CaseState::Cancelled, WorkItemStatus::Cancelled, ev);
                return Ok(());
            }
            Command::FailCase { message } => {
                self.require_not_ended()?;
                let reason = FailReason::Aborted {
                    message: message.clone(),
                };
                self.end_case(CaseState::Failed { reason }, WorkItemStatus::Withdrawn, ev);
                return Ok(());
            }
            _ => {
                self.require_running()?;
                self.execute_running(command, ev)?;
            }
        }
        self.settle(ev)
    }

    pub(super) fn execute_running(
        &mut self,
        command: &Command,
        ev: &mut Events,
    ) -> Result<(), CommandError> {
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
            Command::ReleaseWorkItem { work_item } => {
                self.require_started(*work_item)?;
                self.set_item_status(*work_item, WorkItemStatus::Enabled);
                ev.push(Event::WorkItemReleased {
                    work_item: *work_item,
                });
                Ok(())
            }
            Command::SuspendWorkItem { work_item } => {
                self.require_started(*work_item)?;
                self.set_item_status(*work_item, WorkItemStatus::Suspended);
                ev.push(Event::WorkItemSuspended {
                    work_item: *work_item,
                });
                Ok(())
            }
            Command::ResumeWorkItem { work_item } => {
                let item = self.live_item(*work_item)?;
                if item.status != WorkItemStatus::Suspended {
                    return Err(CommandError::NotSuspended {
                        work_item: *work_item,
                        status: item.status,
                    });
                }
                self.set_item_status(*work_item, WorkItemStatus::Started);
                ev.push(Event::WorkItemResumed {
                    work_item: *work_item,
                });
                Ok(())
            }
            Command::FailWorkItem { work_item, message } => {
                let item = self.live_item(*work_item)?;
                let reason = FailReason::WorkItemFailed {
                    work_item: *work_item,
                    task: item.task.to_string(),
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
            Command::SuspendCase
            | Command::ResumeCase
            | Command::CancelCase
            | Command::FailCase { .. } => Ok(()),
        }
    }

    /// Refuses a command on a case that has ended (completed, cancelled, deadlocked,
    /// failed); a suspended case can still be cancelled or failed.
    fn require_not_ended(&self) -> Result<(), CommandError> {
        if self.state.is_final() {
            Err(CommandError::CaseNotRunning {
                state: self.state.name(),
            })
        } else {
            Ok(())
        }
    }

    pub(super) fn require_running(&self) -> Result<(), CommandError> {
        if self.state == CaseState::Running {
            Ok(())
        } else {
            Err(CommandError::CaseNotRunning {
                state: self.state.name(),
            })
        }
    }

    fn require_started(&self, id: WorkItemId) -> Result<(), CommandError> {
        let item = self.live_item(id)?;
        if item.status == WorkItemStatus::Started {
            Ok(())
        } else {
            Err(CommandError::NotStarted {
                work_item: id,
                status: item.status,
            })
        }
    }

    fn set_item_status(&mut self, id: WorkItemId, status: WorkItemStatus) {
        if let Some(item) = self.items.get_mut(&id) {
            item.status = status;
        }
    }

    pub(super) fn live_item(&self, id: WorkItemId) -> Result<&WorkItem, CommandError> {
        self.items.get(&id).ok_or(CommandError::UnknownWorkItem(id))
    }

    pub(super) fn net_of(&self, instance: NetInstanceId) -> &CompiledNet {
        self.spec.net(self.instances[&instance].net)
    }

    pub(super) fn busy_task(
        &self,
        instance: NetInstanceId,
        task: &str,
    ) -> Result<TaskIx, CommandError> {
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

    /// Checks a work item's output before anything moves: its type against the task's
    /// declared outputs, and its depth (see [`Case::check_output_depth`]).
    pub(super) fn check_output(&self, item: &WorkItem, output: &Value) -> Result<(), CommandError> {
        self.check_output_types(item, output)?;
        self.check_output_depth(item, output)
    }

    /// An output nests at most [`super::Limits::data_depth_max`] deep, like any work item
    /// data (so its fields fit the net data it merges into). An output that an MI task
    /// aggregates ends up one level deeper, in the array of outputs that the aggregate
    /// variable holds: an instance's output is refused at once, rather than at the task's
    /// exit, where it would block the exit for good (a detached instance's output is
    /// checked as it is appended, see [`Case::apply_detached_output`]). Output mappings
    /// are checked when they run.
    fn check_output_depth(&self, item: &WorkItem, output: &Value) -> Result<(), CommandError> {
        let net = self.net_of(item.net_instance);
        let task = &net.tasks[item.task_ix as usize];
        let max = self.limits.data_depth_max;
        let found = depth::depth(output);
        depth::check(found, max, &net.id, Some(&task.id), || "output".to_owned())?;
        let aggregate = task
            .multiple_instance
            .as_ref()
            .and_then(|mi| mi.aggregate.as_ref());
        match (aggregate, item.role) {
            (Some(variable), WorkItemRole::Instance { .. }) => depth::check(
                found.saturating_add(2),
                max,
                &net.id,
                Some(&task.id),
                || format!("output, aggregated into `{variable}`,"),
            ),
            _ => Ok(()),
        }
    }

    fn check_output_types(&self, item: &WorkItem, output: &Value) -> Result<(), CommandError> {
        let task = &self.net_of(item.net_instance).tasks[item.task_ix as usize];
        let invalid = |reason: String| CommandError::InvalidOutput {
            work_item: item.id,
            task: task.id.to_string(),
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

    pub(super) fn set_state(&mut self, state: CaseState, ev: &mut Events) {
        self.state = state.clone();
        ev.push(Event::CaseStateChanged { state });
    }

    /// Ends the case: every live work item leaves with `status`, every net instance's
    /// tokens are dropped.
    pub(super) fn end_case(&mut self, state: CaseState, status: WorkItemStatus, ev: &mut Events) {
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
}
