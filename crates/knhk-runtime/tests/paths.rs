//! Where the data lives: `KNHK_STATE_STORE_PATH` and `KNHK_WORKFLOW_DB_PATH`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use knhk_runtime::{PathsError, StoragePaths};

fn paths(vars: &[(&str, &str)]) -> Result<StoragePaths, PathsError> {
    StoragePaths::from_vars(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

#[test]
fn defaults_and_overrides() {
    let p = paths(&[]).unwrap();
    assert_eq!(p.state_dir, PathBuf::from("knhk-data"));
    assert_eq!(p.workflow_db, PathBuf::from("knhk-data/workflow_db"));

    let p = paths(&[("KNHK_STATE_STORE_PATH", "/var/lib/knhk")]).unwrap();
    assert_eq!(p.workflow_db, PathBuf::from("/var/lib/knhk/workflow_db"));

    // A relative database path is inside the data directory, an absolute one is as is.
    let p = paths(&[
        ("KNHK_STATE_STORE_PATH", "/var/lib/knhk"),
        ("KNHK_WORKFLOW_DB_PATH", "db/engine.redb"),
    ])
    .unwrap();
    assert_eq!(p.workflow_db, PathBuf::from("/var/lib/knhk/db/engine.redb"));
    let p = paths(&[("KNHK_WORKFLOW_DB_PATH", "/srv/engine.redb")]).unwrap();
    assert_eq!(p.workflow_db, PathBuf::from("/srv/engine.redb"));
}

#[test]
fn an_empty_variable_is_named() {
    for variable in ["KNHK_STATE_STORE_PATH", "KNHK_WORKFLOW_DB_PATH"] {
        let error = paths(&[(variable, "")]).unwrap_err();
        assert_eq!(error.to_string(), format!("{variable} is set but empty"));
    }
}

#[test]
fn opening_creates_the_directories_and_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("a/b");
    let p = StoragePaths::new(&state, Some(std::path::Path::new("db/engine.redb")));
    p.open_store().unwrap();
    assert!(state.join("db/engine.redb").is_file());

    // A data directory that cannot be created is reported with its path.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"").unwrap();
    let error = StoragePaths::new(blocker.join("sub"), None)
        .open_store()
        .unwrap_err();
    assert!(
        matches!(&error, PathsError::CreateDir { path, .. } if path == &blocker.join("sub")),
        "{error}"
    );
}
