//! The specification registry: every stored version, compiled once.
//!
//! Versions of an id count from 1. Registering the text of the latest version again
//! returns that version (registration is idempotent); any other text becomes the next
//! version. Cases name the version they were launched with, so a new version never
//! changes a running case.

use std::collections::BTreeMap;
use std::sync::Arc;

use knhk_kernel::CompiledSpec;
use knhk_model::{Evaluator, Specification, ValidSpec};

use super::EngineError;
use crate::entry::SpecRef;
use crate::metrics::{EngineMetrics, SpecMetrics};
use crate::store::StoredSpec;

/// One registered specification version.
#[derive(Debug)]
pub struct SpecVersion {
    /// Its id and version.
    pub spec_ref: SpecRef,
    /// The specification.
    pub spec: Specification,
    /// Its canonical JSON, as stored.
    pub json: String,
    /// The compiled form cases run.
    pub compiled: Arc<CompiledSpec>,
    /// Where its cases are counted.
    pub(crate) metrics: SpecMetrics,
}

/// A stored version that no longer reads or compiles (written by an older knhk, or
/// under looser limits): its cases are quarantined, and the rest of the engine serves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenSpec {
    /// Its id and version.
    pub spec_ref: SpecRef,
    /// Why it does not load.
    pub reason: String,
}

/// Every registered version, by id then version, and the stored ones that do not load.
pub(crate) struct Registry {
    versions: BTreeMap<String, Vec<Arc<SpecVersion>>>,
    broken: BTreeMap<SpecRef, String>,
    /// What compiles every version's expressions.
    evaluator: Arc<dyn Evaluator>,
    /// Where each compiled version's OR-join decisions are counted.
    metrics: EngineMetrics,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("versions", &self.versions)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry compiling expressions with `evaluator`, counting OR-join
    /// decisions in `metrics`.
    pub(crate) fn new(evaluator: Arc<dyn Evaluator>, metrics: EngineMetrics) -> Registry {
        Registry {
            versions: BTreeMap::new(),
            broken: BTreeMap::new(),
            evaluator,
            metrics,
        }
    }

    /// Shows the OR-join decisions of every version loaded so far to the metrics: once
    /// recovery has replayed the cases, so that a restart does not count its replays.
    pub(crate) fn observe(&self) {
        for version in self.versions.values().flatten() {
            let probe = self.metrics.or_join_probe(&version.spec_ref.id);
            version.compiled.set_or_join_probe(probe);
        }
    }

    /// Compiles `spec` into the version it would be registered as; `None` if its text is
    /// already the latest version.
    pub(crate) fn prepare(&self, spec: ValidSpec, caps: SpecCaps) -> Result<Prepared, EngineError> {
        let json = knhk_json::to_string(&spec);
        let latest = self.versions.get(&spec.id).and_then(|v| v.last());
        if let Some(latest) = latest.filter(|latest| latest.json == json) {
            return Ok(Prepared::Existing(Arc::clone(latest)));
        }
        // A broken version keeps its number: the store holds it.
        let versions = self.version_count(&spec.id);
        if versions == 0 && self.ids() >= caps.specs_max {
            return Err(EngineError::SpecLimit {
                id: spec.id.clone(),
                limit: "specifications",
                max: caps.specs_max,
            });
        }
        if versions >= caps.versions_max {
            return Err(EngineError::SpecLimit {
                id: spec.id.clone(),
                limit: "versions of one specification",
                max: caps.versions_max,
            });
        }
        let version = self.last_version(&spec.id) + 1;
        let compiled = CompiledSpec::compile(&spec, self.evaluator.as_ref())?;
        compiled.set_or_join_probe(self.metrics.or_join_probe(&spec.id));
        let compiled = Arc::new(compiled);
        Ok(Prepared::New(Arc::new(SpecVersion {
            spec_ref: SpecRef {
                id: spec.id.clone(),
                version,
            },
            metrics: self.metrics.spec(&spec),
            spec: spec.into_inner(),
            json,
            compiled,
        })))
    }

