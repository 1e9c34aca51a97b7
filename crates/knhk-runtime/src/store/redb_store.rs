//! [`RedbStore`]: the store in one redb file.
//!
//! Tables:
//! - `log`: `lsn -> (case, seq, previous lsn of the case, payload)`: one append-only log
//!   of every case's records, in commit order. A batch's records are contiguous keys at
//!   the end of the tree, so a commit rewrites a few pages instead of one page per case
//!   (keyed by `(case, seq)`, a batch of 500 cases touched ~500 leaf pages and cost 2.5x
//!   more per record; docs/BENCHMARKS.md).
//! - `cases`: `case -> (next seq, lsn of its last record)`: the head of each case's
//!   chain of records, walked backwards to read the case. Only the cases being worked on
//!   are written, and they are few pages.
//! - `snapshots`: `case -> (seq, bytes)`: the latest snapshot of each case, taken after
//!   record `seq`. Replaced in the same transaction as the record it follows.
//! - `specs`: `(id, version) -> json`.
//!
//! - `health`: one row, rewritten by [`Store::recover`] to prove the store writes again
//!   after a failure.
//!
//! Every write is one redb write transaction committed with `Durability::Immediate`
//! (fsync before `commit` returns). redb has one writer at a time; the committer in
//! [`crate::commit`] is the one writer of records.
//!
//! After an I/O error in a write (a full disk, say), redb answers every later operation
//! with `PreviousIo` until the database is opened again. So a failed write marks the
//! store, and the next write, or [`Store::recover`], closes and reopens the database
//! (redb repairs it on opening; a failed transaction never became visible) before going
//! on. The file is private to its owner (0600) whatever the umask.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::{CaseId, CaseLog, Record, Store, StoreError, StoredSpec, check_sequences};

const LOG: TableDefinition<u64, (u64, u64, u64, &[u8])> = TableDefinition::new("log");
const CASES: TableDefinition<u64, (u64, u64)> = TableDefinition::new("cases");
/// The previous-lsn of a case's first record.
const NO_LSN: u64 = u64::MAX;
const SNAPSHOTS: TableDefinition<u64, (u64, &[u8])> = TableDefinition::new("snapshots");
const SPECS: TableDefinition<(&str, u64), &str> = TableDefinition::new("specs");
const HEALTH: TableDefinition<&str, u64> = TableDefinition::new("health");

/// A [`Store`] in a single redb database file.
#[derive(Debug)]
pub struct RedbStore {
    /// The open database; `None` only between closing it after a failure and opening it
    /// again (if reopening failed, until the next attempt).
    db: RwLock<Option<Handle>>,
    path: PathBuf,
    /// A write failed: the database must be reopened before the next one.
    failed: AtomicBool,
}

impl RedbStore {
    /// Opens the database at `path`, creating the file and its tables if missing. The
    /// file is made private to its owner (mode 0600).
    pub fn open(path: impl AsRef<Path>) -> Result<RedbStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let db = open_private(&path)?;
        let store = RedbStore {
            db: RwLock::new(Some(Handle::Writable(db))),
            path,
            failed: AtomicBool::new(false),
        };
        // Create the tables once, so that readers never meet a missing table.
        store.write("open", None, |txn| {
            txn.open_table(LOG)?;
            txn.open_table(CASES)?;
            txn.open_table(SNAPSHOTS)?;
            txn.open_table(SPECS)?;
            txn.open_table(HEALTH)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// Opens an existing database without writing to it (for checks of a stopped data
    /// directory): every write is refused. A database that was not closed cleanly
    /// needs the repair that only a writable opening makes, and is refused with
    /// [`StoreError::NeedsRepair`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<RedbStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let db = redb::Builder::new()
            .open_read_only(&path)
            .map_err(|e| match e {
                redb::DatabaseError::RepairAborted => {
                    StoreError::NeedsRepair { path: path.clone() }
                }
                e => StoreError::Open {
                    path: path.clone(),
                    source: Box::new(e.into()),
                },
            })?;
        Ok(RedbStore {
            db: RwLock::new(Some(Handle::ReadOnly(db))),
            path,
            failed: AtomicBool::new(false),
        })
    }

    /// Closes the database and opens it again, which clears redb's latched I/O failure.
    /// Only a writable database writes, hence fails this way.
    fn reopen(&self) -> Result<(), StoreError> {
        let mut db = self
            .db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The old handle must be gone before the file is opened again (redb locks it).
        drop(db.take());
        *db = Some(Handle::Writable(open_private(&self.path)?));
        self.failed.store(false, Ordering::Release);
        Ok(())
    }

    /// Runs `body` on the open database (reopened first if a write failed before),
    /// holding off any reopening until it returns.
    fn with_database<T>(
        &self,
        op: &'static str,
        case: Option<CaseId>,
        body: impl FnOnce(&Handle) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            self.reopen()?;
        }
        let guard = self
            .db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let db = guard
            .as_ref()
            .ok_or_else(|| self.err(op, case, redb::Error::DatabaseClosed))?;
        body(db)
    }

