//! Data through the kernel: a case launched with fuzzed data and driven by a fuzzed
//! sequence of commands (start, complete with fuzzed output, release, suspend, resume,
//! fail, cancel or complete a task, add an instance, signal, timers, case commands).
//!
//! The specification is either one of the examples (`examples/`, every pattern), or a
//! template whose expressions come from the input: an XOR split's predicates, input and
//! output mappings of an atomic task, a dynamic multiple-instance task's split query,
//! completion condition, per-instance input mapping and output mapping, and a composite
//! task's mappings into and out of its subnet. The kernel's limits vary too (a data
//! depth bound from 1 to 32, a small instance cap).
//!
//! Asserts, after every command:
//! - a refused command leaves the case as it was (`case.image()` before == after);
//! - no net instance's data and no work item's data nests deeper than
//!   `Limits::data_depth_max`;
//! - the case's image fits its specification (`CaseImage::check`, what recovery checks of
//!   a snapshot);
//!
//! and at the end of the sequence:
//! - replay: the same launch and commands give the same events, refusals and image;
//! - the image survives its serde_json round trip (what a snapshot stores).
//!
//! Nothing may panic outside cel (whose panics are caught by `knhk-expr`) or overflow a
//! 2 MiB stack.

#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use knhk_expr::CelEvaluator;
use knhk_fuzz::json::{Json, JsonObject, depth};
use knhk_kernel::{
    Case, CaseImage, Command, CommandError, CompiledSpec, Event, Limits, NetInstanceId, WorkItemId,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The most commands one input runs.
const STEPS_MAX: usize = 24;

#[derive(Debug, Arbitrary)]
struct Input {
    spec: SpecChoice,
    data: LaunchData,
    seed: u64,
    limits: LimitsChoice,
    steps: Vec<Step>,
}

#[derive(Debug, Arbitrary)]
enum SpecChoice {
    Example(u8),
    Template(Box<Template>),
}

#[derive(Debug, Arbitrary)]
enum LaunchData {
    Object(JsonObject),
    Any(Json),
}

#[derive(Debug, Arbitrary)]
struct LimitsChoice {
    data_depth: u8,
    small_mi: bool,
    small_steps: bool,
}

/// The expressions and options of the template specification.
#[derive(Debug, Arbitrary)]
struct Template {
    /// a: input mapping `in`, output mapping `x`.
    a_in: Expr,
    a_out: Expr,
    a_mappings_only: bool,
    /// Predicates of a's flows to b and c (then the default flow to o).
    to_b: Expr,
    to_c: Expr,
    /// b: multiple instance: split query, completion, per-instance input, output mapping.
    b_split: Expr,
    b_completion: Option<Expr>,
    b_in: Expr,
    b_out: Option<Expr>,
    b_threshold: Option<u8>,
    b_continue: bool,
    /// c: composite: input mapping into the subnet, output mapping out of it, and the
    /// subnet task's own output mapping.
    c_in: Expr,
    c_out: Expr,
    s_out: Expr,
}

#[derive(Debug, Arbitrary)]
enum Expr {
    Known(u8),
    Binary(u8, u8, u8),
    Source(String),
}

/// Expressions over the template's variables and bindings, of every result type.
const KNOWN: &[&str] = &[
    "true",
    "false",
    "x",
    "n",
    "n + 1",
    "in",
    "item",
    "v",
    "output",
    "output.x",
    "output.ok",
    "items",
    "[1, 2, 3]",
    "[item, item]",
    "data",
    "data.x",
    "size(items)",
    "items.map(i, i * 2)",
    "items.filter(i, i > 1)",
    "completed >= 2",
    "active == 0",
    "size(outputs) > 1",
    "outputs",
    "{'a': x, 'b': n}",
    "{'k': item}",
    "has(data.x)",
    "x == null",
    "string(n)",
    "int(n) * 1000000000000",
    "n / 0",
    "n % 0",
    "9223372036854775807 + n",
    "[[[[x]]]]",
    "data.map(k, k)",
    "{'a': 1, 'b': 2, 'c': 3}.map(k, k)",
    "output.map(k, k)",
    "'s' + string(x)",
    "double(n) / 0.0",
    "string(x).matches('^a+$')",
    "{'in': in}",
    "dyn(x)",
    "size(x)",
    "agg",
    "[x, [x, [x, [x, [x]]]]]",
    "items.all(i, i > 0)",
    "items.exists_one(i, i == 1)",
];

const OPERATORS: &[&str] = &[
    "&&", "||", "+", "-", "*", "/", "%", "==", "!=", "<", ">=", "in",
];

impl Expr {
    fn source(&self) -> String {
        let known = |i: &u8| KNOWN[usize::from(*i) % KNOWN.len()];
        match self {
            Expr::Known(i) => known(i).to_owned(),
            Expr::Binary(a, op, b) => format!(
                "({}) {} ({})",
                known(a),
                OPERATORS[usize::from(*op) % OPERATORS.len()],
                known(b)
            ),
            Expr::Source(text) => text.clone(),
        }
    }

    /// The source as a JSON string literal.
    fn json(&self) -> String {
        Value::String(self.source()).to_string()
    }
}

impl Template {
    /// The specification's JSON text.
    fn text(&self) -> String {
        let threshold = match self.b_threshold {
            Some(t) if self.b_continue || t > 0 => format!(r#", "threshold": {}"#, t % 6),
            _ => String::new(),
        };
        let completion = self
            .b_completion
            .as_ref()
            .map(|e| format!(r#", "completion": {}"#, e.json()))
            .unwrap_or_default();
        let b_out = self
            .b_out
            .as_ref()
            .map(|e| format!(r#"{{"to": "y", "expression": {}}}"#, e.json()))
            .unwrap_or_default();
        let remainder = if self.b_continue {
            "continue"
        } else {
            "cancel"
        };
        format!(
            r#"{{
  "id": "fuzz-mapping", "root_net": "main",
  "nets": [
    {{
      "id": "main",
      "input_condition": {{"id": "i"}}, "output_condition": {{"id": "o"}},
      "variables": [{{"name": "x"}}, {{"name": "y"}}, {{"name": "items", "initial": [1, 2]}},
                    {{"name": "agg"}}, {{"name": "n", "type": "integer", "initial": 1}}],
      "tasks": [
        {{"id": "a", "kind": "atomic", "split": "xor", "mappings_only": {a_only},
          "input_mappings": [{{"to": "in", "expression": {a_in}}}],
          "output_mappings": [{{"to": "x", "expression": {a_out}}}]}},
        {{"id": "b", "kind": "atomic",
          "input_mappings": [{{"to": "v", "expression": {b_in}}}],
          "output_mappings": [{b_out}],
          "multiple_instance": {{"min": 1, "max": 5, "creation": "dynamic",
            "split": {b_split}, "remainder": "{remainder}", "aggregate": "agg"{threshold}{completion}}}}},
        {{"id": "c", "kind": "composite", "net": "sub",
          "input_mappings": [{{"to": "in", "expression": {c_in}}}],
          "output_mappings": [{{"to": "x", "expression": {c_out}}}]}}
      ],
      "flows": [
        {{"from": "i", "to": "a"}},
        {{"from": "a", "to": "b", "predicate": {to_b}, "ordering": 1}},
        {{"from": "a", "to": "c", "predicate": {to_c}, "ordering": 2}},
        {{"from": "a", "to": "o", "default": true}},
        {{"from": "b", "to": "o"}},
        {{"from": "c", "to": "o"}}
      ]
    }},
    {{
      "id": "sub",
      "input_condition": {{"id": "si"}}, "output_condition": {{"id": "so"}},
      "variables": [{{"name": "in"}}],
      "tasks": [{{"id": "s", "kind": "atomic",
                  "output_mappings": [{{"to": "in", "expression": {s_out}}}]}}],
      "flows": [{{"from": "si", "to": "s"}}, {{"from": "s", "to": "so"}}]
    }}
  ]
}}"#,
            a_only = self.a_mappings_only,
            a_in = self.a_in.json(),
            a_out = self.a_out.json(),
            b_in = self.b_in.json(),
            b_split = self.b_split.json(),
            c_in = self.c_in.json(),
            c_out = self.c_out.json(),
            s_out = self.s_out.json(),
            to_b = self.to_b.json(),
            to_c = self.to_c.json(),
        )
    }
}

#[derive(Debug, Clone, Arbitrary)]
enum Step {
    Start(u8),
    Complete(u8, Output),
    Release(u8),
    SuspendItem(u8),
    ResumeItem(u8),
    FailItem(u8),
    Timer(u8),
    CancelTask(u8, u8),
    CompleteTask(u8, u8),
    AddInstance(u8, u8, Json),
    Signal(u8),
    CancelCase,
    SuspendCase,
    ResumeCase,
    FailCase,
}

#[derive(Debug, Clone, Arbitrary)]
enum Output {
    Object(JsonObject),
    Any(Json),
}

fuzz_target!(init: knhk_fuzz::init(), |input: Input| {
    knhk_fuzz::on_worker_stack(|| run(input));
});

fn run(input: Input) {
    let Some(spec) = spec(&input.spec) else {
        return;
    };
    let limits = Limits {
        data_depth_max: [32, 1, 2, 3, 4, 8][usize::from(input.limits.data_depth) % 6],
        mi_instances_max: if input.limits.small_mi { 2 } else { 10_000 },
        steps_max: if input.limits.small_steps { 3 } else { 10_000 },
        ..Limits::default()
    };
    let data = match &input.data {
        LaunchData::Object(object) => Value::Object(object.0.clone()),
        LaunchData::Any(json) => json.0.clone(),
    };
    let Ok((mut case, launch_events)) =
        Case::launch(Arc::clone(&spec), data.clone(), input.seed, limits)
    else {
        return;
    };
    check_depth(&case, limits);
    let mut log: Vec<(Command, Result<Vec<Event>, CommandError>)> = Vec::new();
    for step in input.steps.iter().take(STEPS_MAX) {
        let command = command(&case, step);
        let before = case.image();
        let result = case.apply(&command);
        if let Err(error) = &result {
            assert!(
                case.image() == before,
                "the refused command {command:?} ({error}) changed the case"
            );
        }
        check_depth(&case, limits);
        if let Err(e) = case.image().check(&spec) {
            panic!("after {command:?}, the case's image does not fit its specification: {e}");
        }
        log.push((command, result));
    }

    // Replay gives the same case.
    let Ok((mut again, events)) = Case::launch(Arc::clone(&spec), data, input.seed, limits) else {
        panic!("a launch that succeeded is refused the second time");
    };
    assert_eq!(events, launch_events, "launch is not deterministic");
    for (command, result) in &log {
        // Errors are compared by kind: an expression's error message may print a map in
        // cel's hash order, and a refusal is never stored.
        match (again.apply(command), result) {
            (Ok(events), Ok(first)) => assert_eq!(&events, first, "replaying {command:?} differs"),
            (Err(error), Err(first)) => assert_eq!(
                std::mem::discriminant(&error),
                std::mem::discriminant(first),
                "replaying {command:?} fails differently: {error} / {first}"
            ),
            (again, first) => panic!("replaying {command:?} differs: {again:?} / {first:?}"),
        }
    }
    let image = case.image();
    let replayed = again.image();
    assert!(
        replayed == image,
        "replay gives another case:\n{image:#?}\nreplayed:\n{replayed:#?}"
    );

    // The image survives what a snapshot does to it.
    let bytes = match serde_json::to_vec(&image) {
        Ok(bytes) => bytes,
        Err(e) => panic!("the image does not serialize: {e}"),
    };
    match serde_json::from_slice::<CaseImage>(&bytes) {
        Ok(back) => assert!(back == image, "the image changes through JSON"),
        Err(e) => panic!("the image does not read back: {e}"),
    }
}

/// The compiled specification the input chooses, if it compiles.
fn spec(choice: &SpecChoice) -> Option<Arc<CompiledSpec>> {
    match choice {
        SpecChoice::Example(i) => {
            let examples = knhk_fuzz::specs::compiled_examples();
            Some(Arc::clone(&examples[usize::from(*i) % examples.len()].1))
        }
        SpecChoice::Template(template) => {
            let valid = knhk_json::parse(&template.text()).ok()?;
            let compiled = CompiledSpec::compile(&valid, &CelEvaluator::default()).ok()?;
            Some(Arc::new(compiled))
        }
    }
}

/// The command a step stands for in the case as it is: work items are picked among the
/// live ones (an index past them names an unknown item), tasks among the net's.
fn command(case: &Case, step: &Step) -> Command {
    let item = |i: &u8| {
        let items: Vec<WorkItemId> = case.work_items().map(|item| item.id).collect();
        items
            .get(usize::from(*i))
            .copied()
            .unwrap_or(WorkItemId(u64::from(*i)))
    };
    let instance = |i: &u8| {
        let instances: Vec<NetInstanceId> = case.net_instances().map(|(id, _)| id).collect();
        instances
            .get(usize::from(*i))
            .copied()
            .unwrap_or(NetInstanceId(u32::from(*i)))
    };
    let task = |n: &u8, t: &u8| {
        let net = case
            .net_instance(instance(n))
            .map_or(case.spec().root, |instance| instance.net());
        let tasks = &case.spec().net(net).tasks;
        match tasks.get(usize::from(*t) % tasks.len().max(1)) {
            Some(task) => task.id.to_string(),
            None => format!("t{t}"),
        }
    };
    match step {
        Step::Start(i) => Command::StartWorkItem { work_item: item(i) },
        Step::Complete(i, output) => Command::CompleteWorkItem {
            work_item: item(i),
            output: match output {
                Output::Object(object) => Value::Object(object.0.clone()),
                Output::Any(json) => json.0.clone(),
            },
        },
        Step::Release(i) => Command::ReleaseWorkItem { work_item: item(i) },
        Step::SuspendItem(i) => Command::SuspendWorkItem { work_item: item(i) },
        Step::ResumeItem(i) => Command::ResumeWorkItem { work_item: item(i) },
        Step::FailItem(i) => Command::FailWorkItem {
            work_item: item(i),
            message: "failed".to_owned(),
        },
        Step::Timer(i) => Command::TimerExpired { work_item: item(i) },
        Step::CancelTask(n, t) => Command::CancelTask {
            net_instance: instance(n),
            task: task(n, t),
        },
        Step::CompleteTask(n, t) => Command::CompleteTask {
            net_instance: instance(n),
            task: task(n, t),
        },
        Step::AddInstance(n, t, data) => Command::AddInstance {
            net_instance: instance(n),
            task: task(n, t),
            data: data.0.clone(),
        },
        Step::Signal(s) => Command::Signal {
            name: ["go", "signal", "stop", "milestone", ""][usize::from(*s) % 5].to_owned(),
        },
        Step::CancelCase => Command::CancelCase,
        Step::SuspendCase => Command::SuspendCase,
        Step::ResumeCase => Command::ResumeCase,
        Step::FailCase => Command::FailCase {
            message: "aborted".to_owned(),
        },
    }
}

/// No net instance's and no work item's data nests deeper than the case's bound.
fn check_depth(case: &Case, limits: Limits) {
    let max = limits.data_depth_max as usize;
    for (id, instance) in case.net_instances() {
        let deepest = instance
            .data()
            .values()
            .map(|field| depth(field) + 1)
            .max()
            .unwrap_or(1);
        assert!(
            deepest <= max,
            "net instance {id:?} holds data {deepest} deep, past the bound {max}"
        );
    }
    for item in case.work_items() {
        let deepest = depth(&item.data);
        assert!(
            deepest <= max,
            "work item {:?} holds data {deepest} deep, past the bound {max}",
            item.id
        );
    }
}
