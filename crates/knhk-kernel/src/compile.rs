//! Compiling a validated specification into dense indices, bitsets and compiled
//! expressions: the form the kernel executes.
//!
//! Compilation resolves every name once (element ids to indices, implicit conditions
//! `c{source_target}` created for task-to-task arcs, expressions compiled through the
//! [`Evaluator`]) so that execution never looks anything up by string.

use std::collections::BTreeMap;
use std::sync::Arc;

use knhk_model::{
    CreationMode, Evaluator, ExprError, Expression, JoinCode, Parameter, PartialJoinMode,
    Remainder, SplitCode, TaskKind, Termination, Timer, ValidSpec, implicit_condition_id,
};
use serde_json::{Map, Value};

use crate::bitset::Bitset;
use crate::orjoin::{OrJoinCache, OrJoinProbe};

/// A compiled expression.
pub type Expr = Arc<dyn Expression>;

/// Index of a net in a [`CompiledSpec`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct NetIx(pub u32);

/// Index of a place (condition) in a [`CompiledNet`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct PlaceIx(pub u32);

/// Index of a task in a [`CompiledNet`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct TaskIx(pub u32);

/// A specification ready to run.
#[derive(Debug)]
pub struct CompiledSpec {
    /// The specification's id.
    pub id: String,
    /// The nets; [`CompiledSpec::root`] says which one a case starts in.
    pub nets: Vec<CompiledNet>,
    /// The root net.
    pub root: NetIx,
    /// Whether running the spec evaluates any expression or checks a case limit when a
    /// task fires (subnet depth, MI instance count), and so may fail half-way through a
    /// command (the case then snapshots itself first, to roll back).
    pub fallible: bool,
    pub(crate) or_join_cache: OrJoinCache,
}

/// A compiled net.
#[derive(Debug)]
pub struct CompiledNet {
    /// The net's id.
    pub id: String,
    /// Every place: explicit conditions, then implicit ones, then one trigger place per
    /// triggered task.
    pub places: Vec<Place>,
    /// The input condition.
    pub input: PlaceIx,
    /// The output condition.
    pub output: PlaceIx,
    /// The tasks, in specification order.
    pub tasks: Vec<CompiledTask>,
    /// The data a new instance of the net starts with (variables' initial values).
    pub initial_data: Map<String, Value>,
    /// The variable whose initial value nests deepest, and how deep the net's data nests
    /// with it (counting the data object as 1), checked against a case's
    /// `data_depth_max` at launch.
    pub deepest_initial: Option<(String, u32)>,
    /// Declared variable types, checked against launch data.
    pub variables: Vec<(String, knhk_model::DataType)>,
    /// When an instance of the net ends.
    pub termination: Termination,
    /// The hot-path view of each task, by task index.
    pub hot: Vec<HotTask>,
    /// The tasks with a trigger.
    pub triggered: Vec<TaskIx>,
    /// For each place, the tasks that consume from it.
    pub consumers: Vec<Vec<TaskIx>>,
    /// For each place, the tasks that produce into it.
    pub producers: Vec<Vec<TaskIx>>,
    place_ids: BTreeMap<String, PlaceIx>,
    task_ids: BTreeMap<String, TaskIx>,
}

/// A place of a compiled net.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The condition's id (`c{a_b}` for an implicit one, `trigger:{task}` for a task's
    /// trigger place).
    pub id: String,
    /// What kind of place it is.
    pub kind: PlaceKind,
}

/// Where a place came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceKind {
    /// Written in the specification.
    Explicit,
    /// Made for an arc between two tasks.
    Implicit,
    /// Holds the pending signals of a triggered task.
    Trigger,
}

/// What a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Nothing: the task completes as it fires.
    Empty,
    /// Work items.
    Atomic,
    /// A subnet.
    Composite(NetIx),
}

/// One outgoing branch of a task.
#[derive(Debug, Clone)]
pub struct Branch {
    /// The place the branch puts its token in.
    pub place: PlaceIx,
    /// The flow's declared target (a condition, or the task behind an implicit one).
    pub target: String,
    /// When the branch is taken; `None` is always.
    pub predicate: Option<Expr>,
    /// Whether this is the default branch.
    pub default: bool,
}