    /// Creates a new database at `dest` holding `batch` (snapshots included) and `specs`,
    /// in one transaction. Refuses a `dest` that exists.
    pub(crate) fn create_copy(
        dest: &Path,
        batch: &[Record],
        specs: impl Iterator<Item = StoredSpec>,
    ) -> Result<(), StoreError> {
        let copy = RedbStore::open_new(dest)?;
        copy.write("backup", None, |txn| {
            insert_records(txn, batch)?;
            let mut table = txn.open_table(SPECS)?;
            for spec in specs {
                table.insert((spec.id.as_str(), spec.version), spec.json.as_str())?;
            }
            Ok(())
        })
    }

    /// Opens a database that must not exist yet.
    fn open_new(dest: &Path) -> Result<RedbStore, StoreError> {
        if dest.exists() {
            return Err(StoreError::BackupExists {
                path: dest.to_path_buf(),
            });
        }
        RedbStore::open(dest)
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
    /// A failure of redb itself (not a refusal of ours) marks the store for reopening.
    fn write<T>(
        &self,
        op: &'static str,
        case: Option<CaseId>,
        body: impl FnOnce(&redb::WriteTransaction) -> Result<T, WriteError>,
    ) -> Result<T, StoreError> {
        let failed = |e: redb::Error| {
            self.failed.store(true, Ordering::Release);
            self.err(op, case, e)
        };
        self.with_database(op, case, |db| {
            let Handle::Writable(db) = db else {
                return Err(StoreError::ReadOnly {
                    path: self.path.clone(),
                });
            };
            let mut txn = db.begin_write().map_err(|e| failed(e.into()))?;
            txn.set_durability(Durability::Immediate)
                .map_err(|e| failed(e.into()))?;
            let value = body(&txn).map_err(|e| match e {
                WriteError::Store(e) => e,
                WriteError::Redb(e) => failed(e),
            })?;
            txn.commit().map_err(|e| failed(e.into()))?;
            Ok(value)
        })
    }

    fn read_txn(
        &self,
        op: &'static str,
        case: Option<CaseId>,
    ) -> Result<redb::ReadTransaction, StoreError> {
        self.with_database(op, case, |db| {
            db.begin_read().map_err(|e| self.err(op, case, e))
        })
    }
}

/// An open database, writable or not.
enum Handle {
    Writable(Database),
    ReadOnly(redb::ReadOnlyDatabase),
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handle::Writable(_) => "Writable",
            Handle::ReadOnly(_) => "ReadOnly",
        })
    }
}

impl Handle {
    fn begin_read(&self) -> Result<redb::ReadTransaction, redb::TransactionError> {
        match self {
            Handle::Writable(db) => db.begin_read(),
            Handle::ReadOnly(db) => db.begin_read(),
        }
    }
}

