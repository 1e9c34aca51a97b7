//! The one harness through which behaviour tests drive the kernel: load a spec, launch,
//! act on work items by task id, and assert offers, tokens, state and data.

#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use knhk_expr::CelEvaluator;
use knhk_kernel::{
    Case, CaseState, Command, CommandError, CompiledSpec, Event, Limits, NetInstanceId,
    ROOT_INSTANCE, WorkItemId, WorkItemRole, WorkItemStatus,
};
use serde_json::{Value, json};

/// The repository's `examples/` directory.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Compiles the JSON spec at `path` (relative to `examples/`).
pub fn compile(path: &str) -> Arc<CompiledSpec> {
    let text = std::fs::read_to_string(examples_dir().join(path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    compile_text(&text)
}

/// Compiles a JSON spec given as text.
pub fn compile_text(text: &str) -> Arc<CompiledSpec> {
    let spec = knhk_json::parse(text).unwrap_or_else(|e| panic!("bad spec: {e}"));
    Arc::new(CompiledSpec::compile(&spec, &CelEvaluator::default()).expect("spec compiles"))
}

/// A case under test, with every event it produced.
pub struct Run {
    pub case: Case,
    pub events: Vec<Event>,
}

impl Run {
    /// Launches `examples/{path}` with `data`, seed 0 and default limits.
    pub fn launch(path: &str, data: Value) -> Run {
        Run::launch_with(compile(path), data, 0, Limits::default())
    }

    /// Launches a compiled spec.
    pub fn launch_with(spec: Arc<CompiledSpec>, data: Value, seed: u64, limits: Limits) -> Run {
        let (case, events) = Case::launch(spec, data, seed, limits).expect("launch succeeds");
        Run { case, events }
    }

    /// Applies a command, recording its events.
    pub fn apply(&mut self, command: Command) -> Result<Vec<Event>, CommandError> {
        let result = self.case.apply(&command);
        if let Ok(events) = &result {
            self.events.extend(events.iter().cloned());
        }
        result
    }

    /// Task ids of the live work items with `status`, sorted (duplicates kept).
    pub fn tasks_with(&self, status: WorkItemStatus) -> Vec<String> {
        let mut tasks: Vec<String> = self
            .case
            .work_items()
            .filter(|i| i.status == status)
            .map(|i| i.task.to_string())
            .collect();
        tasks.sort();
        tasks
    }

    /// Task ids of the enabled (offered or startable) work items, sorted.
    pub fn offered(&self) -> Vec<String> {
        self.tasks_with(WorkItemStatus::Enabled)
    }

    /// Task ids of the started work items, sorted.
    pub fn started(&self) -> Vec<String> {
        self.tasks_with(WorkItemStatus::Started)
    }

    /// Asserts the enabled work items' tasks, as a sorted list.
    #[track_caller]
    pub fn assert_offered(&self, expected: &[&str]) {
        assert_eq!(self.offered(), expected, "enabled work items");
    }

    /// The first enabled work item of `task`.
    #[track_caller]
    pub fn item(&self, task: &str) -> WorkItemId {
        self.case
            .work_items()
            .find(|i| i.task == task && i.status == WorkItemStatus::Enabled)
            .map(|i| i.id)
            .unwrap_or_else(|| {
                panic!(
                    "no enabled work item of `{task}`; offered: {:?}",
                    self.offered()
                )
            })
    }

    /// The first started work item of `task`.
    #[track_caller]
    pub fn started_item(&self, task: &str) -> WorkItemId {
        self.case
            .work_items()
            .find(|i| i.task == task && i.status == WorkItemStatus::Started)
            .map(|i| i.id)
            .unwrap_or_else(|| panic!("no started work item of `{task}`"))
    }

    /// Starts the first enabled work item of `task`, returning its id.
    #[track_caller]
    pub fn start(&mut self, task: &str) -> WorkItemId {
        let id = self.item(task);
        self.apply(Command::StartWorkItem { work_item: id })
            .expect("start succeeds");
        id
    }

    /// Completes started work item `id` with `output`.
    #[track_caller]
    pub fn complete(&mut self, id: WorkItemId, output: Value) {
        self.apply(Command::CompleteWorkItem {
            work_item: id,
            output,
        })
        .expect("complete succeeds");
    }

    /// Starts and completes one work item of `task` with `output`.
    #[track_caller]
    pub fn run(&mut self, task: &str, output: Value) {
        let id = self.start(task);
        self.complete(id, output);
    }

    /// Starts and completes one work item of `task` with no output.
    #[track_caller]
    pub fn run_empty(&mut self, task: &str) {
        self.run(task, json!({}));
    }

    /// Tokens per place in the root net instance.
    pub fn tokens(&self) -> BTreeMap<String, u32> {
        self.case.tokens(ROOT_INSTANCE)
    }

    /// Tokens per place in net instance `id`.
    pub fn tokens_in(&self, id: NetInstanceId) -> BTreeMap<String, u32> {
        self.case.tokens(id)
    }

    /// Asserts the root marking exactly.
    #[track_caller]
    pub fn assert_tokens(&self, expected: &[(&str, u32)]) {
        let expected: BTreeMap<String, u32> = expected
            .iter()
            .map(|(p, n)| ((*p).to_owned(), *n))
            .collect();
        assert_eq!(self.tokens(), expected, "root marking");
    }

    /// The case state's name.
    pub fn state(&self) -> &'static str {
        self.case.state().name()
    }

    /// The full case state.
    pub fn case_state(&self) -> &CaseState {
        self.case.state()
    }

    /// Asserts the case state's name.
    #[track_caller]
    pub fn assert_state(&self, expected: &str) {
        assert_eq!(
            self.state(),
            expected,
            "case state: {:?}",
            self.case.state()
        );
    }

    /// The ids of the tasks that completed, in order.
    pub fn completed_tasks(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::TaskCompleted { task, .. } => Some(task.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The ids of the tasks whose work was withdrawn or cancelled, with the status.
    pub fn withdrawn(&self) -> Vec<(WorkItemId, WorkItemStatus)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::WorkItemWithdrawn { work_item, status } => Some((*work_item, *status)),
                _ => None,
            })
            .collect()
    }

    /// Whether work item `id` is an offer (starting it fires its task).
    pub fn is_offer(&self, id: WorkItemId) -> bool {
        self.case
            .work_item(id)
            .is_some_and(|i| i.role == WorkItemRole::Offer)
    }
}
