//! Model ids derived from IRIs, for resources that carry no `knhk:id`.
//!
//! The rule (also in `docs/turtle-format.md`): an element's id is its IRI's local name,
//! the text after the last `#`, `/` or `:` (trailing ones ignored), taken as written
//! (no percent-decoding). When several IRIs of one namespace (the elements of a net, or
//! the nets of a specification) share a local name, each of them takes one more
//! segment, `condition/start` and `task/start`, until all differ; at worst an id is the
//! whole IRI. The result depends only on the set of IRIs, not on the order they are
//! written in, so re-importing an edited document keeps the ids of what did not change.

use std::collections::BTreeMap;

const SEPARATORS: [char; 3] = ['#', '/', ':'];

/// Unique ids for distinct `iris`, in the same order.
pub(crate) fn derive_ids(iris: &[&str]) -> Vec<String> {
    let separators: Vec<Vec<usize>> = iris.iter().map(|iri| separators(iri)).collect();
    let mut levels = vec![0usize; iris.len()];
    loop {
        let ids: Vec<&str> = iris
            .iter()
            .zip(&separators)
            .zip(&levels)
            .map(|((iri, positions), &level)| suffix(iri, positions, level))
            .collect();
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, id) in ids.iter().enumerate() {
            groups.entry(id).or_default().push(index);
        }
        let mut bumped = false;
        for group in groups.values().filter(|group| group.len() > 1) {
            for &index in group {
                if levels[index] < separators[index].len() {
                    levels[index] += 1;
                    bumped = true;
                }
            }
        }
        // Distinct IRIs differ at their longest suffix, the whole IRI, so collisions
        // end before every level is spent; `bumped` guards against equal inputs.
        if !bumped {
            return ids.into_iter().map(str::to_owned).collect();
        }
    }
}

/// Separator positions in `iri` without its trailing separators.
fn separators(iri: &str) -> Vec<usize> {
    let trimmed = iri.trim_end_matches(SEPARATORS);
    trimmed
        .char_indices()
        .filter(|(_, c)| SEPARATORS.contains(c))
        .map(|(at, _)| at)
        .collect()
}

/// The suffix of `iri` after its `level + 1`-th separator from the end (trailing
/// separators ignored; `positions` are [`separators`]); the whole IRI past the last
/// level.
fn suffix<'a>(iri: &'a str, positions: &[usize], level: usize) -> &'a str {
    let trimmed = iri.trim_end_matches(SEPARATORS);
    match positions.len().checked_sub(level + 1) {
        Some(k) if positions[k] + 1 < trimmed.len() => &trimmed[positions[k] + 1..],
        _ => iri,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_when_unique() {
        let ids = derive_ids(&["http://x.org/atm/verify_card", "http://x.org/atm#end"]);
        assert_eq!(ids, ["verify_card", "end"]);
    }

    #[test]
    fn collisions_take_more_segments_whatever_the_order() {
        let a = "http://example.org/condition/start";
        let b = "http://example.org/task/start";
        let c = "http://example.org/task/end";
        assert_eq!(
            derive_ids(&[a, b, c]),
            ["condition/start", "task/start", "end"]
        );
        assert_eq!(
            derive_ids(&[c, b, a]),
            ["end", "task/start", "condition/start"]
        );
    }

    #[test]
    fn whole_iri_at_worst() {
        let ids = derive_ids(&["http://x.org/a", "http://x.org/a/", "a"]);
        assert_eq!(ids.len(), 3);
        assert!(
            ids.iter()
                .all(|id| ids.iter().filter(|other| *other == id).count() == 1)
        );
        assert_eq!(ids[2], "a");
    }

    #[test]
    fn iri_without_separator_is_its_own_id() {
        assert_eq!(derive_ids(&["urn:"]), ["urn:"]);
    }
}
