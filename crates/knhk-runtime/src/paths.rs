//! Where the engine keeps its data: the data directory (`KNHK_STATE_STORE_PATH`) and the
//! engine database inside it (`KNHK_WORKFLOW_DB_PATH`, default `workflow_db`).

use std::path::{Path, PathBuf};

use crate::store::{RedbStore, StoreError};

/// The data directory's default, relative to the working directory.
pub const DEFAULT_STATE_STORE_PATH: &str = "knhk-data";
/// The database file's default name inside the data directory.
pub const DEFAULT_WORKFLOW_DB: &str = "workflow_db";

/// The data directory and the engine database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoragePaths {
    /// The data directory.
    pub state_dir: PathBuf,
    /// The engine database: a single redb file.
    pub workflow_db: PathBuf,
}

/// A bad storage setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathsError {
    /// A variable is set but empty.
    #[error("{variable} is set but empty")]
    Empty {
        /// The variable.
        variable: &'static str,
    },
    /// The data directory cannot be created.
    #[error("cannot create data directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The database cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoragePaths {
    /// Paths for data directory `state_dir` and database `workflow_db`; a relative
    /// database path is inside the data directory, and `None` is `workflow_db` there.
    pub fn new(state_dir: impl Into<PathBuf>, workflow_db: Option<&Path>) -> StoragePaths {
        let state_dir = state_dir.into();
        let workflow_db = state_dir.join(workflow_db.unwrap_or(Path::new(DEFAULT_WORKFLOW_DB)));
        StoragePaths {
            state_dir,
            workflow_db,
        }
    }

    /// Paths from `KNHK_STATE_STORE_PATH` and `KNHK_WORKFLOW_DB_PATH`, read through `var`
    /// (pass `|name| std::env::var(name).ok()` for the process environment).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<StoragePaths, PathsError> {
        let get = |variable: &'static str| match var(variable) {
            Some(value) if value.is_empty() => Err(PathsError::Empty { variable }),
            other => Ok(other),
        };
        let state_dir =
            get("KNHK_STATE_STORE_PATH")?.unwrap_or_else(|| DEFAULT_STATE_STORE_PATH.to_owned());
        let db = get("KNHK_WORKFLOW_DB_PATH")?.map(PathBuf::from);
        Ok(StoragePaths::new(state_dir, db.as_deref()))
    }

    /// Creates the data directory (and the database's directory) if missing, and opens
    /// the database.
    pub fn open_store(&self) -> Result<RedbStore, PathsError> {
        for dir in [Some(self.state_dir.as_path()), self.workflow_db.parent()]
            .into_iter()
            .flatten()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| PathsError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Ok(RedbStore::open(&self.workflow_db)?)
    }
}
