//! Bitsets over dense indices: the occupancy of a marking, busy tasks, and the presets
//! and cancellation sets of compiled tasks.
//!
//! A set made with [`Bitset::new`] covers every index below its capacity: set operations
//! are loops over a handful of words (one word for nets of up to 64 places), and word
//! `i` of [`Bitset::words`] holds indices `64 i` to `64 i + 63`, which the hot path reads
//! directly. A set made with [`Bitset::from_members`] keeps only the words from its
//! lowest member to its highest (a window): a task's preset or cancellation set then
//! costs a word or two in a net of any size, where a full-capacity set per task would
//! cost memory quadratic in the size of the net (a 30,000-task net held 290 MB of
//! them). Operations between two sets line their words up by index, so windows and
//! full sets mix freely.

use serde::{Deserialize, Serialize};

/// A set of indices.
///
/// Equality compares representations: two sets built the same way (both with `new` and
/// one capacity, or both with `from_members`) are equal exactly when their members are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Bitset {
    /// The index of the first backing word (0 for a full-capacity set). Not written
    /// when 0, so full-capacity sets serialize as they always have.
    #[serde(default, skip_serializing_if = "is_zero")]
    offset: usize,
    words: Box<[u64]>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Bitset {
    /// The empty set over `len` indices.
    pub fn new(len: usize) -> Self {
        Bitset {
            offset: 0,
            words: vec![0; len.div_ceil(64).max(1)].into_boxed_slice(),
        }
    }

    /// The set of `members`, backed by the words from its lowest member to its highest
    /// only. Its members are fixed: [`Bitset::insert`] takes only indices inside that
    /// window.
    pub fn from_members(members: impl IntoIterator<Item = usize> + Clone) -> Self {
        let (low, high) = members
            .clone()
            .into_iter()
            .fold((usize::MAX, 0), |(low, high), m| (low.min(m), high.max(m)));
        if low > high {
            return Bitset {
                offset: 0,
                words: Box::new([]),
            };
        }
        let offset = low / 64;
        let mut set = Bitset {
            offset,
            words: vec![0; high / 64 - offset + 1].into_boxed_slice(),
        };
        for member in members {
            set.insert(member);
        }
        set
    }

    /// The number of words backing the set.
    pub fn word_count(&self) -> usize {
        self.words.len()
    }

    /// The backing words, lowest indices first. For a set made with [`Bitset::new`],
    /// word `i` holds indices `64 i` to `64 i + 63`.
    #[inline]
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    #[inline]
    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    /// The word holding indices `64 at` to `64 at + 63` (0 outside the backing words).
    #[inline]
    fn word_at(&self, at: usize) -> u64 {
        at.checked_sub(self.offset)
            .and_then(|i| self.words.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Adds `index`, which must be within the set's capacity (or window).
    #[inline]
    pub fn insert(&mut self, index: usize) {
        self.words[index / 64 - self.offset] |= 1 << (index % 64);
    }

    /// Removes `index`.
    #[inline]
    pub fn remove(&mut self, index: usize) {
        let at = (index / 64).wrapping_sub(self.offset);
        if let Some(word) = self.words.get_mut(at) {
            *word &= !(1 << (index % 64));
        }
    }

    /// Whether `index` is in the set.
    #[inline]
    pub fn contains(&self, index: usize) -> bool {
        self.word_at(index / 64) & (1 << (index % 64)) != 0
    }

    /// Whether every member of `self` is in `other`.
    #[inline]
    pub fn is_subset(&self, other: &Bitset) -> bool {
        (self.offset..)
            .zip(self.words.iter())
            .all(|(at, a)| a & !other.word_at(at) == 0)
    }

    /// Whether `self` and `other` share a member.
    #[inline]
    pub fn intersects(&self, other: &Bitset) -> bool {
        (self.offset..)
            .zip(self.words.iter())
            .any(|(at, a)| a & other.word_at(at) != 0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Adds every member of `other`, which must lie within `self`'s capacity (or
    /// window).
    pub fn union_with(&mut self, other: &Bitset) {
        for (at, b) in (other.offset..).zip(other.words.iter()) {
            if *b != 0 {
                self.words[at - self.offset] |= b;
            }
        }
    }

    /// The members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (self.offset..)
            .zip(self.words.iter())
            .flat_map(|(at, &word)| {
                let mut rest = word;
                std::iter::from_fn(move || {
                    if rest == 0 {
                        return None;
                    }
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    Some(at * 64 + bit)
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_full_sets_mix() {
        let window = Bitset::from_members([130, 200, 129]);
        assert_eq!(window.word_count(), 2);
        assert_eq!(window.iter().collect::<Vec<_>>(), [129, 130, 200]);
        assert!(window.contains(200) && !window.contains(5) && !window.contains(10_000));
        assert_eq!(window.len(), 3);

        let mut full = Bitset::new(300);
        for i in [5, 129, 130, 200] {
            full.insert(i);
        }
        assert!(window.is_subset(&full));
        assert!(!full.is_subset(&window));
        assert!(window.intersects(&full) && full.intersects(&window));
        full.remove(129);
        full.remove(130);
        full.remove(200);
        assert!(!window.intersects(&full) && !window.is_subset(&full));
        full.union_with(&window);
        assert_eq!(full.iter().collect::<Vec<_>>(), [5, 129, 130, 200]);

        let empty = Bitset::from_members(std::iter::empty());
        assert!(empty.is_empty() && empty.is_subset(&full) && !empty.intersects(&full));
        assert_eq!(empty.iter().count(), 0);
    }

    #[test]
    fn a_full_set_serializes_as_before() {
        let mut full = Bitset::new(70);
        full.insert(65);
        let text = serde_json::to_string(&full).unwrap_or_default();
        assert_eq!(text, r#"{"words":[0,2]}"#);
        let back: Bitset = serde_json::from_str(&text).unwrap_or_else(|_| Bitset::new(0));
        assert_eq!(back, full);
    }
}