/// A compiled task.
#[derive(Debug, Clone)]
pub struct CompiledTask {
    /// The task's id.
    pub id: crate::TaskId,
    /// The join code.
    pub join: JoinCode,
    /// The split code.
    pub split: SplitCode,
    /// What the task runs.
    pub body: Body,
    /// The atomic task's service name.
    pub service: Option<String>,
    /// Preset places as a set.
    pub preset: Bitset,
    /// Preset places in index order.
    pub preset_places: Vec<PlaceIx>,
    /// Outgoing branches: for XOR splits sorted by ordering with the default last.
    pub branches: Vec<Branch>,
    /// Places cleared when the task completes.
    pub cancel_places: Bitset,
    /// Tasks cancelled when the task completes.
    pub cancel_tasks: Vec<TaskIx>,
    /// Multiple-instance attributes.
    pub multiple_instance: Option<CompiledMi>,
    /// Input mappings: field and expression.
    pub input_mappings: Vec<(String, Expr)>,
    /// Output mappings: variable and expression.
    pub output_mappings: Vec<(String, Expr)>,
    /// Whether only the mappings move data (YAWL's rule; see the model's field).
    pub mappings_only: bool,
    /// Declared outputs, checked on completion.
    pub outputs: Vec<Parameter>,
    /// The timer.
    pub timer: Option<Timer>,
    /// Partial join: required branches and mode.
    pub partial_join: Option<(u32, PartialJoinMode)>,
    /// The trigger's signal, persistence and place.
    pub trigger: Option<(String, bool, PlaceIx)>,
    /// Tokens consumed from each preset place consumed from.
    pub thread_merge: u32,
    /// Tokens produced on each chosen branch.
    pub thread_split: u32,
    /// Whether the task fires by the plain rules alone (no partial join, trigger,
    /// thread merge or OR-join): the hot path.
    pub plain: bool,
}

/// How many places a task may consume from or produce into and still take the packed
/// hot path; wider tasks take the general one.
pub const HOT_ARITY: usize = 4;

/// What a plain firing of a task reads, packed so that one step touches one cache line:
/// the occupancy word holding the whole preset, the preset's mask within it, and the
/// places consumed from and produced into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotTask {
    /// Whether the packed form applies (plain task, preset within one word, at most
    /// [`HOT_ARITY`] places each way, a split that needs no predicate).
    pub packed: bool,
    /// Whether the join is AND (else XOR: any one marked preset place).
    pub and_join: bool,
    /// The occupancy word holding every preset place.
    pub word: u32,
    /// The preset's bits within that word.
    pub mask: u64,
    /// Preset place indices (AND join: each loses a token).
    pub consume: [u32; HOT_ARITY],
    /// How many of `consume` are used.
    pub consume_len: u8,
    /// Place indices that gain a token.
    pub produce: [u32; HOT_ARITY],
    /// How many of `produce` are used.
    pub produce_len: u8,
    /// The bits of the produced places that lie in the preset's word.
    pub produce_mask: u64,
    /// Whether some produced place lies in another word.
    pub produce_elsewhere: bool,
}

const _: () = assert!(
    std::mem::size_of::<HotTask>() <= 64,
    "a hot task fits a cache line"
);

impl HotTask {
    fn new(task: &CompiledTask) -> HotTask {
        let mut hot = HotTask {
            packed: false,
            and_join: task.join == JoinCode::And,
            word: 0,
            mask: 0,
            consume: [0; HOT_ARITY],
            consume_len: 0,
            produce: [0; HOT_ARITY],
            produce_len: 0,
            produce_mask: 0,
            produce_elsewhere: false,
        };
        let produce: Vec<u32> = match task.split {
            SplitCode::And => task.branches.iter().map(|b| b.place.0).collect(),
            // Without predicates an XOR or OR split takes its first (default) branch.
            SplitCode::Xor | SplitCode::Or => {
                if task.branches.iter().any(|b| b.predicate.is_some()) {
                    return hot;
                }
                task.branches.iter().take(1).map(|b| b.place.0).collect()
            }
        };
        let words: Vec<usize> = task
            .preset_places
            .iter()
            .map(|p| p.0 as usize / 64)
            .collect();
        let one_word = words.windows(2).all(|w| w[0] == w[1]);
        if !task.plain
            || !one_word
            || task.preset_places.is_empty()
            || task.preset_places.len() > HOT_ARITY
            || produce.len() > HOT_ARITY
        {
            return hot;
        }
        hot.word = words[0] as u32;
        for (k, place) in task.preset_places.iter().enumerate() {
            hot.mask |= 1 << (place.0 % 64);
            hot.consume[k] = place.0;
        }
        hot.consume_len = task.preset_places.len() as u8;
        hot.produce[..produce.len()].copy_from_slice(&produce);
        for place in &produce {
            if *place as usize / 64 == words[0] {
                hot.produce_mask |= 1 << (place % 64);
            } else {
                hot.produce_elsewhere = true;
            }
        }
        hot.produce_len = produce.len() as u8;
        hot.packed = true;
        hot
    }
}

