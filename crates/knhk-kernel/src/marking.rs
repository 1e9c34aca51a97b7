//! The marking of a net instance: a multiset of tokens over places, kept as counts
//! plus an occupancy bitset.
//!
//! The bitset answers the questions enablement asks (is every preset place marked? is
//! any?) in a few word operations; the counts keep YAWL's multiset semantics (WCP 33)
//! for when a place holds more than one token. This module is the hot path
//! (PRODUCT.md §7): no allocation, no lock, no I/O.

use serde::{Deserialize, Serialize};

use crate::bitset::Bitset;
use crate::compile::{CompiledNet, CompiledTask, PlaceIx, TaskIx};
use knhk_model::{JoinCode, SplitCode};

/// Tokens per place.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Marking {
    counts: Box<[u32]>,
    occupied: Bitset,
}

impl Marking {
    /// The empty marking of `net`.
    pub fn new(net: &CompiledNet) -> Self {
        Self::with_places(net.places.len())
    }

    /// The empty marking over `places` places.
    pub fn with_places(places: usize) -> Self {
        Marking { counts: vec![0; places].into_boxed_slice(), occupied: Bitset::new(places) }
    }

    /// Tokens in `place`.
    #[inline]
    pub fn count(&self, place: PlaceIx) -> u32 {
        self.counts[place.0 as usize]
    }

    /// The places holding at least one token.
    #[inline]
    pub fn occupied(&self) -> &Bitset {
        &self.occupied
    }

    /// Token counts per place index.
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// The total number of tokens.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| u64::from(*c)).sum()
    }

    /// Adds `n` tokens to `place`.
    #[inline]
    pub fn add(&mut self, place: PlaceIx, n: u32) {
        let i = place.0 as usize;
        self.counts[i] = self.counts[i].saturating_add(n);
        if n > 0 {
            self.occupied.insert(i);
        }
    }

    /// Removes up to `n` tokens from `place`, returning how many were there to remove.
    #[inline]
    pub fn take(&mut self, place: PlaceIx, n: u32) -> u32 {
        let i = place.0 as usize;
        let taken = self.counts[i].min(n);
        self.counts[i] -= taken;
        if self.counts[i] == 0 {
            self.occupied.remove(i);
        }
        taken
    }

    /// Removes every token from `place`, returning how many there were.
    pub fn clear(&mut self, place: PlaceIx) -> u32 {
        self.take(place, u32::MAX)
    }

    /// Whether the plain join of `task` (AND or XOR; thread merge and partial joins
    /// are checked by the caller) is satisfied.
    #[inline]
    pub fn join_satisfied(&self, task: &CompiledTask) -> bool {
        match task.join {
            JoinCode::And => task.preset.is_subset(&self.occupied),
            JoinCode::Xor | JoinCode::Or => task.preset.intersects(&self.occupied),
        }
    }

    /// Whether `task` may fire by the plain rules, taking thread merge into account.
    pub fn enables(&self, task: &CompiledTask) -> bool {
        if !self.join_satisfied(task) {
            return false;
        }
        if task.thread_merge <= 1 {
            return true;
        }
        let enough = |p: &PlaceIx| self.count(*p) >= task.thread_merge;
        match task.join {
            JoinCode::And => task.preset_places.iter().all(enough),
            JoinCode::Xor | JoinCode::Or => task.preset_places.iter().any(enough),
        }
    }

    /// The hot-path step: if plain task `task` of `net` is enabled, fires it and runs
    /// its AND split (or its first branch for XOR/OR splits, as an empty task with no
    /// predicates would), consuming from the lowest-indexed marked place for an XOR
    /// join. Returns whether it fired. The case runner uses the same primitives but
    /// makes YAWL's random choices and evaluates predicates; this is the innermost
    /// loop measured by the hot-path benchmark.
    #[inline]
    pub fn fire_plain(&mut self, net: &CompiledNet, task: TaskIx) -> bool {
        let task = net.task(task);
        debug_assert!(task.plain, "fire_plain on a task that needs the full rules");
        if !self.join_satisfied(task) {
            return false;
        }
        match task.join {
            JoinCode::And | JoinCode::Or => {
                for place in &task.preset_places {
                    self.take(*place, 1);
                }
            }
            JoinCode::Xor => {
                if let Some(place) = task.preset_places.iter().find(|p| self.count(**p) > 0) {
                    self.take(*place, 1);
                }
            }
        }
        match task.split {
            SplitCode::And => {
                for branch in &task.branches {
                    self.add(branch.place, 1);
                }
            }
            SplitCode::Xor | SplitCode::Or => {
                if let Some(branch) = task.branches.first() {
                    self.add(branch.place, 1);
                }
            }
        }
        true
    }
}
