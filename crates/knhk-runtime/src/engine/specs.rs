//! The specification registry: every stored version, compiled once.
//!
//! Versions of an id count from 1. Registering the text of the latest version again
//! returns that version (registration is idempotent); any other text becomes the next
//! version. Cases name the version they were launched with, so a new version never
//! changes a running case.

use std::collections::BTreeMap;
use std::sync::Arc;

use knhk_expr::CelEvaluator;
use knhk_kernel::CompiledSpec;
use knhk_model::{Specification, ValidSpec};

use super::EngineError;
use crate::entry::SpecRef;
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
}

/// Every registered version, by id then version.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    versions: BTreeMap<String, Vec<Arc<SpecVersion>>>,
}

impl Registry {
    /// Compiles `spec` into the version it would be registered as; `None` if its text is
    /// already the latest version.
    pub(crate) fn prepare(&self, spec: ValidSpec) -> Result<Prepared, EngineError> {
        let json = knhk_json::to_string(&spec);
        let latest = self.versions.get(&spec.id).and_then(|v| v.last());
        if let Some(latest) = latest.filter(|latest| latest.json == json) {
            return Ok(Prepared::Existing(Arc::clone(latest)));
        }
        let version = latest.map_or(1, |latest| latest.spec_ref.version + 1);
        let compiled = Arc::new(CompiledSpec::compile(&spec, &CelEvaluator::default())?);
        Ok(Prepared::New(Arc::new(SpecVersion {
            spec_ref: SpecRef {
                id: spec.id.clone(),
                version,
            },
            spec: spec.into_inner(),
            json,
            compiled,
        })))
    }

    /// Loads a stored version.
    pub(crate) fn load(&mut self, stored: StoredSpec) -> Result<(), EngineError> {
        let broken = |reason: String| EngineError::StoredSpec {
            id: stored.id.clone(),
            version: stored.version,
            reason,
        };
        let spec = knhk_json::parse(&stored.json).map_err(|e| broken(e.to_string()))?;
        let compiled = CompiledSpec::compile(&spec, &CelEvaluator::default())
            .map_err(|e| broken(e.to_string()))?;
        let compiled = Arc::new(compiled);
        self.insert(Arc::new(SpecVersion {
            spec_ref: SpecRef {
                id: stored.id,
                version: stored.version,
            },
            spec: spec.into_inner(),
            json: stored.json,
            compiled,
        }));
        Ok(())
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
        found.cloned().ok_or_else(|| EngineError::UnknownSpec {
            id: id.to_owned(),
            version,
        })
    }

    /// Every version, by id then version.
    pub(crate) fn all(&self) -> Vec<Arc<SpecVersion>> {
        self.versions.values().flatten().cloned().collect()
    }
}

/// The outcome of [`Registry::prepare`].
pub(crate) enum Prepared {
    /// The same text is the latest version already.
    Existing(Arc<SpecVersion>),
    /// A new version, to be stored.
    New(Arc<SpecVersion>),
}