/// Compiled multiple-instance attributes.
#[derive(Debug, Clone)]
pub struct CompiledMi {
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Completed instances that let the task exit; `None` is all.
    pub threshold: Option<u32>,
    /// Whether instances may be added at run time.
    pub creation: CreationMode,
    /// Gives the array to split over.
    pub split: Option<Expr>,
    /// Field receiving each element.
    pub item: String,
    /// WCP 36 completion condition.
    pub completion: Option<Expr>,
    /// What happens to unfinished instances at exit.
    pub remainder: Remainder,
    /// Variable receiving the outputs array.
    pub aggregate: Option<String>,
}

/// Why a specification could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// A flow predicate does not compile.
    #[error("net `{net}`: predicate of flow {from} -> {to}: {source}")]
    Predicate {
        /// The net.
        net: String,
        /// The flow's source.
        from: String,
        /// The flow's target.
        to: String,
        /// The expression error.
        source: Box<ExprError>,
    },
    /// Another expression of a task does not compile.
    #[error("net `{net}`: task `{task}`: {what}: {source}")]
    TaskExpression {
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// Which expression (`input mapping x`, `MI split`, ...).
        what: String,
        /// The expression error.
        source: Box<ExprError>,
    },
}

impl CompiledSpec {
    /// Compiles `spec`, compiling every expression with `evaluator`.
    pub fn compile(spec: &ValidSpec, evaluator: &dyn Evaluator) -> Result<Self, CompileError> {
        let net_index: BTreeMap<&str, NetIx> = spec
            .nets
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), NetIx(i as u32)))
            .collect();
        let mut fallible = false;
        let nets = spec
            .nets
            .iter()
            .map(|net| compile_net(net, &net_index, evaluator, &mut fallible))
            .collect::<Result<Vec<_>, _>>()?;
        let root = net_index
            .get(spec.root_net.as_str())
            .copied()
            .unwrap_or_else(|| unreachable!("validated spec has its root net"));
        Ok(CompiledSpec {
            id: spec.id.clone(),
            nets,
            root,
            fallible,
            or_join_cache: OrJoinCache::default(),
        })
    }

    /// Shows every OR-join decision of every case that runs this specification to
    /// `probe` (see [`OrJoinProbe`]). Only the first probe set is kept.
    pub fn set_or_join_probe(&self, probe: Arc<dyn OrJoinProbe>) {
        self.or_join_cache.set_probe(probe);
    }

    /// The net at `ix`.
    pub fn net(&self, ix: NetIx) -> &CompiledNet {
        &self.nets[ix.0 as usize]
    }
}

impl CompiledNet {
    /// The place with this id.
    pub fn place_ix(&self, id: &str) -> Option<PlaceIx> {
        self.place_ids.get(id).copied()
    }

    /// The task with this id.
    pub fn task_ix(&self, id: &str) -> Option<TaskIx> {
        self.task_ids.get(id).copied()
    }

    /// The task at `ix`.
    pub fn task(&self, ix: TaskIx) -> &CompiledTask {
        &self.tasks[ix.0 as usize]
    }

    /// The place at `ix`.
    pub fn place(&self, ix: PlaceIx) -> &Place {
        &self.places[ix.0 as usize]
    }
}

