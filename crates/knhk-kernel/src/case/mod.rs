//! Cases: one run of a specification, from launch to its end.
//!
//! A [`Case`] holds the net instances (the root's and its subnets'), the live work
//! items, the case's random generator and its state. [`Case::apply`] takes a
//! [`Command`], checks it against the state, and returns the [`Event`]s it caused; a
//! refused command returns a [`CommandError`] and leaves the case exactly as it was.
//! After every command the case *settles*: empty and composite tasks fire, offers are
//! made and withdrawn, finished nets complete, and a case where nothing can happen any
//! more is reported deadlocked, all within [`Limits::steps_max`].
//!
//! Data is bounded too: no net instance's or work item's data nests deeper than
//! [`Limits::data_depth_max`] (`depth.rs`), so that whatever a case holds, a snapshot of
//! it can be written and read back.

mod command;
pub(crate) mod depth;
mod fire;
mod image;
mod net;
mod settle;
mod table;
mod types;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::bitset::Bitset;
use crate::compile::{CompiledSpec, NetIx, PlaceIx, TaskIx};
use crate::marking::Marking;
use table::TaskTable;

pub use image::ImageError;
pub use types::*;

/// The events a command produces, in order.
type Events = Vec<Event>;

/// One case of a specification.
#[derive(Debug, Clone)]
pub struct Case {
    spec: Arc<CompiledSpec>,
    limits: Limits,
    state: CaseState,
    instances: BTreeMap<NetInstanceId, NetInstance>,
    items: BTreeMap<WorkItemId, WorkItem>,
    next_item: u64,
    next_instance: u32,
    rng: SplitMix64,
    /// The root net's data once a cancellation or failure has dropped every net
    /// instance, so that an ended case still shows its data.
    final_data: Option<Map<String, Value>>,
}

/// One instance of a net within a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetInstance {
    pub(crate) net: NetIx,
    pub(crate) marking: Marking,
    pub(crate) data: Map<String, Value>,
    pub(crate) busy: TaskTable<Activity>,
    pub(crate) offers: TaskTable<WorkItemId>,
    pub(crate) partial: BTreeMap<TaskIx, PartialJoinState>,
    pub(crate) parent: Option<ParentSlot>,
    pub(crate) depth: u32,
    /// Whether the marking or the busy tasks changed since the instance was last
    /// settled: only dirty instances are examined for work that needs no command.
    pub(crate) dirty: bool,
}

/// A busy task: its instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Activity {
    pub(crate) slots: Vec<Slot>,
}

/// One instance of a busy task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Slot {
    Item(WorkItemId),
    Subnet(NetInstanceId),
    Completed(Value),
}

/// Where a subnet instance reports its completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ParentSlot {
    pub(crate) instance: NetInstanceId,
    pub(crate) task: TaskIx,
    pub(crate) slot: u32,
}

/// The memory of a partial join between its firing and its reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartialJoinState {
    pub(crate) arrived: Bitset,
    pub(crate) fired: bool,
}

/// Everything a case holds except its specification: what a snapshot stores, so that
/// recovery resumes from it instead of replaying every command since launch.
///
/// An image is only meaningful with the specification the case was launched with; the
/// caller keeps that pairing (see [`Case::from_image`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseImage {
    limits: Limits,
    state: CaseState,
    instances: BTreeMap<NetInstanceId, NetInstance>,
    items: BTreeMap<WorkItemId, WorkItem>,
    next_item: u64,
    next_instance: u32,
    rng: SplitMix64,
    final_data: Option<Map<String, Value>>,
}

/// The generator behind YAWL's random choices (XOR-join token, deferred choice among
/// routing tasks). Seeded at launch and kept in the case, so replaying the same
/// commands repeats the same choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

impl Case {
    /// Starts a case of `spec` with launch `data` (an object overriding the root net's
    /// initial variable values), settles it, and returns it with what happened.
    ///
    /// Refused with [`LaunchError::Command`] holding [`CommandError::DataTooDeep`] if a
    /// launch data field, or the initial value of a variable of any net (a subnet's data
    /// starts from them too), nests deeper than `limits.data_depth_max`.
    pub fn launch(
        spec: Arc<CompiledSpec>,
        data: Value,
        seed: u64,
        limits: Limits,
    ) -> Result<(Case, Vec<Event>), LaunchError> {
        let Value::Object(data) = data else {
            return Err(LaunchError::DataNotObject);
        };
        let root = spec.net(spec.root);
        let max = limits.data_depth_max;
        for (field, value) in &data {
            depth::check(depth::as_field(value), max, &root.id, None, || {
                format!("launch data field `{field}`")
            })?;
        }
        for net in &spec.nets {
            if let Some((variable, deepest)) = &net.deepest_initial {
                depth::check(*deepest, max, &net.id, None, || {
                    format!("initial value of `{variable}`")
                })?;
            }
        }
        for (variable, data_type) in &root.variables {
            // `null` leaves a variable unset, as a variable without an initial value is.
            if data
                .get(variable)
                .is_some_and(|v| !v.is_null() && !data_type.admits(v))
            {
                return Err(LaunchError::VariableType {
                    variable: variable.clone(),
                    expected: *data_type,
                });
            }
        }
        let mut case = Case {
            spec: Arc::clone(&spec),
            limits,
            state: CaseState::Running,
            instances: BTreeMap::new(),
            items: BTreeMap::new(),
            next_item: 1,
            next_instance: 0,
            rng: SplitMix64(seed),
            final_data: None,
        };
        let mut events = Vec::new();
        case.start_net(spec.root, data, None, 0, &mut events);
        case.settle(&mut events)?;
        Ok((case, events))
    }

