//! Group commit, run against `MemoryStore` and `RedbStore` through a probing wrapper:
//! batching, acknowledgement only after a successful commit, all-or-nothing failure,
//! per-case order, durability across reopen.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{Fixture, Probe, record, wait_until};
use knhk_runtime::{CaseId, CommitError, Committer, CommitterConfig, Record, StoreError};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap()
}

/// N concurrent callers while the first commit is held: the other N-1 queue up and go out
/// in one batch, so the store sees 2 appends for N callers, and everything is durable.
fn concurrent_callers_share_a_commit(f: Fixture) {
    const CALLERS: u64 = 32;
    let probe = Arc::new(Probe::new(f.store.clone(), None));
    let committer = Arc::new(Committer::start(probe.clone(), CommitterConfig::default()).unwrap());
    let release = probe.hold_next();
    let rt = runtime();
    let mut tasks = Vec::new();
    let first = committer.clone();
    tasks.push(rt.spawn(async move { first.append(vec![record(0, 0), record(0, 1)]).await }));
    wait_until("the first commit to start", || probe.calls() == 1);
    for case in 1..CALLERS {
        let c = committer.clone();
        tasks.push(rt.spawn(async move { c.append(vec![record(case, 0), record(case, 1)]).await }));
    }
    wait_until("every caller to queue", || {
        committer.queued() == (CALLERS - 1) as usize
    });
    // Nobody is acknowledged while the commit is still running.
    assert!(tasks.iter().all(|t| !t.is_finished()));
    release.send(()).unwrap();
    for task in tasks {
        rt.block_on(task).unwrap().unwrap();
    }
    assert_eq!(probe.calls(), 2);
    drop(committer);
    drop(probe);
    let f = f.reopen();
    assert_eq!(f.store.cases().unwrap().len(), CALLERS as usize);
    for case in 0..CALLERS {
        assert_eq!(
            f.store.read_case(CaseId(case)).unwrap(),
            vec![record(case, 0), record(case, 1)]
        );
    }
}

/// Unpaced concurrent callers (no gate) still batch: fewer appends than callers.
fn unpaced_callers_batch(f: Fixture) {
    const CALLERS: u64 = 64;
    let probe = Arc::new(Probe::new(f.store.clone(), None));
    let committer = Arc::new(Committer::start(probe.clone(), CommitterConfig::default()).unwrap());
    let rt = runtime();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|case| {
            let c = committer.clone();
            rt.spawn(async move { c.append(vec![record(case, 0)]).await })
        })
        .collect();
    for task in tasks {
        rt.block_on(task).unwrap().unwrap();
    }
    assert!(probe.calls() >= 1);
    assert!(probe.calls() <= CALLERS as usize);
    assert_eq!(f.store.cases().unwrap().len(), CALLERS as usize);
}