    /// Loads a stored version; one that no longer reads or compiles is kept aside as
    /// broken, with its reason.
    pub(crate) fn load(&mut self, stored: StoredSpec) {
        let spec_ref = SpecRef {
            id: stored.id,
            version: stored.version,
        };
        let loaded = knhk_json::parse(&stored.json)
            .map_err(|e| e.to_string())
            .and_then(|spec| {
                let compiled = CompiledSpec::compile(&spec, self.evaluator.as_ref())
                    .map_err(|e| e.to_string())?;
                Ok((spec, compiled))
            });
        match loaded {
            Ok((spec, compiled)) => self.insert(Arc::new(SpecVersion {
                spec_ref,
                metrics: self.metrics.spec(&spec),
                spec: spec.into_inner(),
                json: stored.json,
                compiled: Arc::new(compiled),
            })),
            Err(reason) => {
                self.broken.insert(spec_ref, reason);
            }
        }
    }

    /// The stored versions that do not load.
    pub(crate) fn broken(&self) -> Vec<BrokenSpec> {
        self.broken
            .iter()
            .map(|(spec_ref, reason)| BrokenSpec {
                spec_ref: spec_ref.clone(),
                reason: reason.clone(),
            })
            .collect()
    }

    /// Versions stored under `id`, loaded or broken.
    fn version_count(&self, id: &str) -> usize {
        self.versions.get(id).map_or(0, Vec::len) + self.broken_of(id).count()
    }

    /// The highest version stored under `id` (0 if none).
    fn last_version(&self, id: &str) -> u64 {
        let loaded = self
            .versions
            .get(id)
            .and_then(|v| v.last())
            .map_or(0, |v| v.spec_ref.version);
        let broken = self.broken_of(id).map(|r| r.version).max().unwrap_or(0);
        loaded.max(broken)
    }

    fn broken_of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a SpecRef> + 'a {
        self.broken.keys().filter(move |r| r.id == id)
    }

    /// Distinct specification ids stored, loaded or broken.
    fn ids(&self) -> usize {
        let broken_only = self
            .broken
            .keys()
            .filter(|r| !self.versions.contains_key(&r.id))
            .map(|r| r.id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        self.versions.len() + broken_only
    }

    /// Adds a version (the store has accepted it).
    pub(crate) fn insert(&mut self, version: Arc<SpecVersion>) {
        let versions = self
            .versions
            .entry(version.spec_ref.id.clone())
            .or_default();
        versions.push(version);
        versions.sort_by_key(|v| v.spec_ref.version);
    }

    /// Whether any version of `id` was registered, including versions that no longer
    /// load.
    pub(crate) fn knows(&self, id: &str) -> bool {
        self.versions.contains_key(id) || self.broken.keys().any(|spec| spec.id == id)
    }

    /// The given version of `id`, or its latest with `None`.
    pub(crate) fn get(
        &self,
        id: &str,
        version: Option<u64>,
    ) -> Result<Arc<SpecVersion>, EngineError> {
        let versions = self.versions.get(id);
        let found = match version {
            None => versions.and_then(|v| v.last()),
            Some(n) => versions.and_then(|v| v.iter().find(|s| s.spec_ref.version == n)),
        };
        if let Some(found) = found {
            return Ok(Arc::clone(found));
        }
        if let Some(n) = version
            && let Some((spec_ref, reason)) = self.broken.get_key_value(&SpecRef {
                id: id.to_owned(),
                version: n,
            })
        {
            return Err(EngineError::StoredSpec {
                id: spec_ref.id.clone(),
                version: spec_ref.version,
                reason: reason.clone(),
            });
        }
        Err(EngineError::UnknownSpec {
            id: id.to_owned(),
            version,
        })
    }

    /// Every version, by id then version.
    pub(crate) fn all(&self) -> Vec<Arc<SpecVersion>> {
        self.versions.values().flatten().cloned().collect()
    }
}

/// Caps on what registration may add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecCaps {
    /// Distinct specification ids.
    pub specs_max: usize,
    /// Versions of one specification id.
    pub versions_max: usize,
}

impl Default for SpecCaps {
    fn default() -> SpecCaps {
        SpecCaps {
            specs_max: 10_000,
            versions_max: 1_000,
        }
    }
}

/// The outcome of [`Registry::prepare`].
pub(crate) enum Prepared {
    /// The same text is the latest version already.
    Existing(Arc<SpecVersion>),
    /// A new version, to be stored.
    New(Arc<SpecVersion>),
}
