//! What can go wrong reading a YAWL file ([`YawlError`]) and what an import reports
//! without failing ([`ImportWarning`]).
//!
//! Errors found at an element are wrapped in [`YawlError::At`], which adds the line
//! and the element's name, so that every message points into the file.

use std::fmt;

use crate::xpath::XPathError;

/// Why a YAWL file could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum YawlError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {message}")]
    Io {
        /// The path given.
        path: String,
        /// What the operating system said.
        message: String,
    },
    /// The text is not well-formed XML.
    #[error("line {line}, column {column}: malformed XML: {message}")]
    Xml {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What the XML parser said.
        message: String,
    },
    /// The document element is not a YAWL `specificationSet` in a YAWL namespace.
    #[error(
        "document element `{element}` in namespace `{namespace}` is not a YAWL specificationSet"
    )]
    NotYawl {
        /// The document element's local name.
        element: String,
        /// Its namespace (empty if none).
        namespace: String,
    },
    /// A required child element is missing.
    #[error("`{parent}` has no `{child}`")]
    MissingElement {
        /// The parent element's name.
        parent: String,
        /// The missing child.
        child: &'static str,
    },
    /// A required attribute is missing.
    #[error("missing attribute `{attribute}`")]
    MissingAttribute {
        /// The attribute.
        attribute: &'static str,
    },
    /// An element or attribute holds a value outside its type.
    #[error("`{value}` is not {expected}")]
    BadValue {
        /// The value found.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// No net is marked as the root net.
    #[error("no root net (`rootNet` or a NetFactsType decomposition with isRootNet=\"true\")")]
    NoRootNet,
    /// A task decomposes to a decomposition that does not exist.
    #[error("task `{task}` decomposes to unknown decomposition `{decomposition}`")]
    UnknownDecomposition {
        /// The task.
        task: String,
        /// The missing decomposition.
        decomposition: String,
    },
    /// A net element other than the output condition has no outgoing flow, which the
    /// YAWL schema requires (`flowsInto` occurs at least once).
    #[error("`{element}` has no outgoing flow (`flowsInto`)")]
    NoOutgoingFlow {
        /// The element's id.
        element: String,
    },
    /// An expression that could not be translated to CEL, in strict mode.
    #[error("{0}")]
    Untranslated(Box<Untranslated>),
    /// An error found at an element of the file.
    #[error("line {line}, <{element}>: {source}")]
    At {
        /// 1-based line of the element.
        line: u32,
        /// The element's local name.
        element: String,
        /// The error.
        source: Box<YawlError>,
    },
}

impl YawlError {
    /// The innermost error, under any [`YawlError::At`] wrappers.
    pub fn root_cause(&self) -> &YawlError {
        match self {
            YawlError::At { source, .. } => source.root_cause(),
            other => other,
        }
    }
}

/// An expression that could not be translated, and where it sits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("net `{net}`, task `{task}`, {site}{}: cannot translate `{expression}`: {reason}", flow_suffix(.flow))]
pub struct Untranslated {
    /// The net.
    pub net: String,
    /// The task.
    pub task: String,
    /// The flow, for a predicate.
    pub flow: Option<FlowRef>,
    /// Where the expression sits.
    pub site: Site,
    /// The XPath or XQuery text.
    pub expression: String,
    /// Why it could not be translated.
    pub reason: XPathError,
}

fn flow_suffix(flow: &Option<FlowRef>) -> String {
    flow.as_ref()
        .map(|f| format!(" of flow {} -> {}", f.from, f.to))
        .unwrap_or_default()
}

/// A flow, by its source and target ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRef {
    /// The source element.
    pub from: String,
    /// The target element.
    pub to: String,
}

/// Where an XPath or XQuery expression sits in a task.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Site {
    /// A flow predicate.
    Predicate,
    /// A starting mapping, writing the work's input field `to`.
    InputMapping {
        /// The input field.
        to: String,
    },
    /// A completed mapping, writing the net variable `to`.
    OutputMapping {
        /// The net variable.
        to: String,
    },
    /// The MI split (`miDataInput`).
    MiSplit,
    /// The MI output (`miDataOutput`), writing the net variable `variable`.
    MiOutput {
        /// The net variable.
        variable: String,
    },
    /// An MI bound (`minimum`, `maximum`, `threshold`) given as a query.
    MiBound {
        /// The element.
        bound: &'static str,
    },
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Site::Predicate => write!(f, "predicate"),
            Site::InputMapping { to } => write!(f, "starting mapping to `{to}`"),
            Site::OutputMapping { to } => write!(f, "completed mapping to `{to}`"),
            Site::MiSplit => write!(f, "multiple-instance split"),
            Site::MiOutput { variable } => write!(f, "multiple-instance output to `{variable}`"),
            Site::MiBound { bound } => write!(f, "multiple-instance `{bound}`"),
        }
    }
}

