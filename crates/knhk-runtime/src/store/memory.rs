//! [`MemoryStore`]: the store in a `BTreeMap`, for tests and for runs that need no
//! durability. It keeps the same rules as the redb store (atomic batches, gap-free
//! sequences, immutable specification versions), so one test suite runs against both.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::{CaseId, Record, Store, StoreError, check_sequences};

/// An in-memory [`Store`]. Nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Each case's payloads; the index is the sequence number.
    cases: BTreeMap<CaseId, Vec<Vec<u8>>>,
    specs: BTreeMap<(String, u64), String>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Poisoned)
    }
}

impl Store for MemoryStore {
    fn append(&self, batch: &[Record]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        // Validate the whole batch before touching anything: that is the atomicity.
        check_sequences(batch, |case| -> Result<u64, StoreError> {
            Ok(inner.cases.get(&case).map_or(0, |log| log.len() as u64))
        })?;
        for record in batch {
            inner
                .cases
                .entry(record.case)
                .or_default()
                .push(record.payload.clone());
        }
        Ok(())
    }

    fn read_case(&self, case: CaseId) -> Result<Vec<Record>, StoreError> {
        let inner = self.lock()?;
        let log = inner
            .cases
            .get(&case)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(log
            .iter()
            .zip(0u64..)
            .map(|(payload, seq)| Record {
                case,
                seq,
                payload: payload.clone(),
            })
            .collect())
    }

    fn cases(&self) -> Result<Vec<CaseId>, StoreError> {
        Ok(self.lock()?.cases.keys().copied().collect())
    }

    fn put_spec(&self, id: &str, version: u64, json: &str) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let key = (id.to_owned(), version);
        match inner.specs.get(&key) {
            Some(existing) if existing == json => Ok(()),
            Some(_) => Err(StoreError::SpecVersionExists { id: key.0, version }),
            None => {
                inner.specs.insert(key, json.to_owned());
                Ok(())
            }
        }
    }

    fn get_spec(&self, id: &str, version: u64) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.specs.get(&(id.to_owned(), version)).cloned())
    }
}
