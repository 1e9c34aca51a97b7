//! Shared test helpers: store fixtures for every implementation, and a probing store
//! wrapper that counts, gates and fails appends.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use knhk_runtime::{
    CaseId, CaseLog, MemoryStore, Record, RedbStore, Store, StoreError, StoredSpec,
};

/// A store under test, plus what is needed to reopen it (redb only).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    dir: Option<tempfile::TempDir>,
}

impl Fixture {
    pub fn memory() -> Fixture {
        Fixture {
            store: Arc::new(MemoryStore::new()),
            dir: None,
        }
    }

    pub fn redb() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("workflow_db")).unwrap();
        Fixture {
            store: Arc::new(store),
            dir: Some(dir),
        }
    }

    /// The database file, for stores that have one.
    pub fn path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().join("workflow_db"))
    }

    /// Drops the store and opens the file again; in memory, keeps the same store.
    pub fn reopen(self) -> Fixture {
        match self.path() {
            None => self,
            Some(path) => {
                let Fixture { store, dir } = self;
                assert_eq!(Arc::strong_count(&store), 1, "store still shared at reopen");
                drop(store);
                let store = RedbStore::open(path).unwrap();
                Fixture {
                    store: Arc::new(store),
                    dir,
                }
            }
        }
    }
}

/// Runs each listed test function (taking a `Fixture`) once per store implementation.
#[macro_export]
macro_rules! for_each_store {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $( #[test] fn $test() { super::$test($crate::common::Fixture::memory()) } )*
        }
        mod redb {
            $( #[test] fn $test() { super::$test($crate::common::Fixture::redb()) } )*
        }
    };
}

pub fn record(case: u64, seq: u64) -> Record {
    Record {
        case: CaseId(case),
        seq,
        payload: format!("case {case} record {seq}").into_bytes(),
        snapshot: None,
    }
}

/// `record(case, seq)` carrying a snapshot.
pub fn snapshotted(case: u64, seq: u64) -> Record {
    Record {
        snapshot: Some(format!("state of case {case} after {seq}").into_bytes()),
        ..record(case, seq)
    }
}

/// Wraps a store: counts `append` calls, can hold the first one until released, and can
/// fail the n-th one (1-based) without writing anything.
#[derive(Debug)]
pub struct Probe {
    inner: Arc<dyn Store>,
    calls: AtomicUsize,
    fail_call: Option<usize>,
    fail_next: AtomicBool,
    gate: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Probe {
    pub fn new(inner: Arc<dyn Store>, fail_call: Option<usize>) -> Probe {
        Probe {
            inner,
            calls: AtomicUsize::new(0),
            fail_call,
            fail_next: AtomicBool::new(false),
            gate: Mutex::new(None),
        }
    }

    /// Makes the next `append` wait until the returned sender sends (or is dropped).
    pub fn hold_next(&self) -> mpsc::Sender<()> {
        let (tx, rx) = mpsc::channel();
        *self.gate.lock().unwrap() = Some(rx);
        tx
    }

    /// Makes the next `append` fail without writing anything.
    pub fn fail_next(&self) {
        self.fail_next.store(true, Ordering::SeqCst);
    }

    /// `append` calls entered so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Store for Probe {
    fn append(&self, batch: &[Record]) -> Result<(), StoreError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.recv();
        }
        if self.fail_call == Some(call) || self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Injected {
                reason: format!("append call {call}"),
            });
        }
        self.inner.append(batch)
    }
    fn read_case(&self, case: CaseId) -> Result<Vec<Record>, StoreError> {
        self.inner.read_case(case)
    }
    fn cases(&self) -> Result<Vec<CaseId>, StoreError> {
        self.inner.cases()
    }
    fn put_spec(&self, id: &str, version: u64, json: &str) -> Result<(), StoreError> {
        self.inner.put_spec(id, version, json)
    }
    fn get_spec(&self, id: &str, version: u64) -> Result<Option<String>, StoreError> {
        self.inner.get_spec(id, version)
    }
    fn read_latest(&self, case: CaseId) -> Result<CaseLog, StoreError> {
        self.inner.read_latest(case)
    }
    fn for_each_latest(&self, visit: &mut dyn FnMut(CaseLog) -> bool) -> Result<(), StoreError> {
        self.inner.for_each_latest(visit)
    }
    fn specs(&self) -> Result<Vec<StoredSpec>, StoreError> {
        self.inner.specs()
    }
    fn backup(&self, dest: &std::path::Path) -> Result<(), StoreError> {
        self.inner.backup(dest)
    }
}

