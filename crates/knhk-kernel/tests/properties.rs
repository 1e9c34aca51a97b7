//! Property tests on random nets (STYLE.md §4): small random valid specifications (2 to
//! 8 tasks; AND, XOR and a few OR joins; AND, XOR and OR splits with constant
//! predicates and a default; atomic, empty, multiple-instance and composite tasks;
//! explicit conditions; cancellation sets) driven by random commands, legal and not.
//!
//! Properties:
//! - (a) tokens change only by the firing rules: a reference model replays each
//!   command's events on the marking before it (a fired task consumes by its join, a
//!   completed task produces by its split, a cancellation removes what it reports, a
//!   net completes only when its output is marked or it is empty) and must arrive at the
//!   kernel's marking, never taking a token from an empty place;
//! - (b) a case that has ended holds no live work item, and every live item matches its
//!   task's state (an offer for an idle task, an instance for a busy one);
//! - (c) replaying the launch (same seed) and the commands gives the same events and the
//!   same state;
//! - (d) a refused command leaves the case unchanged, also in what is not observable
//!   (ids, random generator): replaying without the refused commands gives the same
//!   results.

// Test helpers fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use knhk_kernel::{
    Case, CaseState, Command, CommandError, CompiledSpec, Event, Limits, NetInstance,
    NetInstanceId, ROOT_INSTANCE, WorkItem, WorkItemId, WorkItemRole, WorkItemStatus,
};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---- random bytes -----------------------------------------------------------------

/// Choices drawn from a byte string; past its end every choice is 0, the simplest, so
/// that proptest's shrinking (shorter strings, smaller bytes) gives simpler nets.
struct Entropy<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Entropy<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Entropy { bytes, pos: 0 }
    }

    fn exhausted(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// A number below `n` (0 if `n <= 1`).
    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            usize::from(self.byte()) % n
        }
    }

    /// True one time in `n` (never for a 0 byte).
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == n - 1
    }
}

// ---- random specifications --------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Atomic,
    Empty,
    Composite,
}

#[derive(Debug, Clone)]
struct GenTask {
    id: String,
    kind: Kind,
    join: &'static str,
    split: &'static str,
    /// min, max, threshold, dynamic creation
    mi: Option<(u32, u32, Option<u32>, bool)>,
    cancel: Vec<String>,
}

#[derive(Debug, Clone)]
struct GenFlow {
    from: String,
    to: String,
    predicate: Option<bool>,
    ordering: Option<u32>,
    default: bool,
}

#[derive(Debug, Clone)]
struct GenNet {
    id: String,
    conditions: Vec<String>,
    tasks: Vec<GenTask>,
    flows: Vec<GenFlow>,
}

const INPUT: &str = "i";
const OUTPUT: &str = "o";

impl GenNet {
    fn is_task(&self, id: &str) -> bool {
        self.tasks.iter().any(|t| t.id == id)
    }

    /// The place behind a flow: its condition, or the implicit condition between two
    /// tasks.
    fn place_of(&self, flow: &GenFlow) -> String {
        match (self.is_task(&flow.from), self.is_task(&flow.to)) {
            (true, true) => format!("c{{{}_{}}}", flow.from, flow.to),
            (true, false) => flow.to.clone(),
            _ => flow.from.clone(),
        }
    }

    fn to_json(&self) -> Value {
        let tasks: Vec<Value> = self
            .tasks
            .iter()
            .map(|t| {
                let mut task = json!({"id": t.id, "join": t.join, "split": t.split});
                task["kind"] = json!(match t.kind {
                    Kind::Atomic => "atomic",
                    Kind::Empty => "empty",
                    Kind::Composite => "composite",
                });
                if t.kind == Kind::Composite {
                    task["net"] = json!("sub");
                }
                if let Some((min, max, threshold, dynamic)) = t.mi {
                    let creation = if dynamic { "dynamic" } else { "static" };
                    task["multiple_instance"] = json!(
                        {"min": min, "max": max, "threshold": threshold, "creation": creation}
                    );
                }
                if !t.cancel.is_empty() {
                    task["cancellation_set"] = json!(t.cancel);
                }
                task
            })
            .collect();
        let flows: Vec<Value> = self
            .flows
            .iter()
            .map(|f| {
                let mut flow = json!({"from": f.from, "to": f.to});
                if let Some(p) = f.predicate {
                    flow["predicate"] = json!(if p { "true" } else { "false" });
                }
                if let Some(o) = f.ordering {
                    flow["ordering"] = json!(o);
                }
                if f.default {
                    flow["default"] = json!(true);
                }
                flow
            })
            .collect();
        let conditions: Vec<Value> = self.conditions.iter().map(|c| json!({"id": c})).collect();
        json!({
            "id": self.id,
            "input_condition": {"id": INPUT},
            "output_condition": {"id": OUTPUT},
            "conditions": conditions,
            "tasks": tasks,
            "flows": flows,
        })
    }
}

