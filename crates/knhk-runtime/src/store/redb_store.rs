//! [`RedbStore`]: the store in one redb file.
//!
//! Tables:
//! - `records`: `(case, seq) -> payload`. redb orders tuple keys lexicographically, so a
//!   case's records are one contiguous range, read in sequence order.
//! - `cases`: `case -> next seq`, so listing cases and checking sequences costs one lookup
//!   per case rather than a scan of the records.
//! - `specs`: `(id, version) -> json`.
//!
//! Every write is one redb write transaction committed with `Durability::Immediate`
//! (fsync before `commit` returns). redb has one writer at a time; the committer in
//! [`crate::commit`] is the one writer of records.

use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::{CaseId, Record, Store, StoreError, check_sequences};

const RECORDS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("records");
const CASES: TableDefinition<u64, u64> = TableDefinition::new("cases");
const SPECS: TableDefinition<(&str, u64), &str> = TableDefinition::new("specs");

/// A [`Store`] in a single redb database file.
#[derive(Debug)]
pub struct RedbStore {
    db: Database,
    path: PathBuf,
}

impl RedbStore {
    /// Opens the database at `path`, creating the file and its tables if missing.
    pub fn open(path: impl AsRef<Path>) -> Result<RedbStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let db = Database::create(&path).map_err(|e| StoreError::Open {
            path: path.clone(),
            source: Box::new(e.into()),
        })?;
        let store = RedbStore { db, path };
        // Create the tables once, so that readers never meet a missing table.
        store.write("open", None, |txn| {
            txn.open_table(RECORDS)?;
            txn.open_table(CASES)?;
            txn.open_table(SPECS)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, op: &'static str, case: Option<CaseId>, e: impl Into<redb::Error>) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            op,
            case,
            source: Box::new(e.into()),
        }
    }

    /// Runs `body` in one write transaction and commits it durably. An error from `body`
    /// drops the transaction uncommitted, which aborts it.
    fn write<T>(
        &self,
        op: &'static str,
        case: Option<CaseId>,
        body: impl FnOnce(&redb::WriteTransaction) -> Result<T, WriteError>,
    ) -> Result<T, StoreError> {
        let mut txn = self.db.begin_write().map_err(|e| self.err(op, case, e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| self.err(op, case, e))?;
        let value = body(&txn).map_err(|e| match e {
            WriteError::Store(e) => e,
            WriteError::Redb(e) => self.err(op, case, e),
        })?;
        txn.commit().map_err(|e| self.err(op, case, e))?;
        Ok(value)
    }

    fn read_txn(
        &self,
        op: &'static str,
        case: Option<CaseId>,
    ) -> Result<redb::ReadTransaction, StoreError> {
        self.db.begin_read().map_err(|e| self.err(op, case, e))
    }
}

/// Errors inside a write transaction: ours pass through, redb's get the store's context.
enum WriteError {
    Store(StoreError),
    Redb(redb::Error),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> WriteError {
        WriteError::Store(e)
    }
}

impl<E: Into<redb::Error>> From<E> for WriteError {
    fn from(e: E) -> WriteError {
        WriteError::Redb(e.into())
    }
}

impl Store for RedbStore {
    fn append(&self, batch: &[Record]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.write("append", None, |txn| {
            let mut cases = txn.open_table(CASES)?;
            let nexts = check_sequences(batch, |case| -> Result<u64, WriteError> {
                Ok(cases.get(case.0)?.map_or(0, |g| g.value()))
            })?;
            let mut records = txn.open_table(RECORDS)?;
            for record in batch {
                records.insert((record.case.0, record.seq), record.payload.as_slice())?;
            }
            for (case, next) in nexts {
                cases.insert(case.0, next)?;
            }
            Ok(())
        })
    }

    fn read_case(&self, case: CaseId) -> Result<Vec<Record>, StoreError> {
        let op = "read_case";
        let txn = self.read_txn(op, Some(case))?;
        let table = txn
            .open_table(RECORDS)
            .map_err(|e| self.err(op, Some(case), e))?;
        let range = table
            .range((case.0, 0)..=(case.0, u64::MAX))
            .map_err(|e| self.err(op, Some(case), e))?;
        range
            .map(|item| {
                let (key, value) = item.map_err(|e| self.err(op, Some(case), e))?;
                Ok(Record {
                    case,
                    seq: key.value().1,
                    payload: value.value().to_vec(),
                })
            })
            .collect()
    }

    fn cases(&self) -> Result<Vec<CaseId>, StoreError> {
        let op = "cases";
        let txn = self.read_txn(op, None)?;
        let table = txn.open_table(CASES).map_err(|e| self.err(op, None, e))?;
        let iter = table.iter().map_err(|e| self.err(op, None, e))?;
        iter.map(|item| {
            let (key, _) = item.map_err(|e| self.err(op, None, e))?;
            Ok(CaseId(key.value()))
        })
        .collect()
    }

    fn put_spec(&self, id: &str, version: u64, json: &str) -> Result<(), StoreError> {
        self.write("put_spec", None, |txn| {
            let mut specs = txn.open_table(SPECS)?;
            let same = specs
                .get((id, version))?
                .map(|existing| existing.value() == json);
            match same {
                Some(true) => Ok(()),
                Some(false) => Err(WriteError::Store(StoreError::SpecVersionExists {
                    id: id.to_owned(),
                    version,
                })),
                None => {
                    specs.insert((id, version), json)?;
                    Ok(())
                }
            }
        })
    }

    fn get_spec(&self, id: &str, version: u64) -> Result<Option<String>, StoreError> {
        let op = "get_spec";
        let txn = self.read_txn(op, None)?;
        let table = txn.open_table(SPECS).map_err(|e| self.err(op, None, e))?;
        let value = table
            .get((id, version))
            .map_err(|e| self.err(op, None, e))?;
        Ok(value.map(|g| g.value().to_owned()))
    }
}
