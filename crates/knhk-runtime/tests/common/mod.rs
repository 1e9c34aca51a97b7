//! Shared test helpers: store fixtures for every implementation, and a probing store
//! wrapper that counts, gates and fails appends.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use knhk_runtime::{CaseId, MemoryStore, Record, RedbStore, Store, StoreError};

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
    }
}

/// Wraps a store: counts `append` calls, can hold the first one until released, and can
/// fail the n-th one (1-based) without writing anything.
pub struct Probe {
    inner: Arc<dyn Store>,
    calls: AtomicUsize,
    fail_call: Option<usize>,
    gate: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Probe {
    pub fn new(inner: Arc<dyn Store>, fail_call: Option<usize>) -> Probe {
        Probe {
            inner,
            calls: AtomicUsize::new(0),
            fail_call,
            gate: Mutex::new(None),
        }
    }

    /// Makes the next `append` wait until the returned sender sends (or is dropped).
    pub fn hold_next(&self) -> mpsc::Sender<()> {
        let (tx, rx) = mpsc::channel();
        *self.gate.lock().unwrap() = Some(rx);
        tx
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
        if self.fail_call == Some(call) {
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