fn gen_net(e: &mut Entropy<'_>, id: &str, allow_composite: bool) -> GenNet {
    let n = 2 + e.below(7);
    let conditions: Vec<String> = (0..e.below(3)).map(|k| format!("p{k}")).collect();
    let task_id = |j: usize| format!("t{j}");
    let mut tasks = Vec::new();
    for j in 0..n {
        let kind = match e.below(10) {
            0..=6 => Kind::Atomic,
            7 | 8 => Kind::Empty,
            _ if allow_composite => Kind::Composite,
            _ => Kind::Atomic,
        };
        let join = match e.below(12) {
            0..=6 => "xor",
            7..=10 => "and",
            _ => "or",
        };
        let split = ["and", "and", "xor", "or"][e.below(4)];
        let mi = (kind != Kind::Empty && e.one_in(6)).then(|| {
            let min = 1 + e.below(2) as u32;
            let max = min + e.below(3) as u32;
            let threshold = e.one_in(2).then(|| 1 + e.below(max as usize) as u32);
            (min, max, threshold, e.one_in(2))
        });
        tasks.push(GenTask {
            id: task_id(j),
            kind,
            join,
            split,
            mi,
            cancel: Vec::new(),
        });
    }
    let mut pairs: Vec<(String, String)> = vec![(INPUT.into(), task_id(0))];
    if e.one_in(3) {
        pairs.push((INPUT.into(), task_id(e.below(n))));
    }
    for j in 0..n - 1 {
        pairs.push((task_id(j), task_id(j + 1)));
    }
    pairs.push((task_id(n - 1), OUTPUT.into()));
    for c in &conditions {
        pairs.push((task_id(e.below(n)), c.clone()));
        pairs.push((c.clone(), task_id(e.below(n))));
        if e.one_in(2) {
            pairs.push((c.clone(), task_id(e.below(n))));
        }
    }
    for _ in 0..e.below(6) {
        let from = task_id(e.below(n));
        let to = match e.below(5) {
            0 | 1 => task_id(e.below(n)),
            2 | 3 if !conditions.is_empty() => conditions[e.below(conditions.len())].clone(),
            4 => OUTPUT.into(),
            _ => task_id(e.below(n)),
        };
        pairs.push((from, to));
    }
    let mut seen = BTreeSet::new();
    pairs.retain(|p| seen.insert(p.clone()));
    let mut net = GenNet {
        id: id.to_owned(),
        conditions,
        tasks,
        flows: pairs
            .into_iter()
            .map(|(from, to)| GenFlow {
                from,
                to,
                predicate: None,
                ordering: None,
                default: false,
            })
            .collect(),
    };
    // Split rules: XOR and OR flows get constant predicates and one default.
    for t in 0..net.tasks.len() {
        let (id, split) = (net.tasks[t].id.clone(), net.tasks[t].split);
        if split == "and" {
            continue;
        }
        let outgoing: Vec<usize> = (0..net.flows.len())
            .filter(|f| net.flows[*f].from == id)
            .collect();
        let default = e.below(outgoing.len());
        for (k, f) in outgoing.iter().enumerate() {
            let flow = &mut net.flows[*f];
            if k == default {
                flow.default = true;
                if e.one_in(2) {
                    flow.predicate = Some(e.below(2) == 0);
                }
            } else {
                flow.predicate = Some(e.below(2) == 0);
                if split == "xor" {
                    flow.ordering = Some((outgoing.len() - k) as u32);
                }
            }
        }
    }
    // Cancellation sets over conditions (explicit, implicit, input, output) and tasks,
    // mostly places.
    let mut places: Vec<String> = vec![INPUT.into(), OUTPUT.into()];
    places.extend(net.conditions.iter().cloned());
    places.extend(
        net.flows
            .iter()
            .filter(|f| net.is_task(&f.from) && net.is_task(&f.to))
            .map(|f| net.place_of(f)),
    );
    let task_ids: Vec<String> = net.tasks.iter().map(|t| t.id.clone()).collect();
    for t in 0..net.tasks.len() {
        if e.one_in(3) {
            let mut cancel = BTreeSet::new();
            for _ in 0..1 + e.below(3) {
                let member = if e.one_in(4) {
                    task_ids[e.below(task_ids.len())].clone()
                } else {
                    places[e.below(places.len())].clone()
                };
                cancel.insert(member);
            }
            net.tasks[t].cancel = cancel.into_iter().collect();
        }
    }
    net
}

