//! YAWL's OR-join: whether an OR-join task may fire now, decided non-locally.
//!
//! ANALYSIS GOES HERE (being written).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::bitset::Bitset;
use crate::compile::{CompiledNet, NetIx, TaskIx};
use crate::marking::Marking;

/// The answer of the OR-join analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrJoinVerdict {
    /// No empty preset place can receive a token any more: the join may fire.
    Enabled,
    /// The join is not enabled (no preset token, or more tokens can still arrive).
    NotEnabled,
    /// The analysis ran out of its work budget before deciding.
    Unknown,
}

/// Decides whether OR-join `task` of `net` is enabled in `marking`, with `busy` the set
/// of tasks (by index) currently running in the net instance. `work_max` bounds the
/// number of backward steps; past it the verdict is [`OrJoinVerdict::Unknown`].
pub fn or_join_enabled(
    net: &CompiledNet,
    task: TaskIx,
    marking: &Marking,
    busy: &Bitset,
    work_max: u64,
) -> OrJoinVerdict {
    let _ = (net, task, marking, busy, work_max);
    OrJoinVerdict::NotEnabled
}

/// Remembers verdicts per (net, task, marking, busy tasks): markings recur across
/// cases of one specification, and the analysis is the expensive part of an OR-join.
#[derive(Debug, Default)]
pub(crate) struct OrJoinCache {
    verdicts: Mutex<BTreeMap<(NetIx, TaskIx, Marking, Bitset), OrJoinVerdict>>,
}

/// The most verdicts kept per specification; past it the cache starts afresh, which
/// bounds memory without an eviction policy on this cold path.
const CACHE_ENTRIES_MAX: usize = 4096;

impl OrJoinCache {
    /// The cached verdict, or the analysis's (cached unless it is `Unknown`).
    pub(crate) fn verdict(
        &self,
        net_ix: NetIx,
        net: &CompiledNet,
        task: TaskIx,
        marking: &Marking,
        busy: &Bitset,
        work_max: u64,
    ) -> OrJoinVerdict {
        let key = (net_ix, task, marking.clone(), busy.clone());
        if let Ok(cache) = self.verdicts.lock() {
            if let Some(verdict) = cache.get(&key) {
                return *verdict;
            }
        }
        let verdict = or_join_enabled(net, task, marking, busy, work_max);
        if verdict != OrJoinVerdict::Unknown {
            // A poisoned lock only means another thread panicked mid-insert; skipping
            // the cache is always correct.
            if let Ok(mut cache) = self.verdicts.lock() {
                if cache.len() >= CACHE_ENTRIES_MAX {
                    cache.clear();
                }
                cache.insert(key, verdict);
            }
        }
        verdict
    }
}
