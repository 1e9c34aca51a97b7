//! [`MemoryStore`]: the store in a `BTreeMap`, for tests and for runs that need no
//! durability. It keeps the same rules as the redb store (atomic batches, gap-free
//! sequences, immutable specification versions), so one test suite runs against both.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use super::{CaseId, CaseLog, Record, RedbStore, Store, StoreError, StoredSpec, check_sequences};

/// An in-memory [`Store`]. Nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default, Clone)]
struct Inner {
    cases: BTreeMap<CaseId, CaseData>,
    specs: BTreeMap<(String, u64), String>,
}

#[derive(Debug, Default, Clone)]
struct CaseData {
    /// Payloads; the index is the sequence number.
    log: Vec<Vec<u8>>,
    snapshot: Option<(u64, Vec<u8>)>,
}

impl CaseData {
    fn records(&self, case: CaseId, from: u64) -> Vec<Record> {
        self.log
            .iter()
            .zip(0u64..)
            .skip(from as usize)
            .map(|(payload, seq)| Record {
                case,
                seq,
                payload: payload.clone(),
                snapshot: None,
            })
            .collect()
    }

    fn latest(&self, case: CaseId) -> CaseLog {
        let from = self.snapshot.as_ref().map_or(0, |(seq, _)| seq + 1);
        CaseLog {
            case,
            snapshot: self.snapshot.clone(),
            records: self.records(case, from),
        }
    }
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
            Ok(inner
                .cases
                .get(&case)
                .map_or(0, |data| data.log.len() as u64))
        })?;
        for record in batch {
            let data = inner.cases.entry(record.case).or_default();
            data.log.push(record.payload.clone());
            if let Some(snapshot) = &record.snapshot {
                data.snapshot = Some((record.seq, snapshot.clone()));
            }
        }
        Ok(())
    }

    fn read_case(&self, case: CaseId) -> Result<Vec<Record>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .cases
            .get(&case)
            .map(|data| data.records(case, 0))
            .unwrap_or_default())
    }

    fn cases(&self) -> Result<Vec<CaseId>, StoreError> {
        Ok(self.lock()?.cases.keys().copied().collect())
    }

    fn read_latest(&self, case: CaseId) -> Result<CaseLog, StoreError> {
        let inner = self.lock()?;
        Ok(inner.cases.get(&case).map_or(
            CaseLog {
                case,
                snapshot: None,
                records: Vec::new(),
            },
            |data| data.latest(case),
        ))
    }

    fn for_each_latest(&self, visit: &mut dyn FnMut(CaseLog) -> bool) -> Result<(), StoreError> {
        // Copy first, so that `visit` may call back into the store.
        let copy = self.lock()?.clone();
        for (case, data) in &copy.cases {
            if !visit(data.latest(*case)) {
                break;
            }
        }
        Ok(())
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

    fn specs(&self) -> Result<Vec<StoredSpec>, StoreError> {
        Ok(self
            .lock()?
            .specs
            .iter()
            .map(|((id, version), json)| StoredSpec {
                id: id.clone(),
                version: *version,
                json: json.clone(),
            })
            .collect())
    }

    fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        let copy = self.lock()?.clone();
        let mut batch = Vec::new();
        for (case, data) in &copy.cases {
            let mut records = data.records(*case, 0);
            if let Some((seq, bytes)) = &data.snapshot
                && let Some(record) = records.get_mut(*seq as usize)
            {
                record.snapshot = Some(bytes.clone());
            }
            batch.extend(records);
        }
        let specs = copy.specs.iter().map(|((id, version), json)| StoredSpec {
            id: id.clone(),
            version: *version,
            json: json.clone(),
        });
        RedbStore::create_copy(dest, &batch, specs)
    }
}