/// A random specification: a root net, and a subnet if a root task is composite.
fn gen_spec(bytes: &[u8]) -> Vec<GenNet> {
    let mut e = Entropy::new(bytes);
    let root = gen_net(&mut e, "main", true);
    let mut nets = vec![root];
    if nets[0].tasks.iter().any(|t| t.kind == Kind::Composite) {
        nets.push(gen_net(&mut e, "sub", false));
    }
    nets
}

fn compile(nets: &[GenNet]) -> Arc<CompiledSpec> {
    let nets: Vec<Value> = nets.iter().map(GenNet::to_json).collect();
    support::compile_text(&json!({"id": "random", "root_net": "main", "nets": nets}).to_string())
}

fn limits() -> Limits {
    Limits {
        steps_max: 100,
        or_join_work_max: 20_000,
        ..Limits::default()
    }
}

// ---- driving a case ---------------------------------------------------------------

/// Everything observable about a case.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    state: CaseState,
    items: Vec<WorkItem>,
    instances: Vec<(NetInstanceId, NetInstance)>,
    tokens: BTreeMap<NetInstanceId, BTreeMap<String, u32>>,
    busy: BTreeMap<NetInstanceId, Vec<String>>,
    data: Value,
}

fn snapshot(case: &Case) -> Snapshot {
    let ids: Vec<NetInstanceId> = case.net_instances().map(|(id, _)| id).collect();
    Snapshot {
        state: case.state().clone(),
        items: case.work_items().cloned().collect(),
        instances: case
            .net_instances()
            .map(|(id, i)| (id, i.clone()))
            .collect(),
        tokens: ids.iter().map(|id| (*id, case.tokens(*id))).collect(),
        busy: ids.iter().map(|id| (*id, case.busy_tasks(*id))).collect(),
        data: case.data(),
    }
}

struct Step {
    command: Command,
    before: Snapshot,
    result: Result<Vec<Event>, CommandError>,
    after: Snapshot,
}

struct Trace {
    nets: Vec<GenNet>,
    spec: Arc<CompiledSpec>,
    seed: u64,
    launch_events: Vec<Event>,
    launched: Snapshot,
    steps: Vec<Step>,
}

