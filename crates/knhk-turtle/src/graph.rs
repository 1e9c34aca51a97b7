//! The parsed document: its triples in document order, indexed by subject, with a
//! record of which ones the import read.
//!
//! Document order is kept on purpose: RDF graphs are unordered, but the model's lists
//! (tasks, flows, parameters, ...) are ordered, and a flow's position even decides the
//! order in which XOR-split predicates without an `ordering` are tried. Every list is
//! read in the order its linking triples appear, which is how [`crate::export`] writes
//! them.
//!
//! The read marks serve the warnings: once the import has taken a resource over
//! ([`Graph::claim`]), each of its triples that nothing read becomes an
//! [`ImportWarning::Unsupported`].

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use oxrdf::{Literal, NamedOrBlankNode, Term, Triple};
use oxttl::TurtleParser;

use crate::error::{ImportWarning, TurtleError};
use crate::vocab;

/// A subject or an object that is not a literal.
pub(crate) type Node = NamedOrBlankNode;

/// The triples of one document and what the import has made of them.
pub(crate) struct Graph {
    triples: Vec<Triple>,
    by_subject: HashMap<Node, Vec<usize>>,
    read: RefCell<Vec<bool>>,
    claimed: RefCell<BTreeSet<usize>>,
    warnings: RefCell<Vec<ImportWarning>>,
}

impl Graph {
    /// Parses `text`, resolving relative IRIs against `base` (a document's own `@base`
    /// takes precedence from where it appears).
    pub(crate) fn parse(text: &str, base: Option<&str>) -> Result<Graph, TurtleError> {
        let mut parser = TurtleParser::new();
        if let Some(base) = base {
            parser = parser
                .with_base_iri(base)
                .map_err(|err| TurtleError::BadBase {
                    base: base.to_owned(),
                    message: err.to_string(),
                })?;
        }
        let mut triples = Vec::new();
        for triple in parser.for_slice(text) {
            let triple = triple.map_err(|err| {
                let start = err.location().start;
                TurtleError::Syntax {
                    line: start.line + 1,
                    column: start.column + 1,
                    message: err.message().to_owned(),
                }
            })?;
            triples.push(triple);
        }
        let mut by_subject: HashMap<Node, Vec<usize>> = HashMap::new();
        for (index, triple) in triples.iter().enumerate() {
            by_subject
                .entry(triple.subject.clone())
                .or_default()
                .push(index);
        }
        let read = RefCell::new(vec![false; triples.len()]);
        Ok(Graph {
            triples,
            by_subject,
            read,
            claimed: RefCell::default(),
            warnings: RefCell::default(),
        })
    }

    fn indices(&self, subject: &Node) -> &[usize] {
        self.by_subject.get(subject).map_or(&[], Vec::as_slice)
    }

