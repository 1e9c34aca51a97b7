//! The `Store` contract, written once and run against `MemoryStore` and `RedbStore`:
//! ordering, atomic batches, sequence checks, specifications, and survival across reopen.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Fixture, record, snapshotted};
use knhk_kernel::{CaseState, Command, Event};
use knhk_runtime::{Action, CaseId, CaseLog, Entry, Record, Store, StoreError, StoredSpec};

fn empty_store_has_nothing(f: Fixture) {
    assert_eq!(f.store.cases().unwrap(), vec![]);
    assert_eq!(f.store.read_case(CaseId(1)).unwrap(), vec![]);
    assert_eq!(f.store.get_spec("order", 1).unwrap(), None);
    f.store.append(&[]).unwrap();
    assert_eq!(f.store.cases().unwrap(), vec![]);
}

fn one_batch_holds_many_cases(f: Fixture) {
    let batch = [
        record(3, 0),
        record(1, 0),
        record(3, 1),
        record(2, 0),
        record(1, 1),
    ];
    f.store.append(&batch).unwrap();
    assert_eq!(
        f.store.cases().unwrap(),
        vec![CaseId(1), CaseId(2), CaseId(3)]
    );
    assert_eq!(
        f.store.read_case(CaseId(1)).unwrap(),
        vec![record(1, 0), record(1, 1)]
    );
    assert_eq!(f.store.read_case(CaseId(2)).unwrap(), vec![record(2, 0)]);
    assert_eq!(
        f.store.read_case(CaseId(3)).unwrap(),
        vec![record(3, 0), record(3, 1)]
    );
}

fn order_per_case_is_kept_across_appends(f: Fixture) {
    // Interleave two cases over several transactions; ids chosen so that a byte-wise key
    // order would differ from numeric order (256 > 255, 1 < 256).
    for seq in 0..4 {
        f.store.append(&[record(256, seq), record(1, seq)]).unwrap();
        f.store.append(&[record(255, seq)]).unwrap();
    }
    for case in [1, 255, 256] {
        let expected: Vec<Record> = (0..4).map(|seq| record(case, seq)).collect();
        assert_eq!(f.store.read_case(CaseId(case)).unwrap(), expected);
    }
    assert_eq!(
        f.store.cases().unwrap(),
        vec![CaseId(1), CaseId(255), CaseId(256)]
    );
}