/// The next command, chosen from the case's live work and busy tasks.
fn choose(case: &Case, e: &mut Entropy<'_>) -> Command {
    let items: Vec<&WorkItem> = case.work_items().collect();
    let busy: Vec<(NetInstanceId, String)> = case
        .net_instances()
        .flat_map(|(id, _)| case.busy_tasks(id).into_iter().map(move |t| (id, t)))
        .collect();
    let pick_item = |e: &mut Entropy<'_>| items.get(e.below(items.len())).copied();
    let pick_busy = |e: &mut Entropy<'_>| {
        busy.get(e.below(busy.len()))
            .cloned()
            .unwrap_or((ROOT_INSTANCE, "t0".into()))
    };
    if *case.state() == CaseState::Suspended && !e.one_in(4) {
        return Command::ResumeCase;
    }
    match e.below(32) {
        0..=23 => match pick_item(e) {
            Some(item) if item.status == WorkItemStatus::Enabled => {
                Command::StartWorkItem { work_item: item.id }
            }
            Some(item) => Command::CompleteWorkItem {
                work_item: item.id,
                output: json!({}),
            },
            None => Command::StartWorkItem {
                work_item: WorkItemId(1),
            },
        },
        24 | 25 => match pick_item(e) {
            Some(item) if item.status == WorkItemStatus::Enabled => Command::CompleteWorkItem {
                work_item: item.id,
                output: json!({}),
            },
            Some(item) if e.one_in(2) => Command::CompleteWorkItem {
                work_item: item.id,
                output: json!([1]),
            },
            Some(item) => Command::StartWorkItem { work_item: item.id },
            None => Command::CompleteWorkItem {
                work_item: WorkItemId(1),
                output: json!({}),
            },
        },
        26 => Command::StartWorkItem {
            work_item: WorkItemId(1_000_000),
        },
        27 => {
            let (net_instance, task) = pick_busy(e);
            Command::CancelTask { net_instance, task }
        }
        28 => {
            let (net_instance, task) = pick_busy(e);
            Command::CompleteTask { net_instance, task }
        }
        29 => {
            let (net_instance, task) = pick_busy(e);
            Command::AddInstance {
                net_instance,
                task,
                data: json!(e.byte()),
            }
        }
        30 => Command::SuspendCase,
        _ => match e.below(6) {
            0 => Command::CancelCase,
            1 => match pick_item(e) {
                Some(item) => Command::FailWorkItem {
                    work_item: item.id,
                    message: "gave up".into(),
                },
                None => Command::CancelCase,
            },
            _ => Command::Signal {
                name: "nobody-listens".into(),
            },
        },
    }
}

/// Launches a random spec and drives it with random commands until the bytes run out
/// or the case has ended (one more command is then tried on the ended case).
fn drive(spec_bytes: &[u8], seed: u64, command_bytes: &[u8]) -> Trace {
    let nets = gen_spec(spec_bytes);
    let spec = compile(&nets);
    let (mut case, launch_events) =
        Case::launch(Arc::clone(&spec), json!({}), seed, limits()).expect("launch succeeds");
    let launched = snapshot(&case);
    let mut e = Entropy::new(command_bytes);
    let mut steps = Vec::new();
    while !e.exhausted() {
        let ended = case.state().is_final();
        let command = choose(&case, &mut e);
        let before = snapshot(&case);
        let result = case.apply(&command);
        steps.push(Step {
            command,
            before,
            result,
            after: snapshot(&case),
        });
        if ended {
            break;
        }
    }
    Trace {
        nets,
        spec,
        seed,
        launch_events,
        launched,
        steps,
    }
}

// ---- the reference model for property (a) ------------------------------------------

type Tokens = BTreeMap<String, u32>;

struct ModelTask {
    join: &'static str,
    split: &'static str,
    preset: Vec<String>,
    /// place, predicate, default, ordering, in document order
    branches: Vec<(String, Option<bool>, bool, Option<u32>)>,
    cancel_places: Vec<String>,
}

struct ModelNet {
    tasks: BTreeMap<String, ModelTask>,
}

impl ModelNet {
    fn new(net: &GenNet) -> Self {
        let mut places: BTreeSet<String> = [INPUT.to_owned(), OUTPUT.to_owned()].into();
        places.extend(net.conditions.iter().cloned());
        places.extend(net.flows.iter().map(|f| net.place_of(f)));
        let tasks = net
            .tasks
            .iter()
            .map(|t| {
                let preset = net
                    .flows
                    .iter()
                    .filter(|f| f.to == t.id)
                    .map(|f| net.place_of(f))
                    .collect();
                let branches = net
                    .flows
                    .iter()
                    .filter(|f| f.from == t.id)
                    .map(|f| (net.place_of(f), f.predicate, f.default, f.ordering))
                    .collect();
                let cancel_places = t
                    .cancel
                    .iter()
                    .filter(|m| places.contains(*m))
                    .cloned()
                    .collect();
                (
                    t.id.clone(),
                    ModelTask {
                        join: t.join,
                        split: t.split,
                        preset,
                        branches,
                        cancel_places,
                    },
                )
            })
            .collect();
        ModelNet { tasks }
    }
}

