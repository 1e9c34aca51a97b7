//! Per-task state of a net instance, indexed by task.
//!
//! A net instance keeps what is running (and what is offered) per task. A vector
//! indexed by task index, sized once when the instance starts, makes lookups an index
//! and keeps firing free of allocation; iteration is in task order, like the sorted map
//! it replaces.

use serde::{Deserialize, Serialize};

use crate::compile::TaskIx;

/// A map from the tasks of one net to `T`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TaskTable<T> {
    slots: Vec<Option<T>>,
    len: usize,
}

impl<T> Default for TaskTable<T> {
    fn default() -> Self {
        TaskTable {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<T> TaskTable<T> {
    /// An empty table for a net of `tasks` tasks.
    pub(crate) fn new(tasks: usize) -> Self {
        TaskTable {
            slots: std::iter::repeat_with(|| None).take(tasks).collect(),
            len: 0,
        }
    }

    pub(crate) fn contains_key(&self, task: &TaskIx) -> bool {
        self.get(task).is_some()
    }

    pub(crate) fn get(&self, task: &TaskIx) -> Option<&T> {
        self.slots.get(task.0 as usize).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, task: &TaskIx) -> Option<&mut T> {
        self.slots.get_mut(task.0 as usize).and_then(Option::as_mut)
    }

    /// Sets the entry of `task`, returning the one it replaces.
    pub(crate) fn insert(&mut self, task: TaskIx, value: T) -> Option<T> {
        let old = self.slots[task.0 as usize].replace(value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub(crate) fn remove(&mut self, task: &TaskIx) -> Option<T> {
        let old = self.slots.get_mut(task.0 as usize).and_then(Option::take);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Whether the table is one of a net of `tasks` tasks, its count right (a table read
    /// back from a snapshot may not be: `image.rs`).
    pub(crate) fn fits(&self, tasks: usize) -> bool {
        self.slots.len() == tasks && self.len == self.slots.iter().flatten().count()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tasks with an entry, in task order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = TaskIx> + '_ {
        self.iter().map(|(task, _)| task)
    }

    /// The entries, in task order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (TaskIx, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| slot.as_ref().map(|value| (TaskIx(i as u32), value)))
    }

    /// Removes and returns every entry, in task order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (TaskIx, T)> + '_ {
        self.len = 0;
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, slot)| slot.take().map(|value| (TaskIx(i as u32), value)))
    }
}