/// Polls `condition` every millisecond for up to ten seconds.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ---- engine helpers -------------------------------------------------------------------

use knhk_runtime::{CaseQuery, Engine, EngineConfig, ManualClock, WorkItemQuery, WorkItemView};

/// The instant every test clock starts at (2023-11-14, in ms since the epoch).
pub const T0: u64 = 1_700_000_000_000;

/// An engine on `store` with a manual clock at [`T0`].
pub fn engine_on(store: Arc<dyn Store>, config: EngineConfig) -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Engine::open(store, clock.clone(), config).expect("engine opens");
    (engine, clock)
}

/// An engine on a fresh in-memory store.
pub fn memory_engine() -> (Engine, Arc<ManualClock>) {
    engine_on(Arc::new(MemoryStore::new()), EngineConfig::default())
}

/// A validated specification from JSON.
pub fn spec(value: serde_json::Value) -> knhk_model::ValidSpec {
    knhk_json::from_value(value).unwrap_or_else(|e| panic!("test spec is invalid: {e}"))
}

/// A spec with one root net `main` (input `i`, output `o`) of `tasks` and `flows`.
pub fn one_net(
    id: &str,
    tasks: serde_json::Value,
    flows: serde_json::Value,
) -> knhk_model::ValidSpec {
    spec(serde_json::json!({
        "id": id, "root_net": "main",
        "nets": [{"id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                  "tasks": tasks, "flows": flows}]
    }))
}

/// A sequence of atomic tasks `t0`..`t{n-1}`.
pub fn sequence(id: &str, n: usize) -> knhk_model::ValidSpec {
    let tasks: Vec<_> = (0..n)
        .map(|k| serde_json::json!({"id": format!("t{k}"), "kind": "atomic"}))
        .collect();
    let mut nodes = vec!["i".to_owned()];
    nodes.extend((0..n).map(|k| format!("t{k}")));
    nodes.push("o".to_owned());
    let flows: Vec<_> = nodes
        .windows(2)
        .map(|w| serde_json::json!({"from": w[0], "to": w[1]}))
        .collect();
    one_net(id, tasks.into(), flows.into())
}

/// The spec at `examples/{path}`.
pub fn example(path: &str) -> knhk_model::ValidSpec {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    knhk_json::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every work item of `case`, live and ended.
pub async fn items(engine: &Engine, case: CaseId) -> Vec<WorkItemView> {
    let query = WorkItemQuery {
        case: Some(case),
        ..WorkItemQuery::default()
    };
    engine.work_items(&query).await.expect("work items").items
}

/// The live (enabled, started or suspended) work item of `task` in `case`.
pub async fn live_item(engine: &Engine, case: CaseId, task: &str) -> knhk_kernel::WorkItemId {
    items(engine, case)
        .await
        .into_iter()
        .rev()
        .find(|i| i.task == task && i.data.is_some())
        .unwrap_or_else(|| panic!("no live work item of `{task}` in {case}"))
        .id
}

/// Everything observable of `case`: its view, work items and history. Equal before and
/// after a refused command, since a refusal changes nothing.
pub async fn observe(engine: &Engine, case: CaseId) -> String {
    format!(
        "{:?}\n{:?}\n{:?}",
        engine.case(case).await.expect("case"),
        items(engine, case).await,
        engine.history(case).await.expect("history"),
    )
}

/// Every case, all pages.
pub async fn all_cases(engine: &Engine) -> Vec<knhk_runtime::CaseView> {
    let mut all = Vec::new();
    let mut query = CaseQuery::default();
    loop {
        let page = engine.cases(&query).await.expect("cases");
        all.extend(page.items.into_iter().map(|listed| match listed {
            knhk_runtime::Listed::Case(view) => view,
            knhk_runtime::Listed::Quarantined(q) => panic!("{} is quarantined: {}", q.id, q.reason),
        }));
        match page.next {
            Some(next) => query.after = Some(next),
            None => return all,
        }
    }
}