/// Opens (or creates) the database file at `path`, private to its owner.
fn open_private(path: &Path) -> Result<Database, StoreError> {
    let open_error = |e: redb::Error| StoreError::Open {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    // Created empty with mode 0600 first, so the file is never readable by others, even
    // for a moment; redb initializes an empty file as a new database.
    crate::paths::create_private_file(path).map_err(|e| open_error(e.into()))?;
    Database::create(path).map_err(|e| open_error(e.into()))
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

/// Checks `batch` against the sequences in `txn` and writes its records and snapshots.
fn insert_records(txn: &redb::WriteTransaction, batch: &[Record]) -> Result<(), WriteError> {
    let mut cases = txn.open_table(CASES)?;
    let mut heads = std::collections::BTreeMap::new();
    check_sequences(batch, |case| -> Result<u64, WriteError> {
        let head = cases.get(case.0)?.map_or((0, NO_LSN), |g| g.value());
        heads.insert(case, head.1);
        Ok(head.0)
    })?;
    let mut log = txn.open_table(LOG)?;
    let first_lsn = log.last()?.map_or(0, |(key, _)| key.value() + 1);
    let mut snapshots = txn.open_table(SNAPSHOTS)?;
    for (lsn, record) in (first_lsn..).zip(batch) {
        // `check_sequences` looked up every case of the batch.
        let previous = heads.get(&record.case).copied().unwrap_or(NO_LSN);
        log.insert(
            lsn,
            (
                record.case.0,
                record.seq,
                previous,
                record.payload.as_slice(),
            ),
        )?;
        heads.insert(record.case, lsn);
        cases.insert(record.case.0, (record.seq + 1, lsn))?;
        if let Some(snapshot) = &record.snapshot {
            snapshots.insert(record.case.0, (record.seq, snapshot.as_slice()))?;
        }
    }
    Ok(())
}

/// The records of `case` with a sequence number from `from` on, in order, read by walking
/// the case's chain back from its head.
fn read_from(
    txn: &redb::ReadTransaction,
    case: CaseId,
    from: u64,
) -> Result<Vec<Record>, redb::Error> {
    let cases = txn.open_table(CASES)?;
    let log = txn.open_table(LOG)?;
    let mut lsn = cases.get(case.0)?.map_or(NO_LSN, |g| g.value().1);
    let mut records = Vec::new();
    while lsn != NO_LSN {
        let Some(entry) = log.get(lsn)? else { break };
        let (_, seq, previous, payload) = entry.value();
        if seq < from {
            break;
        }
        records.push(Record {
            case,
            seq,
            payload: payload.to_vec(),
            snapshot: None,
        });
        lsn = previous;
    }
    records.reverse();
    Ok(records)
}

/// Reads the latest snapshot of `case` and the records after it from one read transaction.
fn read_latest_in(txn: &redb::ReadTransaction, case: CaseId) -> Result<CaseLog, redb::Error> {
    let snapshots = txn.open_table(SNAPSHOTS)?;
    let snapshot = snapshots.get(case.0)?.map(|g| {
        let (seq, bytes) = g.value();
        (seq, bytes.to_vec())
    });
    let from = snapshot.as_ref().map_or(0, |(seq, _)| seq + 1);
    Ok(CaseLog {
        case,
        snapshot,
        records: read_from(txn, case, from)?,
    })
}

impl Store for RedbStore {
    fn append(&self, batch: &[Record]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.write("append", None, |txn| insert_records(txn, batch))
    }

    fn read_case(&self, case: CaseId) -> Result<Vec<Record>, StoreError> {
        let op = "read_case";
        let txn = self.read_txn(op, Some(case))?;
        read_from(&txn, case, 0).map_err(|e| self.err(op, Some(case), e))
    }

    fn read_latest(&self, case: CaseId) -> Result<CaseLog, StoreError> {
        let op = "read_latest";
        let txn = self.read_txn(op, Some(case))?;
        read_latest_in(&txn, case).map_err(|e| self.err(op, Some(case), e))
    }

    fn for_each_latest(&self, visit: &mut dyn FnMut(CaseLog) -> bool) -> Result<(), StoreError> {
        let op = "for_each_latest";
        let txn = self.read_txn(op, None)?;
        let cases = txn.open_table(CASES).map_err(|e| self.err(op, None, e))?;
        for item in cases.iter().map_err(|e| self.err(op, None, e))? {
            let (key, _) = item.map_err(|e| self.err(op, None, e))?;
            let case = CaseId(key.value());
            let log = read_latest_in(&txn, case).map_err(|e| self.err(op, Some(case), e))?;
            if !visit(log) {
                break;
            }
        }
        Ok(())
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

    fn specs(&self) -> Result<Vec<StoredSpec>, StoreError> {
        let op = "specs";
        let txn = self.read_txn(op, None)?;
        let table = txn.open_table(SPECS).map_err(|e| self.err(op, None, e))?;
        let iter = table.iter().map_err(|e| self.err(op, None, e))?;
        iter.map(|item| {
            let (key, value) = item.map_err(|e| self.err(op, None, e))?;
            let (id, version) = key.value();
            Ok(StoredSpec {
                id: id.to_owned(),
                version,
                json: value.value().to_owned(),
            })
        })
        .collect()
    }

    fn recover(&self) -> Result<(), StoreError> {
        self.write("recover", None, |txn| {
            let mut health = txn.open_table(HEALTH)?;
            let probes = health.get("probes")?.map_or(0, |g| g.value());
            health.insert("probes", probes.wrapping_add(1))?;
            Ok(())
        })
    }

    fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        let op = "backup";
        // One read transaction is one committed state: the copy holds exactly the batches
        // acknowledged before it began, while the committer goes on writing.
        let source = self.read_txn(op, None)?;
        let copy = RedbStore::open_new(dest)?;
        copy.write(op, None, |txn| {
            copy_table(&source, txn, LOG)?;
            copy_table(&source, txn, CASES)?;
            copy_table(&source, txn, SNAPSHOTS)?;
            copy_table(&source, txn, SPECS)?;
            Ok(())
        })
    }
}

/// Copies every row of `table` from `source` into `dest`.
fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    source: &redb::ReadTransaction,
    dest: &redb::WriteTransaction,
    table: TableDefinition<K, V>,
) -> Result<(), WriteError> {
    let from = source.open_table(table)?;
    let mut to = dest.open_table(table)?;
    for item in from.iter()? {
        let (key, value) = item?;
        to.insert(key.value(), value.value())?;
    }
    Ok(())
}