fn compile_net(
    net: &knhk_model::Net,
    net_index: &BTreeMap<&str, NetIx>,
    evaluator: &dyn Evaluator,
    fallible: &mut bool,
) -> Result<CompiledNet, CompileError> {
    let task_ids: BTreeMap<String, TaskIx> = net
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), TaskIx(i as u32)))
        .collect();
    let mut places = Places::default();
    for condition in net.all_conditions() {
        places.add(condition.id.clone(), PlaceKind::Explicit);
    }
    // Each arc becomes (from place or task) -> (to place or task); task-to-task arcs go
    // through a new implicit place.
    let mut presets: Vec<Vec<PlaceIx>> = vec![Vec::new(); net.tasks.len()];
    let mut arcs_out: Vec<Vec<(&knhk_model::Flow, PlaceIx)>> = vec![Vec::new(); net.tasks.len()];
    for flow in &net.flows {
        let from_task = task_ids.get(&flow.from).copied();
        let to_task = task_ids.get(&flow.to).copied();
        match (from_task, to_task) {
            (Some(from), Some(to)) => {
                let place = places.add(
                    implicit_condition_id(&flow.from, &flow.to),
                    PlaceKind::Implicit,
                );
                arcs_out[from.0 as usize].push((flow, place));
                presets[to.0 as usize].push(place);
            }
            (Some(from), None) => {
                let place = places.ids[&flow.to];
                arcs_out[from.0 as usize].push((flow, place));
            }
            (None, Some(to)) => presets[to.0 as usize].push(places.ids[&flow.from]),
            (None, None) => unreachable!("validation rejects condition-to-condition arcs"),
        }
    }
    let mut triggers = Vec::new();
    for (i, task) in net.tasks.iter().enumerate() {
        if task.trigger.is_some() {
            let place = places.add(format!("trigger:{}", task.id), PlaceKind::Trigger);
            triggers.push((i, place));
        }
    }
    let Places {
        list: places,
        ids: place_ids,
    } = places;
    let place_count = places.len();
    let mut consumers = vec![Vec::new(); place_count];
    let mut producers = vec![Vec::new(); place_count];
    let mut tasks = Vec::with_capacity(net.tasks.len());
    for (i, task) in net.tasks.iter().enumerate() {
        let ix = TaskIx(i as u32);
        let trigger_place = triggers.iter().find(|(t, _)| *t == i).map(|(_, p)| *p);
        let mut preset_places = presets[i].clone();
        preset_places.sort();
        let preset = Bitset::from_members(preset_places.iter().map(|p| p.0 as usize));
        for p in &preset_places {
            consumers[p.0 as usize].push(ix);
        }
        let task_err = |what: String| {
            move |source| CompileError::TaskExpression {
                net: net.id.clone(),
                task: task.id.clone(),
                what,
                source: Box::new(source),
            }
        };
        let mut branches = Vec::new();
        let mut ordered = arcs_out[i].clone();
        if task.split == SplitCode::Xor {
            ordered.sort_by_key(|(flow, _)| (flow.default, flow.ordering.unwrap_or(u32::MAX)));
        }
        let single = ordered.len() == 1;
        for (flow, place) in ordered {
            producers[place.0 as usize].push(ix);
            let predicate =
                match (&flow.predicate, task.split) {
                    (Some(source), SplitCode::Xor | SplitCode::Or) => {
                        *fallible = true;
                        Some(evaluator.compile(source).map_err(|source| {
                            CompileError::Predicate {
                                net: net.id.clone(),
                                from: flow.from.clone(),
                                to: flow.to.clone(),
                                source: Box::new(source),
                            }
                        })?)
                    }
                    _ => None,
                };
            branches.push(Branch {
                place,
                target: flow.to.clone(),
                predicate,
                default: flow.default || single,
            });
        }
        let mut cancelled = Vec::new();
        let mut cancel_tasks = Vec::new();
        for member in &task.cancellation_set {
            if let Some(t) = task_ids.get(member) {
                cancel_tasks.push(*t);
            } else if let Some(p) = place_ids.get(member) {
                cancelled.push(p.0 as usize);
            }
        }
        let cancel_places = Bitset::from_members(cancelled.iter().copied());
        let mut compile_all = |mappings: &[knhk_model::Mapping], kind: &str| {
            mappings
                .iter()
                .map(|m| {
                    *fallible = true;
                    evaluator
                        .compile(&m.expression)
                        .map(|e| (m.to.clone(), e))
                        .map_err(task_err(format!("{kind} mapping `{}`", m.to)))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let input_mappings = compile_all(&task.input_mappings, "input")?;
        let output_mappings = compile_all(&task.output_mappings, "output")?;
        let multiple_instance = match &task.multiple_instance {
            None => None,
            Some(mi) => {
                let mut compile_opt = |source: &Option<String>, what: &str| {
                    source
                        .as_ref()
                        .map(|s| {
                            *fallible = true;
                            evaluator.compile(s).map_err(task_err(what.to_owned()))
                        })
                        .transpose()
                };
                Some(CompiledMi {
                    min: mi.min,
                    max: mi.max.unwrap_or(u32::MAX),
                    threshold: mi.threshold,
                    creation: mi.creation,
                    split: compile_opt(&mi.split, "multiple-instance split")?,
                    item: mi.item.clone().unwrap_or_else(|| "item".to_owned()),
                    completion: compile_opt(&mi.completion, "multiple-instance completion")?,
                    remainder: mi.remainder,
                    aggregate: mi.aggregate.clone(),
                })
            }
        };
        // Firing a composite task (subnet depth) or an MI task (instance count against
        // the case's limits) can fail after the command has begun to change the case.
        if task.kind == TaskKind::Composite || task.multiple_instance.is_some() {
            *fallible = true;
        }
        let body = match task.kind {
            TaskKind::Empty => Body::Empty,
            TaskKind::Atomic => Body::Atomic,
            TaskKind::Composite => {
                let target = task.net.as_deref().unwrap_or_default();
                Body::Composite(net_index[target])
            }
        };
        let trigger = task
            .trigger
            .as_ref()
            .zip(trigger_place)
            .map(|(t, place)| (t.signal.clone(), t.persistent, place));
        let thread_merge = task.thread_merge.unwrap_or(1);
        let plain = task.partial_join.is_none()
            && trigger.is_none()
            && thread_merge == 1
            && task.join != JoinCode::Or;
        tasks.push(CompiledTask {
            id: task.id.as_str().into(),
            join: task.join,
            split: task.split,
            body,
            service: task.service.clone(),
            preset,
            preset_places,
            branches,
            cancel_places,
            cancel_tasks,
            multiple_instance,
            input_mappings,
            output_mappings,
            mappings_only: task.mappings_only,
            outputs: task.outputs.clone(),
            timer: task.timer.clone(),
            partial_join: task.partial_join.map(|p| (p.required, p.mode)),
            trigger,
            thread_merge,
            thread_split: task.thread_split.unwrap_or(1),
            plain,
        });
    }
    let hot = tasks.iter().map(HotTask::new).collect();
    let triggered = triggers.iter().map(|(t, _)| TaskIx(*t as u32)).collect();
    let initial_data: Map<String, Value> = net
        .variables
        .iter()
        .map(|v| (v.name.clone(), v.initial.clone().unwrap_or(Value::Null)))
        .collect();
    let deepest_initial = initial_data
        .iter()
        .map(|(name, value)| (name.clone(), crate::case::depth::as_field(value)))
        .max_by_key(|(_, depth)| *depth);
    let variables = net
        .variables
        .iter()
        .map(|v| (v.name.clone(), v.data_type))
        .collect();
    Ok(CompiledNet {
        id: net.id.clone(),
        input: place_ids[&net.input_condition.id],
        output: place_ids[&net.output_condition.id],
        places,
        tasks,
        hot,
        triggered,
        initial_data,
        deepest_initial,
        variables,
        termination: net.termination,
        consumers,
        producers,
        place_ids,
        task_ids: task_ids.into_iter().collect(),
    })
}

/// Places in index order, with their ids.
#[derive(Default)]
struct Places {
    list: Vec<Place>,
    ids: BTreeMap<String, PlaceIx>,
}

impl Places {
    fn add(&mut self, id: String, kind: PlaceKind) -> PlaceIx {
        let ix = PlaceIx(self.list.len() as u32);
        self.ids.insert(id.clone(), ix);
        self.list.push(Place { id, kind });
        ix
    }
}
