//! What can go wrong reading Turtle, and what an import reports without failing.
//!
//! A [`TurtleError`] about the content of the graph is wrapped in
//! [`TurtleError::At`], which names the subject (an IRI, or `[]` for a blank node) and the
//! property being read; nested `At`s give the path from a named resource into the blank
//! nodes under it (a task, its `yawl:hasInputParameter`, that parameter's `yawl:paramType`).

use crate::vocab::abbreviate;

/// Why a Turtle document could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TurtleError {
    /// The base IRI given to [`crate::import`] is not an absolute IRI.
    #[error("base IRI `{base}` is invalid: {message}")]
    BadBase {
        /// The base given.
        base: String,
        /// The IRI parser's message.
        message: String,
    },
    /// The text is not Turtle. Lines and columns count from 1.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// The line of the problem.
        line: u64,
        /// The column of the problem, in characters.
        column: u64,
        /// The Turtle parser's message.
        message: String,
    },
    /// No resource is typed `yawl:Specification` (or `yawl:WorkflowSpecification`).
    #[error("no resource is typed yawl:Specification or yawl:WorkflowSpecification")]
    NoSpecification,
    /// More than one resource is typed as a specification.
    #[error("several specifications in one document: {}", .specs.join(", "))]
    SeveralSpecifications {
        /// Their IRIs.
        specs: Vec<String>,
    },
    /// A problem with a property of a resource.
    #[error("{} {}: {source}", show_subject(.subject), abbreviate(.property))]
    At {
        /// The resource: its IRI, or `_:` and the label of a blank node.
        subject: String,
        /// The property's full IRI.
        property: String,
        /// What is wrong there.
        source: Box<TurtleError>,
    },
    /// A required property is absent.
    #[error("missing")]
    Missing,
    /// A literal was needed, a resource was found.
    #[error("expected a literal, found {found}")]
    NotLiteral {
        /// The resource found.
        found: String,
    },
    /// A resource was needed, a literal was found.
    #[error("expected a resource, found literal {found}")]
    NotResource {
        /// The literal found, quoted.
        found: String,
    },
    /// A value that cannot mean what the property needs.
    #[error("{value} is not {expected}")]
    BadValue {
        /// The value found (a quoted literal or an IRI).
        value: String,
        /// What the property takes.
        expected: &'static str,
    },
    /// A property that takes one value has several different ones.
    #[error("several values: {}", .values.join(", "))]
    SeveralValues {
        /// The values.
        values: Vec<String>,
    },
    /// A reference to something that is not a condition or task of the net.
    #[error("<{found}> is not a condition or task of net <{net}>")]
    UnknownElement {
        /// The IRI referred to.
        found: String,
        /// The net's IRI.
        net: String,
    },
    /// A reference to something that is not a net of the specification.
    #[error("<{found}> is not a net of the specification")]
    UnknownNet {
        /// The IRI referred to.
        found: String,
    },
    /// A net element (condition or task) or a net given as a blank node: knhk needs an
    /// IRI to derive a stable id from.
    #[error("a net or net element must be named by an IRI, not a blank node")]
    BlankElement,
    /// A resource is used both as a condition and as a task, or listed in two nets.
    #[error("<{element}> is listed twice (as a condition or task, or in two nets)")]
    ListedTwice {
        /// The IRI.
        element: String,
    },
    /// Two descriptions of the same arc disagree.
    #[error("the arc {from} -> {to} is described twice with different {what}")]
    ConflictingFlow {
        /// The source element's id.
        from: String,
        /// The target element's id.
        to: String,
        /// Which attribute differs.
        what: &'static str,
    },
}

impl TurtleError {
    /// Wraps `self` with the subject and property being read.
    pub(crate) fn at(self, subject: &str, property: &str) -> TurtleError {
        TurtleError::At {
            subject: subject.to_owned(),
            property: property.to_owned(),
            source: Box::new(self),
        }
    }
}

/// Something an import did not take over, or noticed, without failing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportWarning {
    /// A property knhk's model has no place for; its value is dropped.
    #[error("{} {}: not imported (knhk has no such attribute)", show_subject(.subject), abbreviate(.property))]
    Unsupported {
        /// The resource.
        subject: String,
        /// The property's full IRI.
        property: String,
    },
    /// A value not used because another property or value takes precedence.
    #[error("{} {}: {value} ignored: {reason}", show_subject(.subject), abbreviate(.property))]
    Ignored {
        /// The resource.
        subject: String,
        /// The property's full IRI.
        property: String,
        /// The value ignored.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A cancellation member that names nothing in the task's net; it is left out of the
    /// cancellation set.
    #[error(
        "<{task}> cancels <{member}>, which is not a condition, task or flow of its net: left out"
    )]
    UnknownCancellationMember {
        /// The task's IRI.
        task: String,
        /// The member's IRI.
        member: String,
    },
    /// A condition or task no flow enters or leaves: it is not on a path from the input
    /// to the output condition, which the verifier reports.
    #[error("<{element}> has no flows: it is not on a path from the input to the output condition")]
    Unconnected {
        /// The element's IRI.
        element: String,
    },
    /// A resource typed as a task, condition or flow that no net takes; it is not
    /// imported.
    #[error(
        "<{subject}> is typed as a task, condition or flow, but belongs to no net: not imported"
    )]
    Orphan {
        /// The resource's IRI.
        subject: String,
    },
}

/// How messages show a subject: `<iri>`, or `[]` for a blank node, whose generated label
/// means nothing to a reader.
fn show_subject(subject: &str) -> String {
    if subject.starts_with("_:") {
        "[]".to_owned()
    } else {
        format!("<{subject}>")
    }
}
