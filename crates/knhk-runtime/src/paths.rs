//! Where the engine keeps its data: the data directory (`KNHK_STATE_STORE_PATH`) and the
//! engine database inside it (`KNHK_WORKFLOW_DB_PATH`, default `workflow_db`).

use std::io;
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

    /// Creates the data directory (and the database's directory) if missing, each
    /// directory it creates private to its owner (0700), and opens the database (a
    /// private file, 0600). Directories that exist are left as they are: the data
    /// directory may be one the operator made, such as systemd's `StateDirectory`.
    pub fn open_store(&self) -> Result<RedbStore, PathsError> {
        for dir in [Some(self.state_dir.as_path()), self.workflow_db.parent()]
            .into_iter()
            .flatten()
            .filter(|d| !d.as_os_str().is_empty())
        {
            create_private_dirs(dir).map_err(|source| PathsError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Ok(RedbStore::open(&self.workflow_db)?)
    }
}

/// Creates `dir` and its missing ancestors, each with mode 0700 whatever the umask.
fn create_private_dirs(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dirs(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => set_mode(dir, 0o700),
        // Another process made it meanwhile: it is theirs to set.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates the file at `path` if missing, and makes it private to its owner (0600)
/// whatever the umask; an existing file's mode is tightened too.
pub(crate) fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    drop(options.open(path)?);
    set_mode(path, 0o600)
}

/// Sets the permission bits of `path` exactly (the umask applies only at creation).
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}