fn take(tokens: &mut Tokens, place: &str) -> bool {
    match tokens.get_mut(place) {
        Some(n) if *n > 0 => {
            *n -= 1;
            if *n == 0 {
                tokens.remove(place);
            }
            true
        }
        _ => false,
    }
}

fn count(tokens: &Tokens, place: &str) -> u32 {
    tokens.get(place).copied().unwrap_or(0)
}

/// The markings a firing of `task` can leave (several for an XOR-join, which takes its
/// token from a marked preset place chosen at random); none if its join is not
/// satisfied.
fn consume(task: &ModelTask, tokens: &Tokens) -> Vec<Tokens> {
    match task.join {
        "and" => {
            let mut next = tokens.clone();
            task.preset
                .iter()
                .all(|p| take(&mut next, p))
                .then_some(next)
                .into_iter()
                .collect()
        }
        "xor" => task
            .preset
            .iter()
            .filter(|p| count(tokens, p) > 0)
            .map(|p| {
                let mut next = tokens.clone();
                take(&mut next, p);
                next
            })
            .collect(),
        _ => {
            let marked: Vec<&String> = task
                .preset
                .iter()
                .filter(|p| count(tokens, p) > 0)
                .collect();
            if marked.is_empty() {
                return Vec::new();
            }
            let mut next = tokens.clone();
            for p in marked {
                take(&mut next, p);
            }
            vec![next]
        }
    }
}

/// The places a completing task's split puts a token in (predicates are constants).
fn produce(task: &ModelTask) -> Vec<String> {
    let single = task.branches.len() == 1;
    match task.split {
        "and" => task.branches.iter().map(|b| b.0.clone()).collect(),
        "xor" => {
            let mut ordered: Vec<_> = task.branches.iter().collect();
            ordered.sort_by_key(|(_, _, default, ordering)| {
                (*default || single, ordering.unwrap_or(u32::MAX))
            });
            ordered
                .into_iter()
                .find(|(_, predicate, default, _)| *default || single || *predicate == Some(true))
                .map(|b| b.0.clone())
                .into_iter()
                .collect()
        }
        _ => {
            let chosen: Vec<String> = task
                .branches
                .iter()
                .filter(|b| b.1 == Some(true))
                .map(|b| b.0.clone())
                .collect();
            if chosen.is_empty() {
                task.branches
                    .iter()
                    .filter(|b| b.2 || single)
                    .map(|b| b.0.clone())
                    .collect()
            } else {
                chosen
            }
        }
    }
}

struct ModelInstance {
    net: String,
    parent: Option<(NetInstanceId, String)>,
    /// The markings consistent with the events so far.
    candidates: BTreeSet<Tokens>,
}

struct Model {
    nets: BTreeMap<String, ModelNet>,
    instances: BTreeMap<NetInstanceId, ModelInstance>,
}

impl Model {
    fn new(nets: &[GenNet]) -> Self {
        Model {
            nets: nets
                .iter()
                .map(|n| (n.id.clone(), ModelNet::new(n)))
                .collect(),
            instances: BTreeMap::new(),
        }
    }

    /// Removes instance `id` and every subnet instance below it.
    fn remove_tree(&mut self, id: NetInstanceId) {
        self.instances.remove(&id);
        let children: Vec<NetInstanceId> = self
            .instances
            .iter()
            .filter(|(_, i)| i.parent.as_ref().is_some_and(|(p, _)| *p == id))
            .map(|(c, _)| *c)
            .collect();
        for child in children {
            self.remove_tree(child);
        }
    }

    /// Removes the subnet instances run by `task` of instance `id`.
    fn remove_children(&mut self, id: NetInstanceId, task: &str) {
        let children: Vec<NetInstanceId> = self
            .instances
            .iter()
            .filter(|(_, i)| {
                i.parent
                    .as_ref()
                    .is_some_and(|(p, t)| *p == id && t == task)
            })
            .map(|(c, _)| *c)
            .collect();
        for child in children {
            self.remove_tree(child);
        }
    }