    /// Applies `command`. On error nothing has changed.
    pub fn apply(&mut self, command: &Command) -> Result<Vec<Event>, CommandError> {
        // Only a specification with expressions, multiple instances or subnets can fail
        // after the case has begun to change; plain nets are checked up front (a work
        // item's output, for its type and its depth, before the item completes) and skip
        // the snapshot.
        let snapshot = self.spec.fallible.then(|| self.clone());
        let mut events = Vec::with_capacity(8);
        match self.execute(command, &mut events) {
            Ok(()) => Ok(events),
            Err(error) => {
                if let Some(snapshot) = snapshot {
                    *self = snapshot;
                }
                Err(error)
            }
        }
    }

    /// The case's state without its specification, for a snapshot.
    pub fn image(&self) -> CaseImage {
        CaseImage {
            limits: self.limits,
            state: self.state.clone(),
            instances: self.instances.clone(),
            items: self.items.clone(),
            next_item: self.next_item,
            next_instance: self.next_instance,
            rng: self.rng,
            final_data: self.final_data.clone(),
        }
    }

    /// The case `image` was taken of, running `spec` again. `spec` must be the
    /// specification the case was launched with: an image holds indices into it. An image
    /// read back from a store is checked against `spec` first ([`CaseImage::check`]).
    pub fn from_image(spec: Arc<CompiledSpec>, image: CaseImage) -> Case {
        Case {
            spec,
            limits: image.limits,
            state: image.state,
            instances: image.instances,
            items: image.items,
            next_item: image.next_item,
            next_instance: image.next_instance,
            rng: image.rng,
            final_data: image.final_data,
        }
    }

    /// The specification the case runs.
    pub fn spec(&self) -> &Arc<CompiledSpec> {
        &self.spec
    }

    /// The case's state.
    pub fn state(&self) -> &CaseState {
        &self.state
    }

    /// The root net's data: the case data.
    pub fn data(&self) -> Value {
        self.instances
            .get(&ROOT_INSTANCE)
            .map(|root| &root.data)
            .or(self.final_data.as_ref())
            .map(|data| Value::Object(data.clone()))
            .unwrap_or(Value::Null)
    }

    /// The live work items, by id.
    pub fn work_items(&self) -> impl Iterator<Item = &WorkItem> {
        self.items.values()
    }

    /// The live work item with this id.
    pub fn work_item(&self, id: WorkItemId) -> Option<&WorkItem> {
        self.items.get(&id)
    }

    /// The live net instances, by id.
    pub fn net_instances(&self) -> impl Iterator<Item = (NetInstanceId, &NetInstance)> {
        self.instances.iter().map(|(id, instance)| (*id, instance))
    }

    /// The live net instance with this id.
    pub fn net_instance(&self, id: NetInstanceId) -> Option<&NetInstance> {
        self.instances.get(&id)
    }

    /// Tokens per place id in net instance `id`, for places that hold any.
    pub fn tokens(&self, id: NetInstanceId) -> BTreeMap<String, u32> {
        let Some(instance) = self.instances.get(&id) else {
            return BTreeMap::new();
        };
        let net = self.spec.net(instance.net);
        instance
            .marking
            .occupied()
            .iter()
            .map(|p| {
                (
                    net.places[p].id.clone(),
                    instance.marking.count(PlaceIx(p as u32)),
                )
            })
            .collect()
    }

    /// The ids of the busy tasks of net instance `id`.
    pub fn busy_tasks(&self, id: NetInstanceId) -> Vec<String> {
        let Some(instance) = self.instances.get(&id) else {
            return Vec::new();
        };
        let net = self.spec.net(instance.net);
        instance
            .busy
            .keys()
            .map(|t| net.task(t).id.to_string())
            .collect()
    }
}

impl NetInstance {
    /// The instance's marking.
    pub fn marking(&self) -> &Marking {
        &self.marking
    }

    /// The instance's data.
    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// The net's index in the specification.
    pub fn net(&self) -> NetIx {
        self.net
    }
}