fn a_bad_record_rejects_the_whole_batch(f: Fixture) {
    f.store.append(&[record(1, 0)]).unwrap();
    // Case 2 is fine, case 1 skips seq 1: nothing of the batch may be written.
    let err = f
        .store
        .append(&[record(2, 0), record(1, 0), record(1, 1)])
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SequenceGap {
                case: CaseId(1),
                expected: 1,
                found: 0
            }
        ),
        "{err:?}"
    );
    let err = f.store.append(&[record(2, 0), record(1, 2)]).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SequenceGap {
                expected: 1,
                found: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let err = f.store.append(&[record(3, 1)]).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SequenceGap {
                expected: 0,
                found: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(f.store.cases().unwrap(), vec![CaseId(1)]);
    assert_eq!(f.store.read_case(CaseId(1)).unwrap(), vec![record(1, 0)]);
    assert_eq!(f.store.read_case(CaseId(2)).unwrap(), vec![]);
    // The store still works after the refusals.
    f.store.append(&[record(2, 0), record(1, 1)]).unwrap();
    assert_eq!(
        f.store.read_case(CaseId(1)).unwrap(),
        vec![record(1, 0), record(1, 1)]
    );
}

fn specifications_are_versioned_and_immutable(f: Fixture) {
    f.store.put_spec("order", 1, r#"{"v":1}"#).unwrap();
    f.store.put_spec("order", 2, r#"{"v":2}"#).unwrap();
    f.store.put_spec("orders", 1, r#"{"other":true}"#).unwrap();
    // Same text again: accepted, no change.
    f.store.put_spec("order", 1, r#"{"v":1}"#).unwrap();
    let err = f.store.put_spec("order", 1, r#"{"v":3}"#).unwrap_err();
    assert!(matches!(&err, StoreError::SpecVersionExists { id, version: 1 } if id == "order"));
    assert_eq!(
        f.store.get_spec("order", 1).unwrap().as_deref(),
        Some(r#"{"v":1}"#)
    );
    assert_eq!(
        f.store.get_spec("order", 2).unwrap().as_deref(),
        Some(r#"{"v":2}"#)
    );
    assert_eq!(
        f.store.get_spec("orders", 1).unwrap().as_deref(),
        Some(r#"{"other":true}"#)
    );
    assert_eq!(f.store.get_spec("order", 3).unwrap(), None);
}

fn entries_round_trip(f: Fixture) {
    let entry = Entry {
        at_ms: 1_700_000_000_000,
        action: Action::Command {
            command: Command::Signal {
                name: "go".to_owned(),
            },
            worker: None,
        },
        events: vec![Event::CaseStateChanged {
            state: CaseState::Completed,
        }],
    };
    let rec = entry.to_record(CaseId(9), 0).unwrap();
    f.store.append(&[rec]).unwrap();
    let f = f.reopen();
    let back = f.store.read_case(CaseId(9)).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(Entry::from_record(&back[0]).unwrap(), entry);
    let bad = Record {
        case: CaseId(9),
        seq: 1,
        payload: b"not json".to_vec(),
        snapshot: None,
    };
    assert!(matches!(
        Entry::from_record(&bad),
        Err(StoreError::Decode {
            case: CaseId(9),
            seq: 1,
            ..
        })
    ));
}

fn latest_snapshot_and_the_records_after_it(f: Fixture) {
    f.store
        .append(&[record(1, 0), snapshotted(1, 1), record(2, 0)])
        .unwrap();
    f.store
        .append(&[record(1, 2), snapshotted(1, 3), record(1, 4)])
        .unwrap();
    let f = f.reopen();
    let log = f.store.read_latest(CaseId(1)).unwrap();
    assert_eq!(
        log,
        CaseLog {
            case: CaseId(1),
            snapshot: Some((3, b"state of case 1 after 3".to_vec())),
            records: vec![record(1, 4)],
        }
    );
    // The full log is still there, without snapshots.
    let all: Vec<Record> = (0..5).map(|seq| record(1, seq)).collect();
    assert_eq!(f.store.read_case(CaseId(1)).unwrap(), all);

    let mut seen = Vec::new();
    f.store
        .for_each_latest(&mut |log| {
            seen.push(log);
            true
        })
        .unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].snapshot.as_ref().map(|s| s.0), Some(3));
    assert_eq!(
        seen[1],
        CaseLog {
            case: CaseId(2),
            snapshot: None,
            records: vec![record(2, 0)],
        }
    );
    // Visiting stops when asked to.
    let mut visits = 0;
    f.store
        .for_each_latest(&mut |_| {
            visits += 1;
            false
        })
        .unwrap();
    assert_eq!(visits, 1);
}

fn a_backup_is_a_complete_copy(f: Fixture) {
    f.store
        .append(&[record(1, 0), snapshotted(1, 1), record(5, 0)])
        .unwrap();
    f.store.put_spec("order", 1, "{}").unwrap();
    let dest = tempfile::tempdir().unwrap();
    let path = dest.path().join("copy.redb");
    f.store.backup(&path).unwrap();
    // The original goes on; the copy is frozen at the moment of the backup.
    f.store.append(&[record(1, 2)]).unwrap();
    let copy = knhk_runtime::RedbStore::open(&path).unwrap();
    assert_eq!(copy.cases().unwrap(), vec![CaseId(1), CaseId(5)]);
    assert_eq!(
        copy.read_case(CaseId(1)).unwrap(),
        vec![record(1, 0), record(1, 1)]
    );
    assert_eq!(
        copy.read_latest(CaseId(1)).unwrap().snapshot,
        Some((1, b"state of case 1 after 1".to_vec()))
    );
    assert_eq!(
        copy.specs().unwrap(),
        vec![StoredSpec {
            id: "order".to_owned(),
            version: 1,
            json: "{}".to_owned()
        }]
    );
    // A backup never overwrites.
    assert!(matches!(
        f.store.backup(&path),
        Err(StoreError::BackupExists { .. })
    ));
}

fn everything_survives_reopen(f: Fixture) {
    let batch: Vec<Record> = (0..3)
        .flat_map(|seq| [record(7, seq), record(4, seq)])
        .collect();
    f.store.append(&batch).unwrap();
    f.store.append(&[record(7, 3)]).unwrap();
    f.store.put_spec("order", 1, "{}").unwrap();
    let f = f.reopen();
    assert_eq!(f.store.cases().unwrap(), vec![CaseId(4), CaseId(7)]);
    let seven: Vec<Record> = (0..4).map(|seq| record(7, seq)).collect();
    assert_eq!(f.store.read_case(CaseId(7)).unwrap(), seven);
    assert_eq!(f.store.read_case(CaseId(4)).unwrap().len(), 3);
    assert_eq!(f.store.get_spec("order", 1).unwrap().as_deref(), Some("{}"));
    // Sequence checks continue from the reopened state.
    let err = f.store.append(&[record(7, 0)]).unwrap_err();
    assert!(
        matches!(err, StoreError::SequenceGap { expected: 4, .. }),
        "{err:?}"
    );
    f.store.append(&[record(7, 4)]).unwrap();
}

#[test]
fn redb_open_error_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("workflow_db");
    let err = knhk_runtime::RedbStore::open(&path).unwrap_err();
    assert!(
        matches!(&err, StoreError::Open { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains("missing"), "{err}");
}

for_each_store!(
    empty_store_has_nothing,
    one_batch_holds_many_cases,
    order_per_case_is_kept_across_appends,
    a_bad_record_rejects_the_whole_batch,
    specifications_are_versioned_and_immutable,
    entries_round_trip,
    everything_survives_reopen,
    latest_snapshot_and_the_records_after_it,
    a_backup_is_a_complete_copy,
);