    fn update(
        &mut self,
        id: NetInstanceId,
        what: &str,
        f: impl Fn(&ModelNet, &Tokens) -> Vec<Tokens>,
    ) -> Result<(), String> {
        let instance = self
            .instances
            .get_mut(&id)
            .ok_or_else(|| format!("{what}: no instance {id:?}"))?;
        let net = &self.nets[&instance.net];
        let next: BTreeSet<Tokens> = instance.candidates.iter().flat_map(|t| f(net, t)).collect();
        if next.is_empty() {
            return Err(format!(
                "{what} in {id:?} is impossible from {:?}",
                instance.candidates
            ));
        }
        instance.candidates = next;
        Ok(())
    }

    fn apply(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::NetStarted {
                net_instance,
                net,
                parent,
            } => {
                let start: Tokens = [(INPUT.to_owned(), 1)].into();
                self.instances.insert(
                    *net_instance,
                    ModelInstance {
                        net: net.clone(),
                        parent: parent.clone(),
                        candidates: [start].into(),
                    },
                );
                Ok(())
            }
            Event::TaskFired {
                net_instance, task, ..
            } => self.update(*net_instance, &format!("firing {task}"), |net, t| {
                consume(&net.tasks[&**task], t)
            }),
            Event::TokensRemoved {
                net_instance,
                place,
                tokens,
            } => self.update(
                *net_instance,
                &format!("removing {tokens} from {place}"),
                |_, t| {
                    if count(t, place) == *tokens {
                        let mut next = t.clone();
                        next.remove(place);
                        vec![next]
                    } else {
                        Vec::new()
                    }
                },
            ),
            Event::TaskCompleted { net_instance, task } => {
                // Subnet instances still running when their task exits go with it.
                self.remove_children(*net_instance, task);
                self.update(*net_instance, &format!("completing {task}"), |net, t| {
                    let task = &net.tasks[&**task];
                    // The cancellation set was applied just before (reporting only the
                    // places that held tokens), then the split produces.
                    if task.cancel_places.iter().any(|p| count(t, p) > 0) {
                        return Vec::new();
                    }
                    let mut next = t.clone();
                    for place in produce(task) {
                        *next.entry(place).or_default() += 1;
                    }
                    vec![next]
                })
            }
            Event::TaskCancelled { net_instance, task } => {
                self.remove_children(*net_instance, task);
                Ok(())
            }
            Event::NetCompleted { net_instance } => {
                self.update(*net_instance, "completing the net", |_, t| {
                    // Explicit termination: the output is marked, or no token is left.
                    if count(t, OUTPUT) > 0 || t.is_empty() {
                        vec![t.clone()]
                    } else {
                        Vec::new()
                    }
                })?;
                self.remove_tree(*net_instance);
                if *net_instance == ROOT_INSTANCE {
                    let end: Tokens = [(OUTPUT.to_owned(), 1)].into();
                    self.instances.insert(
                        ROOT_INSTANCE,
                        ModelInstance {
                            net: "main".into(),
                            parent: None,
                            candidates: [end].into(),
                        },
                    );
                }
                Ok(())
            }
            Event::CaseStateChanged {
                state: CaseState::Cancelled | CaseState::Failed { .. },
            } => {
                self.instances.clear();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Checks the kernel's markings against the model's candidates, then adopts them.
    fn check(&mut self, tokens: &BTreeMap<NetInstanceId, Tokens>) -> Result<(), String> {
        let live: Vec<_> = tokens.keys().collect();
        let modelled: Vec<_> = self.instances.keys().collect();
        if live != modelled {
            return Err(format!("live net instances {live:?}, model {modelled:?}"));
        }
        for (id, actual) in tokens {
            let instance = self.instances.get_mut(id).unwrap();
            if !instance.candidates.contains(actual) {
                return Err(format!(
                    "{id:?}: marking {actual:?} is none of {:?}",
                    instance.candidates
                ));
            }
            instance.candidates = [actual.clone()].into();
        }
        Ok(())
    }
}

// ---- properties -------------------------------------------------------------------

/// 128 cases each (about a second in debug); `PROPTEST_CASES` asks for more.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok());
    ProptestConfig {
        cases: cases.unwrap_or(128),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn inputs() -> impl Strategy<Value = (Vec<u8>, u64, Vec<u8>)> {
    (
        proptest::collection::vec(any::<u8>(), 0..256),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..120),
    )
}

proptest! {
    #![proptest_config(config())]

    /// (a) Tokens change only by the firing rules.
    #[test]
    fn tokens_change_only_by_firing_rules((spec_bytes, seed, command_bytes) in inputs()) {
        let trace = drive(&spec_bytes, seed, &command_bytes);
        let mut model = Model::new(&trace.nets);
        let context = |what: &str, e: String| format!("{what}: {e}\nnets: {:#?}", trace.nets);
        for event in &trace.launch_events {
            model.apply(event).map_err(|e| TestCaseError::fail(context("launch", e)))?;
        }
        model.check(&trace.launched.tokens).map_err(|e| TestCaseError::fail(context("launch", e)))?;
        for (k, step) in trace.steps.iter().enumerate() {
            let what = format!("step {k}: {:?} -> {:?}", step.command, step.result);
            for event in step.result.iter().flatten() {
                model.apply(event).map_err(|e| TestCaseError::fail(context(&what, e)))?;
            }
            model.check(&step.after.tokens).map_err(|e| TestCaseError::fail(context(&what, e)))?;
        }
    }

    /// (b) An ended case holds no live work item; live items match their tasks' state.
    #[test]
    fn ended_cases_hold_no_work((spec_bytes, seed, command_bytes) in inputs()) {
        let trace = drive(&spec_bytes, seed, &command_bytes);
        let states = std::iter::once(&trace.launched).chain(trace.steps.iter().map(|s| &s.after));
        for snapshot in states {
            if snapshot.state.is_final() {
                prop_assert!(snapshot.items.is_empty(), "{:?} with items {:?}", snapshot.state, snapshot.items);
                if matches!(snapshot.state, CaseState::Cancelled | CaseState::Failed { .. }) {
                    prop_assert!(snapshot.instances.is_empty(), "{:?} keeps net instances", snapshot.state);
                }
            }
            if let CaseState::Deadlocked { stuck } = &snapshot.state {
                let stuck: BTreeMap<(NetInstanceId, String), u32> =
                    stuck.iter().map(|s| ((s.net_instance, s.place.clone()), s.tokens)).collect();
                let marked: BTreeMap<(NetInstanceId, String), u32> = snapshot
                    .tokens
                    .iter()
                    .flat_map(|(id, t)| t.iter().map(move |(p, n)| ((*id, p.clone()), *n)))
                    .collect();
                prop_assert_eq!(stuck, marked, "a deadlock names exactly the marked places");
            }
            for item in &snapshot.items {
                let busy = snapshot.busy.get(&item.net_instance);
                prop_assert!(busy.is_some(), "item {:?} in a dead net instance", item);
                let busy = busy.unwrap().contains(&item.task.to_string());
                match item.role {
                    WorkItemRole::Offer => {
                        prop_assert!(!busy && item.status == WorkItemStatus::Enabled, "offer of busy {:?}", item);
                    }
                    WorkItemRole::Instance { .. } => prop_assert!(busy, "instance of idle {:?}", item),
                    WorkItemRole::Detached => {}
                }
            }
        }
        if snapshot_is_completed(&trace) {
            let last = trace.steps.last().map_or(&trace.launched, |s| &s.after);
            prop_assert_eq!(last.tokens.get(&ROOT_INSTANCE).cloned(), Some([(OUTPUT.to_owned(), 1)].into()));
        }
    }

    /// (c) Replaying the launch and the commands gives the same events and state.
    #[test]
    fn replay_reproduces_events_and_state((spec_bytes, seed, command_bytes) in inputs()) {
        let trace = drive(&spec_bytes, seed, &command_bytes);
        let (mut case, events) = Case::launch(Arc::clone(&trace.spec), json!({}), trace.seed, limits()).unwrap();
        prop_assert_eq!(&events, &trace.launch_events);
        prop_assert_eq!(&snapshot(&case), &trace.launched);
        for step in &trace.steps {
            prop_assert_eq!(&case.apply(&step.command), &step.result, "{:?}", step.command);
            prop_assert_eq!(&snapshot(&case), &step.after, "{:?}", step.command);
        }
        // A different compilation of the same spec behaves the same.
        let (mut case, events) = Case::launch(compile(&trace.nets), json!({}), trace.seed, limits()).unwrap();
        prop_assert_eq!(&events, &trace.launch_events);
        for step in &trace.steps {
            prop_assert_eq!(&case.apply(&step.command), &step.result, "{:?}", step.command);
        }
    }

    /// (d) A refused command leaves the case unchanged.
    #[test]
    fn refused_commands_change_nothing((spec_bytes, seed, command_bytes) in inputs()) {
        let trace = drive(&spec_bytes, seed, &command_bytes);
        for step in &trace.steps {
            if step.result.is_err() {
                prop_assert_eq!(&step.before, &step.after, "{:?} -> {:?}", step.command, step.result);
            }
        }
        // Nothing hidden changed either (ids, random generator): without the refused
        // commands the accepted ones give the same results.
        let (mut case, _) = Case::launch(Arc::clone(&trace.spec), json!({}), trace.seed, limits()).unwrap();
        for step in trace.steps.iter().filter(|s| s.result.is_ok()) {
            prop_assert_eq!(&case.apply(&step.command), &step.result, "{:?}", step.command);
            prop_assert_eq!(&snapshot(&case), &step.after, "{:?}", step.command);
        }
    }
}

fn snapshot_is_completed(trace: &Trace) -> bool {
    trace
        .steps
        .last()
        .map_or(&trace.launched, |s| &s.after)
        .state
        == CaseState::Completed
}

/// The generator makes valid specifications of every shape it aims at, and the driver
/// reaches every kind of outcome; a guard against properties that hold vacuously.
#[test]
fn generator_and_driver_cover_the_space() {
    let mut kinds = BTreeSet::new();
    let mut states = BTreeSet::new();
    let mut refused = 0;
    let mut or_joins = 0;
    let mut cancellations = 0;
    let mut cancel_sets = 0;
    let mut cancelled_tasks = 0;
    let mut added = 0;
    let mut x: u64 = 0x1234_5678;
    let mut bytes = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (x >> 56) as u8
            })
            .collect()
    };
    for seed in 0..300 {
        let trace = drive(&bytes(256), seed, &bytes(120));
        for net in &trace.nets {
            for task in &net.tasks {
                kinds.insert(format!("{:?}", task.kind));
                or_joins += usize::from(task.join == "or");
                cancel_sets += usize::from(!task.cancel.is_empty());
                if task.mi.is_some() {
                    kinds.insert("mi".to_owned());
                }
            }
        }
        for step in &trace.steps {
            refused += usize::from(step.result.is_err());
            added += usize::from(
                matches!(step.command, Command::AddInstance { .. }) && step.result.is_ok(),
            );
            for event in step.result.iter().flatten() {
                cancellations += usize::from(matches!(event, Event::TokensRemoved { .. }));
                cancelled_tasks += usize::from(matches!(event, Event::TaskCancelled { .. }));
            }
        }
        states.insert(
            trace
                .steps
                .last()
                .map_or(&trace.launched, |s| &s.after)
                .state
                .name(),
        );
    }
    assert_eq!(
        kinds,
        ["Atomic", "Composite", "Empty", "mi"]
            .map(String::from)
            .into()
    );
    let ended: BTreeSet<&str> = ["cancelled", "completed", "deadlocked", "failed"].into();
    assert!(
        states.is_superset(&ended),
        "final states reached: {states:?}"
    );
    let counts = [
        refused,
        or_joins,
        cancel_sets,
        cancellations,
        cancelled_tasks,
        added,
    ];
    assert!(
        counts.iter().all(|n| *n > 0),
        "refused commands, OR-joins, cancellation sets, token removals, task cancellations, \
         added instances: {counts:?}"
    );
}
