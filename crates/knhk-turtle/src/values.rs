//! Reading property values: single values with synonyms, literals of each type, and
//! keywords (enumeration values written as literals or as IRIs).
//!
//! Every function here reports its problem wrapped in [`TurtleError::At`] with the
//! subject and property, so callers only add the outer context.

use oxrdf::Term;

use crate::error::{ImportWarning, TurtleError};
use crate::graph::{Graph, Node, as_node, node_name, show_term};

/// The value of the first of `properties` (in order of preference) that `subject` has.
///
/// That property must have a single value (repeating the same value is fine); values of
/// less preferred synonyms that differ from it are reported as ignored.
pub(crate) fn one<'a>(
    graph: &'a Graph,
    subject: &Node,
    properties: &[&'a str],
) -> Result<Option<(&'a str, &'a Term)>, TurtleError> {
    let values = graph.values(subject, properties);
    let Some(&property) = properties
        .iter()
        .find(|p| values.iter().any(|(_, q, _)| q == *p))
    else {
        return Ok(None);
    };
    let mut chosen: Vec<&Term> = Vec::new();
    for (_, q, term) in &values {
        if *q == property && !chosen.contains(term) {
            chosen.push(term);
        }
    }
    if chosen.len() > 1 {
        let values = chosen.iter().map(|t| show_term(t)).collect();
        return Err(TurtleError::SeveralValues { values }.at(&node_name(subject), property));
    }
    let value = chosen[0];
    for (_, q, term) in &values {
        if *q != property && *term != value {
            graph.warn(ImportWarning::Ignored {
                subject: node_name(subject),
                property: (*q).to_owned(),
                value: show_term(term),
                reason: "a preferred synonym gives the value",
            });
        }
    }
    Ok(Some((property, value)))
}

/// A literal's lexical form, or an error naming what was found instead.
pub(crate) fn lexical<'a>(
    subject: &Node,
    property: &str,
    term: &'a Term,
) -> Result<&'a str, TurtleError> {
    match term {
        Term::Literal(literal) => Ok(literal.value()),
        other => Err(TurtleError::NotLiteral {
            found: show_term(other),
        }
        .at(&node_name(subject), property)),
    }
}

/// A string-valued property.
pub(crate) fn string(
    graph: &Graph,
    subject: &Node,
    properties: &[&str],
) -> Result<Option<String>, TurtleError> {
    match one(graph, subject, properties)? {
        Some((property, term)) => Ok(Some(lexical(subject, property, term)?.to_owned())),
        None => Ok(None),
    }
}

/// A property holding a whole number that fits `T` (`u32` counts, `u64` milliseconds).
pub(crate) fn number<T: std::str::FromStr>(
    graph: &Graph,
    subject: &Node,
    properties: &[&str],
    expected: &'static str,
) -> Result<Option<T>, TurtleError> {
    let Some((property, term)) = one(graph, subject, properties)? else {
        return Ok(None);
    };
    let text = lexical(subject, property, term)?;
    let digits = text.trim().strip_prefix('+').unwrap_or(text.trim());
    digits.parse().map(Some).map_err(|_| {
        TurtleError::BadValue {
            value: show_term(term),
            expected,
        }
        .at(&node_name(subject), property)
    })
}

/// What [`number`] says a count must be.
pub(crate) const COUNT: &str = "a whole number from 0 to 4294967295";

/// A boolean property (`true`, `false`, `1`, `0`).
pub(crate) fn flag(
    graph: &Graph,
    subject: &Node,
    properties: &[&str],
) -> Result<Option<bool>, TurtleError> {
    let Some((property, term)) = one(graph, subject, properties)? else {
        return Ok(None);
    };
    match lexical(subject, property, term)?.trim() {
        "true" | "1" => Ok(Some(true)),
        "false" | "0" => Ok(Some(false)),
        _ => Err(TurtleError::BadValue {
            value: show_term(term),
            expected: "a boolean",
        }
        .at(&node_name(subject), property)),
    }
}

/// A property whose single value is a resource.
pub(crate) fn resource<'a>(
    graph: &'a Graph,
    subject: &Node,
    properties: &[&'a str],
) -> Result<Option<(&'a str, Node)>, TurtleError> {
    match one(graph, subject, properties)? {
        Some((property, term)) => Ok(Some((property, node(subject, property, term)?))),
        None => Ok(None),
    }
}

/// Every resource value of `properties`, in document order, with its triple's index and
/// property; a repeated value is kept once.
pub(crate) fn resources<'a>(
    graph: &'a Graph,
    subject: &Node,
    properties: &[&str],
) -> Result<Vec<(usize, &'a str, Node)>, TurtleError> {
    let mut found: Vec<(usize, &'a str, Node)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (index, property, term) in graph.values(subject, properties) {
        let value = node(subject, property, term)?;
        if seen.insert(value.clone()) {
            found.push((index, property, value));
        }
    }
    Ok(found)
}

fn node(subject: &Node, property: &str, term: &Term) -> Result<Node, TurtleError> {
    as_node(term).ok_or_else(|| {
        TurtleError::NotResource {
            found: show_term(term),
        }
        .at(&node_name(subject), property)
    })
}

/// An enumeration value as a keyword: a literal's text or an IRI's local name, in lower
/// case with everything but letters and digits removed (`"on_enabled"`, `knhk:OnEnabled`
/// and `"On-Enabled"` all give `onenabled`). `None` for a blank node.
pub(crate) fn keyword(term: &Term) -> Option<String> {
    let text = match term {
        Term::Literal(literal) => literal.value(),
        Term::NamedNode(iri) => local_name(iri.as_str()),
        Term::BlankNode(_) => return None,
    };
    Some(
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    )
}

/// The part of an IRI after its last `#`, `/` or `:` (ignoring trailing ones), or the
/// whole IRI when that is empty.
pub(crate) fn local_name(iri: &str) -> &str {
    let trimmed = iri.trim_end_matches(['#', '/', ':']);
    match trimmed.rfind(['#', '/', ':']) {
        Some(at) if at + 1 < trimmed.len() => &trimmed[at + 1..],
        _ => iri,
    }
}

/// Reads a keyword-valued property into `T` through `parse`, which knows the keywords.
pub(crate) fn choice<T>(
    graph: &Graph,
    subject: &Node,
    properties: &[&str],
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, TurtleError> {
    let Some((property, term)) = one(graph, subject, properties)? else {
        return Ok(None);
    };
    keyword(term)
        .and_then(|k| parse(&k))
        .map(Some)
        .ok_or_else(|| {
            TurtleError::BadValue {
                value: show_term(term),
                expected,
            }
            .at(&node_name(subject), property)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names() {
        assert_eq!(local_name("http://example.org/task/task1"), "task1");
        assert_eq!(local_name("http://example.org/ns#A"), "A");
        assert_eq!(local_name("urn:task:Decision"), "Decision");
        assert_eq!(local_name("http://example.org/a/"), "a");
        assert_eq!(local_name("http://example.org/a#"), "a");
        assert_eq!(local_name("urn:"), "urn:");
    }

    #[test]
    fn keywords_ignore_case_and_punctuation() {
        let literal = Term::Literal(oxrdf::Literal::new_simple_literal("On_Enabled"));
        assert_eq!(keyword(&literal).as_deref(), Some("onenabled"));
        let iri = Term::NamedNode(oxrdf::NamedNode::new_unchecked(
            "http://bitflow.ai/ontology/yawl/v2#ControlTypeXor",
        ));
        assert_eq!(keyword(&iri).as_deref(), Some("controltypexor"));
    }
}
