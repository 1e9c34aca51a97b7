//! Whether a [`CaseImage`] fits a specification: the check a snapshot read back from a
//! store passes before the case runs again.
//!
//! An image holds indices into its specification (nets, places, tasks) and references
//! between its own parts (work items, net instances, busy slots). An image the kernel
//! wrote always fits the specification it ran; one that was damaged on disk, or written
//! for another specification, may not, and running it would index out of bounds or
//! count below zero. Found by fuzzing (`store_records`): a snapshot naming a net the
//! specification does not have made `Engine::open` panic, so the server could not start.
//! The check is structural (indices, sizes, references), not a proof that the image is
//! reachable.

use crate::bitset::Bitset;
use crate::compile::{CompiledSpec, TaskIx};

use super::{CaseImage, Slot, WorkItemRole};

/// Why an image does not fit a specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the case image does not fit specification `{spec}`: {reason}")]
pub struct ImageError {
    /// The specification's id.
    pub spec: String,
    /// What does not fit.
    pub reason: String,
}

impl CaseImage {
    /// Checks that every index of the image is within `spec` and every reference between
    /// its parts resolves, so that a case made of it ([`super::Case::from_image`]) cannot
    /// index out of bounds.
    pub fn check(&self, spec: &CompiledSpec) -> Result<(), ImageError> {
        check(self, spec).map_err(|reason| ImageError {
            spec: spec.id.clone(),
            reason,
        })
    }
}

fn check(image: &CaseImage, spec: &CompiledSpec) -> Result<(), String> {
    for (id, instance) in &image.instances {
        let at = |what: &str| format!("net instance {}: {what}", id.0);
        if id.0 >= image.next_instance {
            return Err(at("numbered past the next instance number"));
        }
        let Some(net) = spec.nets.get(instance.net.0 as usize) else {
            return Err(at(&format!("no net {}", instance.net.0)));
        };
        let tasks = net.tasks.len();
        if !instance.marking.fits(net.places.len()) {
            return Err(at("its marking does not fit the net's places"));
        }
        if !instance.busy.fits(tasks) || !instance.offers.fits(tasks) {
            return Err(at("its task tables do not fit the net's tasks"));
        }
        for (task, activity) in instance.busy.iter() {
            for slot in &activity.slots {
                let resolves = match slot {
                    Slot::Item(item) => image.items.contains_key(item),
                    Slot::Subnet(child) => image.instances.contains_key(child),
                    Slot::Completed(_) => true,
                };
                if !resolves {
                    return Err(at(&format!("task {} runs something missing", task.0)));
                }
            }
        }
        for (task, item) in instance.offers.iter() {
            if !image.items.contains_key(item) {
                return Err(at(&format!("task {} offers a missing item", task.0)));
            }
        }
        for (task, state) in &instance.partial {
            let places = Bitset::new(net.places.len()).word_count();
            if task.0 as usize >= tasks || state.arrived.word_count() != places {
                return Err(at("a partial join does not fit the net"));
            }
        }
        if let Some(parent) = &instance.parent {
            let parent_net = image
                .instances
                .get(&parent.instance)
                .filter(|_| parent.instance != *id)
                .and_then(|p| spec.nets.get(p.net.0 as usize));
            if parent_net.is_none_or(|n| parent.task.0 as usize >= n.tasks.len()) {
                return Err(at("its parent is missing"));
            }
        }
    }
    for (id, item) in &image.items {
        let at = |what: &str| format!("work item {}: {what}", id.0);
        if item.id != *id || id.0 >= image.next_item {
            return Err(at("misnumbered"));
        }
        let instance = image.instances.get(&item.net_instance);
        let task = instance
            .and_then(|instance| spec.nets.get(instance.net.0 as usize))
            .and_then(|net| net.tasks.get(item.task_ix as usize));
        match task {
            Some(task) if task.id == item.task => {}
            _ => return Err(at("its task is not in its net instance's net")),
        }
        if let WorkItemRole::Instance { slot } = item.role {
            let slots = instance
                .and_then(|instance| instance.busy.get(&TaskIx(item.task_ix)))
                .map_or(0, |activity| activity.slots.len());
            if slot as usize >= slots {
                return Err(at("its task has no such instance"));
            }
        }
    }
    Ok(())
}