    /// The objects of `subject` under any of `properties`, in document order, each with
    /// its triple's index and property; marks them read.
    pub(crate) fn values<'a>(
        &'a self,
        subject: &Node,
        properties: &[&str],
    ) -> Vec<(usize, &'a str, &'a Term)> {
        let mut read = self.read.borrow_mut();
        let mut found = Vec::new();
        for &index in self.indices(subject) {
            let triple = &self.triples[index];
            if properties.contains(&triple.predicate.as_str()) {
                read[index] = true;
                found.push((index, triple.predicate.as_str(), &triple.object));
            }
        }
        found
    }

    /// Whether `subject` has any of `properties`, without marking anything read.
    pub(crate) fn has_any(&self, subject: &Node, properties: &[&str]) -> bool {
        self.indices(subject)
            .iter()
            .any(|&i| properties.contains(&self.triples[i].predicate.as_str()))
    }

    /// The classes `subject` is typed with (marks the type triples read).
    pub(crate) fn types(&self, subject: &Node) -> Vec<&str> {
        self.values(subject, &[vocab::RDF_TYPE])
            .into_iter()
            .filter_map(|(_, _, object)| match object {
                Term::NamedNode(class) => Some(class.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Whether `subject` is typed with any of `classes`.
    pub(crate) fn is_a(&self, subject: &Node, classes: &[&str]) -> bool {
        self.types(subject).iter().any(|t| classes.contains(t))
    }

    /// Every subject typed with any of `classes`, in the order of their type triples.
    pub(crate) fn subjects_of_type(&self, classes: &[&str]) -> Vec<(usize, Node)> {
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for (index, triple) in self.triples.iter().enumerate() {
            if triple.predicate.as_str() == vocab::RDF_TYPE
                && let Term::NamedNode(class) = &triple.object
                && classes.contains(&class.as_str())
                && seen.insert(triple.subject.clone())
            {
                found.push((index, triple.subject.clone()));
            }
        }
        found
    }

    /// The index of the first triple about `subject`, if any.
    pub(crate) fn first_mention(&self, subject: &Node) -> Option<usize> {
        self.indices(subject).first().copied()
    }

    /// Takes `subject` over: its properties that nothing reads become warnings.
    pub(crate) fn claim(&self, subject: &Node) {
        if let Some(&first) = self.indices(subject).first() {
            self.claimed.borrow_mut().insert(first);
        }
    }

    /// Records a warning.
    pub(crate) fn warn(&self, warning: ImportWarning) {
        self.warnings.borrow_mut().push(warning);
    }

    /// The warnings recorded, then one per property of a claimed resource that was never
    /// read (`rdf:type` aside), in document order.
    pub(crate) fn into_warnings(self) -> Vec<ImportWarning> {
        let mut warnings = self.warnings.into_inner();
        let read = self.read.into_inner();
        let claimed = self.claimed.into_inner();
        let mut reported = HashSet::new();
        for (index, triple) in self.triples.iter().enumerate() {
            let subject_claimed = self
                .by_subject
                .get(&triple.subject)
                .and_then(|indices| indices.first())
                .is_some_and(|first| claimed.contains(first));
            if subject_claimed
                && !read[index]
                && triple.predicate.as_str() != vocab::RDF_TYPE
                && reported.insert((triple.subject.clone(), triple.predicate.clone()))
            {
                warnings.push(ImportWarning::Unsupported {
                    subject: node_name(&triple.subject),
                    property: triple.predicate.as_str().to_owned(),
                });
            }
        }
        warnings
    }
}

/// A node's name in messages and in [`crate::Iris`]: its IRI, or `_:` and its label.
pub(crate) fn node_name(node: &Node) -> String {
    match node {
        NamedOrBlankNode::NamedNode(iri) => iri.as_str().to_owned(),
        NamedOrBlankNode::BlankNode(blank) => format!("_:{}", blank.as_str()),
    }
}

/// The node an object term names, if it is not a literal.
pub(crate) fn as_node(term: &Term) -> Option<Node> {
    match term {
        Term::NamedNode(iri) => Some(iri.clone().into()),
        Term::BlankNode(blank) => Some(blank.clone().into()),
        Term::Literal(_) => None,
    }
}

/// A term as messages show it: `"lexical"` for a literal (with its datatype when it is
/// not a plain string), `<iri>`, or `[]`.
pub(crate) fn show_term(term: &Term) -> String {
    match term {
        Term::Literal(literal) => show_literal(literal),
        Term::NamedNode(iri) => format!("<{}>", iri.as_str()),
        Term::BlankNode(_) => "[]".to_owned(),
    }
}

fn show_literal(literal: &Literal) -> String {
    let datatype = literal.datatype().as_str();
    let plain = datatype == concat!("http://www.w3.org/2001/XMLSchema#", "string")
        || literal.language().is_some();
    if plain {
        format!("{:?}", literal.value())
    } else {
        format!("{:?}^^{}", literal.value(), vocab::abbreviate(datatype))
    }
}
