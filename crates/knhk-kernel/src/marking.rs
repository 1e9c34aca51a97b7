//! The marking of a net instance: a multiset of tokens over places, kept as an
//! occupancy bitset plus, per place, the tokens beyond the first.
//!
//! The bitset answers the questions enablement asks (is every preset place marked? is
//! any?) in a few word operations; the extra counts keep YAWL's multiset semantics
//! (WCP 33) for when a place holds more than one token. Counting only the *extra*
//! tokens means that in the common safe case (no place holds two tokens) a firing
//! writes nothing but the occupancy word: the counts are read, found zero, and left
//! alone, so consecutive firings are chained through one word, not two arrays. This
//! module is the hot path (PRODUCT.md §7): no allocation, no lock, no I/O.

use serde::{Deserialize, Serialize};

use crate::bitset::Bitset;
use crate::compile::{CompiledNet, CompiledTask, HotTask, PlaceIx, TaskIx};
use knhk_model::{JoinCode, SplitCode};

/// Tokens per place.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Marking {
    occupied: Bitset,
    /// Tokens beyond the first, per place; zero wherever the place is unoccupied.
    extra: Box<[u32]>,
    /// The sum of `extra`: while it is zero the marking is safe (no place holds two
    /// tokens) and a firing is pure bit arithmetic on one word.
    extra_total: u64,
}

impl Marking {
    /// The empty marking of `net`.
    pub fn new(net: &CompiledNet) -> Self {
        Self::with_places(net.places.len())
    }

    /// The empty marking over `places` places.
    pub fn with_places(places: usize) -> Self {
        Marking {
            occupied: Bitset::new(places),
            extra: vec![0; places].into_boxed_slice(),
            extra_total: 0,
        }
    }

    /// Tokens in `place`.
    #[inline]
    pub fn count(&self, place: PlaceIx) -> u32 {
        let i = place.0 as usize;
        u32::from(self.occupied.contains(i)) + self.extra[i]
    }

    /// Whether the marking is one of a net of `places` places, its counts consistent (a
    /// marking read back from a snapshot may not be: `case/image.rs`).
    pub(crate) fn fits(&self, places: usize) -> bool {
        let words = Bitset::new(places).word_count();
        self.extra.len() == places
            && self.occupied.word_count() == words
            && self.occupied.iter().all(|place| place < places)
            && self.extra_total == self.extra.iter().map(|&n| u64::from(n)).sum::<u64>()
    }

    /// The number of places.
    pub fn places(&self) -> usize {
        self.extra.len()
    }

    /// The places holding at least one token.
    #[inline]
    pub fn occupied(&self) -> &Bitset {
        &self.occupied
    }

    /// Token counts in place index order.
    pub fn counts(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.places()).map(|i| self.count(PlaceIx(i as u32)))
    }

    /// The total number of tokens.
    pub fn total(&self) -> u64 {
        self.occupied.len() as u64 + self.extra_total
    }

    /// Adds `n` tokens to `place`.
    #[inline]
    pub fn add(&mut self, place: PlaceIx, n: u32) {
        if n == 0 {
            return;
        }
        let i = place.0 as usize;
        let more = if self.occupied.contains(i) { n } else { n - 1 };
        self.occupied.insert(i);
        let before = self.extra[i];
        self.extra[i] = before.saturating_add(more);
        self.extra_total += u64::from(self.extra[i] - before);
    }

    /// Removes up to `n` tokens from `place`, returning how many were there to remove.
    #[inline]
    pub fn take(&mut self, place: PlaceIx, n: u32) -> u32 {
        let i = place.0 as usize;
        let count = self.count(place);
        let taken = count.min(n);
        if taken == count {
            self.occupied.remove(i);
            self.extra_total -= u64::from(self.extra[i]);
            self.extra[i] = 0;
        } else {
            self.extra[i] -= taken;
            self.extra_total -= u64::from(taken);
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
            // A task without a preset can never receive a token, so never fires.
            JoinCode::And => {
                !task.preset_places.is_empty() && task.preset.is_subset(&self.occupied)
            }
            JoinCode::Xor | JoinCode::Or => task.preset.intersects(&self.occupied),
        }
    }

    /// The enablement test of a packed task: one word, one mask.
    #[inline]
    pub fn enables_packed(&self, hot: &HotTask) -> bool {
        debug_assert!(
            hot.packed,
            "enables_packed on a task without the packed form"
        );
        let word = self.occupied.words()[hot.word as usize];
        if hot.and_join {
            word & hot.mask == hot.mask
        } else {
            word & hot.mask != 0
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
    /// its AND split (or its first branch for an XOR/OR split without predicates, as
    /// an empty routing task would), consuming from the lowest-indexed marked place for
    /// an XOR join. Returns whether it fired. The case runner makes YAWL's random
    /// choices and evaluates predicates on top of the same primitives; this is the
    /// innermost step measured by the hot-path benchmark.
    #[inline]
    pub fn fire_plain(&mut self, net: &CompiledNet, task: TaskIx) -> bool {
        let hot = &net.hot[task.0 as usize];
        if !hot.packed {
            return self.fire_plain_general(net.task(task));
        }
        let at = hot.word as usize;
        let mut word = self.occupied.words()[at];
        if self.extra_total == 0 && !hot.produce_elsewhere {
            // Safe marking: consuming clears bits, producing sets bits, unless a
            // produced place is still occupied (it would then hold two tokens).
            let consumed = if hot.and_join {
                if word & hot.mask != hot.mask {
                    return false;
                }
                hot.mask
            } else {
                let marked = word & hot.mask;
                if marked == 0 {
                    return false;
                }
                marked & marked.wrapping_neg()
            };
            let left = word & !consumed;
            if left & hot.produce_mask == 0 {
                self.occupied.words_mut()[at] = left | hot.produce_mask;
                return true;
            }
        }
        if hot.and_join {
            if word & hot.mask != hot.mask {
                return false;
            }
            for place in &hot.consume[..usize::from(hot.consume_len)] {
                word = self.decrement(word, *place as usize);
            }
        } else {
            let marked = word & hot.mask;
            if marked == 0 {
                return false;
            }
            word = self.decrement(word, at * 64 + marked.trailing_zeros() as usize);
        }
        // Produce into the preset's word in a register; other words in memory.
        for place in &hot.produce[..usize::from(hot.produce_len)] {
            let place = *place as usize;
            if place / 64 == at {
                word = self.increment(word, place);
            } else {
                let other = self.occupied.words()[place / 64];
                self.occupied.words_mut()[place / 64] = self.increment(other, place);
            }
        }
        self.occupied.words_mut()[at] = word;
        true
    }

    /// Takes one token from `place`, whose bit is set in `word` (its occupancy word):
    /// returns the word after.
    #[inline]
    fn decrement(&mut self, word: u64, place: usize) -> u64 {
        let extra = &mut self.extra[place];
        if *extra > 0 {
            *extra -= 1;
            self.extra_total -= 1;
            word
        } else {
            word & !(1 << (place % 64))
        }
    }

    /// Puts one token in `place`, whose occupancy word is `word`: returns the word
    /// after.
    #[inline]
    fn increment(&mut self, word: u64, place: usize) -> u64 {
        let bit = 1 << (place % 64);
        if word & bit != 0 {
            self.extra[place] = self.extra[place].saturating_add(1);
            self.extra_total += 1;
        }
        word | bit
    }

    /// [`Marking::fire_plain`] for tasks too wide for the packed form.
    fn fire_plain_general(&mut self, task: &CompiledTask) -> bool {
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