/// The second append fails: every caller of that batch gets the error, none of its records
/// is readable (also after reopen), and the committer keeps serving afterwards.
fn a_failed_batch_acknowledges_nobody(f: Fixture) {
    let probe = Arc::new(Probe::new(f.store.clone(), Some(2)));
    let committer = Arc::new(Committer::start(probe.clone(), CommitterConfig::default()).unwrap());
    let release = probe.hold_next();
    let rt = runtime();
    let first = committer.clone();
    let ok = rt.spawn(async move { first.append(vec![record(1, 0)]).await });
    wait_until("the first commit to start", || probe.calls() == 1);
    let failing: Vec<_> = (2..6)
        .map(|case| {
            let c = committer.clone();
            rt.spawn(async move { c.append(vec![record(case, 0), record(case, 1)]).await })
        })
        .collect();
    wait_until("the failing callers to queue", || committer.queued() == 4);
    release.send(()).unwrap();
    rt.block_on(ok).unwrap().unwrap();
    for task in failing {
        let err = rt.block_on(task).unwrap().unwrap_err();
        match err {
            CommitError::Store { records, source } => {
                assert_eq!(records, 8);
                assert!(matches!(*source, StoreError::Injected { .. }), "{source:?}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(probe.calls(), 2);
    assert_eq!(f.store.cases().unwrap(), vec![CaseId(1)]);
    // The committer goes on: the refused records can be sent again.
    committer.append_blocking(vec![record(2, 0)]).unwrap();
    drop(committer);
    drop(probe);
    let f = f.reopen();
    assert_eq!(f.store.cases().unwrap(), vec![CaseId(1), CaseId(2)]);
    assert_eq!(f.store.read_case(CaseId(2)).unwrap(), vec![record(2, 0)]);
    for case in 3..6 {
        assert_eq!(f.store.read_case(CaseId(case)).unwrap(), vec![]);
    }
}

/// A store refusal inside a real batch (a sequence gap) fails exactly that batch.
fn a_refused_batch_writes_nothing(f: Fixture) {
    let committer = Committer::start(f.store.clone(), CommitterConfig::default()).unwrap();
    let err = committer
        .append_blocking(vec![record(1, 0), record(2, 5)])
        .unwrap_err();
    assert!(
        matches!(&err, CommitError::Store { records: 2, .. }),
        "{err:?}"
    );
    assert_eq!(f.store.cases().unwrap(), vec![]);
    committer.append_blocking(vec![record(1, 0)]).unwrap();
    assert_eq!(f.store.cases().unwrap(), vec![CaseId(1)]);
}

/// Per-case order holds through the committer: each case's writer appends its records one
/// awaited request at a time while other cases write concurrently.
fn order_per_case_is_preserved(f: Fixture) {
    const CASES: u64 = 8;
    const RECORDS: u64 = 6;
    let committer =
        Arc::new(Committer::start(f.store.clone(), CommitterConfig::default()).unwrap());
    let rt = runtime();
    let writers: Vec<_> = (0..CASES)
        .map(|case| {
            let c = committer.clone();
            rt.spawn(async move {
                for seq in 0..RECORDS {
                    c.append(vec![record(case, seq)]).await?;
                }
                Ok::<(), CommitError>(())
            })
        })
        .collect();
    for writer in writers {
        rt.block_on(writer).unwrap().unwrap();
    }
    drop(committer);
    let f = f.reopen();
    for case in 0..CASES {
        let expected: Vec<Record> = (0..RECORDS).map(|seq| record(case, seq)).collect();
        assert_eq!(f.store.read_case(CaseId(case)).unwrap(), expected);
    }
}

/// A small batch limit splits the queue into several commits; nothing is lost.
fn batch_limit_splits_batches(f: Fixture) {
    let probe = Arc::new(Probe::new(f.store.clone(), None));
    let config = CommitterConfig {
        queue_max: 64,
        batch_records_max: 4,
    };
    let committer = Arc::new(Committer::start(probe.clone(), config).unwrap());
    let release = probe.hold_next();
    let rt = runtime();
    let first = committer.clone();
    let mut tasks = vec![rt.spawn(async move { first.append(vec![record(0, 0)]).await })];
    wait_until("the first commit to start", || probe.calls() == 1);
    for case in 1..=8 {
        let c = committer.clone();
        tasks.push(rt.spawn(async move { c.append(vec![record(case, 0), record(case, 1)]).await }));
    }
    wait_until("every caller to queue", || committer.queued() == 8);
    release.send(()).unwrap();
    for task in tasks {
        rt.block_on(task).unwrap().unwrap();
    }
    // 1 held commit, then 8 requests of 2 records in batches of at most 4 records.
    assert_eq!(probe.calls(), 5);
    assert_eq!(f.store.cases().unwrap().len(), 9);
}

for_each_store!(
    concurrent_callers_share_a_commit,
    unpaced_callers_batch,
    a_failed_batch_acknowledges_nobody,
    a_refused_batch_writes_nothing,
    order_per_case_is_preserved,
    batch_limit_splits_batches,
);