/// What a lenient import put in place of an expression it could not translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fallback {
    /// The expression was replaced by a CEL string literal quoting it
    /// (`"untranslated XPath: random()"`): a predicate or split fails at run time with
    /// an error naming the original, and a mapping writes that text.
    Marker,
    /// The predicate of an XOR split's default flow, which is never evaluated, was
    /// dropped (in strict mode too).
    Dropped,
    /// The MI output went to `aggregate` untransformed: the variable receives the
    /// array of instance outputs.
    RawAggregate,
    /// The MI bound was left at its default (min 1, no max, no threshold).
    Default,
}

/// Why a timer was not imported, or imported approximately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimerIssue {
    /// The timer takes its value from a net variable at run time (`netparam`).
    NetParam,
    /// The task has no decomposition, so no work item to time.
    EmptyTask,
    /// A duration in years or months was converted with 365-day years and 30-day
    /// months.
    CalendarApproximated,
    /// `workdays` (count only working days) is not supported; calendar time is used.
    Workdays,
}

/// Something an import noticed and worked around.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportWarning {
    /// An XPath or XQuery expression could not be translated (lenient mode, or an
    /// XOR default flow's predicate in any mode).
    Untranslated {
        /// 1-based line of the expression's element.
        line: u32,
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// The flow, for a predicate.
        flow: Option<FlowRef>,
        /// Where the expression sits.
        site: Site,
        /// The XPath or XQuery text.
        expression: String,
        /// Why it could not be translated.
        reason: XPathError,
        /// What stands in its place.
        fallback: Fallback,
    },
    /// A timer was dropped or approximated.
    Timer {
        /// 1-based line of the `timer` element.
        line: u32,
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// What is wrong with it.
        issue: TimerIssue,
    },
    /// A mapping on a task without a decomposition (which has no work to map into or
    /// out of) was dropped.
    MappingWithoutWork {
        /// 1-based line of the mapping.
        line: u32,
        /// The net.
        net: String,
        /// The task.
        task: String,
        /// The mapping's target.
        to: String,
    },
    /// A variable's initial value does not fit its type and was dropped (lenient
    /// mode).
    BadInitialValue {
        /// 1-based line of the variable.
        line: u32,
        /// The net.
        net: String,
        /// The variable.
        variable: String,
        /// The value.
        value: String,
    },
    /// A decomposition that no task uses and that is not the root net (YAWL's
    /// verifier warns about these too).
    UnusedDecomposition {
        /// 1-based line of the decomposition.
        line: u32,
        /// Its id.
        decomposition: String,
    },
    /// The file holds several specifications; only the first was imported.
    ExtraSpecification {
        /// 1-based line of the ignored specification.
        line: u32,
        /// Its `uri`.
        uri: String,
    },
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportWarning::Untranslated {
                line,
                net,
                task,
                flow,
                site,
                expression,
                reason,
                fallback,
            } => write!(
                f,
                "line {line}: net `{net}`, task `{task}`, {site}{}: cannot translate \
                 `{expression}`: {reason} (fallback: {fallback:?})",
                flow_suffix(flow)
            ),
            ImportWarning::Timer {
                line,
                net,
                task,
                issue,
            } => write!(
                f,
                "line {line}: net `{net}`, task `{task}`: timer: {issue:?}"
            ),
            ImportWarning::MappingWithoutWork {
                line,
                net,
                task,
                to,
            } => write!(
                f,
                "line {line}: net `{net}`, task `{task}` has no decomposition: mapping to \
                 `{to}` dropped"
            ),
            ImportWarning::BadInitialValue {
                line,
                net,
                variable,
                value,
            } => write!(
                f,
                "line {line}: net `{net}`, variable `{variable}`: initial value `{value}` \
                 does not fit its type and was dropped"
            ),
            ImportWarning::UnusedDecomposition {
                line,
                decomposition,
            } => write!(
                f,
                "line {line}: decomposition `{decomposition}` is not used"
            ),
            ImportWarning::ExtraSpecification { line, uri } => {
                write!(
                    f,
                    "line {line}: specification `{uri}` ignored (only the first is imported)"
                )
            }
        }
    }
}
